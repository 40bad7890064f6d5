//! The claim lifecycle as an explicit transition table. Anything not in the table is refused,
//! so a status can only move the way a biller (or a payer's response) moves it.
//!
//! Edges that a payer's 835 can cause (adjudication, reversal, re-adjudication) are in the table
//! too: the posting engine asks [`check`] before it plans a status change.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::claim::ClaimStatus;
use ClaimStatus::*;

/// One allowed edge with the reason it exists (shown in documentation and error details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub why: &'static str,
}

const fn e(from: ClaimStatus, to: ClaimStatus, why: &'static str) -> Edge {
    Edge { from, to, why }
}

/// Every allowed transition. Grouped by `from`, in the order of [`allowed_next`].
pub const EDGES: &[Edge] = &[
    e(Draft, Ready, "the scrubber found no errors"),
    e(Draft, Voided, "abandoned before it was ever sent"),
    e(Ready, Draft, "a coder reopens it to change codes"),
    e(Ready, Submitted, "sent to the payer (837P)"),
    e(Ready, Voided, "abandoned before it was ever sent"),
    e(
        Submitted,
        Accepted,
        "the payer acknowledged it into adjudication (277CA)",
    ),
    e(
        Submitted,
        Rejected,
        "front-end rejection (999/277CA): never adjudicated",
    ),
    e(
        Submitted,
        Paid,
        "an 835 can arrive before any acknowledgment",
    ),
    e(
        Submitted,
        PartiallyPaid,
        "an 835 can arrive before any acknowledgment",
    ),
    e(
        Submitted,
        Denied,
        "an 835 can arrive before any acknowledgment",
    ),
    e(
        Accepted,
        Rejected,
        "the clearinghouse accepted it, the payer then rejected it",
    ),
    e(
        Accepted,
        Paid,
        "adjudicated: nothing remains with the payer",
    ),
    e(
        Accepted,
        PartiallyPaid,
        "adjudicated: some lines denied or left with the payer",
    ),
    e(
        Accepted,
        Denied,
        "adjudicated: nothing paid and nothing to the patient",
    ),
    e(Rejected, Draft, "fix what was rejected and resubmit"),
    e(
        Rejected,
        Voided,
        "a rejected claim never reached adjudication; drop it",
    ),
    e(Paid, Closed, "insurance and patient balances are settled"),
    e(
        Paid,
        PartiallyPaid,
        "re-adjudication after a reversal paid less",
    ),
    e(Paid, Denied, "re-adjudication after a reversal denied it"),
    e(
        Paid,
        Appealed,
        "underpayment against the contract is appealed",
    ),
    e(
        Paid,
        Submitted,
        "reversal (CLP02 22) restores the status before the payment",
    ),
    e(
        Paid,
        Accepted,
        "reversal (CLP02 22) restores the status before the payment",
    ),
    e(
        PartiallyPaid,
        Paid,
        "a further payment or re-adjudication covered the rest",
    ),
    e(
        PartiallyPaid,
        Closed,
        "the biller settled what remains (write-off or patient paid)",
    ),
    e(PartiallyPaid, Appealed, "the denied lines are appealed"),
    e(
        PartiallyPaid,
        Denied,
        "re-adjudication after a reversal denied it",
    ),
    e(
        PartiallyPaid,
        Submitted,
        "reversal (CLP02 22) restores the status before the payment",
    ),
    e(
        PartiallyPaid,
        Accepted,
        "reversal (CLP02 22) restores the status before the payment",
    ),
    e(Denied, Appealed, "the denial is disputed"),
    e(
        Denied,
        Closed,
        "the biller accepts the denial and writes the balance off",
    ),
    e(
        Denied,
        Draft,
        "corrected and resubmitted when the denial was for fixable data",
    ),
    e(Denied, Paid, "the payer reprocessed it on its own and paid"),
    e(
        Denied,
        PartiallyPaid,
        "the payer reprocessed it on its own and paid part",
    ),
    e(
        Denied,
        Submitted,
        "reversal (CLP02 22) restores the status before the denial",
    ),
    e(
        Denied,
        Accepted,
        "reversal (CLP02 22) restores the status before the denial",
    ),
    e(Appealed, Paid, "the appeal succeeded"),
    e(Appealed, PartiallyPaid, "the appeal succeeded in part"),
    e(Appealed, Denied, "the appeal was upheld"),
    e(
        Appealed,
        Closed,
        "the appeal was abandoned and the balance settled",
    ),
    e(
        Closed,
        Appealed,
        "a closed claim may still be appealed within the payer's window",
    ),
    e(Closed, Submitted, "a late reversal (CLP02 22) reopens it"),
    e(Closed, Accepted, "a late reversal (CLP02 22) reopens it"),
    e(Closed, Paid, "a late payment from the payer reopens it"),
    e(
        Closed,
        PartiallyPaid,
        "a late payment from the payer reopens it",
    ),
    e(
        Closed,
        Denied,
        "a late re-adjudication from the payer reopens it",
    ),
];

/// Statuses in declaration order, to check the table against itself.
#[cfg(test)]
const ALL: [ClaimStatus; 11] = [
    Draft,
    Ready,
    Submitted,
    Accepted,
    Rejected,
    Paid,
    PartiallyPaid,
    Denied,
    Appealed,
    Closed,
    Voided,
];

/// The statuses a claim in `from` may move to. Voided is terminal (billing records are never
/// deleted; a voided claim stays as it was).
pub fn allowed_next(from: ClaimStatus) -> &'static [ClaimStatus] {
    match from {
        Draft => &[Ready, Voided],
        Ready => &[Draft, Submitted, Voided],
        Submitted => &[Accepted, Rejected, Paid, PartiallyPaid, Denied],
        Accepted => &[Rejected, Paid, PartiallyPaid, Denied],
        Rejected => &[Draft, Voided],
        Paid => &[Closed, PartiallyPaid, Denied, Appealed, Submitted, Accepted],
        PartiallyPaid => &[Paid, Closed, Appealed, Denied, Submitted, Accepted],
        Denied => &[
            Appealed,
            Closed,
            Draft,
            Paid,
            PartiallyPaid,
            Submitted,
            Accepted,
        ],
        Appealed => &[Paid, PartiallyPaid, Denied, Closed],
        Closed => &[Appealed, Submitted, Accepted, Paid, PartiallyPaid, Denied],
        Voided => &[],
    }
}

/// Why an edge exists; `None` when it does not.
pub fn why(from: ClaimStatus, to: ClaimStatus) -> Option<&'static str> {
    EDGES
        .iter()
        .find(|e| e.from == from && e.to == to)
        .map(|e| e.why)
}

/// Whether an acknowledgment (999, TA1, 277CA) may move a claim from `from` to `to`.
///
/// An acknowledgment answers a submission that is still waiting for one, so it only ever moves
/// a claim forward: `submitted` to `accepted` or `rejected`, and `accepted` to `rejected` (the
/// clearinghouse accepted it, the payer then rejected it). The table's other edges into
/// `accepted` or `submitted` exist for 835 reversals only: a late or repeated acknowledgment
/// arriving after an 835 (or after a biller moved the claim on) changes nothing.
pub fn acknowledgment_moves(from: ClaimStatus, to: ClaimStatus) -> bool {
    matches!(
        (from, to),
        (Submitted, Accepted) | (Submitted, Rejected) | (Accepted, Rejected)
    ) && check(from, to).is_ok()
}

/// Where a 277CA claim status category (STC01-1) sends the claim it names: `A1`
/// (acknowledged), `A2` (accepted into adjudication) and `A5` (split) accept it; `A3`, `A4`,
/// `A6`, `A7`, `A8` (returned, not found, rejected for missing, invalid or relational data) and
/// the `R` categories reject it. Any other category (pending, finalized...) is not an
/// acknowledgment's to apply. Whether the move happens is [`acknowledgment_moves`]'s call.
pub fn claim_acknowledgment_status(category: &str) -> Option<ClaimStatus> {
    match category {
        "A1" | "A2" | "A5" => Some(Accepted),
        "A3" | "A4" | "A6" | "A7" | "A8" => Some(Rejected),
        c if c.starts_with('R') => Some(Rejected),
        _ => None,
    }
}

/// A refused transition, with what would have been allowed so the caller can say so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a claim cannot move from {} to {}", .from.as_str(), .to.as_str())]
pub struct TransitionRefused {
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub allowed: &'static [ClaimStatus],
}

/// `Ok` when `from -> to` is in the table. A status never "moves" to itself.
pub fn check(from: ClaimStatus, to: ClaimStatus) -> Result<(), TransitionRefused> {
    let allowed = allowed_next(from);
    if allowed.contains(&to) {
        Ok(())
    } else {
        Err(TransitionRefused { from, to, allowed })
    }
}

/// A status change as recorded in the claim's history (who, when, why). Build it with
/// [`Transition::new`] so a record of a refused edge cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub at: DateTime<Utc>,
    /// Who caused it: a principal's subject, or "remittance:<id>" for the posting engine.
    pub actor: String,
    /// Free text without PHI (e.g. "CLP02 22 reversal", "scrub passed").
    pub reason: Option<String>,
}

impl Transition {
    pub fn new(
        from: ClaimStatus,
        to: ClaimStatus,
        at: DateTime<Utc>,
        actor: impl Into<String>,
        reason: Option<String>,
    ) -> Result<Transition, TransitionRefused> {
        check(from, to)?;
        Ok(Transition {
            from,
            to,
            at,
            actor: actor.into(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_edges_agree() {
        for from in ALL {
            for to in ALL {
                let in_table = allowed_next(from).contains(&to);
                assert_eq!(
                    in_table,
                    why(from, to).is_some(),
                    "{} -> {}",
                    from.as_str(),
                    to.as_str()
                );
            }
        }
        for edge in EDGES {
            assert!(allowed_next(edge.from).contains(&edge.to));
        }
        let table: usize = ALL.iter().map(|s| allowed_next(*s).len()).sum();
        assert_eq!(table, EDGES.len(), "one edge per allowed pair");
    }

    #[test]
    fn no_self_loops_and_voided_is_terminal() {
        for s in ALL {
            assert!(check(s, s).is_err(), "{}", s.as_str());
        }
        assert!(allowed_next(Voided).is_empty());
    }

    #[test]
    fn every_status_is_reachable_from_draft() {
        let mut seen = vec![Draft];
        let mut i = 0;
        while i < seen.len() {
            for &n in allowed_next(seen[i]) {
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), ALL.len());
    }

    #[test]
    fn refused_names_what_is_allowed() {
        let e = check(Draft, Paid).unwrap_err();
        assert_eq!(e.allowed, &[Ready, Voided]);
        assert_eq!(e.to_string(), "a claim cannot move from draft to paid");
        assert!(check(Submitted, Draft).is_err());
        assert!(check(Voided, Draft).is_err());
        assert!(check(Ready, Submitted).is_ok());
    }

    #[test]
    fn acknowledgments_only_move_a_claim_forward() {
        assert!(acknowledgment_moves(Submitted, Accepted));
        assert!(acknowledgment_moves(Submitted, Rejected));
        assert!(acknowledgment_moves(Accepted, Rejected));
        // Edges the table has for 835 reversals are never taken by an acknowledgment.
        for from in [Paid, PartiallyPaid, Denied, Closed] {
            assert!(check(from, Accepted).is_ok(), "{}", from.as_str());
            assert!(!acknowledgment_moves(from, Accepted), "{}", from.as_str());
            assert!(!acknowledgment_moves(from, Rejected), "{}", from.as_str());
        }
        for from in ALL {
            for to in ALL {
                if acknowledgment_moves(from, to) {
                    assert!(check(from, to).is_ok());
                    assert!(matches!(to, Accepted | Rejected));
                }
            }
        }
        assert!(!acknowledgment_moves(Accepted, Accepted));
        assert!(!acknowledgment_moves(Rejected, Accepted));
        assert!(!acknowledgment_moves(Draft, Rejected));
        assert!(!acknowledgment_moves(Appealed, Rejected));
    }

    #[test]
    fn transition_record_checks_the_edge() {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        let t = Transition::new(Draft, Ready, at, "user-1", Some("scrub passed".into())).unwrap();
        assert_eq!((t.from, t.to), (Draft, Ready));
        assert!(Transition::new(Closed, Draft, at, "user-1", None).is_err());
    }

    #[test]
    fn a_277ca_category_accepts_or_rejects_or_leaves_the_claim() {
        for (category, to) in [
            ("A1", Some(Accepted)),
            ("A2", Some(Accepted)),
            ("A5", Some(Accepted)),
            ("A3", Some(Rejected)),
            ("A4", Some(Rejected)),
            ("A6", Some(Rejected)),
            ("A7", Some(Rejected)),
            ("A8", Some(Rejected)),
            ("R3", Some(Rejected)),
            ("P1", None),
            ("F1", None),
            ("E0", None),
            ("", None),
        ] {
            assert_eq!(claim_acknowledgment_status(category), to, "{category}");
        }
    }
}

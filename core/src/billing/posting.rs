//! Planning the posting of one remittance (the structured 835): which ledger entries to append,
//! which claim statuses change, and which claim payments go to the work queue. Pure: the store
//! applies a plan in one transaction, or nothing.
//!
//! Rules, as billers post by hand:
//! - A remittance that does not balance posts nothing: each CLP must satisfy
//!   `CLP03 = CLP04 + all CAS` (claim and line), each SVC `SVC02 = SVC03 + line CAS`, and the
//!   whole `BPR02 = sum(CLP04) - sum(PLB)` (in the 835 a positive PLB amount reduces the payment,
//!   a recoupment; a negative one increases it, e.g. L6 interest).
//! - CLP01 is matched to our patient control number, then CLP07 to the payer's claim number we
//!   know. A claim payment we cannot match (or whose status change the lifecycle refuses) is not
//!   an error: it goes to `unmatched` and its money still counts in the balance check.
//! - Per service line: the paid amount is an insurance payment, each CAS adjustment an entry of
//!   the kind its group names (CO contractual, PR transfer to the patient with CARC 1 deductible,
//!   2 coinsurance, 3 copay, OA other, PI payer-initiated, CR correction). Claim-level CAS posts
//!   at claim level. SVC lines match our lines by procedure code and modifiers, then by code,
//!   then by position.
//! - A denial is not an adjustment: on a denied line (nothing paid, nothing to the patient) the
//!   CAS amounts are reported in `denials`, not posted, and the balance stays with the payer until
//!   the biller appeals, corrects or writes it off.
//! - CLP02 22 reverses our latest unreversed posting for the claim whose payment equals its
//!   (negative) CLP04: each entry is negated exactly and the status before that posting returns.
//!   Re-adjudication then arrives as an ordinary CLP, in the same or a later remittance.
//! - PLB adjustments are provider-level entries carrying the PLB amount as is (our sign
//!   convention and the 835's agree: positive means the practice is owed more).
//! - Coordination of benefits: a secondary (or tertiary) claim has no charges of its own; its
//!   payer's decision posts onto the primary claim's lines. For each line the payer decided,
//!   what the patient owes on it now moves back from the patient to insurance (the balance
//!   billed to this payer), then the payment and the adjustments post as above, so this
//!   payer's PR is what the patient still owes. CARC 23 (the impact of prior payers'
//!   adjudication) repeats what the earlier payers already settled and is not posted again.
//!
//! Posting the same 835 twice must change nothing: the store refuses a second remittance with the
//! same payer and trace number (TRN02) before it calls this.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::ledger::{EntryKind, LedgerEntry, NewLedgerEntry, Side, reversal_of};
use super::lifecycle;
use crate::codes::{Modifier, Money, ProcedureCode};
use crate::model::claim::ClaimStatus;
use crate::model::remittance::{
    Adjustment, AdjustmentGroup, ClaimPayment, ProviderAdjustment, ServicePayment,
};

/// The part of a remittance posting needs.
#[derive(Debug, Clone, Copy)]
pub struct RemittanceRef<'a> {
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    pub trace_number: &'a str,
    /// BPR02.
    pub total_paid: Money,
    pub claims: &'a [ClaimPayment],
    pub provider_adjustments: &'a [ProviderAdjustment],
}

impl<'a> From<&'a crate::model::remittance::Remittance> for RemittanceRef<'a> {
    fn from(r: &'a crate::model::remittance::Remittance) -> Self {
        RemittanceRef {
            remittance_id: r.id,
            payer_id: r.payer_id,
            trace_number: &r.trace_number,
            total_paid: r.total_paid.0,
            claims: &r.claims,
            provider_adjustments: &r.provider_adjustments,
        }
    }
}

/// One of our claim lines, as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingLine {
    pub line_id: Uuid,
    /// The REF*6R it was sent with (empty when unknown).
    pub control_number: String,
    pub procedure_code: ProcedureCode,
    pub modifiers: Vec<Modifier>,
    pub charge: Money,
}

/// An earlier posting of a remittance to this claim (what the store recorded from a
/// [`ClaimPosting`]), with the entries it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorPosting {
    /// Identifies the posting: one remittance posts to a claim once per CLP (a reversal and a
    /// re-adjudication of one claim in one remittance are two postings with the same id; only
    /// the re-adjudication can later be reversed, the reversal carries `reverses_remittance`).
    pub remittance_id: Uuid,
    pub status_before: ClaimStatus,
    /// For a CLP02 22 posting: the remittance whose posting it reversed.
    pub reverses_remittance: Option<Uuid>,
    pub entries: Vec<LedgerEntry>,
}

/// One of our claims that a remittance may pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub payer_id: Option<Uuid>,
    pub patient_control_number: String,
    /// CLP07 from an earlier remittance, if any.
    pub payer_claim_number: Option<String>,
    pub status: ClaimStatus,
    /// The insurance part of the claim's balance now (from the ledger).
    pub insurance_balance: Decimal,
    pub lines: Vec<PostingLine>,
    /// Oldest first.
    pub postings: Vec<PriorPosting>,
    /// Set when this claim bills a later payer (secondary, tertiary) for services whose
    /// charges live on an earlier claim.
    pub cob: Option<CobBasis>,
}

/// Coordination of benefits: what a later payer's claim settles. Its `lines` are the charge
/// claim's lines (with this claim's own line control numbers, which its payer echoes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CobBasis {
    /// The claim whose lines carry the charges (the primary's claim): every entry goes there.
    pub charge_claim_id: Uuid,
    /// Per line of the charge claim: what the patient owes on it now (the earlier payers'
    /// patient responsibility less what the patient paid). Posting this payer's decision on a
    /// line first moves that amount back to insurance, for this payer to pay or adjust.
    pub patient_share: Vec<(Uuid, Decimal)>,
}

impl PostingClaim {
    /// The claim the entries are posted to.
    fn ledger_claim(&self) -> Uuid {
        self.cob
            .as_ref()
            .map_or(self.claim_id, |c| c.charge_claim_id)
    }
}

/// A status change the plan makes; the store records it as a lifecycle transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub claim_id: Uuid,
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub reason: &'static str,
}

/// What one CLP did to one claim: the store keeps it so a later reversal can find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimPosting {
    /// Position of the CLP in the remittance.
    pub index: usize,
    pub claim_id: Uuid,
    pub status_before: ClaimStatus,
    pub status_after: ClaimStatus,
    /// Indices into [`PostingPlan::entries`].
    pub entries: std::ops::Range<usize>,
    pub payer_claim_number: Option<String>,
    /// For CLP02 22: the remittance whose posting was reversed.
    pub reverses_remittance: Option<Uuid>,
}

/// A denied line's (or claim's) adjustment: reported, not posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    pub claim_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    pub group: AdjustmentGroup,
    pub carc: String,
    pub amount: Decimal,
    pub remarks: Vec<String>,
}

/// Why a claim payment went to the work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum UnmatchedReason {
    /// Neither CLP01 nor CLP07 names one of our claims.
    NoSuchClaim,
    /// More than one claim has this control number.
    Ambiguous,
    /// The claim is billed to another payer.
    OtherPayer,
    /// The lifecycle does not allow the status this payment would set.
    StatusRefused { from: ClaimStatus, to: ClaimStatus },
    /// CLP02 22 with no earlier posting of the same payment to reverse.
    NothingToReverse,
    /// CLP02 23 (forwarded, not this payer's) or 25 (predetermination): nothing to post.
    NotPostable { status_code: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedClaimPayment {
    pub index: usize,
    pub patient_control_number: String,
    pub payer_claim_number: Option<String>,
    pub paid: Decimal,
    pub reason: UnmatchedReason,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostingTotals {
    /// Sum of CLP04, matched or not.
    pub claims_paid: Decimal,
    pub posted_paid: Decimal,
    pub unmatched_paid: Decimal,
    /// Sum of PLB amounts (835 sign: positive reduces the payment).
    pub provider_adjustments: Decimal,
    /// BPR02.
    pub remittance_total: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostingPlan {
    pub entries: Vec<NewLedgerEntry>,
    pub claim_status_changes: Vec<StatusChange>,
    pub claim_postings: Vec<ClaimPosting>,
    pub denials: Vec<Denial>,
    pub unmatched: Vec<UnmatchedClaimPayment>,
    pub totals: PostingTotals,
}

/// Why a remittance cannot be posted at all. Amounts only, never PHI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error(
        "the remittance does not balance: BPR02 is {expected} but claim payments less provider adjustments come to {computed}"
    )]
    DoesNotBalance {
        expected: Decimal,
        computed: Decimal,
    },
    #[error(
        "claim payment {index} does not balance: CLP03 is {charge} but CLP04 plus adjustments come to {computed}"
    )]
    ClaimDoesNotBalance {
        index: usize,
        charge: Decimal,
        computed: Decimal,
    },
    #[error(
        "claim payment {index}, service line {line}: SVC02 is {charge} but SVC03 plus adjustments come to {computed}"
    )]
    LineDoesNotBalance {
        index: usize,
        line: usize,
        charge: Decimal,
        computed: Decimal,
    },
}

fn sum_adj(adjs: &[Adjustment]) -> Decimal {
    adjs.iter().map(|a| a.amount.0.as_decimal()).sum()
}

/// Checks every balancing rule; the first failure is the error.
pub fn check_balance(r: &RemittanceRef<'_>) -> Result<(), PostingError> {
    for (index, c) in r.claims.iter().enumerate() {
        for (line, l) in c.lines.iter().enumerate() {
            let computed = l.paid.0.as_decimal() + sum_adj(&l.adjustments);
            let charge = l.charge.0.as_decimal();
            if computed != charge {
                return Err(PostingError::LineDoesNotBalance {
                    index,
                    line,
                    charge,
                    computed,
                });
            }
        }
        let computed = c.paid.0.as_decimal()
            + sum_adj(&c.adjustments)
            + c.lines
                .iter()
                .map(|l| sum_adj(&l.adjustments))
                .sum::<Decimal>();
        let charge = c.total_charge.0.as_decimal();
        if computed != charge {
            return Err(PostingError::ClaimDoesNotBalance {
                index,
                charge,
                computed,
            });
        }
    }
    let paid: Decimal = r.claims.iter().map(|c| c.paid.0.as_decimal()).sum();
    let plb: Decimal = r
        .provider_adjustments
        .iter()
        .map(|p| p.amount.0.as_decimal())
        .sum();
    let expected = r.total_paid.as_decimal();
    if paid - plb != expected {
        return Err(PostingError::DoesNotBalance {
            expected,
            computed: paid - plb,
        });
    }
    Ok(())
}

/// Plans the posting of `remittance` against `claims` (the candidates the store found by
/// control number and payer claim number). Errors only when the remittance does not balance.
pub fn plan_posting(
    remittance: RemittanceRef<'_>,
    claims: &[PostingClaim],
) -> Result<PostingPlan, PostingError> {
    check_balance(&remittance)?;
    let mut plan = PostingPlan::default();
    // Mutable view of each claim as the plan goes: several CLPs may name one claim.
    let mut state: Vec<ClaimState> = claims.iter().map(ClaimState::new).collect();
    for (index, cp) in remittance.claims.iter().enumerate() {
        let paid = cp.paid.0.as_decimal();
        plan.totals.claims_paid += paid;
        let outcome = match find_claim(claims, cp, remittance.payer_id) {
            Err(reason) => Err(reason),
            Ok(k) => plan_claim(&remittance, index, cp, &claims[k], &mut state[k], &mut plan),
        };
        match outcome {
            Ok(()) => plan.totals.posted_paid += paid,
            Err(reason) => {
                plan.totals.unmatched_paid += paid;
                plan.unmatched.push(UnmatchedClaimPayment {
                    index,
                    patient_control_number: cp.patient_control_number.clone(),
                    payer_claim_number: cp.payer_claim_number.clone(),
                    paid,
                    reason,
                });
            }
        }
    }
    for p in remittance.provider_adjustments {
        let amount = p.amount.0.as_decimal();
        plan.totals.provider_adjustments += amount;
        let mut e = NewLedgerEntry::new(EntryKind::ProviderAdjustment, Side::Provider, amount)
            .payer(Some(remittance.payer_id));
        e.provider_adjustment_reason = Some(p.reason.clone());
        e.reference = p.reference.clone();
        plan.entries.push(stamp(e, &remittance));
    }
    plan.totals.remittance_total = remittance.total_paid.as_decimal();
    Ok(plan)
}

struct ClaimState {
    status: ClaimStatus,
    insurance_balance: Decimal,
    /// Remittances whose posting to this claim is already reversed (before or in this plan).
    reversed: BTreeSet<Uuid>,
}

impl ClaimState {
    fn new(c: &PostingClaim) -> ClaimState {
        let reversed = c
            .postings
            .iter()
            .filter_map(|p| p.reverses_remittance)
            .collect();
        ClaimState {
            status: c.status,
            insurance_balance: c.insurance_balance,
            reversed,
        }
    }
}

fn find_claim(
    claims: &[PostingClaim],
    cp: &ClaimPayment,
    payer_id: Uuid,
) -> Result<usize, UnmatchedReason> {
    let pcn = cp.patient_control_number.trim();
    let by_pcn: Vec<usize> = (0..claims.len())
        .filter(|&i| claims[i].patient_control_number.eq_ignore_ascii_case(pcn))
        .collect();
    let found = match by_pcn.len() {
        1 => by_pcn[0],
        0 => {
            let Some(pcn7) = cp.payer_claim_number.as_deref().map(str::trim) else {
                return Err(UnmatchedReason::NoSuchClaim);
            };
            let by7: Vec<usize> = (0..claims.len())
                .filter(|&i| claims[i].payer_claim_number.as_deref() == Some(pcn7))
                .collect();
            match by7.len() {
                1 => by7[0],
                0 => return Err(UnmatchedReason::NoSuchClaim),
                _ => return Err(UnmatchedReason::Ambiguous),
            }
        }
        _ => return Err(UnmatchedReason::Ambiguous),
    };
    if claims[found].payer_id != Some(payer_id) {
        return Err(UnmatchedReason::OtherPayer);
    }
    Ok(found)
}

fn stamp(mut e: NewLedgerEntry, r: &RemittanceRef<'_>) -> NewLedgerEntry {
    e.remittance_id = Some(r.remittance_id);
    e.trace_number = Some(r.trace_number.to_string());
    e
}

/// Plans one CLP for a matched claim; on `Err` nothing is added to the plan.
fn plan_claim(
    r: &RemittanceRef<'_>,
    index: usize,
    cp: &ClaimPayment,
    claim: &PostingClaim,
    st: &mut ClaimState,
    plan: &mut PostingPlan,
) -> Result<(), UnmatchedReason> {
    let mut entries = Vec::new();
    let mut denials = Vec::new();
    let mut reverses_remittance = None;
    let (to, reason) = match cp.status_code.as_str() {
        "22" => {
            let paid = cp.paid.0.as_decimal();
            let prior = claim
                .postings
                .iter()
                .rev()
                .find(|p| {
                    let is_reversal = p.reverses_remittance.is_some();
                    let already = st.reversed.contains(&p.remittance_id);
                    let p_paid: Decimal = p
                        .entries
                        .iter()
                        .filter(|e| e.kind == EntryKind::InsurancePayment)
                        .map(|e| e.amount)
                        .sum();
                    !is_reversal && !already && p_paid == paid
                })
                .ok_or(UnmatchedReason::NothingToReverse)?;
            for e in &prior.entries {
                entries.push(stamp(reversal_of(e), r));
            }
            reverses_remittance = Some(prior.remittance_id);
            (
                prior.status_before,
                "CLP02 22: the payer reversed its earlier decision",
            )
        }
        "23" | "25" => {
            return Err(UnmatchedReason::NotPostable {
                status_code: cp.status_code.clone(),
            });
        }
        code => {
            let lines = match_lines(&cp.lines, &claim.lines);
            if let Some(cob) = &claim.cob {
                let decided: Vec<Uuid> = if cp.lines.is_empty() {
                    claim.lines.iter().map(|l| l.line_id).collect()
                } else {
                    lines.iter().flatten().copied().collect()
                };
                for (line, share) in &cob.patient_share {
                    if share.is_zero() || !decided.contains(line) {
                        continue;
                    }
                    let e = NewLedgerEntry::new(
                        EntryKind::PatientResponsibilityTransfer,
                        Side::InsuranceToPatient,
                        -*share,
                    )
                    .claim(cob.charge_claim_id, Some(*line))
                    .patient(claim.patient_id)
                    .payer(claim.payer_id);
                    entries.push(stamp(e, r));
                }
            }
            let mut pr_total = Decimal::ZERO;
            let mut any_line_denied = false;
            for (svc, line_id) in cp.lines.iter().zip(&lines) {
                let svc_pr = pr_sum(&svc.adjustments);
                pr_total += svc_pr;
                // For a later payer, a line whose only adjustment is the earlier payers' impact
                // (CARC 23) was settled before it: nothing was denied.
                let settled_before = claim.cob.is_some()
                    && svc
                        .adjustments
                        .iter()
                        .all(|a| a.reason == "23" || a.amount.0.is_zero());
                let denied = svc.paid.0.is_zero()
                    && svc_pr.is_zero()
                    && !svc.charge.0.is_zero()
                    && !settled_before;
                any_line_denied |= denied;
                post_service(claim, *line_id, svc, denied, &mut entries, &mut denials, r);
            }
            pr_total += pr_sum(&cp.adjustments);
            let paid = cp.paid.0.as_decimal();
            let claim_denied = code == "4" || (paid.is_zero() && pr_total.is_zero());
            post_adjustments(
                claim,
                None,
                &cp.adjustments,
                &[],
                claim_denied,
                &mut entries,
                &mut denials,
                r,
            );
            if !paid.is_zero() && cp.lines.is_empty() {
                entries.push(stamp(payment(claim, None, paid, &[]), r));
            }
            let remaining =
                st.insurance_balance + entries.iter().map(|e| e.effect().0).sum::<Decimal>();
            if claim_denied {
                (ClaimStatus::Denied, "the payer denied the claim")
            } else if any_line_denied {
                (
                    ClaimStatus::PartiallyPaid,
                    "the payer denied some service lines",
                )
            } else if remaining > Decimal::ZERO {
                (
                    ClaimStatus::PartiallyPaid,
                    "part of the charge remains with the payer",
                )
            } else {
                (
                    ClaimStatus::Paid,
                    "adjudicated: nothing remains with the payer",
                )
            }
        }
    };
    let from = st.status;
    if to != from {
        lifecycle::check(from, to).map_err(|e| UnmatchedReason::StatusRefused {
            from: e.from,
            to: e.to,
        })?;
        plan.claim_status_changes.push(StatusChange {
            claim_id: claim.claim_id,
            from,
            to,
            reason,
        });
    }
    if let Some(rem) = reverses_remittance {
        st.reversed.insert(rem);
    }
    for e in &entries {
        st.insurance_balance += e.effect().0;
    }
    st.status = to;
    let start = plan.entries.len();
    plan.entries.extend(entries);
    plan.denials.extend(denials);
    plan.claim_postings.push(ClaimPosting {
        index,
        claim_id: claim.claim_id,
        status_before: from,
        status_after: to,
        entries: start..plan.entries.len(),
        payer_claim_number: cp.payer_claim_number.clone(),
        reverses_remittance,
    });
    Ok(())
}

fn pr_sum(adjs: &[Adjustment]) -> Decimal {
    adjs.iter()
        .filter(|a| a.group == AdjustmentGroup::PR)
        .map(|a| a.amount.0.as_decimal())
        .sum()
}

fn payment(
    claim: &PostingClaim,
    line: Option<Uuid>,
    paid: Decimal,
    remarks: &[String],
) -> NewLedgerEntry {
    let mut e = NewLedgerEntry::new(EntryKind::InsurancePayment, Side::Insurance, -paid)
        .claim(claim.ledger_claim(), line)
        .patient(claim.patient_id)
        .payer(claim.payer_id);
    e.remarks = remarks.to_vec();
    e
}

fn post_service(
    claim: &PostingClaim,
    line: Option<Uuid>,
    svc: &ServicePayment,
    denied: bool,
    entries: &mut Vec<NewLedgerEntry>,
    denials: &mut Vec<Denial>,
    r: &RemittanceRef<'_>,
) {
    let paid = svc.paid.0.as_decimal();
    if !paid.is_zero() {
        entries.push(stamp(payment(claim, line, paid, &svc.remarks), r));
    }
    post_adjustments(
        claim,
        line,
        &svc.adjustments,
        &svc.remarks,
        denied,
        entries,
        denials,
        r,
    );
}

#[allow(clippy::too_many_arguments)]
fn post_adjustments(
    claim: &PostingClaim,
    line: Option<Uuid>,
    adjs: &[Adjustment],
    remarks: &[String],
    denied: bool,
    entries: &mut Vec<NewLedgerEntry>,
    denials: &mut Vec<Denial>,
    r: &RemittanceRef<'_>,
) {
    for a in adjs {
        let amount = a.amount.0.as_decimal();
        if amount.is_zero() || (claim.cob.is_some() && a.reason == "23") {
            continue;
        }
        if denied {
            denials.push(Denial {
                claim_id: claim.claim_id,
                claim_line_id: line,
                group: a.group,
                carc: a.reason.clone(),
                amount,
                remarks: remarks.to_vec(),
            });
            continue;
        }
        let kind = EntryKind::for_group(a.group);
        let (side, signed) = if kind == EntryKind::PatientResponsibilityTransfer {
            (Side::InsuranceToPatient, amount)
        } else {
            (Side::Insurance, -amount)
        };
        let mut e = NewLedgerEntry::new(kind, side, signed)
            .claim(claim.ledger_claim(), line)
            .patient(claim.patient_id)
            .payer(claim.payer_id);
        e.group = Some(a.group);
        e.carc = Some(a.reason.clone());
        e.remarks = remarks.to_vec();
        entries.push(stamp(e, r));
    }
}

/// Our line for each SVC: the line its REF*6R names, then same code and modifiers (any order),
/// then same code, then the line at the same position; `None` posts at claim level. Each of our
/// lines is used once.
pub fn match_lines(svcs: &[ServicePayment], ours: &[PostingLine]) -> Vec<Option<Uuid>> {
    let mut used = vec![false; ours.len()];
    let mut out = vec![None; svcs.len()];
    fn sorted(m: &[Modifier]) -> Vec<&str> {
        let mut v: Vec<&str> = m.iter().map(Modifier::as_str).collect();
        v.sort_unstable();
        v
    }
    let passes: [&dyn Fn(usize, usize) -> bool; 4] = [
        &|s, o| {
            svcs[s]
                .line_control_number
                .as_deref()
                .map(str::trim)
                .is_some_and(|n| !n.is_empty() && n.eq_ignore_ascii_case(&ours[o].control_number))
        },
        &|s, o| {
            svcs[s].procedure_code == ours[o].procedure_code
                && sorted(&svcs[s].modifiers) == sorted(&ours[o].modifiers)
        },
        &|s, o| svcs[s].procedure_code == ours[o].procedure_code,
        &|s, o| s == o,
    ];
    for pass in passes {
        for (s, slot) in out.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            if let Some(o) = (0..ours.len()).find(|&o| !used[o] && pass(s, o)) {
                used[o] = true;
                *slot = Some(ours[o].line_id);
            }
        }
    }
    out
}

/// A test-only stand-in for the store: applies a plan to an in-memory ledger and claim list.
#[cfg(test)]
pub(crate) mod sim {
    use super::*;
    use crate::billing::ledger::{Balances, charge_entries_for};
    use chrono::{DateTime, Utc};

    pub(crate) struct Books {
        pub ledger: Vec<LedgerEntry>,
        pub claims: Vec<PostingClaim>,
        next_id: u128,
    }

    impl Books {
        pub(crate) fn new(claims: Vec<PostingClaim>) -> Books {
            let mut b = Books {
                ledger: Vec::new(),
                claims: Vec::new(),
                next_id: 1_000_000,
            };
            for c in &claims {
                for e in charge_entries_for(c.claim_id, c.patient_id, c.payer_id, &c.lines) {
                    b.append(e);
                }
            }
            b.claims = claims;
            b.refresh();
            b
        }

        pub(crate) fn append(&mut self, e: NewLedgerEntry) -> Uuid {
            self.next_id += 1;
            let id = Uuid::from_u128(self.next_id);
            let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
            self.ledger.push(e.post(id, at));
            id
        }

        pub(crate) fn balances(&self) -> Balances {
            crate::billing::ledger::balances(&self.ledger)
        }

        fn refresh(&mut self) {
            let b = self.balances();
            for c in &mut self.claims {
                c.insurance_balance = b.claim(c.claim_id).insurance;
            }
        }

        pub(crate) fn apply(&mut self, remittance_id: Uuid, plan: &PostingPlan) {
            let ids: Vec<Uuid> = plan
                .entries
                .iter()
                .map(|e| self.append(e.clone()))
                .collect();
            for cp in &plan.claim_postings {
                let c = self
                    .claims
                    .iter_mut()
                    .find(|c| c.claim_id == cp.claim_id)
                    .unwrap();
                assert_eq!(c.status, cp.status_before);
                c.status = cp.status_after;
                if cp.payer_claim_number.is_some() {
                    c.payer_claim_number = cp.payer_claim_number.clone();
                }
                let n = self.ledger.len() - ids.len();
                c.postings.push(PriorPosting {
                    remittance_id,
                    status_before: cp.status_before,
                    reverses_remittance: cp.reverses_remittance,
                    entries: cp
                        .entries
                        .clone()
                        .map(|i| self.ledger[n + i].clone())
                        .collect(),
                });
            }
            self.refresh();
        }

        pub(crate) fn status(&self, claim_id: Uuid) -> ClaimStatus {
            self.claims
                .iter()
                .find(|c| c.claim_id == claim_id)
                .unwrap()
                .status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sim::Books;
    use super::*;
    use crate::billing::ledger::{Split, cash_total};
    use crate::billing::test_util::d;
    use crate::model::remittance::SignedMoney;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    const PAYER: u128 = 900;

    fn m(s: &str) -> SignedMoney {
        SignedMoney(Money::signed_parse(s).unwrap())
    }

    fn adj(group: AdjustmentGroup, reason: &str, amount: &str) -> Adjustment {
        Adjustment {
            group,
            reason: reason.into(),
            amount: m(amount),
            quantity: None,
        }
    }

    fn svc(
        code: &str,
        mods: &[&str],
        charge: &str,
        paid: &str,
        adjs: Vec<Adjustment>,
    ) -> ServicePayment {
        ServicePayment {
            line_control_number: None,
            procedure_code: ProcedureCode::parse(code).unwrap(),
            modifiers: mods.iter().map(|x| Modifier::parse(x).unwrap()).collect(),
            charge: m(charge),
            paid: m(paid),
            units: None,
            service_date: None,
            adjustments: adjs,
            remarks: vec![],
        }
    }

    fn clp(
        pcn: &str,
        status: &str,
        charge: &str,
        paid: &str,
        adjs: Vec<Adjustment>,
        lines: Vec<ServicePayment>,
    ) -> ClaimPayment {
        ClaimPayment {
            patient_control_number: pcn.into(),
            status_code: status.into(),
            total_charge: m(charge),
            paid: m(paid),
            patient_responsibility: None,
            payer_claim_number: Some(format!("PAYER-{pcn}")),
            adjustments: adjs,
            lines,
        }
    }

    fn plb(reason: &str, amount: &str) -> ProviderAdjustment {
        ProviderAdjustment {
            reason: reason.into(),
            reference: Some("REF-1".into()),
            amount: m(amount),
        }
    }

    /// Claim `n` (patient `n + 1`), submitted to PAYER, lines (code, modifiers, charge).
    fn claim(n: u128, lines: &[(&str, &[&str], &str)]) -> PostingClaim {
        PostingClaim {
            claim_id: id(n),
            patient_id: id(n + 1),
            payer_id: Some(id(PAYER)),
            patient_control_number: format!("PCN{n}"),
            payer_claim_number: None,
            status: ClaimStatus::Submitted,
            insurance_balance: Decimal::ZERO,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (code, mods, charge))| PostingLine {
                    line_id: id(n * 100 + i as u128 + 1),
                    control_number: crate::model::claim::line_control_number(
                        i as i32 + 1,
                        id(n * 100 + i as u128 + 1),
                    ),
                    procedure_code: ProcedureCode::parse(code).unwrap(),
                    modifiers: mods.iter().map(|x| Modifier::parse(x).unwrap()).collect(),
                    charge: Money::parse(charge).unwrap(),
                })
                .collect(),
            postings: vec![],
            cob: None,
        }
    }

    fn rem<'a>(
        n: u128,
        total: &str,
        claims: &'a [ClaimPayment],
        plbs: &'a [ProviderAdjustment],
    ) -> RemittanceRef<'a> {
        RemittanceRef {
            remittance_id: id(n),
            payer_id: id(PAYER),
            trace_number: "TRN-1",
            total_paid: Money::signed_parse(total).unwrap(),
            claims,
            provider_adjustments: plbs,
        }
    }

    fn post(books: &mut Books, r: RemittanceRef<'_>) -> PostingPlan {
        let plan = plan_posting(r, &books.claims).unwrap();
        books.apply(r.remittance_id, &plan);
        plan
    }

    fn paid_in_full() -> ClaimPayment {
        clp(
            "PCN10",
            "1",
            "200.00",
            "96.00",
            vec![],
            vec![svc(
                "99214",
                &[],
                "200.00",
                "96.00",
                vec![
                    adj(AdjustmentGroup::CO, "45", "80.00"),
                    adj(AdjustmentGroup::PR, "2", "24.00"),
                ],
            )],
        )
    }

    #[test]
    fn a_later_payer_posts_onto_the_charge_claim_and_settles_the_patient_share() {
        // Claim 20 bills the secondary payer for claim 10's lines; the primary left 18.00 of
        // line 1 and 6.00 of line 2 to the patient.
        let primary = claim(10, &[("99214", &[], "150.00"), ("83036", &[], "50.00")]);
        let mut c = claim(20, &[("99214", &[], "150.00"), ("83036", &[], "50.00")]);
        c.lines = primary.lines.clone();
        c.cob = Some(CobBasis {
            charge_claim_id: primary.claim_id,
            patient_share: vec![
                (primary.lines[0].line_id, Decimal::new(1800, 2)),
                (primary.lines[1].line_id, Decimal::new(600, 2)),
            ],
        });
        c.patient_control_number = "PCN20".into();
        let claims = vec![clp(
            "PCN20",
            "2",
            "200.00",
            "20.40",
            vec![],
            vec![
                svc(
                    "99214",
                    &[],
                    "150.00",
                    "14.40",
                    vec![
                        adj(AdjustmentGroup::OA, "23", "132.00"),
                        adj(AdjustmentGroup::PR, "2", "3.60"),
                    ],
                ),
                svc(
                    "83036",
                    &[],
                    "50.00",
                    "6.00",
                    vec![adj(AdjustmentGroup::OA, "23", "44.00")],
                ),
            ],
        )];
        let plan = plan_posting(rem(1, "20.40", &claims, &[]), std::slice::from_ref(&c)).unwrap();
        let got: Vec<(EntryKind, Uuid, Option<Uuid>, Decimal)> = plan
            .entries
            .iter()
            .map(|e| (e.kind, e.claim_id.unwrap(), e.claim_line_id, e.amount))
            .collect();
        let (l1, l2) = (primary.lines[0].line_id, primary.lines[1].line_id);
        let p = primary.claim_id;
        assert_eq!(
            got,
            [
                (
                    EntryKind::PatientResponsibilityTransfer,
                    p,
                    Some(l1),
                    Decimal::new(-1800, 2)
                ),
                (
                    EntryKind::PatientResponsibilityTransfer,
                    p,
                    Some(l2),
                    Decimal::new(-600, 2)
                ),
                (
                    EntryKind::InsurancePayment,
                    p,
                    Some(l1),
                    Decimal::new(-1440, 2)
                ),
                (
                    EntryKind::PatientResponsibilityTransfer,
                    p,
                    Some(l1),
                    Decimal::new(360, 2)
                ),
                (
                    EntryKind::InsurancePayment,
                    p,
                    Some(l2),
                    Decimal::new(-600, 2)
                ),
            ]
        );
        // Nothing remains with insurance; the patient keeps 3.60; the claim is paid.
        let (ins, pat, _) =
            plan.entries
                .iter()
                .fold((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |acc, e| {
                    let (a, b, c) = e.effect();
                    (acc.0 + a, acc.1 + b, acc.2 + c)
                });
        assert_eq!((ins, pat), (Decimal::ZERO, Decimal::new(-2040, 2)));
        assert_eq!(plan.claim_status_changes[0].to, ClaimStatus::Paid);
        assert_eq!(plan.claim_postings[0].claim_id, c.claim_id);
        assert!(plan.denials.is_empty());
    }

    #[test]
    fn lines_are_matched_by_their_ref_6r_first() {
        // Two lines of one code; the payer answers in the other order and adjudicates the
        // first under another code: only REF*6R tells them apart.
        let c = claim(10, &[("99214", &[], "150.00"), ("99214", &[], "50.00")]);
        let (first, second) = (&c.lines[0], &c.lines[1]);
        assert_ne!(first.control_number, second.control_number);
        let mut a = svc("99214", &[], "50.00", "24.00", vec![]);
        a.line_control_number = Some(second.control_number.to_uppercase());
        let mut b = svc("99213", &[], "150.00", "72.00", vec![]);
        b.line_control_number = Some(format!(" {} ", first.control_number));
        assert_eq!(
            match_lines(&[a.clone(), b.clone()], &c.lines),
            [Some(second.line_id), Some(first.line_id)]
        );
        // Without it, code then position decide (here: wrongly, which is why 6R goes first).
        a.line_control_number = None;
        b.line_control_number = Some("9-000000000000".into());
        assert_eq!(
            match_lines(&[a, b], &c.lines),
            [Some(first.line_id), Some(second.line_id)]
        );
    }

    #[test]
    fn allowed_120_paid_96_coinsurance_24() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [paid_in_full()];
        let plan = post(&mut books, rem(1, "96.00", &cps, &[]));
        assert!(plan.unmatched.is_empty());
        assert_eq!(plan.entries.len(), 3);
        let kinds: Vec<_> = plan.entries.iter().map(|e| (e.kind, e.amount)).collect();
        assert_eq!(
            kinds,
            vec![
                (EntryKind::InsurancePayment, d("-96.00")),
                (EntryKind::ContractualAdjustment, d("-80.00")),
                (EntryKind::PatientResponsibilityTransfer, d("24.00")),
            ]
        );
        assert!(
            plan.entries
                .iter()
                .all(|e| e.claim_line_id == Some(id(1001)))
        );
        assert_eq!(plan.entries[2].carc.as_deref(), Some("2"));
        assert_eq!(
            plan.claim_status_changes,
            vec![StatusChange {
                claim_id: id(10),
                from: ClaimStatus::Submitted,
                to: ClaimStatus::Paid,
                reason: "adjudicated: nothing remains with the payer",
            }]
        );
        let b = books.balances();
        assert_eq!(
            b.claim(id(10)),
            Split {
                insurance: d("0.00"),
                patient: d("24.00")
            }
        );
        assert_eq!(b.patients[&id(11)], d("24.00"));
        assert_eq!(b.payers[&id(PAYER)], d("0.00"));
        assert_eq!(cash_total(&books.ledger), d("-96.00"));
        assert_eq!(plan.totals.posted_paid, d("96.00"));
    }

    #[test]
    fn partial_denial_co97_leaves_the_line_with_the_payer() {
        let mut books = Books::new(vec![claim(
            10,
            &[("99213", &["25"], "150.00"), ("93000", &[], "50.00")],
        )]);
        let cps = [clp(
            "PCN10",
            "1",
            "200.00",
            "100.00",
            vec![],
            vec![
                // Out of order on purpose: matched by code, not position.
                svc(
                    "93000",
                    &[],
                    "50.00",
                    "0.00",
                    vec![adj(AdjustmentGroup::CO, "97", "50.00")],
                ),
                svc(
                    "99213",
                    &["25"],
                    "150.00",
                    "100.00",
                    vec![adj(AdjustmentGroup::CO, "45", "50.00")],
                ),
            ],
        )];
        let plan = post(&mut books, rem(1, "100.00", &cps, &[]));
        assert_eq!(books.status(id(10)), ClaimStatus::PartiallyPaid);
        assert_eq!(
            plan.claim_status_changes[0].reason,
            "the payer denied some service lines"
        );
        assert_eq!(
            plan.denials,
            vec![Denial {
                claim_id: id(10),
                claim_line_id: Some(id(1002)),
                group: AdjustmentGroup::CO,
                carc: "97".into(),
                amount: d("50.00"),
                remarks: vec![],
            }]
        );
        let b = books.balances();
        assert_eq!(
            b.lines[&(id(10), Some(id(1001)))],
            Split {
                insurance: d("0.00"),
                patient: d("0")
            }
        );
        assert_eq!(b.lines[&(id(10), Some(id(1002)))].insurance, d("50.00"));
        assert_eq!(b.claim(id(10)).insurance, d("50.00"));
    }

    /// A timely-filing denial is not written off by posting: the 200.00 stays with the payer
    /// (and in A/R) until the biller appeals or writes it off with a WriteOff entry.
    #[test]
    fn full_denial_co29_stays_until_the_biller_acts() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [clp(
            "PCN10",
            "4",
            "200.00",
            "0.00",
            vec![adj(AdjustmentGroup::CO, "29", "200.00")],
            vec![],
        )];
        let plan = post(&mut books, rem(1, "0.00", &cps, &[]));
        assert!(plan.entries.is_empty());
        assert_eq!(books.status(id(10)), ClaimStatus::Denied);
        assert_eq!(plan.denials.len(), 1);
        assert_eq!(
            (plan.denials[0].carc.as_str(), plan.denials[0].amount),
            ("29", d("200.00"))
        );
        assert_eq!(books.balances().claim(id(10)).insurance, d("200.00"));
        // Posted, not queued: the claim payment matched.
        assert_eq!(plan.claim_postings.len(), 1);
    }

    fn reversal_of_paid_in_full() -> ClaimPayment {
        clp(
            "PCN10",
            "22",
            "-200.00",
            "-96.00",
            vec![],
            vec![svc(
                "99214",
                &[],
                "-200.00",
                "-96.00",
                vec![
                    adj(AdjustmentGroup::CO, "45", "-80.00"),
                    adj(AdjustmentGroup::PR, "2", "-24.00"),
                ],
            )],
        )
    }

    fn readjudicated() -> ClaimPayment {
        clp(
            "PCN10",
            "1",
            "200.00",
            "110.00",
            vec![],
            vec![svc(
                "99214",
                &[],
                "200.00",
                "110.00",
                vec![
                    adj(AdjustmentGroup::CO, "45", "80.00"),
                    adj(AdjustmentGroup::PR, "3", "10.00"),
                ],
            )],
        )
    }

    fn assert_readjudicated(books: &Books) {
        let b = books.balances();
        assert_eq!(
            b.claim(id(10)),
            Split {
                insurance: d("0.00"),
                patient: d("10.00")
            }
        );
        assert_eq!(books.status(id(10)), ClaimStatus::Paid);
        assert_eq!(cash_total(&books.ledger), d("-110.00"));
        assert!(b.credit_balances().is_empty());
    }

    #[test]
    fn reversal_and_readjudication_in_one_remittance() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let first = [paid_in_full()];
        post(&mut books, rem(1, "96.00", &first, &[]));
        let second = [reversal_of_paid_in_full(), readjudicated()];
        let plan = post(&mut books, rem(2, "14.00", &second, &[]));
        // Three reversals negating the three entries of the first posting, then three new.
        let reversed: Vec<_> = plan.entries[..3]
            .iter()
            .map(|e| (e.kind, e.amount, e.reverses.is_some()))
            .collect();
        assert_eq!(
            reversed,
            vec![
                (EntryKind::Reversal, d("96.00"), true),
                (EntryKind::Reversal, d("80.00"), true),
                (EntryKind::Reversal, d("-24.00"), true),
            ]
        );
        let changes: Vec<_> = plan
            .claim_status_changes
            .iter()
            .map(|c| (c.from, c.to))
            .collect();
        assert_eq!(
            changes,
            vec![
                (ClaimStatus::Paid, ClaimStatus::Submitted),
                (ClaimStatus::Submitted, ClaimStatus::Paid),
            ]
        );
        assert_eq!(plan.claim_postings[0].reverses_remittance, Some(id(1)));
        assert_readjudicated(&books);
    }

    #[test]
    fn reversal_then_readjudication_in_the_next_remittance() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let first = [paid_in_full()];
        post(&mut books, rem(1, "96.00", &first, &[]));
        // The payer carries the negative balance forward (PLB FB) instead of a negative BPR.
        let second = [reversal_of_paid_in_full()];
        let fb_out = [plb("FB", "-96.00")];
        post(&mut books, rem(2, "0.00", &second, &fb_out));
        assert_eq!(books.status(id(10)), ClaimStatus::Submitted);
        assert_eq!(
            books.balances().claim(id(10)),
            Split {
                insurance: d("200.00"),
                patient: d("0.00")
            }
        );
        let third = [readjudicated()];
        let fb_in = [plb("FB", "96.00")];
        post(&mut books, rem(3, "14.00", &third, &fb_in));
        let b = books.balances();
        assert_eq!(
            b.claim(id(10)),
            Split {
                insurance: d("0.00"),
                patient: d("10.00")
            }
        );
        assert_eq!(books.status(id(10)), ClaimStatus::Paid);
        assert_eq!(b.provider_level[&id(PAYER)], d("0.00"));
        // 96.00 + 0.00 + 14.00 received in all.
        assert_eq!(cash_total(&books.ledger), d("-110.00"));
        // A second reversal of the same payment finds nothing left to reverse.
        let again = [reversal_of_paid_in_full()];
        let plan = plan_posting(rem(4, "-96.00", &again, &[]), &books.claims).unwrap();
        assert_eq!(plan.unmatched[0].reason, UnmatchedReason::NothingToReverse);
    }

    #[test]
    fn plb_interest_increases_the_payment() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [paid_in_full()];
        let plbs = [plb("L6", "-2.50")];
        let plan = post(&mut books, rem(1, "98.50", &cps, &plbs));
        let e = plan.entries.last().unwrap();
        assert_eq!(
            (e.kind, e.side, e.amount),
            (EntryKind::ProviderAdjustment, Side::Provider, d("-2.50"))
        );
        assert_eq!(e.provider_adjustment_reason.as_deref(), Some("L6"));
        assert_eq!(e.patient_id, None);
        assert_eq!(plan.totals.provider_adjustments, d("-2.50"));
        assert_eq!(cash_total(&books.ledger), d("-98.50"));
        assert_eq!(books.balances().claim(id(10)).insurance, d("0.00"));
    }

    #[test]
    fn plb_recoupment_reduces_the_payment() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [paid_in_full()];
        let plbs = [plb("WO", "30.00")];
        let plan = post(&mut books, rem(1, "66.00", &cps, &plbs));
        assert_eq!(plan.entries.last().unwrap().amount, d("30.00"));
        assert_eq!(books.balances().provider_level[&id(PAYER)], d("30.00"));
        assert_eq!(cash_total(&books.ledger), d("-66.00"));
    }

    #[test]
    fn a_remittance_that_does_not_balance_posts_nothing() {
        let books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [paid_in_full()];
        let e = plan_posting(rem(1, "95.00", &cps, &[]), &books.claims).unwrap_err();
        assert_eq!(
            e,
            PostingError::DoesNotBalance {
                expected: d("95.00"),
                computed: d("96.00")
            }
        );
        // Interest on the wrong side.
        let plbs = [plb("L6", "2.50")];
        let e = plan_posting(rem(1, "98.50", &cps, &plbs), &books.claims).unwrap_err();
        assert_eq!(
            e,
            PostingError::DoesNotBalance {
                expected: d("98.50"),
                computed: d("93.50")
            }
        );
        let mut bad_claim = paid_in_full();
        bad_claim.total_charge = m("210.00");
        let e = plan_posting(rem(1, "96.00", &[bad_claim], &[]), &books.claims).unwrap_err();
        assert_eq!(
            e,
            PostingError::ClaimDoesNotBalance {
                index: 0,
                charge: d("210.00"),
                computed: d("200.00")
            }
        );
        let mut bad_line = paid_in_full();
        bad_line.lines[0].paid = m("90.00");
        bad_line.paid = m("90.00");
        let e = plan_posting(rem(1, "90.00", &[bad_line], &[]), &books.claims).unwrap_err();
        assert!(
            matches!(
                e,
                PostingError::LineDoesNotBalance {
                    index: 0,
                    line: 0,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn unmatched_claims_are_queued_and_still_balance() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let mut stranger = paid_in_full();
        stranger.patient_control_number = "NOT-OURS".into();
        stranger.payer_claim_number = None;
        let cps = [stranger, paid_in_full()];
        let plan = post(&mut books, rem(1, "192.00", &cps, &[]));
        assert_eq!(plan.unmatched.len(), 1);
        assert_eq!(plan.unmatched[0].index, 0);
        assert_eq!(plan.unmatched[0].reason, UnmatchedReason::NoSuchClaim);
        assert_eq!(plan.totals.unmatched_paid, d("96.00"));
        assert_eq!(plan.totals.posted_paid, d("96.00"));
        assert_eq!(books.status(id(10)), ClaimStatus::Paid);
    }

    #[test]
    fn matches_by_payer_claim_number_when_the_control_number_is_garbled() {
        let mut c = claim(10, &[("99214", &[], "200.00")]);
        c.payer_claim_number = Some("PAYER-PCN10".into());
        let mut books = Books::new(vec![c]);
        let mut cp = paid_in_full();
        cp.patient_control_number = "PCN1O".into();
        let plan = post(&mut books, rem(1, "96.00", &[cp], &[]));
        assert!(plan.unmatched.is_empty());
        assert_eq!(books.status(id(10)), ClaimStatus::Paid);
    }

    #[test]
    fn refused_status_changes_and_other_payers_go_to_the_queue() {
        let mut draft = claim(10, &[("99214", &[], "200.00")]);
        draft.status = ClaimStatus::Draft;
        let mut other = claim(20, &[("99214", &[], "200.00")]);
        other.payer_id = Some(id(1));
        let books = Books::new(vec![draft, other]);
        let mut to_other = paid_in_full();
        to_other.patient_control_number = "PCN20".into();
        let cps = [paid_in_full(), to_other];
        let plan = plan_posting(rem(1, "192.00", &cps, &[]), &books.claims).unwrap();
        assert!(plan.entries.is_empty());
        assert_eq!(
            plan.unmatched[0].reason,
            UnmatchedReason::StatusRefused {
                from: ClaimStatus::Draft,
                to: ClaimStatus::Paid
            }
        );
        assert_eq!(plan.unmatched[1].reason, UnmatchedReason::OtherPayer);
    }

    #[test]
    fn forwarded_and_predetermination_post_nothing() {
        let books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cp = clp(
            "PCN10",
            "25",
            "200.00",
            "0.00",
            vec![adj(AdjustmentGroup::OA, "101", "200.00")],
            vec![],
        );
        let plan = plan_posting(rem(1, "0.00", &[cp], &[]), &books.claims).unwrap();
        assert_eq!(
            plan.unmatched[0].reason,
            UnmatchedReason::NotPostable {
                status_code: "25".into()
            }
        );
    }

    #[test]
    fn deductible_only_is_paid_and_owed_by_the_patient() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [clp(
            "PCN10",
            "1",
            "200.00",
            "0.00",
            vec![],
            vec![svc(
                "99214",
                &[],
                "200.00",
                "0.00",
                vec![
                    adj(AdjustmentGroup::CO, "45", "80.00"),
                    adj(AdjustmentGroup::PR, "1", "120.00"),
                ],
            )],
        )];
        post(&mut books, rem(1, "0.00", &cps, &[]));
        assert_eq!(books.status(id(10)), ClaimStatus::Paid);
        assert_eq!(
            books.balances().claim(id(10)),
            Split {
                insurance: d("0.00"),
                patient: d("120.00")
            }
        );
    }

    #[test]
    fn claim_level_payment_without_lines() {
        let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
        let cps = [clp(
            "PCN10",
            "1",
            "180.00",
            "150.00",
            vec![adj(AdjustmentGroup::CO, "45", "30.00")],
            vec![],
        )];
        let plan = post(&mut books, rem(1, "150.00", &cps, &[]));
        assert!(plan.entries.iter().all(|e| e.claim_line_id.is_none()));
        assert_eq!(books.balances().claim(id(10)).insurance, d("20.00"));
        assert_eq!(books.status(id(10)), ClaimStatus::PartiallyPaid);
    }
}

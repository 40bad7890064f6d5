//! Applying acknowledgments (999/TA1 and 277CA) to the claims they answer, in one transaction:
//! the file is recorded as an inbound exchange linked to the 837Ps it answers, and a claim moves
//! only forward along its lifecycle, only when the acknowledgment answers its latest 837P.
//!
//! The payer plugin reads the X12; the caller hands over what it read as the types below, so
//! core never sees the plugin's messages.

use uuid::Uuid;

use super::{AuditTrail, ReceivedFile};
use crate::access::OrgId;
use crate::audit::Disclosed;
use crate::billing::lifecycle;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::ClaimStatus;
use crate::model::event::{ClaimAcknowledged, EventData};
use crate::store::x12_exchanges::{self, ExchangeInput};
use crate::store::{self, DbConnection, KeyRing, billing, claims};

/// Most exchanges of one claim looked at.
const HISTORY_LIMIT: i64 = 500;
/// Most recent exchanges of an organization searched for the 837P an acknowledgment answers.
const RECENT_LIMIT: i64 = 500;

/// A 999's verdict on one transaction set (AK2..IK5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSetVerdict {
    /// AK201 (`837`).
    pub transaction_id: String,
    /// AK202: the ST02 answered.
    pub control_number: String,
    pub accepted: bool,
}

/// A 999 for one functional group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVerdict {
    /// AK101 (`HC` for 837s).
    pub functional_id: String,
    /// AK102: the GS06 answered.
    pub group_control_number: String,
    pub accepted: bool,
    pub transactions: Vec<TransactionSetVerdict>,
}

/// A TA1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeVerdict {
    /// TA101: the ISA13 answered.
    pub control_number: String,
    pub accepted: bool,
}

/// A 277CA's answer about one claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimVerdict {
    /// Our CLM01, as REF*EJ or the 2200D TRN02 echo it.
    pub patient_control_number: String,
    /// STC01-1 of its first status.
    pub category: String,
    /// 2200B TRN02: the BHT03 (our ISA13) of the 837P answered, when given.
    pub batch_reference: Option<String>,
}

/// What an acknowledgment says: the claims to move and the outbound exchanges it answers.
struct AckPlan {
    moves: Vec<(Uuid, ClaimStatus, String)>,
    /// Claims it names that it must not move (it answers an earlier submission of theirs).
    noted: Vec<Uuid>,
    answers: Vec<Uuid>,
}

impl AckPlan {
    fn new() -> AckPlan {
        AckPlan {
            moves: Vec::new(),
            noted: Vec::new(),
            answers: Vec::new(),
        }
    }

    /// A short summary for the exchange (codes and control numbers only).
    fn summary(&self, kind: &str) -> String {
        let mut reasons: Vec<&str> = self.moves.iter().map(|m| m.2.as_str()).collect();
        reasons.sort();
        reasons.dedup();
        if reasons.is_empty() {
            format!("{kind} named no claim of ours")
        } else {
            reasons.join("; ")
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim_start_matches('0') == b.trim_start_matches('0')
}

fn sent_837(e: &x12_exchanges::Exchange) -> bool {
    e.direction == "out" && e.kind == "837" && e.status == "sent"
}

/// The outbound 837Ps an acknowledgment for this group (GS06) or interchange (ISA13) control
/// number answers, and their claims.
fn answered_by(
    conn: &mut DbConnection,
    org: OrgId,
    number: &str,
) -> CoreResult<(Vec<Uuid>, Vec<Uuid>)> {
    let sent: Vec<_> = x12_exchanges::recent(conn, org, RECENT_LIMIT)?
        .into_iter()
        .filter(sent_837)
        .filter(|e| {
            e.group_control_number.as_deref() == Some(number)
                || e.interchange_control_number
                    .as_deref()
                    .is_some_and(|i| same(i, number))
        })
        .collect();
    let claims = sent.iter().flat_map(|e| e.claim_ids.clone()).collect();
    Ok((sent.into_iter().map(|e| e.id).collect(), claims))
}

/// The outbound 837Ps of functional group `gcn` (GS06, as a 999's AK102 names it), with the
/// verdict the 999 gives each: its AK2/IK5 for the transaction set (ST02) the 837P went out
/// as, or, when the 999 lists no 837 transaction set, the group's AK9. A transaction set the
/// 999 does not list is not answered by it.
fn answered_by_999(
    conn: &mut DbConnection,
    org: OrgId,
    ack: &GroupVerdict,
) -> CoreResult<Vec<(x12_exchanges::Exchange, bool)>> {
    let gcn = ack.group_control_number.trim();
    let sent: Vec<_> = x12_exchanges::recent(conn, org, RECENT_LIMIT)?
        .into_iter()
        .filter(sent_837)
        .filter(|e| {
            e.group_control_number
                .as_deref()
                .is_some_and(|g| same(g, gcn))
        })
        .collect();
    let sets: Vec<&TransactionSetVerdict> = ack
        .transactions
        .iter()
        .filter(|t| t.transaction_id == "837")
        .collect();
    Ok(sent
        .into_iter()
        .filter_map(|e| {
            if sets.is_empty() {
                return Some((e, ack.accepted));
            }
            let st02 = e.transaction_control_number.clone();
            let set = sets.iter().find(|t| match &st02 {
                Some(st) => same(&t.control_number, st),
                // Recorded before transaction numbers were: the group decides.
                None => true,
            })?;
            let accepted = if st02.is_some() {
                set.accepted
            } else {
                ack.accepted
            };
            Some((e, accepted))
        })
        .collect())
}

/// Whether `answers` holds the latest 837P `claim` went out in. An acknowledgment of an earlier
/// submission (the claim was since corrected and sent again) is recorded but moves nothing.
fn answers_latest(
    c: &mut DbConnection,
    org: OrgId,
    claim: Uuid,
    answers: &[Uuid],
) -> CoreResult<bool> {
    Ok(x12_exchanges::of_claim(c, org, claim, HISTORY_LIMIT)?
        .into_iter()
        .rev()
        .find(sent_837)
        .is_some_and(|e| answers.contains(&e.id)))
}

/// Moves claims where an acknowledgment may (only forward: see
/// [`lifecycle::acknowledgment_moves`]); a late or repeated one leaves the claim as it is.
#[allow(clippy::too_many_arguments)]
fn move_claims(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &dyn AuditTrail,
    actor: &str,
    moves: &[(Uuid, ClaimStatus, String)],
    exchange_id: Uuid,
    kind: &str,
) -> CoreResult<usize> {
    let mut moved = 0;
    for (id, to, reason) in moves {
        let claim = claims::get(c, org, *id)?;
        if !lifecycle::acknowledgment_moves(claim.status, *to) {
            continue;
        }
        match billing::transition(c, keyring, org, *id, *to, actor, Some(reason.clone()), None) {
            Ok(t) => {
                audit.append_other(c, "transition", "Claim", 200, Some(*id), &Disclosed::of(&t))?;
                crate::store::events::emit(
                    c,
                    org,
                    &EventData::ClaimAcknowledged(ClaimAcknowledged {
                        claim_id: *id,
                        exchange_id,
                        acknowledgment: kind.to_string(),
                        status: *to,
                    }),
                )?;
                moved += 1;
            }
            Err(CoreError::TransitionRefused { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// In one transaction: plans what the file says, records it (linked to its claims and to the
/// 837Ps it answers) with the request's audit event, and moves the claims. Returns the
/// summary recorded on the exchange.
fn record_and_apply(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &dyn AuditTrail,
    actor: &str,
    file: &ReceivedFile,
    plan: impl FnOnce(&mut DbConnection) -> CoreResult<AckPlan>,
) -> CoreResult<String> {
    store::write_transaction(conn, |c| {
        let plan = plan(c)?;
        let summary = plan.summary(&file.kind);
        let mut claim_ids: Vec<Uuid> = plan.moves.iter().map(|m| m.0).collect();
        claim_ids.extend(plan.noted.iter().copied());
        claim_ids.sort();
        claim_ids.dedup();
        let e = x12_exchanges::record(
            c,
            keyring,
            org,
            &ExchangeInput {
                claim_ids,
                answers: plan.answers.clone(),
                detail: Some(summary.clone()),
                ..file.exchange()
            },
            &file.raw,
        )?;
        audit.append(c, 201, Some(e.id), &Disclosed::default())?;
        move_claims(c, keyring, org, audit, actor, &plan.moves, e.id, &file.kind)?;
        Ok(summary)
    })
}

/// A 999/TA1 file: a rejected 837P transaction set (or interchange) rejects its claims; an
/// accepted one moves them to `accepted`. Only 999s of `HC` groups are about claims. Returns
/// what it said.
#[allow(clippy::too_many_arguments)]
pub fn apply_999(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &dyn AuditTrail,
    actor: &str,
    file: &ReceivedFile,
    groups: &[GroupVerdict],
    interchanges: &[InterchangeVerdict],
) -> CoreResult<String> {
    let plan = |c: &mut DbConnection| -> CoreResult<AckPlan> {
        let mut plan = AckPlan::new();
        for a in groups.iter().filter(|a| a.functional_id == "HC") {
            let gcn = a.group_control_number.as_str();
            for (sent, accepted) in answered_by_999(c, org, a)? {
                let answers = [sent.id];
                for id in sent.claim_ids {
                    if !answers_latest(c, org, id, &answers)? {
                        plan.noted.push(id);
                        continue;
                    }
                    plan.moves.push(if accepted {
                        (
                            id,
                            ClaimStatus::Accepted,
                            format!("999 accepted group {gcn}"),
                        )
                    } else {
                        (
                            id,
                            ClaimStatus::Rejected,
                            format!("999 rejected group {gcn}"),
                        )
                    });
                }
                plan.answers.push(sent.id);
            }
        }
        for t in interchanges {
            let icn = t.control_number.as_str();
            let (answers, claim_ids) = answered_by(c, org, icn)?;
            if t.accepted {
                plan.answers.extend(answers);
                continue;
            }
            for id in claim_ids {
                if !answers_latest(c, org, id, &answers)? {
                    plan.noted.push(id);
                    continue;
                }
                plan.moves.push((
                    id,
                    ClaimStatus::Rejected,
                    format!("TA1 rejected interchange {icn}"),
                ));
            }
            plan.answers.extend(answers);
        }
        plan.answers.sort();
        plan.answers.dedup();
        Ok(plan)
    };
    record_and_apply(conn, keyring, org, audit, actor, file, plan)
}

/// A 277CA file: category A1/A2/A5 accepts a claim, A3/A4/A6/A7/A8 and R* reject it. A claim
/// is named by its patient control number among this organization's claims only, and the
/// 277CA answers the 837P whose BHT03 (our ISA13) its batch reference echoes: a 277CA of
/// another submission of the claim (an earlier one, since corrected and sent again), or of no
/// submission of ours, is recorded and moves nothing.
pub fn apply_277ca(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &dyn AuditTrail,
    actor: &str,
    file: &ReceivedFile,
    answers: &[ClaimVerdict],
) -> CoreResult<String> {
    let plan = |c: &mut DbConnection| -> CoreResult<AckPlan> {
        let pcns: Vec<String> = answers
            .iter()
            .map(|r| r.patient_control_number.clone())
            .collect();
        let found = claims::by_control_numbers(c, org, &pcns)?;
        let mut plan = AckPlan::new();
        for r in answers {
            let Some(to) = lifecycle::claim_acknowledgment_status(&r.category) else {
                continue;
            };
            let pcn = r.patient_control_number.trim().to_ascii_uppercase();
            for claim in found
                .iter()
                .filter(|c| c.patient_control_number.to_ascii_uppercase() == pcn)
            {
                let sent: Vec<x12_exchanges::Exchange> =
                    x12_exchanges::of_claim(c, org, claim.id, HISTORY_LIMIT)?
                        .into_iter()
                        .filter(sent_837)
                        .collect();
                // The 837P it answers: the one its batch reference names, else (a 277CA
                // without 2200B TRN02) the claim's latest.
                let answered = match r.batch_reference.as_deref().map(str::trim) {
                    Some(batch) if !batch.is_empty() => sent.iter().rev().find(|e| {
                        e.interchange_control_number
                            .as_deref()
                            .is_some_and(|icn| same(icn, batch))
                    }),
                    _ => sent.last(),
                };
                let Some(answered) = answered else {
                    plan.noted.push(claim.id);
                    continue;
                };
                plan.answers.push(answered.id);
                if sent.last().map(|e| e.id) != Some(answered.id) {
                    plan.noted.push(claim.id);
                    continue;
                }
                plan.moves
                    .push((claim.id, to, format!("277CA category {}", r.category)));
            }
        }
        plan.answers.sort();
        plan.answers.dedup();
        Ok(plan)
    };
    record_and_apply(conn, keyring, org, audit, actor, file, plan)
}

//! 999/TA1 and 277CA acknowledgments applied to the claims they answer.

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::{OrgId, Principal};
use revcycle_core::audit::Disclosed;
use revcycle_core::billing::lifecycle;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::ClaimStatus;
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{self, DbConnection, KeyRing, billing, claims};
use serde::Deserialize;
use uuid::Uuid;

use super::envelope::envelopes_of;
use super::exchanges::HISTORY_LIMIT;
use super::{call, payer_link};
use crate::audit::AuditCtx;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The outbound 837Ps an acknowledgment for this group (GS06) or interchange (ISA13) control
/// number answers, and their claims.
pub(super) fn answered_by(
    conn: &mut DbConnection,
    org: OrgId,
    number: &str,
) -> CoreResult<(Vec<Uuid>, Vec<Uuid>)> {
    let sent: Vec<_> = x12_exchanges::recent(conn, org, 500)?
        .into_iter()
        .filter(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
        .filter(|e| {
            e.group_control_number.as_deref() == Some(number)
                || e.interchange_control_number
                    .as_deref()
                    .is_some_and(|i| i.trim_start_matches('0') == number.trim_start_matches('0'))
        })
        .collect();
    let claims = sent.iter().flat_map(|e| e.claim_ids.clone()).collect();
    Ok((sent.into_iter().map(|e| e.id).collect(), claims))
}

/// The outbound 837Ps of functional group `gcn` (GS06, as a 999's AK102 names it), with the
/// verdict the 999 gives each: its AK2/IK5 for the transaction set (ST02) the 837P went out
/// as, or, when the 999 lists no 837 transaction set, the group's AK9. A transaction set the
/// 999 does not list is not answered by it.
pub(super) fn answered_by_999(
    conn: &mut DbConnection,
    org: OrgId,
    ack: &canonical::FunctionalGroupAck,
) -> CoreResult<Vec<(x12_exchanges::Exchange, bool)>> {
    let gcn = ack.group_control_number.trim();
    let same = |a: &str, b: &str| a.trim_start_matches('0') == b.trim_start_matches('0');
    let sent: Vec<_> = x12_exchanges::recent(conn, org, 500)?
        .into_iter()
        .filter(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
        .filter(|e| {
            e.group_control_number
                .as_deref()
                .is_some_and(|g| same(g, gcn))
        })
        .collect();
    let sets: Vec<&canonical::TransactionSetAck> = ack
        .transactions
        .iter()
        .filter(|t| t.transaction_id == "837")
        .collect();
    let group_accepted = ack.accepted;
    Ok(sent
        .into_iter()
        .filter_map(|e| {
            if sets.is_empty() {
                return Some((e, group_accepted));
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
                group_accepted
            };
            Some((e, accepted))
        })
        .collect())
}

/// Whether `answers` holds the latest 837P `claim` went out in. An acknowledgment of an earlier
/// submission (the claim was since corrected and sent again) is recorded but moves nothing.
pub(super) fn answers_latest(
    c: &mut DbConnection,
    org: OrgId,
    claim: Uuid,
    answers: &[Uuid],
) -> CoreResult<bool> {
    Ok(x12_exchanges::of_claim(c, org, claim, HISTORY_LIMIT)?
        .into_iter()
        .rev()
        .find(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
        .is_some_and(|e| answers.contains(&e.id)))
}

/// Moves `claims` to `to` where an acknowledgment may (only forward: see
/// [`lifecycle::acknowledgment_moves`]); a late or repeated one leaves the claim as it is.
pub(super) fn move_claims(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &AuditCtx,
    actor: &str,
    claims_to_move: &[(Uuid, ClaimStatus, String)],
) -> CoreResult<usize> {
    let mut moved = 0;
    for (id, to, reason) in claims_to_move {
        let claim = claims::get(c, org, *id)?;
        if !lifecycle::acknowledgment_moves(claim.status, *to) {
            continue;
        }
        match billing::transition(c, keyring, org, *id, *to, actor, Some(reason.clone()), None) {
            Ok(t) => {
                audit.with("transition", "Claim").append_in_tx(
                    c,
                    200,
                    Some(*id),
                    &Disclosed::of(&t),
                )?;
                moved += 1;
            }
            Err(CoreError::TransitionRefused { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// What an acknowledgment says: the claims to move and the outbound exchanges it answers.
pub(super) struct AckPlan {
    moves: Vec<(Uuid, ClaimStatus, String)>,
    /// Claims it names that it must not move (it answers an earlier submission of theirs).
    noted: Vec<Uuid>,
    answers: Vec<Uuid>,
}

impl AckPlan {
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

#[allow(clippy::too_many_arguments)]
pub(super) async fn record_and_apply<F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: String,
    transport: &'static str,
    control_numbers: (Option<String>, Option<String>),
    plan: F,
) -> ApiResult<String>
where
    F: FnOnce(&mut DbConnection) -> CoreResult<AckPlan> + Send + 'static,
{
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let org = who.org;
    let actor = who.subject.clone();
    let summary = web::block(move || -> CoreResult<String> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let plan = plan(c)?;
            let summary = plan.summary(&kind);
            let (icn, gcn) = control_numbers.clone();
            let mut claim_ids: Vec<Uuid> = plan.moves.iter().map(|m| m.0).collect();
            claim_ids.extend(plan.noted.iter().copied());
            claim_ids.sort();
            claim_ids.dedup();
            let e = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "in",
                    kind: kind.clone(),
                    file_name: Some(name.clone()),
                    interchange_control_number: icn,
                    group_control_number: gcn,
                    transaction_control_number: None,
                    claim_ids,
                    status: "processed".into(),
                    payer_id: None,
                    transport: Some(transport.into()),
                    answers: plan.answers.clone(),
                    detail: Some(summary.clone()),
                },
                &raw,
            )?;
            audit.append_in_tx(c, 201, Some(e.id), &Disclosed::default())?;
            move_claims(c, &keyring, org, &audit, &actor, &plan.moves)?;
            Ok(summary)
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(summary)
}

/// 999/TA1: a rejected 837P transaction (or interchange) rejects its claims; an accepted one
/// moves them to `accepted`. Returns what it said.
pub(super) async fn apply_acks(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: &str,
    transport: &'static str,
) -> ApiResult<String> {
    let link = payer_link(state)?;
    let out = call(state, &link, "parse_ack", raw.clone()).await?;
    let acks = canonical::Acknowledgments::deserialize(&out).map_err(|_| {
        ApiError::BadGateway("the connector's acknowledgments are not readable".into())
    })?;
    let control_numbers = canonical::Envelopes {
        interchanges: acks.interchanges,
    }
    .control_numbers();
    let org = who.org;
    let plan = move |c: &mut DbConnection| -> CoreResult<AckPlan> {
        let mut plan = AckPlan {
            moves: Vec::new(),
            noted: Vec::new(),
            answers: Vec::new(),
        };
        for a in &acks.ack999 {
            if a.functional_id != "HC" {
                continue;
            }
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
        for t in &acks.ta1 {
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
    record_and_apply(
        state,
        who,
        audit,
        raw,
        name,
        kind.to_string(),
        transport,
        control_numbers,
        plan,
    )
    .await
}

/// 277CA: category A1/A2/A5 accepts a claim, A3/A4/A6/A7/A8 and R* reject it. A claim is named
/// by its patient control number (2200D TRN02 echoes CLM01) among this organization's claims
/// only, and the 277CA answers the 837P whose BHT03 (our ISA13) its 2200B TRN02 echoes: a
/// 277CA of another submission of the claim (an earlier one, since corrected and sent again),
/// or of no submission of ours, is recorded and moves nothing. Statuses at the payer,
/// information receiver and provider levels name no claim.
pub(super) async fn apply_277(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
) -> ApiResult<()> {
    let link = payer_link(state)?;
    let input = canonical::ClaimStatusInput {
        x12: Some(String::from_utf8_lossy(&raw).into_owned()),
        ..Default::default()
    };
    let out = call(
        state,
        &link,
        "claim_status",
        serde_json::to_vec(&input).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let control_numbers = envelopes_of(&out).control_numbers();
    let responses: Vec<canonical::ClaimStatusResponse> =
        serde_json::from_value(out["responses"].clone()).unwrap_or_default();
    let org = who.org;
    let plan = move |c: &mut DbConnection| -> CoreResult<AckPlan> {
        // The claim is named by REF*EJ (patient account number) or, in a 277CA, by the
        // 2200D TRN02 that echoes CLM01.
        let key = |r: &canonical::ClaimStatusResponse| -> String {
            if r.claim_control_number.trim().is_empty() {
                r.trace_number.clone().unwrap_or_default()
            } else {
                r.claim_control_number.clone()
            }
        };
        let responses: Vec<&canonical::ClaimStatusResponse> =
            responses.iter().filter(|r| r.is_claim()).collect();
        let pcns: Vec<String> = responses.iter().map(|r| key(r)).collect();
        let found = claims::by_control_numbers(c, org, &pcns)?;
        let same = |a: &str, b: &str| a.trim_start_matches('0') == b.trim_start_matches('0');
        let mut plan = AckPlan {
            moves: Vec::new(),
            noted: Vec::new(),
            answers: Vec::new(),
        };
        for r in responses {
            let Some(cat) = r.statuses.first().map(|s| s.category_code.clone()) else {
                continue;
            };
            let Some(to) = lifecycle::claim_acknowledgment_status(&cat) else {
                continue;
            };
            let pcn = key(r).trim().to_ascii_uppercase();
            for claim in found
                .iter()
                .filter(|c| c.patient_control_number.to_ascii_uppercase() == pcn)
            {
                let sent: Vec<x12_exchanges::Exchange> =
                    x12_exchanges::of_claim(c, org, claim.id, HISTORY_LIMIT)?
                        .into_iter()
                        .filter(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
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
                    .push((claim.id, to, format!("277CA category {cat}")));
            }
        }
        plan.answers.sort();
        plan.answers.dedup();
        Ok(plan)
    };
    record_and_apply(
        state,
        who,
        audit,
        raw,
        name,
        "277CA".into(),
        "inbox",
        control_numbers,
        plan,
    )
    .await?;
    Ok(())
}

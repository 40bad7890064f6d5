//! Deciding the unmatched-remittance work queue: a claim payment posting could not apply is
//! matched to a claim and posted, split over several claims and posted, or decided not ours
//! (with or without a refund owed to the payer). Each decision is one transaction with the
//! caller's audit event: the item is claimed first (a second decision is a conflict and
//! writes nothing), then the posting and its denials and events commit with it, or nothing.
//!
//! The claim chosen must be one of the organization's and billed to the remittance's payer:
//! a payment posted to another payer's claim moves that payer's receivable and is almost
//! always a mistake (a look-alike control number, the wrong patient), so it takes a stated
//! `override_reason` (a crossover, a payer that changed identity, a carve-out vendor, a
//! corrected coverage). The entries then carry the claim's payer (whose receivable the claim
//! is) and the remittance they came in.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::posting::{
    ManualPostingError, SplitPart, UnmatchedReason, split_claim_payment,
};
use crate::error::{CoreError, CoreResult};
use crate::model::claim::Claim;
use crate::model::common::{now, utc};
use crate::model::remittance::{ClaimPayment, Remittance};
use crate::store::posting::{self, HandPosting, PostingResult, posting_error};
use crate::store::unmatched::{
    self, DecidedClaim, DecisionKind, NotOursReason, OpenItem, OverrideReason, UnmatchedDecision,
    UnmatchedWorkItem,
};
use crate::store::{self, DbConnection, claims, remittances};
use crate::validation::{Errors, Rules};

/// Post the claim payment to one claim.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c01"}))]
pub struct MatchInput {
    pub claim_id: Uuid,
    /// Required when the claim is billed to another payer than the remittance's.
    pub override_reason: Option<OverrideReason>,
}

/// One part of a split: the claim and the service lines (positions in the item's `lines`)
/// posted to it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitPartInput {
    pub claim_id: Uuid,
    #[schema(min_items = 1, max_items = 999)]
    pub lines: Vec<usize>,
    /// This part takes the claim-level adjustments (CAS at claim level); exactly one part
    /// must when the claim payment has any.
    #[serde(default)]
    pub claim_adjustments: bool,
}

/// Post the claim payment's service lines to two or more claims.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parts": [
    {"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c01", "lines": [0]},
    {"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c09", "lines": [1]}]}))]
pub struct SplitInput {
    #[schema(min_items = 2, max_items = 999)]
    pub parts: Vec<SplitPartInput>,
    /// Required when a part's claim is billed to another payer than the remittance's.
    pub override_reason: Option<OverrideReason>,
}

/// The claim payment is not the practice's.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "not_our_patient", "refund": true}))]
pub struct NotOursInput {
    pub reason: NotOursReason,
    /// Whether the payer is owed its payment (CLP04) back: a refund is recorded for it.
    pub refund: bool,
}

/// What a decision did: the item as it now stands, and the posting (for a match or a split).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionOutcome {
    pub item: UnmatchedWorkItem,
    /// The ledger entries, claim statuses and denials the decision posted.
    pub posting: Option<PostingResult>,
}

/// The answer's seal (the caller's audit event), in the decision's transaction.
pub type Seal<'a> = &'a mut dyn FnMut(&mut DbConnection, &mut DecisionOutcome) -> CoreResult<()>;

/// Claims the item (a conflict when decided already) and loads its remittance.
fn claim_item(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    actor: &str,
    kind: DecisionKind,
) -> CoreResult<(OpenItem, Remittance, UnmatchedDecision)> {
    let item = unmatched::get(c, org, id)?;
    let decision = UnmatchedDecision {
        kind,
        decided_by: actor.to_string(),
        decided_at: utc(now()),
        claims: Vec::new(),
        override_reason: None,
        not_ours_reason: None,
        refund: None,
    };
    unmatched::decide(c, org, id, &decision)?;
    let rem = remittances::get(c, org, item.remittance_id)?;
    if rem.claims.get(item.index).is_none() {
        return Err(CoreError::Internal(
            "an unmatched item names no claim payment of its remittance".into(),
        ));
    }
    Ok((item, rem, decision))
}

/// The claim a part names: the organization's (else 422 at `pointer`), billed to the
/// remittance's payer unless an override reason is given.
fn chosen_claim(
    c: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
    payer: Uuid,
    override_reason: Option<OverrideReason>,
    pointer: &str,
) -> CoreResult<(Claim, bool)> {
    let claim = match claims::get(c, org, claim_id) {
        Err(CoreError::NotFound { .. }) => {
            return Err(CoreError::invalid(pointer, "no such claim"));
        }
        other => other?,
    };
    let other_payer = claim.payer_id != Some(payer);
    if other_payer && override_reason.is_none() {
        return Err(CoreError::invalid(
            pointer,
            "the claim is billed to another payer than the remittance's; give override_reason to post the payment to it anyway",
        ));
    }
    Ok((claim, other_payer))
}

fn refusal(pointer: &str, e: &ManualPostingError) -> CoreError {
    match e {
        ManualPostingError::Balance(b) => {
            let CoreError::Invalid(mut errs) = posting_error(b) else {
                return CoreError::Internal("a balancing error is a validation error".into());
            };
            for f in &mut errs {
                f.pointer = pointer.to_string();
            }
            CoreError::Invalid(errs)
        }
        ManualPostingError::Refused(reason) => CoreError::invalid(
            pointer,
            match reason {
                UnmatchedReason::StatusRefused { from, to } => format!(
                    "the claim is {}: the lifecycle does not allow it to become {}",
                    from.as_str(),
                    to.as_str()
                ),
                UnmatchedReason::NothingToReverse => {
                    "the claim has no posting of this payment to reverse".to_string()
                }
                UnmatchedReason::NotPostable { status_code } => format!(
                    "CLP02 {status_code} posts nothing to a claim; decide it not ours instead"
                ),
                other => format!("the claim cannot take this payment ({other:?})"),
            },
        ),
    }
}

/// Posts the parts, records the denials and events a posting records, and completes the
/// decision with what was posted.
#[allow(clippy::too_many_arguments)]
fn post_parts(
    c: &mut DbConnection,
    org: OrgId,
    item: &OpenItem,
    rem: &Remittance,
    parts: Vec<(ClaimPayment, Claim)>,
    lines: Vec<Vec<usize>>,
    pointers: &[String],
    actor: &str,
    mut decision: UnmatchedDecision,
) -> CoreResult<(PostingResult, UnmatchedDecision)> {
    let paid: Vec<rust_decimal::Decimal> =
        parts.iter().map(|(cp, _)| cp.paid.0.as_decimal()).collect();
    let hp = HandPosting {
        item_id: item.id,
        posting_id: item.posting_id,
        remittance: rem,
        index: item.index,
        parts,
        actor,
    };
    let result = match posting::post_by_hand(c, org, &hp)? {
        Ok(r) => r,
        Err((k, e)) => return Err(refusal(&pointers[k], &e)),
    };
    super::denials::record_posted(c, org, &result)?;
    decision.claims = result
        .claims
        .iter()
        .zip(lines)
        .zip(paid)
        .map(|((pc, lines), paid)| DecidedClaim {
            claim_id: pc.claim_id,
            patient_id: pc.patient_id,
            lines,
            paid: crate::store::ledger::cents(paid),
            status_before: pc.status_before,
            status_after: pc.status_after,
            entries: pc.entries,
        })
        .collect();
    unmatched::record_outcome(c, org, item.id, &decision)?;
    Ok((result, decision))
}

/// Matches the item's claim payment to one claim and posts it there, as if it had matched.
pub fn match_claim(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    actor: &str,
    input: &MatchInput,
    seal: Seal<'_>,
) -> CoreResult<DecisionOutcome> {
    store::write_transaction(conn, |c| {
        let (item, rem, mut decision) = claim_item(c, org, id, actor, DecisionKind::Matched)?;
        let (claim, other_payer) = chosen_claim(
            c,
            org,
            input.claim_id,
            item.payer_id,
            input.override_reason,
            "/claim_id",
        )?;
        decision.override_reason = input.override_reason.filter(|_| other_payer);
        let cp = rem.claims[item.index].clone();
        let lines = (0..cp.lines.len()).collect();
        let (posting, _) = post_parts(
            c,
            org,
            &item,
            &rem,
            vec![(cp, claim)],
            vec![lines],
            &["/claim_id".to_string()],
            actor,
            decision,
        )?;
        let mut out = DecisionOutcome {
            item: unmatched::view(c, org, id)?,
            posting: Some(posting),
        };
        seal(c, &mut out)?;
        Ok(out)
    })
}

/// Splits the item's claim payment over two or more claims by service line and posts each
/// part to its claim.
pub fn split(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    actor: &str,
    input: &SplitInput,
    seal: Seal<'_>,
) -> CoreResult<DecisionOutcome> {
    store::write_transaction(conn, |c| {
        let (item, rem, mut decision) = claim_item(c, org, id, actor, DecisionKind::Split)?;
        let cp = &rem.claims[item.index];
        let split_parts: Vec<SplitPart> = input
            .parts
            .iter()
            .map(|p| SplitPart {
                lines: p.lines.clone(),
                claim_adjustments: p.claim_adjustments,
            })
            .collect();
        let payments = split_claim_payment(cp, &split_parts)
            .map_err(|e| CoreError::invalid(e.pointer, e.message))?;
        let mut parts = Vec::with_capacity(payments.len());
        let mut pointers = Vec::with_capacity(payments.len());
        let mut any_other_payer = false;
        for (k, (p, payment)) in input.parts.iter().zip(payments).enumerate() {
            let pointer = format!("/parts/{k}/claim_id");
            if let Some(first) = input.parts[..k]
                .iter()
                .position(|q| q.claim_id == p.claim_id)
            {
                return Err(CoreError::invalid(
                    pointer,
                    format!("part {first} goes to this claim already: give each claim one part"),
                ));
            }
            let (claim, other_payer) = chosen_claim(
                c,
                org,
                p.claim_id,
                item.payer_id,
                input.override_reason,
                &pointer,
            )?;
            any_other_payer |= other_payer;
            parts.push((payment, claim));
            pointers.push(pointer);
        }
        decision.override_reason = input.override_reason.filter(|_| any_other_payer);
        let lines = input.parts.iter().map(|p| p.lines.clone()).collect();
        let (posting, _) = post_parts(
            c, org, &item, &rem, parts, lines, &pointers, actor, decision,
        )?;
        let mut out = DecisionOutcome {
            item: unmatched::view(c, org, id)?,
            posting: Some(posting),
        };
        seal(c, &mut out)?;
        Ok(out)
    })
}

/// Decides the item's claim payment is not the practice's: nothing is posted; with `refund`,
/// the payer is owed its payment back (a refund of CLP04 is recorded).
pub fn not_ours(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    actor: &str,
    input: &NotOursInput,
    seal: Seal<'_>,
) -> CoreResult<DecisionOutcome> {
    store::write_transaction(conn, |c| {
        let (item, _, mut decision) = claim_item(c, org, id, actor, DecisionKind::NotOurs)?;
        decision.not_ours_reason = Some(input.reason);
        if input.refund {
            if item.paid <= rust_decimal::Decimal::ZERO {
                return Err(CoreError::invalid(
                    "/refund",
                    format!(
                        "the payer paid {} (CLP04) on this claim payment: there is nothing to refund",
                        item.paid
                    ),
                ));
            }
            decision.refund = Some(unmatched::insert_refund(
                c,
                org,
                &item,
                input.reason,
                actor,
            )?);
        }
        unmatched::record_outcome(c, org, item.id, &decision)?;
        let mut out = DecisionOutcome {
            item: unmatched::view(c, org, id)?,
            posting: None,
        };
        seal(c, &mut out)?;
        Ok(out)
    })
}

/// The most parts (and lines per part) a split takes; a claim payment has far fewer lines.
const MAX_SPLIT_ITEMS: usize = 999;

impl Rules for MatchInput {
    fn check(&self, _: &mut Errors) {}
}

impl Rules for SplitInput {
    fn check(&self, e: &mut Errors) {
        e.check(
            (2..=MAX_SPLIT_ITEMS).contains(&self.parts.len()),
            "/parts",
            "a split needs at least two parts (at most 999)",
        );
        for (k, p) in self.parts.iter().enumerate() {
            e.check(
                (1..=MAX_SPLIT_ITEMS).contains(&p.lines.len()),
                format!("/parts/{k}/lines"),
                "each part takes at least one service line (at most 999)",
            );
        }
    }
}

impl Rules for NotOursInput {
    fn check(&self, _: &mut Errors) {}
}

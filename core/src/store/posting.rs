//! Posting a stored remittance: load what `billing::posting::plan_posting` needs (the candidate
//! claims with their insurance balance and earlier postings), then apply the plan in the
//! caller's transaction: ledger entries, status transitions, claim posting records, the
//! unmatched work queue and the posting record itself.
//!
//! Idempotency is ours (the planner's module says so): `remittance_postings` is unique per
//! org, payer and trace number (TRN02). A second posting of the same remittance, or of another
//! remittance with the same payer and trace number, writes nothing and returns the first
//! posting's result.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::billing::{planned, record_transition};
use super::ledger::cents;
use super::schema::{
    claim_postings, remittance_postings, remittances, unmatched_remittance_claims,
};
use super::sql_types::DbDecimal;
use super::{DbConnection, claims, from_json, ledger, new_id, parse_id, to_json};
use crate::access::OrgId;
use crate::billing::ledger::{Balances, LedgerEntry};
use crate::billing::posting::{
    CobBasis, ManualPostingError, PostingClaim, PostingError, PostingLine, PostingPlan,
    PriorPosting, RemittanceRef, merge_plans, plan_claim_payment, plan_posting,
};
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimStatus};
use crate::model::common::{now, utc};
use crate::model::remittance::{AdjustmentGroup, ClaimPayment, Remittance};

/// One claim a posting applied a claim payment to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostedClaim {
    /// Position of the claim payment (CLP) in the remittance.
    pub index: usize,
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub status_before: ClaimStatus,
    pub status_after: ClaimStatus,
    /// Number of ledger entries this claim payment made.
    pub entries: usize,
}

/// A claim payment the posting could not apply; it waits in the work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnmatchedItem {
    pub id: Uuid,
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    /// Position of the claim payment (CLP) in the remittance.
    pub index: usize,
    /// CLP01 as the payer sent it.
    pub patient_control_number: String,
    /// CLP07.
    pub payer_claim_number: Option<String>,
    #[schema(value_type = String, example = "96.00")]
    pub paid: Decimal,
    /// Why it was not posted: `{"code": "no_such_claim"}`, `{"code": "status_refused", "from":
    /// "draft", "to": "paid"}`, ...
    #[schema(value_type = Object)]
    pub reason: serde_json::Value,
    /// `open` until a biller resolves it.
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// A denied line's (or claim's) adjustment, reported and not posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeniedAdjustment {
    pub claim_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    /// The line's procedure code, when the denial is on a line.
    pub procedure_code: Option<String>,
    #[schema(value_type = String, example = "CO")]
    pub group: AdjustmentGroup,
    #[schema(example = "29")]
    pub carc: String,
    #[schema(value_type = String, example = "200.00")]
    pub amount: Decimal,
    pub remarks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingTotalsView {
    /// Sum of CLP04, matched or not.
    #[schema(value_type = String, example = "96.00")]
    pub claims_paid: Decimal,
    #[schema(value_type = String, example = "96.00")]
    pub posted_paid: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub unmatched_paid: Decimal,
    /// Sum of PLB amounts (835 sign: positive reduces the payment).
    #[schema(value_type = String, example = "0.00")]
    pub provider_adjustments: Decimal,
    /// BPR02.
    #[schema(value_type = String, example = "96.00")]
    pub remittance_total: Decimal,
}

/// What posting a remittance did. Stored with the posting, so posting again answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingResult {
    pub posting_id: Uuid,
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    pub trace_number: String,
    pub posted_at: DateTime<Utc>,
    /// Ledger entries appended (payments, adjustments, transfers, reversals, PLB).
    pub entries_posted: usize,
    pub claims: Vec<PostedClaim>,
    pub unmatched: Vec<UnmatchedItem>,
    pub denials: Vec<DeniedAdjustment>,
    pub totals: PostingTotalsView,
    /// True when this answer is the stored result of an earlier posting of the same payer and
    /// trace number (nothing was written this time).
    #[serde(default)]
    pub replayed: bool,
    /// Every denial this posting found (outright and partial), for the denial work queue.
    /// Not stored with the result: a replayed posting finds none, so none is created twice.
    #[serde(skip)]
    pub found_denials: Vec<FoundDenial>,
}

/// A denial a posting found: an adjustment of a line (or claim) the payer denied outright, or
/// a denial CARC on a line that was otherwise paid (`partial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDenial {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    pub procedure_code: Option<String>,
    pub group: AdjustmentGroup,
    pub carc: String,
    pub amount: Decimal,
    pub remarks: Vec<String>,
    pub partial: bool,
}

/// Where in the remittance a balancing failure is, as a JSON pointer, with its message.
pub fn posting_error(e: &PostingError) -> CoreError {
    let pointer = match e {
        PostingError::DoesNotBalance { .. } => "/total_paid".to_string(),
        PostingError::ClaimDoesNotBalance { index, .. } => format!("/claims/{index}/total_charge"),
        PostingError::LineDoesNotBalance { index, line, .. } => {
            format!("/claims/{index}/lines/{line}/charge")
        }
    };
    CoreError::invalid(pointer, e.to_string())
}

/// The stored result of the posting with this payer and trace number, if there is one.
pub fn stored_result(
    conn: &mut DbConnection,
    org: OrgId,
    payer_id: Uuid,
    trace_number: &str,
) -> CoreResult<Option<PostingResult>> {
    let row: Option<String> = remittance_postings::table
        .filter(remittance_postings::org_id.eq(org.as_str()))
        .filter(remittance_postings::payer_id.eq(payer_id.to_string()))
        .filter(remittance_postings::trace_number.eq(trace_number))
        .select(remittance_postings::result)
        .get_result(conn)
        .optional()?;
    row.map(|r| {
        let mut res: PostingResult = from_json(&r, "posting result")?;
        res.replayed = true;
        Ok(res)
    })
    .transpose()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = claim_postings)]
struct ClaimPostingRow {
    claim_id: String,
    remittance_id: String,
    status_before: String,
    payer_claim_number: Option<String>,
    reverses_remittance: Option<String>,
    entry_ids: String,
}

/// The planner's view of our claims: status, insurance balance from the ledger, lines, and
/// every earlier posting with the entries it made.
fn posting_claims(
    conn: &mut DbConnection,
    org: OrgId,
    candidates: &[Claim],
) -> CoreResult<Vec<PostingClaim>> {
    let ids: Vec<Uuid> = candidates.iter().map(|c| c.id).collect();
    // A later payer's claim posts onto the claim that carries the charges (its chain's first).
    let mut charge_claims: BTreeMap<Uuid, Claim> = BTreeMap::new();
    let mut charge_of: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    for c in candidates {
        let root = super::adjudications::charge_claim(conn, org, c.id)?;
        if root != c.id {
            charge_of.insert(c.id, root);
            if let std::collections::btree_map::Entry::Vacant(slot) = charge_claims.entry(root) {
                slot.insert(claims::get(conn, org, root)?);
            }
        }
    }
    let mut ledger_ids = ids.clone();
    ledger_ids.extend(charge_claims.keys().copied().filter(|k| !ids.contains(k)));
    let entries = ledger::for_claims(conn, org, &ledger_ids)?;
    let balances = Balances::fold(entries.iter().map(|e| &e.entry));
    let by_id: BTreeMap<Uuid, &LedgerEntry> = entries.iter().map(|e| (e.id, e)).collect();
    let id_strings: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let mut rows: Vec<ClaimPostingRow> = Vec::new();
    for chunk in id_strings.chunks(super::IN_LIST_CHUNK) {
        rows.extend(
            claim_postings::table
                .filter(claim_postings::org_id.eq(org.as_str()))
                .filter(claim_postings::claim_id.eq_any(chunk.to_vec()))
                .order(claim_postings::id.asc())
                .select(ClaimPostingRow::as_select())
                .load::<ClaimPostingRow>(conn)?,
        );
    }
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        let mut postings = Vec::new();
        let mut payer_claim_number = None;
        for r in rows.iter().filter(|r| r.claim_id == c.id.to_string()) {
            let entry_ids: Vec<Uuid> = from_json(&r.entry_ids, "posting entries")?;
            postings.push(PriorPosting {
                remittance_id: parse_id(&r.remittance_id)?,
                status_before: ClaimStatus::parse(&r.status_before).ok_or_else(|| {
                    CoreError::Internal("stored claim status does not parse".into())
                })?,
                reverses_remittance: super::opt_id(r.reverses_remittance.clone())?,
                entries: entry_ids
                    .iter()
                    .filter_map(|id| by_id.get(id).map(|e| (*e).clone()))
                    .collect(),
            });
            if r.payer_claim_number.is_some() {
                payer_claim_number = r.payer_claim_number.clone();
            }
        }
        let own_lines = || -> Vec<PostingLine> {
            c.lines
                .iter()
                .map(|l| PostingLine {
                    line_id: l.id,
                    control_number: l.control_number(),
                    procedure_code: l.line.procedure_code.clone(),
                    modifiers: l.line.modifiers.clone(),
                    charge: l.line.charge,
                })
                .collect()
        };
        let (lines, insurance_balance, cob) = match charge_of
            .get(&c.id)
            .and_then(|root| charge_claims.get(root))
        {
            None => (own_lines(), balances.claim(c.id).insurance, None),
            Some(root) => {
                // The charge claim's lines, each with this claim's line control number (the
                // one this payer was sent and echoes).
                let lines: Vec<PostingLine> = root
                    .lines
                    .iter()
                    .map(|l| PostingLine {
                        line_id: l.id,
                        control_number: c
                            .lines
                            .iter()
                            .find(|o| o.line_number == l.line_number)
                            .map(|o| o.control_number())
                            .unwrap_or_default(),
                        procedure_code: l.line.procedure_code.clone(),
                        modifiers: l.line.modifiers.clone(),
                        charge: l.line.charge,
                    })
                    .collect();
                let on_root = || entries.iter().filter(move |e| e.claim_id == Some(root.id));
                // What this payer still owes: the insurance part of its entries on the charge
                // claim.
                let insurance: Decimal = on_root()
                    .filter(|e| e.payer_id.is_some() && e.payer_id == c.payer_id)
                    .map(|e| e.effect().0)
                    .sum();
                let share = root
                    .lines
                    .iter()
                    .map(|l| {
                        let owed: Decimal = on_root()
                            .filter(|e| e.claim_line_id == Some(l.id))
                            .map(|e| e.effect().1)
                            .sum();
                        (l.id, owed.max(Decimal::ZERO))
                    })
                    .collect();
                (
                    lines,
                    insurance,
                    Some(CobBasis {
                        charge_claim_id: root.id,
                        patient_share: share,
                    }),
                )
            }
        };
        out.push(PostingClaim {
            claim_id: c.id,
            patient_id: c.patient_id,
            payer_id: c.payer_id,
            patient_control_number: c.patient_control_number.clone(),
            payer_claim_number,
            status: c.status,
            insurance_balance,
            lines,
            postings,
            cob,
        });
    }
    Ok(out)
}

/// The payer's claim control number (CLP07) a remittance gave for a claim, if it gave one.
pub fn payer_claim_number(
    conn: &mut DbConnection,
    org: OrgId,
    remittance_id: Uuid,
    claim_id: Uuid,
) -> CoreResult<Option<String>> {
    Ok(claim_postings::table
        .filter(claim_postings::org_id.eq(org.as_str()))
        .filter(claim_postings::remittance_id.eq(remittance_id.to_string()))
        .filter(claim_postings::claim_id.eq(claim_id.to_string()))
        .filter(claim_postings::payer_claim_number.is_not_null())
        .order(claim_postings::id.desc())
        .select(claim_postings::payer_claim_number)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Post a stored remittance in the caller's transaction. A remittance that does not balance
/// is a 422 naming where and by how much, and writes nothing. Posting a payer's trace number
/// a second time returns the first result (`replayed`) and writes nothing.
///
/// Two concurrent first postings race on the unique key: the loser gets a `Conflict` and
/// should read [`stored_result`] in a new transaction.
pub fn post_remittance(
    conn: &mut DbConnection,
    org: OrgId,
    remittance_id: Uuid,
    actor: &str,
) -> CoreResult<PostingResult> {
    let rem = super::remittances::get(conn, org, remittance_id)?;
    if let Some(done) = stored_result(conn, org, rem.payer_id, &rem.trace_number)? {
        return Ok(done);
    }
    // Candidates: by control number (CLP01), and by the payer's claim number (CLP07) that an
    // earlier posting recorded.
    let pcns: Vec<String> = rem
        .claims
        .iter()
        .map(|c| c.patient_control_number.clone())
        .collect();
    let mut candidates = claims::by_control_numbers(conn, org, &pcns)?;
    let clp07: Vec<String> = rem
        .claims
        .iter()
        .filter_map(|c| c.payer_claim_number.as_ref().map(|s| s.trim().to_string()))
        .collect();
    if !clp07.is_empty() {
        let known: BTreeSet<Uuid> = candidates.iter().map(|c| c.id).collect();
        let by7: Vec<String> = claim_postings::table
            .filter(claim_postings::org_id.eq(org.as_str()))
            .filter(claim_postings::payer_claim_number.eq_any(clp07))
            .select(claim_postings::claim_id)
            .distinct()
            .load(conn)?;
        let more: Vec<Uuid> = by7
            .iter()
            .map(|s| parse_id(s))
            .collect::<CoreResult<Vec<_>>>()?
            .into_iter()
            .filter(|id| !known.contains(id))
            .collect();
        candidates.extend(claims::get_many(conn, org, &more)?);
    }
    let posting_claims = posting_claims(conn, org, &candidates)?;
    let plan =
        plan_posting(RemittanceRef::from(&rem), &posting_claims).map_err(|e| posting_error(&e))?;

    let at = now();
    let posting_id = new_id();
    let claim_by_id: BTreeMap<Uuid, &Claim> = candidates.iter().map(|c| (c.id, c)).collect();
    let unmatched: Vec<UnmatchedItem> = plan
        .unmatched
        .iter()
        .map(|u| UnmatchedItem {
            id: new_id(),
            remittance_id,
            payer_id: rem.payer_id,
            index: u.index,
            patient_control_number: u.patient_control_number.clone(),
            payer_claim_number: u.payer_claim_number.clone(),
            paid: cents(u.paid),
            reason: serde_json::to_value(&u.reason).unwrap_or_default(),
            state: "open".into(),
            created_at: utc(at),
        })
        .collect();
    let result = result_of(&plan, &rem, posting_id, at, &claim_by_id, unmatched.clone());

    // The posting row first: its unique key is what makes a concurrent second posting fail
    // before it writes anything else.
    diesel::insert_into(remittance_postings::table)
        .values((
            remittance_postings::id.eq(posting_id.to_string()),
            remittance_postings::org_id.eq(org.as_str()),
            remittance_postings::remittance_id.eq(remittance_id.to_string()),
            remittance_postings::payer_id.eq(rem.payer_id.to_string()),
            remittance_postings::trace_number.eq(rem.trace_number.clone()),
            remittance_postings::posted_at.eq(at),
            remittance_postings::actor.eq(actor),
            remittance_postings::result.eq(to_json(&result)),
        ))
        .execute(conn)
        .map_err(|e| {
            CoreError::from(e)
                .conflict_means("this payer's trace number was posted by a concurrent request")
        })?;

    apply_plan(
        conn,
        org,
        &plan,
        &claim_by_id,
        &Applying {
            posting_id,
            remittance_id,
            at,
            actor: format!("remittance:{remittance_id}"),
            reason_prefix: "",
            unmatched_id: None,
        },
    )?;
    for u in &unmatched {
        diesel::insert_into(unmatched_remittance_claims::table)
            .values((
                unmatched_remittance_claims::id.eq(u.id.to_string()),
                unmatched_remittance_claims::org_id.eq(org.as_str()),
                unmatched_remittance_claims::posting_id.eq(posting_id.to_string()),
                unmatched_remittance_claims::remittance_id.eq(remittance_id.to_string()),
                unmatched_remittance_claims::payer_id.eq(rem.payer_id.to_string()),
                unmatched_remittance_claims::clp_index
                    .eq(i32::try_from(u.index).unwrap_or(i32::MAX)),
                unmatched_remittance_claims::patient_control_number
                    .eq(u.patient_control_number.clone()),
                unmatched_remittance_claims::payer_claim_number.eq(u.payer_claim_number.clone()),
                unmatched_remittance_claims::paid.eq(DbDecimal(u.paid)),
                unmatched_remittance_claims::reason.eq(u.reason.to_string()),
                unmatched_remittance_claims::state.eq(u.state.clone()),
                unmatched_remittance_claims::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    diesel::update(
        remittances::table
            .filter(remittances::org_id.eq(org.as_str()))
            .filter(remittances::id.eq(remittance_id.to_string())),
    )
    .set((
        remittances::status.eq("posted"),
        remittances::version.eq(remittances::version + 1),
        remittances::updated_at.eq(at),
    ))
    .execute(conn)?;
    // The file the remittance came in names the claims it touched, whichever call posted it.
    if let Some(exchange) = rem.exchange_id {
        let touched: Vec<Uuid> = result.claims.iter().map(|c| c.claim_id).collect();
        super::x12_exchanges::link_claims(conn, org, exchange, &touched)?;
    }
    Ok(result)
}

/// The answer to a posting (or to a claim payment posted by hand), from its plan.
fn result_of(
    plan: &PostingPlan,
    rem: &Remittance,
    posting_id: Uuid,
    at: chrono::NaiveDateTime,
    claim_by_id: &BTreeMap<Uuid, &Claim>,
    unmatched: Vec<UnmatchedItem>,
) -> PostingResult {
    let procedure_of = |claim: Uuid, line: Option<Uuid>| -> Option<String> {
        let l = line?;
        claim_by_id.get(&claim).and_then(|c| {
            c.lines
                .iter()
                .find(|x| x.id == l)
                .map(|x| x.line.procedure_code.as_str().to_string())
        })
    };
    let patient_of = |claim: Uuid| {
        claim_by_id
            .get(&claim)
            .map(|c| c.patient_id)
            .unwrap_or_default()
    };
    PostingResult {
        posting_id,
        remittance_id: rem.id,
        payer_id: rem.payer_id,
        trace_number: rem.trace_number.clone(),
        posted_at: utc(at),
        entries_posted: plan.entries.len(),
        claims: plan
            .claim_postings
            .iter()
            .map(|cp| PostedClaim {
                index: cp.index,
                claim_id: cp.claim_id,
                patient_id: patient_of(cp.claim_id),
                status_before: cp.status_before,
                status_after: cp.status_after,
                entries: cp.entries.len(),
            })
            .collect(),
        unmatched,
        denials: plan
            .denials
            .iter()
            .filter(|d| !d.posted)
            .map(|d| DeniedAdjustment {
                claim_id: d.claim_id,
                claim_line_id: d.claim_line_id,
                procedure_code: procedure_of(d.claim_id, d.claim_line_id),
                group: d.group,
                carc: d.carc.clone(),
                amount: cents(d.amount),
                remarks: d.remarks.clone(),
            })
            .collect(),
        totals: PostingTotalsView {
            claims_paid: cents(plan.totals.claims_paid),
            posted_paid: cents(plan.totals.posted_paid),
            unmatched_paid: cents(plan.totals.unmatched_paid),
            provider_adjustments: cents(plan.totals.provider_adjustments),
            remittance_total: cents(plan.totals.remittance_total),
        },
        replayed: false,
        found_denials: plan
            .denials
            .iter()
            .map(|d| FoundDenial {
                claim_id: d.claim_id,
                patient_id: patient_of(d.claim_id),
                claim_line_id: d.claim_line_id,
                procedure_code: procedure_of(d.claim_id, d.claim_line_id),
                group: d.group,
                carc: d.carc.clone(),
                amount: cents(d.amount),
                remarks: d.remarks.clone(),
                partial: d.posted,
            })
            .collect(),
    }
}

/// Who and what a plan is applied for.
struct Applying<'a> {
    posting_id: Uuid,
    remittance_id: Uuid,
    at: chrono::NaiveDateTime,
    /// The transitions' actor.
    actor: String,
    /// Put before the planner's reason in each transition.
    reason_prefix: &'a str,
    /// The work item a claim payment posted by hand came from.
    unmatched_id: Option<Uuid>,
}

/// Appends the plan's entries, records each claim posting (for a later reversal) and each
/// status change (a transition, with its event), in the caller's transaction.
fn apply_plan(
    conn: &mut DbConnection,
    org: OrgId,
    plan: &PostingPlan,
    claim_by_id: &BTreeMap<Uuid, &Claim>,
    how: &Applying<'_>,
) -> CoreResult<()> {
    let at = how.at;
    let stored = ledger::append(conn, org, &plan.entries, at)?;
    for cp in &plan.claim_postings {
        let ids: Vec<Uuid> = stored[cp.entries.clone()].iter().map(|e| e.id).collect();
        diesel::insert_into(claim_postings::table)
            .values((
                claim_postings::id.eq(new_id().to_string()),
                claim_postings::org_id.eq(org.as_str()),
                claim_postings::posting_id.eq(how.posting_id.to_string()),
                claim_postings::remittance_id.eq(how.remittance_id.to_string()),
                claim_postings::claim_id.eq(cp.claim_id.to_string()),
                claim_postings::clp_index.eq(i32::try_from(cp.index).unwrap_or(i32::MAX)),
                claim_postings::status_before.eq(cp.status_before.as_str()),
                claim_postings::status_after.eq(cp.status_after.as_str()),
                claim_postings::payer_claim_number.eq(cp.payer_claim_number.clone()),
                claim_postings::reverses_remittance
                    .eq(cp.reverses_remittance.map(|r| r.to_string())),
                claim_postings::entry_ids.eq(to_json(&ids)),
                claim_postings::posted_at.eq(at),
                claim_postings::unmatched_id.eq(how.unmatched_id.map(|u| u.to_string())),
            ))
            .execute(conn)?;
    }
    for change in &plan.claim_status_changes {
        let claim = claim_by_id
            .get(&change.claim_id)
            .ok_or_else(|| CoreError::Internal("planned change for an unknown claim".into()))?;
        let reason = format!("{}{}", how.reason_prefix, change.reason);
        let t = planned(change.from, change.to, &how.actor, &reason)?;
        record_transition(conn, org, claim, &t, Some(how.remittance_id))?;
    }
    Ok(())
}

/// A claim payment posted by hand: the parts (the whole claim payment, or each part of a
/// split) with the claim chosen for each.
pub struct HandPosting<'a> {
    /// The work item (open, claimed by the caller's decision in this transaction).
    pub item_id: Uuid,
    /// The posting that sent the claim payment to the queue.
    pub posting_id: Uuid,
    pub remittance: &'a Remittance,
    /// Position of the claim payment (CLP) in the remittance.
    pub index: usize,
    pub parts: Vec<(ClaimPayment, Claim)>,
    /// Who decided (the transitions' actor).
    pub actor: &'a str,
}

/// Why a part could not be posted to its claim: the part's position and the planner's reason.
pub type HandPostingRefusal = (usize, ManualPostingError);

/// Posts each part of a claim payment to its claim in the caller's transaction, exactly as a
/// matched claim payment posts (entries, claim posting records, transitions). A refusal of any
/// part writes nothing (the caller's transaction rolls back on the error it makes of it).
pub fn post_by_hand(
    conn: &mut DbConnection,
    org: OrgId,
    hp: &HandPosting<'_>,
) -> CoreResult<Result<PostingResult, HandPostingRefusal>> {
    let claims: Vec<Claim> = hp.parts.iter().map(|(_, c)| c.clone()).collect();
    let posting_claims = posting_claims(conn, org, &claims)?;
    let mut plans = Vec::with_capacity(hp.parts.len());
    for (k, ((cp, _), pc)) in hp.parts.iter().zip(&posting_claims).enumerate() {
        match plan_claim_payment(RemittanceRef::from(hp.remittance), hp.index, cp, pc) {
            Ok(plan) => plans.push(plan),
            Err(e) => return Ok(Err((k, e))),
        }
    }
    let plan = merge_plans(plans);
    let at = now();
    let claim_by_id: BTreeMap<Uuid, &Claim> = claims.iter().map(|c| (c.id, c)).collect();
    let result = result_of(
        &plan,
        hp.remittance,
        hp.posting_id,
        at,
        &claim_by_id,
        Vec::new(),
    );
    apply_plan(
        conn,
        org,
        &plan,
        &claim_by_id,
        &Applying {
            posting_id: hp.posting_id,
            remittance_id: hp.remittance.id,
            at,
            actor: hp.actor.to_string(),
            reason_prefix: "matched by hand from the unmatched remittance queue: ",
            unmatched_id: Some(hp.item_id),
        },
    )?;
    if let Some(exchange) = hp.remittance.exchange_id {
        let touched: Vec<Uuid> = result.claims.iter().map(|c| c.claim_id).collect();
        super::x12_exchanges::link_claims(conn, org, exchange, &touched)?;
    }
    Ok(Ok(result))
}

/// Every stored posting result of the organization posted in `[from, to]` (reports).
pub fn results_between(
    conn: &mut DbConnection,
    org: OrgId,
    from: Option<chrono::NaiveDateTime>,
    to: Option<chrono::NaiveDateTime>,
) -> CoreResult<Vec<PostingResult>> {
    let mut q = remittance_postings::table
        .filter(remittance_postings::org_id.eq(org.as_str()))
        .into_boxed();
    if let Some(f) = from {
        q = q.filter(remittance_postings::posted_at.ge(f));
    }
    if let Some(t) = to {
        q = q.filter(remittance_postings::posted_at.le(t));
    }
    q.order(remittance_postings::id.asc())
        .select(remittance_postings::result)
        .load::<String>(conn)?
        .iter()
        .map(|r| from_json(r, "posting result"))
        .collect()
}

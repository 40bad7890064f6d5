//! The unmatched-remittance work queue as billers work it: each claim payment posting could
//! not apply, with what deciding it needs (the claim payment as the payer sent it, why it did
//! not match, the claims it may belong to), the decision taken on it, and the refunds owed to
//! payers for claim payments decided not ours. Repositories only: the decisions themselves are
//! made in `workflows::unmatched`.
//!
//! Nothing here names a patient: the 835's patient and subscriber names and member ids
//! (NM1*QC, NM1*IL) are not kept with a remittance, and candidate claims are named by ids,
//! control numbers, dates, charges and statuses.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::cents;
use super::pagination::finish_page;
use super::schema::{claim_postings, claims, payer_refunds, unmatched_remittance_claims as q};
use super::sql_types::DbDecimal;
use super::{DbConnection, ListParams, from_json, new_id, parse_id, to_json};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::claim::ClaimStatus;
use crate::model::common::{now, utc};
use crate::model::remittance::{Adjustment, Remittance, ServicePayment};

/// Why a biller posts a claim payment to a claim billed to another payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverrideReason {
    /// A crossover: the payer billed forwarded the claim and the next payer paid it.
    Crossover,
    /// The payer merged, was renamed or pays under another payer id now.
    PayerIdentityChanged,
    /// A vendor pays on the billed plan's behalf (behavioral health, lab, imaging carve-outs).
    CarveOutVendor,
    /// The claim was billed to the wrong payer; the coverage has since been corrected.
    CoverageCorrected,
}

/// Why a claim payment is not the practice's to post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotOursReason {
    /// No patient of the practice: the payer sent another provider's payment.
    NotOurPatient,
    /// Our patient, but another provider's (or practice's) service.
    OtherProvider,
    /// The payer paid this claim already (the same payment twice).
    DuplicatePayment,
    /// The claim it pays was voided.
    ClaimVoided,
    /// Paid in error for another reason (the patient was not covered, ...).
    PaidInError,
}

/// How an item left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Posted to one claim.
    Matched,
    /// Its service lines posted to several claims.
    Split,
    /// Not the practice's: nothing posted.
    NotOurs,
}

/// A claim a decision posted (part of) the claim payment to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecidedClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    /// The service lines (positions in `lines`) posted to it; all of them for a match.
    pub lines: Vec<usize>,
    /// What of the claim payment (CLP04) it took.
    #[schema(value_type = String, example = "96.00")]
    pub paid: Decimal,
    pub status_before: ClaimStatus,
    pub status_after: ClaimStatus,
    /// Ledger entries posted to it.
    pub entries: usize,
}

/// What was decided about an item, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"kind": "matched", "decided_by": "biller-7",
    "decided_at": "2026-11-21T09:30:00Z",
    "claims": [{"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c01",
        "patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c02", "lines": [0, 1], "paid": "96.00",
        "status_before": "submitted", "status_after": "paid", "entries": 6}],
    "override_reason": null, "not_ours_reason": null, "refund": null}))]
pub struct UnmatchedDecision {
    pub kind: DecisionKind,
    /// The subject of the caller who decided.
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    /// The claims posted to (none when not ours).
    pub claims: Vec<DecidedClaim>,
    /// Given when a claim billed to another payer took the payment.
    pub override_reason: Option<OverrideReason>,
    pub not_ours_reason: Option<NotOursReason>,
    /// The refund owed to the payer, when one is.
    pub refund: Option<PayerRefund>,
}

/// Money owed back to a payer: a claim payment decided not ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0d01",
    "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02",
    "remittance_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0b01",
    "unmatched_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0e01", "index": 1,
    "patient_control_number": "C01JD4Q8W3M5XK2P9RTX", "payer_claim_number": "2026111500042",
    "amount": "100.00", "reason": "not_our_patient", "status": "owed",
    "created_by": "biller-7", "created_at": "2026-11-21T09:30:00Z"}))]
pub struct PayerRefund {
    pub id: Uuid,
    pub payer_id: Uuid,
    pub remittance_id: Uuid,
    /// The work item decided not ours.
    pub unmatched_id: Uuid,
    /// Position of the claim payment (CLP) in the remittance.
    pub index: usize,
    /// CLP01 and CLP07 as the payer sent them (the payer's refund request names them).
    pub patient_control_number: String,
    pub payer_claim_number: Option<String>,
    /// CLP04: what the payer paid and is owed back.
    #[schema(value_type = String, example = "100.00")]
    pub amount: Decimal,
    pub reason: NotOursReason,
    /// `owed`.
    #[schema(example = "owed")]
    pub status: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A claim the claim payment may belong to, and why it is offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CandidateClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub patient_control_number: String,
    pub payer_id: Option<Uuid>,
    pub status: ClaimStatus,
    pub service_date_from: NaiveDate,
    pub service_date_to: NaiveDate,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Decimal,
    /// `control_number` (CLP01 names it), `payer_claim_number` (an earlier posting gave it
    /// this CLP07), or `same_payer_and_charge` (billed to this payer for this charge, and
    /// waiting for payment).
    #[schema(example = "same_payer_and_charge")]
    pub why: String,
}

/// One claim payment of the queue with what deciding it needs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0e01",
    "remittance_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0b01",
    "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "trace_number": "EFT-20261120-0001",
    "payment_date": "2026-11-20", "index": 0, "patient_control_number": "C01JD4Q8W3M5XK2P9RTX",
    "payer_claim_number": "2026112000981", "status_code": "1", "total_charge": "200.00",
    "paid": "96.00", "patient_responsibility": "24.00", "adjustments": [],
    "lines": [{"procedure_code": "99214", "modifiers": ["25"], "charge": "200.00",
        "paid": "96.00", "units": "1", "service_date": "2026-11-02",
        "adjustments": [{"group": "CO", "reason": "45", "amount": "80.00", "quantity": null},
            {"group": "PR", "reason": "2", "amount": "24.00", "quantity": null}],
        "remarks": []}],
    "reason": {"code": "no_such_claim"},
    "candidates": [{"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c01",
        "patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c02",
        "patient_control_number": "C01JD4Q8W3M5XK2P9RTA",
        "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "status": "submitted",
        "service_date_from": "2026-11-02", "service_date_to": "2026-11-02",
        "total_charge": "200.00", "why": "same_payer_and_charge"}],
    "state": "open", "decision": null, "created_at": "2026-11-20T12:00:00Z"}))]
pub struct UnmatchedWorkItem {
    pub id: Uuid,
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    /// TRN02 of the remittance.
    pub trace_number: String,
    pub payment_date: NaiveDate,
    /// Position of the claim payment (CLP) in the remittance.
    pub index: usize,
    /// CLP01 as the payer sent it.
    pub patient_control_number: String,
    /// CLP07.
    pub payer_claim_number: Option<String>,
    /// CLP02.
    #[schema(example = "1")]
    pub status_code: String,
    /// CLP03.
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Decimal,
    /// CLP04.
    #[schema(value_type = String, example = "96.00")]
    pub paid: Decimal,
    /// CLP05.
    #[schema(value_type = Option<String>, example = "24.00")]
    pub patient_responsibility: Option<Decimal>,
    /// Claim-level CAS.
    pub adjustments: Vec<Adjustment>,
    /// The service lines (SVC) in order: a split names them by position.
    pub lines: Vec<ServicePayment>,
    /// Why it was not posted: `{"code": "no_such_claim"}`, `{"code": "other_payer"}`,
    /// `{"code": "status_refused", "from": "draft", "to": "paid"}`, ...
    #[schema(value_type = Object)]
    pub reason: serde_json::Value,
    /// Claims it may belong to (open items only; at most 10).
    pub candidates: Vec<CandidateClaim>,
    /// `open` until decided, then `resolved`.
    #[schema(example = "open")]
    pub state: String,
    pub decision: Option<UnmatchedDecision>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = q)]
struct Row {
    id: String,
    posting_id: String,
    remittance_id: String,
    payer_id: String,
    clp_index: i32,
    patient_control_number: String,
    payer_claim_number: Option<String>,
    paid: DbDecimal,
    reason: String,
    state: String,
    created_at: chrono::NaiveDateTime,
    decision: Option<String>,
}

/// An item as a decision needs it.
#[derive(Debug, Clone)]
pub struct OpenItem {
    pub id: Uuid,
    /// The posting that queued it.
    pub posting_id: Uuid,
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    pub index: usize,
    pub patient_control_number: String,
    pub payer_claim_number: Option<String>,
    pub paid: Decimal,
    pub open: bool,
}

impl Row {
    fn item(&self) -> CoreResult<OpenItem> {
        Ok(OpenItem {
            id: parse_id(&self.id)?,
            posting_id: parse_id(&self.posting_id)?,
            remittance_id: parse_id(&self.remittance_id)?,
            payer_id: parse_id(&self.payer_id)?,
            index: usize::try_from(self.clp_index).unwrap_or_default(),
            patient_control_number: self.patient_control_number.clone(),
            payer_claim_number: self.payer_claim_number.clone(),
            paid: cents(self.paid.0),
            open: self.state == "open",
        })
    }
}

const NOT_FOUND: CoreError = CoreError::NotFound {
    resource: "unmatched remittance",
};

fn row(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Row> {
    q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::id.eq(id.to_string()))
        .select(Row::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(NOT_FOUND)
}

/// One item of the organization (open or not).
pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<OpenItem> {
    row(conn, org, id)?.item()
}

/// One item as the queue shows it.
pub fn view(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<UnmatchedWorkItem> {
    let r = row(conn, org, id)?;
    let rem = super::remittances::get(conn, org, parse_id(&r.remittance_id)?)?;
    work_item(conn, org, r, &rem)
}

/// The items in `state` (`open` or `resolved`), oldest first.
pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    resolved: bool,
    page: &ListParams,
) -> CoreResult<Page<UnmatchedWorkItem>> {
    let limit = page.limit()?;
    let rows: Vec<Row> = q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::state.eq(if resolved { "resolved" } else { "open" }))
        .filter(q::id.gt(page.after()?))
        .order(q::id.asc())
        .limit(limit + 1)
        .select(Row::as_select())
        .load(conn)?;
    let mut remittances: BTreeMap<String, Remittance> = BTreeMap::new();
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        if !remittances.contains_key(&r.remittance_id) {
            let rem = super::remittances::get(conn, org, parse_id(&r.remittance_id)?)?;
            remittances.insert(r.remittance_id.clone(), rem);
        }
        let rem = &remittances[&r.remittance_id];
        items.push(work_item(conn, org, r, rem)?);
    }
    Ok(finish_page(items, limit, |x| x.id))
}

fn work_item(
    conn: &mut DbConnection,
    org: OrgId,
    r: Row,
    rem: &Remittance,
) -> CoreResult<UnmatchedWorkItem> {
    let item = r.item()?;
    let cp = rem.claims.get(item.index).ok_or_else(|| {
        CoreError::Internal("an unmatched item names no claim payment of its remittance".into())
    })?;
    let decision = r
        .decision
        .as_deref()
        .map(|d| from_json::<UnmatchedDecision>(d, "unmatched decision"))
        .transpose()?;
    let candidates = if item.open {
        candidates(conn, org, rem, item.index)?
    } else {
        Vec::new()
    };
    Ok(UnmatchedWorkItem {
        id: item.id,
        remittance_id: item.remittance_id,
        payer_id: item.payer_id,
        trace_number: rem.trace_number.clone(),
        payment_date: rem.payment_date,
        index: item.index,
        patient_control_number: r.patient_control_number,
        payer_claim_number: r.payer_claim_number,
        status_code: cp.status_code.clone(),
        total_charge: cents(cp.total_charge.0.as_decimal()),
        paid: item.paid,
        patient_responsibility: cp.patient_responsibility.map(|p| cents(p.0.as_decimal())),
        adjustments: cp.adjustments.clone(),
        lines: cp.lines.clone(),
        reason: from_json(&r.reason, "unmatched reason")?,
        candidates,
        state: r.state,
        decision,
        created_at: utc(r.created_at),
    })
}

/// At most this many candidates are offered.
const MAX_CANDIDATES: usize = 10;
/// Claims waiting for (more of) a payer's money.
const AWAITING: [ClaimStatus; 4] = [
    ClaimStatus::Submitted,
    ClaimStatus::Accepted,
    ClaimStatus::PartiallyPaid,
    ClaimStatus::Denied,
];

#[derive(Queryable, Selectable)]
#[diesel(table_name = claims)]
struct CandidateRow {
    id: String,
    patient_id: String,
    patient_control_number: String,
    payer_id: Option<String>,
    status: String,
    service_date_from: NaiveDate,
    service_date_to: NaiveDate,
    total_charge: DbDecimal,
}

impl CandidateRow {
    fn into_candidate(self, why: &str) -> CoreResult<CandidateClaim> {
        Ok(CandidateClaim {
            claim_id: parse_id(&self.id)?,
            patient_id: parse_id(&self.patient_id)?,
            patient_control_number: self.patient_control_number,
            payer_id: super::opt_id(self.payer_id)?,
            status: ClaimStatus::parse(&self.status)
                .ok_or_else(|| CoreError::Internal("stored claim status does not parse".into()))?,
            service_date_from: self.service_date_from,
            service_date_to: self.service_date_to,
            total_charge: cents(self.total_charge.0),
            why: why.to_string(),
        })
    }
}

/// The claims a claim payment may belong to: those its CLP01 names (whichever payer), those an
/// earlier posting gave its CLP07, then claims billed to its payer for the same charge (CLP03)
/// that wait for payment, with service dates covering the lines' (when the lines give them).
fn candidates(
    conn: &mut DbConnection,
    org: OrgId,
    rem: &Remittance,
    index: usize,
) -> CoreResult<Vec<CandidateClaim>> {
    let cp = &rem.claims[index];
    let mut out: Vec<CandidateClaim> = Vec::new();
    let pcn = cp.patient_control_number.trim().to_ascii_uppercase();
    let by_pcn: Vec<CandidateRow> = claims::table
        .filter(claims::org_id.eq(org.as_str()))
        .filter(claims::patient_control_number.eq(pcn))
        .order(claims::id.asc())
        .limit(MAX_CANDIDATES as i64)
        .select(CandidateRow::as_select())
        .load(conn)?;
    for c in by_pcn {
        out.push(c.into_candidate("control_number")?);
    }
    if let Some(clp07) = cp.payer_claim_number.as_deref().map(str::trim) {
        let ids: Vec<String> = claim_postings::table
            .filter(claim_postings::org_id.eq(org.as_str()))
            .filter(claim_postings::payer_claim_number.eq(clp07))
            .select(claim_postings::claim_id)
            .distinct()
            .load(conn)?;
        let rows: Vec<CandidateRow> = claims::table
            .filter(claims::org_id.eq(org.as_str()))
            .filter(claims::id.eq_any(ids))
            .order(claims::id.asc())
            .limit(MAX_CANDIDATES as i64)
            .select(CandidateRow::as_select())
            .load(conn)?;
        for c in rows {
            if !out.iter().any(|o| o.claim_id.to_string() == c.id) {
                out.push(c.into_candidate("payer_claim_number")?);
            }
        }
    }
    let charge = cp.total_charge.0.as_decimal();
    let dates: Vec<NaiveDate> = cp.lines.iter().filter_map(|l| l.service_date).collect();
    let statuses: Vec<&str> = AWAITING.iter().map(ClaimStatus::as_str).collect();
    let mut query = claims::table
        .filter(claims::org_id.eq(org.as_str()))
        .filter(claims::payer_id.eq(rem.payer_id.to_string()))
        .filter(claims::status.eq_any(statuses))
        .into_boxed();
    if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
        query = query
            .filter(claims::service_date_from.le(*first))
            .filter(claims::service_date_to.ge(*last));
    }
    // The newest claims first: a payment answers a recent claim far more often.
    let same_payer: Vec<CandidateRow> = query
        .order(claims::id.desc())
        .limit(500)
        .select(CandidateRow::as_select())
        .load(conn)?;
    for c in same_payer {
        if out.len() >= MAX_CANDIDATES {
            break;
        }
        let covers = dates
            .iter()
            .all(|d| *d >= c.service_date_from && *d <= c.service_date_to);
        if c.total_charge.0 == charge
            && covers
            && !out.iter().any(|o| o.claim_id.to_string() == c.id)
        {
            out.push(c.into_candidate("same_payer_and_charge")?);
        }
    }
    out.truncate(MAX_CANDIDATES);
    Ok(out)
}

/// Records the decision on an open item, making it `resolved`. A conflict when the item was
/// decided already (by an earlier or a concurrent request): nothing else of the decision
/// may be written then, so callers decide first.
pub fn decide(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    decision: &UnmatchedDecision,
) -> CoreResult<()> {
    let n = diesel::update(
        q::table
            .filter(q::org_id.eq(org.as_str()))
            .filter(q::id.eq(id.to_string()))
            .filter(q::state.eq("open")),
    )
    .set((
        q::state.eq("resolved"),
        q::decision.eq(Some(to_json(decision))),
        q::decided_by.eq(Some(decision.decided_by.clone())),
        q::decided_at.eq(Some(decision.decided_at.naive_utc())),
    ))
    .execute(conn)?;
    if n == 0 {
        // Absent (another organization's) is told apart from decided.
        row(conn, org, id)?;
        return Err(CoreError::Conflict(
            "the unmatched remittance was already decided".into(),
        ));
    }
    Ok(())
}

/// Stores the decision's final form (with what the posting did) on an item decided in this
/// transaction.
pub fn record_outcome(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    decision: &UnmatchedDecision,
) -> CoreResult<()> {
    diesel::update(
        q::table
            .filter(q::org_id.eq(org.as_str()))
            .filter(q::id.eq(id.to_string())),
    )
    .set(q::decision.eq(Some(to_json(decision))))
    .execute(conn)?;
    Ok(())
}

/// A refund owed to the item's payer of the item's claim payment.
pub fn insert_refund(
    conn: &mut DbConnection,
    org: OrgId,
    item: &OpenItem,
    reason: NotOursReason,
    actor: &str,
) -> CoreResult<PayerRefund> {
    let id = new_id();
    let at = now();
    let refund = PayerRefund {
        id,
        payer_id: item.payer_id,
        remittance_id: item.remittance_id,
        unmatched_id: item.id,
        index: item.index,
        patient_control_number: item.patient_control_number.clone(),
        payer_claim_number: item.payer_claim_number.clone(),
        amount: item.paid,
        reason,
        status: "owed".into(),
        created_by: actor.to_string(),
        created_at: utc(at),
    };
    diesel::insert_into(payer_refunds::table)
        .values((
            payer_refunds::id.eq(id.to_string()),
            payer_refunds::org_id.eq(org.as_str()),
            payer_refunds::payer_id.eq(item.payer_id.to_string()),
            payer_refunds::remittance_id.eq(item.remittance_id.to_string()),
            payer_refunds::unmatched_id.eq(item.id.to_string()),
            payer_refunds::clp_index.eq(i32::try_from(item.index).unwrap_or(i32::MAX)),
            payer_refunds::amount.eq(DbDecimal(item.paid)),
            payer_refunds::reason.eq(to_json(&reason)),
            payer_refunds::status.eq("owed"),
            payer_refunds::created_by.eq(actor),
            payer_refunds::created_at.eq(at),
        ))
        .execute(conn)
        .map_err(|e| CoreError::from(e).conflict_means("a refund is owed for this item already"))?;
    Ok(refund)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payer_refunds)]
struct RefundRow {
    id: String,
    payer_id: String,
    remittance_id: String,
    unmatched_id: String,
    clp_index: i32,
    amount: DbDecimal,
    reason: String,
    status: String,
    created_by: String,
    created_at: chrono::NaiveDateTime,
}

/// The refunds owed to payers (to one payer, when given), oldest first.
pub fn refunds(
    conn: &mut DbConnection,
    org: OrgId,
    payer: Option<Uuid>,
    page: &ListParams,
) -> CoreResult<Page<PayerRefund>> {
    let limit = page.limit()?;
    let mut query = payer_refunds::table
        .filter(payer_refunds::org_id.eq(org.as_str()))
        .filter(payer_refunds::status.eq("owed"))
        .filter(payer_refunds::id.gt(page.after()?))
        .into_boxed();
    if let Some(p) = payer {
        query = query.filter(payer_refunds::payer_id.eq(p.to_string()));
    }
    let rows: Vec<RefundRow> = query
        .order(payer_refunds::id.asc())
        .limit(limit + 1)
        .select(RefundRow::as_select())
        .load(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let item = get(conn, org, parse_id(&r.unmatched_id)?)?;
        items.push(PayerRefund {
            id: parse_id(&r.id)?,
            payer_id: parse_id(&r.payer_id)?,
            remittance_id: parse_id(&r.remittance_id)?,
            unmatched_id: item.id,
            index: usize::try_from(r.clp_index).unwrap_or_default(),
            patient_control_number: item.patient_control_number,
            payer_claim_number: item.payer_claim_number,
            amount: cents(r.amount.0),
            reason: from_json(&r.reason, "refund reason")?,
            status: r.status,
            created_by: r.created_by,
            created_at: utc(r.created_at),
        });
    }
    Ok(finish_page(items, limit, |x| x.id))
}

/// The decisions that posted (part of) a claim payment to this claim: its history.
pub fn decisions_of_claim(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<Vec<ClaimMatch>> {
    let items: Vec<String> = claim_postings::table
        .filter(claim_postings::org_id.eq(org.as_str()))
        .filter(claim_postings::claim_id.eq(claim_id.to_string()))
        .filter(claim_postings::unmatched_id.is_not_null())
        .order(claim_postings::id.asc())
        .select(claim_postings::unmatched_id.assume_not_null())
        .load(conn)?;
    let mut out = Vec::with_capacity(items.len());
    for id in items {
        let r = row(conn, org, parse_id(&id)?)?;
        let Some(d) = r.decision.as_deref() else {
            continue;
        };
        let d: UnmatchedDecision = from_json(d, "unmatched decision")?;
        let Some(mine) = d.claims.iter().find(|c| c.claim_id == claim_id) else {
            continue;
        };
        out.push(ClaimMatch {
            unmatched_id: parse_id(&r.id)?,
            remittance_id: parse_id(&r.remittance_id)?,
            index: usize::try_from(r.clp_index).unwrap_or_default(),
            kind: d.kind,
            lines: mine.lines.clone(),
            paid: mine.paid,
            override_reason: d.override_reason,
            decided_by: d.decided_by.clone(),
            decided_at: d.decided_at,
        });
    }
    Ok(out)
}

/// A claim payment posted to a claim by hand, as the claim's history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClaimMatch {
    /// The work item decided.
    pub unmatched_id: Uuid,
    pub remittance_id: Uuid,
    /// Position of the claim payment (CLP) in the remittance.
    pub index: usize,
    /// `matched` or `split`.
    pub kind: DecisionKind,
    /// The service lines posted to this claim.
    pub lines: Vec<usize>,
    #[schema(value_type = String, example = "96.00")]
    pub paid: Decimal,
    pub override_reason: Option<OverrideReason>,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

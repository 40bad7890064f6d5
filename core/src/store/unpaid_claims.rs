//! The unpaid claims queue: submitted claims the payer has not answered (no payment, denial
//! or rejection) after the payer's follow-up days, each with the claim-status requests (276)
//! already sent for it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::max;
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::pagination::finish_page;
use super::schema::{claim_transitions, claims, payers, x12_exchanges};
use super::sql_types::DbDecimal;
use super::{DbConnection, ListParams, parse_id};
use crate::access::OrgId;
use crate::error::CoreResult;
use crate::model::Page;
use crate::model::common::utc;

/// Statuses of a claim the payer has received but not decided: `accepted` is the
/// clearinghouse's or payer's acknowledgment (999, 277CA), not an answer.
const AWAITING: [&str; 2] = ["submitted", "accepted"];

/// One claim waiting for its payer's answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UnpaidClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub patient_control_number: String,
    pub payer_id: Uuid,
    pub payer_name: String,
    /// `submitted` or `accepted` (acknowledged, not yet decided).
    pub status: String,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Decimal,
    pub service_date_from: NaiveDate,
    /// When the claim was last submitted.
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    /// Whole days from the submission to the queue's `as_of` date.
    pub days_outstanding: i64,
    /// The payer's follow-up days the claim has passed.
    pub follow_up_days: i32,
    /// Claim-status requests (276) already sent for the claim.
    pub status_requests: i64,
    /// When the latest of them was sent.
    pub last_status_request_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Where to ask the payer for the claim's status now (276/277): POST with the claim's read
    /// permission.
    #[schema(example = "/v1/claims/0190a1b2-0000-7000-8000-000000000001/status")]
    pub status_request: String,
}

/// Which claims the queue returns.
#[derive(Debug, Clone)]
pub struct UnpaidFilter {
    /// The day the queue is seen from (today unless asked): a claim is due when it was
    /// submitted at least its payer's follow-up days before it.
    pub as_of: NaiveDate,
    pub payer_id: Option<Uuid>,
}

#[derive(Queryable)]
struct Row {
    id: String,
    patient_id: String,
    patient_control_number: String,
    payer_id: Option<String>,
    status: String,
    total_charge: DbDecimal,
    service_date_from: NaiveDate,
    submitted_at: Option<NaiveDateTime>,
}

/// A page of the org's unpaid claims due for follow-up, in the order the claims were created.
pub fn queue(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &UnpaidFilter,
    page: &ListParams,
) -> CoreResult<Page<UnpaidClaim>> {
    let limit = page.limit()?;
    let after = page.after()?;
    // Each payer's latest submission time that is due by `as_of`: one bound per payer, so the
    // comparison is the same plain timestamp test on every engine.
    let mut payer_q = payers::table
        .filter(payers::org_id.eq(org.as_str()))
        .select((payers::id, payers::name, payers::follow_up_days))
        .into_boxed();
    if let Some(p) = filter.payer_id {
        payer_q = payer_q.filter(payers::id.eq(p.to_string()));
    }
    let payer_rows: Vec<(String, String, i32)> = payer_q.load(conn)?;
    if payer_rows.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    // The end of the as_of day: a claim submitted on day D is due on D + follow-up days.
    let end_of = |days: i32| -> NaiveDateTime {
        (filter.as_of - chrono::Duration::days(i64::from(days)))
            .and_hms_opt(23, 59, 59)
            .unwrap_or_default()
    };
    let submitted_at = claim_transitions::table
        .filter(claim_transitions::claim_id.eq(claims::id))
        .filter(claim_transitions::to_status.eq("submitted"))
        .select(max(claim_transitions::at))
        .single_value();
    type Due = Box<
        dyn BoxableExpression<
                claims::table,
                super::connection::MultiBackend,
                SqlType = diesel::sql_types::Bool,
            >,
    >;
    let mut due: Option<Due> = None;
    for (id, _, days) in &payer_rows {
        let this: Due = Box::new(
            claims::payer_id
                .eq(id.clone())
                .and(submitted_at.le(end_of(*days)))
                .assume_not_null(),
        );
        due = Some(match due {
            None => this,
            Some(d) => Box::new(d.or(this)),
        });
    }
    let Some(due) = due else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let rows: Vec<Row> = claims::table
        .filter(claims::org_id.eq(org.as_str()))
        .filter(claims::status.eq_any(AWAITING))
        .filter(claims::id.gt(after))
        .filter(due)
        .order(claims::id.asc())
        .limit(limit + 1)
        .select((
            claims::id,
            claims::patient_id,
            claims::patient_control_number,
            claims::payer_id,
            claims::status,
            claims::total_charge,
            claims::service_date_from,
            submitted_at,
        ))
        .load(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(payer), Some(at)) = (r.payer_id, r.submitted_at) else {
            continue;
        };
        let Some((_, payer_name, days)) = payer_rows.iter().find(|(id, _, _)| *id == payer) else {
            continue;
        };
        let claim_id = parse_id(&r.id)?;
        let (status_requests, last_status_request_at) = status_requests(conn, org, claim_id)?;
        items.push(UnpaidClaim {
            claim_id,
            patient_id: parse_id(&r.patient_id)?,
            patient_control_number: r.patient_control_number,
            payer_id: parse_id(&payer)?,
            payer_name: payer_name.clone(),
            status: r.status,
            total_charge: r.total_charge.0,
            service_date_from: r.service_date_from,
            submitted_at: utc(at),
            days_outstanding: (filter.as_of - at.date()).num_days(),
            follow_up_days: *days,
            status_requests,
            last_status_request_at,
            status_request: format!("/v1/claims/{claim_id}/status"),
        });
    }
    Ok(finish_page(items, limit, |c| c.claim_id))
}

/// How many claim-status requests (276) were sent for the claim, and when the latest went.
fn status_requests(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<(i64, Option<chrono::DateTime<chrono::Utc>>)> {
    // claim_ids is a JSON list of UUIDs: a UUID has no LIKE wildcard in it.
    let (count, last): (i64, Option<NaiveDateTime>) = x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::kind.eq("276"))
        .filter(x12_exchanges::claim_ids.like(format!("%\"{claim_id}\"%")))
        .select((diesel::dsl::count_star(), max(x12_exchanges::created_at)))
        .first(conn)?;
    Ok((count, last.map(utc)))
}

//! The timely filing queue: claims still to be filed, earliest deadline first.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use revcycle_core::model::Page;
use revcycle_core::store::filing_deadlines::{FilingFilter, UnfiledClaim, queue};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::{ApiResult, Problem};
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_filing_deadlines);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilingQuery {
    /// The day the queue is seen from (default today, UTC): `days_left`, `filing_due_soon` and
    /// `past_deadline` are counted from it.
    #[param(example = "2026-12-31")]
    pub as_of: Option<NaiveDate>,
    /// Only claims whose deadline is on or before this day.
    #[param(example = "2027-01-31")]
    pub deadline_by: Option<NaiveDate>,
    /// Only this payer's claims.
    pub payer_id: Option<Uuid>,
}

/// List claims by timely filing deadline
///
/// Claims not yet filed with their payer (`draft`, `ready`, or `rejected` and to be sent
/// again), earliest deadline first: the claim's last date of service plus the payer's
/// `timely_filing_days` (365 by default; set per payer). Each is flagged `filing_due_soon`
/// when 30 days or fewer remain, and `past_deadline` once the day has passed. A claim leaves
/// the queue when it is submitted (a rejection brings it back). The scrubber checks the same
/// deadline (`timely_filing.near`, `timely_filing.expired`).
#[utoipa::path(tag = "billing", params(PageQuery, FilingQuery),
    responses((status = 200, description = "A page of claims still to be filed", body = Page<UnfiledClaim>),
        (status = 422, description = "A parameter is malformed", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/deadline_by", "message": "must be a date (YYYY-MM-DD)"}]}))))]
#[get("/work-queues/filing-deadlines")]
pub async fn list_filing_deadlines(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<FilingQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = FilingFilter {
        as_of: q.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        deadline_by: q.deadline_by,
        payer_id: q.payer_id,
    };
    let page = page.params();
    let result: Page<UnfiledClaim> =
        db::run(&state, move |c| queue(c, who.org, &filter, &page)).await?;
    Ok(db::json(&who, result))
}

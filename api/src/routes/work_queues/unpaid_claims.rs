//! The unpaid claims queue: submitted claims the payer has not answered within its follow-up
//! days, each linking to the claim-status request (276/277) to send next.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use revcycle_core::model::Page;
use revcycle_core::store::unpaid_claims::{UnpaidClaim, UnpaidFilter, queue};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::{ApiResult, Problem};
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_unpaid_claims);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnpaidQuery {
    /// The day the queue is seen from (default today, UTC): a claim is listed once its payer's
    /// `follow_up_days` have passed since it was submitted.
    #[param(example = "2026-12-31")]
    pub as_of: Option<NaiveDate>,
    /// Only this payer's claims.
    pub payer_id: Option<Uuid>,
}

/// List unpaid claims due for follow-up
///
/// Submitted claims (`submitted`, or `accepted` by an acknowledgment: received, not decided)
/// the payer has not paid, denied or rejected within its `follow_up_days` (a payer setting,
/// 30 by default) of the latest submission, in the order the claims were created. Each names
/// its payer, days outstanding, the claim-status requests (276) already sent and
/// `status_request`, where to ask the payer now (`POST`, answered with the 277). A claim leaves
/// the queue when an 835 or a rejection answers it.
#[utoipa::path(tag = "billing", params(PageQuery, UnpaidQuery),
    responses((status = 200, description = "A page of unpaid claims", body = Page<UnpaidClaim>),
        (status = 422, description = "A parameter is malformed", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/limit", "message": "must be between 1 and 200"}]}))))]
#[get("/work-queues/unpaid-claims")]
pub async fn list_unpaid_claims(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<UnpaidQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = UnpaidFilter {
        as_of: q.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        payer_id: q.payer_id,
    };
    let page = page.params();
    let result: Page<UnpaidClaim> =
        db::run(&state, move |c| queue(c, who.org, &filter, &page)).await?;
    Ok(db::json(&who, result))
}

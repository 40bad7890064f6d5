//! The work queue of claim payments posting could not apply.

use actix_web::{HttpResponse, get, web};
use revcycle_core::model::Page;
use revcycle_core::store::posting::{self, UnmatchedItem};

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::ApiResult;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(unmatched_remittances);
}

/// List unmatched remittance claims
///
/// The work queue of claim payments that posting could not apply: no claim with that control
/// number (CLP01) or payer claim number (CLP07), several claims, a claim billed to another
/// payer, a status change the lifecycle refuses, a reversal with nothing to reverse, or a
/// status that posts nothing (CLP02 23, 25). Oldest first.
#[utoipa::path(tag = "billing", params(PageQuery),
    responses((status = 200, description = "A page of open work items", body = Page<UnmatchedItem>)))]
#[get("/work-queues/unmatched-remittances")]
pub async fn unmatched_remittances(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Search>,
    page: crate::extract::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.params();
    let result = db::run(&state, move |c| posting::unmatched_queue(c, who.org, &page)).await?;
    Ok(db::json(&who, result))
}

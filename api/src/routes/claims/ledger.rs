//! A claim's ledger: its entries, balance and status history.

use actix_web::{HttpResponse, get, web};
use revcycle_core::store::accounts::{self, ClaimLedger};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(claim_ledger);
}

/// Read a claim's ledger
///
/// Every ledger entry of the claim, oldest first (charges, insurance payments, CAS
/// adjustments, transfers to patient responsibility, patient payments, reversals), its balance
/// split into the insurance part (still expected from the payer) and the patient part, and its
/// status history. Amounts follow the ledger's sign convention: the change in what is owed to
/// the practice (charges positive, payments and adjustments negative; a transfer moves its
/// amount from insurance to patient).
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Claim id")),
    responses(
        (status = 200, description = "The claim's ledger, balance and history", body = ClaimLedger),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json")))]
#[get("/claims/{id}/ledger")]
pub async fn claim_ledger(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let l = db::run(&state, move |c| accounts::claim_ledger(c, who.org, id)).await?;
    Ok(db::json(&who, l))
}

//! Posting a stored remittance to the ledger.

use actix_web::{HttpResponse, post, web};
use revcycle_core::store::posting::PostingResult;
use revcycle_core::workflows::remittance_posting;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(post_remittance);
}

/// Post a remittance
///
/// Applies a stored remittance (835) in one transaction: per service line the payment and
/// each CAS adjustment become ledger entries (CO contractual, PR transfer to patient
/// responsibility, OA, PI, CR), CLP02 22 reverses the earlier posting exactly, PLB adjustments
/// are provider-level entries, claim statuses change (recorded as transitions) and claim
/// payments that match none of our claims (or whose status change the lifecycle refuses) go to
/// the unmatched work queue. Denied lines are reported in `denials`, not posted.
///
/// A remittance that does not balance (each SVC: SVC02 = SVC03 + CAS; each CLP: CLP03 = CLP04
/// + CAS; the whole: BPR02 = sum(CLP04) - sum(PLB)) posts nothing: 422 with a pointer to the
/// amount and a message giving the expected and the computed amounts.
///
/// Idempotent by payer and trace number (TRN02): posting again returns the first posting's
/// result with `replayed: true` and changes nothing.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Remittance id")),
    responses(
        (status = 200, description = "What the posting did (or, with `replayed`, what the first posting did)", body = PostingResult),
        (status = 422, description = "The remittance does not balance; nothing was posted", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/total_paid", "message": "the remittance does not balance: BPR02 is 100.00 but claim payments less provider adjustments come to 96.00"}]})),
        (status = 404, description = "No such remittance", body = Problem, content_type = "application/problem+json")))]
#[post("/remittances/{id}/post")]
pub async fn post_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Post>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    db::write_sealed(&state, &who, audit, Some(id), move |c, seal| {
        remittance_posting::post(c, org, id, &actor, seal)
    })
    .await
}

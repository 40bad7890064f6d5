//! Checking a coverage's eligibility with the payer (270/271).

use actix_web::{HttpResponse, post, web};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::connectors::payer::{self, EligibilityInput, RealTimeResult};
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};
use crate::request_audit::context::AuditedInTx;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(check_eligibility);
}

/// Check a coverage's eligibility with the payer (270/271)
///
/// Builds a 270 from the coverage, its patient and subscriber, the payer and the asking
/// provider through the payer connector, sends it to the clearinghouse's HTTP API
/// (`clearinghouse_url` in the connector's config) and answers with the 271 as canonical
/// eligibility responses (status, plan, benefits, rejections). Both files are recorded,
/// encrypted. Needs read on coverages.
#[utoipa::path(tag = "coverages", request_body = EligibilityInput,
    params(("id" = Uuid, Path, description = "Coverage id")),
    responses((status = 200, description = "The payer's answer", body = RealTimeResult),
        (status = 404, description = "No such coverage", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The clearinghouse or the connector failed", body = Problem,
            content_type = "application/problem+json")))]
#[post("/coverages/{id}/eligibility")]
pub async fn check_eligibility(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Coverage, act::Read>,
    id: web::Path<Uuid>,
    body: JsonBody<EligibilityInput>,
) -> ApiResult<HttpResponse> {
    let result = payer::check_eligibility(&state, &who, audit, id.into_inner(), body.value).await?;
    let mut resp = HttpResponse::Ok().json(&result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

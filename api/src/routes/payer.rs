//! The payer (X12) connector over HTTP: importing an 835, submitting claims as an 837P.

use actix_web::{HttpResponse, post, web};
use revcycle_core::access::{Action, Mask, Resource, View};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::AuditedInTx;
use crate::authz::{Authorized, act, res};
use crate::connectors::payer::{
    self, EligibilityInput, RealTimeResult, RemittanceImport, SubmitInput, SubmitResult,
};
use crate::extract::{FeedBody, JsonBody};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use uuid::Uuid;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(import_remittance)
        .service(submit_claims)
        .service(check_eligibility)
        .service(claim_status);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Also post each remittance (as `POST /v1/remittances/{id}/post` does).
    pub post: Option<bool>,
    /// The file's name, kept with the stored file.
    pub file_name: Option<String>,
}

/// Import an X12 835
///
/// The body is an 835 file as the payer sends it. The payer connector parses it (envelopes,
/// loops, BPR02 balanced against the claims and PLBs); each remittance's payer is found by
/// its payer id among the payers' `payer_code`s, and each remittance is stored (and, with
/// `post=true`, posted) in its own transaction with its audit event. The file itself is kept
/// encrypted. A malformed file is 422 naming the segment number and the reason, and nothing
/// is stored. Needs create on remittances (and post, with `post=true`).
#[utoipa::path(tag = "remittances", params(ImportQuery),
    request_body(content = String, description = "The 835 file", content_type = "application/octet-stream"),
    responses((status = 200, description = "The stored remittances (and postings)", body = RemittanceImport),
        (status = 422, description = "Malformed X12, or a payer that is not set up; nothing was stored", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "", "message": "the connector refused the feed: X12 segment 17 (CLP): CLP04 is not a valid amount"}]})),
        (status = 502, description = "The connector failed or did not answer in time", body = Problem,
            content_type = "application/problem+json")))]
#[post("/remittances/import")]
pub async fn import_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Create>,
    q: web::Query<ImportQuery>,
    body: FeedBody,
) -> ApiResult<HttpResponse> {
    let post = q.post.unwrap_or(false);
    if post {
        crate::auth::require(&who, Resource::Remittance, Action::Post)?;
    }
    let file_name = q.file_name.as_ref().map(|f| {
        f.chars()
            .filter(|c| c.is_ascii_graphic())
            .take(100)
            .collect()
    });
    let mut result = payer::import_835(
        &state,
        who.org,
        who.subject.clone(),
        audit,
        body.0,
        file_name,
        post,
    )
    .await?;
    result.mask(&View::for_principal(&who));
    let mut resp = HttpResponse::Ok().json(&result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

/// Submit claims to the payer (837P)
///
/// Give `claim_ids`, or `payer_id` for every `ready` claim of that payer (at most 200). Each
/// claim is scrubbed: a claim with errors (or not `ready`) is refused with its findings. The
/// others go into one 837P interchange built by the payer connector from the stored claim,
/// patient, coverage and subscriber, payer and providers; the file is written into the
/// connector's outbox, recorded (encrypted) with its control numbers and claim ids, and each
/// claim moves to `submitted` (recorded in its history). Needs submit on claims.
#[utoipa::path(tag = "billing", request_body = SubmitInput,
    responses((status = 200, description = "Per claim: submitted, or refused with findings", body = SubmitResult),
        (status = 503, description = "No payer connector, or no outbox configured", body = Problem,
            content_type = "application/problem+json")))]
#[post("/claims/submit")]
pub async fn submit_claims(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Submit>,
    body: JsonBody<SubmitInput>,
) -> ApiResult<HttpResponse> {
    let result = payer::submit_claims(&state, &who, audit, body.value).await?;
    let mut resp = HttpResponse::Ok().json(&result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
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

/// Ask the payer for a claim's status (276/277)
///
/// Builds a 276 for the claim through the payer connector, sends it to the clearinghouse's
/// HTTP API and answers with the 277 as canonical claim status responses (category and status
/// codes, amounts, dates). Both files are recorded, encrypted. The claim's own status is not
/// changed. Needs read on claims.
#[utoipa::path(tag = "billing",
    params(("id" = Uuid, Path, description = "Claim id")),
    responses((status = 200, description = "The payer's answer", body = RealTimeResult),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The clearinghouse or the connector failed", body = Problem,
            content_type = "application/problem+json")))]
#[post("/claims/{id}/status")]
pub async fn claim_status(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let result = payer::claim_status(&state, &who, audit, id.into_inner()).await?;
    let mut resp = HttpResponse::Ok().json(&result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

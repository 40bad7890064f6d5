//! Claims and the payer, through the payer (X12) connector: submitting claims as 837P, asking
//! for a claim's status (276/277), and a claim's exchange history.

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::connectors::payer::{self, ClaimExchanges, RealTimeResult, SubmitInput, SubmitResult};
use crate::db;
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};
use crate::request_audit::context::AuditedInTx;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(submit_claims)
        .service(claim_status)
        .service(claim_exchanges);
}

/// Submit claims to the payer (837P)
///
/// Give `claim_ids`, or `payer_id` for every `ready` claim of that payer (at most 200). Each
/// claim is scrubbed: a claim with errors (or not `ready`) is refused with its findings. The
/// others are grouped by payer, and each payer's claims go into one 837P interchange built by
/// the payer connector from the stored claim, patient, coverage and subscriber, payer and
/// providers, sent over that payer's transport (`connectors.toml`: its own entry under
/// `payers`, else the connector's default): written into an outbox directory, or POSTed to a
/// clearinghouse API with a bearer token. Each interchange gets the next control number of
/// its sender, is recorded (encrypted) with its control numbers and claim ids, and its claims
/// move to `submitted` (recorded in their history). Over HTTP, a non-2xx answer, a timeout or
/// an unreachable endpoint records the exchange as `failed` and leaves its claims `ready`
/// (`not_sent`); when nothing could be sent at all the answer is 502. A 999 or TA1 in the
/// HTTP response is applied to the claims at once. Needs submit on claims.
#[utoipa::path(tag = "billing", request_body = SubmitInput,
    responses((status = 200, description = "Per claim: submitted, refused with findings, or not sent; per payer: the interchange", body = SubmitResult),
        (status = 409, description = "A claim was submitted or is being sent by another request meanwhile", body = Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "The connector failed, or no payer's clearinghouse took the 837P (the claims stay ready)", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:connector-failed", "title": "Connector failed", "status": 502,
                "detail": "the 837P could not be delivered (the clearinghouse answered HTTP 503); the claims stay ready and nothing was submitted"})),
        (status = 503, description = "No payer connector, no outbox or submit_url configured, or an unreadable bearer token", body = Problem,
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

/// A claim's X12 exchange history
///
/// Every X12 file sent or received that involved the claim, oldest first: the 837P
/// submissions it went out in (file name, transport, ISA13/GS06/ST02 control numbers, when,
/// and whether it was `sent`, is still `sending` or `failed`), each with the acknowledgments
/// that answered it (999, TA1, 277CA) nested under it; the 835s that paid it (`processed`,
/// or `duplicate` when the file changed nothing); real-time status requests (276) with their
/// answers. File content is never shown (it is stored encrypted). Needs read on claims; the
/// read is audited like the claim's.
#[utoipa::path(tag = "billing",
    params(("id" = Uuid, Path, description = "Claim id")),
    responses((status = 200, description = "The claim's exchanges, oldest first", body = ClaimExchanges),
        (status = 401, description = "No or invalid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not read claims", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:forbidden", "title": "Forbidden", "status": 403,
                "detail": "your roles do not grant read on Claim"})),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:not-found", "title": "Not found", "status": 404,
                "detail": "claim not found"}))))]
#[get("/claims/{id}/exchanges")]
pub async fn claim_exchanges(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let org = who.org;
    let history = db::run(&state, move |c| payer::claim_exchanges(c, org, id)).await?;
    Ok(db::json(&who, history))
}

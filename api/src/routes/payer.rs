//! The payer (X12) connector over HTTP: importing an 835, submitting claims as an 837P.

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::access::{Action, Mask, Resource, View};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::AuditedInTx;
use crate::authz::{Authorized, act, res};
use crate::connectors::payer::{
    self, ClaimExchanges, EligibilityInput, RealTimeResult, RemittanceImport, SubmitInput,
    SubmitResult,
};
use crate::db;
use crate::extract::{FeedBody, JsonBody};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use uuid::Uuid;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(import_remittance)
        .service(submit_claims)
        .service(check_eligibility)
        .service(claim_status)
        .service(claim_exchanges);
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
/// the ids the file gives it (TRN03, N1*PR N103/N104, 1000A REF) among the payers'
/// `identifiers` and `payer_code`s. A remittance whose payer is not known is not refused: it
/// is listed in `unidentified` and waits in `GET /v1/work-queues/unidentified-remittances`
/// until a payer is linked (the file's status is then `queued`). The file (kept encrypted) and all its
/// remittances (several ST/SE or several payers' TRNs) are stored, and with `post=true`
/// posted, in one transaction with their audit events: if one cannot be posted, nothing from
/// the file is (422, the pointer naming the remittance, e.g. `/remittances/1/claims/0/...`).
/// A remittance whose payer and trace number are already stored (and posted) is a
/// `duplicate` and writes nothing; a file of nothing but duplicates answers 200 with status
/// `duplicate`. A malformed file, or one that breaks the 835 implementation guide
/// (005010X221A1: required segments and loops, element usage, code lists, balancing of each
/// service line, claim and the payment), is 422 with one entry per finding: the segment's
/// number in the file and in its transaction set, the rule, and a pointer
/// (`/transactions/0/segments/5`, `/transactions/0/claims/2`); nothing is stored. Needs
/// create on remittances (and post, with `post=true`).
#[utoipa::path(tag = "remittances", params(ImportQuery),
    request_body(content = String, description = "The 835 file", content_type = "application/octet-stream"),
    responses((status = 200, description = "The stored remittances (and postings)", body = RemittanceImport),
        (status = 422, description = "Malformed or non-conforming X12, or a remittance that cannot be stored; nothing was stored", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/transactions/0/segments/5", "message": "the connector refused the feed: X12 segment 7 (N1), segment 5 of transaction set 1: loop 1000A (Payer Identification) has no PER*BL (Payer Technical Contact Information): the segment is required by 005010X221A1 [rule segment.required]"},
                    {"pointer": "/transactions/0/claims/2", "message": "the connector refused the feed: X12 segment 31 (CLP), segment 29 of transaction set 1: CLP at segment 29 (claim 3) does not balance: CLP03 less the CAS amounts of the claim and its service lines is 140.00, CLP04 is 150.00 [rule balance.claim]"}]})),
        (status = 502, description = "The connector failed or did not answer in time", body = Problem,
            content_type = "application/problem+json")))]
#[post("/remittances/import")]
pub async fn import_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Create>,
    q: crate::extract::Query<ImportQuery>,
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
        "api",
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

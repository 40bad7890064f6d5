//! Importing an X12 835 file through the payer connector.

use actix_web::{HttpResponse, post, web};
use revcycle_core::access::{Action, Mask, Resource, View};
use revcycle_core::workflows::payer::ReceivedFile;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::authz::{Authorized, act, res};
use crate::connectors::payer::{self, RemittanceImport};
use crate::extract::FeedBody;
use crate::problem::{ApiResult, Problem};
use crate::request_audit::context::AuditedInTx;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(import_remittance);
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
    let file_name = q.file_name.as_deref().map(ReceivedFile::clean_name);
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

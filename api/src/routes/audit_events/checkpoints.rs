//! The audit trail's signed checkpoints: the latest, a new one now, and the verifier key.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use revcycle_core::access::Capability;
use revcycle_core::error::CoreError;

use super::filters::RESOURCE;
use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(audit_checkpoint)
        .service(make_audit_checkpoint)
        .service(audit_checkpoint_key);
}

/// The header that carries the checkpoints' verifier key.
pub const VERIFIER_KEY_HEADER: &str = "X-Checkpoint-Verifier-Key";

fn note_response(state: &AppState, note: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((VERIFIER_KEY_HEADER, state.checkpoints.signer.verifier_key()))
        .body(note)
}

/// The latest signed checkpoint
///
/// Your organization's latest published checkpoint of its audit trail's Merkle tree (RFC
/// 6962), as a C2SP signed note (`text/plain`): the origin line `<name>/audit/<org id>`, the
/// tree size, the base64 root hash, an empty line, and the Ed25519 signature line. The
/// verifier key is in the `X-Checkpoint-Verifier-Key` header and at
/// `/v1/audit-events/checkpoint/key`. The same files are published outside the database, in
/// the operator's checkpoint directory. When none has been published yet, one is made. Needs
/// `audit.read`.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The signed note", content_type = "text/plain", body = String,
        headers(("X-Checkpoint-Verifier-Key" = String, description = "The signed-note verifier key")))))]
#[get("/audit-events/checkpoint")]
pub async fn audit_checkpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "checkpoint.read", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    let cp = state.checkpoints.clone();
    let note = crate::db::run(&state, move |c| match cp.publisher.latest(org.0)? {
        Some(n) => Ok(Some(n)),
        None => cp.checkpoint(c, org.0),
    })
    .await?
    .ok_or(CoreError::NotFound {
        resource: "checkpoint",
    })?;
    Ok(note_response(&state, note))
}

/// Make a checkpoint now
///
/// Chains every event your organization has waiting, then signs and publishes a checkpoint of
/// the whole tree (or returns the published one of that size). Needs `audit.read`.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The signed note", content_type = "text/plain", body = String)))]
#[post("/audit-events/checkpoint")]
pub async fn make_audit_checkpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "checkpoint.create", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    let cp = state.checkpoints.clone();
    let note = crate::db::run(&state, move |c| cp.checkpoint(c, org.0))
        .await?
        .ok_or(CoreError::NotFound {
            resource: "checkpoint",
        })?;
    Ok(note_response(&state, note))
}

/// The checkpoints' verifier key
///
/// The Ed25519 public key that signs the checkpoints, as a signed-note verifier key:
/// `<name>+<key id, 8 hex digits>+<base64(0x01 || 32-byte public key)>`. Keep your own copy:
/// a checkpoint is only as good as the key you check it with. Needs `audit.read`.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The verifier key", content_type = "text/plain", body = String)))]
#[get("/audit-events/checkpoint/key")]
pub async fn audit_checkpoint_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "checkpoint.read", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", state.checkpoints.signer.verifier_key())))
}

//! Merkle proofs over the audit trail: an event's inclusion, and consistency between two tree
//! sizes.

use actix_web::{HttpRequest, HttpResponse, get, web};
use revcycle_core::access::Capability;
use revcycle_core::audit::merkle;
use revcycle_core::error::CoreError;
use revcycle_core::store::DbConnection;
use revcycle_core::store::audit::{self as store_audit, AuditFilter};
use revcycle_core::store::audit_intake::settle;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::filters::RESOURCE;
use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(audit_consistency_proof)
        .service(audit_inclusion_proof);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The tree size to prove against: a published checkpoint's (default: the latest
    /// published checkpoint's).
    #[param(minimum = 1)]
    pub checkpoint: Option<i64>,
}

/// An inclusion proof (RFC 6962 audit path).
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofReport {
    pub sequence: i64,
    /// `sequence - 1`.
    pub leaf_index: i64,
    pub tree_size: i64,
    /// Base64 of the event's canonical encoding; its leaf hash is
    /// `SHA-256(0x00 || canonical)`.
    pub event_canonical: String,
    /// Base64 of the leaf hash.
    pub leaf_hash: String,
    /// Base64 of each sibling hash, from the leaf up (RFC 9162 §2.1.3).
    pub proof: Vec<String>,
    /// Base64 of the tree's root at `tree_size`.
    pub root_hash: String,
    /// The published signed checkpoint of `tree_size`, when there is one.
    pub checkpoint: Option<String>,
}

/// A consistency proof (RFC 6962 §2.1.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofReport {
    pub from: i64,
    pub to: i64,
    /// Base64 of the roots at `from` and `to`.
    pub from_root: String,
    pub to_root: String,
    /// Base64 of each proof hash (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

fn b64(h: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// The tree size a proof is for: asked for, or the latest published checkpoint's; never past
/// the tree.
fn proof_size(
    c: &mut DbConnection,
    cp: &crate::audit_checkpoints::Checkpointer,
    org: Uuid,
    asked: Option<i64>,
    pointer: &str,
) -> Result<i64, CoreError> {
    settle(c, org)?;
    revcycle_core::store::audit_tree::follow(c, org, None)?;
    let tree = revcycle_core::store::audit_tree::head(c, org)?.map_or(0, |f| f.size() as i64);
    let size = match asked {
        Some(s) => s,
        None => cp
            .publisher
            .latest(org)?
            .and_then(|n| crate::audit_checkpoints::size_of(&n))
            .map_or(tree, |s| s as i64),
    };
    if size < 1 || size > tree {
        return Err(CoreError::invalid(
            pointer,
            format!("must be a tree size between 1 and {tree}"),
        ));
    }
    Ok(size)
}

/// Prove an event is in the trail
///
/// An RFC 6962 inclusion proof of the event at `sequence` in your organization's tree of
/// `checkpoint` events, with the event in canonical form (so its leaf hash can be recomputed)
/// and the signed checkpoint of that size when one was published. Check it with
/// `revcycle audit verify-proof` or any RFC 6962 verifier. Needs `audit.read`.
#[utoipa::path(tag = "audit", params(("sequence" = i64, Path, description = "The event's sequence number"), ProofQuery),
    responses((status = 200, description = "The proof", body = InclusionProofReport)))]
#[get("/audit-events/{sequence}/proof")]
pub async fn audit_inclusion_proof(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    sequence: web::Path<i64>,
    q: crate::extract::Query<ProofQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "proof", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let sequence = sequence.into_inner();
    let org = who.org;
    let cp = state.checkpoints.clone();
    let asked = q.checkpoint;
    let report = crate::db::run_long(&state, move |c| {
        let size = proof_size(c, &cp, org.0, asked, "/checkpoint")?;
        if sequence < 1 || sequence > size {
            return Err(CoreError::invalid(
                "/sequence",
                format!("must be between 1 and the tree size {size}"),
            ));
        }
        let event = store_audit::list(c, org.0, &AuditFilter::default(), sequence - 1, 1)?
            .into_iter()
            .find(|e| e.sequence == sequence)
            .ok_or(CoreError::NotFound {
                resource: "audit event",
            })?;
        let (proof, root) =
            revcycle_core::store::audit_tree::inclusion_proof(c, org.0, sequence, size)?
                .ok_or_else(|| CoreError::Internal("inclusion proof of a leaf in range".into()))?;
        let canonical = revcycle_core::audit::chain::canonical(sequence, &event.event);
        Ok(InclusionProofReport {
            sequence,
            leaf_index: sequence - 1,
            tree_size: size,
            leaf_hash: b64(&merkle::leaf_hash(&canonical)),
            event_canonical: b64(&canonical),
            proof: proof.iter().map(|h| b64(h)).collect(),
            root_hash: b64(&root),
            checkpoint: cp.publisher.at(org.0, size as u64)?,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    #[param(minimum = 1)]
    pub from: Option<i64>,
    /// The newer tree size (default: the latest published checkpoint's).
    #[param(minimum = 1)]
    pub to: Option<i64>,
}

/// Prove the trail only grew
///
/// An RFC 6962 consistency proof that your organization's tree of `from` events is a prefix
/// of its tree of `to` events: nothing covered by the older checkpoint was removed or changed.
/// Needs `audit.read`.
#[utoipa::path(tag = "audit", params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyProofReport)))]
#[get("/audit-events/consistency")]
pub async fn audit_consistency_proof(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    q: crate::extract::Query<ConsistencyQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "proof", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    let cp = state.checkpoints.clone();
    let Some(from) = q.from else {
        return Err(CoreError::invalid("/from", "is required").into());
    };
    let asked = q.to;
    let report = crate::db::run_long(&state, move |c| {
        let to = proof_size(c, &cp, org.0, asked, "/to")?;
        if from < 1 || from > to {
            return Err(CoreError::invalid(
                "/from",
                format!("must be between 1 and `to` ({to})"),
            ));
        }
        let (proof, from_root, to_root) =
            revcycle_core::store::audit_tree::consistency_proof(c, org.0, from, to)?
                .ok_or_else(|| CoreError::Internal("consistency proof in range".into()))?;
        Ok(ConsistencyProofReport {
            from,
            to,
            from_root: b64(&from_root),
            to_root: b64(&to_root),
            proof: proof.iter().map(|h| b64(h)).collect(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

//! `/v1/audit-events`: the audit trail, a file per concern.

// The fixed paths are registered before `/audit-events/{sequence}/proof`.

pub mod checkpoints;
pub mod export;
pub mod filters;
pub mod list;
pub mod proofs;
pub mod purge;
pub mod verification;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(checkpoints::configure)
        .configure(proofs::configure)
        .configure(list::configure)
        .configure(verification::configure)
        .configure(export::configure)
        .configure(purge::configure);
}

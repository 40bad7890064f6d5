use std::sync::Arc;

use revcycle_core::store::{DbPool, KeyRing};

use crate::auth::Verifier;
use crate::limits::RateLimiter;
use crate::request_audit::writer::AuditWriter;

/// Shared by every worker: the pool, the key ring (with its cache of unwrapped org keys)
/// and the token verifier.
pub struct AppState {
    pub pool: DbPool,
    pub keyring: Arc<KeyRing>,
    pub verifier: Verifier,
    pub body_limit: usize,
    /// The process's audit writer (group commit).
    pub audit: Arc<AuditWriter>,
    /// Per-client request budgets and per-source bounds.
    pub rate_limiter: Arc<RateLimiter>,
    /// Reads taking longer are abandoned with 503.
    pub read_timeout: std::time::Duration,
    /// A request body not received within this is refused with 408.
    pub body_timeout: std::time::Duration,
    /// Which organizations exist and are active, cached for token checks.
    pub orgs: Arc<crate::auth::OrgCache>,
    /// Connector plugins loaded at start.
    pub connectors: Arc<crate::connectors::Connectors>,
    /// How long audit events are kept before a purge may remove them.
    pub audit_retention: revcycle_core::audit::Retention,
    /// Signs and publishes the audit trail's checkpoints.
    pub checkpoints: Arc<crate::audit_checkpoints::Checkpointer>,
    /// Webhook delivery settings (the subscription routes check URLs against them).
    pub events: Arc<crate::config::EventsConfig>,
}

use std::sync::Arc;

use revcycle_core::store::{DbPool, KeyRing};

use crate::audit::AuditWriter;
use crate::auth::Verifier;
use crate::limits::RateLimiter;

/// Shared by every worker: the pool, the key ring (with its cache of unwrapped org keys)
/// and the token verifier.
pub struct AppState {
    pub pool: DbPool,
    pub keyring: Arc<KeyRing>,
    pub verifier: Verifier,
    pub body_limit: usize,
    /// The process's audit writer (group commit).
    pub audit: Arc<AuditWriter>,
    /// Per-client request budget; `None` when rate limiting is off.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Reads taking longer are abandoned with 503.
    pub read_timeout: std::time::Duration,
    /// Connector plugins loaded at start.
    pub connectors: Arc<crate::connectors::Connectors>,
    /// How long audit events are kept before a purge may remove them.
    pub audit_retention: revcycle_core::audit::Retention,
}

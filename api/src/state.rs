use std::sync::Arc;

use revcycle_core::access::SecurityEventSink;
use revcycle_core::store::{DbPool, KeyRing};

use crate::auth::DevSigner;

/// Shared by every worker: the pool, the key ring (with its cache of unwrapped org keys)
/// and the token verifier.
pub struct AppState {
    pub pool: DbPool,
    pub keyring: Arc<KeyRing>,
    pub signer: Arc<DevSigner>,
    pub body_limit: usize,
    /// Where security events (break-glass) are recorded.
    pub events: Arc<dyn SecurityEventSink>,
}

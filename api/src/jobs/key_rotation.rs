//! Re-encrypting an organization's identifiers under a new data-key version.

use revcycle_core::store::rotation::{self, Rotation};

use crate::state::AppState;

/// Runs a rotation on a thread of its own (it sleeps and holds a connection for a while, so
/// not on the request workers). A failure is logged; the rotation stays `running` and resumes
/// on the next start or `revcycle keys rotate`.
pub fn spawn(state: &AppState, r: Rotation) {
    let pool = state.pool.clone();
    let keyring = state.keyring.clone();
    std::thread::spawn(move || {
        let result = pool
            .get()
            .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))
            .and_then(|mut conn| {
                rotation::run(
                    &mut conn,
                    &keyring,
                    r,
                    rotation::DEFAULT_BATCH,
                    std::time::Duration::ZERO,
                    |_| {},
                )
            });
        if let Err(e) = result {
            tracing::error!(error = %e, "data-key rotation stopped; it resumes on the next start");
        }
    });
}

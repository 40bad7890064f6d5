//! Re-reading the identity provider's signing keys (JWKS) every refresh interval, for as long
//! as the server runs. A token naming a key not yet loaded triggers a re-read of its own (see
//! `auth::jwks`); this one makes withdrawn keys stop being accepted.

use std::sync::Arc;

use crate::auth::jwks::JwksVerifier;

/// Starts the schedule on the server's runtime.
pub fn spawn(jwks: Arc<JwksVerifier>) {
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(jwks.refresh_interval()).await;
            jwks.refresh().await;
        }
    });
}

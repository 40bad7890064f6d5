//! Bearer-token authentication. Development mode signs and verifies HS256 tokens with a key
//! generated under the data directory; production mode (`jwks`) verifies RS256/ES256 tokens
//! from an identity provider against its JWKS. Every request that serves data needs a valid
//! token, and both modes turn the claims into a [`Principal`] the same way.

pub mod claims;
mod dev;
pub mod jwks;
pub mod principal;

use std::sync::Arc;

use actix_web::web;
use revcycle_core::access::{Action, Capability, Principal, Resource, allowed, granted};
use uuid::Uuid;

pub use claims::{AUDIENCE, Claims, DEV_ISSUER, bearer_token};
pub use dev::{DevSigner, Grant};
pub use jwks::{JwksSettings, JwksVerifier};

use crate::problem::ApiError;

/// How bearer tokens are verified: chosen once at start-up by `auth_mode`.
#[derive(Clone)]
pub enum Verifier {
    /// HS256 with the local development key.
    Dev(Arc<DevSigner>),
    /// RS256/ES256 with the identity provider's published keys.
    Jwks(Arc<JwksVerifier>),
}

impl Verifier {
    /// Verify signature and claims. Only a JWKS token naming a key not seen yet waits (for one
    /// rate-limited refresh); everything else completes without I/O.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        match self {
            Verifier::Dev(signer) => signer.verify(token),
            Verifier::Jwks(jwks) => jwks.verify(token).await,
        }
    }
}

/// How long an organization's existence and state are believed before being read again: a
/// deactivation takes effect on every server within this.
const ORG_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// Most organizations remembered; beyond, the cache starts over (tokens naming random orgs
/// must not grow memory).
const ORG_CACHE_MAX: usize = 10_000;

/// Which organizations exist and are active, as tokens name them: a token's `org` must be a
/// real, active organization, whoever signed it. An identity provider can be configured
/// with any claim value, and an unknown org must neither read anything nor start a chain.
#[derive(Default)]
pub struct OrgCache(std::sync::Mutex<std::collections::HashMap<Uuid, (bool, std::time::Instant)>>);

impl OrgCache {
    pub async fn check(
        &self,
        pool: &revcycle_core::store::DbPool,
        org: Uuid,
    ) -> Result<(), ApiError> {
        // The system chain's id names no organization: it is read with the command line only.
        if org.is_nil() {
            return Err(ApiError::Unauthorized(
                "the token's org is not an active organization".into(),
            ));
        }
        let cached = {
            let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&org)
                .filter(|(_, at)| at.elapsed() < ORG_CACHE_TTL)
                .map(|(active, _)| *active)
        };
        let active = match cached {
            Some(active) => active,
            None => {
                let pool = pool.clone();
                let found = web::block(move || {
                    let mut conn = pool
                        .get()
                        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
                    revcycle_core::store::orgs::find(&mut conn, org)
                })
                .await
                .map_err(|_| ApiError::Internal)??;
                let active = found.is_some_and(|o| o.active);
                let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
                if map.len() >= ORG_CACHE_MAX {
                    map.clear();
                }
                map.insert(org, (active, std::time::Instant::now()));
                active
            }
        };
        if active {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "the token's org is not an active organization".into(),
            ))
        }
    }
}

/// Request header that invokes break-glass, carrying the reason.
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";
/// Response header on a break-glass access.
pub const BREAK_GLASS_RESPONSE_HEADER: &str = "x-break-glass";

/// 403 unless the caller holds the capability (by role, within the token's scopes).
pub fn require_capability(who: &Principal, capability: Capability) -> Result<(), ApiError> {
    if who.can(capability) {
        return Ok(());
    }
    let by = if who.roles.iter().any(|r| granted(*r, capability)) {
        "your token's scopes do not"
    } else {
        "your roles do not"
    };
    Err(ApiError::Forbidden(format!(
        "{by} grant {}",
        capability.name()
    )))
}

/// Like [`require`], but a caller who invoked break-glass may read (one record) beyond it.
/// Returns whether break-glass was what let the caller in, so the route can record it.
pub fn require_or_break_glass(
    who: &Principal,
    resource: Resource,
    action: Action,
) -> Result<bool, ApiError> {
    match require(who, resource, action) {
        Ok(()) => Ok(false),
        Err(_) if who.break_glass_reason.is_some() && action == Action::Read => Ok(true),
        Err(e) => Err(e),
    }
}

/// 403 unless the caller's roles allow the action and the token's scopes keep it; the message
/// names the missing permission and which of the two withheld it.
pub fn require(who: &Principal, resource: Resource, action: Action) -> Result<(), ApiError> {
    if who.may(resource, action) {
        return Ok(());
    }
    let by = if who.roles.iter().any(|r| allowed(*r, resource, action)) {
        "your token's scopes do not"
    } else {
        "your roles do not"
    };
    Err(ApiError::Forbidden(format!(
        "{by} grant {} on {}",
        action.name(),
        resource.name()
    )))
}

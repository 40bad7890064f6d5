//! Bearer-token authentication. Development mode signs and verifies HS256 tokens with a key
//! generated under the data directory; production mode (`jwks`) verifies RS256/ES256 tokens
//! from an identity provider against its JWKS. Every request that serves data needs a valid
//! token, and both modes turn the claims into a [`Principal`] the same way.

mod dev;
pub mod jwks;

use std::sync::Arc;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use revcycle_core::access::{
    Action, Capability, OrgId, PURPOSES_OF_USE, Principal, Resource, Role, Scopes, allowed, granted,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use dev::{DevSigner, Grant};
pub use jwks::{JwksSettings, JwksVerifier};

use crate::problem::ApiError;
use crate::state::AppState;

/// Issuer and audience of development tokens.
pub const DEV_ISSUER: &str = "revcycle-dev";
pub const AUDIENCE: &str = "revcycle-api";
/// Clock skew tolerated on `exp`/`nbf`.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org: Uuid,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// HL7 v3 PurposeOfUse code (TREAT, HPAYMT, HOPERAT, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_of_use: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

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

/// The 401 for a token jsonwebtoken refused; the reason is generic, never the token's content.
fn token_error(e: &jsonwebtoken::errors::Error) -> ApiError {
    use jsonwebtoken::errors::ErrorKind as K;
    let why = match e.kind() {
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet",
        K::InvalidIssuer => "the token's issuer is not trusted",
        K::InvalidAudience => "the token is not for this API",
        K::InvalidSignature => "the token's signature is invalid",
        K::InvalidAlgorithm => "the token's algorithm is not accepted",
        K::MissingRequiredClaim(_) => "the token lacks a required claim (exp, nbf, iss, aud, sub)",
        _ => "the token is malformed",
    };
    ApiError::Unauthorized(why.to_string())
}

/// The bearer token of a request, if its `Authorization` header carries one.
pub fn bearer_token(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    let value = headers
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// Longest `sub` or `client_id` accepted: they are stored in every audit event.
const MAX_IDENTITY_LEN: usize = 255;

/// Refuses claims whose text breaks the boundary rule for text, or is too long to record:
/// they name the caller in the audit trail, and one caller's unwritable event must never
/// reach the writer shared with everyone else's.
fn check_claim_text(claims: &Claims) -> Result<(), ApiError> {
    use revcycle_core::validation::{TextKind, text_problem};
    let identities = [Some(claims.sub.as_str()), claims.client_id.as_deref()];
    if claims.sub.is_empty()
        || identities
            .iter()
            .flatten()
            .any(|v| v.len() > MAX_IDENTITY_LEN)
    {
        return Err(ApiError::Unauthorized(format!(
            "the token's sub and client_id must be 1 to {MAX_IDENTITY_LEN} bytes"
        )));
    }
    let texts = identities
        .into_iter()
        .flatten()
        .chain(claims.roles.iter().map(String::as_str))
        .chain(claims.scope.as_deref())
        .chain(claims.purpose_of_use.as_deref());
    for text in texts {
        if text_problem(text, TextKind::Line).is_some() {
            return Err(ApiError::Unauthorized(
                "the token's claims contain control or bidirectional formatting characters".into(),
            ));
        }
    }
    Ok(())
}

async fn principal_from(req: &HttpRequest, break_glass_route: bool) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(ApiError::Internal)?;
    let verified = req
        .extensions()
        .get::<crate::limits::VerifiedClaims>()
        .map(|v| v.0.clone());
    let claims = match verified {
        Some(claims) => claims,
        None => {
            let header = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
            header
                .to_str()
                .map_err(|_| ApiError::Unauthorized("the token is malformed".into()))?;
            let token = bearer_token(req.headers()).ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be a Bearer token".into())
            })?;
            state.verifier.verify(token).await?
        }
    };
    check_claim_text(&claims)?;
    state.orgs.check(&state.pool, claims.org).await?;
    let mut roles = Vec::new();
    for r in &claims.roles {
        roles.push(
            Role::parse(r)
                .ok_or_else(|| ApiError::Unauthorized("the token names an unknown role".into()))?,
        );
    }
    if roles.is_empty() {
        return Err(ApiError::Forbidden("the token grants no role".into()));
    }
    if let Some(p) = &claims.purpose_of_use
        && !PURPOSES_OF_USE.contains(&p.as_str())
    {
        return Err(ApiError::Unauthorized(
            "the token's purpose_of_use is not an HL7 PurposeOfUse code".into(),
        ));
    }
    let mut who = Principal {
        subject: claims.sub,
        org: OrgId(claims.org),
        roles,
        client_id: claims.client_id,
        scopes: claims.scope.as_deref().map(Scopes::parse),
        purpose_of_use: claims.purpose_of_use,
        break_glass_reason: None,
    };
    if let Some(reason) = req.headers().get(BREAK_GLASS_HEADER) {
        if !break_glass_route {
            // Break-glass opens one patient's record, never a list or a write.
            return Err(ApiError::BadRequest(format!(
                "{BREAK_GLASS_HEADER} is accepted only on GET /v1/patients/{{id}}"
            )));
        }
        let reason = reason
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|r| !r.is_empty() && r.len() <= 500)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{BREAK_GLASS_HEADER} must be a reason of 1 to 500 visible characters"
                ))
            })?;
        require_capability(&who, Capability::BreakGlass)?;
        who.break_glass_reason = Some(reason.to_string());
    }
    // For the audit event, whatever the handler does next.
    req.extensions_mut().insert(who.clone());
    Ok(who)
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

/// Extractor: the authenticated caller. Handlers that take it cannot run unauthenticated.
pub struct Auth(pub Principal);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Auth, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal_from(&req, false).await.map(Auth) })
    }
}

/// Extractor for the one route where break-glass applies (reading one patient): like [`Auth`],
/// but honours `X-Break-Glass-Reason` for a caller holding the capability.
pub struct AuthBreakGlass(pub Principal);

impl FromRequest for AuthBreakGlass {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<AuthBreakGlass, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal_from(&req, true).await.map(AuthBreakGlass) })
    }
}

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

async fn principal_from(req: &HttpRequest, break_glass_route: bool) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(ApiError::Internal)?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the token is malformed".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be a Bearer token".into())
        })?;
    let claims = state.verifier.verify(token.trim()).await?;
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

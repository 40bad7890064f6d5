//! Bearer-token authentication. Development mode signs and verifies HS256 tokens with a key
//! generated under the data directory; every request that serves data needs a valid token.

use std::future::{Ready, ready};
use std::path::Path;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use revcycle_core::access::{
    Action, Capability, OrgId, PURPOSES_OF_USE, Principal, Resource, Role, Scopes, allowed, granted,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// The development signing key (HS256), kept in the data directory with mode 0600.
pub struct DevSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl DevSigner {
    pub fn load_or_create(path: &Path) -> std::io::Result<DevSigner> {
        let secret = if path.exists() {
            let text = std::fs::read_to_string(path)?;
            STANDARD
                .decode(text.trim())
                .map_err(|_| std::io::Error::other("token signing key file is not base64"))?
        } else {
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|_| std::io::Error::other("no system randomness"))?;
            crate::files::write_private(
                path,
                format!("{}\n", STANDARD.encode(&secret)).as_bytes(),
            )?;
            secret
        };
        Ok(DevSigner {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }

    pub fn issue(
        &self,
        sub: &str,
        org: Uuid,
        roles: &[Role],
        ttl_secs: i64,
        scope: Option<String>,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_string(),
            org,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            scope,
            client_id: None,
            purpose_of_use: None,
            iss: DEV_ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[DEV_ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                let why = match e.kind() {
                    K::ExpiredSignature => "the token has expired",
                    K::ImmatureSignature => "the token is not valid yet",
                    K::InvalidIssuer => "the token's issuer is not trusted",
                    K::InvalidAudience => "the token is not for this API",
                    K::InvalidSignature => "the token's signature is invalid",
                    K::InvalidAlgorithm => "the token's algorithm is not accepted",
                    _ => "the token is malformed",
                };
                ApiError::Unauthorized(why.to_string())
            })
    }
}

fn principal_from(req: &HttpRequest, break_glass_route: bool) -> Result<Principal, ApiError> {
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
    let claims = state.signer.verify(token.trim())?;
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
    type Future = Ready<Result<Auth, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_from(req, false).map(Auth))
    }
}

/// Extractor for the one route where break-glass applies (reading one patient): like [`Auth`],
/// but honours `X-Break-Glass-Reason` for a caller holding the capability.
pub struct AuthBreakGlass(pub Principal);

impl FromRequest for AuthBreakGlass {
    type Error = ApiError;
    type Future = Ready<Result<AuthBreakGlass, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_from(req, true).map(AuthBreakGlass))
    }
}

//! The claims of a bearer token, and the checks on them that do not depend on who signed it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::ApiError;

/// Issuer and audience of development tokens.
pub const DEV_ISSUER: &str = "revcycle-dev";
pub const AUDIENCE: &str = "revcycle-api";
/// Clock skew tolerated on `exp`/`nbf`.
pub const LEEWAY_SECS: u64 = 30;

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

/// The 401 for a token jsonwebtoken refused; the reason is generic, never the token's content.
pub fn token_error(e: &jsonwebtoken::errors::Error) -> ApiError {
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
pub fn check_claim_text(claims: &Claims) -> Result<(), ApiError> {
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

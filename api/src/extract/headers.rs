//! Request headers a write depends on: `Idempotency-Key` and `If-Match`.

use std::future::{Ready, ready};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::problem::ApiError;

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The optional `Idempotency-Key` header of a POST.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = match req.headers().get("Idempotency-Key") {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Ok(s) if !s.trim().is_empty() && s.len() <= MAX_IDEMPOTENCY_KEY_LEN => {
                    Ok(Some(s.trim().to_string()))
                }
                _ => Err(ApiError::BadRequest(format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
                ))),
            },
        };
        ready(key.map(IdempotencyKey))
    }
}

/// The version named by `If-Match`: one of our ETags, `"<version>"` (or its weak form), as
/// the document's pattern `^(W/)?"[0-9]+"$` says. `*`, lists and anything else are refused
/// with 400 (they would skip the optimistic-concurrency check the header exists for); an
/// ETag of the right shape beyond any version issued cannot match, so it fails with 412.
pub struct IfMatch(pub i32);

/// A version no resource ever has: versions start at 1.
pub(super) const NO_VERSION: i32 = -1;

pub(super) fn parse_if_match(
    v: &actix_web::http::header::HeaderValue,
) -> Result<IfMatch, ApiError> {
    v.to_str()
        .ok()
        .map(|s| s.strip_prefix("W/").unwrap_or(s))
        .and_then(|s| s.strip_prefix('"')?.strip_suffix('"'))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map(|n| IfMatch(n.parse::<i32>().unwrap_or(NO_VERSION)))
        .ok_or_else(|| ApiError::BadRequest("If-Match must be an ETag this API returned".into()))
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get(header::IF_MATCH) {
            None => Err(ApiError::PreconditionRequired),
            Some(v) => parse_if_match(v),
        })
    }
}

/// An `If-Match` that may be left out. When given it is never ignored (actix's `Option<T>`
/// would quietly turn a malformed header into none, skipping the check it asked for): a value
/// that is not one of our ETags cannot match, and the request fails its precondition (412),
/// as RFC 9110 answers an `If-Match` that does not match.
pub struct OptionalIfMatch(pub Option<IfMatch>);

impl FromRequest for OptionalIfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get(header::IF_MATCH) {
            None => Ok(OptionalIfMatch(None)),
            Some(v) => Ok(OptionalIfMatch(Some(
                parse_if_match(v).unwrap_or(IfMatch(NO_VERSION)),
            ))),
        })
    }
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

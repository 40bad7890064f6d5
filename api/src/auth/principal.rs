//! The authenticated caller of a request: the extractors that verify its token (or take the
//! claims the rate limiter already verified) and turn the claims into a [`Principal`].

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use revcycle_core::access::{Capability, OrgId, PURPOSES_OF_USE, Principal, Role, Scopes};

use super::claims::{bearer_token, check_claim_text};
use super::{BREAK_GLASS_HEADER, require_capability};
use crate::problem::ApiError;
use crate::state::AppState;

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
                .ok_or(ApiError::NoToken)?;
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

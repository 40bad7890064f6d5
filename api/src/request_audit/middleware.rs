//! The middleware that records the event of every routed `/v1` request its handler's
//! transaction did not record, before the response is released.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use revcycle_core::access::Principal;
use revcycle_core::audit::{AuditEvent, Disclosed, Outcome};
use revcycle_core::error::CoreError;
use revcycle_core::store;
use uuid::Uuid;

use super::context::{AuditNote, AuditedInTx, BreakGlassSealed, RequestMeta, event_for};
use super::writer::outcome_of;
use crate::state::AppState;

/// Fallback action when no extractor or handler noted one: the HTTP method.
fn action_of_method(method: &actix_web::http::Method) -> &'static str {
    match *method {
        actix_web::http::Method::GET | actix_web::http::Method::HEAD => "read",
        actix_web::http::Method::POST => "create",
        actix_web::http::Method::PUT | actix_web::http::Method::PATCH => "update",
        actix_web::http::Method::DELETE => "void",
        _ => "other",
    }
}

/// Records the event of every routed `/v1` request not already recorded by its transaction,
/// and holds the response until the event is committed.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !req.path().starts_with("/v1/") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let res = next.call(req).await?.map_into_boxed_body();
    if !state.audit.enabled()
        || res.response().extensions().get::<AuditedInTx>().is_some()
        // Unrouted paths name nothing; the 404 or 405 has no resource to account for.
        || res.request().match_pattern().is_none()
    {
        return Ok(res);
    }
    if res.request().extensions().get::<Principal>().is_none() {
        // No organization can be named: counted per source, not one event each.
        let meta = RequestMeta::of(res.request());
        state
            .audit
            .count_refusal(meta.source_ip, res.status().as_u16(), meta.user_agent);
        return Ok(res);
    }
    let event = build_event(&state, res.request(), res.response()).await;
    match state.audit.record(vec![event]).await {
        Ok(()) => Ok(res),
        Err(e) => {
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, e.error_response()))
        }
    }
}

async fn build_event(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    res: &HttpResponse<BoxBody>,
) -> AuditEvent {
    let who = req.extensions().get::<Principal>().cloned();
    let note = req.extensions().get::<AuditNote>().cloned();
    let action = note
        .as_ref()
        .map(|n| n.action)
        .unwrap_or_else(|| action_of_method(req.method()));
    let mut e = event_for(who.as_ref(), action);
    let status = res.status().as_u16();
    e.resource_type = note
        .as_ref()
        .and_then(|n| n.resource_type)
        .map(str::to_string);
    let path_id = req
        .match_info()
        .get("id")
        .and_then(|id| Uuid::parse_str(id).ok());
    e.resource_id = path_id.map(|id| id.to_string());
    if let Some(d) = res.extensions().get::<Disclosed>() {
        e.patient_ids = d.patient_ids.iter().copied().collect();
        e.fields_disclosed = d.fields.iter().map(|f| f.to_string()).collect();
    }
    // An attempt on one patient is that patient's business even when refused.
    if e.resource_type.as_deref() == Some("Patient")
        && let Some(id) = path_id
        && !e.patient_ids.contains(&id)
    {
        e.patient_ids.push(id);
    }
    if let Some(sealed) = res.extensions().get::<BreakGlassSealed>() {
        e.id = sealed.event_id;
        e.break_glass_reason = Some(sealed.reason_ct.clone());
    }
    e.outcome = outcome_of(status);
    e.http_status = status;
    // A 404 for an id that exists in another organization was a cross-tenant attempt.
    if status == 404
        && let (Some(who), Some(id), Some(rt)) = (&who, path_id, note.and_then(|n| n.resource_type))
    {
        let pool = state.pool.clone();
        let org = who.org;
        let elsewhere = web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| CoreError::Unavailable(e.to_string()))?;
            store::audit::owned_elsewhere(&mut conn, rt, id, org)
        })
        .await;
        if matches!(elsewhere, Ok(Ok(true))) {
            e.outcome = Outcome::Denied;
        }
    }
    let meta = RequestMeta::of(req);
    e.request_id = meta.request_id;
    e.source_ip = meta.source_ip;
    e.user_agent = meta.user_agent;
    e
}

//! `/v1/subscriptions`: webhook subscriptions (where the organization's events are pushed),
//! their signing secrets, test deliveries and the delivery log. Managed by the roles with the
//! `events.manage` capability (admins, billing apps).

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, put, web};
use revcycle_core::audit::Disclosed;
use revcycle_core::error::CoreResult;
use revcycle_core::model::Page;
use revcycle_core::model::event::{
    Delivery, Subscription, SubscriptionInput, SubscriptionWithSecret,
};
use revcycle_core::store::{DbConnection, events as store};
use revcycle_core::workflows::events::{self, ReplayInput, ReplayQueued};
use serde::Serialize;
use uuid::Uuid;

use crate::authz::{Capable, act, cap};
use crate::db;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, etag};
use crate::problem::{ApiResult, Problem};
use crate::request_audit::context::{AuditCtx, AuditedInTx};
use crate::routes::page_query::PageQuery;
use crate::state::AppState;
use crate::webhooks::check_url;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_subscription)
        .service(list_subscriptions)
        .service(get_subscription)
        .service(replace_subscription)
        .service(delete_subscription)
        .service(rotate_subscription_secret)
        .service(ping_subscription)
        .service(list_subscription_deliveries)
        .service(redeliver)
        .service(replay_subscription);
}

/// A write with its audit event in one transaction; `status` and the body as the answer.
async fn audited<T, F>(
    state: &AppState,
    audit: AuditCtx,
    status: u16,
    id: Uuid,
    f: F,
) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    db::run_tx(state, move |c| {
        let out = f(c)?;
        audit.append_in_tx(c, status, Some(id), &Disclosed::default())?;
        Ok(out)
    })
    .await
}

fn answer<T: Serialize>(status: u16, body: &T, version: Option<i32>) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    let mut resp = HttpResponse::build(status);
    if let Some(v) = version {
        resp.insert_header((header::ETAG, etag(v)));
    }
    let mut resp = resp.json(body);
    resp.extensions_mut().insert(AuditedInTx);
    resp
}

/// Create a webhook subscription
///
/// Events of the types asked for are sent to `url` as they commit, signed per
/// [Standard Webhooks](https://www.standardwebhooks.com/): headers `webhook-id` (the event's
/// id, the same on every attempt), `webhook-timestamp` and `webhook-signature` (`v1,` and the
/// base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes;
/// during a rotation's grace period two signatures, space-separated). The answer holds the
/// signing `secret` (`whsec_...`): it is shown this once.
///
/// `url` must be `https://` (plain `http://` only to a loopback address), and its host must
/// not be, or resolve to, a loopback, private, link-local, unspecified or multicast address
/// unless the operator allowed the host (`events_allowed_hosts`); it is checked again at
/// every connection. Any 2xx answer is a success; anything else is retried with exponential
/// backoff and jitter for three days, after which the delivery fails; a subscription whose
/// deliveries fail for five days without a success is disabled (its `disabled_reason` says
/// why). Events are thin (ids, types, statuses, amounts, times, never patient data): read the
/// details through the API. Event documents: the `*Event` schemas.
#[utoipa::path(tag = "events", request_body = SubscriptionInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 201, description = "The subscription with its signing secret (shown once)", body = SubscriptionWithSecret,
            headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "A field is invalid, or the URL points at an address webhooks may not reach", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/url", "message": "points at a private address, which webhooks may not reach"}]}))))]
#[post("/subscriptions")]
pub async fn create_subscription(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<SubscriptionInput>,
) -> ApiResult<HttpResponse> {
    check_url(&body.value.url, &state.events).await?;
    let (org, keyring, input) = (who.org, state.keyring.clone(), body.value);
    db::create(
        &state,
        &who,
        audit,
        "/v1/subscriptions",
        key.0,
        body.hash,
        move |c| events::create(c, &keyring, org, &input),
    )
    .await
}

/// List webhook subscriptions
///
/// The organization's subscriptions, oldest first (never their secrets).
#[utoipa::path(tag = "events", params(PageQuery),
    responses((status = 200, description = "A page of subscriptions", body = Page<Subscription>)))]
#[get("/subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    Capable { who, .. }: Capable<cap::EventsManage, act::Search>,
    page: crate::extract::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (org, page) = (who.org, page.params());
    let p = db::run(&state, move |c| store::list_subscriptions(c, org, &page)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Read a webhook subscription
///
/// Its `status` is `active`, `paused` or `disabled` (with `disabled_reason`).
#[utoipa::path(tag = "events", params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 200, description = "The subscription", body = Subscription, headers(("ETag" = String))),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json")))]
#[get("/subscriptions/{id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    Capable { who, .. }: Capable<cap::EventsManage, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (org, id) = (who.org, id.into_inner());
    let s = db::run(&state, move |c| store::get_subscription(c, org, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(s.version)))
        .json(s))
}

/// Replace a webhook subscription
///
/// A new URL, event types, description or pause, as a new version of the one `If-Match`
/// names (412 when it changed since). `"paused": false` also enables a subscription that was
/// disabled after sustained failure. The URL is checked as at creation.
#[utoipa::path(tag = "events", request_body = SubscriptionInput,
    params(("id" = Uuid, Path, description = "Subscription id"),
        ("If-Match" = String, Header, description = "ETag of the subscription version read")),
    responses((status = 200, description = "The subscription", body = Subscription, headers(("ETag" = String))),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json")))]
#[put("/subscriptions/{id}")]
pub async fn replace_subscription(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<SubscriptionInput>,
) -> ApiResult<HttpResponse> {
    let (org, id, input) = (who.org, id.into_inner(), body.value);
    // Another tenant's id is 404 before its URL is looked at.
    db::run(&state, move |c| store::get_subscription(c, org, id)).await?;
    check_url(&input.url, &state.events).await?;
    let s = audited(&state, audit, 200, id, move |c| {
        events::replace(c, org, id, if_match.0, &input)
    })
    .await?;
    Ok(answer(200, &s, Some(s.version)))
}

/// Delete a webhook subscription
///
/// Nothing more is sent to it; deliveries still waiting are canceled.
#[utoipa::path(tag = "events", params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json")))]
#[delete("/subscriptions/{id}")]
pub async fn delete_subscription(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Void>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (org, id) = (who.org, id.into_inner());
    audited(&state, audit, 204, id, move |c| {
        store::delete_subscription(c, org, id)
    })
    .await?;
    let mut resp = HttpResponse::NoContent().finish();
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

/// Rotate a subscription's signing secret
///
/// A new secret, shown in this answer only, signs from now on; the previous one keeps
/// signing beside it (two signatures in `webhook-signature`) until
/// `previous_secret_expires_at` (a day by default), so a receiver can switch without losing
/// a delivery.
#[utoipa::path(tag = "events", params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 200, description = "The subscription with its new secret (shown once)", body = SubscriptionWithSecret),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json")))]
#[post("/subscriptions/{id}/rotate-secret")]
pub async fn rotate_subscription_secret(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Update>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (org, id, keyring) = (who.org, id.into_inner(), state.keyring.clone());
    let grace = state.events.secret_grace;
    let s = audited(&state, audit, 200, id, move |c| {
        events::rotate_secret(c, &keyring, org, id, grace)
    })
    .await?;
    Ok(answer(200, &s, Some(s.subscription.version)))
}

/// Send a test event
///
/// Queues a `ping` event (`{"type": "ping", "data": {"subscription_id": ...}}`) for this
/// subscription alone, delivered and logged like any other. 409 when the subscription is
/// disabled.
#[utoipa::path(tag = "events", params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 202, description = "The ping's delivery, queued", body = Delivery),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is disabled", body = Problem, content_type = "application/problem+json")))]
#[post("/subscriptions/{id}/ping")]
pub async fn ping_subscription(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Update>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (org, id) = (who.org, id.into_inner());
    let d = audited(&state, audit, 202, id, move |c| events::ping(c, org, id)).await?;
    Ok(answer(202, &d, None))
}

/// A subscription's delivery log
///
/// Every event sent (or to be sent) to the subscription, oldest first, with each attempt's
/// status code (or what failed), latency and time. The receiver's response bodies are never
/// kept.
#[utoipa::path(tag = "events", params(("id" = Uuid, Path, description = "Subscription id"), PageQuery),
    responses((status = 200, description = "A page of deliveries", body = Page<Delivery>),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json")))]
#[get("/subscriptions/{id}/deliveries")]
pub async fn list_subscription_deliveries(
    state: web::Data<AppState>,
    Capable { who, .. }: Capable<cap::EventsManage, act::Read>,
    id: web::Path<Uuid>,
    page: crate::extract::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (org, id, page) = (who.org, id.into_inner(), page.params());
    let p = db::run(&state, move |c| store::list_deliveries(c, org, id, &page)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Deliver an event again
///
/// The delivery is due again now (delivered, failed or waiting), with a new retry window;
/// the receiver gets the same `webhook-id`.
#[utoipa::path(tag = "events",
    params(("id" = Uuid, Path, description = "Subscription id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses((status = 202, description = "The delivery, due again", body = Delivery),
        (status = 404, description = "No such subscription or delivery", body = Problem, content_type = "application/problem+json")))]
#[post("/subscriptions/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Update>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let (id, delivery) = path.into_inner();
    let d = audited(&state, audit, 202, id, move |c| {
        store::redeliver(c, org, id, delivery)
    })
    .await?;
    Ok(answer(202, &d, None))
}

/// Replay events from a point in time
///
/// Queues again, as new deliveries, every event of the subscription's (current) event types
/// that committed from `since` (and before `until`, default now), oldest first. Each is sent
/// with its event's id as `webhook-id`, as the first time, so a receiver that kept the ids it
/// saw ignores what it already has. Answers 202 with the number queued (0 when nothing
/// committed then). At most 10000 events per replay: a longer span is replayed in parts.
/// 422 (pointer `/since`) when `since` is not RFC 3339, lies in the future or spans too many
/// events; 409 when the subscription is disabled.
#[utoipa::path(tag = "events", request_body = ReplayInput,
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 202, description = "The deliveries queued", body = ReplayQueued,
            example = json!({"queued": 12, "since": "2026-12-01T00:00:00Z", "until": "2026-12-07T03:30:00.123456Z"})),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`since` or `until` is invalid", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/since", "message": "must not be in the future"}]}))))]
#[post("/subscriptions/{id}/replay")]
pub async fn replay_subscription(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::EventsManage, act::Update>,
    id: web::Path<Uuid>,
    body: JsonBody<ReplayInput>,
) -> ApiResult<HttpResponse> {
    let (org, id, input) = (who.org, id.into_inner(), body.value);
    let r = audited(&state, audit, 202, id, move |c| {
        events::replay(c, org, id, &input)
    })
    .await?;
    Ok(answer(202, &r, None))
}

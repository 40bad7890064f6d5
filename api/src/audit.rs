//! Every `/v1` request leaves an audit event, written before its response goes out.
//!
//! - Writes record their event inside their own transaction ([`AuditCtx`], used by `db`), so
//!   the change and its event commit together or not at all.
//! - Everything else (reads, searches, refusals, failures) is recorded by [`middleware`] after
//!   the handler and before the response is released, through the process's group-commit
//!   [`AuditWriter`] (the audit store's group-commit writer): one thread takes the events of
//!   all concurrent requests, commits them in one transaction, then releases every waiting
//!   request. If the event cannot be written, the response is replaced by 503: no PHI is
//!   served unaudited.
//! - On PostgreSQL both commit into the unchained intake, and the sequencer chains them
//!   afterwards (`revcycle_core::store::audit_intake`); on SQLite they are chained at once.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use revcycle_core::access::Principal;
use revcycle_core::audit::{AuditEvent, Disclosed, Outcome, SYSTEM_ORG};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit_writer::GroupCommitWriter;
use revcycle_core::store::{self, DbConnection, DbPool};
use uuid::Uuid;

use crate::problem::ApiError;
use crate::startup::RequestId;
use crate::state::AppState;

const USER_AGENT_MAX: usize = 256;

/// What the request is about, noted by the authorization extractor or the handler.
#[derive(Debug, Clone)]
pub struct AuditNote {
    pub action: &'static str,
    pub resource_type: Option<&'static str>,
}

/// Notes the action and resource type of the request for its audit event.
pub fn note(req: &HttpRequest, action: &'static str, resource_type: Option<&'static str>) {
    req.extensions_mut().insert(AuditNote {
        action,
        resource_type,
    });
}

/// Set on a response by the handler: the event id to use and the sealed break-glass reason.
#[derive(Debug, Clone)]
pub struct BreakGlassSealed {
    pub event_id: Uuid,
    pub reason_ct: Vec<u8>,
}

/// Set on a response whose event was written in the handler's own transaction.
#[derive(Debug, Clone, Copy)]
pub struct AuditedInTx;

fn audit_unavailable() -> ApiError {
    ApiError::Core(CoreError::Unavailable(
        "the audit trail could not record this request; nothing was disclosed".into(),
    ))
}

/// Most (source, status) pairs counted in one window; past it, further sources are counted
/// together under no address, so a flood from many addresses cannot grow memory.
const TALLY_MAX: usize = 50_000;

/// Refused requests that name no organization (no token, or one that did not verify or names
/// no active organization), counted per source address, status and window instead of one
/// event each: such a flood must not fill six years of storage. Each count becomes one event
/// of the system chain when its window ends.
struct RefusalTally {
    window_secs: i64,
    counts: std::sync::Mutex<std::collections::HashMap<TallyKey, Tallied>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TallyKey {
    window_start: i64,
    source_ip: Option<String>,
    status: u16,
}

struct Tallied {
    count: u64,
    user_agent: Option<String>,
}

impl RefusalTally {
    fn add(&self, source_ip: Option<String>, status: u16, user_agent: Option<String>) {
        let now = chrono::Utc::now().timestamp();
        let mut key = TallyKey {
            window_start: now - now.rem_euclid(self.window_secs),
            source_ip,
            status,
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= TALLY_MAX && !counts.contains_key(&key) {
            key.source_ip = None;
        }
        let t = counts.entry(key).or_insert(Tallied {
            count: 0,
            user_agent: None,
        });
        t.count += 1;
        t.user_agent = user_agent;
    }

    /// The events of every window that has ended (every window, when `all`), taken out.
    fn take_ended(&self, all: bool) -> Vec<AuditEvent> {
        let now = chrono::Utc::now().timestamp();
        let current = now - now.rem_euclid(self.window_secs);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let ended: Vec<TallyKey> = counts
            .keys()
            .filter(|k| all || k.window_start < current)
            .cloned()
            .collect();
        let mut events = Vec::with_capacity(ended.len());
        for key in ended {
            let Some(t) = counts.remove(&key) else {
                continue;
            };
            let mut e = AuditEvent::now(SYSTEM_ORG, "-", REFUSALS_ACTION);
            e.resource_type = Some("Request".into());
            e.resource_id = Some(t.count.to_string());
            e.outcome = outcome_of(key.status);
            e.http_status = key.status;
            e.source_ip = key.source_ip;
            e.user_agent = t.user_agent;
            events.push(e);
        }
        events
    }

    /// Counts again the refusals of `events` that could not be written, to be retried with
    /// the next window.
    fn restore(&self, events: Vec<AuditEvent>) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for e in events {
            let count: u64 = e
                .resource_id
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let key = TallyKey {
                window_start: 0,
                source_ip: e.source_ip,
                status: e.http_status,
            };
            counts
                .entry(key)
                .or_insert(Tallied {
                    count: 0,
                    user_agent: None,
                })
                .count += count;
        }
    }
}

/// Writes the counts of ended windows (every window, when `all`) through `writer`; on failure
/// they are counted again, to be retried.
fn flush_refusals(writer: &GroupCommitWriter, refusals: &Arc<RefusalTally>, all: bool) {
    let events = refusals.take_ended(all);
    if events.is_empty() {
        return;
    }
    let retry = events.clone();
    if let Err(e) = writer.write_blocking(events, std::time::Duration::from_secs(30)) {
        tracing::warn!(error = %e, "refused requests could not be recorded; retrying");
        refusals.restore(retry);
    }
}

/// The action of a system-chain event that counts refused requests: `resource_id` holds how
/// many came from `source_ip` with `http_status` in one window.
pub const REFUSALS_ACTION: &str = "requests.refused";

/// The process's audit writer: the group-commit writer of the audit store, and the tally of
/// refusals it writes once a second.
pub struct AuditWriter {
    writer: Option<Arc<GroupCommitWriter>>,
    refusals: Arc<RefusalTally>,
}

impl AuditWriter {
    /// Starts the group-commit writer on a connection of its own, and the thread that writes
    /// the counts of refusals naming no organization once each `refusal_window` ends.
    pub fn start(
        database_url: &str,
        refusal_window: std::time::Duration,
        writers: Option<usize>,
    ) -> Result<Arc<AuditWriter>, CoreError> {
        let writer = Arc::new(GroupCommitWriter::start(database_url, writers)?);
        let refusals = Arc::new(RefusalTally {
            window_secs: refusal_window.as_secs().max(1) as i64,
            counts: Default::default(),
        });
        let (w, tally) = (Arc::downgrade(&writer), refusals.clone());
        std::thread::Builder::new()
            .name("audit-refusals".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    // Ends with the server's writer.
                    let Some(writer) = w.upgrade() else { return };
                    flush_refusals(&writer, &tally, false);
                }
            })
            .map_err(|e| CoreError::Unavailable(format!("audit refusal thread: {e}")))?;
        Ok(Arc::new(AuditWriter {
            writer: Some(writer),
            refusals,
        }))
    }

    /// Records nothing: only for measuring what auditing costs, in builds with the
    /// `unaudited-benchmark` feature.
    pub fn disabled() -> Arc<AuditWriter> {
        Arc::new(AuditWriter {
            writer: None,
            refusals: Arc::new(RefusalTally {
                window_secs: 60,
                counts: Default::default(),
            }),
        })
    }

    pub fn enabled(&self) -> bool {
        self.writer.is_some()
    }

    /// Records `events` durably; returns once they are committed.
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<(), ApiError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let (done, wait) = tokio::sync::oneshot::channel();
        writer
            .submit(
                events,
                Box::new(move |r| {
                    let _ = done.send(r);
                }),
            )
            .map_err(|_| audit_unavailable())?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => {
                tracing::error!(error = %why, "audit write failed; request refused");
                Err(audit_unavailable())
            }
            Err(_) => Err(audit_unavailable()),
        }
    }
}

impl Drop for AuditWriter {
    /// A server stopping writes the counts of the windows still open.
    fn drop(&mut self) {
        if let Some(writer) = &self.writer {
            flush_refusals(writer, &self.refusals, true);
        }
    }
}

/// Who made the request and how it reached us, captured during extraction so a handler's
/// transaction can write the request's event.
#[derive(Debug, Clone)]
pub struct AuditCtx {
    enabled: bool,
    who: Principal,
    action: &'static str,
    resource_type: &'static str,
    request_id: Option<String>,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

impl AuditCtx {
    pub fn new(
        req: &HttpRequest,
        who: &Principal,
        action: &'static str,
        resource_type: &'static str,
    ) -> AuditCtx {
        let enabled = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.audit.enabled());
        let meta = RequestMeta::of(req);
        AuditCtx {
            enabled,
            who: who.clone(),
            action,
            resource_type,
            request_id: meta.request_id,
            source_ip: meta.source_ip,
            user_agent: meta.user_agent,
        }
    }

    /// For work that arrives other than over HTTP (an MLLP connection).
    pub fn for_channel(
        enabled: bool,
        who: &Principal,
        action: &'static str,
        resource_type: &'static str,
        request_id: String,
        source_ip: Option<String>,
    ) -> AuditCtx {
        AuditCtx {
            enabled,
            who: who.clone(),
            action,
            resource_type,
            request_id: Some(request_id),
            source_ip,
            user_agent: None,
        }
    }

    /// The event this context describes, with an outcome (recorded through the writer).
    pub fn event(&self, outcome: Outcome, status: u16, disclosed: &Disclosed) -> AuditEvent {
        let mut e = event_for(Some(&self.who), self.action);
        e.resource_type = Some(self.resource_type.to_string());
        e.patient_ids = disclosed.patient_ids.iter().copied().collect();
        e.fields_disclosed = disclosed.fields.iter().map(|f| f.to_string()).collect();
        e.outcome = outcome;
        e.http_status = status;
        e.request_id = self.request_id.clone();
        e.source_ip = self.source_ip.clone();
        e
    }

    /// The same request, recording another action (an import's records, one by one).
    pub fn with(&self, action: &'static str, resource_type: &'static str) -> AuditCtx {
        AuditCtx {
            action,
            resource_type,
            ..self.clone()
        }
    }

    /// Writes the successful request's event in the caller's transaction.
    pub fn append_in_tx(
        &self,
        conn: &mut DbConnection,
        status: u16,
        resource_id: Option<Uuid>,
        disclosed: &Disclosed,
    ) -> Result<(), CoreError> {
        if !self.enabled {
            return Ok(());
        }
        let mut e = event_for(Some(&self.who), self.action);
        e.resource_type = Some(self.resource_type.to_string());
        e.resource_id = resource_id.map(|id| id.to_string());
        e.patient_ids = disclosed.patient_ids.iter().copied().collect();
        e.fields_disclosed = disclosed.fields.iter().map(|f| f.to_string()).collect();
        e.outcome = Outcome::Success;
        e.http_status = status;
        e.request_id = self.request_id.clone();
        e.source_ip = self.source_ip.clone();
        e.user_agent = self.user_agent.clone();
        // Said as such: the write rolls back and the client gets 503, as for a read.
        store::audit_intake::intake(conn, vec![e]).map_err(|e| {
            tracing::error!(error = %e, "audit write failed; the write was rolled back");
            CoreError::Unavailable(
                "the audit trail could not record this request; nothing was changed".into(),
            )
        })
    }
}

struct RequestMeta {
    request_id: Option<String>,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

impl RequestMeta {
    fn of(req: &HttpRequest) -> RequestMeta {
        RequestMeta {
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
            // As the limiter resolved it: the peer, or the client behind a trusted proxy
            // (X-Forwarded-For from anyone else is the client's own word, not believed).
            source_ip: match req.extensions().get::<crate::limits::Source>() {
                Some(s) => s.0.map(|ip| ip.to_string()),
                None => req.peer_addr().map(|a| a.ip().to_string()),
            },
            user_agent: req
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(USER_AGENT_MAX).collect()),
        }
    }
}

fn event_for(who: Option<&Principal>, action: &str) -> AuditEvent {
    match who {
        Some(who) => {
            let mut e = AuditEvent::now(who.org.0, who.subject.clone(), action);
            e.roles = who.roles.iter().map(|r| r.as_str().to_string()).collect();
            e.client_id = who.client_id.clone();
            e.purpose_of_use = who.purpose_of_use.clone();
            e
        }
        None => AuditEvent::now(SYSTEM_ORG, "-", action),
    }
}

fn outcome_of(status: u16) -> Outcome {
    match status {
        200..=399 => Outcome::Success,
        401 | 403 => Outcome::Denied,
        _ => Outcome::Failed,
    }
}

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
            .refusals
            .add(meta.source_ip, res.status().as_u16(), meta.user_agent);
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

/// Records an event from outside a request (server start, CLI commands), synchronously.
pub fn record_now(pool: &DbPool, event: AuditEvent) -> Result<(), CoreError> {
    let mut conn = pool
        .get()
        .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))?;
    store::write_transaction(&mut conn, |c| store::audit::append(c, vec![event])).map(|_| ())
}

//! What a request's audit event says about it: noted by extractors and handlers, and the
//! context a handler's transaction writes its event with.

use actix_web::{HttpMessage, HttpRequest, web};
use revcycle_core::access::Principal;
use revcycle_core::audit::{AuditEvent, Disclosed, Outcome, SYSTEM_ORG};
use revcycle_core::error::CoreError;
use revcycle_core::store::{self, DbConnection};
use uuid::Uuid;

use crate::request_id::RequestId;
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

/// Where a request came from, as its audit event records it.
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn of(req: &HttpRequest) -> RequestMeta {
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

pub fn event_for(who: Option<&Principal>, action: &str) -> AuditEvent {
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

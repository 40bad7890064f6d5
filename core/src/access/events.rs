//! Security events raised by access decisions, handed to a sink. The audit trail implements
//! [`SecurityEventSink`] to record them durably; until then the server logs them (without
//! the free-text reason, which may name a patient).

use uuid::Uuid;

use super::principal::OrgId;

#[derive(Debug, Clone)]
pub enum SecurityEvent {
    /// A caller read a patient beyond their normal scope, stating a reason.
    BreakGlass {
        org: OrgId,
        actor: String,
        client_id: Option<String>,
        patient_id: Uuid,
        reason: String,
        request_id: Option<String>,
    },
}

/// Where security events go. `record` runs before the response is sent; an error fails the
/// request, so an unrecorded break-glass access never returns data.
pub trait SecurityEventSink: Send + Sync {
    fn record(&self, event: &SecurityEvent) -> Result<(), String>;
}

/// Writes events to the server log at warning level, leaving out free text.
pub struct LogSink;

impl SecurityEventSink for LogSink {
    fn record(&self, event: &SecurityEvent) -> Result<(), String> {
        match event {
            SecurityEvent::BreakGlass {
                org,
                actor,
                client_id,
                patient_id,
                reason,
                request_id,
            } => tracing::warn!(
                org = %org.0,
                actor = %actor,
                client_id = client_id.as_deref().unwrap_or("-"),
                patient_id = %patient_id,
                reason_chars = reason.chars().count(),
                request_id = request_id.as_deref().unwrap_or("-"),
                "break-glass access"
            ),
        }
        Ok(())
    }
}

//! What the audit-event routes share: the resource type they record, and the filters of the
//! list and the export.

use chrono::{DateTime, Utc};
use revcycle_core::audit::Outcome;
use revcycle_core::store::audit::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub const RESOURCE: &str = "AuditEvent";

/// Filters shared by the list and the export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events that touched this patient (reads, searches that returned them, writes, refusals).
    pub patient_id: Option<Uuid>,
    /// The token subject (`sub`) who made the request; `-` for unidentified callers.
    pub actor: Option<String>,
    /// `read`, `search`, `create`, `update`, `void`, `export`, `post`, `submit`, or a named
    /// operation such as `keys.rotate`.
    pub action: Option<String>,
    /// `Patient`, `Coverage`, `Encounter`, `Claim`, `Remittance`, `Payer`, `Provider`,
    /// `AuditEvent`, `DataKey`.
    pub resource_type: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive, RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive, RFC 3339.
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            patient: self.patient_id,
            actor: self.actor.clone(),
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            outcome: self.outcome,
            from: self.from,
            to: self.to,
            up_to: None,
            patient_from_events: false,
        }
    }
}

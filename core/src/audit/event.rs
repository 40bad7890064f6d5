//! One audit event. It says who did what to which records, and which kinds of PHI left the
//! system (field names), and never carries a PHI value.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// How a request ended, from the audit trail's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Refused by authentication, authorization or tenant isolation.
    Denied,
    /// Failed for another reason (validation, conflict, server error).
    Failed,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub org: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The token's `sub`, or `-` when the caller could not be identified.
    pub actor: String,
    pub roles: Vec<String>,
    pub client_id: Option<String>,
    pub purpose_of_use: Option<String>,
    /// e.g. `read`, `search`, `create`, `break_glass`, `keys.rotate`, `token.rejected`.
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Every patient whose data the request touched (all patients returned by a search).
    pub patient_ids: Vec<Uuid>,
    /// Names of the PHI fields disclosed (e.g. `ssn`, `birth_date`), never values.
    pub fields_disclosed: Vec<String>,
    pub outcome: Outcome,
    pub http_status: u16,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub break_glass: bool,
}

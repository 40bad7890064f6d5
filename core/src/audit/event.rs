//! One audit event. It says who did what to which records, and which kinds of PHI left the
//! system (field names), and never carries a PHI value.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// How a request ended, from the audit trail's point of view.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Refused by authentication, authorization or tenant isolation.
    Denied,
    /// Failed for another reason (validation, conflict, server error).
    Failed,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Success, Outcome::Denied, Outcome::Failed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

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
    /// Unique across orgs; the FHIR AuditEvent id in exports.
    pub id: Uuid,
    /// The chain this event belongs to: the caller's org, or [`SYSTEM_ORG`].
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
    /// The break-glass reason, sealed under the org's data key: free text can name a patient,
    /// so the trail stores only ciphertext (and the chain hashes that ciphertext).
    pub break_glass_reason: Option<Vec<u8>>,
}

/// The chain of events no organization can be named for: requests whose token could not be
/// verified, server starts. Read with `revcycle audit` commands, not over the API.
pub const SYSTEM_ORG: Uuid = Uuid::nil();

impl AuditEvent {
    /// An event stamped now, to microseconds: the chain hashes microseconds, and both engines
    /// store them exactly.
    pub fn now(org: Uuid, actor: impl Into<String>, action: impl Into<String>) -> AuditEvent {
        let now = Utc::now();
        let occurred_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        AuditEvent {
            id: Uuid::now_v7(),
            org,
            occurred_at,
            actor: actor.into(),
            roles: Vec::new(),
            client_id: None,
            purpose_of_use: None,
            action: action.into(),
            resource_type: None,
            resource_id: None,
            patient_ids: Vec::new(),
            fields_disclosed: Vec::new(),
            outcome: Outcome::Success,
            http_status: 0,
            request_id: None,
            source_ip: None,
            user_agent: None,
            break_glass_reason: None,
        }
    }

    pub fn break_glass(&self) -> bool {
        self.break_glass_reason.is_some()
    }
}

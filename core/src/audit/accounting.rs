//! The accounting of disclosures (45 CFR 164.528): for one patient, every time their PHI left
//! the system, to whom, why and what.
//!
//! 164.528(a)(1) lets a covered entity leave out disclosures for treatment, payment and health
//! care operations, to the individual, and to people involved in their care. The accounting
//! leaves those out by default (judged by the token's HL7 PurposeOfUse) and lists everything
//! when asked. A disclosure with no stated purpose cannot be shown to be exempt, so it is
//! listed; so is every break-glass access.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::event::{AuditEvent, Outcome};

/// PurposeOfUse codes whose disclosures 164.528(a)(1) exempts from the accounting.
pub const EXEMPT_PURPOSES: &[&str] = &[
    // (i) treatment, payment, health care operations
    "TREAT",
    "ETREAT",
    "CAREMGT",
    "HPAYMT",
    "HOPERAT",
    "HSYSADMIN",
    // (ii) to the individual
    "PATRQT",
    // (iv) persons involved in the individual's care
    "FAMRQT",
];

/// Actions by which PHI leaves the system.
const DISCLOSING_ACTIONS: &[&str] = &["read", "search", "export"];

/// Whether the event disclosed `patient`'s PHI: a successful read, search or export that
/// returned some of their fields.
pub fn discloses(e: &AuditEvent, patient: Uuid) -> bool {
    e.outcome == Outcome::Success
        && DISCLOSING_ACTIONS.contains(&e.action.as_str())
        && !e.fields_disclosed.is_empty()
        && e.patient_ids.contains(&patient)
}

/// Whether 164.528 requires listing the event (as opposed to allowing it to be left out).
pub fn must_be_accounted(e: &AuditEvent) -> bool {
    e.break_glass()
        || e.purpose_of_use
            .as_deref()
            .is_none_or(|p| !EXEMPT_PURPOSES.contains(&p))
}

/// One line of the accounting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisclosureEntry {
    /// When the PHI was disclosed.
    pub date: DateTime<Utc>,
    /// Who received it: the token's subject, and the client application.
    pub recipient: Recipient,
    /// HL7 PurposeOfUse code; absent when the token stated none.
    pub purpose: Option<String>,
    /// What was done: `read`, `search` or `export` of a resource type.
    pub description: String,
    /// Which PHI fields were disclosed (names, never values).
    pub fields_disclosed: Vec<String>,
    pub break_glass: bool,
    /// Whether 164.528(a)(1) exempts it (listed only with `include=all`).
    pub exempt: bool,
    /// The audit event behind this line.
    pub audit_sequence: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recipient {
    pub actor: String,
    pub client_id: Option<String>,
}

impl DisclosureEntry {
    pub fn new(sequence: i64, e: &AuditEvent) -> DisclosureEntry {
        DisclosureEntry {
            date: e.occurred_at,
            recipient: Recipient {
                actor: e.actor.clone(),
                client_id: e.client_id.clone(),
            },
            purpose: e.purpose_of_use.clone(),
            description: format!(
                "{} {}",
                e.action,
                e.resource_type.as_deref().unwrap_or("record")
            ),
            fields_disclosed: e.fields_disclosed.clone(),
            break_glass: e.break_glass(),
            exempt: !must_be_accounted(e),
            audit_sequence: sequence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(purpose: Option<&str>, patient: Uuid) -> AuditEvent {
        let mut e = AuditEvent::now(Uuid::from_u128(1), "u", "read");
        e.purpose_of_use = purpose.map(str::to_string);
        e.patient_ids = vec![patient];
        e.fields_disclosed = vec!["mrn".into()];
        e.http_status = 200;
        e
    }

    #[test]
    fn payment_reads_are_exempt_research_and_unstated_purposes_are_not() {
        let p = Uuid::from_u128(5);
        assert!(discloses(&read(Some("HPAYMT"), p), p));
        assert!(!must_be_accounted(&read(Some("HPAYMT"), p)));
        assert!(must_be_accounted(&read(Some("HRESCH"), p)));
        assert!(must_be_accounted(&read(None, p)));
        let mut bg = read(Some("TREAT"), p);
        bg.break_glass_reason = Some(vec![1]);
        assert!(must_be_accounted(&bg));
    }

    #[test]
    fn writes_refusals_and_other_patients_are_not_disclosures() {
        let p = Uuid::from_u128(5);
        let mut denied = read(None, p);
        denied.outcome = Outcome::Denied;
        assert!(!discloses(&denied, p));
        let mut create = read(None, p);
        create.action = "create".into();
        assert!(!discloses(&create, p));
        assert!(!discloses(&read(None, p), Uuid::from_u128(6)));
    }
}

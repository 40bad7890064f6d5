//! EHR feed: patients, coverage, encounters, and the acknowledgments of an import.

use serde::{Deserialize, Serialize};

use super::*;

/// A patient as an EHR knows them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Patient {
    /// The feed's identity (e.g. the FHIR base URL or HL7 sending facility).
    pub source_system: String,
    /// The patient's id in that system.
    pub external_id: String,
    pub mrn: Option<String>,
    /// The namespace of `mrn`: who assigned it (FHIR `Identifier.system`, HL7 PID-3.4
    /// assigning authority). A patient is matched on this and `mrn` together, never on the
    /// bare value. Added in schema 1 as an optional field: absent reads as `None`.
    pub mrn_system: Option<String>,
    /// The legal/official name.
    pub name: PersonName,
    /// Other names (maiden, alias).
    pub other_names: Vec<PersonName>,
    pub birth_date: Option<String>,
    pub sex: Sex,
    pub ssn: Option<String>,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// An insurance coverage of a patient.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Coverage {
    pub source_system: String,
    pub external_id: Option<String>,
    /// The covered patient's `external_id` in the same source system.
    pub patient_external_id: String,
    pub payer: PayerRef,
    pub member_id: String,
    pub group_number: Option<String>,
    pub group_name: Option<String>,
    pub plan_name: Option<String>,
    pub relationship: SubscriberRelationship,
    /// The insured, when not the patient.
    pub subscriber: Option<Subscriber>,
    pub priority: CoveragePriority,
    pub period: Period,
}

/// A coded visit.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Encounter {
    pub source_system: String,
    pub external_id: String,
    pub patient_external_id: String,
    pub date_of_service: String,
    pub end_date: Option<String>,
    /// CMS place-of-service code (`"11"` office...).
    pub place_of_service: Option<String>,
    pub billing_provider_npi: Option<String>,
    pub rendering_provider_npi: Option<String>,
    pub referring_provider_npi: Option<String>,
    pub service_facility_npi: Option<String>,
    /// ICD-10-CM codes in order, principal first.
    pub diagnoses: Vec<String>,
    pub service_lines: Vec<ServiceLine>,
    /// Credits (reversals) of charges sent in earlier messages of this visit, each naming
    /// the charge by the ids its sender gave it. Added in schema 1 as an optional field:
    /// absent reads as none.
    pub credits: Vec<LineCredit>,
}

/// A credit of an earlier charge: the charge's transaction id (HL7 FT1-2, the line's
/// `line_control_number`) or its filler order number (FT1-23).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineCredit {
    pub transaction_id: Option<String>,
    pub filler_order_number: Option<String>,
}

/// One record of an import.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImportRecord {
    Patient(Patient),
    Coverage(Coverage),
    Encounter(Encounter),
    /// A record type this host does not know; skipped.
    #[serde(other)]
    Unknown,
}

/// A record the plugin could not translate. `message` must not quote PHI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportIssue {
    /// Position in the source feed (message number, bundle entry index...).
    pub position: Option<u64>,
    pub code: String,
    pub message: String,
}

/// The output of an EHR import operation.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportResult {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub records: Vec<ImportRecord>,
    pub issues: Vec<ImportIssue>,
    /// Opaque cursor to resume a paged feed; absent when done.
    pub next_cursor: Option<String>,
    /// Opaque to the host. When present and the plugin offers the
    /// [`ACKNOWLEDGE_OPERATION`], the host applies `records`, then calls that operation
    /// with this value and one [`RecordOutcome`] per record ([`AcknowledgeInput`]), so the
    /// plugin can answer the sender (e.g. HL7 ACKs) with what was really applied.
    pub ack_context: Option<serde_json::Value>,
}

/// The operation that turns the host's per-record outcomes into the feed's own
/// acknowledgments. Input [`AcknowledgeInput`]; output [`AcknowledgeOutput`].
pub const ACKNOWLEDGE_OPERATION: &str = "acknowledge";

/// What the host did with one record of an import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Created,
    Updated,
    Unchanged,
    #[default]
    Rejected,
}

/// Why a record (or one of its values) was refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorKind {
    /// A required value is missing.
    Missing,
    /// A value names something the host does not know (a payer, provider, patient).
    UnknownReference,
    /// The host could not store the record (not the sender's fault).
    Internal,
    /// The record may not be changed now (an encounter already on a claim). An older
    /// side reads it as `invalid`.
    Locked,
    /// A value breaks a rule (format, code set, range); also any kind this side does
    /// not know.
    #[default]
    #[serde(other)]
    Invalid,
}

/// One refused value: a JSON pointer into the canonical record as the plugin emitted it
/// (`/service_lines/1/charge`; empty for the whole record) and the rule, never the value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldError {
    pub pointer: String,
    pub kind: FieldErrorKind,
    pub message: String,
}

/// The outcome of the record at `index` in [`ImportResult::records`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordOutcome {
    pub index: u64,
    pub status: OutcomeStatus,
    /// Why it was rejected (empty unless `rejected`).
    pub errors: Vec<FieldError>,
    /// Optional values the host dropped from an applied record.
    pub warnings: Vec<FieldError>,
}

/// The input of the acknowledge operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcknowledgeInput {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// [`ImportResult::ack_context`], as the plugin returned it.
    pub context: serde_json::Value,
    /// One per record the host was given, in any order.
    pub outcomes: Vec<RecordOutcome>,
}

/// The output of the acknowledge operation: one acknowledgment per message of the feed,
/// in the feed's order. Each is an object with at least `ack`, the text to send back to
/// the sender as is (e.g. over MLLP); the rest is the plugin's to describe.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcknowledgeOutput {
    pub acks: Vec<serde_json::Value>,
}

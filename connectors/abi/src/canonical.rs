//! Canonical messages exchanged as JSON between the host and connector plugins.
//!
//! The current schema is [`v1`] (re-exported here). Conventions:
//! - snake_case fields; unknown fields are ignored and missing ones take their default, so either
//!   side can add optional fields without breaking the other;
//! - dates are ISO 8601 strings (`"2024-03-01"`), money and units are decimal strings
//!   (`"125.00"`, `"1"`), never floats;
//! - top-level messages carry `schema_version` ([`v1::SCHEMA_VERSION`]).
//!
//! Many of these types carry PHI. Those print as `Type { .. }` under `{:?}`, so a stray debug log
//! cannot disclose names, dates of birth or identifiers.

pub use v1::*;

/// Version 1 of the canonical messages.
pub mod v1 {
    use std::fmt;

    use serde::{Deserialize, Serialize};

    /// The schema version of this module.
    pub const SCHEMA_VERSION: u32 = 1;

    fn schema_version() -> u32 {
        SCHEMA_VERSION
    }

    /// `Debug` that names the type and nothing else, for types holding PHI.
    macro_rules! redacted_debug {
        ($($ty:ident),* $(,)?) => {
            $(impl fmt::Debug for $ty {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.debug_struct(stringify!($ty)).finish_non_exhaustive()
                }
            })*
        };
    }

    redacted_debug!(
        PersonName,
        Address,
        Patient,
        Subscriber,
        Demographics,
        Coverage,
        Encounter,
        ImportRecord,
        ImportResult,
        PriorPayerAdjudication,
        ClaimSubmission,
        ClaimPayment,
        Remittance,
        EligibilityRequest,
        EligibilityResponse,
        ClaimStatusRequest,
        SubmitClaimsInput,
        CheckEligibilityInput,
        ClaimStatusInput,
    );

    // ----- shared pieces -------------------------------------------------------------------

    /// A person's name.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct PersonName {
        pub family: String,
        /// Given names in order (first, middle...).
        pub given: Vec<String>,
        pub prefix: Option<String>,
        pub suffix: Option<String>,
    }

    /// A postal address.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Address {
        /// Street lines, in order.
        pub lines: Vec<String>,
        pub city: String,
        /// Two-letter state or province code.
        pub state: String,
        pub postal_code: String,
        /// ISO 3166 alpha-2; absent means US.
        pub country: Option<String>,
    }

    /// Administrative sex. Values other than these read as `unknown`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Sex {
        Male,
        Female,
        Other,
        #[default]
        #[serde(other)]
        Unknown,
    }

    /// An inclusive date range; either end may be open.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Period {
        pub start: Option<String>,
        pub end: Option<String>,
    }

    /// A payer as the submitter knows it.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct PayerRef {
        pub name: String,
        /// The payer id used by the clearinghouse (X12 NM109 of the payer loop).
        pub payer_id: Option<String>,
    }

    /// A provider by NPI.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ProviderRef {
        pub npi: String,
        /// Organization name, or the person's family name.
        pub name: Option<String>,
        /// A person's given name; absent for organizations.
        pub first_name: Option<String>,
        pub taxonomy_code: Option<String>,
    }

    /// The patient's relationship to the subscriber (the insured).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum SubscriberRelationship {
        #[default]
        #[serde(rename = "self")]
        SelfInsured,
        Spouse,
        Child,
        #[serde(other)]
        Other,
    }

    /// Order of benefits.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum CoveragePriority {
        #[default]
        Primary,
        Secondary,
        Tertiary,
    }

    /// The insured person of a coverage.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Subscriber {
        pub member_id: Option<String>,
        pub name: PersonName,
        pub birth_date: Option<String>,
        pub sex: Sex,
        pub address: Option<Address>,
    }

    /// Demographics of a patient who is not the subscriber.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Demographics {
        pub name: PersonName,
        pub birth_date: Option<String>,
        pub sex: Sex,
        pub address: Option<Address>,
    }

    /// A claim adjustment (X12 CAS): group code, CARC reason, amount, optional quantity.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Adjustment {
        /// `CO`, `PR`, `OA`, `PI` or `CR`.
        pub group: String,
        /// Claim adjustment reason code (CARC).
        pub reason: String,
        pub amount: String,
        pub quantity: Option<String>,
    }

    /// One billed service (837P loop 2400), as coded in an encounter or sent on a claim.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ServiceLine {
        /// 1-based position on the claim.
        pub line_number: Option<u32>,
        /// CPT or HCPCS code.
        pub procedure_code: String,
        /// Up to four modifiers, in order.
        pub modifiers: Vec<String>,
        pub units: String,
        /// Line charge as a decimal string.
        pub charge: String,
        /// 1-based pointers into the diagnosis list, primary first (at most four).
        pub diagnosis_pointers: Vec<u8>,
        pub service_date: Option<String>,
        /// Only when it differs from the claim's.
        pub place_of_service: Option<String>,
        /// Only when it differs from the claim's.
        pub rendering_provider_npi: Option<String>,
        pub ndc: Option<String>,
        /// The submitter's line id (REF*6R), echoed back on the remittance.
        pub line_control_number: Option<String>,
        /// The order this charge fills (HL7 FT1-23), by which a later credit may name it.
        pub filler_order_number: Option<String>,
    }

    // ----- EHR feed: patients, coverage, encounters ----------------------------------------

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

    // ----- claims (837P) -------------------------------------------------------------------

    /// The billing provider (837P loop 2010AA).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct BillingProvider {
        pub name: String,
        pub npi: String,
        /// Employer identification number (or SSN for a sole proprietor).
        pub tin: String,
        pub taxonomy_code: Option<String>,
        pub address: Address,
        pub phone: Option<String>,
    }

    /// A line's adjudication by an earlier payer (837P loop 2430).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct LineAdjudication {
        pub line_number: u32,
        pub procedure_code: String,
        pub modifiers: Vec<String>,
        pub paid_amount: String,
        pub paid_units: String,
        pub adjudication_date: Option<String>,
        pub adjustments: Vec<Adjustment>,
    }

    /// What an earlier payer did with this claim, for secondary/tertiary claims (loop 2320).
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct PriorPayerAdjudication {
        pub payer: PayerRef,
        pub priority: CoveragePriority,
        /// The insured under that payer and the patient's relationship to them.
        pub subscriber: Subscriber,
        pub relationship: SubscriberRelationship,
        pub group_number: Option<String>,
        pub payer_claim_number: Option<String>,
        pub paid_amount: String,
        pub paid_date: Option<String>,
        pub patient_responsibility: Option<String>,
        pub claim_adjustments: Vec<Adjustment>,
        pub line_adjudications: Vec<LineAdjudication>,
        /// That payer's claim filing indicator (2320 SBR09: `CI`, `MB`, `MC`...); the file's
        /// own when absent.
        pub claim_filing_indicator: Option<String>,
    }

    /// A professional claim ready to send to a payer.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ClaimSubmission {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        /// CLM01, the submitter's id, echoed back as CLP01 on the remittance.
        pub claim_control_number: String,
        /// CLM05-3: `"1"` original, `"7"` replacement, `"8"` void.
        pub frequency_code: String,
        /// The payer's claim number being replaced or voided (REF*F8).
        pub original_claim_number: Option<String>,
        pub billing_provider: BillingProvider,
        pub rendering_provider: Option<ProviderRef>,
        pub referring_provider: Option<ProviderRef>,
        pub service_facility: Option<ProviderRef>,
        pub payer: PayerRef,
        /// Which coverage this claim goes to.
        pub priority: CoveragePriority,
        pub subscriber: Subscriber,
        pub group_number: Option<String>,
        pub relationship: SubscriberRelationship,
        /// The patient, when not the subscriber.
        pub patient: Option<Demographics>,
        pub place_of_service: String,
        pub total_charge: String,
        /// ICD-10-CM codes in order, principal first; lines point into this list.
        pub diagnoses: Vec<String>,
        pub lines: Vec<ServiceLine>,
        pub prior_authorization: Option<String>,
        /// CLM07/CLM08/CLM09; absent means yes.
        pub accepts_assignment: Option<bool>,
        pub benefits_assigned: Option<bool>,
        pub release_of_information: Option<bool>,
        /// Earlier payers' adjudication, for secondary and tertiary claims.
        pub prior_payers: Vec<PriorPayerAdjudication>,
        /// The claim filing indicator of this claim's payer (SBR09: `CI`, `MB`, `MC`...);
        /// the file's own when absent.
        pub claim_filing_indicator: Option<String>,
    }

    /// What a payer connector returns after sending claims.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct SubmissionReceipt {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        /// ISA13 of the interchange sent.
        pub interchange_control_number: Option<String>,
        /// Transport reference (file name, clearinghouse batch id).
        pub transport_reference: Option<String>,
        pub claim_control_numbers: Vec<String>,
    }

    // ----- remittance (835) ----------------------------------------------------------------

    /// Payment of one service line (835 loop 2110).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ServiceLinePayment {
        /// REF*6R: the line control number sent on the claim.
        pub line_control_number: Option<String>,
        pub procedure_code: String,
        pub modifiers: Vec<String>,
        /// SVC06 when the payer adjudicated a different code.
        pub original_procedure_code: Option<String>,
        pub charge: String,
        pub paid_amount: String,
        pub paid_units: Option<String>,
        /// AMT*B6.
        pub allowed_amount: Option<String>,
        pub service_date: Option<String>,
        pub adjustments: Vec<Adjustment>,
        /// RARC codes (LQ*HE).
        pub remark_codes: Vec<String>,
    }

    /// Payment of one claim (835 loop 2100, CLP).
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ClaimPayment {
        /// CLP01: the claim control number we sent.
        pub claim_control_number: String,
        /// CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-23 forwarded/reversal...
        pub status_code: String,
        /// CLP03.
        pub total_charge: String,
        /// CLP04.
        pub paid_amount: String,
        /// CLP05.
        pub patient_responsibility: Option<String>,
        /// CLP06.
        pub claim_filing_indicator: Option<String>,
        /// CLP07.
        pub payer_claim_number: Option<String>,
        /// CLP08.
        pub facility_type_code: Option<String>,
        /// CLP09.
        pub frequency_code: Option<String>,
        pub patient_name: Option<PersonName>,
        pub member_id: Option<String>,
        pub rendering_provider_npi: Option<String>,
        /// Claim-level CAS.
        pub adjustments: Vec<Adjustment>,
        /// Claim-level remark codes (MOA).
        pub remark_codes: Vec<String>,
        pub service_lines: Vec<ServiceLinePayment>,
    }

    /// A provider-level adjustment (PLB), not tied to a claim.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ProviderAdjustment {
        /// PLB01.
        pub provider_id: String,
        /// PLB02.
        pub fiscal_period_date: String,
        /// PLB03-1 (e.g. `WO`, `L6`, `FB`).
        pub reason_code: String,
        /// PLB03-2.
        pub reference: Option<String>,
        /// PLB04; positive reduces the payment.
        pub amount: String,
    }

    /// One id a payer gave itself in a file.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct PayerIdentifier {
        /// What kind of id: `ein` (employer id number), `payer_id` (payer or clearinghouse
        /// payer id), `cms_plan_id` (CMS national plan id), `naic` (NAIC company code), `hin`
        /// (health industry number) or `submitter_id`.
        pub qualifier: String,
        pub value: String,
        /// Where it was read, e.g. `TRN03`, `N1*PR N104`, `REF*2U` (element names only).
        pub source: String,
    }

    /// A remittance advice (one 835 transaction).
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Remittance {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        pub payer: PayerRef,
        /// Every id the remittance gives its payer by, in file order (an 835's TRN03, N1*PR
        /// N103/N104 and 1000A REFs), so the host can find the payer by any id it knows.
        pub payer_identifiers: Vec<PayerIdentifier>,
        pub payee_npi: Option<String>,
        pub payee_tin: Option<String>,
        /// TRN02: check or EFT trace number.
        pub trace_number: String,
        /// BPR04: `ACH`, `CHK`, `NON`...
        pub payment_method: Option<String>,
        /// BPR02.
        pub payment_amount: String,
        /// BPR16.
        pub payment_date: Option<String>,
        pub claims: Vec<ClaimPayment>,
        pub provider_adjustments: Vec<ProviderAdjustment>,
    }

    // ----- X12 envelopes ---------------------------------------------------------------------

    /// A transaction set's header (ST) as the plugin read it.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct TransactionSetHeader {
        /// ST01: `835`, `999`, `277`...
        pub id: String,
        /// ST02.
        pub control_number: String,
        /// ST03, when present (`005010X221A1`).
        pub implementation: Option<String>,
    }

    /// A functional group (GS) as the plugin read it, with its transaction sets in file order.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct FunctionalGroupHeader {
        /// GS01: `HP`, `FA`, `HN`...
        pub functional_id: String,
        /// GS02.
        pub sender_code: String,
        /// GS03.
        pub receiver_code: String,
        /// GS06.
        pub control_number: String,
        /// GS08.
        pub version: String,
        pub transactions: Vec<TransactionSetHeader>,
    }

    /// An interchange (ISA) as the plugin read it: who sent it to whom, its control number and
    /// whether it is a production file, so the host never reads X12 bytes itself. No PHI.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct InterchangeEnvelope {
        /// ISA05/ISA06.
        pub sender_qualifier: String,
        pub sender_id: String,
        /// ISA07/ISA08.
        pub receiver_qualifier: String,
        pub receiver_id: String,
        /// ISA13.
        pub control_number: String,
        /// ISA15: `P` production, `T` test.
        pub usage_indicator: String,
        /// The interchange carries a TA1 (interchange acknowledgment).
        pub ta1: bool,
        pub groups: Vec<FunctionalGroupHeader>,
    }

    impl InterchangeEnvelope {
        /// GS06 of the first functional group.
        pub fn group_control_number(&self) -> Option<&str> {
            self.groups.first().map(|g| g.control_number.as_str())
        }

        /// ST01 of the first transaction set (`835`, `999`, `277`...), or `TA1` for an
        /// interchange that carries only a TA1.
        pub fn transaction_kind(&self) -> Option<&str> {
            self.groups
                .iter()
                .flat_map(|g| &g.transactions)
                .map(|t| t.id.as_str())
                .next()
                .or(self.ta1.then_some("TA1"))
        }
    }

    /// The envelopes of a received file (`read_envelope`), or of the X12 a parse operation read
    /// (its `interchanges`), in file order.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Envelopes {
        pub interchanges: Vec<InterchangeEnvelope>,
    }

    impl Envelopes {
        /// ISA13 of the first interchange and GS06 of the first functional group, when the
        /// file has them.
        pub fn control_numbers(&self) -> (Option<String>, Option<String>) {
            (
                self.interchanges.first().map(|i| i.control_number.clone()),
                self.interchanges
                    .iter()
                    .flat_map(|i| &i.groups)
                    .map(|g| g.control_number.clone())
                    .next(),
            )
        }

        /// ST01 of the file's first transaction set (`835`, `999`, `277`...), or `TA1` for a
        /// file that carries only TA1s.
        pub fn transaction_kind(&self) -> Option<&str> {
            self.interchanges
                .iter()
                .flat_map(|i| &i.groups)
                .flat_map(|g| &g.transactions)
                .map(|t| t.id.as_str())
                .next()
                .or(self.interchanges.iter().any(|i| i.ta1).then_some("TA1"))
        }
    }

    // ----- eligibility (270/271) -----------------------------------------------------------

    /// An eligibility and benefits inquiry.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct EligibilityRequest {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        /// The submitter's trace id, echoed in the response.
        pub trace_number: Option<String>,
        pub payer: PayerRef,
        pub provider: ProviderRef,
        pub subscriber: Subscriber,
        /// The patient, when not the subscriber.
        pub dependent: Option<Demographics>,
        /// Service type codes (`"30"` health benefit plan coverage when empty).
        pub service_type_codes: Vec<String>,
        pub date_of_service: Option<String>,
    }

    /// Coverage status in an eligibility response.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum EligibilityStatus {
        Active,
        Inactive,
        #[default]
        #[serde(other)]
        Unknown,
    }

    /// One benefit line (271 EB).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Benefit {
        /// EB01 (`1` active, `6` inactive, `A` co-insurance, `B` co-payment, `C` deductible...).
        pub information_code: String,
        /// EB02 (`IND`, `FAM`...).
        pub coverage_level: Option<String>,
        /// EB03.
        pub service_type_codes: Vec<String>,
        pub insurance_type: Option<String>,
        pub plan_description: Option<String>,
        /// EB06 (`23` calendar year, `29` remaining...).
        pub time_period: Option<String>,
        pub amount: Option<String>,
        /// EB08 as a decimal fraction (`"0.2"`).
        pub percent: Option<String>,
        pub quantity: Option<String>,
        pub in_network: Option<bool>,
        pub authorization_required: Option<bool>,
        pub messages: Vec<String>,
    }

    /// A request rejection (AAA).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Rejection {
        /// AAA03 reject reason (e.g. `72` invalid member id).
        pub reason_code: String,
        /// AAA04 follow-up action.
        pub follow_up_action: Option<String>,
        pub message: Option<String>,
    }

    /// The answer to an [`EligibilityRequest`].
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct EligibilityResponse {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        pub trace_number: Option<String>,
        pub payer: PayerRef,
        pub status: EligibilityStatus,
        /// The subscriber as the payer has them on file.
        pub subscriber: Option<Subscriber>,
        pub plan_name: Option<String>,
        pub group_number: Option<String>,
        pub period: Period,
        pub benefits: Vec<Benefit>,
        pub rejections: Vec<Rejection>,
    }

    // ----- claim status (276/277) ----------------------------------------------------------

    /// A claim status inquiry.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ClaimStatusRequest {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        pub trace_number: Option<String>,
        pub payer: PayerRef,
        pub provider: ProviderRef,
        pub subscriber: Subscriber,
        pub patient: Option<Demographics>,
        pub claim_control_number: String,
        pub payer_claim_number: Option<String>,
        pub total_charge: Option<String>,
        pub service_period: Period,
    }

    /// One status (277 STC).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ClaimStatus {
        /// STC01-1 category (`A1` acknowledged, `F1` finalized/paid, `F2` denied...).
        pub category_code: String,
        /// STC01-2 status code.
        pub status_code: String,
        /// STC01-3 entity code.
        pub entity_code: Option<String>,
        pub effective_date: Option<String>,
        pub total_charge: Option<String>,
        pub paid_amount: Option<String>,
        pub paid_date: Option<String>,
        pub check_number: Option<String>,
        pub message: Option<String>,
    }

    /// The answer to a [`ClaimStatusRequest`].
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ClaimStatusResponse {
        #[serde(default = "schema_version")]
        pub schema_version: u32,
        pub trace_number: Option<String>,
        /// The subscriber's member id the answer is about (the 277's NM1*IL NM109).
        pub member_id: Option<String>,
        pub claim_control_number: String,
        pub payer_claim_number: Option<String>,
        pub statuses: Vec<ClaimStatus>,
        pub rejections: Vec<Rejection>,
        /// HL03 of the level the answer is at: `PT` (277CA), `22` or `23` for a claim; `20`,
        /// `21` or `19` for a 277CA's payer, information receiver or provider status, which
        /// answers no claim.
        pub level: Option<String>,
        /// The 277CA's 2200B TRN02 above the claim: the information receiver's trace number,
        /// which echoes the BHT03 of the 837P the claim went in.
        pub batch_reference: Option<String>,
    }

    impl ClaimStatusResponse {
        /// Whether the answer is about one claim (not a 277CA's batch or provider level).
        /// An answer without a level (an older plugin) is taken as a claim's.
        pub fn is_claim(&self) -> bool {
            self.level
                .as_deref()
                .is_none_or(|l| matches!(l, "PT" | "22" | "23"))
        }
    }

    // ----- payer operations: what the host sends and reads back ----------------------------

    /// Envelope values an outbound payer operation may set, else the plugin's configuration
    /// gives them: the host's interchange control number and the payer's ids.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct EnvelopeOverrides {
        /// ISA13 and GS06 (1 to 999999999); required to build a file.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub control_number: Option<u32>,
        /// ISA06/GS02.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sender_id: Option<String>,
        /// ISA08/GS03.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub receiver_id: Option<String>,
        /// GS04, `CCYYMMDD` (today when absent).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub date: Option<String>,
        /// GS05, `HHMM` (now when absent).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub time: Option<String>,
    }

    /// The input of a payer plugin's `submit_claims`: one 837P interchange for the claims.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct SubmitClaimsInput {
        pub claims: Vec<ClaimSubmission>,
        #[serde(flatten)]
        pub envelope: EnvelopeOverrides,
        /// SBR09 of the claims that give none ([`ClaimSubmission::claim_filing_indicator`]);
        /// `CI` when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub claim_filing_indicator: Option<String>,
        /// 1000B NM103 for this file (the configured receiver name otherwise).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub receiver_name: Option<String>,
    }

    /// The input of a payer plugin's `check_eligibility`: requests to build a 270 from, or
    /// `x12`, a 271 to read.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct CheckEligibilityInput {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub requests: Vec<EligibilityRequest>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub x12: Option<String>,
        #[serde(flatten)]
        pub envelope: EnvelopeOverrides,
    }

    /// The input of a payer plugin's `claim_status`: requests to build a 276 from, or `x12`,
    /// a 277 (or 277CA) to read.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ClaimStatusInput {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub requests: Vec<ClaimStatusRequest>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub x12: Option<String>,
        #[serde(flatten)]
        pub envelope: EnvelopeOverrides,
    }

    /// An element error of a 999 (IK4). IK404, the bad value, is never carried.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct AckElementError {
        /// IK401-1.
        pub position: u32,
        /// IK401-2.
        pub component: Option<u32>,
        /// IK402.
        pub element_reference: Option<String>,
        /// IK403.
        pub code: String,
    }

    /// A segment error of a 999 (IK3 with its IK4s).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct AckSegmentError {
        /// IK301.
        pub segment_id: String,
        /// IK302: position in the transaction set (ST is 1).
        pub position: u32,
        /// IK303.
        pub loop_id: Option<String>,
        /// IK304.
        pub code: String,
        pub elements: Vec<AckElementError>,
    }

    /// A 999's verdict on one transaction set (AK2..IK5).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct TransactionSetAck {
        /// AK201 (`837`).
        pub transaction_id: String,
        /// AK202: the ST02 it answers.
        pub control_number: String,
        /// AK203.
        pub implementation: Option<String>,
        /// IK501: `A` accepted, `E` accepted with errors, `R` rejected, `M`, `W`, `X`.
        pub status: String,
        /// IK501 is `A` or `E`.
        pub accepted: bool,
        /// IK502..IK506.
        pub codes: Vec<String>,
        pub errors: Vec<AckSegmentError>,
    }

    /// A 999 for one functional group (AK1..AK9).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct FunctionalGroupAck {
        /// AK101 (`HC` for 837s).
        pub functional_id: String,
        /// AK102: the GS06 it answers.
        pub group_control_number: String,
        /// AK103.
        pub version: Option<String>,
        /// AK901: `A`, `E`, `P` (partially accepted), `R`.
        pub status: String,
        /// AK901 is `A`, `E` or `P`.
        pub accepted: bool,
        /// AK902..AK904.
        pub included: u32,
        pub received: u32,
        pub accepted_count: u32,
        /// AK905..AK909.
        pub codes: Vec<String>,
        pub transactions: Vec<TransactionSetAck>,
    }

    /// A TA1 interchange acknowledgment.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct InterchangeAck {
        /// TA101: the ISA13 it answers.
        pub control_number: String,
        /// TA102 (`YYMMDD`).
        pub date: String,
        /// TA103 (`HHMM`).
        pub time: String,
        /// TA104: `A` accepted, `E` accepted with errors, `R` rejected.
        pub status: String,
        /// TA105 note code (`000` no error...).
        pub note_code: String,
        /// TA104 is `A` or `E`.
        pub accepted: bool,
    }

    /// The output of a payer plugin's `parse_ack`: the TA1s and 999s of a file, and its
    /// envelopes.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Acknowledgments {
        pub ta1: Vec<InterchangeAck>,
        pub ack999: Vec<FunctionalGroupAck>,
        pub interchanges: Vec<InterchangeEnvelope>,
    }

    /// The output of a payer plugin's `submit_claims`: the 837P, the receipt of its claims,
    /// and its envelopes as written.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SubmitClaimsOutput {
        pub x12: String,
        #[serde(default)]
        pub receipt: SubmissionReceipt,
        #[serde(flatten)]
        pub envelopes: Envelopes,
    }

    /// The output of `check_eligibility` and `claim_status` given requests: the 270 or 276,
    /// and its envelopes as written.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RequestX12 {
        pub x12: String,
        #[serde(flatten)]
        pub envelopes: Envelopes,
    }

    /// The output of `parse_remittance`: the 835's remittances, and its envelopes as read.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ParsedRemittances {
        pub remittances: Vec<Remittance>,
        #[serde(flatten)]
        pub envelopes: Envelopes,
    }

    /// The output of `claim_status` given a 277 or 277CA: its answers, and its envelopes.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ClaimStatusAnswers {
        pub responses: Vec<ClaimStatusResponse>,
        #[serde(flatten)]
        pub envelopes: Envelopes,
    }

    /// The output of `check_eligibility` given a 271: its answers, and its envelopes.
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct EligibilityAnswers {
        pub responses: Vec<EligibilityResponse>,
        #[serde(flatten)]
        pub envelopes: Envelopes,
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        /// The host reads payer outputs as these types: envelopes may be absent (an older
        /// plugin), the result itself may not.
        #[test]
        fn payer_outputs_need_their_result_and_take_envelopes_when_given() {
            let out: ParsedRemittances = serde_json::from_value(json!({
                "remittances": [],
                "interchanges": [{"control_number": "000000042"}],
            }))
            .unwrap();
            assert_eq!(
                out.envelopes.control_numbers().0.as_deref(),
                Some("000000042")
            );
            let old: ClaimStatusAnswers = serde_json::from_value(json!({"responses": []})).unwrap();
            assert!(old.envelopes.interchanges.is_empty());
            assert!(
                serde_json::from_value::<ParsedRemittances>(json!({"interchanges": []})).is_err()
            );
            assert!(serde_json::from_value::<SubmitClaimsOutput>(json!({"receipt": {}})).is_err());
            let built = RequestX12 {
                x12: "ISA*...~".into(),
                envelopes: Envelopes::default(),
            };
            let v = serde_json::to_value(&built).unwrap();
            assert_eq!(v, json!({"x12": "ISA*...~", "interchanges": []}));
        }

        #[test]
        fn patient_round_trips_and_tolerates_unknown_fields() {
            let patient = Patient {
                source_system: "ehr-a".into(),
                external_id: "p-1".into(),
                mrn: Some("MRN1".into()),
                name: PersonName {
                    family: "Doe".into(),
                    given: vec!["Jane".into(), "Q".into()],
                    ..Default::default()
                },
                birth_date: Some("1980-02-29".into()),
                sex: Sex::Female,
                ssn: Some("123-45-6789".into()),
                ..Default::default()
            };
            let mut value = serde_json::to_value(&patient).unwrap();
            assert_eq!(value["sex"], "female");
            value["added_in_a_later_version"] = json!({"x": 1});
            value["name"]["use"] = json!("official");
            let back: Patient = serde_json::from_value(value).unwrap();
            assert!(back == patient);
            let debug = format!("{back:?}");
            assert!(!debug.contains("Doe") && !debug.contains("6789"), "{debug}");
        }

        #[test]
        fn mrn_system_is_additive_both_ways() {
            // A plugin built before the field existed: the host reads no system.
            let old: Patient =
                serde_json::from_value(json!({"external_id": "p-1", "mrn": "12345"})).unwrap();
            assert_eq!(old.mrn_system, None);
            // A host built before it ignores the field (unknown fields are ignored).
            let new = Patient {
                mrn: Some("12345".into()),
                mrn_system: Some("urn:oid:2.16.840.1.113883.19.5".into()),
                ..Default::default()
            };
            let value = serde_json::to_value(&new).unwrap();
            assert_eq!(value["mrn_system"], "urn:oid:2.16.840.1.113883.19.5");
            let back: Patient = serde_json::from_value(value).unwrap();
            assert!(back == new);
        }

        #[test]
        fn minimal_messages_take_defaults() {
            let coverage: Coverage =
                serde_json::from_value(json!({"member_id": "M1", "relationship": "self"})).unwrap();
            assert_eq!(coverage.priority, CoveragePriority::Primary);
            assert_eq!(coverage.relationship, SubscriberRelationship::SelfInsured);
            let coverage: Coverage = serde_json::from_value(
                json!({"relationship": "grandchild", "subscriber": {"sex": "x"}}),
            )
            .unwrap();
            assert_eq!(coverage.relationship, SubscriberRelationship::Other);
            assert_eq!(coverage.subscriber.unwrap().sex, Sex::Unknown);

            let claim: ClaimSubmission = serde_json::from_value(json!({})).unwrap();
            assert_eq!(claim.schema_version, SCHEMA_VERSION);
            let remit: Remittance = serde_json::from_value(json!({"trace_number": "T"})).unwrap();
            assert_eq!(remit.schema_version, SCHEMA_VERSION);
        }

        #[test]
        fn import_records_are_tagged() {
            let result: ImportResult = serde_json::from_value(json!({
                "schema_version": 1,
                "records": [
                    {"type": "patient", "external_id": "p-1", "sex": "male"},
                    {"type": "encounter", "external_id": "e-1", "patient_external_id": "p-1",
                     "date_of_service": "2024-03-01", "diagnoses": ["J06.9", "R05.9"],
                     "service_lines": [{"procedure_code": "99213", "modifiers": ["25"],
                                        "units": "1", "charge": "125.00",
                                        "diagnosis_pointers": [1, 2]}]},
                    {"type": "appointment", "id": "a-1"}
                ]
            }))
            .unwrap();
            assert_eq!(result.records.len(), 3);
            match &result.records[1] {
                ImportRecord::Encounter(e) => {
                    assert_eq!(e.diagnoses, ["J06.9", "R05.9"]);
                    assert_eq!(e.service_lines[0].charge, "125.00");
                    assert_eq!(e.service_lines[0].diagnosis_pointers, [1, 2]);
                }
                _ => panic!("expected an encounter"),
            }
            assert!(result.records[2] == ImportRecord::Unknown);
            let text = serde_json::to_string(&result.records[0]).unwrap();
            assert!(text.starts_with(r#"{"type":"patient""#), "{text}");
        }

        #[test]
        fn payer_operation_inputs_keep_their_wire_format() {
            let submit = SubmitClaimsInput {
                claims: vec![ClaimSubmission::default()],
                envelope: EnvelopeOverrides {
                    control_number: Some(7),
                    sender_id: Some("REVCYCLE".into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            let v = serde_json::to_value(&submit).unwrap();
            let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["claims", "control_number", "sender_id"]);
            assert_eq!(v["control_number"], 7);
            let full: SubmitClaimsInput = serde_json::from_value(json!({
                "claims": [{}], "control_number": 9, "sender_id": "S", "receiver_id": "R",
                "date": "20240320", "time": "1015", "claim_filing_indicator": "MB",
                "receiver_name": "Acme", "added_in_a_later_version": true
            }))
            .unwrap();
            assert_eq!(full.envelope.control_number, Some(9));
            assert_eq!(full.envelope.receiver_id.as_deref(), Some("R"));
            assert_eq!(full.envelope.time.as_deref(), Some("1015"));
            assert_eq!(full.claim_filing_indicator.as_deref(), Some("MB"));
            assert_eq!(full.receiver_name.as_deref(), Some("Acme"));
            assert_eq!(
                serde_json::to_value(&full).unwrap()["receiver_name"],
                "Acme"
            );

            let read = CheckEligibilityInput {
                x12: Some("ISA*...".into()),
                ..Default::default()
            };
            assert_eq!(
                serde_json::to_value(&read).unwrap(),
                json!({"x12": "ISA*..."})
            );
            let build = ClaimStatusInput {
                requests: vec![ClaimStatusRequest::default()],
                envelope: EnvelopeOverrides {
                    control_number: Some(3),
                    sender_id: Some("S".into()),
                    receiver_id: Some("R".into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            let v = serde_json::to_value(&build).unwrap();
            let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                ["control_number", "receiver_id", "requests", "sender_id"]
            );
            let debug = format!("{read:?} {build:?} {submit:?}");
            assert!(!debug.contains("ISA"), "{debug}");
        }

        #[test]
        fn remittance_round_trips() {
            let remit = Remittance {
                trace_number: "12345".into(),
                payment_amount: "80.00".into(),
                claims: vec![ClaimPayment {
                    claim_control_number: "C1".into(),
                    status_code: "1".into(),
                    total_charge: "125.00".into(),
                    paid_amount: "80.00".into(),
                    service_lines: vec![ServiceLinePayment {
                        procedure_code: "99213".into(),
                        charge: "125.00".into(),
                        paid_amount: "80.00".into(),
                        adjustments: vec![
                            Adjustment {
                                group: "CO".into(),
                                reason: "45".into(),
                                amount: "25.00".into(),
                                quantity: None,
                            },
                            Adjustment {
                                group: "PR".into(),
                                reason: "2".into(),
                                amount: "20.00".into(),
                                quantity: None,
                            },
                        ],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                provider_adjustments: vec![ProviderAdjustment {
                    provider_id: "1234567893".into(),
                    fiscal_period_date: "2024-12-31".into(),
                    reason_code: "WO".into(),
                    amount: "-5.00".into(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let text = serde_json::to_vec(&remit).unwrap();
            let back: Remittance = serde_json::from_slice(&text).unwrap();
            assert!(back == remit);
        }
    }
}

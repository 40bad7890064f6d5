//! Claims (837P) and the receipt of a submission.

use serde::{Deserialize, Serialize};

use super::*;

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

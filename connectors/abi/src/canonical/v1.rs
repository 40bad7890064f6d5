//! Version 1 of the canonical messages, one submodule per concern, all re-exported here.

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

mod claims;
mod ehr;
mod envelopes;
mod inquiries;
mod payer_operations;
mod remittance;

pub use claims::*;
pub use ehr::*;
pub use envelopes::*;
pub use inquiries::*;
pub use payer_operations::*;
pub use remittance::*;

#[cfg(test)]
mod tests;

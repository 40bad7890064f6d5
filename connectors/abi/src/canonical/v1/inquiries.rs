//! Real-time inquiries: eligibility (270/271) and claim status (276/277).

use serde::{Deserialize, Serialize};

use super::*;

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

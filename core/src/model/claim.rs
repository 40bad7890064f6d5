use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::encounter::{ServiceLine, validate_coding};
use crate::codes::{ClaimFrequency, Icd10Code, Money, PlaceOfService};
use crate::validation::Errors;

/// CLM01 allows at most 20 characters.
pub const MAX_PATIENT_CONTROL_NUMBER_LEN: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    Draft,
    Ready,
    Submitted,
    Accepted,
    Rejected,
    Paid,
    PartiallyPaid,
    Denied,
    Appealed,
    Closed,
    Voided,
}

impl ClaimStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ClaimStatus::Draft => "draft",
            ClaimStatus::Ready => "ready",
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::Accepted => "accepted",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Paid => "paid",
            ClaimStatus::PartiallyPaid => "partially_paid",
            ClaimStatus::Denied => "denied",
            ClaimStatus::Appealed => "appealed",
            ClaimStatus::Closed => "closed",
            ClaimStatus::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimStatus> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

/// Create a claim from a coded encounter. A corrected (7) or void (8) claim names the claim
/// it replaces and the payer's claim control number for it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"encounter_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a05"}))]
pub struct ClaimInput {
    pub encounter_id: Uuid,
    /// "1" original (default), "7" replacement, "8" void.
    pub frequency_code: Option<ClaimFrequency>,
    /// Required for frequency 7 and 8.
    pub original_claim_id: Option<Uuid>,
    /// The payer's claim control number of the original claim (REF*F8); required for 7 and 8.
    #[schema(max_length = 50)]
    pub original_reference: Option<String>,
}

impl ClaimInput {
    pub fn frequency(&self) -> ClaimFrequency {
        self.frequency_code.unwrap_or(ClaimFrequency::Original)
    }

    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        crate::validation::Rules::check(self, &mut e);
        e.finish()
    }
}

impl crate::validation::Rules for ClaimInput {
    fn check(&self, e: &mut Errors) {
        if e.known("/frequency_code") {
            let replaces = self.frequency() != ClaimFrequency::Original;
            if replaces {
                e.check(
                    self.original_claim_id.is_some(),
                    "/original_claim_id",
                    "is required for a replacement or void claim",
                );
                e.check(
                    self.original_reference.is_some(),
                    "/original_reference",
                    "is required for a replacement or void claim",
                );
            } else {
                e.check(
                    self.original_claim_id.is_none(),
                    "/original_claim_id",
                    "only a replacement or void claim names an original",
                );
                e.check(
                    self.original_reference.is_none(),
                    "/original_reference",
                    "only a replacement or void claim names an original",
                );
            }
        }
        super::common::opt_text(
            e,
            "/original_reference",
            &self.original_reference,
            super::common::MAX_REFERENCE_LEN,
        );
    }
}

/// Changes allowed while a claim is still a draft (coders fix codes before submission).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"place_of_service": "11", "prior_authorization": "PA-778812",
    "diagnoses": ["E11.9", "I10"],
    "lines": [{"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00",
               "diagnosis_pointers": [1, 2]}]}))]
pub struct ClaimUpdate {
    pub place_of_service: PlaceOfService,
    #[schema(max_length = 50)]
    pub prior_authorization: Option<String>,
    pub diagnoses: Vec<Icd10Code>,
    pub lines: Vec<ServiceLine>,
}

impl ClaimUpdate {
    pub fn validate(&self, from: NaiveDate, to: NaiveDate) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        self.check_within(Some(from), Some(to), &mut e);
        e.finish()
    }

    /// Every rule; line dates are compared with the claim's dates of service when given.
    pub fn check_within(&self, from: Option<NaiveDate>, to: Option<NaiveDate>, e: &mut Errors) {
        super::common::opt_text(
            e,
            "/prior_authorization",
            &self.prior_authorization,
            super::common::MAX_REFERENCE_LEN,
        );
        validate_coding(&self.diagnoses, &self.lines, from, to, e);
    }
}

/// Without the claim at hand its dates of service are unknown: the store compares line dates.
impl crate::validation::Rules for ClaimUpdate {
    fn check(&self, e: &mut Errors) {
        self.check_within(None, None, e);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClaimLine {
    pub id: Uuid,
    pub line_number: i32,
    #[serde(flatten)]
    pub line: ServiceLine,
}

impl ClaimLine {
    /// The line item control number sent as REF*6R (see [`line_control_number`]).
    pub fn control_number(&self) -> String {
        line_control_number(self.line_number, self.id)
    }
}

/// A line's item control number (837P REF*6R, echoed by the payer's 835): its line number and
/// the random tail of its id, e.g. `2-7c1e9a03b5d4`. Unique within the claim (line numbers
/// are), the same on every resubmission, and short (X12 allows 50 characters).
pub fn line_control_number(line_number: i32, line_id: Uuid) -> String {
    let hex = line_id.simple().to_string();
    format!("{line_number}-{}", &hex[20..])
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub coverage_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    pub billing_provider_id: Uuid,
    pub rendering_provider_id: Option<Uuid>,
    /// Our claim id sent to the payer in CLM01 and returned in 835 CLP01 (max 20 chars).
    #[schema(example = "C01JD4Q8W3M5XK2P9RTA")]
    pub patient_control_number: String,
    pub frequency_code: ClaimFrequency,
    pub original_claim_id: Option<Uuid>,
    pub original_reference: Option<String>,
    pub status: ClaimStatus,
    pub place_of_service: PlaceOfService,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub service_date_from: NaiveDate,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub service_date_to: NaiveDate,
    pub prior_authorization: Option<String>,
    pub diagnoses: Vec<Icd10Code>,
    pub lines: Vec<ClaimLine>,
    pub total_charge: Money,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which claims a list returns (its query string).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimFilter {
    pub patient_id: Option<Uuid>,
    pub encounter_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    #[param(value_type = Option<String>, example = "draft")]
    pub status: Option<ClaimStatus>,
    pub patient_control_number: Option<String>,
}

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::text;
use crate::codes::ClaimFilingIndicator;
use crate::validation::Errors;

/// Days a payer allows between service and claim receipt, unless configured otherwise.
pub const DEFAULT_TIMELY_FILING_DAYS: i32 = 365;
const MAX_PAYER_CODE_LEN: usize = 80;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Health Plan", "payer_code": "60054",
    "claim_filing_indicator": "CI", "timely_filing_days": 180}))]
pub struct PayerInput {
    /// Payer name as printed on claims (2010BB NM103).
    #[schema(max_length = 60)]
    pub name: String,
    /// The payer's electronic payer id at the clearinghouse (2010BB NM109).
    #[schema(max_length = 80)]
    pub payer_code: String,
    pub claim_filing_indicator: ClaimFilingIndicator,
    /// Timely filing window in days (default 365).
    #[schema(minimum = 1, maximum = 3650)]
    pub timely_filing_days: Option<i32>,
    /// Inactive payers stay on file for history but take no new coverage.
    pub active: Option<bool>,
}

impl PayerInput {
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        crate::validation::Rules::check(self, &mut e);
        e.finish()
    }
}

impl crate::validation::Rules for PayerInput {
    fn check(&self, e: &mut Errors) {
        text(e, "/name", &self.name, super::common::MAX_NAME_LEN);
        text(e, "/payer_code", &self.payer_code, MAX_PAYER_CODE_LEN);
        if !self.payer_code.chars().all(|c| c.is_ascii_alphanumeric()) {
            e.add("/payer_code", "must contain only letters and digits");
        }
        if let Some(d) = self.timely_filing_days {
            e.check(
                (1..=3650).contains(&d),
                "/timely_filing_days",
                "must be between 1 and 3650",
            );
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payer {
    pub id: Uuid,
    pub name: String,
    pub payer_code: String,
    pub claim_filing_indicator: ClaimFilingIndicator,
    pub timely_filing_days: i32,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

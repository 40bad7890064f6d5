use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::text;
use crate::codes::ClaimFilingIndicator;
use crate::validation::Errors;

/// Days a payer allows between service and claim receipt, unless configured otherwise.
pub const DEFAULT_TIMELY_FILING_DAYS: i32 = 365;
/// The longest timely filing window a payer may be given (ten years).
pub const MAX_TIMELY_FILING_DAYS: i32 = 3650;
/// The longest appeal window a payer may be given (ten years).
pub const MAX_APPEAL_LIMIT_DAYS: i32 = 3650;
/// Days a submitted claim may go unanswered before it is followed up, unless configured
/// otherwise: most commercial payers and Medicare pay a clean electronic claim within 30 days
/// (Medicare may not pay one before day 14 and must by day 30).
pub const DEFAULT_FOLLOW_UP_DAYS: i32 = 30;
/// The longest follow-up wait a payer may be given.
pub const MAX_FOLLOW_UP_DAYS: i32 = 365;
const MAX_PAYER_CODE_LEN: usize = 80;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Health Plan", "payer_code": "60054",
    "claim_filing_indicator": "CI", "timely_filing_days": 180, "appeal_limit_days": 180,
    "identifiers": [{"qualifier": "ein", "value": "512345678"},
                    {"qualifier": "payer_id", "value": "ACME01"}]}))]
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
    /// Days after the remittance date within which the payer takes a first appeal of a denial
    /// (and after each decision, the next level). Default: 120 for Medicare (claim filing
    /// indicator MA or MB: the redetermination window), 180 for every other payer. On update,
    /// absent keeps the payer's window.
    #[schema(minimum = 1, maximum = 3650)]
    pub appeal_limit_days: Option<i32>,
    /// Days a submitted claim may go without the payer's answer before it joins the unpaid
    /// claims queue (`GET /v1/work-queues/unpaid-claims`). Default 30; on update, absent keeps
    /// the payer's.
    #[schema(minimum = 1, maximum = 365)]
    pub follow_up_days: Option<i32>,
    /// Inactive payers stay on file for history but take no new coverage.
    pub active: Option<bool>,
    /// Other ids the payer is known by in remittances (EIN, clearinghouse payer ids, NAIC
    /// code, CMS plan id...). Each id of each kind names one payer of the organization. On
    /// update, a given list replaces the payer's ids and an absent one keeps them.
    #[schema(max_items = 50)]
    pub identifiers: Option<Vec<PayerIdentifier>>,
}

const MAX_IDENTIFIERS: usize = 50;
const MAX_IDENTIFIER_LEN: usize = 80;

/// What kind of id a payer identifier is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PayerIdQualifier {
    /// Employer identification number, nine digits (an 835's TRN03 is `1` and the EIN).
    Ein,
    /// A payer id at a clearinghouse or the payer's own (N1*PR N104, REF*2U, TRN03).
    PayerId,
    /// CMS national plan id (N1*PR N103 `XV`).
    CmsPlanId,
    /// NAIC company code (REF*NF).
    Naic,
    /// Health industry number (REF*HI).
    Hin,
    /// Submitter identification number (REF*EO).
    SubmitterId,
}

impl PayerIdQualifier {
    pub fn as_str(&self) -> &'static str {
        match self {
            PayerIdQualifier::Ein => "ein",
            PayerIdQualifier::PayerId => "payer_id",
            PayerIdQualifier::CmsPlanId => "cms_plan_id",
            PayerIdQualifier::Naic => "naic",
            PayerIdQualifier::Hin => "hin",
            PayerIdQualifier::SubmitterId => "submitter_id",
        }
    }

    pub fn parse(s: &str) -> Option<PayerIdQualifier> {
        Some(match s {
            "ein" => PayerIdQualifier::Ein,
            "payer_id" => PayerIdQualifier::PayerId,
            "cms_plan_id" => PayerIdQualifier::CmsPlanId,
            "naic" => PayerIdQualifier::Naic,
            "hin" => PayerIdQualifier::Hin,
            "submitter_id" => PayerIdQualifier::SubmitterId,
            _ => return None,
        })
    }

    /// Whether the payer's `payer_code` also answers to ids of this kind.
    pub fn matches_payer_code(&self) -> bool {
        matches!(
            self,
            PayerIdQualifier::PayerId | PayerIdQualifier::CmsPlanId
        )
    }
}

/// One id a payer is known by.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"qualifier": "ein", "value": "512345678"}))]
pub struct PayerIdentifier {
    pub qualifier: PayerIdQualifier,
    #[schema(max_length = 80, pattern = "^[A-Za-z0-9-]{1,80}$")]
    pub value: String,
}

impl PayerIdentifier {
    /// The value as stored and compared: trimmed, upper case.
    pub fn normalized(&self) -> PayerIdentifier {
        PayerIdentifier {
            qualifier: self.qualifier,
            value: self.value.trim().to_ascii_uppercase(),
        }
    }
}

/// An id a remittance gave its payer by, and where in the file it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"qualifier": "ein", "value": "512345678", "source": "TRN03"}))]
pub struct FoundPayerId {
    pub qualifier: PayerIdQualifier,
    pub value: String,
    /// The element it was read from, e.g. `TRN03`, `N1*PR N104 (XV)`, `REF*2U`.
    pub source: String,
}

fn check_identifiers(ids: &[PayerIdentifier], e: &mut Errors) {
    e.check(
        ids.len() <= MAX_IDENTIFIERS,
        "/identifiers",
        format!("at most {MAX_IDENTIFIERS} identifiers"),
    );
    let mut seen = std::collections::BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let at = format!("/identifiers/{i}/value");
        let v = id.value.trim();
        let shape = !v.is_empty()
            && v.len() <= MAX_IDENTIFIER_LEN
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        e.check(
            shape,
            at.clone(),
            format!("must be 1 to {MAX_IDENTIFIER_LEN} letters, digits or hyphens"),
        );
        if shape && id.qualifier == PayerIdQualifier::Ein {
            e.check(
                v.len() == 9 && v.bytes().all(|b| b.is_ascii_digit()),
                at.clone(),
                "an EIN is nine digits",
            );
        }
        if !seen.insert(id.normalized()) {
            e.add(at, "the same identifier is listed twice");
        }
    }
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
        if let Some(ids) = &self.identifiers {
            check_identifiers(ids, e);
        }
        if let Some(d) = self.timely_filing_days {
            e.check(
                (1..=MAX_TIMELY_FILING_DAYS).contains(&d),
                "/timely_filing_days",
                format!("must be between 1 and {MAX_TIMELY_FILING_DAYS}"),
            );
        }
        if let Some(d) = self.appeal_limit_days {
            e.check(
                (1..=MAX_APPEAL_LIMIT_DAYS).contains(&d),
                "/appeal_limit_days",
                format!("must be between 1 and {MAX_APPEAL_LIMIT_DAYS}"),
            );
        }
        if let Some(d) = self.follow_up_days {
            e.check(
                (1..=MAX_FOLLOW_UP_DAYS).contains(&d),
                "/follow_up_days",
                format!("must be between 1 and {MAX_FOLLOW_UP_DAYS}"),
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
    /// Days after the remittance date to appeal a denial (see the input).
    pub appeal_limit_days: i32,
    /// Days a submitted claim may go unanswered before follow-up (see the input).
    pub follow_up_days: i32,
    pub active: bool,
    /// Other ids the payer is known by in remittances, sorted.
    pub identifiers: Vec<PayerIdentifier>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which payers a list returns (its query string).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PayerFilter {
    /// Exact electronic payer id.
    pub payer_code: Option<String>,
    pub active: Option<bool>,
}

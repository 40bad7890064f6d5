use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::{UsState, ZipCode};
use crate::validation::Errors;

/// Longest name element an 837P accepts (NM103).
pub const MAX_NAME_LEN: usize = 60;
/// Longest address line an 837P accepts (N301/N302).
pub const MAX_ADDRESS_LINE_LEN: usize = 55;
/// Longest city an 837P accepts (N401).
pub const MAX_CITY_LEN: usize = 30;
/// Longest first (given) name an 837P accepts (NM104).
pub const MAX_FIRST_NAME_LEN: usize = 35;
/// Longest middle name an 837P accepts (NM105).
pub const MAX_MIDDLE_NAME_LEN: usize = 25;
/// Longest reference an X12 file carries (REF02: prior authorization, original claim number,
/// line control number; SBR03 group number; TRN02 trace number).
pub const MAX_REFERENCE_LEN: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(example = "100 Main St", max_length = 55)]
    pub line1: String,
    #[schema(max_length = 55)]
    pub line2: Option<String>,
    #[schema(example = "Springfield", max_length = 30)]
    pub city: String,
    pub state: UsState,
    pub zip: ZipCode,
}

impl Address {
    pub fn validate(&self, at: &str, errors: &mut Errors) {
        text(
            errors,
            &format!("{at}/line1"),
            &self.line1,
            MAX_ADDRESS_LINE_LEN,
        );
        if let Some(l2) = &self.line2 {
            text(errors, &format!("{at}/line2"), l2, MAX_ADDRESS_LINE_LEN);
        }
        text(errors, &format!("{at}/city"), &self.city, MAX_CITY_LEN);
    }
}

/// An identifier a source system (EHR, payer) gave this record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalId {
    #[schema(
        max_length = 200,
        example = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
    )]
    pub system: String,
    #[schema(max_length = 100, example = "E1234")]
    pub value: String,
}

/// One page of a list. Pass `next_cursor` back as `cursor` to get the next page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// A required free-text field: not blank, not longer than `max` characters.
pub fn text(errors: &mut Errors, pointer: &str, value: &str, max: usize) {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.add(pointer, "must not be blank");
    } else if trimmed.chars().count() > max {
        errors.add(pointer, format!("must be at most {max} characters"));
    }
}

pub fn opt_text(errors: &mut Errors, pointer: &str, value: &Option<String>, max: usize) {
    if let Some(v) = value {
        text(errors, pointer, v, max);
    }
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// Database timestamps are UTC without zone, truncated to microseconds so both engines agree.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    chrono::SubsecRound::trunc_subsecs(t, 6)
}

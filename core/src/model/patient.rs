use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{MAX_FIRST_NAME_LEN, MAX_MIDDLE_NAME_LEN, MAX_NAME_LEN, opt_text, text};
use super::{Address, ExternalId};
use crate::codes::AdministrativeSex;
use crate::validation::Errors;

const MAX_MRN_LEN: usize = 50;
const MAX_MRN_SYSTEM_LEN: usize = 200;
const MAX_EMAIL_LEN: usize = 254;
const MAX_EXTERNAL_IDS: usize = 20;
/// Longest system (namespace URI or OID) of an external identifier.
const MAX_EXTERNAL_ID_SYSTEM_LEN: usize = 200;
/// Longest value of an external identifier.
const MAX_EXTERNAL_ID_VALUE_LEN: usize = 100;
/// The earliest birth year accepted: older dates are typing errors, not patients.
const EARLIEST_BIRTH_YEAR: i32 = 1880;

/// January 1 of [`EARLIEST_BIRTH_YEAR`].
fn earliest_birth_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(EARLIEST_BIRTH_YEAR, 1, 1).expect("valid date")
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mrn": "MRN-000123", "family_name": "Doe", "given_name": "Jane",
    "birth_date": "1980-04-02", "sex": "F",
    "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"},
    "phone": "2175550100", "ssn": "123-45-6789"}))]
pub struct PatientInput {
    /// Medical record number; unique within the organization together with `mrn_system`.
    #[schema(max_length = 50)]
    pub mrn: String,
    /// Who assigned the MRN (its namespace): FHIR `Identifier.system` or HL7 PID-3.4, e.g.
    /// `urn:oid:2.16.840.1.113883.19.5`. Absent for the practice's own numbers. The same MRN
    /// under two systems belongs to two patients.
    #[serde(default)]
    #[schema(max_length = 200, example = "urn:oid:2.16.840.1.113883.19.5")]
    pub mrn_system: Option<String>,
    #[schema(max_length = 60)]
    pub family_name: String,
    #[schema(max_length = 35)]
    pub given_name: String,
    #[schema(max_length = 25)]
    pub middle_name: Option<String>,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub birth_date: NaiveDate,
    pub sex: AdministrativeSex,
    pub address: Option<Address>,
    /// Ten-digit US phone number; punctuation is ignored.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Nine digits, with or without dashes.
    pub ssn: Option<String>,
    #[serde(default)]
    pub external_ids: Vec<ExternalId>,
    pub active: Option<bool>,
}

impl PatientInput {
    /// Check the rules and normalise phone and SSN to digits.
    pub fn validate(&mut self, today: NaiveDate) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        self.check_on(today, &mut e);
        if !e.is_empty() {
            return e.finish();
        }
        self.phone = self.phone.as_deref().and_then(digits_only);
        self.ssn = self.ssn.as_deref().and_then(digits_only);
        self.mrn = self.mrn.trim().to_string();
        self.mrn_system = self.mrn_system.as_ref().map(|s| s.trim().to_string());
        self.family_name = self.family_name.trim().to_string();
        self.given_name = self.given_name.trim().to_string();
        Ok(())
    }

    /// Every rule, with `today` the last birth date allowed.
    pub fn check_on(&self, today: NaiveDate, e: &mut Errors) {
        text(e, "/mrn", &self.mrn, MAX_MRN_LEN);
        opt_text(e, "/mrn_system", &self.mrn_system, MAX_MRN_SYSTEM_LEN);
        text(e, "/family_name", &self.family_name, MAX_NAME_LEN);
        text(e, "/given_name", &self.given_name, MAX_FIRST_NAME_LEN);
        opt_text(e, "/middle_name", &self.middle_name, MAX_MIDDLE_NAME_LEN);
        e.check(
            self.birth_date <= today,
            "/birth_date",
            "must not be in the future",
        );
        e.check(
            self.birth_date >= earliest_birth_date(),
            "/birth_date",
            format!("must be after {}", earliest_birth_date()),
        );
        if let Some(a) = &self.address {
            a.validate("/address", e);
        }
        if let Some(p) = &self.phone {
            e.check(
                digits_only(p).is_some_and(|d| d.len() == 10),
                "/phone",
                "must be a ten-digit US phone number",
            );
        }
        if let Some(m) = &self.email {
            let ok = m.len() <= MAX_EMAIL_LEN
                && m.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
            e.check(ok, "/email", "must be an email address");
        }
        if let Some(s) = &self.ssn {
            e.check(
                digits_only(s).is_some_and(|d| valid_ssn(&d)),
                "/ssn",
                "must be a valid nine-digit social security number",
            );
        }
        e.check(
            self.external_ids.len() <= MAX_EXTERNAL_IDS,
            "/external_ids",
            "too many identifiers",
        );
        for (i, x) in self.external_ids.iter().enumerate() {
            text(
                e,
                &format!("/external_ids/{i}/system"),
                &x.system,
                MAX_EXTERNAL_ID_SYSTEM_LEN,
            );
            text(
                e,
                &format!("/external_ids/{i}/value"),
                &x.value,
                MAX_EXTERNAL_ID_VALUE_LEN,
            );
        }
    }
}

impl crate::validation::Rules for PatientInput {
    fn check(&self, e: &mut Errors) {
        self.check_on(chrono::Utc::now().date_naive(), e);
    }
}

/// Digits of a phone or SSN written with the usual punctuation; None if anything else appears.
fn digits_only(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '(' | ')' | '.' | '+' => {}
            _ => return None,
        }
    }
    Some(out)
}

/// SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
fn valid_ssn(d: &str) -> bool {
    d.len() == 9
        && !d.starts_with("000")
        && !d.starts_with("666")
        && !d.starts_with('9')
        && &d[3..5] != "00"
        && &d[5..] != "0000"
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Patient {
    pub id: Uuid,
    pub mrn: String,
    /// The MRN's assigning authority; absent for the practice's own numbers.
    pub mrn_system: Option<String>,
    pub family_name: String,
    pub given_name: String,
    pub middle_name: Option<String>,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub birth_date: NaiveDate,
    pub sex: AdministrativeSex,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub ssn: Option<String>,
    pub external_ids: Vec<ExternalId>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Exact-match search over encrypted identifiers (served by blind indexes). Give exactly one
/// of: `mrn` (optionally with `mrn_system`); `family_name` with `birth_date`; `ssn_last4`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"family_name": "Doe", "birth_date": "1980-04-02"}))]
pub struct PatientSearch {
    pub mrn: Option<String>,
    /// With `mrn`: only the MRN assigned by this system. Without it, an MRN search finds the
    /// value under every system.
    #[serde(default)]
    pub mrn_system: Option<String>,
    pub family_name: Option<String>,
    #[serde(default, deserialize_with = "crate::codes::date::de_opt")]
    pub birth_date: Option<NaiveDate>,
    #[schema(pattern = "^[0-9]{4}$")]
    pub ssn_last4: Option<String>,
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl crate::validation::Rules for PatientSearch {
    fn check(&self, e: &mut Errors) {
        match (
            &self.mrn,
            &self.family_name,
            &self.birth_date,
            &self.ssn_last4,
        ) {
            (Some(_), None, None, None) | (None, Some(_), Some(_), None) => {}
            (None, None, None, Some(l4)) => e.check(
                l4.len() == 4 && l4.chars().all(|c| c.is_ascii_digit()),
                "/ssn_last4",
                "must be exactly four digits",
            ),
            (None, Some(_), None, None) => e.add("/birth_date", "is required with family_name"),
            (None, None, Some(_), None) => e.add("/family_name", "is required with birth_date"),
            _ => e.add(
                "",
                "give exactly one of: mrn; family_name with birth_date; ssn_last4",
            ),
        }
        match (&self.mrn, &self.mrn_system) {
            (None, Some(_)) => e.add("/mrn", "is required with mrn_system"),
            (_, Some(system)) if system.trim().is_empty() => {
                e.add("/mrn_system", "must not be blank")
            }
            _ => {}
        }
    }
}

/// Which patients a list returns (its query string); identifiers are searched by body.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientFilter {
    pub active: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        assert!(valid_ssn("123456789"));
        assert!(!valid_ssn("000456789"));
        assert!(!valid_ssn("666456789"));
        assert!(!valid_ssn("923456789"));
        assert!(!valid_ssn("123006789"));
        assert!(!valid_ssn("123450000"));
        assert_eq!(digits_only("123-45-6789").as_deref(), Some("123456789"));
        assert_eq!(digits_only("12a"), None);
    }
}

//! Canonical records as the JSON a REST client would send, parsed with the API's rules; invalid
//! optional values are dropped with a warning rather than refusing the record.

use revcycle_connector_abi::canonical::{self};
use revcycle_core::codes::{UsState, ZipCode};
use revcycle_core::error::CoreError;
use revcycle_core::validation::{FieldError, Rules};
use serde_json::{Value, json};

use super::results::{api_reason, reason_of};
use crate::extract::parse_json;
use crate::problem::ApiError;

/// Parses a REST input from JSON we built, with the API's safe error messages.
pub fn input<T: serde::de::DeserializeOwned + Rules>(v: &Value) -> Result<T, String> {
    parse_json(v.to_string().as_bytes()).map_err(api_reason)
}

/// Every problem of a record at once: values that do not parse, text that breaks the boundary
/// rule, and every rule of `T` that needs no stored data.
pub fn all_problems<T: serde::de::DeserializeOwned + Rules>(
    v: &Value,
) -> Result<T, Vec<FieldError>> {
    match parse_json::<T>(v.to_string().as_bytes()) {
        Ok(t) => {
            let errors = t.rule_errors(&[]);
            if errors.is_empty() {
                Ok(t)
            } else {
                Err(errors)
            }
        }
        Err(ApiError::Core(CoreError::Invalid(errors))) => Err(errors),
        Err(other) => Err(vec![FieldError::new("", other.to_string())]),
    }
}

/// Like [`input`], but invalid values in the `optional` members (EHRs send 7-digit phones,
/// placeholder SSNs, addresses without a ZIP code) are dropped rather than sinking the whole
/// record. All of a record's problems are found in one pass: if each lies in an optional
/// member, each member is dropped with a warning naming the field and the rule; if any lies
/// elsewhere (a required value, a code), the record is refused naming those fields.
/// An entry of `optional` is a member name or a path of them (`subscriber/address`).
pub fn input_dropping<T: serde::de::DeserializeOwned + Rules>(
    v: &Value,
    optional: &[&str],
    validate: impl Fn(&mut T) -> Result<(), CoreError>,
) -> Result<(T, Vec<String>), String> {
    let optional: Vec<String> = optional.iter().map(|o| format!("/{o}")).collect();
    let member_of = |pointer: &str| {
        optional
            .iter()
            .find(|o| {
                pointer == o.as_str()
                    || (pointer.starts_with(o.as_str())
                        && pointer.as_bytes().get(o.len()) == Some(&b'/'))
            })
            .cloned()
    };
    let mut record = v.clone();
    let mut warnings = Vec::new();
    // Dropping a member cannot make another one invalid, so a second pass finds nothing new;
    // one pass per optional member bounds it all the same.
    for _ in 0..=optional.len() {
        let errors = match all_problems::<T>(&record) {
            Ok(mut t) => {
                validate(&mut t).map_err(|e| reason_of(&e))?;
                return Ok((t, warnings));
            }
            Err(errors) => errors,
        };
        let refusing: Vec<FieldError> = errors
            .iter()
            .filter(|f| member_of(&f.pointer).is_none())
            .cloned()
            .collect();
        if !refusing.is_empty() {
            return Err(reason_of(&CoreError::Invalid(refusing)));
        }
        for f in &errors {
            let Some(member) = member_of(&f.pointer) else {
                continue;
            };
            if let Some(slot) = record.pointer_mut(&member) {
                *slot = Value::Null;
            }
            warnings.push(if f.pointer == member {
                format!("{member} dropped: {}", f.message)
            } else {
                format!("{member} dropped ({}: {})", f.pointer, f.message)
            });
        }
    }
    Err("the record could not be made valid by dropping optional values".into())
}

pub fn sex(s: canonical::Sex) -> &'static str {
    match s {
        canonical::Sex::Female => "F",
        canonical::Sex::Male => "M",
        canonical::Sex::Other | canonical::Sex::Unknown => "U",
    }
}

/// An address as the REST API takes it. Feeds write states by name and ZIP+4 in several
/// ways: both are normalised here (USPS code; ZIP digits as stored), and a blank part is
/// missing, so the rules say so.
pub fn address(a: &Option<canonical::Address>) -> Value {
    let present = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
    match a {
        None => Value::Null,
        Some(a) => json!({
            "line1": a.lines.first().and_then(|l| present(l)),
            "line2": a.lines.get(1).and_then(|l| present(l)),
            "city": present(&a.city),
            "state": present(&a.state).map(|s| UsState::parse_code_or_name(&s)
                .map_or(s, |state| state.as_str().to_string())),
            "zip": present(&a.postal_code).map(|z| ZipCode::parse_lenient(&z)
                .map_or(z, |zip| zip.as_str().to_string())),
        }),
    }
}

pub fn patient_json(p: &canonical::Patient) -> Value {
    json!({
        "mrn": p.mrn,
        "mrn_system": p.mrn_system,
        "family_name": p.name.family,
        "given_name": p.name.given.first().cloned().unwrap_or_default(),
        "middle_name": p.name.given.get(1),
        "birth_date": p.birth_date,
        "sex": sex(p.sex),
        "address": address(&p.address),
        "phone": p.phone,
        "email": p.email,
        "ssn": p.ssn,
        "external_ids": [{"system": p.source_system, "value": p.external_id}],
    })
}

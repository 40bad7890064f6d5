//! Value helpers shared by the mappings: code systems, identifiers, codes and dates.

use crate::model::{self as m, CodeableConcept};

use super::codes;

pub const SYS_V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
pub const SYS_SSN: &str = "http://hl7.org/fhir/sid/us-ssn";
pub const SYS_NPI: &str = "http://hl7.org/fhir/sid/us-npi";
pub const SYS_ICD10CM: &[&str] = &[
    "http://hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:2.16.840.1.113883.6.90",
];
pub const SYS_CPT: &[&str] = &[
    "http://www.ama-assn.org/go/cpt",
    "urn:oid:2.16.840.1.113883.6.12",
];
pub const SYS_HCPCS: &[&str] = &[
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "http://terminology.hl7.org/CodeSystem/HCPCS",
    "urn:oid:2.16.840.1.113883.6.285",
];
pub const SYS_POS: &str =
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";
pub const SYS_NDC: &str = "http://hl7.org/fhir/sid/ndc";
pub const SYS_CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub const SYS_PARTICIPATION_TYPE: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// Whether a string is a plausible resource type name (so it may appear in a message).
pub(super) fn is_type_name(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Whether a logical id is FHIR-shaped (so it may appear in a message): `[A-Za-z0-9\-\.]{1,64}`.
pub(super) fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
pub(super) fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(super) fn push_unique(list: &mut Vec<String>, code: String) {
    if !list.contains(&code) {
        list.push(code);
    }
}

pub(super) fn pointer_for(
    diagnoses: &mut Vec<String>,
    code: String,
) -> Result<u8, (&'static str, String)> {
    let index = match diagnoses.iter().position(|d| *d == code) {
        Some(n) => n,
        None => {
            diagnoses.push(code);
            diagnoses.len() - 1
        }
    };
    u8::try_from(index + 1).map_err(|_| {
        (
            codes::UNSUPPORTED_VALUE,
            "too many diagnoses for a pointer".into(),
        )
    })
}

/// ICD-10-CM as printed: upper case, with the dot after the category (`e119` -> `E11.9`).
pub fn icd10(code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    if code.len() > 3 && !code.contains('.') && code.is_ascii() {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code
    }
}

/// `YYYY-MM-DD` from a FHIR date or dateTime; partial dates give `None`.
pub fn full_date(text: &str) -> Option<String> {
    let d = text.trim().get(..10)?;
    let b = d.as_bytes();
    let shape = b.iter().enumerate().all(|(n, c)| match n {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    (shape && text.trim().len() >= 10).then(|| d.to_owned())
}
pub(super) fn npi_of(ids: &[m::Identifier]) -> Option<String> {
    ids.iter()
        .find(|id| id.system.as_deref() == Some(SYS_NPI))
        .and_then(|id| non_empty(id.value.as_deref()))
}
pub(super) fn pos_code(cc: &CodeableConcept) -> Option<String> {
    cc.code_in(&[SYS_POS])
        .and_then(|c| c.code.clone())
        .map(|c| c.trim().to_owned())
}

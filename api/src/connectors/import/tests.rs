use serde_json::json;

use super::inputs::*;
use super::*;

const OPTIONAL: &[&str] = &["phone", "email", "ssn", "middle_name", "address"];

fn patient(changes: Value) -> Value {
    let mut v = json!({"mrn": "MRN-1", "family_name": "Doe", "given_name": "Jane",
        "birth_date": "1980-04-02", "sex": "F", "phone": "6175550100",
        "ssn": "123-45-6789",
        "address": {"line1": "1 Elm St", "city": "Boston", "state": "MA", "zip": "02134"},
        "external_ids": [{"system": "urn:ehr", "value": "p1"}]});
    for (k, val) in changes.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

fn drop_from(v: &Value) -> Result<(PatientInput, Vec<String>), String> {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    input_dropping(v, OPTIONAL, |p: &mut PatientInput| p.validate(today))
}

#[test]
fn every_invalid_optional_value_is_dropped_in_one_pass() {
    // A Synthea-style record: no ZIP code, a placeholder SSN, a seven-digit phone.
    let v = patient(json!({"ssn": "999-12-3456", "phone": "5550100",
        "address": {"line1": "1 Elm St", "city": "Boston", "state": "MA", "zip": null}}));
    let (p, warnings) = drop_from(&v).unwrap();
    assert_eq!(
        warnings,
        [
            "/address dropped (/address/zip: required field is missing)",
            "/phone dropped: must be a ten-digit US phone number",
            "/ssn dropped: must be a valid nine-digit social security number",
        ]
    );
    assert_eq!((p.address, p.phone, p.ssn), (None, None, None));
    assert_eq!(p.mrn, "MRN-1");
    // Nothing wrong: nothing dropped, values normalised.
    let (p, warnings) = drop_from(&patient(json!({}))).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(p.ssn.as_deref(), Some("123456789"));
}

#[test]
fn a_required_or_coded_value_refuses_the_record_naming_each_field() {
    let v = patient(json!({"mrn": null, "sex": "boy", "ssn": "999-12-3456",
        "birth_date": "1980-02-30"}));
    let reason = drop_from(&v).unwrap_err();
    assert_eq!(
        reason,
        "/birth_date: must be a date written YYYY-MM-DD; /mrn: required field is missing; \
         /sex: sex must be \"F\", \"M\" or \"U\""
    );
    assert!(!reason.contains("boy") && !reason.contains("999"));
}

#[test]
fn feed_addresses_are_normalised_and_blank_parts_are_missing() {
    let a = |state: &str, zip: &str| {
        address(&Some(canonical::Address {
            lines: vec!["1 Elm St".into()],
            city: "Boston".into(),
            state: state.into(),
            postal_code: zip.into(),
            country: None,
        }))
    };
    let v = a("Massachusetts", "021341234");
    assert_eq!(
        (&v["state"], &v["zip"]),
        (&json!("MA"), &json!("021341234"))
    );
    let v = a("U.S. Virgin Islands", "00802 1234");
    assert_eq!(
        (&v["state"], &v["zip"]),
        (&json!("VI"), &json!("008021234"))
    );
    // Unknown names go through as sent, for the rules to name; blanks are missing.
    let v = a("Atlantis", " ");
    assert_eq!((&v["state"], &v["zip"]), (&json!("Atlantis"), &Value::Null));
}

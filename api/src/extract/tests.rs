use revcycle_core::error::CoreError;
use revcycle_core::validation::Rules;

use super::headers::{NO_VERSION, parse_if_match};
use super::*;
use crate::problem::ApiError;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Body {
    mrn: String,
    limit: Option<u32>,
    status: Option<revcycle_core::codes::ClaimFrequency>,
}

impl Rules for Body {
    fn check(&self, e: &mut revcycle_core::validation::Errors) {
        e.check(self.limit != Some(0), "/limit", "must be at least 1");
    }
}

fn pointers(e: ApiError) -> Vec<(String, String)> {
    match e {
        ApiError::Core(CoreError::Invalid(errors)) => {
            errors.into_iter().map(|e| (e.pointer, e.message)).collect()
        }
        other => panic!("not a validation error: {other}"),
    }
}

#[test]
fn a_null_required_value_is_reported_missing_not_as_a_wrong_type() {
    let e = parse_json::<Body>(br#"{"mrn": null}"#).unwrap_err();
    assert_eq!(
        pointers(e),
        [("/mrn".to_string(), "required field is missing".to_string())]
    );
    let e = parse_json::<Body>(br#"{}"#).unwrap_err();
    assert_eq!(pointers(e)[0].0, "/mrn");
}

#[test]
fn every_bad_field_of_a_body_is_named_at_once() {
    use revcycle_core::model::patient::PatientInput;
    let body = br#"{"mrn": 5, "family_name": "Zebulon", "given_name": null,
        "birth_date": "1980-02-30", "sex": "boy", "ssn": "999-12-3456", "phone": "555",
        "address": {"line1": "1 Elm St", "city": "Springfield", "state": "Illinoisy"},
        "colour": "crimson"}"#;
    let found = pointers(parse_json::<PatientInput>(body).unwrap_err());
    let mut ptrs: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    ptrs.sort();
    assert_eq!(
        ptrs,
        [
            "/address/state",
            "/address/zip",
            "/birth_date",
            "/colour",
            "/given_name",
            "/mrn",
            "/phone",
            "/sex",
            "/ssn"
        ],
        "{found:?}"
    );
    let message = |p: &str| found.iter().find(|(q, _)| q == p).unwrap().1.clone();
    assert_eq!(message("/given_name"), "required field is missing");
    assert_eq!(message("/address/zip"), "required field is missing");
    assert_eq!(message("/colour"), "unknown field");
    assert!(message("/mrn").starts_with("wrong type: expected a string"));
    assert_eq!(message("/sex"), "sex must be \"F\", \"M\" or \"U\"");
    assert_eq!(
        message("/ssn"),
        "must be a valid nine-digit social security number"
    );
    // No value of the body appears in any message.
    for secret in ["Illinoisy", "boy", "999", "555", "Zebulon", "02-30"] {
        assert!(
            found
                .iter()
                .all(|(p, m)| !m.contains(secret) && !p.contains(secret)),
            "{secret} {found:?}"
        );
    }
}

#[test]
fn rules_across_fields_skip_fields_that_did_not_parse() {
    use revcycle_core::model::coverage::CoverageInput;
    use revcycle_core::model::encounter::EncounterInput;
    // The relationship did not parse: whether a subscriber is needed is unknown, so only
    // the relationship is named (not the subscriber it would require or forbid).
    let cov = br#"{"patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a01",
        "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "priority": "primary",
        "member_id": "  ", "relationship": "cousin", "effective_from": "2026-13-01",
        "effective_to": "2026-01-01"}"#;
    let found = pointers(parse_json::<CoverageInput>(cov).unwrap_err());
    let ptrs: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        ptrs,
        ["/relationship", "/effective_from", "/member_id"],
        "{found:?}"
    );
    // A diagnosis that does not parse keeps its place: pointers to later ones still count,
    // a stand-in is never "listed twice", and the line's own mistakes are all named.
    let enc = br#"{"patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a01",
        "billing_provider_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a04",
        "service_date_from": "2026-11-02", "place_of_service": "11",
        "diagnoses": ["I10", "E11", "Q99.99X", "1NVALID"],
        "lines": [{"procedure_code": "9921", "modifiers": ["255"], "units": "0",
            "charge": 12.5, "diagnosis_pointers": [4, 5]}]}"#;
    let found = pointers(parse_json::<EncounterInput>(enc).unwrap_err());
    let ptrs: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        ptrs,
        [
            "/diagnoses/3",
            "/lines/0/charge",
            "/lines/0/modifiers/0",
            "/lines/0/procedure_code",
            "/lines/0/units",
            "/diagnoses/1",
            "/diagnoses/2",
            "/lines/0/diagnosis_pointers/1"
        ],
        "{found:?}"
    );
}

#[test]
fn a_body_of_the_wrong_shape_altogether_is_named_at_its_root() {
    use revcycle_core::model::payer::PayerInput;
    let found = pointers(parse_json::<PayerInput>(b"[1, 2]").unwrap_err());
    assert_eq!(
        found,
        [(String::new(), "the body must be a JSON object".to_string())]
    );
    assert!(matches!(
        parse_json::<PayerInput>(b"{\"name\": 1, "),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn query_errors_name_the_parameter_and_never_the_value() {
    let e = parse_query::<Body>("mrn=a&limit=x9z").unwrap_err();
    let found = pointers(e);
    assert_eq!(found[0].0, "/limit");
    assert!(!found[0].1.contains("x9z"), "{found:?}");
    let e = parse_query::<Body>("mrn=a&status=Qwerty").unwrap_err();
    let found = pointers(e);
    assert_eq!(found[0].0, "/status");
    assert!(!found[0].1.contains("Qwerty"), "{found:?}");
    let e = parse_query::<Body>("mrn=a%00b").unwrap_err();
    assert_eq!(pointers(e)[0].0, "/mrn");
    // A parameter name that is not one of ours is not echoed either.
    let e = parse_query::<Body>("mrn=a&Evil%01Name=x%00").unwrap_err();
    assert_eq!(pointers(e)[0].0, "");
}

#[test]
fn if_match_takes_only_our_etags() {
    use actix_web::http::header::HeaderValue;
    let v = |s: &str| parse_if_match(&HeaderValue::from_str(s).unwrap()).map(|m| m.0);
    assert_eq!(v("\"3\"").ok(), Some(3));
    assert_eq!(v("W/\"3\"").ok(), Some(3));
    assert_eq!(v("\"99999999999999\"").ok(), Some(NO_VERSION));
    for bad in ["*", "3", "\"\"", "\"3\", \"4\"", "\"-1\""] {
        assert!(v(bad).is_err(), "{bad}");
    }
}

#[actix_web::test]
async fn an_optional_if_match_is_never_ignored() {
    use super::OptionalIfMatch;
    use actix_web::FromRequest;
    let take = |value: Option<&str>| {
        let mut req = actix_web::test::TestRequest::default();
        if let Some(v) = value {
            req = req.insert_header(("If-Match", v));
        }
        let (req, mut payload) = req.to_http_parts();
        let taken = OptionalIfMatch::from_request(&req, &mut payload).into_inner();
        taken.ok().map(|m| m.0.map(|v| v.0))
    };
    assert_eq!(take(None), Some(None));
    assert_eq!(take(Some("\"2\"")), Some(Some(2)));
    // Empty or malformed: a version no resource has, so the precondition fails (412); never
    // taken as "no precondition".
    for bad in ["", "*", "2", "\"two\""] {
        assert_eq!(take(Some(bad)), Some(Some(NO_VERSION)), "{bad:?}");
    }
}

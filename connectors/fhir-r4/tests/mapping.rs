//! Mapping rules, called directly through the rlib.

use revcycle_connector_abi::canonical::{
    CoveragePriority, Encounter, ImportRecord, ImportResult, Patient, Sex,
};
use revcycle_connector_abi::serde_json::{self, Value, json};
use revcycle_connector_fhir_r4::import::{self, codes};
use revcycle_connector_fhir_r4::{FhirR4, Options};

fn opts() -> Options {
    Options {
        source_system: "ehr-a".into(),
        default_place_of_service: None,
    }
}

fn run(input: &Value) -> ImportResult {
    import::import(input.to_string().as_bytes(), &opts()).expect("import")
}

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn entry(full_url: &str, resource: Value) -> Value {
    json!({"fullUrl": full_url, "resource": resource})
}

fn patients(r: &ImportResult) -> Vec<&Patient> {
    r.records
        .iter()
        .filter_map(|x| match x {
            ImportRecord::Patient(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn encounters(r: &ImportResult) -> Vec<&Encounter> {
    r.records
        .iter()
        .filter_map(|x| match x {
            ImportRecord::Encounter(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn patient_json(id: &str) -> Value {
    json!({
        "resourceType": "Patient", "id": id,
        "identifier": [
            {"system": "urn:x:other", "value": "OTHER-1"},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
             "value": "MRN-7"},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-00-1234"}
        ],
        "name": [{"use": "old", "family": "Formername"},
                 {"use": "official", "family": "Synthetic", "given": ["Ada"]}],
        "gender": "female", "birthDate": "1980-02-29",
        "telecom": [{"system": "phone", "value": "555-0100", "use": "work"},
                    {"system": "phone", "value": "555-0101", "use": "home"}]
    })
}

#[test]
fn patient_identifiers_names_and_contact() {
    let r = run(&bundle(
        "collection",
        vec![entry("urn:uuid:1", patient_json("p1"))],
    ));
    let p = patients(&r)[0];
    assert_eq!(
        (p.source_system.as_str(), p.external_id.as_str()),
        ("ehr-a", "p1")
    );
    assert_eq!(p.mrn.as_deref(), Some("MRN-7"));
    assert_eq!(p.ssn.as_deref(), Some("999-00-1234"));
    assert_eq!(p.name.family, "Synthetic");
    assert_eq!(p.other_names[0].family, "Formername");
    assert_eq!(p.phone.as_deref(), Some("555-0101"));
    assert_eq!(p.sex, Sex::Female);
    assert_eq!(p.birth_date.as_deref(), Some("1980-02-29"));
    assert!(r.issues.is_empty(), "{:?}", r.issues);
}

#[test]
fn patient_without_name_is_rejected_naming_the_field_only() {
    let mut p = patient_json("p1");
    p["name"] = json!([{"given": ["Ada"]}]);
    let r = run(&bundle("batch", vec![entry("urn:uuid:1", p)]));
    assert!(r.records.is_empty());
    assert_eq!(r.issues.len(), 1);
    let issue = &r.issues[0];
    assert_eq!(
        (issue.position, issue.code.as_str()),
        (Some(0), codes::MISSING_REQUIRED)
    );
    assert!(
        issue.message.contains("Patient/p1 (entry 0)"),
        "{}",
        issue.message
    );
    assert!(issue.message.contains("name.family"), "{}", issue.message);
    assert!(!issue.message.contains("Ada") && !issue.message.contains("1234"));
}

#[test]
fn a_gender_outside_administrative_gender_refuses_the_record_never_coerced() {
    let mut p = patient_json("p1");
    p["gender"] = json!("boy");
    let mut q = patient_json("p2");
    q["gender"] = json!("unknown");
    let r = run(&bundle(
        "collection",
        vec![entry("urn:uuid:1", p), entry("urn:uuid:2", q)],
    ));
    let kept = patients(&r);
    assert_eq!(kept.len(), 1, "{:?}", r.issues);
    assert_eq!(kept[0].sex, Sex::Unknown);
    let issue = r
        .issues
        .iter()
        .find(|i| i.code == codes::INVALID_CODE)
        .expect("an invalid-code issue");
    assert_eq!(issue.position, Some(0));
    assert!(
        issue.message.contains("administrative-gender"),
        "{}",
        issue.message
    );
    assert!(!issue.message.contains("boy"), "{}", issue.message);
}

#[test]
fn wrong_shape_names_the_path_not_the_value() {
    let mut p = patient_json("p1");
    p["birthDate"] = json!({"secret": "Synthetic"});
    p["gender"] = json!(["999-00-1234"]);
    let r = run(&bundle("collection", vec![entry("urn:uuid:1", p)]));
    assert!(r.records.is_empty());
    let m = &r.issues[0].message;
    assert_eq!(r.issues[0].code, codes::MALFORMED);
    assert_eq!(
        m,
        "Patient/p1 (entry 0): /entry/0/resource/birthDate: the field has the wrong shape"
    );
    assert!(!m.contains("999") && !m.contains("Synthetic"), "{m}");

    let mut p = patient_json("p2");
    p["identifier"][1]["type"]["coding"] = json!({"code": "MR"});
    let r = run(&bundle("collection", vec![entry("urn:uuid:2", p)]));
    assert_eq!(
        r.issues[0].message,
        "Patient/p2 (entry 0): /entry/0/resource/identifier/1/type/coding: the field has the \
         wrong shape"
    );
}

fn org(id: &str) -> Value {
    json!({"resourceType": "Organization", "id": id, "name": "Synthetic Payer",
           "identifier": [{"system": "urn:x:payer", "value": "PAYER1"}]})
}

fn coverage(id: &str, beneficiary: &str, payor: &str) -> Value {
    json!({"resourceType": "Coverage", "id": id, "status": "active",
           "subscriberId": "M-1", "beneficiary": {"reference": beneficiary},
           "payor": [{"reference": payor}], "order": 2})
}

#[test]
fn references_resolve_by_urn_relative_and_absolute_url() {
    let r = run(&bundle(
        "transaction",
        vec![
            entry("urn:uuid:aaaa", patient_json("p1")),
            entry("https://ehr.example.org/fhir/Organization/o1", org("o1")),
            // urn:uuid beneficiary, absolute payor.
            entry(
                "urn:uuid:c1",
                coverage(
                    "c1",
                    "urn:uuid:aaaa",
                    "https://ehr.example.org/fhir/Organization/o1",
                ),
            ),
            // relative references, with a version.
            entry(
                "urn:uuid:c2",
                coverage("c2", "Patient/p1/_history/3", "Organization/o1"),
            ),
            // a patient imported earlier: the relative id stands on its own.
            entry(
                "urn:uuid:c3",
                coverage("c3", "Patient/p-elsewhere", "Organization/o1"),
            ),
            // an unresolvable urn:uuid cannot.
            entry(
                "urn:uuid:c4",
                coverage("c4", "urn:uuid:missing", "Organization/o1"),
            ),
        ],
    ));
    let covs: Vec<_> = r
        .records
        .iter()
        .filter_map(|x| match x {
            ImportRecord::Coverage(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(covs.len(), 3, "{:?}", r.issues);
    assert_eq!(covs[0].patient_external_id, "p1");
    assert_eq!(covs[0].payer.name, "Synthetic Payer");
    assert_eq!(covs[0].payer.payer_id.as_deref(), Some("PAYER1"));
    assert_eq!(covs[0].priority, CoveragePriority::Secondary);
    assert_eq!(covs[1].patient_external_id, "p1");
    assert_eq!(covs[2].patient_external_id, "p-elsewhere");
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].code, codes::UNRESOLVED_REFERENCE);
    assert_eq!(
        r.issues[0].message,
        "Coverage/c4 (entry 5): /entry/5/resource/beneficiary/reference: the reference does \
         not resolve to a Patient of this input (nor is it a Patient/<id> imported earlier)"
    );
}

fn encounter_json() -> Value {
    json!({"resourceType": "Encounter", "id": "e1", "status": "finished",
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
           "subject": {"reference": "Patient/p1"},
           "period": {"start": "2024-05-01T10:00:00Z"}})
}

#[test]
fn code_systems_and_pointers() {
    let r = run(&bundle(
        "searchset",
        vec![
            entry("urn:uuid:e", encounter_json()),
            entry(
                "urn:uuid:c1",
                json!({"resourceType": "Condition", "id": "c1",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "e119"}]},
                "encounter": {"reference": "Encounter/e1"}, "subject": {"reference": "Patient/p1"}}),
            ),
            entry(
                "urn:uuid:c2",
                json!({"resourceType": "Condition", "id": "c2",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                "encounter": {"reference": "Encounter/e1"}, "subject": {"reference": "Patient/p1"}}),
            ),
            entry(
                "urn:uuid:ci",
                json!({"resourceType": "ChargeItem", "id": "ci1", "status": "billable",
                "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/HCPCS", "code": "g0008"}]},
                "context": {"reference": "Encounter/e1"}, "subject": {"reference": "Patient/p1"},
                "quantity": {"value": 1.5}, "priceOverride": {"value": 10, "currency": "USD"},
                "reason": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z23"}]}],
                "extension": [{"url": "http://example.org/x/modifier", "valueString": "59"}]}),
            ),
            entry(
                "urn:uuid:ci2",
                json!({"resourceType": "ChargeItem", "id": "ci2", "status": "billable",
                "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99221"}]},
                "context": {"reference": "Encounter/e1"}, "subject": {"reference": "Patient/p1"},
                "priceOverride": {"value": 10, "currency": "EUR"}}),
            ),
            entry(
                "urn:uuid:o",
                json!({"resourceType": "Observation", "id": "o1", "status": "final"}),
            ),
            entry(
                "urn:uuid:o2",
                json!({"resourceType": "Immunization", "id": "i1"}),
            ),
            entry(
                "urn:uuid:o3",
                json!({"resourceType": "Observation", "id": "o2"}),
            ),
        ],
    ));
    let e = encounters(&r)[0];
    assert_eq!(e.patient_external_id, "p1");
    assert_eq!(e.date_of_service, "2024-05-01");
    assert_eq!(e.place_of_service.as_deref(), Some("21"));
    assert_eq!(e.diagnoses, ["E11.9", "Z23"]);
    assert_eq!(e.service_lines.len(), 1);
    let line = &e.service_lines[0];
    assert_eq!(line.procedure_code, "G0008");
    assert_eq!(line.modifiers, ["59"]);
    assert_eq!(
        (line.units.as_str(), line.charge.as_str()),
        ("1.5", "10.00")
    );
    assert_eq!(line.diagnosis_pointers, [2]);
    let got: Vec<(&str, Option<u64>)> = r
        .issues
        .iter()
        .map(|i| (i.code.as_str(), i.position))
        .collect();
    assert_eq!(
        got,
        [
            (codes::NO_BILLING_CODE, Some(2)),
            (codes::UNSUPPORTED_VALUE, Some(4)),
            (codes::IGNORED_TYPES, None)
        ]
    );
    assert!(
        r.issues[1]
            .message
            .ends_with("/resource/priceOverride/currency is not USD"),
        "{}",
        r.issues[1].message
    );
    assert!(
        r.issues[2]
            .message
            .contains("Immunization x1, Observation x2"),
        "{}",
        r.issues[2].message
    );
}

#[test]
fn missing_encounter_date_rejects_and_unlinked_billing_is_reported() {
    let mut e = encounter_json();
    e["period"] = json!({"start": "2024-05"});
    let r = run(&bundle(
        "collection",
        vec![
            entry("urn:uuid:e", e),
            entry(
                "urn:uuid:p",
                json!({"resourceType": "Procedure", "id": "pr1", "status": "completed",
                "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/zzz"},
                "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}}),
            ),
        ],
    ));
    assert!(r.records.is_empty());
    let got: Vec<&str> = r.issues.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(got, [codes::MISSING_REQUIRED, codes::NOT_LINKED]);
    assert!(r.issues[0].message.contains("period.start"));
}

#[test]
fn entered_in_error_and_duplicates_are_skipped_with_an_issue() {
    let mut bad = patient_json("p2");
    bad["status"] = json!("entered-in-error");
    let r = run(&bundle(
        "collection",
        vec![
            entry("urn:uuid:1", patient_json("p1")),
            entry("urn:uuid:2", patient_json("p1")),
            entry(
                "urn:uuid:3",
                json!({"resourceType": "Coverage", "id": "c", "status": "entered-in-error"}),
            ),
        ],
    ));
    assert_eq!(patients(&r).len(), 1);
    let got: Vec<&str> = r.issues.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(got, [codes::DUPLICATE, codes::SKIPPED_STATUS]);
}

#[test]
fn malformed_json_errors_name_the_position_only() {
    let err = import::import(
        b"{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [ {\"x\": \"999-00-1234\" ]\n}",
        &opts(),
    )
    .unwrap_err();
    assert_eq!(err.code, "invalid_input");
    assert!(err.message.contains("line 3 column"), "{}", err.message);
    assert!(!err.message.contains("999"), "{}", err.message);

    let err = import::import(b"   \n", &opts()).unwrap_err();
    assert!(err.message.contains("empty"));
    let err = import::import(b"\xff\xfe", &opts()).unwrap_err();
    assert!(err.message.contains("UTF-8"));
    let err =
        import::import(br#"{"resourceType":"Bundle","type":"history"}"#, &opts()).unwrap_err();
    assert!(err.message.contains("history"), "{}", err.message);
}

#[test]
fn ndjson_is_detected_and_a_bad_line_is_one_issue() {
    let p1 = patient_json("p1").to_string();
    let p2 = patient_json("p2").to_string();
    let input = format!("{p1}\n{{\"resourceType\": \"Patient\", \"name\": \"Syn\n\n{p2}\n");
    let r = import::import(input.as_bytes(), &opts()).unwrap();
    assert_eq!(patients(&r).len(), 2);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(
        (r.issues[0].position, r.issues[0].code.as_str()),
        (Some(2), codes::MALFORMED)
    );
    assert!(
        !r.issues[0].message.contains("Syn"),
        "{}",
        r.issues[0].message
    );

    // A single line that is not a Bundle is one resource.
    let r = import::import(p1.as_bytes(), &opts()).unwrap();
    assert_eq!(patients(&r).len(), 1);
}

#[test]
fn place_of_service_falls_back_to_the_configured_default() {
    let connector =
        FhirR4::from_config(&json!({"source_system": "ehr-b", "default_place_of_service": "22"}))
            .unwrap();
    let mut e = encounter_json();
    e["class"]["code"] = json!("AMB");
    let r = import::import(
        bundle("collection", vec![entry("urn:uuid:e", e)])
            .to_string()
            .as_bytes(),
        connector.options(),
    )
    .unwrap();
    let e = encounters(&r)[0];
    assert_eq!(e.source_system, "ehr-b");
    assert_eq!(e.place_of_service.as_deref(), Some("22"));
    assert!(FhirR4::from_config(&json!({"source_system": ""})).is_err());
    assert!(
        FhirR4::from_config(&json!({"source_system": "x", "default_place_of_service": 11}))
            .is_err()
    );
}

#[test]
fn output_serializes_as_tagged_records() {
    let r = run(&bundle(
        "collection",
        vec![entry("urn:uuid:1", patient_json("p1"))],
    ));
    let v: Value = serde_json::from_slice(&revcycle_connector_abi::to_output(&r).unwrap()).unwrap();
    assert_eq!(v["records"][0]["type"], "patient");
    assert_eq!(v["schema_version"], 1);
}

fn coverages(r: &ImportResult) -> Vec<&revcycle_connector_abi::canonical::Coverage> {
    r.records
        .iter()
        .filter_map(|x| match x {
            ImportRecord::Coverage(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn issues(r: &ImportResult) -> Vec<(Option<u64>, &str, &str)> {
    r.issues
        .iter()
        .map(|i| (i.position, i.code.as_str(), i.message.as_str()))
        .collect()
}

#[test]
fn coverage_status_is_checked_against_fm_status() {
    let with_status = |id: &str, status: Option<&str>| {
        let mut c = coverage(id, "Patient/p1", "Organization/o1");
        match status {
            Some(s) => c["status"] = json!(s),
            None => {
                c.as_object_mut().unwrap().remove("status");
            }
        }
        entry(&format!("urn:uuid:{id}"), c)
    };
    let r = run(&bundle(
        "collection",
        vec![
            entry("urn:uuid:o1", org("o1")),
            with_status("active", Some("active")),
            with_status("cancelled", Some("cancelled")),
            with_status("draft", Some("draft")),
            with_status("eie", Some("entered-in-error")),
            with_status("bad", Some("terminated")),
            with_status("none", None),
        ],
    ));
    let ids: Vec<_> = coverages(&r)
        .iter()
        .map(|c| c.external_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["active"]);
    let not_in_force = |what: &str| {
        format!(
            "status {what}: the coverage is not in force and is not imported (a coverage \
             imported earlier is left as it was)"
        )
    };
    assert_eq!(
        issues(&r),
        [
            (
                Some(2),
                codes::SKIPPED_STATUS,
                format!(
                    "Coverage/cancelled (entry 2): /entry/2/resource/status: {}",
                    not_in_force("cancelled")
                )
                .as_str()
            ),
            (
                Some(3),
                codes::SKIPPED_STATUS,
                format!(
                    "Coverage/draft (entry 3): /entry/3/resource/status: {}",
                    not_in_force("draft")
                )
                .as_str()
            ),
            (
                Some(4),
                codes::SKIPPED_STATUS,
                format!(
                    "Coverage/eie (entry 4): /entry/4/resource/status: {}",
                    not_in_force("entered-in-error")
                )
                .as_str()
            ),
            (
                Some(5),
                codes::INVALID_CODE,
                "Coverage/bad (entry 5): /entry/5/resource/status: status is not one of active, \
                 cancelled, draft, entered-in-error (FHIR fm-status)"
            ),
            (
                Some(6),
                codes::MISSING_REQUIRED,
                "Coverage/none (entry 6): /entry/6/resource/status: status is missing"
            ),
        ]
    );
}

#[test]
fn member_id_comes_from_subscriber_id_or_the_member_identifier() {
    let mut by_identifier = coverage("c-mb", "Patient/p1", "Organization/o1");
    by_identifier
        .as_object_mut()
        .unwrap()
        .remove("subscriberId");
    by_identifier["identifier"] = json!([
        {"system": "urn:x:policy", "value": "POLICY-9"},
        {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]},
         "system": "urn:x:members", "value": "MEMBER-42"}
    ]);
    let mut neither = coverage("c-none", "Patient/p1", "Organization/o1");
    neither.as_object_mut().unwrap().remove("subscriberId");
    neither["identifier"] = json!([{"system": "urn:x:policy", "value": "POLICY-9"}]);
    let r = run(&bundle(
        "collection",
        vec![
            entry("urn:uuid:o1", org("o1")),
            entry(
                "urn:uuid:c1",
                coverage("c-sub", "Patient/p1", "Organization/o1"),
            ),
            entry("urn:uuid:c2", by_identifier),
            entry("urn:uuid:c3", neither),
        ],
    ));
    let got: Vec<_> = coverages(&r)
        .iter()
        .map(|c| (c.external_id.as_deref().unwrap(), c.member_id.as_str()))
        .collect();
    assert_eq!(got, [("c-sub", "M-1"), ("c-mb", "MEMBER-42")]);
    assert_eq!(
        issues(&r),
        [(
            Some(3),
            codes::MISSING_REQUIRED,
            "Coverage/c-none (entry 3): /entry/3/resource/subscriberId: subscriberId is missing, \
             and no identifier has type MB (member number)"
        )]
    );
}

fn claim_for(enc: &str, billable: Value, items: Value) -> Value {
    json!({"resourceType": "Claim", "id": format!("claim-{enc}"), "status": "active", "use": "claim",
           "patient": {"reference": "Patient/p1"}, "billablePeriod": billable,
           "item": items})
}

#[test]
fn encounter_dates_come_from_period_else_the_claim_or_procedure_dates() {
    let enc = |id: &str| {
        let mut e = encounter_json();
        e["id"] = json!(id);
        e.as_object_mut().unwrap().remove("period");
        e
    };
    let cpt = json!({"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]});
    let r = run(&bundle(
        "collection",
        vec![
            // Claim: billable period and an item's serviced date.
            entry("urn:uuid:e1", enc("from-claim")),
            entry(
                "urn:uuid:cl1",
                claim_for(
                    "from-claim",
                    json!({"start": "2024-03-02T09:00:00Z", "end": "2024-03-04"}),
                    json!([{"sequence": 1, "productOrService": cpt, "servicedDate": "2024-03-03",
                            "encounter": [{"reference": "Encounter/from-claim"}]}]),
                ),
            ),
            // Procedure dates only.
            entry("urn:uuid:e2", enc("from-procedure")),
            entry(
                "urn:uuid:pr",
                json!({"resourceType": "Procedure", "id": "pr", "status": "completed",
                       "code": cpt, "subject": {"reference": "Patient/p1"},
                       "encounter": {"reference": "Encounter/from-procedure"},
                       "performedPeriod": {"start": "2024-04-10", "end": "2024-04-10T11:00:00Z"}}),
            ),
            // Nothing to take a date from.
            entry("urn:uuid:e3", enc("no-date")),
        ],
    ));
    let got: Vec<_> = encounters(&r)
        .iter()
        .map(|e| {
            (
                e.external_id.as_str(),
                e.date_of_service.as_str(),
                e.end_date.as_deref(),
                e.service_lines.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("from-claim", "2024-03-02", Some("2024-03-04"), 1),
            ("from-procedure", "2024-04-10", None, 1),
        ]
    );
    assert_eq!(
        issues(&r),
        [(
            Some(4),
            codes::MISSING_REQUIRED,
            "Encounter/no-date (entry 4): /entry/4/resource/period/start: period.start is missing \
             or not a full date, and no Claim, Procedure or ChargeItem of the encounter has a \
             service date"
        )]
    );
}

#[test]
fn references_the_mapping_reads_must_resolve_or_the_record_is_refused_with_the_pointer() {
    let practitioner = json!({"resourceType": "Practitioner", "id": "dr",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}]});
    let with = |id: &str, f: &dyn Fn(&mut Value)| {
        let mut e = encounter_json();
        e["id"] = json!(id);
        f(&mut e);
        entry(&format!("urn:uuid:{id}"), e)
    };
    let r = run(&bundle(
        "transaction",
        vec![
            entry("urn:uuid:dr", practitioner),
            // Resolves in the bundle.
            with("ok", &|e| {
                e["participant"] = json!([{"individual": {"reference": "urn:uuid:dr"}}]);
            }),
            // A conditional reference by NPI stands on its own.
            with("conditional", &|e| {
                e["serviceProvider"] = json!({"reference":
                    "Organization?identifier=http://hl7.org/fhir/sid/us-npi|1244567891"});
            }),
            // Unresolved: the rendering provider would silently be lost.
            with("lost-provider", &|e| {
                e["participant"] = json!([{"individual": {"reference": "Practitioner/nobody"}}]);
            }),
            // Unresolved: the diagnosis would silently be lost.
            with("lost-diagnosis", &|e| {
                e["diagnosis"] = json!([{"condition": {"reference": "urn:uuid:missing"}}]);
            }),
            // A participant in a role we do not read is not checked.
            with("escort", &|e| {
                e["participant"] = json!([{"type": [{"coding": [{"system":
                    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ESC"}]}],
                    "individual": {"reference": "RelatedPerson/unknown"}}]);
            }),
            // A reference to the wrong type.
            with("wrong-type", &|e| {
                e["location"] = json!([{"location": {"reference": "urn:uuid:dr"}}]);
            }),
        ],
    ));
    let got: Vec<_> = encounters(&r)
        .iter()
        .map(|e| {
            (
                e.external_id.as_str(),
                e.rendering_provider_npi.as_deref(),
                e.billing_provider_npi.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ok", Some("1234567893"), None),
            ("conditional", None, Some("1244567891")),
            ("escort", None, None),
        ]
    );
    assert_eq!(
        issues(&r),
        [
            (
                Some(3),
                codes::UNRESOLVED_REFERENCE,
                "Encounter/lost-provider (entry 3): \
                 /entry/3/resource/participant/0/individual/reference: the reference does not \
                 resolve to a Practitioner, PractitionerRole, Organization or Location of this \
                 input"
            ),
            (
                Some(4),
                codes::UNRESOLVED_REFERENCE,
                "Encounter/lost-diagnosis (entry 4): \
                 /entry/4/resource/diagnosis/0/condition/reference: the reference does not \
                 resolve to a Condition of this input"
            ),
            (
                Some(6),
                codes::UNRESOLVED_REFERENCE,
                "Encounter/wrong-type (entry 6): /entry/6/resource/location/0/location/reference: \
                 the reference is not to a Location"
            ),
        ]
    );
}

#[test]
fn a_lone_resource_and_a_transaction_response_are_imported() {
    let pretty = serde_json::to_string_pretty(&patient_json("p1")).unwrap();
    let r = import::import(pretty.as_bytes(), &opts()).expect("import");
    assert_eq!(patients(&r).len(), 1);
    assert!(r.issues.is_empty(), "{:?}", r.issues);

    let response = json!({"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "204 No Content"}},
        {"fullUrl": "https://ehr.example.org/fhir/Patient/p1", "resource": patient_json("p1"),
         "response": {"status": "201 Created", "location": "Patient/p1/_history/1"}}
    ]});
    let r = run(&response);
    assert_eq!(patients(&r)[0].external_id, "p1");
    assert!(r.issues.is_empty(), "{:?}", r.issues);

    let only_outcome = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "OperationOutcome", "issue": []},
         "search": {"mode": "outcome"}}
    ]});
    let err = import::import(only_outcome.to_string().as_bytes(), &opts()).unwrap_err();
    assert_eq!(err.code, "invalid_input");
    assert_eq!(
        err.message,
        "the input carries no Patient, Coverage or Encounter resource (found OperationOutcome \
         x1); Conditions, Procedures, ChargeItems and Claims are imported with their Encounter"
    );
}

#[test]
fn patient_mrn_keeps_the_system_of_its_identifier() {
    let mut p = patient_json("p1");
    p["identifier"][1]["system"] = json!("urn:oid:2.16.840.1.113883.19.5");
    let r = run(&bundle("collection", vec![entry("urn:uuid:1", p)]));
    let p = patients(&r)[0];
    assert_eq!(p.mrn.as_deref(), Some("MRN-7"));
    // The system of the MR identifier, not of the first identifier listed.
    assert_eq!(
        p.mrn_system.as_deref(),
        Some("urn:oid:2.16.840.1.113883.19.5")
    );
    // No system on the MR identifier: none invented.
    let r = run(&bundle(
        "collection",
        vec![entry("urn:uuid:1", patient_json("p1"))],
    ));
    assert_eq!(patients(&r)[0].mrn_system, None);
}

/// The coverage a Claim or ExplanationOfBenefit names in `insurance` is never dropped: a
/// Coverage entry of the feed is its own record, anything else gets an issue with its rule.
#[test]
fn insurance_coverages_that_cannot_be_imported_are_answered_with_their_rule() {
    let coverage = json!({"resourceType": "Coverage", "id": "cov1", "status": "active",
        "subscriberId": "M-1", "beneficiary": {"reference": "urn:uuid:1"},
        "payor": [{"display": "Acme Health"}]});
    let contained_cov = |id: &str, member: Option<&str>| {
        let mut c = json!({"resourceType": "Coverage", "id": id, "status": "active",
            "beneficiary": {"reference": "urn:uuid:1"}, "payor": [{"display": "Acme Health"}]});
        if let Some(m) = member {
            c["subscriberId"] = json!(m);
        }
        c
    };
    let r = run(&bundle(
        "collection",
        vec![
            entry("urn:uuid:1", patient_json("p1")),
            entry("urn:uuid:2", coverage),
            // 2: names the feed's Coverage (a record), a display, a reference to nothing here.
            entry(
                "urn:uuid:3",
                json!({"resourceType": "Claim", "id": "cl1", "use": "claim",
                "insurance": [{"coverage": {"reference": "urn:uuid:2"}},
                              {"coverage": {"display": "Acme Health"}},
                              {"coverage": {"reference": "Coverage/elsewhere"}}]}),
            ),
            // 3: contained Coverages without and with a member id, a dangling `#`, and a
            // contained Coverage of the wrong shape.
            entry(
                "urn:uuid:4",
                json!({"resourceType": "ExplanationOfBenefit", "id": "eob1",
                "contained": [contained_cov("a", None), contained_cov("b", Some("M-2")),
                              json!({"resourceType": "Coverage", "id": "d", "subscriberId": 5})],
                "insurance": [{"coverage": {"reference": "#a"}},
                              {"coverage": {"reference": "#b"}},
                              {"coverage": {"reference": "#c"}},
                              {"coverage": {"reference": "#d"}}]}),
            ),
        ],
    ));
    let coverages: Vec<_> = r
        .records
        .iter()
        .filter(|x| matches!(x, ImportRecord::Coverage(_)))
        .collect();
    assert_eq!(coverages.len(), 1);
    let issues: Vec<(Option<u64>, &str, &str)> = r
        .issues
        .iter()
        .filter(|i| i.code != codes::NOT_LINKED)
        .map(|i| (i.position, i.code.as_str(), i.message.as_str()))
        .collect();
    assert_eq!(
        issues,
        [
            (
                Some(2),
                codes::MISSING_REQUIRED,
                "Claim/cl1 (entry 2): /entry/2/resource/insurance/1/coverage: the coverage is \
                 named by display or identifier only (no Coverage resource, no member id); not \
                 imported as a coverage"
            ),
            (
                Some(2),
                codes::UNRESOLVED_REFERENCE,
                "Claim/cl1 (entry 2): /entry/2/resource/insurance/2/coverage/reference: the \
                 reference does not resolve to a Coverage of this input; not imported as a \
                 coverage"
            ),
            (
                Some(3),
                codes::MISSING_REQUIRED,
                "ExplanationOfBenefit/eob1 (entry 3): /entry/3/resource/contained/0/subscriberId: \
                 the Coverage contained here (named by insurance/0) has no subscriberId, and no \
                 identifier has type MB (member number); not imported as a coverage"
            ),
            (
                Some(3),
                codes::UNSUPPORTED_VALUE,
                "ExplanationOfBenefit/eob1 (entry 3): /entry/3/resource/contained/1: a contained \
                 Coverage (named by insurance/1) is not imported as a coverage: send it as a \
                 Coverage resource of the feed"
            ),
            (
                Some(3),
                codes::UNRESOLVED_REFERENCE,
                "ExplanationOfBenefit/eob1 (entry 3): /entry/3/resource/insurance/2/coverage/\
                 reference: the reference does not resolve to a contained Coverage; not \
                 imported as a coverage"
            ),
            (
                Some(3),
                codes::MALFORMED,
                "ExplanationOfBenefit/eob1 (entry 3): /entry/3/resource/contained/2: the \
                 Coverage contained here (named by insurance/3) has the wrong shape; not \
                 imported as a coverage"
            ),
        ]
    );
}

//! Every invalid field of a request is named in one answer, on every resource: values of the
//! wrong type, missing members, malformed codes and the rules between fields, together. And
//! feeds: a record's invalid optional values are all dropped in one pass, each with a warning.

use std::path::Path;

use revcycle_connector_abi::host::sha256_hex;
use revcycle_e2e::{Engine, Server, plugin_library};
use serde_json::{Value, json};

use crate::fixtures::{self, id, practice};
use crate::on_both_engines;

/// The pointers of a 422, in the order given, and no value of the request in the answer.
fn all_named(r: &revcycle_e2e::Resp, secrets: &[&str]) -> Vec<String> {
    let ptrs = r.assert_problem(422);
    for s in secrets {
        assert!(!r.text.contains(s), "the answer echoes {s:?}: {}", r.text);
    }
    let mut unique = ptrs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ptrs.len(), "one entry per field: {}", r.text);
    ptrs
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn patients_payers_and_providers_name_every_mistake_at_once(engine: Engine) {
    let s = Server::start(engine).await;
    // Four mistakes: a number for the MRN, no given name, an impossible date, a sex that is
    // not a code; and an unknown member, a bad SSN and a short phone besides.
    let mut pat = fixtures::patient_body();
    pat["mrn"] = json!(40417);
    pat.as_object_mut().unwrap().remove("given_name");
    pat["birth_date"] = json!("1980-02-30");
    pat["sex"] = json!("boy");
    pat["ssn"] = json!("999-12-3456");
    pat["phone"] = json!("5550100");
    pat["address"]["state"] = json!("Illinoisy");
    let r = s.post("/v1/patients", &pat).await;
    let ptrs = all_named(&r, &["40417", "boy", "999-12", "5550100", "Illinoisy"]);
    assert_eq!(
        sorted(ptrs),
        [
            "/address/state",
            "/birth_date",
            "/given_name",
            "/mrn",
            "/phone",
            "/sex",
            "/ssn"
        ]
    );
    let message = |p: &str| {
        r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["pointer"] == p)
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(message("/given_name"), "required field is missing");
    assert_eq!(message("/mrn"), "wrong type: expected a string");

    let r = s
        .post(
            "/v1/payers",
            &json!({"name": " ", "payer_code": "60-054", "claim_filing_indicator": "QQ",
                "timely_filing_days": "ninety", "colour": "red"}),
        )
        .await;
    assert_eq!(
        sorted(all_named(&r, &["ninety"])),
        [
            "/claim_filing_indicator",
            "/colour",
            "/name",
            "/payer_code",
            "/timely_filing_days"
        ]
    );

    let r = s
        .post(
            "/v1/providers",
            &json!({"roles": ["billing"], "npi": "1234567890", "tin": "12-34",
                "organization_name": "Springfield Family Practice", "first_name": "Ann",
                "taxonomy": "207Q0000", "address": {"line1": "100 Main St", "city": "Springfield",
                "state": "IL"}}),
        )
        .await;
    assert_eq!(
        sorted(all_named(&r, &["1234567890", "207Q0000"])),
        ["/address/zip", "/first_name", "/npi", "/taxonomy", "/tin"]
    );
    // Nothing was written.
    assert_eq!(s.get("/v1/patients").await.body["items"], json!([]));
    assert_eq!(s.get("/v1/payers").await.body["items"], json!([]));
    assert_eq!(s.get("/v1/providers").await.body["items"], json!([]));
}
on_both_engines!(patients_payers_and_providers_name_every_mistake_at_once);

async fn coverages_and_encounters_name_every_mistake_at_once(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    // A coverage: no member id, a priority that is not one, dates out of order, a subscriber
    // missing though the patient is a child, and a payer that does not exist.
    let cov = json!({"patient_id": p.patient["id"], "payer_id": uuid::Uuid::now_v7(),
        "priority": "first", "member_id": "", "relationship": "child",
        "effective_from": "2026-05-01", "effective_to": "2026-01-01"});
    let r = s.post("/v1/coverages", &cov).await;
    assert_eq!(
        all_named(&r, &[]),
        ["/priority", "/member_id", "/effective_to", "/subscriber"]
    );
    // Once it parses, the references are named with the rules.
    let mut cov = cov;
    cov["priority"] = json!("secondary");
    let r = s.post("/v1/coverages", &cov).await;
    assert_eq!(
        all_named(&r, &[]),
        ["/member_id", "/effective_to", "/subscriber", "/payer_id"]
    );

    // An encounter with a header code and a code that does not exist (refused at the door),
    // a malformed procedure code, a three-character modifier, zero units, a charge written as a
    // number, a pointer past the diagnoses, and a missing place of service.
    let mut enc = fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering);
    enc["diagnoses"] = json!(["E11", "Q99.99X", "I10"]);
    enc["lines"][0]["procedure_code"] = json!("9921");
    enc["lines"][0]["modifiers"] = json!(["255"]);
    enc["lines"][1]["units"] = json!("0");
    enc["lines"][1]["charge"] = json!(50.1);
    enc["lines"][2]["diagnosis_pointers"] = json!([4]);
    enc.as_object_mut().unwrap().remove("place_of_service");
    let r = s.post("/v1/encounters", &enc).await;
    let ptrs = all_named(&r, &["9921", "255", "50.1", "Q99"]);
    assert_eq!(
        sorted(ptrs),
        [
            "/diagnoses/0",
            "/diagnoses/1",
            "/lines/0/modifiers/0",
            "/lines/0/procedure_code",
            "/lines/1/charge",
            "/lines/1/units",
            "/lines/2/diagnosis_pointers/0",
            "/place_of_service"
        ]
    );
    let errors = r.body["errors"].as_array().unwrap();
    let message = |p: &str| {
        errors.iter().find(|e| e["pointer"] == p).unwrap()["message"]
            .as_str()
            .unwrap()
    };
    assert!(message("/diagnoses/0").contains("header"), "{}", r.text);
    assert!(message("/diagnoses/1").contains("code set"), "{}", r.text);
    assert_eq!(message("/place_of_service"), "required field is missing");

    // The same codes on a replace, and references that are not there, in one answer.
    let mut enc = fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering);
    enc["diagnoses"] = json!(["E11", "Q99.99X"]);
    enc["billing_provider_id"] = json!(uuid::Uuid::now_v7());
    let r = s
        .put(
            &format!("/v1/encounters/{}", id(&p.encounter)),
            "\"1\"",
            &enc,
        )
        .await;
    assert_eq!(
        all_named(&r, &[]),
        ["/diagnoses/0", "/diagnoses/1", "/billing_provider_id"]
    );
    // Well-coded, they are taken: a CPT Category II, a HCPCS Level II code and a PLA code.
    let mut enc = fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering);
    enc["diagnoses"] = json!(["E11.9", "Q99.9"]);
    enc["lines"][1]["procedure_code"] = json!("0001U");
    enc["lines"][2]["procedure_code"] = json!("G0008");
    let r = s.post("/v1/encounters", &enc).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["diagnoses"], json!(["E119", "Q999"]));
    assert_eq!(
        s.get("/v1/encounters").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
on_both_engines!(coverages_and_encounters_name_every_mistake_at_once);

async fn claims_remittances_and_accounts_name_every_mistake_at_once(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    // A claim: an encounter id that is not a UUID, a frequency that is not one, an original
    // reference too long.
    let r = s
        .post(
            "/v1/claims",
            &json!({"encounter_id": "enc-1", "frequency_code": "9",
                "original_reference": "R".repeat(51)}),
        )
        .await;
    assert_eq!(
        sorted(all_named(&r, &["enc-1"])),
        ["/encounter_id", "/frequency_code", "/original_reference"]
    );
    // A replacement claim names its original: both missing, and the encounter unknown.
    let r = s
        .post(
            "/v1/claims",
            &json!({"encounter_id": uuid::Uuid::now_v7(), "frequency_code": "7"}),
        )
        .await;
    assert_eq!(
        all_named(&r, &[]),
        ["/original_claim_id", "/original_reference", "/encounter_id"]
    );
    // Recoding a draft: a header code, a modifier listed twice, a charge of the wrong type.
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    let r = s
        .put(
            &format!("/v1/claims/{}", id(&claim)),
            "\"1\"",
            &json!({"place_of_service": "11", "diagnoses": ["E11", "I10"],
                "lines": [{"procedure_code": "99214", "modifiers": ["25", "25"], "units": "1",
                           "charge": true, "diagnosis_pointers": [1, 2]}]}),
        )
        .await;
    assert_eq!(
        sorted(all_named(&r, &[])),
        ["/diagnoses/0", "/lines/0/charge", "/lines/0/modifiers/1"]
    );
    // A transition to a status that does not exist, with a reason too long.
    let r = s
        .post(
            &format!("/v1/claims/{}/transition", id(&claim)),
            &json!({"to": "sent", "reason": "x".repeat(201)}),
        )
        .await;
    assert_eq!(sorted(all_named(&r, &[])), ["/reason", "/to"]);

    // A remittance: a payment date that is not a date, an unknown method, a claim status code
    // that is not CLP02, an adjustment reason that is not a CARC, money as a number.
    let r = s
        .post(
            "/v1/remittances",
            &json!({"payer_id": p.payer["id"], "trace_number": "EFT-1", "payment_date": "11/15/2026",
                "payment_method": "CASH", "total_paid": 80,
                "claims": [{"patient_control_number": "PCN1", "status_code": "7",
                    "total_charge": "150.00", "paid": "80.00",
                    "adjustments": [{"group": "CO", "reason": "45x", "amount": "70.00"}]}]}),
        )
        .await;
    assert_eq!(
        sorted(all_named(&r, &["11/15/2026", "CASH"])),
        [
            "/claims/0/adjustments/0/reason",
            "/claims/0/status_code",
            "/payment_date",
            "/payment_method",
            "/total_paid"
        ]
    );

    // A patient payment and a payment plan, each with two mistakes.
    let patient = id(&p.patient);
    let r = s
        .post(
            &format!("/v1/patients/{patient}/payments"),
            &json!({"amount": "0.00", "reference": "R".repeat(51)}),
        )
        .await;
    assert_eq!(all_named(&r, &[]), ["/amount", "/reference"]);
    let r = s
        .post(
            &format!("/v1/patients/{patient}/payment-plans"),
            &json!({"installments": 1, "first_due": "2027-02-30"}),
        )
        .await;
    assert_eq!(sorted(all_named(&r, &[])), ["/first_due", "/installments"]);
    // Searches too.
    let r = s
        .post(
            "/v1/patients/search",
            &json!({"ssn_last4": "12a4", "limit": "ten"}),
        )
        .await;
    assert_eq!(sorted(all_named(&r, &["12a4"])), ["/limit", "/ssn_last4"]);
    // Nothing was written: one claim, no remittance, no payment.
    assert_eq!(
        s.get("/v1/claims").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.get("/v1/remittances").await.body["items"], json!([]));
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&claim))).await;
    assert_eq!(ledger.body["entries"], json!([]));
}
on_both_engines!(claims_remittances_and_accounts_name_every_mistake_at_once);

/// A server with the FHIR R4 plugin configured.
async fn fhir_server(engine: Engine, dir: &Path) -> Server {
    let path = plugin_library("revcycle-connector-fhir-r4");
    let sha = sha256_hex(&std::fs::read(&path).unwrap());
    let toml = dir.join("connectors.toml");
    std::fs::write(
        &toml,
        format!(
            "[[connector]]\nname = \"fhir-r4\"\npath = \"{}\"\nsha256 = \"{sha}\"\nconfig = {{ source_system = \"urn:test:synthea\" }}\n",
            path.display()
        ),
    )
    .unwrap();
    Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await
}

fn fhir_patient(id: &str, mrn: Option<&str>, address: Value, ssn: &str, phone: &str) -> Value {
    let mut identifier = vec![
        json!({"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn,
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]}}),
    ];
    if let Some(mrn) = mrn {
        identifier.push(json!({"system": "urn:test:mrn", "value": mrn,
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}));
    }
    json!({"fullUrl": format!("urn:uuid:{id}"), "resource": {"resourceType": "Patient", "id": id,
        "identifier": identifier,
        "name": [{"use": "official", "family": "Quintanilla", "given": ["Rosalind"]}],
        "telecom": [{"system": "phone", "value": phone, "use": "home"}],
        "gender": "female", "birthDate": "1961-07-14", "address": [address]},
        "request": {"method": "POST", "url": "Patient"}})
}

async fn a_feed_record_with_several_invalid_optional_values_is_imported_with_a_warning_each(
    engine: Engine,
) {
    let dir = tempfile::tempdir().unwrap();
    let s = fhir_server(engine, dir.path()).await;
    // As Synthea writes them: the state by name, no ZIP code, a 999- placeholder SSN; and a
    // seven-digit phone. Then a patient whose state is a name and ZIP+4 has no dash; then one
    // without an MRN.
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        fhir_patient("c0000000-0000-4000-8000-000000000001", Some("SYN-0001"),
            json!({"line": ["12 Harbor Rd"], "city": "Boston", "state": "Massachusetts"}),
            "999-48-7123", "555-0143"),
        fhir_patient("c0000000-0000-4000-8000-000000000002", Some("SYN-0002"),
            json!({"line": ["7 Pier St"], "city": "Boston", "state": "Massachusetts",
                   "postalCode": "021341234"}),
            "219-09-8762", "617-555-0143"),
        fhir_patient("c0000000-0000-4000-8000-000000000003", None,
            json!({"line": ["9 Dock Ln"], "city": "Boston", "state": "MA", "postalCode": "02134"}),
            "219-09-8763", "617-555-0144"),
    ]});
    let r = s
        .client
        .post(s.url("/v1/connectors/fhir-r4/import"))
        .bearer_auth(&s.token)
        .header("content-type", "application/fhir+json")
        .body(bundle.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    for secret in ["999-48", "555-0143", "Quintanilla"] {
        assert!(!text.contains(secret), "the answer echoes {secret}: {text}");
    }
    assert_eq!(
        answer["counts"],
        json!({"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}),
        "{answer}"
    );
    let records = answer["records"].as_array().unwrap();
    assert_eq!(records[0]["status"], "created", "{answer}");
    assert_eq!(
        records[0]["warnings"],
        json!([
            "/address dropped (/address/zip: required field is missing)",
            "/phone dropped: must be a ten-digit US phone number",
            "/ssn dropped: must be a valid nine-digit social security number"
        ])
    );
    assert_eq!(records[1]["status"], "created", "{answer}");
    assert_eq!(records[1]["warnings"], json!([]));
    assert_eq!(records[2]["status"], "rejected");
    assert_eq!(records[2]["reason"], "/mrn: required field is missing");

    let first = s
        .get(&format!(
            "/v1/patients/{}",
            records[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(first.body["mrn"], "SYN-0001");
    assert!(first.body["address"].is_null(), "{}", first.text);
    assert!(first.body["ssn"].is_null() && first.body["phone"].is_null());
    let second = s
        .get(&format!(
            "/v1/patients/{}",
            records[1]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(second.body["address"]["state"], "MA");
    assert_eq!(second.body["address"]["zip"], "021341234");
}
on_both_engines!(
    a_feed_record_with_several_invalid_optional_values_is_imported_with_a_warning_each
);

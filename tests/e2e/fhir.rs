//! FHIR R4 feeds from the conformance corpus (connectors/fhir-r4/tests/corpus: official R4
//! examples and Synthea bundles, nothing written for this project) imported through the real
//! server and plugin: every input shape is read or refused with a 422 problem, and a Synthea
//! patient bundle (2.x and 3.x) imports its patient while each encounter and each coverage it
//! names gets its answer.

use revcycle_connector_abi::host::sha256_hex;
use revcycle_e2e::{Engine, Server, plugin_library};
use serde_json::{Value, json};

use crate::on_both_engines;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../connectors/fhir-r4/tests/corpus"
);

async fn start(engine: Engine, dir: &std::path::Path) -> Server {
    let path = plugin_library("revcycle-connector-fhir-r4");
    let toml = format!(
        "[[connector]]\nname = \"fhir-r4\"\npath = \"{}\"\nsha256 = \"{}\"\n\
         config = {{ source_system = \"urn:test:fhir-corpus\" }}\n",
        path.display(),
        sha256_hex(&std::fs::read(&path).unwrap())
    );
    let file = dir.join("connectors.toml");
    std::fs::write(&file, toml).unwrap();
    Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", file.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await
}

async fn import(s: &Server, file: &str) -> (u16, Value) {
    import_bytes(s, std::fs::read(format!("{CORPUS}/{file}")).unwrap()).await
}

/// Posts `body` to the FHIR connector's import: the status and the JSON answer.
async fn import_bytes(s: &Server, body: Vec<u8>) -> (u16, Value) {
    let r = s
        .client
        .post(s.url("/v1/connectors/fhir-r4/import"))
        .bearer_auth(&s.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const EXAMPLES: &str = "hl7.fhir.r4.examples-4.0.1";

async fn fhir_input_shapes_are_read_by_content_or_refused_with_a_problem(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path()).await;

    // One resource posted as pretty-printed JSON: one patient, no "line N" issues.
    let (status, single) = import(&s, &format!("{EXAMPLES}/Patient-example.json")).await;
    assert_eq!(status, 200, "{single}");
    assert_eq!(
        single["counts"],
        json!({"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}),
        "{single}"
    );
    assert_eq!(single["issues"], json!([]));

    // A transaction-response carrying the resource it stored: read (not 422), and its patient
    // answered (that example has no MRN, which a patient here needs).
    let (status, response) = import(&s, &format!("{EXAMPLES}/Bundle-bundle-response.json")).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 0, "rejected": 1}),
        "{response}"
    );
    assert_eq!(response["records"][0]["type"], "patient");
    assert_eq!(
        response["records"][0]["reason"],
        "/mrn: required field is missing"
    );
    assert_eq!(
        response["issues"],
        json!([{"position": null, "code": "ignored_resource_types",
                "message": "ignored 2 resource(s) of types not imported: Bundle x1, Parameters x1"}])
    );

    // A Coverage whose payer is not in the feed: refused with the pointer to the reference.
    let (status, coverage) = import(&s, &format!("{EXAMPLES}/Coverage-7546D.json")).await;
    assert_eq!(status, 200, "{coverage}");
    assert_eq!(coverage["records"], json!([]));
    assert_eq!(
        coverage["issues"],
        json!([{"position": 0, "code": "unresolved_reference",
                "message": "Coverage/7546D (the posted resource): /payor/0/reference: the \
                            reference does not resolve to an Organization, Patient or \
                            RelatedPerson of this input"}])
    );

    // A batch request (no resources) and a searchset of resources we do not import: 422.
    for (file, detail) in [
        (
            "Bundle-bundle-request-medsallergies.json",
            "the connector refused the feed: /entry: the batch Bundle carries no resources \
             (5 entries, none with entry.resource)",
        ),
        (
            "Bundle-bundle-example.json",
            "the connector refused the feed: the input carries no Patient, Coverage or \
             Encounter resource (found Medication x1, MedicationRequest x1); Conditions, \
             Procedures, ChargeItems and Claims are imported with their Encounter",
        ),
    ] {
        let (status, problem) = import(&s, &format!("{EXAMPLES}/{file}")).await;
        assert_eq!(status, 422, "{file}: {problem}");
        let text = problem.to_string();
        assert!(text.contains(detail), "{file}: {problem}");
    }
    // Nothing was written by the refused feeds: the one patient above only.
    let patients = s.get("/v1/patients").await;
    assert_eq!(patients.body["items"].as_array().unwrap().len(), 1);
}
on_both_engines!(fhir_input_shapes_are_read_by_content_or_refused_with_a_problem);

/// Synthea v2.4 bundle (fhiry 5.2.2): 1 Patient and 21 Encounters. Synthea 2.x writes no
/// Coverage resource (only a contained one in each ExplanationOfBenefit, without member id),
/// its Organizations carry no NPI and its practitioner "NPIs" are 3-5 digit numbers, so no
/// encounter here is of an NPI-carrying provider: each is answered with the billing provider
/// rule, none vanishes. The patient has a full state name and a placeholder 999- SSN, both
/// optional values to be dropped with a warning.
async fn a_synthea_bundle_imports_its_patient_and_answers_every_encounter(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path()).await;
    let (status, report) = import(&s, "fhiry-5.2.2/afhir.json").await;
    assert_eq!(status, 200, "{report}");
    let records = report["records"].as_array().unwrap();
    assert_eq!(
        records.len(),
        22,
        "1 patient and 21 encounters, none vanished"
    );
    let of_type = |t: &str| records.iter().filter(|r| r["type"] == t).count();
    assert_eq!((of_type("patient"), of_type("encounter")), (1, 21));

    let patient = &records[0];
    assert_eq!(patient["type"], "patient");
    assert_eq!(patient["status"], "created", "{patient}");

    for r in &records[1..] {
        assert_eq!(r["status"], "rejected", "{r}");
        // Other rules may be named after it (a request's mistakes are reported together).
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .contains("/billing_provider_npi: the encounter names no billing provider"),
            "each encounter names the billing provider rule: {r}"
        );
    }
    let (_, again) = import(&s, "fhiry-5.2.2/afhir.json").await;
    assert_eq!(again["counts"]["unchanged"], 1, "{again}");
    assert_eq!(again["counts"]["created"], 0, "{again}");
}
on_both_engines!(a_synthea_bundle_imports_its_patient_and_answers_every_encounter);

/// Synthea 3.x-era sample (synthea's flexporter test patient, corpus/synthea-3): 1 Patient,
/// 37 Encounters, 49 Claims and 37 ExplanationOfBenefits in one transaction Bundle. Synthea 3
/// names every provider by a conditional reference and writes its Organizations and
/// Practitioners to separate bundles: each encounter's billing provider (`serviceProvider`,
/// `Organization?identifier=<synthea>|<uuid>`) resolves to nothing in the feed and carries no
/// NPI, so the plugin refuses every encounter with that rule (the practitioners' NPIs,
/// 9999962229 and 9999999559, fail the check digit and the codes are SNOMED CT only, but those
/// rules are not reached). Its coverage is only a display on each Claim ("Humana", "Medicare")
/// and a Coverage without member id contained in each ExplanationOfBenefit: each is answered
/// as not imported with its rule, none vanishes.
async fn a_synthea_3_bundle_imports_its_patient_and_answers_every_encounter_and_coverage(
    engine: Engine,
) {
    const FILE: &str = "synthea-3/sample_complete_patient.json";
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(format!("{CORPUS}/{FILE}")).unwrap()).unwrap();
    let entries = bundle["entry"].as_array().unwrap();
    let of_type = |t: &str| -> Vec<(usize, &Value)> {
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e["resource"]["resourceType"] == t)
            .map(|(n, e)| (n, &e["resource"]))
            .collect()
    };
    let (encounters, claims, eobs) = (
        of_type("Encounter"),
        of_type("Claim"),
        of_type("ExplanationOfBenefit"),
    );
    assert_eq!(
        (
            of_type("Patient").len(),
            encounters.len(),
            claims.len(),
            eobs.len()
        ),
        (1, 37, 49, 37)
    );

    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path()).await;
    let (status, report) = import(&s, FILE).await;
    assert_eq!(status, 200, "{report}");

    // The patient: the one record, created.
    assert_eq!(
        report["counts"],
        json!({"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}),
        "{}",
        report["counts"]
    );
    let records = report["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["type"], "patient");
    assert_eq!(records[0]["status"], "created");
    let patient_id = records[0]["id"].as_str().unwrap().to_owned();

    // Everything else is an issue, one per encounter and per coverage named, and a summary.
    let mut expected: Vec<Value> = Vec::new();
    for (n, e) in &encounters {
        let id = e["id"].as_str().unwrap();
        expected.push(
            json!({"position": n, "code": "unresolved_reference", "message": format!(
            "Encounter/{id} (entry {n}): /entry/{n}/resource/serviceProvider/reference: the \
             reference does not resolve to a Practitioner, PractitionerRole, Organization or \
             Location of this input")}),
        );
    }
    for (n, c) in &claims {
        let id = c["id"].as_str().unwrap();
        assert_eq!(c["insurance"].as_array().unwrap().len(), 1);
        assert!(c["insurance"][0]["coverage"].get("reference").is_none());
        expected.push(
            json!({"position": n, "code": "missing_required", "message": format!(
            "Claim/{id} (entry {n}): /entry/{n}/resource/insurance/0/coverage: the coverage is \
             named by display or identifier only (no Coverage resource, no member id); not \
             imported as a coverage")}),
        );
    }
    for (n, e) in &eobs {
        let id = e["id"].as_str().unwrap();
        assert_eq!(e["insurance"][0]["coverage"]["reference"], "#coverage");
        let k = e["contained"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["resourceType"] == "Coverage" && c["id"] == "coverage")
            .unwrap();
        expected.push(
            json!({"position": n, "code": "missing_required", "message": format!(
            "ExplanationOfBenefit/{id} (entry {n}): /entry/{n}/resource/contained/{k}/\
             subscriberId: the Coverage contained here (named by insurance/0) has no \
             subscriberId, and no identifier has type MB (member number); not imported as a \
             coverage")}),
        );
    }
    expected.push(
        json!({"position": null, "code": "ignored_resource_types", "message":
        "ignored 166 resource(s) of types not imported: CarePlan x4, CareTeam x4, \
         DiagnosticReport x41, DocumentReference x37, Medication x4, MedicationAdministration \
         x4, MedicationRequest x12, Observation x58, Provenance x1, SupplyDelivery x1"}),
    );
    let mut issues = report["issues"].as_array().unwrap().clone();
    let key = |v: &Value| {
        (
            v["position"].as_u64().unwrap_or(u64::MAX),
            v["message"].to_string(),
        )
    };
    issues.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(issues.len(), 37 + 49 + 37 + 1);
    assert_eq!(issues, expected);

    // Nothing but the patient was written: no coverage, no encounter.
    let coverages = s.get("/v1/coverages").await;
    assert_eq!(coverages.body["items"], json!([]), "{}", coverages.body);
    let written = s.get("/v1/encounters").await;
    assert_eq!(written.body["items"], json!([]), "{}", written.body);

    // Resent: the patient unchanged, the same answers.
    let (status, again) = import(&s, FILE).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}),
        "{}",
        again["counts"]
    );
    assert_eq!(again["records"][0]["id"], patient_id.as_str());
    let mut issues_again = again["issues"].as_array().unwrap().clone();
    issues_again.sort_by_key(key);
    assert_eq!(issues_again, issues);
}
on_both_engines!(a_synthea_3_bundle_imports_its_patient_and_answers_every_encounter_and_coverage);

/// PostgreSQL: a bulk import (here 1,000 patients as Bulk Data NDJSON) refreshes the planner
/// statistics of the tables it wrote, so that plans made while they were empty do not outlive
/// the load; a small import leaves them alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_import_refreshes_the_planner_statistics_on_postgres() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Analyzed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let dir = tempfile::tempdir().unwrap();
    let s = start(Engine::Postgres, dir.path()).await;
    let analyze_count = || {
        let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
        diesel::sql_query(
            "SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'patients'",
        )
        .get_result::<Analyzed>(&mut conn)
        .unwrap()
        .n
    };
    let ndjson = |from: usize, n: usize| -> Vec<u8> {
        let mut out = String::new();
        for i in from..from + n {
            out.push_str(
                &json!({"resourceType": "Patient", "id": format!("bulk-{i}"),
                    "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                        "system": "urn:test:bulk", "value": format!("BULK{i:06}")}],
                    "name": [{"family": "Bulk", "given": ["Pat"]}],
                    "gender": "female", "birthDate": "1970-01-01"})
                .to_string(),
            );
            out.push('\n');
        }
        out.into_bytes()
    };
    let post = |body: Vec<u8>| {
        let s = &s;
        async move {
            let (status, v) = import_bytes(s, body).await;
            assert_eq!(status, 200, "{v}");
            v
        }
    };
    let before = analyze_count();
    let small = post(ndjson(0, 10)).await;
    assert_eq!(small["counts"]["created"], 10, "{}", small["counts"]);
    assert_eq!(analyze_count(), before, "ten records do not call for it");
    let bulk = post(ndjson(10, 1000)).await;
    assert_eq!(bulk["counts"]["created"], 1000, "{}", bulk["counts"]);
    let mut after = analyze_count();
    // The statistics view is updated when the analyzing backend reports, a moment later.
    for _ in 0..50 {
        if after > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = analyze_count();
    }
    assert_eq!(
        after,
        before + 1,
        "the bulk import analyzed the patients table once"
    );
}

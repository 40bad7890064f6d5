//! Who a record is about, through the real server: patients from EHR feeds are matched on
//! (MRN system, MRN) and never merged on a bare MRN, identity data of a record on file is never
//! changed by another source; one NPI is one provider holding several roles.

use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::connectors::{import, start};
use crate::fixtures::{self, id};
use crate::on_both_engines;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/e2e/fixtures/fhir-r4-examples");

/// An official example resource as one NDJSON line (the file itself, unmodified, minified).
fn example_line(file: &str) -> String {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/{file}")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    serde_json::to_string(&v).unwrap() + "\n"
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn patients(s: &Server) -> Vec<Value> {
    s.get("/v1/patients").await.body["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn same_mrn_under_two_systems_is_two_patients(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path(), &[]).await;
    let example = example_line("Patient-example.json");
    let xcda = example_line("Patient-xcda.json");

    let (status, first) = import(&s, "fhir-r4", example.as_bytes()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        statuses(&first),
        [("patient".into(), "created".into())],
        "{first}"
    );
    let example_id = first["records"][0]["id"].as_str().unwrap().to_string();

    // Another person, another MRN system, the same MRN value: a second patient.
    let (status, second) = import(&s, "fhir-r4", xcda.as_bytes()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        statuses(&second),
        [("patient".into(), "created".into())],
        "{second}"
    );
    let xcda_id = second["records"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(example_id, xcda_id);

    let all = patients(&s).await;
    assert_eq!(all.len(), 2);
    let by_id = |pid: &str| all.iter().find(|p| p["id"] == pid).unwrap().clone();
    let (ex, xc) = (by_id(&example_id), by_id(&xcda_id));
    // Neither was overwritten: each keeps its own name, birth date, MRN system and feed id.
    assert_eq!(
        (&ex["family_name"], &ex["given_name"], &ex["birth_date"]),
        (&json!("Chalmers"), &json!("Peter"), &json!("1974-12-25"))
    );
    assert_eq!(
        (&xc["family_name"], &xc["given_name"], &xc["birth_date"]),
        (&json!("Levin"), &json!("Henry"), &json!("1932-09-24"))
    );
    assert_eq!((&ex["mrn"], &xc["mrn"]), (&json!("12345"), &json!("12345")));
    assert_eq!(ex["mrn_system"], "urn:oid:1.2.36.146.595.217.0.1");
    assert_eq!(xc["mrn_system"], "urn:oid:2.16.840.1.113883.19.5");
    assert_eq!(
        ex["external_ids"],
        json!([{"system": "urn:test:epic", "value": "example"}])
    );
    assert_eq!(
        xc["external_ids"],
        json!([{"system": "urn:test:epic", "value": "xcda"}])
    );

    // Both again, in one feed: nothing changes.
    let (_, again) = import(&s, "fhir-r4", (example.clone() + &xcda).as_bytes()).await;
    assert_eq!(
        again["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}),
        "{again}"
    );
    assert_eq!(patients(&s).await.len(), 2);

    // Search: the bare value finds both; with its system, one.
    let found = |body: Value| {
        let s = &s;
        async move {
            let r = s.post("/v1/patients/search", &body).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let mut ids: Vec<String> = r.body["items"]
                .as_array()
                .unwrap_or_else(|| r.body.as_array().unwrap())
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![example_id.clone(), xcda_id.clone()];
    both.sort();
    assert_eq!(found(json!({"mrn": "12345"})).await, both);
    assert_eq!(
        found(json!({"mrn": "12345", "mrn_system": "urn:oid:2.16.840.1.113883.19.5"})).await,
        std::slice::from_ref(&xcda_id)
    );

    // Another source (an HL7 feed) names the first MRN system's 12345 (PID-3.4 as an ISO OID)
    // with another person's name and birth date: refused, naming the fields and no value.
    let adt = |name: &str, dob: &str| {
        format!(
            "MSH|^~\\&|ADT|HOSP|RC|BILL|20260301||ADT^A08|C{dob}|P|2.5.1\r\
             PID|1||12345^^^ACME&1.2.36.146.595.217.0.1&ISO^MR||{name}||{dob}|M"
        )
    };
    let (status, refused) = import(&s, "hl7v2", adt("Levin^Henry", "19320924").as_bytes()).await;
    assert_eq!(status, 200, "{refused}");
    let r = &refused["records"][0];
    assert_eq!(r["status"], "rejected", "{refused}");
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("/family_name, /given_name, /birth_date: identity_conflict:"),
        "{reason}"
    );
    for value in ["Levin", "Henry", "1932", "12345", "Chalmers"] {
        assert!(
            !reason.contains(value),
            "the reason quotes a value: {reason}"
        );
    }
    let ex_now = s.get(&format!("/v1/patients/{example_id}")).await.body;
    assert_eq!(ex_now["family_name"], "Chalmers");
    assert_eq!(ex_now["version"], ex["version"], "nothing was written");

    // The same authority's 12345 with the same person: the same patient, linked and updated,
    // its FHIR id kept beside the HL7 one.
    let (_, linked) = import(&s, "hl7v2", adt("Chalmers^Peter", "19741225").as_bytes()).await;
    assert_eq!(
        (
            linked["records"][0]["status"].as_str(),
            linked["records"][0]["id"].as_str()
        ),
        (Some("updated"), Some(example_id.as_str())),
        "{linked}"
    );
    assert_eq!(patients(&s).await.len(), 2);
    let ex_now = s.get(&format!("/v1/patients/{example_id}")).await.body;
    assert_eq!(
        ex_now["external_ids"],
        json!([
            {"system": "urn:test:epic", "value": "example"},
            {"system": "urn:test:adt", "value": "12345^^^urn:oid:1.2.36.146.595.217.0.1"}
        ])
    );
}
on_both_engines!(same_mrn_under_two_systems_is_two_patients);

async fn solo_practitioner_bills_and_renders_under_one_npi(engine: Engine) {
    let s = Server::start(engine).await;
    let p = fixtures::practice(&s).await;
    let address =
        json!({"line1": "9 Elm St", "city": "Springfield", "state": "IL", "zip": "62701"});
    let solo = s
        .create(
            "/v1/providers",
            &json!({"roles": ["rendering", "billing"], "npi": "1679576722", "tin": "12-3456789",
                "last_name": "Solo", "first_name": "Sam", "taxonomy": "207Q00000X",
                "address": address}),
        )
        .await;
    assert_eq!(solo["roles"], json!(["billing", "rendering"]));
    // The same NPI is still one provider: a second record is refused.
    let dup = s
        .post(
            "/v1/providers",
            &json!({"roles": ["referring"], "npi": "1679576722", "last_name": "Solo",
                "address": address}),
        )
        .await;
    dup.assert_problem(409);
    // The old single `role` is gone: refused with a pointer, and so is an empty set.
    let old = s
        .post(
            "/v1/providers",
            &json!({"role": "both", "npi": "1093742116", "last_name": "Old", "address": address}),
        )
        .await;
    // Both said at once: the unknown member and the missing one.
    let errors = old.assert_problem(422);
    assert_eq!(errors.len(), 2, "{}", old.text);
    assert!(
        old.text.contains("\"/role\"") && old.text.contains("\"/roles\""),
        "{}",
        old.text
    );
    let none = s
        .post(
            "/v1/providers",
            &json!({"roles": [], "npi": "1093742116", "last_name": "None", "address": address}),
        )
        .await;
    assert_eq!(none.assert_problem(422), ["/roles"]);
    // Filter by role: the solo practitioner is among the billing and the rendering providers.
    for role in ["billing", "rendering"] {
        let list = s.get(&format!("/v1/providers?role={role}")).await;
        let ids: Vec<&str> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&id(&solo)), "{role}: {}", list.text);
    }

    // One claim with the same provider as billing and rendering provider, end to end: a
    // self-insured patient of the solo practice.
    let mut body = fixtures::patient_body();
    body["mrn"] = json!("MRN-SOLO-1");
    let patient = s.create("/v1/patients", &body).await;
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": patient["id"], "payer_id": p.payer["id"], "priority": "primary",
                "member_id": "SOLO123456", "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let enc = s
        .create(
            "/v1/encounters",
            &fixtures::encounter_body(&patient, &coverage, &solo, &solo),
        )
        .await;
    assert_eq!(enc["billing_provider_id"], enc["rendering_provider_id"]);
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    assert_eq!(claim["billing_provider_id"], solo["id"]);
    assert_eq!(claim["rendering_provider_id"], solo["id"]);
    assert_eq!(claim["total_charge"], "200.55");
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    assert_eq!(scrub.status, 200, "{}", scrub.text);
    assert_eq!(scrub.body["passed"], true, "{}", scrub.text);
    assert_eq!(scrub.body["status"], "ready");

    // A provider named in a role it lacks: 422 with a pointer and the roles it has.
    let referring = s
        .create(
            "/v1/providers",
            &json!({"roles": ["referring", "supervising"], "npi": "1093742116",
                "last_name": "Refers", "first_name": "Rita", "address": address}),
        )
        .await;
    let bad = s
        .post(
            "/v1/encounters",
            &fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &referring),
        )
        .await;
    assert_eq!(bad.assert_problem(422), ["/rendering_provider_id"]);
    assert_eq!(
        bad.body["errors"][0]["message"],
        "provider does not have the rendering role (its roles: referring, supervising); \
         add it with PUT /v1/providers/{id}"
    );
    let bad = s
        .post(
            "/v1/encounters",
            &fixtures::encounter_body(&p.patient, &p.coverage, &p.rendering, &p.rendering),
        )
        .await;
    assert_eq!(bad.assert_problem(422), ["/billing_provider_id"]);

    // Giving the rendering clinician the billing role too makes the same request good.
    let mut body = p.rendering.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(k);
    }
    body["roles"] = json!(["billing", "rendering"]);
    body["tin"] = json!("12-3456789");
    let etag = format!("\"{}\"", p.rendering["version"]);
    let put = s
        .put(&format!("/v1/providers/{}", id(&p.rendering)), &etag, &body)
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let ok = s
        .post(
            "/v1/encounters",
            &fixtures::encounter_body(&p.patient, &p.coverage, &p.rendering, &p.rendering),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}
on_both_engines!(solo_practitioner_bills_and_renders_under_one_npi);

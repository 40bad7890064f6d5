//! The billing resources through HTTP: create, read, update with If-Match, list with cursors,
//! idempotent POSTs, claims built from encounters with exact totals.

use revcycle_e2e::{Engine, Server};
use serde_json::json;

use crate::fixtures::{self, practice};
use crate::on_both_engines;

async fn claim_from_encounter(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    assert_eq!(p.encounter["total_charge"], "200.55");
    assert_eq!(p.encounter["service_date_to"], "2026-11-02");
    assert_eq!(p.encounter["lines"][1]["service_date"], "2026-11-02");

    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    assert_eq!(claim["status"], "draft");
    assert_eq!(claim["frequency_code"], "1");
    assert_eq!(claim["payer_id"], p.payer["id"]);
    assert_eq!(claim["patient_id"], p.patient["id"]);
    assert_eq!(
        claim["total_charge"], "200.55",
        "150.00 + 50.10 + 0.45, exactly"
    );
    assert_eq!(claim["diagnoses"], json!(["E119", "I10"]));
    let pcn = claim["patient_control_number"].as_str().unwrap();
    assert_eq!(pcn.len(), 20);
    let lines = claim["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["line_number"], 1);
    assert_eq!(lines[0]["procedure_code"], "99214");
    assert_eq!(lines[0]["modifiers"], json!(["25"]));
    assert_eq!(lines[0]["charge"], "150.00");
    assert_eq!(lines[2]["units"], "2");
    assert_eq!(lines[2]["charge"], "0.45");
    assert_eq!(lines[1]["diagnosis_pointers"], json!([1]));

    // Read back, list by encounter, filter by control number.
    let got = s
        .get(&format!("/v1/claims/{}", claim["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, claim);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    let listed = s
        .get(&format!("/v1/claims?patient_control_number={pcn}"))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    // A second claim from the same encounter gets its own control number.
    let second = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    assert_ne!(
        second["patient_control_number"],
        claim["patient_control_number"]
    );

    // Recode a draft: drop a line; the total follows.
    let etag = got.header("etag").unwrap();
    let recoded = s
        .put(
            &format!("/v1/claims/{}", claim["id"].as_str().unwrap()),
            &etag,
            &json!({"place_of_service": "11", "diagnoses": ["E11.9"],
                "lines": [{"procedure_code": "99214", "units": "1", "charge": "150.00", "diagnosis_pointers": [1]}]}),
        )
        .await;
    assert_eq!(recoded.status, 200, "{}", recoded.text);
    assert_eq!(recoded.body["total_charge"], "150.00");
    assert_eq!(recoded.body["version"], 2);
    assert_eq!(recoded.body["lines"].as_array().unwrap().len(), 1);

    // Replacement claim (frequency 7) needs the original and the payer's reference.
    let bad = s
        .post(
            "/v1/claims",
            &json!({"encounter_id": p.encounter["id"], "frequency_code": "7"}),
        )
        .await;
    let ptrs = bad.assert_problem(422);
    assert!(
        ptrs.contains(&"/original_claim_id".to_string())
            && ptrs.contains(&"/original_reference".to_string()),
        "{ptrs:?}"
    );
    let replacement = s
        .create(
            "/v1/claims",
            &json!({"encounter_id": p.encounter["id"], "frequency_code": "7",
                "original_claim_id": claim["id"], "original_reference": "PAYER-ICN-0001"}),
        )
        .await;
    assert_eq!(replacement["frequency_code"], "7");
    assert_eq!(replacement["original_reference"], "PAYER-ICN-0001");
}
on_both_engines!(claim_from_encounter);

async fn read_update_and_version_conflicts(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let id = p.patient["id"].as_str().unwrap();
    let path = format!("/v1/patients/{id}");

    let got = s.get(&path).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["family_name"], fixtures::FAMILY);
    assert_eq!(got.body["ssn"], "219098761", "SSN normalised to digits");
    assert_eq!(got.header("cache-control").as_deref(), Some("no-store"));
    let etag = got.header("etag").unwrap();
    assert_eq!(etag, "\"1\"");

    let mut body = fixtures::patient_body();
    body["given_name"] = json!("Quilla");
    let updated = s.put(&path, &etag, &body).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["given_name"], "Quilla");
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.header("etag").as_deref(), Some("\"2\""));

    // The same stale ETag again: 412 with the current version, and nothing changed.
    body["given_name"] = json!("Lost Update");
    let stale = s.put(&path, &etag, &body).await;
    stale.assert_problem(412);
    assert_eq!(stale.body["current_version"], 2);
    assert_eq!(s.get(&path).await.body["given_name"], "Quilla");

    // No If-Match at all: 428.
    let r = s.call("PUT", &path, Some(&s.token), Some(&body), &[]).await;
    r.assert_problem(428);

    // Deactivate (never deleted).
    body["given_name"] = json!("Quilla");
    body["active"] = json!(false);
    let r = s.put(&path, "\"2\"", &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["active"], false);
    let inactive = s.get("/v1/patients?active=false").await;
    assert_eq!(inactive.body["items"].as_array().unwrap().len(), 1);

    // A PUT replaces the whole patient: identifiers left out are cleared, not kept.
    let obj = body.as_object_mut().unwrap();
    obj.remove("phone");
    obj.remove("ssn");
    let r = s.put(&path, "\"3\"", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = s.get(&path).await;
    assert_eq!(
        (got.body["phone"].clone(), got.body["ssn"].clone()),
        (json!(null), json!(null))
    );
    assert_eq!(got.body["email"], fixtures::EMAIL);
    let found = s
        .post("/v1/patients/search", &json!({"ssn_last4": "8761"}))
        .await;
    assert_eq!(
        found.body["items"],
        json!([]),
        "the SSN index went with the SSN"
    );

    // Payer update keeps unspecified defaults and bumps the version.
    let payer_path = format!("/v1/payers/{}", p.payer["id"].as_str().unwrap());
    let r = s
        .put(&payer_path, "\"1\"", &json!({"name": "Acme Health", "payer_code": "60054", "claim_filing_indicator": "CI", "timely_filing_days": 90}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["timely_filing_days"], 90);
    assert_eq!(r.body["version"], 2);
}
on_both_engines!(read_update_and_version_conflicts);

async fn cursor_pagination(engine: Engine) {
    let s = Server::start(engine).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let p = s
            .create("/v1/payers", &json!({"name": format!("Payer {i}"), "payer_code": format!("P{i:04}"), "claim_filing_indicator": "CI"}))
            .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/v1/payers?limit=3".to_string(),
            Some(c) => format!("/v1/payers?limit=3&cursor={c}"),
        };
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        for item in r.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every payer once, in creation order");
    let filtered = s.get("/v1/payers?payer_code=P0003").await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 1);
    s.get("/v1/payers?limit=0").await.assert_problem(422);
    s.get("/v1/payers?limit=abc").await.assert_problem(422);
    s.get("/v1/payers?cursor=not-a-cursor")
        .await
        .assert_problem(422);
}
on_both_engines!(cursor_pagination);

async fn idempotent_posts(engine: Engine) {
    let s = Server::start(engine).await;
    let body = json!({"name": "Acme", "payer_code": "IDEM1", "claim_filing_indicator": "CI"});
    let t = s.token.clone();
    let first = s
        .call(
            "POST",
            "/v1/payers",
            Some(&t),
            Some(&body),
            &[("idempotency-key", "k-123")],
        )
        .await;
    assert_eq!(first.status, 201);
    let again = s
        .call(
            "POST",
            "/v1/payers",
            Some(&t),
            Some(&body),
            &[("idempotency-key", "k-123")],
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the stored response is replayed");
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    let list = s.get("/v1/payers").await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "nothing created twice"
    );

    let other = json!({"name": "Other", "payer_code": "IDEM2", "claim_filing_indicator": "CI"});
    let mismatch = s
        .call(
            "POST",
            "/v1/payers",
            Some(&t),
            Some(&other),
            &[("idempotency-key", "k-123")],
        )
        .await;
    mismatch.assert_problem(422);
    assert_eq!(
        mismatch.body["type"],
        "urn:revcycle:problem:idempotency-key-reused"
    );

    // Concurrent retries of one patient create: exactly one patient exists afterwards.
    let patient = fixtures::patient_body();
    let mut handles = Vec::new();
    for _ in 0..6 {
        let client = s.client.clone();
        let url = s.url("/v1/patients");
        let token = t.clone();
        let patient = patient.clone();
        handles.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .header("idempotency-key", "same-visit")
                .body(patient.to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let r = s
        .post("/v1/patients/search", &json!({"mrn": fixtures::MRN}))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}
on_both_engines!(idempotent_posts);

async fn remittances_stored_as_received(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    let remit = json!({
        "payer_id": p.payer["id"], "trace_number": "EFT-20261120-0001", "payment_date": "2026-11-20",
        "payment_method": "ACH", "total_paid": "96.00",
        "claims": [{
            "patient_control_number": claim["patient_control_number"], "status_code": "1",
            "total_charge": "200.00", "paid": "96.00", "patient_responsibility": "24.00",
            "payer_claim_number": "ICN-0001",
            "adjustments": [{"group": "CO", "reason": "45", "amount": "80.00"}, {"group": "PR", "reason": "2", "amount": "24.00"}],
            "lines": [{"procedure_code": "99214", "charge": "200.00", "paid": "96.00", "units": "1",
                       "adjustments": [{"group": "CO", "reason": "45", "amount": "80.00"}], "remarks": ["N130"]}]
        }],
        "provider_adjustments": [{"reason": "L6", "reference": "INT-1", "amount": "-1.25"}]
    });
    let stored = s.create("/v1/remittances", &remit).await;
    assert_eq!(stored["status"], "received");
    assert_eq!(stored["total_paid"], "96.00");
    assert_eq!(stored["claims"][0]["adjustments"][1]["amount"], "24.00");
    assert_eq!(stored["provider_adjustments"][0]["amount"], "-1.25");
    let got = s
        .get(&format!(
            "/v1/remittances/{}",
            stored["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(got.body, stored);
    // The same trace number from the same payer is a duplicate.
    s.post("/v1/remittances", &remit).await.assert_problem(409);
    let mut bad = remit.clone();
    bad["trace_number"] = json!("EFT-2");
    bad["claims"][0]["status_code"] = json!("7");
    bad["claims"][0]["adjustments"][0]["group"] = json!("XX");
    let ptrs = s.post("/v1/remittances", &bad).await.assert_problem(422);
    // Both mistakes in one answer: the group that does not parse and the status code rule.
    assert_eq!(
        ptrs,
        ["/claims/0/adjustments/0/group", "/claims/0/status_code"]
    );
}
on_both_engines!(remittances_stored_as_received);

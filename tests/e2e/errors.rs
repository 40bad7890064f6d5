//! Bad input, wrong tokens and wrong tenants: each answered with a problem document, never a
//! 500, and never a partial write.

use revcycle_e2e::{Engine, Server};
use serde_json::json;

use crate::fixtures::{self, practice};
use crate::on_both_engines;

async fn authentication_is_required(engine: Engine) {
    let s = Server::start(engine).await;
    for path in [
        "/v1/patients",
        "/v1/payers",
        "/v1/claims",
        "/v1/encounters",
        "/v1/coverages",
        "/v1/providers",
        "/v1/remittances",
    ] {
        let r = s.call("GET", path, None, None, &[]).await;
        r.assert_problem(401);
        let challenge = r.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
    }
    let garbage = s
        .call("GET", "/v1/patients", Some("not.a.jwt"), None, &[])
        .await;
    garbage.assert_problem(401);
    // A token signed by another server's key.
    let other = Server::start(Engine::Sqlite).await;
    let foreign = s
        .call("GET", "/v1/patients", Some(&other.token), None, &[])
        .await;
    foreign.assert_problem(401);
    assert!(
        foreign.body["detail"]
            .as_str()
            .unwrap()
            .contains("signature")
    );
    // Tampered payload: flip the org in the claims, keep the signature.
    let parts: Vec<&str> = s.token.split('.').collect();
    let tampered = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    s.call("GET", "/v1/patients", Some(&tampered), None, &[])
        .await
        .assert_problem(401);
    // Tokens signed with the right key but wrong claims.
    let org = s
        .admin(&["org", "list"])
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let now = chrono_now();
    let base = json!({"sub": "t", "org": org, "roles": ["admin"], "iss": "revcycle-dev", "aud": "revcycle-api",
        "iat": now, "nbf": now, "exp": now + 600});
    let cases = [
        ("exp", json!(now - 120), "expired"),
        ("aud", json!("another-api"), "not for this API"),
        ("iss", json!("someone-else"), "issuer"),
        ("nbf", json!(now + 600), "not valid yet"),
        ("roles", json!(["superuser"]), "unknown role"),
    ];
    for (field, value, why) in cases {
        let mut claims = base.clone();
        claims[field] = value;
        let token = s.sign(&claims);
        let r = s.call("GET", "/v1/patients", Some(&token), None, &[]).await;
        r.assert_problem(401);
        assert!(
            r.body["detail"].as_str().unwrap().contains(why),
            "{field}: {}",
            r.text
        );
    }
    assert_eq!(
        s.call("GET", "/v1/patients", Some(&s.sign(&base)), None, &[])
            .await
            .status,
        200
    );
    // An unsigned token (alg none) is never accepted.
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{}.", b64(base.to_string().as_bytes()));
    s.call("GET", "/v1/patients", Some(&unsigned), None, &[])
        .await
        .assert_problem(401);
    // Health needs no token and serves no data.
    let h = s.call("GET", "/health", None, None, &[]).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
}
on_both_engines!(authentication_is_required);

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn other_tenants_ids_are_not_found(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    let (_, other_token) = s.new_org("Other practice");
    let t = Some(other_token.as_str());
    let reads = [
        format!("/v1/payers/{}", p.payer["id"].as_str().unwrap()),
        format!("/v1/providers/{}", p.billing["id"].as_str().unwrap()),
        format!("/v1/patients/{}", p.patient["id"].as_str().unwrap()),
        format!("/v1/coverages/{}", p.coverage["id"].as_str().unwrap()),
        format!("/v1/encounters/{}", p.encounter["id"].as_str().unwrap()),
        format!("/v1/claims/{}", claim["id"].as_str().unwrap()),
    ];
    for path in &reads {
        // 404, not 403: another tenant cannot even learn that the id exists.
        s.call("GET", path, t, None, &[]).await.assert_problem(404);
        s.call("PUT", path, t, Some(&json!({})), &[("if-match", "\"1\"")])
            .await;
    }
    // Updates with a foreign id and a valid body: still 404, and nothing changed.
    let r = s
        .call(
            "PUT",
            &reads[0],
            t,
            Some(&json!({"name": "Hijack", "payer_code": "60054", "claim_filing_indicator": "CI"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    r.assert_problem(404);
    assert_eq!(s.get(&reads[0]).await.body["name"], "Acme Health Plan");
    // References to another tenant's records are refused field by field.
    let enc = fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering);
    let r = s.call("POST", "/v1/encounters", t, Some(&enc), &[]).await;
    let ptrs = r.assert_problem(422);
    assert_eq!(
        ptrs,
        vec![
            "/patient_id",
            "/coverage_id",
            "/billing_provider_id",
            "/rendering_provider_id"
        ]
    );
    let r = s
        .call(
            "POST",
            "/v1/claims",
            t,
            Some(&json!({"encounter_id": p.encounter["id"]})),
            &[],
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/encounter_id"]);
    // Lists and searches see nothing of the first tenant.
    for path in ["/v1/patients", "/v1/payers", "/v1/claims", "/v1/coverages"] {
        let r = s.call("GET", path, t, None, &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["items"], json!([]), "{path}");
    }
    let r = s
        .call(
            "POST",
            "/v1/patients/search",
            t,
            Some(&json!({"mrn": fixtures::MRN})),
            &[],
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
    // The same MRN may exist in both tenants.
    let r = s
        .call(
            "POST",
            "/v1/patients",
            t,
            Some(&fixtures::patient_body()),
            &[],
        )
        .await;
    assert_eq!(r.status, 201);
}
on_both_engines!(other_tenants_ids_are_not_found);

async fn roles_limit_what_a_token_may_do(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = s
        .admin(&["org", "list"])
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let token = |role: &str| s.admin(&["token", "--org", &org, "--role", role, "--sub", role]);
    let patient = format!("/v1/patients/{}", p.patient["id"].as_str().unwrap());

    // Compliance officers read audit data, not demographics.
    let compliance = token("compliance_officer");
    let r = s.call("GET", &patient, Some(&compliance), None, &[]).await;
    r.assert_problem(403);
    assert_eq!(r.body["detail"], "your roles do not grant read on Patient");
    assert!(!r.text.contains(crate::fixtures::FAMILY));
    // A coder may read patients but not register them; a biller may not recode encounters.
    let coder = token("coder");
    assert_eq!(
        s.call("GET", &patient, Some(&coder), None, &[])
            .await
            .status,
        200
    );
    let r = s
        .call(
            "POST",
            "/v1/patients",
            Some(&coder),
            Some(&fixtures::patient_body()),
            &[],
        )
        .await;
    r.assert_problem(403);
    assert_eq!(
        r.body["detail"],
        "your roles do not grant create on Patient"
    );
    let biller = token("biller");
    let enc = fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering);
    s.call("POST", "/v1/encounters", Some(&biller), Some(&enc), &[])
        .await
        .assert_problem(403);
    // ...but a biller creates claims, and front desk may not see remittances.
    let r = s
        .call(
            "POST",
            "/v1/claims",
            Some(&biller),
            Some(&json!({"encounter_id": p.encounter["id"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let front = token("front_desk");
    s.call("GET", "/v1/remittances", Some(&front), None, &[])
        .await
        .assert_problem(403);
    // Denied requests wrote nothing.
    assert_eq!(
        s.get("/v1/encounters").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
on_both_engines!(roles_limit_what_a_token_may_do);

async fn invalid_input_is_pointed_at(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;

    // Bad NPI check digit.
    let mut prov = json!({"roles": ["billing"], "npi": "1234567890", "organization_name": "X",
        "address": {"line1": "1 A St", "city": "Springfield", "state": "IL", "zip": "62701"}});
    let r = s.post("/v1/providers", &prov).await;
    assert_eq!(r.assert_problem(422), vec!["/npi"]);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("check digit")
    );
    prov["npi"] = json!("1987654328");
    prov["address"]["state"] = json!("ZZ");
    assert_eq!(
        s.post("/v1/providers", &prov).await.assert_problem(422),
        vec!["/address/state"]
    );
    prov["address"]["state"] = json!("IL");
    prov["last_name"] = json!("Both");
    assert_eq!(
        s.post("/v1/providers", &prov).await.assert_problem(422),
        vec!["/last_name"]
    );

    // Money must be a decimal string: a JSON number is refused, and so are fractions of a cent.
    let mut enc = fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering);
    enc["lines"][0]["charge"] = json!(150.0);
    assert_eq!(
        s.post("/v1/encounters", &enc).await.assert_problem(422),
        vec!["/lines/0/charge"]
    );
    enc["lines"][0]["charge"] = json!("150.001");
    assert_eq!(
        s.post("/v1/encounters", &enc).await.assert_problem(422),
        vec!["/lines/0/charge"]
    );
    enc["lines"][0]["charge"] = json!("150.00");

    // Codes parse on the way in.
    enc["diagnoses"] = json!(["E11.9", "1NVALID"]);
    assert_eq!(
        s.post("/v1/encounters", &enc).await.assert_problem(422),
        vec!["/diagnoses/1"]
    );
    enc["diagnoses"] = json!(["E11.9", "I10"]);
    enc["lines"][1]["procedure_code"] = json!("8303");
    assert_eq!(
        s.post("/v1/encounters", &enc).await.assert_problem(422),
        vec!["/lines/1/procedure_code"]
    );
    enc["lines"][1]["procedure_code"] = json!("83036");
    enc["place_of_service"] = json!("98");
    assert_eq!(
        s.post("/v1/encounters", &enc).await.assert_problem(422),
        vec!["/place_of_service"]
    );
    enc["place_of_service"] = json!("11");

    // Cross-field rules are all reported at once.
    enc["lines"][0]["diagnosis_pointers"] = json!([1, 3]);
    enc["lines"][0]["modifiers"] = json!(["25", "25"]);
    enc["lines"][1]["charge"] = json!("0.00");
    enc["lines"][2]["service_date"] = json!("2026-12-01");
    let ptrs = s.post("/v1/encounters", &enc).await.assert_problem(422);
    assert_eq!(
        ptrs,
        vec![
            "/lines/0/modifiers/1",
            "/lines/0/diagnosis_pointers/1",
            "/lines/1/charge",
            "/lines/2/service_date"
        ]
    );

    // Missing and unknown fields.
    let r = s
        .post(
            "/v1/payers",
            &json!({"name": "A", "claim_filing_indicator": "CI"}),
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/payer_code"]);
    let r = s.post("/v1/payers", &json!({"name": "A", "payer_code": "1", "claim_filing_indicator": "CI", "colour": "red"})).await;
    r.assert_problem(422);

    // Coverage rules: subscriber required unless self; dates ordered.
    let cov = json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "secondary",
        "member_id": "M1", "relationship": "child", "effective_from": "2026-05-01", "effective_to": "2026-01-01"});
    assert_eq!(
        s.post("/v1/coverages", &cov).await.assert_problem(422),
        vec!["/effective_to", "/subscriber"]
    );

    // Patient rules.
    let mut pat = fixtures::patient_body();
    pat["mrn"] = json!("MRN-2");
    pat["ssn"] = json!("666-12-3456");
    pat["birth_date"] = json!("2150-01-01");
    pat["phone"] = json!("555");
    assert_eq!(
        s.post("/v1/patients", &pat).await.assert_problem(422),
        vec!["/birth_date", "/phone", "/ssn"]
    );
    // A date that does not parse is named with the other fields' mistakes, not before them.
    pat["birth_date"] = json!("1980-02-30");
    assert_eq!(
        s.post("/v1/patients", &pat).await.assert_problem(422),
        vec!["/birth_date", "/phone", "/ssn"]
    );

    // Duplicates: 409.
    let r = s.post("/v1/patients", &fixtures::patient_body()).await;
    r.assert_problem(409);
    assert!(r.body["detail"].as_str().unwrap().contains("MRN"));
    assert!(
        !r.text.contains(fixtures::MRN),
        "the problem never echoes the identifier"
    );
    let r = s
        .post(
            "/v1/payers",
            &json!({"name": "Dup", "payer_code": "60054", "claim_filing_indicator": "CI"}),
        )
        .await;
    r.assert_problem(409);

    // Not JSON, wrong media type, oversized body.
    let r = s
        .client
        .post(s.url("/v1/payers"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = s
        .client
        .post(s.url("/v1/payers"))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let huge = format!("{{\"name\": \"{}\"}}", "A".repeat(5 * 1024 * 1024));
    let r = s
        .client
        .post(s.url("/v1/payers"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // Unknown routes and ids, malformed ids.
    s.get("/v1/nothing-here").await.assert_problem(404);
    s.get(&format!("/v1/patients/{}", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404);
    s.get("/v1/patients/not-a-uuid").await.assert_problem(404);

    // None of this wrote anything: still one patient, one encounter.
    assert_eq!(
        s.get("/v1/patients").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get("/v1/encounters").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!s.log().contains("panicked"), "no panics in the server log");
}
on_both_engines!(invalid_input_is_pointed_at);

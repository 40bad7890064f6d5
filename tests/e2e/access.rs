//! Authorization as callers meet it: tenant isolation on every route, minimum-necessary
//! masking per role, scopes narrowing roles, and break-glass.

use serde_json::{Value, json};

use crate::fixtures::{self, id, org_of, practice};
use crate::on_both_engines;
use revcycle_e2e::{Engine, Server};

fn token(s: &Server, org: &str, roles: &[&str], scope: Option<&str>) -> String {
    let extra: Vec<&str> = scope.map(|sc| vec!["--scope", sc]).unwrap_or_default();
    fixtures::token(s, org, "tester", roles, &extra)
}

/// Every route of the published OpenAPI document that takes an id is tried with another
/// tenant's ids: each answers 404 (no existence oracle) and changes nothing. New routes are
/// covered as soon as they are documented.
async fn every_route_with_a_foreign_id_is_not_found(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    let remit = s
        .create(
            "/v1/remittances",
            &json!({"payer_id": p.payer["id"], "trace_number": "EFT-ISO-1", "payment_date": "2026-11-20",
                "payment_method": "ACH", "total_paid": "0.00", "claims": []}),
        )
        .await;
    // A remittance queued because its payer was unknown, as the inbox would queue one.
    let queued_id = uuid::Uuid::now_v7().to_string();
    {
        use diesel::connection::SimpleConnection;
        let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
        conn.batch_execute(&format!(
            "INSERT INTO unidentified_remittances (id, org_id, remittance_index, payer_name, \
             identifiers, reason, trace_number, payment_date, total_paid, body, post, state, \
             version, created_at) VALUES ('{queued_id}', '{}', 0, 'UNKNOWN PAYER', '[]', \
             'unknown_payer', 'EFT-Q-1', '2026-11-20', '96.00', '{{}}', false, 'open', 1, \
             '2026-12-06 00:00:00')",
            org_of(&s)
        ))
        .expect("queue a remittance");
    }
    let queued = json!({ "id": queued_id });
    // An issued statement: the patient's preview, stored as a run would store it.
    let statement_id = uuid::Uuid::now_v7().to_string();
    {
        use diesel::connection::SimpleConnection;
        let mut doc = s
            .get(&format!("/v1/patients/{}/statement", id(&p.patient)))
            .await
            .body;
        doc["id"] = json!(statement_id);
        doc["status"] = json!("issued");
        doc["statement_number"] = json!(1);
        doc["patient_name"] = json!("");
        doc["address"] = Value::Null;
        let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
        conn.batch_execute(&format!(
            "INSERT INTO statements (id, org_id, patient_id, number, statement_date, due_date, \
             amount_due, run_id, document, created_at, actor) VALUES ('{statement_id}', '{}', \
             '{}', 1, '2026-12-07', '2027-01-06', '0.00', NULL, '{}', '2026-12-07 00:00:00', 'test')",
            org_of(&s),
            id(&p.patient),
            doc.to_string().replace('\'', "''")
        ))
        .expect("store a statement");
    }
    let statement = json!({ "id": statement_id });
    // Paused: its public address is never contacted.
    let subscription = s
        .create(
            "/v1/subscriptions",
            &json!({"url": "https://93.184.216.34/hook", "event_types": ["claim.submitted"],
                "paused": true}),
        )
        .await;
    let ids: Vec<(&str, &Value)> = vec![
        ("subscriptions", &subscription),
        ("work-queues", &queued),
        ("payers", &p.payer),
        ("providers", &p.billing),
        ("patients", &p.patient),
        ("coverages", &p.coverage),
        ("encounters", &p.encounter),
        ("claims", &claim),
        ("remittances", &remit),
        ("statements", &statement),
    ];
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (_, foreign) = s.new_org("Other practice");
    let mut tried = 0;
    for (template, ops) in spec["paths"].as_object().unwrap() {
        if !template.contains("{id}") {
            continue;
        }
        let collection = template
            .trim_start_matches("/v1/")
            .split('/')
            .next()
            .unwrap();
        let (_, owned) = ids
            .iter()
            .find(|(c, _)| *c == collection)
            .unwrap_or_else(|| panic!("no record for {template}: add one to this test"));
        let path = template.replace("{id}", id(owned));
        for method in ops.as_object().unwrap().keys() {
            let before = s.get(&path).await;
            let body = before.body.clone();
            let r = s
                .call(
                    &method.to_uppercase(),
                    &path,
                    Some(&foreign),
                    Some(&body),
                    &[("if-match", "\"1\"")],
                )
                .await;
            // A body the foreign tenant could never make valid may be refused as 422 first;
            // either way, nothing of the record comes back and nothing changes.
            assert!(
                r.status == 404 || (r.status == 422 && method != "get"),
                "{method} {template} with a foreign id: {} {}",
                r.status,
                r.text
            );
            assert!(
                !r.text.contains(id(owned)),
                "{method} {template} echoes the record"
            );
            assert!(!r.text.contains(fixtures::FAMILY));
            // Reports default their window to "now": compare what they report, not when.
            let stable = |mut v: Value| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("from");
                    o.remove("to");
                }
                v
            };
            assert_eq!(
                stable(s.get(&path).await.body),
                stable(before.body),
                "{method} {template} changed it"
            );
            tried += 1;
        }
    }
    assert!(tried >= 13, "every id route was tried ({tried})");
}
on_both_engines!(every_route_with_a_foreign_id_is_not_found);

/// Minimum necessary: what each role sees of one patient, on reads, lists, searches and
/// creates alike.
async fn responses_are_masked_per_role(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let path = format!("/v1/patients/{}", id(&p.patient));
    let digits: String = fixtures::SSN.chars().filter(char::is_ascii_digit).collect();
    // (role, ssn, phone/email shown, address shown)
    let expected: [(&str, Option<String>, bool, bool); 6] = [
        ("admin", Some(digits.clone()), true, true),
        ("front_desk", Some(digits.clone()), true, true),
        ("biller", Some("***-**-8761".into()), true, true),
        ("ehr_integration", Some("***-**-8761".into()), true, true),
        ("coder", Some("***-**-8761".into()), false, false),
        ("billing_app", None, false, true),
    ];
    for (role, ssn, contact, address) in &expected {
        let t = token(&s, &org, &[role], None);
        let read = s.call("GET", &path, Some(&t), None, &[]).await;
        assert_eq!(read.status, 200, "{role}");
        let list = s.call("GET", "/v1/patients", Some(&t), None, &[]).await;
        let search = s
            .call(
                "POST",
                "/v1/patients/search",
                Some(&t),
                Some(&json!({"mrn": fixtures::MRN})),
                &[],
            )
            .await;
        for (what, v) in [
            ("read", &read.body),
            ("list", &list.body["items"][0]),
            ("search", &search.body["items"][0]),
        ] {
            assert_eq!(v["ssn"], json!(ssn), "{role} {what} ssn");
            assert_eq!(v["phone"].is_string(), *contact, "{role} {what} phone");
            assert_eq!(v["email"].is_string(), *contact, "{role} {what} email");
            assert_eq!(v["address"].is_object(), *address, "{role} {what} address");
            assert_eq!(v["family_name"], fixtures::FAMILY, "{role} {what} name");
        }
        let full_ssn = !read.text.contains(&digits) || ssn.as_deref() == Some(&digits);
        assert!(full_ssn, "{role}: the full SSN leaks somewhere in the body");
    }
    // The response to a create is masked too: an EHR gets back what it may read.
    let ehr = token(&s, &org, &["ehr_integration"], None);
    let mut body = fixtures::patient_body();
    body["mrn"] = json!("MRN-MASK-2");
    let r = s
        .call("POST", "/v1/patients", Some(&ehr), Some(&body), &[])
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["ssn"], "***-**-8761");
    // Compliance officers read no demographics at all.
    let co = token(&s, &org, &["compliance_officer"], None);
    s.call("GET", &path, Some(&co), None, &[])
        .await
        .assert_problem(403);
}
on_both_engines!(responses_are_masked_per_role);

/// A token's scopes narrow its roles, never widen them.
async fn scopes_narrow_what_roles_allow(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let patient = format!("/v1/patients/{}", id(&p.patient));
    let t = token(&s, &org, &["admin"], Some("openid system/Patient.rs"));
    assert_eq!(
        s.call("GET", &patient, Some(&t), None, &[]).await.status,
        200
    );
    assert_eq!(
        s.call("GET", "/v1/patients", Some(&t), None, &[])
            .await
            .status,
        200
    );
    let r = s
        .call(
            "POST",
            "/v1/patients",
            Some(&t),
            Some(&fixtures::patient_body()),
            &[],
        )
        .await;
    r.assert_problem(403);
    assert_eq!(
        r.body["detail"],
        "your token's scopes do not grant create on Patient"
    );
    let r = s.call("GET", "/v1/claims", Some(&t), None, &[]).await;
    r.assert_problem(403);
    assert_eq!(
        r.body["detail"],
        "your token's scopes do not grant search on Claim"
    );
    // A wide scope does not lift a role's limits.
    let t = token(&s, &org, &["coder"], Some("system/*.cruds"));
    let r = s
        .call(
            "POST",
            "/v1/patients",
            Some(&t),
            Some(&fixtures::patient_body()),
            &[],
        )
        .await;
    r.assert_problem(403);
    assert_eq!(
        r.body["detail"],
        "your roles do not grant create on Patient"
    );
    // SMART v1 words work; patient-context scopes grant nothing here.
    let t = token(&s, &org, &["biller"], Some("user/Claim.read"));
    assert_eq!(
        s.call("GET", "/v1/claims", Some(&t), None, &[])
            .await
            .status,
        200
    );
    let t = token(&s, &org, &["admin"], Some("patient/Patient.rs"));
    s.call("GET", &patient, Some(&t), None, &[])
        .await
        .assert_problem(403);
}
on_both_engines!(scopes_narrow_what_roles_allow);

/// Break-glass: a permitted person opens one patient's record beyond their scope, unmasked,
/// with a reason; it is flagged in the response and recorded (without the reason's text in
/// the log). Nobody else can, and nowhere else.
async fn break_glass_opens_one_record_and_is_recorded(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let patient = format!("/v1/patients/{}", id(&p.patient));
    let reason = "Unresponsive in ED, verifying identity Zq7";
    let glass = [("x-break-glass-reason", reason)];
    // A coder whose token is scoped to claims cannot read patients...
    let coder = token(
        &s,
        &org,
        &["coder"],
        Some("system/Claim.rs revcycle/break_glass"),
    );
    s.call("GET", &patient, Some(&coder), None, &[])
        .await
        .assert_problem(403);
    // ...except by breaking the glass, which also lifts masking.
    let r = s.call("GET", &patient, Some(&coder), None, &glass).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-break-glass").as_deref(), Some("used"));
    assert_eq!(r.body["ssn"], "219098761");
    assert_eq!(r.body["phone"], fixtures::PHONE);
    assert!(s.log_shows("break-glass access").await);
    assert!(s.log().contains(&format!("patient_id={}", id(&p.patient))));
    assert!(
        !s.log().contains("Zq7"),
        "the reason's text stays out of the log"
    );
    // Normal reads carry no flag.
    let admin = s.call("GET", &patient, Some(&s.token), None, &[]).await;
    assert!(admin.header("x-break-glass").is_none());
    // Without the capability (machine clients), or with a token that does not carry it: 403.
    let app = token(&s, &org, &["billing_app"], None);
    let r = s.call("GET", &patient, Some(&app), None, &glass).await;
    r.assert_problem(403);
    assert_eq!(r.body["detail"], "your roles do not grant break_glass");
    let narrowed = token(&s, &org, &["coder"], Some("system/Claim.rs"));
    let r = s.call("GET", &patient, Some(&narrowed), None, &glass).await;
    r.assert_problem(403);
    assert_eq!(
        r.body["detail"],
        "your token's scopes do not grant break_glass"
    );
    // Only on a single patient read, and only with a reason.
    let r = s
        .call("GET", "/v1/patients", Some(&coder), None, &glass)
        .await;
    r.assert_problem(400);
    let r = s
        .call(
            "PUT",
            &patient,
            Some(&coder),
            Some(&fixtures::patient_body()),
            &glass,
        )
        .await;
    r.assert_problem(400);
    let r = s
        .call(
            "GET",
            &patient,
            Some(&coder),
            None,
            &[("x-break-glass-reason", " ")],
        )
        .await;
    r.assert_problem(400);
    // The other tenant's break-glass does not cross tenants.
    let (other_org, _) = s.new_org("Elsewhere");
    let outsider = token(&s, &other_org, &["front_desk"], None);
    s.call("GET", &patient, Some(&outsider), None, &glass)
        .await
        .assert_problem(404);
}
on_both_engines!(break_glass_opens_one_record_and_is_recorded);

/// The purpose of use, when given, must be an HL7 PurposeOfUse code.
async fn purpose_of_use_is_checked(engine: Engine) {
    let s = Server::start(engine).await;
    let org = org_of(&s);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = |pou: &str| {
        json!({"sub": "svc", "org": org, "roles": ["biller"], "iss": "revcycle-dev",
            "aud": "revcycle-api", "iat": now, "nbf": now, "exp": now + 600,
            "purpose_of_use": pou, "client_id": "billing-svc-1"})
    };
    let good = s.sign(&claims("HPAYMT"));
    assert_eq!(
        s.call("GET", "/v1/claims", Some(&good), None, &[])
            .await
            .status,
        200
    );
    // `revcycle token` states them too, and refuses codes that are not HL7's.
    let t = s.admin(&[
        "token",
        "--org",
        &org,
        "--role",
        "biller",
        "--purpose-of-use",
        "HOPERAT",
        "--client-id",
        "cli-app",
    ]);
    assert_eq!(
        s.call("GET", "/v1/claims", Some(&t), None, &[])
            .await
            .status,
        200
    );
    let refused = s.admin_output(
        &[
            "token",
            "--org",
            &org,
            "--role",
            "biller",
            "--purpose-of-use",
            "BECAUSE",
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an HL7 PurposeOfUse code"));
    let bad = s.sign(&claims("BECAUSE"));
    let r = s.call("GET", "/v1/claims", Some(&bad), None, &[]).await;
    r.assert_problem(401);
    assert!(r.header("www-authenticate").is_some());
}
on_both_engines!(purpose_of_use_is_checked);

/// Every role against every resource route, compared with the permission matrix itself: a
/// route answers 403 exactly when the matrix says no, and never lets a denied write through.
async fn every_role_meets_the_matrix_on_every_route(engine: Engine) {
    use revcycle_core::access::{Action, Resource, Role, allowed};
    // Hundreds of calls in a few seconds from one admin token: no rate limit here.
    let s = Server::start_with(engine, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    let remit_body = |n: usize| {
        json!({"payer_id": p.payer["id"], "trace_number": format!("EFT-M-{n}"), "payment_date": "2026-11-20",
            "payment_method": "ACH", "total_paid": "0.00", "claims": []})
    };
    let remit = s.create("/v1/remittances", &remit_body(0)).await;
    let mut n = 0;
    for role in Role::ALL {
        let t = token(&s, &org, &[role.as_str()], None);
        // Denials have no record here (no 835 was posted): an unknown one answers 404 to a
        // role that may act on denials, 403 to one that may not.
        let unknown = format!("/v1/work-queues/denials/{}", uuid::Uuid::now_v7());
        for (action, method, path, body) in [
            (
                Action::Search,
                "GET",
                "/v1/work-queues/denials".to_string(),
                None,
            ),
            (Action::Read, "GET", unknown.clone(), None),
            (
                Action::Update,
                "POST",
                format!("{unknown}/status"),
                Some(json!({"to": "in_progress"})),
            ),
            (
                Action::WriteOff,
                "POST",
                format!("{unknown}/write-off"),
                Some(json!({"amount": "10.00", "group": "CO", "carc": "29"})),
            ),
        ] {
            let r = s.call(method, &path, Some(&t), body.as_ref(), &[]).await;
            let what = format!("{} {method} {path}: {} {}", role.as_str(), r.status, r.text);
            if allowed(role, Resource::Denial, action) {
                assert!(
                    r.status == 200 || r.status == 404,
                    "allowed but refused: {what}"
                );
            } else {
                r.assert_problem(403);
            }
        }
        for resource in Resource::ALL {
            // Denials are checked above; the charge master in the statements tests.
            if matches!(resource, Resource::Denial | Resource::ChargeMaster) {
                continue;
            }
            let (collection, record) = match resource {
                Resource::Payer => ("payers", &p.payer),
                Resource::Provider => ("providers", &p.billing),
                Resource::Patient => ("patients", &p.patient),
                Resource::Coverage => ("coverages", &p.coverage),
                Resource::Encounter => ("encounters", &p.encounter),
                Resource::Claim => ("claims", &claim),
                Resource::Remittance => ("remittances", &remit),
                Resource::Denial | Resource::ChargeMaster => unreachable!("skipped above"),
            };
            n += 1;
            let new_body = match resource {
                Resource::Payer => {
                    json!({"name": format!("Plan {n}"), "payer_code": format!("P{n:04}"), "claim_filing_indicator": "CI"})
                }
                Resource::Provider => {
                    json!({"roles": ["rendering"], "npi": fixtures::RENDERING_NPI, "last_name": "Osler",
                    "first_name": "William", "taxonomy": "207R00000X"})
                }
                Resource::Patient => {
                    let mut b = fixtures::patient_body();
                    b["mrn"] = json!(format!("MRN-M-{n}"));
                    b
                }
                Resource::Coverage => {
                    json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"],
                    "priority": "secondary", "member_id": format!("M{n}"), "relationship": "self",
                    "effective_from": "2026-01-01"})
                }
                Resource::Encounter => {
                    fixtures::encounter_body(&p.patient, &p.coverage, &p.billing, &p.rendering)
                }
                Resource::Claim => json!({"encounter_id": p.encounter["id"]}),
                Resource::Remittance => remit_body(n),
                Resource::Denial | Resource::ChargeMaster => unreachable!("skipped above"),
            };
            let item = format!("/v1/{collection}/{}", id(record));
            let list = format!("/v1/{collection}");
            let current = s.get(&item).await;
            let etag = current.header("etag").unwrap();
            let update_body = match resource {
                Resource::Claim => json!({"place_of_service": "11", "diagnoses": ["E11.9"],
                    "lines": [{"procedure_code": "99213", "units": "1", "charge": "90.00", "diagnosis_pointers": [1]}]}),
                Resource::Patient => fixtures::patient_body(),
                _ => new_body.clone(),
            };
            let mut calls = vec![
                (Action::Read, "GET", item.clone(), None),
                (Action::Search, "GET", list.clone(), None),
                (Action::Create, "POST", list.clone(), Some(new_body)),
            ];
            if resource != Resource::Remittance {
                calls.push((Action::Update, "PUT", item.clone(), Some(update_body)));
            }
            for (action, method, path, body) in calls {
                let before = s.get(&list).await.body["items"].as_array().unwrap().len();
                let r = s
                    .call(
                        method,
                        &path,
                        Some(&t),
                        body.as_ref(),
                        &[("if-match", &etag)],
                    )
                    .await;
                let what = format!("{} {method} {path}: {} {}", role.as_str(), r.status, r.text);
                if allowed(role, resource, action) {
                    assert!(
                        r.status != 403 && r.status < 500,
                        "allowed but refused: {what}"
                    );
                } else {
                    r.assert_problem(403);
                    let after = s.get(&list).await.body["items"].as_array().unwrap().len();
                    assert_eq!(before, after, "a denied call wrote: {what}");
                    assert_eq!(s.get(&item).await.header("etag").unwrap(), etag, "{what}");
                }
            }
            // Later roles update the same records: follow their versions.
            let _ = etag;
        }
    }
    // Every route has now run for every role, allowed and refused: the audit trail (in the
    // dump) and the server log name fields, never values.
    let dump = crate::phi::dump_database(&s.db.url);
    assert!(dump.contains("front_desk"), "the dump reads the audit rows");
    for v in crate::phi::identifiers() {
        assert!(
            !dump.contains(&v),
            "identifier in the database or audit trail: {v}"
        );
        assert!(!s.log().contains(&v), "identifier in the server log: {v}");
    }
}
on_both_engines!(every_role_meets_the_matrix_on_every_route);

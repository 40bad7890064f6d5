//! Hostile and malformed input from outside: control characters in every text field of every
//! documented write, poisoned and forged tokens, tokens naming organizations that are not
//! real, floods, slow bodies, and values the published document does not allow.

use std::time::Duration;

use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures::{org_of, practice};
use crate::on_both_engines;

/// What each text value is replaced with, and what the server must answer.
const POISONS: [&str; 3] = ["a\u{0}b", "a\u{1}b", "MRN\u{202e}321"];

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    while let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        s = &doc["components"]["schemas"][name];
    }
    // `Option<T>` is documented as oneOf [null, T].
    if let Some(alts) = s["oneOf"].as_array()
        && let Some(t) = alts.iter().find(|a| a["type"] != "null")
    {
        return resolve(doc, t);
    }
    s
}

/// A value for `schema`: its example, or one built from its required members.
fn sample(doc: &Value, schema: &Value) -> Value {
    let s = resolve(doc, schema);
    if !s["example"].is_null() {
        return s["example"].clone();
    }
    if let Some(first) = s["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let ty = match &s["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or_default(),
        t => t.clone(),
    };
    match (ty.as_str(), s["format"].as_str()) {
        (Some("string"), Some("uuid")) => json!(uuid_v4()),
        (Some("string"), Some("date")) => json!("2026-11-02"),
        (Some("string"), Some("date-time")) => json!("2026-11-02T10:00:00Z"),
        (Some("string"), _) => json!("x"),
        (Some("integer"), _) => json!(s["minimum"].as_i64().unwrap_or(1).max(1)),
        (Some("number"), _) => json!(1),
        (Some("boolean"), _) => json!(false),
        (Some("array"), _) => json!([sample(doc, &s["items"])]),
        _ => {
            let mut obj = serde_json::Map::new();
            for name in s["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                obj.insert(name.into(), sample(doc, &s["properties"][name]));
            }
            Value::Object(obj)
        }
    }
}

fn uuid_v4() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Pointers of every text value in `body` whose schema is a string: where a poison goes.
fn text_pointers(doc: &Value, schema: &Value, body: &Value, at: String, out: &mut Vec<String>) {
    let s = resolve(doc, schema);
    match body {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                text_pointers(doc, &s["items"], item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (name, member) in members {
                let member_schema = &s["properties"][name];
                if !member_schema.is_null() {
                    text_pointers(doc, member_schema, member, format!("{at}/{name}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Every text field of every JSON POST and PUT in the published document, given NUL, another
/// C0 control and a bidi override in turn: 422 pointing at that field, nothing stored, and the
/// server stays healthy. New routes are covered as soon as they are documented.
async fn control_characters_in_any_text_field_are_refused_with_a_pointer(engine: Engine) {
    // Hundreds of requests in a few seconds: rate limiting is its own test.
    let s = Server::start_with(engine, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await;
    let p = practice(&s).await;
    let doc = s.get("/openapi.json").await.body;
    let before = s.get("/v1/patients?limit=100").await.body["items"]
        .as_array()
        .map(Vec::len);
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put"] {
            let Some(schema) = item[method]["requestBody"]["content"]["application/json"]
                .get("schema")
                .cloned()
            else {
                continue;
            };
            let media = &item[method]["requestBody"]["content"]["application/json"];
            let base = if media["example"].is_null() {
                sample(&doc, &schema)
            } else {
                media["example"].clone()
            };
            let mut pointers = Vec::new();
            text_pointers(&doc, &schema, &base, String::new(), &mut pointers);
            let url = path
                .replace("{id}", crate::fixtures::id(&p.patient))
                .replace("{name}", "none");
            for pointer in pointers {
                for poison in POISONS {
                    let mut body = base.clone();
                    *body.pointer_mut(&pointer).expect("pointer") = json!(poison);
                    let r = s
                        .call(
                            &method.to_uppercase(),
                            &url,
                            Some(&s.token),
                            Some(&body),
                            &[("if-match", "\"1\"")],
                        )
                        .await;
                    let found = r.assert_problem(422);
                    assert!(
                        found.contains(&pointer),
                        "{method} {path} {pointer} with {poison:?}: {}",
                        r.text
                    );
                    assert!(
                        !r.text.contains(poison) && !r.text.contains("321"),
                        "the value is not echoed: {}",
                        r.text
                    );
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 150, "only {tried} fields were tried");
    let after = s.get("/v1/patients?limit=100").await;
    assert_eq!(after.status, 200, "the server is healthy");
    assert_eq!(after.body["items"].as_array().map(Vec::len), before);
}
on_both_engines!(control_characters_in_any_text_field_are_refused_with_a_pointer);

/// Token claims with control characters are refused at authentication (401), so one
/// caller's unwritable audit event never reaches the writer it shares with everyone else:
/// a legitimate client working at the same time sees no 5xx.
async fn a_poisoned_token_fails_alone(engine: Engine) {
    let s = Server::start_with(engine, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await;
    let org = org_of(&s);
    let now = chrono::Utc::now().timestamp();
    let claims = |sub: &str, client: &str| {
        json!({"sub": sub, "client_id": client, "org": org, "roles": ["admin"],
               "iss": "revcycle-dev", "aud": "revcycle-api", "iat": now, "nbf": now,
               "exp": now + 600})
    };
    let poisoned = [
        s.sign(&claims("evil\u{0}", "app")),
        s.sign(&claims("evil", "app\u{0}")),
        s.sign(&claims("evil\u{202e}", "app")),
    ];
    let (mut bad_5xx, mut good_5xx, mut good_ok) = (0, 0, 0);
    let good = async {
        for _ in 0..150 {
            let r = s.get("/v1/patients").await;
            if r.status >= 500 {
                good_5xx += 1;
            } else if r.status == 200 {
                good_ok += 1;
            }
        }
    };
    let bad = async {
        for i in 0..150 {
            let r = s
                .call("GET", "/v1/patients", Some(&poisoned[i % 3]), None, &[])
                .await;
            assert_eq!(r.status, 401, "{}", r.text);
            if r.status >= 500 {
                bad_5xx += 1;
            }
        }
    };
    tokio::join!(good, bad);
    assert_eq!((good_5xx, bad_5xx, good_ok), (0, 0, 150));
}
on_both_engines!(a_poisoned_token_fails_alone);

/// A token is only as good as the organization it names: unknown, all-zeros (the system
/// chain's id) and deactivated organizations are refused, whoever signed the token.
async fn tokens_must_name_an_active_organization(engine: Engine) {
    let s = Server::start(engine).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |org: &str| {
        json!({"sub": "co-1", "org": org, "roles": ["compliance_officer", "admin"],
               "iss": "revcycle-dev", "aud": "revcycle-api", "iat": now, "nbf": now,
               "exp": now + 600})
    };
    for org in [uuid_v4().as_str(), "00000000-0000-0000-0000-000000000000"] {
        for path in [
            "/v1/audit-events",
            "/v1/patients",
            "/v1/audit-events/verify",
        ] {
            let r = s
                .call("GET", path, Some(&s.sign(&claims(org))), None, &[])
                .await;
            r.assert_problem(401);
        }
    }
    let (other, other_token) = s.new_org("Second Practice");
    assert_eq!(
        s.call("GET", "/v1/patients", Some(&other_token), None, &[])
            .await
            .status,
        200
    );
    s.admin(&["org", "deactivate", &other]);
    assert!(
        s.admin(&["org", "list"])
            .contains(&format!("{other}\tSecond Practice\tinactive"))
    );
    // A deactivation reaches every server within the cache's 30 seconds; this one is
    // checked after it.
    let refused = async {
        for _ in 0..80 {
            let r = s
                .call("GET", "/v1/patients", Some(&other_token), None, &[])
                .await;
            if r.status == 401 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    };
    assert!(
        refused.await,
        "a deactivated organization's token is refused"
    );
    s.admin(&["org", "activate", &other]);
    // The first org is untouched throughout.
    assert_eq!(s.get("/v1/patients").await.status, 200);
}
on_both_engines!(tokens_must_name_an_active_organization);

/// Forged (unsigned) tokens minting a fresh client id each time share their source's
/// budget: the flood is cut off with 429, and the system chain records it as a handful of
/// counted events, not one row per request.
async fn a_forged_token_flood_is_limited_and_counted_not_stored_row_by_row(engine: Engine) {
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "20"),
            ("REVCYCLE_RATE_LIMIT_BURST", "40"),
            ("REVCYCLE_AUDIT_REFUSAL_WINDOW_SECS", "1"),
        ],
    )
    .await;
    let system = "00000000-0000-0000-0000-000000000000";
    let count_system = |s: &Server| {
        s.admin(&["audit", "export", "--org", system])
            .lines()
            .count()
    };
    let before = count_system(&s);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (mut limited, mut refused) = (0, 0);
    let org = org_of(&s);
    let started = std::time::Instant::now();
    for i in 0..400 {
        let payload = b64.encode(format!(
            r#"{{"sub":"x","client_id":"forged-{i}","org":"{org}","roles":["admin"]}}"#
        ));
        let forged = format!("{}.{payload}.c2ln", b64.encode(r#"{"alg":"HS256"}"#));
        match s
            .call("GET", "/v1/patients", Some(&forged), None, &[])
            .await
            .status
        {
            429 => limited += 1,
            401 => refused += 1,
            other => panic!("forged token answered {other}"),
        }
    }
    // The source's budget is a burst of 40 and 20 a second after that, whatever client id
    // each forged token claims.
    let took = started.elapsed().as_secs_f64();
    let budget = 40 + (20.0 * took).ceil() as usize;
    assert!(
        refused <= budget && limited + refused == 400,
        "{limited} limited, {refused} refused, budget {budget}"
    );
    assert!(limited > 0, "the flood was never limited");
    // The windows end, the counts are written: a few events, one per source and status.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = s.admin(&["audit", "export", "--org", system]);
    let counted: u64 = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("ndjson"))
        .filter(|e| e["action"] == "requests.refused")
        .map(|e| {
            assert_eq!(e["source_ip"], "127.0.0.1");
            assert_eq!(e["http_status"], 401);
            e["resource_id"].as_str().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(counted, refused as u64, "every refusal is counted");
    let grown = count_system(&s) - before;
    assert!(
        grown <= 10,
        "the system chain grew by {grown} events for {refused} refusals"
    );
    let verify = s.admin(&["audit", "verify"]);
    assert!(verify.contains("(system): OK"), "{verify}");
}
on_both_engines!(a_forged_token_flood_is_limited_and_counted_not_stored_row_by_row);

/// A client that sends its headers and then part of its body, or nothing, is answered 408
/// and let go; it does not hold the connection for ever.
async fn slow_bodies_time_out(engine: Engine) {
    let s = Server::start_with(engine, &[("REVCYCLE_BODY_TIMEOUT_SECS", "1")]).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/payers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"name\": \"Ac",
        s.token
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server let go of the connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert_eq!(s.get("/v1/payers").await.body["items"], json!([]));
}
on_both_engines!(slow_bodies_time_out);

/// Values are read exactly as the document publishes them, and error pointers come from our
/// schema, never from what the client sent.
async fn strict_values_and_pointers_that_never_echo_input(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let r = s.get("/v1/claims?status=Xyzzy").await;
    assert_eq!(r.assert_problem(422), ["/status"]);
    assert!(!r.text.contains("Xyzzy"), "{}", r.text);
    let r = s.get("/v1/claims?limit=abc").await;
    assert_eq!(r.assert_problem(422), ["/limit"]);
    // An empty cursor is no cursor; an empty status is not a status.
    assert_eq!(s.get("/v1/claims?cursor=").await.status, 200);
    assert_eq!(
        s.get("/v1/claims?status=").await.assert_problem(422),
        ["/status"]
    );
    // Another method on a route of its own is 405, not a malformed id.
    let r = s
        .call(
            "PUT",
            "/v1/claims/submit",
            Some(&s.token),
            Some(&json!({})),
            &[],
        )
        .await;
    r.assert_problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    let r = s.get("/v1/payers?payer_code=a%00b").await;
    assert_eq!(r.assert_problem(422), ["/payer_code"]);
    let r = s.get("/v1/claims?patient_control_number=a%01b").await;
    assert_eq!(r.assert_problem(422), ["/patient_control_number"]);
    let r = s.get("/v1/claims/not-a-uuid-Q").await;
    r.assert_problem(404);
    assert!(!r.text.contains('Q'), "{}", r.text);

    let encounter = |from: &str, charge: &str| {
        json!({"patient_id": p.patient["id"], "coverage_id": p.coverage["id"],
               "billing_provider_id": p.billing["id"], "service_date_from": from,
               "place_of_service": "11", "diagnoses": ["E11.9"],
               "lines": [{"procedure_code": "99213", "units": "1", "charge": charge,
                          "diagnosis_pointers": [1]}]})
    };
    for (from, charge, pointer) in [
        ("2026-1-1", "10.00", "/service_date_from"),
        ("+002026-01-01", "10.00", "/service_date_from"),
        ("9999-12-31", "10.00", "/service_date_from"),
        ("2150-01-01", "10.00", "/service_date_from"),
        ("2026-11-02", " 1.00", "/lines/0/charge"),
        ("2026-11-02", "00000000001.00", "/lines/0/charge"),
    ] {
        let r = s.post("/v1/encounters", &encounter(from, charge)).await;
        assert_eq!(r.assert_problem(422), [pointer], "{from} {charge}");
    }
    assert_eq!(
        s.post("/v1/encounters", &encounter("2026-11-02", "10.00"))
            .await
            .status,
        201
    );

    let r = s
        .client
        .post(s.url("/v1/payers"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json; charset=iso-8859-1")
        .body(r#"{"name": "Acme", "payer_code": "60054", "claim_filing_indicator": "CI"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 415);
    let r = s
        .client
        .post(s.url("/v1/payers"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json; charset=UTF-8")
        .body(r#"{"name": "Acme Two", "payer_code": "60055", "claim_filing_indicator": "CI"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);

    // 405 says what is allowed; an unknown path is 404 whatever the method.
    let r = s
        .call("DELETE", "/v1/payers", Some(&s.token), None, &[])
        .await;
    r.assert_problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, POST, HEAD"));
    s.call("POST", "/v1/nowhere", Some(&s.token), None, &[])
        .await
        .assert_problem(404);
    // Security headers on every response, a policy on the documentation page.
    let docs = s.call("GET", "/docs/", None, None, &[]).await;
    assert!(docs.header("content-security-policy").is_some());
    assert_eq!(
        docs.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
}
on_both_engines!(strict_values_and_pointers_that_never_echo_input);

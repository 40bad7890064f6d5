//! The audit trail as compliance officers meet it: what each request records, tamper
//! evidence, failing closed, exports checked by a FHIR validator, the accounting of
//! disclosures, and two server processes writing one PostgreSQL chain.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::fixtures::{self, id, org_of, practice, token};
use crate::on_both_engines;

/// Every event of the caller's org, following cursors.
async fn all_events(s: &Server, auditor: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/audit-events?limit=1000{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = s.call("GET", &path, Some(auditor), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

async fn each_request_records_who_what_and_which_fields(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let patient = format!("/v1/patients/{}", id(&p.patient));
    let biller = token(
        &s,
        &org,
        "bill-7",
        &["biller"],
        &["--client-id", "billing-ui", "--purpose-of-use", "HPAYMT"],
    );
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);

    let rid = [
        ("x-request-id", "rid-read-1"),
        ("user-agent", "ua-test/1.0"),
    ];
    assert_eq!(
        s.call("GET", &patient, Some(&biller), None, &rid)
            .await
            .status,
        200
    );
    let search = json!({"mrn": fixtures::MRN});
    let found = s
        .call(
            "POST",
            "/v1/patients/search",
            Some(&biller),
            Some(&search),
            &[],
        )
        .await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    // Denied: a coder may not write patients; another tenant's id is not found.
    let coder = token(&s, &org, "coder-2", &["coder"], &[]);
    s.call(
        "PUT",
        &patient,
        Some(&coder),
        Some(&fixtures::patient_body()),
        &[],
    )
    .await
    .assert_problem(403);
    let (other_org, _) = s.new_org("Elsewhere");
    let outsider = token(&s, &other_org, "out-3", &["front_desk"], &[]);
    s.call("GET", &patient, Some(&outsider), None, &[])
        .await
        .assert_problem(404);
    // The compliance officer reads no patient data...
    s.call("GET", &patient, Some(&auditor), None, &[])
        .await
        .assert_problem(403);

    let events = all_events(&s, &auditor, "").await;
    let read = events
        .iter()
        .find(|e| e["request_id"] == "rid-read-1")
        .expect("the read was recorded");
    assert_eq!(read["actor"], "bill-7");
    assert_eq!(read["roles"], json!(["biller"]));
    assert_eq!(read["client_id"], "billing-ui");
    assert_eq!(read["purpose_of_use"], "HPAYMT");
    assert_eq!(read["action"], "read");
    assert_eq!(read["resource_type"], "Patient");
    assert_eq!(read["resource_id"], id(&p.patient));
    assert_eq!(read["patient_ids"], json!([id(&p.patient)]));
    assert_eq!(read["outcome"], "success");
    assert_eq!(read["http_status"], 200);
    assert_eq!(read["source_ip"], "127.0.0.1");
    assert_eq!(read["user_agent"], "ua-test/1.0");
    assert_eq!(read["break_glass"], false);
    // Names of what the biller saw after masking: the SSN's last four, never the whole.
    let fields = strings(&read["fields_disclosed"]);
    for f in [
        "mrn",
        "family_name",
        "birth_date",
        "ssn_last4",
        "address",
        "phone",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
    }
    assert!(!fields.contains(&"ssn".to_string()));

    let search = events
        .iter()
        .find(|e| e["action"] == "search" && e["resource_type"] == "Patient")
        .expect("the search was recorded");
    assert_eq!(search["patient_ids"], json!([id(&p.patient)]));

    let denied = events
        .iter()
        .find(|e| e["actor"] == "coder-2")
        .expect("the refused update was recorded");
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["http_status"], 403);
    assert_eq!(denied["action"], "update");
    assert_eq!(denied["fields_disclosed"], json!([]));

    // Writes are recorded (in their own transaction) with what they returned.
    let created = events
        .iter()
        .find(|e| e["action"] == "create" && e["resource_type"] == "Patient")
        .expect("the patient's registration was recorded");
    assert_eq!(created["http_status"], 201);
    assert_eq!(created["resource_id"], id(&p.patient));

    // The cross-tenant attempt is in the outsider's org chain, as denied.
    let other_auditor = token(&s, &other_org, "co-9", &["compliance_officer"], &[]);
    let theirs = all_events(&s, &other_auditor, "&actor=out-3").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["outcome"], "denied");
    assert_eq!(theirs[0]["http_status"], 404);

    // Filters and cursors: by patient, actor, action, outcome, time.
    let by_patient = all_events(&s, &auditor, &format!("&patient_id={}", id(&p.patient))).await;
    assert!(by_patient.iter().any(|e| e["request_id"] == "rid-read-1"));
    assert!(
        by_patient
            .iter()
            .all(|e| strings(&e["patient_ids"]).contains(&id(&p.patient).to_string()))
    );
    let by_actor = all_events(&s, &auditor, "&actor=bill-7&action=read").await;
    assert_eq!(by_actor.len(), 1);
    let denials = all_events(&s, &auditor, "&outcome=denied").await;
    assert!(denials.iter().all(|e| e["outcome"] == "denied"));
    assert!(denials.len() >= 2, "the coder's 403 and the auditor's 403");
    let future = all_events(&s, &auditor, "&from=2099-01-01T00:00:00Z").await;
    assert!(future.is_empty());
    let page = s
        .call("GET", "/v1/audit-events?limit=2", Some(&auditor), None, &[])
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let next = page.body["next_cursor"].as_str().expect("more pages");
    let page2 = s
        .call(
            "GET",
            &format!("/v1/audit-events?limit=2&cursor={next}"),
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(
        page2.body["items"][0]["sequence"].as_i64().unwrap(),
        page.body["items"][1]["sequence"].as_i64().unwrap() + 1,
        "sorted by sequence, no gaps between pages"
    );

    // Only compliance officers and admins read the trail, and reading it is recorded.
    s.call("GET", "/v1/audit-events", Some(&biller), None, &[])
        .await
        .assert_problem(403);
    let reads = all_events(&s, &auditor, "&resource_type=AuditEvent&actor=co-1").await;
    assert!(!reads.is_empty(), "reading the audit log is audited");
    let refused = all_events(&s, &auditor, "&resource_type=AuditEvent&actor=bill-7").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["outcome"], "denied");
}
on_both_engines!(each_request_records_who_what_and_which_fields);

async fn unauthenticated_requests_are_recorded_in_the_system_chain(engine: Engine) {
    // Only a benchmark build may switch auditing off; this one ignores the request.
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_UNAUDITED_BENCHMARK", "1"),
            ("REVCYCLE_AUDIT_REFUSAL_WINDOW_SECS", "1"),
        ],
    )
    .await;
    for _ in 0..3 {
        let r = s
            .call(
                "GET",
                "/v1/patients",
                Some("not-a-token"),
                None,
                &[("user-agent", "probe/1.0")],
            )
            .await;
        r.assert_problem(401);
    }
    // Refusals that name no organization are counted per source and window, and the count
    // is written when the window ends.
    let mut out = String::new();
    let mut counted = None;
    for _ in 0..50 {
        out = s.admin(&[
            "audit",
            "export",
            "--org",
            "00000000-0000-0000-0000-000000000000",
        ]);
        counted = out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["action"] == "requests.refused" && e["user_agent"] == "probe/1.0")
            .map(|e| {
                assert_eq!(e["actor"], "-");
                assert_eq!(e["outcome"], "denied");
                assert_eq!(e["http_status"], 401);
                assert_eq!(e["source_ip"], "127.0.0.1");
                e["resource_id"].as_str().unwrap().parse::<u64>().unwrap()
            })
            .reduce(|a, b| a + b);
        if counted == Some(3) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        counted,
        Some(3),
        "the refused requests are counted in the system chain"
    );
    assert!(
        out.contains("\"action\":\"server.start\""),
        "server starts are recorded"
    );
    let verify = s.admin(&["audit", "verify"]);
    assert!(verify.contains("(system): OK"), "{verify}");
}
on_both_engines!(unauthenticated_requests_are_recorded_in_the_system_chain);

fn sql(s: &Server, statements: &str) {
    s.sql(statements);
}

/// Lets the test (standing in for someone with direct database access) alter audit rows.
fn disable_append_only(s: &Server) {
    match s.engine {
        Engine::Sqlite => sql(
            s,
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;",
        ),
        Engine::Postgres => sql(s, "ALTER TABLE audit_events DISABLE TRIGGER USER"),
    }
}

async fn verify(s: &Server, auditor: &str) -> Value {
    let r = s
        .call("GET", "/v1/audit-events/verify", Some(auditor), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn edits_deletions_and_reorders_are_detected(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    for _ in 0..5 {
        s.get(&format!("/v1/patients/{}", id(&p.patient))).await;
    }
    let ok = verify(&s, &auditor).await;
    assert_eq!(ok["status"], "ok");
    let total = ok["checked"].as_i64().unwrap();
    assert!(total >= 10, "{ok}");

    // The database refuses changes to the trail, whoever asks.
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    assert!(
        conn.batch_execute("UPDATE audit_events SET actor = 'x'")
            .is_err()
    );
    assert!(conn.batch_execute("DELETE FROM audit_events").is_err());
    drop(conn);

    disable_append_only(&s);
    let k = 4;
    let w = format!("org_id = '{org}' AND sequence = {k}");
    // An edited row.
    sql(
        &s,
        &format!("UPDATE audit_events SET actor = 'someone-else' WHERE {w}"),
    );
    let broken = verify(&s, &auditor).await;
    assert_eq!(broken["status"], "broken");
    assert_eq!(broken["broken_at"], k);
    assert_eq!(broken["checked"], k - 1);
    assert!(broken["reason"].as_str().unwrap().contains("altered"));
    let cli = s.admin_output(&["audit", "verify", "--org", &org], &[]);
    assert!(
        !cli.status.success(),
        "the CLI exits non-zero on a broken chain"
    );
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(text.contains(&format!("BROKEN at sequence {k}")), "{text}");
    sql(
        &s,
        &format!("UPDATE audit_events SET actor = 'dev-admin' WHERE {w}"),
    );
    assert_eq!(verify(&s, &auditor).await["status"], "ok");

    // Two rows swapped.
    sql(
        &s,
        &format!(
            "UPDATE audit_events SET sequence = -1 WHERE {w};
             UPDATE audit_events SET sequence = {k} WHERE org_id = '{org}' AND sequence = {k1};
             UPDATE audit_events SET sequence = {k1} WHERE org_id = '{org}' AND sequence = -1;",
            k1 = k + 1
        ),
    );
    let broken = verify(&s, &auditor).await;
    assert_eq!(broken["status"], "broken");
    assert_eq!(broken["broken_at"], k);
    sql(
        &s,
        &format!(
            "UPDATE audit_events SET sequence = -1 WHERE {w};
             UPDATE audit_events SET sequence = {k} WHERE org_id = '{org}' AND sequence = {k1};
             UPDATE audit_events SET sequence = {k1} WHERE org_id = '{org}' AND sequence = -1;",
            k1 = k + 1
        ),
    );
    assert_eq!(verify(&s, &auditor).await["status"], "ok");

    // A deleted row.
    sql(&s, &format!("DELETE FROM audit_events WHERE {w}"));
    let broken = verify(&s, &auditor).await;
    assert_eq!(broken["status"], "broken");
    assert_eq!(broken["broken_at"], k + 1);
    assert!(broken["reason"].as_str().unwrap().contains("deleted"));
}
on_both_engines!(edits_deletions_and_reorders_are_detected);

/// Makes every audit insert fail, as a full disk or a broken audit table would.
fn break_audit_writes(s: &Server) {
    match s.engine {
        Engine::Sqlite => sql(
            s,
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END;",
        ),
        Engine::Postgres => sql(
            s,
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$;
             CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down();
             CREATE TRIGGER audit_down BEFORE INSERT ON audit_intake FOR EACH ROW EXECUTE FUNCTION audit_down();",
        ),
    }
}

fn repair_audit_writes(s: &Server) {
    match s.engine {
        Engine::Sqlite => sql(s, "DROP TRIGGER audit_down;"),
        Engine::Postgres => sql(
            s,
            "DROP TRIGGER audit_down ON audit_events; DROP TRIGGER audit_down ON audit_intake;",
        ),
    }
}

async fn nothing_is_served_or_written_unaudited(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let patient = format!("/v1/patients/{}", id(&p.patient));
    break_audit_writes(&s);

    let r = s.get(&patient).await;
    r.assert_problem(503);
    assert!(!r.text.contains(fixtures::FAMILY), "no PHI in the refusal");
    let r = s.get("/v1/patients").await;
    r.assert_problem(503);

    let mut body = fixtures::patient_body();
    body["mrn"] = json!("MRN-FAIL-CLOSED");
    s.post("/v1/patients", &body).await.assert_problem(503);
    let current = s.get(&patient).await; // still 503 while the trail is down
    current.assert_problem(503);

    repair_audit_writes(&s);
    let list = s.get("/v1/patients").await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "the unaudited create rolled back with its event"
    );
    assert_eq!(s.get(&patient).await.status, 200);
}
on_both_engines!(nothing_is_served_or_written_unaudited);

async fn break_glass_is_recorded_with_its_reason_sealed(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let reason = "Unresponsive in ED, verifying identity Zq7";
    let coder = token(
        &s,
        &org,
        "coder-5",
        &["coder"],
        &["--scope", "system/Claim.rs revcycle/break_glass"],
    );
    let r = s
        .call(
            "GET",
            &format!("/v1/patients/{}", id(&p.patient)),
            Some(&coder),
            None,
            &[("x-break-glass-reason", reason)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let events = all_events(&s, &auditor, "&actor=coder-5").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["break_glass"], true);
    assert_eq!(events[0]["break_glass_reason"], reason);
    assert!(strings(&events[0]["fields_disclosed"]).contains(&"ssn".to_string()));
    // The reason is stored sealed: its text is nowhere in the raw table.
    let dump = crate::phi::dump_database(&s.db.url);
    assert!(dump.contains("coder-5"), "the dump reads the audit rows");
    assert!(!dump.contains("Zq7"));
    // Always in the accounting of disclosures, whatever the purpose.
    let acc = s
        .call(
            "GET",
            &format!("/v1/patients/{}/disclosures", id(&p.patient)),
            Some(&auditor),
            None,
            &[],
        )
        .await;
    let items = acc.body["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["break_glass"] == true && i["recipient"]["actor"] == "coder-5")
    );
}
on_both_engines!(break_glass_is_recorded_with_its_reason_sealed);

async fn the_accounting_of_disclosures_leaves_out_what_164_528_exempts(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let patient = format!("/v1/patients/{}", id(&p.patient));
    let payment = token(
        &s,
        &org,
        "pay-1",
        &["biller"],
        &["--purpose-of-use", "HPAYMT", "--client-id", "billing-ui"],
    );
    let research = token(
        &s,
        &org,
        "res-1",
        &["biller"],
        &["--purpose-of-use", "HRESCH", "--client-id", "study-app"],
    );
    let unstated = token(&s, &org, "who-1", &["biller"], &[]);
    for t in [&payment, &research, &unstated] {
        assert_eq!(
            s.call("GET", &patient, Some(t), None, &[]).await.status,
            200
        );
    }
    // A search that returns the patient discloses too; a refused read does not.
    s.call(
        "POST",
        "/v1/patients/search",
        Some(&research),
        Some(&json!({"mrn": fixtures::MRN})),
        &[],
    )
    .await;
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let get = |q: &str| {
        let path = format!("{patient}/disclosures{q}");
        let auditor = auditor.clone();
        let s = &s;
        async move { s.call("GET", &path, Some(&auditor), None, &[]).await }
    };
    let default = get("").await;
    assert_eq!(default.status, 200, "{}", default.text);
    let items = default.body["items"].as_array().unwrap();
    let who: Vec<&str> = items
        .iter()
        .map(|i| i["recipient"]["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        who,
        ["res-1", "who-1", "res-1"],
        "payment disclosures are exempt"
    );
    assert_eq!(items[0]["purpose"], "HRESCH");
    assert_eq!(items[0]["recipient"]["client_id"], "study-app");
    assert_eq!(items[0]["description"], "read Patient");
    assert_eq!(items[2]["description"], "search Patient");
    assert!(strings(&items[0]["fields_disclosed"]).contains(&"birth_date".to_string()));
    assert_eq!(items[0]["exempt"], false);

    let all = get("?include=all").await;
    let all_items = all.body["items"].as_array().unwrap();
    let pay: Vec<&Value> = all_items
        .iter()
        .filter(|i| i["recipient"]["actor"] == "pay-1")
        .collect();
    assert_eq!(pay.len(), 1);
    assert_eq!(pay[0]["exempt"], true);
    assert_eq!(
        all_items.len(),
        items.len() + 1,
        "everything, the exempt one flagged"
    );

    let later = get("?from=2099-01-01T00:00:00Z&to=2099-02-01T00:00:00Z").await;
    assert_eq!(later.body["items"], json!([]));
    get("?include=some").await.assert_problem(422);
    // Only audit readers; another tenant's patient is not found.
    s.call(
        "GET",
        &format!("{patient}/disclosures"),
        Some(&payment),
        None,
        &[],
    )
    .await
    .assert_problem(403);
    let (other_org, _) = s.new_org("Elsewhere");
    let other_auditor = token(&s, &other_org, "co-9", &["compliance_officer"], &[]);
    s.call(
        "GET",
        &format!("{patient}/disclosures"),
        Some(&other_auditor),
        None,
        &[],
    )
    .await
    .assert_problem(404);
}
on_both_engines!(the_accounting_of_disclosures_leaves_out_what_164_528_exempts);

/// The R4 models; they need pydantic 1, which the package does not pin.
const FHIR_RESOURCES: [&str; 2] = ["fhir.resources==6.4.0", "pydantic>=1.10,<2"];

/// Parses a FHIR R4 Bundle with the reference Python models; returns the AuditEvent count.
fn validate_fhir_bundle(path: &std::path::Path) -> usize {
    let bin = revcycle_e2e::python_tool("fhir-r4", &FHIR_RESOURCES);
    let script = r#"
import sys
from fhir.resources.bundle import Bundle
from fhir.resources.auditevent import AuditEvent
b = Bundle.parse_file(sys.argv[1])
n = 0
for e in b.entry or []:
    assert e.resource.resource_type == "AuditEvent", e.resource.resource_type
    AuditEvent.parse_obj(e.resource.dict())
    n += 1
print(n)
"#;
    let out = std::process::Command::new(bin.join("python"))
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the FHIR R4 bundle does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

async fn exports_stream_ndjson_csv_and_a_valid_fhir_r4_bundle(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    // A user agent with a comma and quotes, to exercise CSV quoting.
    let ua = [("user-agent", "tool \"x\", v2")];
    s.call(
        "GET",
        &format!("/v1/patients/{}", id(&p.patient)),
        Some(&s.token),
        None,
        &ua,
    )
    .await;
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let export = |format: &str| {
        let path = format!("/v1/audit-events/export?format={format}&to=2099-01-01T00:00:00Z");
        let auditor = auditor.clone();
        let s = &s;
        async move { s.call("GET", &path, Some(&auditor), None, &[]).await }
    };

    let nd = export("ndjson").await;
    assert_eq!(nd.status, 200);
    assert_eq!(
        nd.header("content-type").as_deref(),
        Some("application/x-ndjson")
    );
    let count: usize = nd.header("x-audit-event-count").unwrap().parse().unwrap();
    let lines: Vec<Value> = nd
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    assert_eq!(
        lines.len(),
        count,
        "the export is the chain as it stood when it began"
    );
    assert!(count >= 7, "six creates and a read: {count}");
    let seqs: Vec<i64> = lines
        .iter()
        .map(|l| l["sequence"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in sequence order"
    );

    let csv_resp = export("csv").await;
    assert_eq!(csv_resp.status, 200);
    let mut rdr = csv::Reader::from_reader(csv_resp.text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "sequence");
    assert_eq!(&headers[3], "actor");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert!(rows.len() >= count, "the export itself adds events");
    let ua_col = headers.iter().position(|h| h == "user_agent").unwrap();
    assert!(
        rows.iter().any(|r| &r[ua_col] == "tool \"x\", v2"),
        "RFC 4180 quoting round-trips"
    );
    assert!(csv_resp.text.contains("\r\n"), "CRLF line ends");

    let fhir = export("fhir").await;
    assert_eq!(fhir.status, 200);
    assert_eq!(
        fhir.header("content-type").as_deref(),
        Some("application/fhir+json")
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &fhir.text).unwrap();
    let n = validate_fhir_bundle(&file);
    assert!(n >= count, "{n} AuditEvents");
    let bundle: Value = serde_json::from_str(&fhir.text).unwrap();
    let read = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["action"] == "R")
        .expect("a read");
    assert_eq!(
        read["entity"][0]["what"]["reference"],
        format!("Patient/{}", id(&p.patient))
    );

    // The same from the command line, for offline work.
    let out = dir.path().join("cli.json");
    s.admin(&[
        "audit",
        "export",
        "--format",
        "fhir",
        "--org",
        &org,
        "--from",
        "2020-01-01",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(validate_fhir_bundle(&out) >= n);
    let csv_out = dir.path().join("cli.csv");
    s.admin(&[
        "audit",
        "export",
        "--format",
        "csv",
        "--org",
        &org,
        "--output",
        csv_out.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv_out).unwrap();
    assert!(text.starts_with("sequence,id,occurred_at,actor,"));
    assert!(!text.contains(fixtures::FAMILY));
}
on_both_engines!(exports_stream_ndjson_csv_and_a_valid_fhir_r4_bundle);

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Two server processes on one PostgreSQL database, many concurrent clients: one chain, no
/// fork, no lost event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_one_unforked_chain_on_postgres() {
    let s = Server::start_with(Engine::Postgres, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let second = s.second_instance(&[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]);
    let bases = [s.base.clone(), second.base.clone()];
    let patient = format!("/v1/patients/{}", id(&p.patient));
    let clients = 16;
    let per_client = 25;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = s.client.clone();
        let base = bases[c % 2].clone();
        let path = patient.clone();
        let token = s.token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                // Reads go through the group-commit writer; every fifth is a write, recorded
                // in its own transaction.
                let rid = format!("load-{c}-{i}");
                let r = if i % 5 == 0 {
                    // MRNs compare without punctuation: keep them distinct digit for digit.
                    let mut body = fixtures::patient_body();
                    body["mrn"] = json!(format!("MRN-LOAD-{c:02}-{i:02}"));
                    body["external_ids"] = json!([]);
                    client
                        .post(format!("{base}/v1/patients"))
                        .bearer_auth(&token)
                        .header("x-request-id", &rid)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                } else {
                    client
                        .get(format!("{base}{path}"))
                        .bearer_auth(&token)
                        .header("x-request-id", &rid)
                        .send()
                        .await
                        .unwrap()
                };
                assert!(r.status().is_success(), "{}", r.status());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Verification chains what still waits in the intake first.
    let out = s.admin(&["audit", "verify", "--org", &org]);
    assert!(out.contains(": OK,"), "{out}");
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    let n: Count = diesel::sql_query(format!(
        "SELECT COUNT(DISTINCT request_id) AS n FROM audit_events WHERE org_id = '{org}' AND request_id LIKE 'load-%'"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(
        n.n,
        (clients * per_client) as i64,
        "one event per request, none lost"
    );
    let dup: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = '{org}' AND request_id LIKE 'load-%'"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(dup.n, n.n, "no event twice");
    let out = s.admin(&["audit", "verify", "--org", &org]);
    assert!(out.contains(": OK,"), "{out}");
    drop(second);
}

/// Two processes' worth of appenders on one PostgreSQL org: group-commit batches into the
/// intake, writes chained in their own transactions, and a sequencer on each side, all at
/// once on their own connections. Every event lands in the chain exactly once, with no fork.
#[test]
fn intake_sequencers_and_direct_appends_never_fork_the_chain() {
    use revcycle_core::audit::{AuditEvent, Verification};
    use revcycle_core::store::{self, audit, audit_intake};
    let dir = tempfile::tempdir().unwrap();
    let db = revcycle_e2e::TestDb::new(Engine::Postgres, dir.path());
    let mut a = store::connect(&db.url).expect("connect");
    store::run_migrations(&mut a).expect("migrate");
    let org = uuid::Uuid::now_v7();
    let batch = move |tag: &str, n: usize| -> Vec<AuditEvent> {
        (0..n)
            .map(|i| {
                let mut e = AuditEvent::now(org, format!("{tag}-{i}"), "read");
                e.patient_ids = vec![uuid::Uuid::now_v7()];
                e.http_status = 200;
                e
            })
            .collect()
    };
    let rounds = 20;
    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|side| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let mut writer = store::connect(&url).expect("connect");
                let mut sequencer = store::connect(&url).expect("connect");
                for round in 0..rounds {
                    audit_intake::record(&mut writer, batch(&format!("{side}{round}"), 3)).unwrap();
                    // A write's own transaction, chained at once under the head row lock.
                    store::write_transaction(&mut writer, |c| {
                        audit::append(c, batch(&format!("w{side}{round}"), 1))
                    })
                    .unwrap();
                    audit_intake::sequence_org(&mut sequencer, org, 2).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let expected = 2 * rounds as u64 * 4;
    audit_intake::settle(&mut a, org).unwrap();
    assert_eq!(audit_intake::pending(&mut a, Some(org)).unwrap(), 0);
    match audit::verify_chain(&mut a, org, |_| {})
        .unwrap()
        .verification
    {
        Verification::Intact { checked } => assert_eq!(checked, expected),
        other => panic!("chain broken: {other:?}"),
    }
    let distinct: Count = diesel::sql_query(format!(
        "SELECT COUNT(DISTINCT id) AS n FROM audit_events WHERE org_id = '{org}'"
    ))
    .get_result(&mut a)
    .unwrap();
    assert_eq!(distinct.n, expected as i64, "every event exactly once");
    // The links are written after the fact, once, however many appenders there were.
    assert_eq!(audit::index_patients(&mut a, org).unwrap() as u64, expected);
    let patients: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM audit_event_patients WHERE org_id = '{org}'"
    ))
    .get_result(&mut a)
    .unwrap();
    assert_eq!(patients.n, expected as i64, "one patient row per event");
}

fn count(conn: &mut revcycle_core::store::DbConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// PostgreSQL: the server is killed (SIGKILL) while committed events still wait in the intake,
/// unchained. After a restart the sequencer chains every one of them, and the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_waiting_in_the_intake_survive_a_kill_and_are_chained_after_restart() {
    // A sequencer that, once it has found nothing to do at start-up, sleeps for a day.
    let mut s = Server::start_with(
        Engine::Postgres,
        &[("REVCYCLE_AUDIT_SEQUENCE_INTERVAL_MS", "86400000")],
    )
    .await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    let waiting_now = |conn: &mut revcycle_core::store::DbConnection| {
        count(
            conn,
            &format!("SELECT COUNT(*) AS n FROM audit_intake WHERE org_id = '{org}'"),
        )
    };
    // Reads until five events wait (the sequencer may still be busy from start-up at first).
    for _ in 0..100 {
        let r = s.get(&format!("/v1/patients/{}", id(&p.patient))).await;
        assert_eq!(r.status, 200);
        if waiting_now(&mut conn) >= 5 {
            break;
        }
    }
    let chained = count(
        &mut conn,
        &format!("SELECT COUNT(*) AS n FROM audit_events WHERE org_id = '{org}'"),
    );
    let waiting = waiting_now(&mut conn);
    assert!(waiting >= 5, "reads wait unchained: {waiting}");
    s.stop();
    s.restart_with(&[]).await;
    let mut left = waiting;
    for _ in 0..200 {
        left = count(
            &mut conn,
            &format!("SELECT COUNT(*) AS n FROM audit_intake WHERE org_id = '{org}'"),
        );
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the sequencer chained what waited");
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT COUNT(*) AS n FROM audit_events WHERE org_id = '{org}'"),
        ),
        chained + waiting,
        "every waiting event is in the chain, once"
    );
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let report = verify(&s, &auditor).await;
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["checked"].as_i64(), Some(chained + waiting));
}

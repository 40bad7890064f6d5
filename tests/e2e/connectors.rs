//! Connector plugins loaded by the real server from their `.so` files: refused when their hash
//! or ABI version is wrong, contained when they panic, and EHR feeds (FHIR R4 Bundle and
//! NDJSON, HL7 v2 over HTTP and over MLLP) imported idempotently and read back through the API.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use revcycle_connector_abi::host::sha256_hex;
use revcycle_connector_abi::mllp;
use revcycle_e2e::{Engine, Server, plugin_library};
use serde_json::{Value, json};

use crate::on_both_engines;

const FHIR_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../connectors/fhir-r4/tests/fixtures"
);
const HL7_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../connectors/hl7v2/tests/fixtures"
);

struct Entry<'a> {
    name: &'a str,
    package: &'a str,
    /// Pin this hash instead of the file's own.
    sha256: Option<&'a str>,
    config: &'a str,
}

/// A `connectors.toml` listing `entries`, written into `dir`.
fn connectors_toml(dir: &Path, entries: &[Entry]) -> PathBuf {
    let mut text = String::new();
    for e in entries {
        let path = plugin_library(e.package);
        let sha = match e.sha256 {
            Some(s) => s.to_string(),
            None => sha256_hex(&std::fs::read(&path).unwrap()),
        };
        text.push_str(&format!(
            "[[connector]]\nname = \"{}\"\npath = \"{}\"\nsha256 = \"{sha}\"\nconfig = {}\n\n",
            e.name,
            path.display(),
            e.config
        ));
    }
    let file = dir.join("connectors.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn standard(dir: &Path) -> PathBuf {
    connectors_toml(
        dir,
        &[
            Entry {
                name: "fhir-r4",
                package: "revcycle-connector-fhir-r4",
                sha256: None,
                config: r#"{ source_system = "urn:test:epic" }"#,
            },
            Entry {
                name: "hl7v2",
                package: "revcycle-connector-hl7v2",
                sha256: None,
                config: r#"{ source_system = "urn:test:adt" }"#,
            },
            Entry {
                name: "echo",
                package: "revcycle-connector-echo",
                sha256: None,
                config: "{}",
            },
            Entry {
                name: "tampered",
                package: "revcycle-connector-echo",
                sha256: Some("0000000000000000000000000000000000000000000000000000000000000000"),
                config: "{}",
            },
            Entry {
                name: "wrong-abi",
                package: "revcycle-connector-wrong-abi",
                sha256: None,
                config: "{}",
            },
        ],
    )
}

pub(crate) async fn start(engine: Engine, dir: &Path, extra: &[(&str, &str)]) -> Server {
    let toml = standard(dir);
    let mut env = vec![
        ("REVCYCLE_CONNECTORS", toml.to_str().unwrap().to_string()),
        ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with(engine, &env).await
}

pub(crate) async fn import(s: &Server, name: &str, body: &[u8]) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(&format!("/v1/connectors/{name}/import")))
        .bearer_auth(&s.token)
        .header("content-type", "application/octet-stream")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn plugins_are_pinned_by_hash_and_abi_and_panics_are_contained(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        engine,
        dir.path(),
        &[("REVCYCLE_CONNECTOR_TIMEOUT_SECS", "1")],
    )
    .await;
    let list = s.get("/v1/connectors").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let by_name = |n: &str| {
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} listed"))
    };
    let fhir = by_name("fhir-r4");
    assert_eq!(fhir["status"], "loaded");
    assert_eq!(fhir["kind"], "ehr");
    assert_eq!(fhir["operations"], json!(["import"]));
    assert_eq!(by_name("hl7v2")["status"], "loaded");
    let tampered = by_name("tampered");
    assert_eq!(tampered["status"], "refused");
    let reason = tampered["reason"].as_str().unwrap();
    assert!(reason.contains("configuration expects 0000"), "{reason}");
    let wrong = by_name("wrong-abi");
    assert_eq!(wrong["status"], "refused");
    assert!(wrong["reason"].as_str().unwrap().contains("ABI"), "{wrong}");

    // A refused plugin cannot be called; a panicking one is contained; the server serves on.
    let (status, body) = import(&s, "tampered", b"{}").await;
    assert_eq!(status, 503, "{body}");
    let (status, body) = import(&s, "echo", b"panic").await;
    assert_eq!(status, 502, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("panicked"));
    assert_eq!(s.get("/v1/patients").await.status, 200);
    let (status, body) = import(&s, "echo", br#"{"records": [], "issues": []}"#).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = import(&s, "nope", b"{}").await;
    assert_eq!(status, 404);
    // A call that outlasts the connector timeout (1 s here) gives up with 502.
    let (status, body) = import(&s, "echo", b"sleep").await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1 s")
    );

    // Loads and refusals are in the system audit chain.
    let out = s.admin(&[
        "audit",
        "export",
        "--org",
        "00000000-0000-0000-0000-000000000000",
    ]);
    let loads: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "connector.load")
        .collect();
    let outcome =
        |n: &str| loads.iter().find(|e| e["resource_id"] == n).unwrap()["outcome"].clone();
    assert_eq!(outcome("fhir-r4"), "success");
    assert_eq!(outcome("tampered"), "failed");
    assert_eq!(outcome("wrong-abi"), "failed");
}
on_both_engines!(plugins_are_pinned_by_hash_and_abi_and_panics_are_contained);

/// Payers and providers the FHIR fixtures refer to.
async fn reference_data(s: &Server) {
    for (name, code) in [
        ("Synthetic Mutual Health Plan", "SMHP1"),
        ("Fixture Care Insurance", "FXCARE"),
    ] {
        s.create(
            "/v1/payers",
            &json!({"name": name, "payer_code": code, "claim_filing_indicator": "CI"}),
        )
        .await;
    }
    s.create(
        "/v1/providers",
        &json!({"roles": ["billing"], "npi": "1244567891", "tin": "12-3456789",
            "organization_name": "Fixture Clinic", "taxonomy": "207Q00000X",
            "address": {"line1": "1 Clinic Way", "city": "Springfield", "state": "IL", "zip": "62701"}}),
    )
    .await;
    for npi in ["1234567893", "1987654328"] {
        s.create(
            "/v1/providers",
            &json!({"roles": ["rendering"], "npi": npi, "last_name": "Fixture", "first_name": "Doc",
                "taxonomy": "207R00000X",
                "address": {"line1": "1 Clinic Way", "city": "Springfield", "state": "IL", "zip": "62701"}}),
        )
        .await;
    }
}

async fn a_fhir_feed_imports_once_and_reads_back_through_the_api(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path(), &[]).await;
    reference_data(&s).await;
    let bundle = std::fs::read(format!("{FHIR_FIXTURES}/bundle.json")).unwrap();
    let (status, first) = import(&s, "fhir-r4", &bundle).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["counts"],
        json!({"created": 9, "updated": 0, "unchanged": 0, "rejected": 1}),
        "{first}"
    );
    // The fixtures' 7-digit phones and 999- SSNs are dropped, the patients kept, and said so.
    let warnings = &first["records"][0]["warnings"];
    assert_eq!(
        warnings,
        &json!([
            "/phone dropped: must be a ten-digit US phone number",
            "/ssn dropped: must be a valid nine-digit social security number"
        ])
    );
    // The emergency visit's procedure carries no price: refused with the rule, not a value.
    let rejected = first["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "rejected")
        .unwrap();
    assert_eq!(rejected["type"], "encounter");
    assert!(
        rejected["reason"]
            .as_str()
            .unwrap()
            .contains("/lines/0/charge"),
        "{rejected}"
    );

    // The same feed again, and the same data as Bulk NDJSON: nothing new.
    let (_, again) = import(&s, "fhir-r4", &bundle).await;
    assert_eq!(
        again["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 9, "rejected": 1})
    );
    let ndjson = std::fs::read(format!("{FHIR_FIXTURES}/export.ndjson")).unwrap();
    let (status, nd) = import(&s, "fhir-r4", &ndjson).await;
    assert_eq!(status, 200, "{nd}");
    assert_eq!(nd["counts"]["created"], 0, "{nd}");
    assert_eq!(
        s.get("/v1/patients").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Read back decrypted and masked per role, and bill an imported encounter.
    let patient_id = first["records"][0]["id"].as_str().unwrap();
    let org = s
        .admin(&["org", "list"])
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let biller = s.admin(&["token", "--org", &org, "--role", "biller"]);
    let p = s
        .call(
            "GET",
            &format!("/v1/patients/{patient_id}"),
            Some(&biller),
            None,
            &[],
        )
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body["mrn"], "MRN-1001");
    assert!(p.body["ssn"].is_null(), "the placeholder SSN was not kept");
    let encounter = first["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "encounter" && r["status"] == "created")
        .unwrap();
    let e = s
        .get(&format!(
            "/v1/encounters/{}",
            encounter["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(e.body["diagnoses"], json!(["R059", "J069", "E119"]));
    assert_eq!(e.body["total_charge"], "184.50");
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": encounter["id"]}))
        .await;
    assert_eq!(claim["total_charge"], "184.50");
    assert_eq!(claim["coverage_id"], e.body["coverage_id"]);
    assert!(
        !e.body["coverage_id"].is_null(),
        "the primary coverage in force was found"
    );

    // Imports are audited record by record; the response named the patients touched.
    let events = s
        .get("/v1/audit-events?action=import.create&limit=100")
        .await;
    assert_eq!(events.body["items"].as_array().unwrap().len(), 9);
}
on_both_engines!(a_fhir_feed_imports_once_and_reads_back_through_the_api);

async fn hl7_feeds_over_http_and_mllp_are_acknowledged(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        engine,
        dir.path(),
        &[
            ("REVCYCLE_MLLP", "127.0.0.1:0"),
            ("REVCYCLE_MLLP_FRAME_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    s.create(
        "/v1/payers",
        &json!({"name": "UnitedHealthcare", "payer_code": "87726", "claim_filing_indicator": "CI"}),
    )
    .await;
    let adt = std::fs::read(format!("{HL7_FIXTURES}/adt_a28.hl7")).unwrap();
    let (status, report) = import(&s, "hl7v2", &adt).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counts"]["rejected"], 0, "{report}");
    assert!(report["counts"]["created"].as_u64().unwrap() >= 1);
    assert_eq!(report["acks"][0]["acknowledgment_code"], "AA");

    // The same message over MLLP: framed ACK back, nothing created twice.
    let port = loop {
        if let Some(line) = s
            .log()
            .lines()
            .find(|l| l.starts_with("revcycle: mllp listening on "))
        {
            break line.rsplit(':').next().unwrap().trim().to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mllp_port = port.clone();
    let ack = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        tcp.write_all(&mllp::frame(&adt)).unwrap();
        let mut deframer = mllp::Deframer::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed without an ACK");
            deframer.push(&buf[..n]);
            if let Some(m) = deframer.pop() {
                return String::from_utf8(m).unwrap();
            }
        }
    })
    .await
    .unwrap();
    assert!(ack.starts_with("MSH|"), "{ack}");
    assert!(ack.contains("\rMSA|AA|"), "{ack}");

    // A frame started and never finished does not hold the connection: it is closed once
    // the frame timeout passes, with nothing imported.
    let closed = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(format!("127.0.0.1:{mllp_port}")).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .unwrap();
        let framed =
            mllp::frame(b"MSH|^~\\&|EHR|CLINIC|REVCYCLE|BILLING|202611021200||ADT^A28|P1|P|2.5.1");
        tcp.write_all(&framed[..framed.len() - 2]).unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let n = tcp.read(&mut buf).unwrap_or(usize::MAX);
        (n, started.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(
        closed.0, 0,
        "the server closed the connection without an answer"
    );
    assert!(
        closed.1 < std::time::Duration::from_secs(10),
        "{:?}",
        closed.1
    );
    assert_eq!(
        s.get("/v1/patients").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A message of a type we do not take is refused with AR, over HTTP too.
    let bad = std::fs::read(format!("{HL7_FIXTURES}/unsupported_type.hl7")).unwrap();
    let (status, report) = import(&s, "hl7v2", &bad).await;
    assert_eq!(status, 200);
    assert_eq!(report["acks"][0]["acknowledgment_code"], "AR");
}
on_both_engines!(hl7_feeds_over_http_and_mllp_are_acknowledged);

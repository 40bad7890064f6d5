//! HL7 v2 acknowledgments tell what was applied, over HTTP and MLLP alike: a DFT with one
//! good and one bad charge bills the good one and answers AE naming the bad field; a record
//! the server refuses (a provider not set up, no billing provider) turns AA into AE with an
//! ERR at the HL7 field it came from; the same message sent again changes nothing and gets
//! the same answer.

use std::io::{Read, Write};

use revcycle_connector_abi::host::sha256_hex;
use revcycle_connector_abi::mllp;
use revcycle_e2e::{Engine, Server, plugin_library};
use serde_json::{Value, json};

use crate::on_both_engines;

const BILLING_NPI: &str = "1244567891";
const RENDERING_NPI: &str = "1234567893";
/// A valid NPI no provider is set up with.
const UNKNOWN_NPI: &str = "1987654328";

/// A server with the HL7 connector (MLLP goes through it), with or without a default billing
/// provider.
async fn start(engine: Engine, dir: &std::path::Path, default_billing: bool) -> Server {
    let path = plugin_library("revcycle-connector-hl7v2");
    let sha = sha256_hex(&std::fs::read(&path).unwrap());
    let default = if default_billing {
        format!(", default_billing_provider_npi = \"{BILLING_NPI}\"")
    } else {
        String::new()
    };
    let toml = format!(
        "[[connector]]\nname = \"hl7v2\"\npath = \"{}\"\nsha256 = \"{sha}\"\n\
         config = {{ source_system = \"urn:test:pb\"{default} }}\n",
        path.display()
    );
    let file = dir.join("connectors.toml");
    std::fs::write(&file, toml).unwrap();
    Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", file.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
            ("REVCYCLE_MLLP", "127.0.0.1:0"),
        ],
    )
    .await
}

async fn providers(s: &Server) -> (Value, Value) {
    let billing = s
        .create(
            "/v1/providers",
            &json!({"roles": ["billing"], "npi": BILLING_NPI, "tin": "12-3456789",
                "organization_name": "Fixture Clinic", "taxonomy": "207Q00000X",
                "address": {"line1": "1 Clinic Way", "city": "Springfield", "state": "IL", "zip": "62701"}}),
        )
        .await;
    let rendering = s
        .create(
            "/v1/providers",
            &json!({"roles": ["rendering"], "npi": RENDERING_NPI, "last_name": "Fixture",
                "first_name": "Doc", "taxonomy": "207R00000X",
                "address": {"line1": "1 Clinic Way", "city": "Springfield", "state": "IL", "zip": "62701"}}),
        )
        .await;
    (billing, rendering)
}

async fn import(s: &Server, connector: &str, body: &str) -> Value {
    let r = s
        .client
        .post(s.url(&format!("/v1/connectors/{connector}/import")))
        .bearer_auth(&s.token)
        .header("content-type", "application/octet-stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    if status != 200 {
        panic!("{connector}: {text} {}", s.get("/v1/connectors").await.body);
    }
    serde_json::from_str(&text).unwrap()
}

async fn mllp_port(s: &Server) -> String {
    loop {
        if let Some(line) = s
            .log()
            .lines()
            .find(|l| l.starts_with("revcycle: mllp listening on "))
        {
            return line.rsplit(':').next().unwrap().trim().to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Sends one framed message and returns the framed answer.
async fn over_mllp(port: &str, message: &str) -> String {
    let (port, message) = (port.to_string(), message.to_string());
    tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        tcp.write_all(&mllp::frame(message.as_bytes())).unwrap();
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
    .unwrap()
}

/// An ACK without its MSH (whose MSH-7 is the time it was written).
fn body(ack: &str) -> Vec<String> {
    ack.trim_end_matches('\r')
        .split('\r')
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// A segment with the given fields set.
fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut parts = vec![String::new(); last + 1];
    parts[0] = id.to_owned();
    for (n, v) in fields {
        parts[*n] = (*v).to_owned();
    }
    parts.join("|")
}

fn charge(set_id: &str, kind: &str, code: &str, amount: &str, performer: &str) -> String {
    let performer = format!("{performer}^Fixture^Doc^^^^^^NPI");
    seg(
        "FT1",
        &[
            (1, set_id),
            (2, &format!("T{set_id}")),
            (4, "20261102"),
            (6, kind),
            (10, "1"),
            (11, amount),
            (19, "J06.9^^I10"),
            (20, &performer),
            (25, code),
        ],
    )
}

fn dft(control_id: &str, visit: &str, attending: &str, charges: &[String]) -> String {
    let mut segments = vec![
        format!(
            "MSH|^~\\&|EPICPB|NORTHVALLEY|REVCYCLE|BILLING|20261102120000||DFT^P03^DFT_P03|{control_id}|P|2.5.1"
        ),
        "EVN|P03|20261102120000".to_string(),
        "PID|1||MRN7001^^^NV^MR||Testpatient^Alice||19800101|F|||1 Main St^^Springfield^IL^62701"
            .to_string(),
        seg("PV1", &[(1, "1"), (2, "O"), (7, attending), (19, visit)]),
    ];
    segments.extend(charges.iter().cloned());
    segments.join("\r")
}

async fn acknowledgments_say_what_was_applied(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path(), true).await;
    let (billing, rendering) = providers(&s).await;

    // One good charge and one whose transaction type is not in table 0017.
    let message = dft(
        "DFT0001",
        "V7001",
        "",
        &[
            charge("1", "CG", "99213", "80.00", RENDERING_NPI),
            charge("2", "ZZ", "87880", "40.00", RENDERING_NPI),
        ],
    );
    let report = import(&s, "hl7v2", &message).await;
    assert_eq!(
        report["counts"],
        json!({"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}),
        "{report}"
    );
    let ack = &report["acks"][0];
    assert_eq!(ack["acknowledgment_code"], "AE", "{report}");
    assert_eq!(
        body(ack["ack"].as_str().unwrap()),
        [
            "MSA|AE|DFT0001",
            "ERR||FT1^2^6|103^Table value not found^HL70357|E||||transaction type is not a value of HL7 table 0017 (CG, CD, PY, AJ)",
        ]
    );
    assert_eq!(ack["records"][0]["status"], "created");
    assert_eq!(ack["records"][1]["type"], "encounter");
    assert_eq!(ack["records"][1]["status"], "created");
    // The good charge is billed, by the default billing provider, rendered by the performer.
    let encounter_id = report["records"][1]["id"].as_str().unwrap().to_string();
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    assert_eq!(
        encounter["lines"].as_array().unwrap().len(),
        1,
        "{encounter}"
    );
    assert_eq!(encounter["lines"][0]["procedure_code"], "99213");
    assert_eq!(encounter["lines"][0]["charge"], "80.00");
    assert_eq!(encounter["billing_provider_id"], billing["id"]);
    assert_eq!(encounter["rendering_provider_id"], rendering["id"]);
    let version = encounter["version"].clone();

    // The same message again, over MLLP: the same answer, nothing changed.
    let port = mllp_port(&s).await;
    let resent = over_mllp(&port, &message).await;
    assert_eq!(
        body(&resent),
        body(ack["ack"].as_str().unwrap()),
        "{resent}"
    );
    let again = import(&s, "hl7v2", &message).await;
    assert_eq!(
        again["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 2, "rejected": 0})
    );
    assert_eq!(
        again["acks"][0]["ack"].as_str().map(body),
        ack["ack"].as_str().map(body)
    );
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    assert_eq!(encounter["version"], version);
    assert_eq!(encounter["lines"].as_array().unwrap().len(), 1);

    // A charge performed by a provider not set up: the server refuses the encounter, and the
    // ACK says so at FT1-20 (it used to answer AA). HTTP and MLLP agree.
    let unknown = dft(
        "DFT0002",
        "V7002",
        "",
        &[charge("1", "CG", "99213", "80.00", UNKNOWN_NPI)],
    );
    let report = import(&s, "hl7v2", &unknown).await;
    assert_eq!(report["counts"]["rejected"], 1, "{report}");
    let expected = [
        "MSA|AE|DFT0002".to_string(),
        "ERR||FT1^1^20|204^Unknown key identifier^HL70357|E||||no provider with this NPI is set up (POST /v1/providers)".to_string(),
    ];
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        expected,
        "{report}"
    );
    assert_eq!(report["acks"][0]["records"][1]["status"], "rejected");
    assert_eq!(
        report["records"][1]["reason"],
        "/rendering_provider_npi: no provider with this NPI is set up (POST /v1/providers)"
    );
    assert_eq!(body(&over_mllp(&port, &unknown).await), expected);

    // A credit reverses the charge it names: sent with the visit's charges, that line is no
    // longer billed.
    let credited = dft(
        "DFT0005",
        "V7001",
        "",
        &[
            charge("1", "CG", "99213", "80.00", RENDERING_NPI),
            charge("2", "CG", "87880", "40.00", RENDERING_NPI),
            seg(
                "FT1",
                &[
                    (1, "3"),
                    (2, "T1"),
                    (4, "20261102"),
                    (6, "CD"),
                    (10, "1"),
                    (11, "-80.00"),
                    (25, "99213"),
                ],
            ),
        ],
    );
    let report = import(&s, "hl7v2", &credited).await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        ["MSA|AA|DFT0005"],
        "{report}"
    );
    assert_eq!(report["records"][1]["status"], "updated");
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    let codes: Vec<&str> = encounter["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["procedure_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["87880"]);

    // An invalid administrative sex refuses the patient, never stored as unknown.
    let boy = message
        .replace("DFT0001", "DFT0006")
        .replace("|19800101|F|", "|19800101|boy|");
    let report = import(&s, "hl7v2", &boy).await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap())[..2],
        [
            "MSA|AE|DFT0006".to_string(),
            "ERR||PID^1^8|103^Table value not found^HL70357|E||||administrative sex is not a value of HL7 table 0001 (F, M, O, U, A, N)".to_string(),
        ]
    );
    assert_eq!(report["records"], json!([]));
    let patients = s.get("/v1/patients").await.body;
    assert_eq!(patients["items"].as_array().unwrap().len(), 1);
    assert_eq!(patients["items"][0]["sex"], "F");

    // Without a default billing provider (a second server), a message naming no attending
    // has no billing provider: refused, naming PV1-7 (this used to be acknowledged AA).
    drop(s);
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path(), false).await;
    providers(&s).await;
    // No attending and no default billing provider: refused, naming PV1-7.
    let report = import(
        &s,
        "hl7v2",
        &dft(
            "DFT0003",
            "V7003",
            "",
            &[charge("1", "CG", "99213", "80.00", RENDERING_NPI)],
        ),
    )
    .await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        [
            "MSA|AE|DFT0003",
            "ERR||PV1^1^7|101^Required field missing^HL70357|E||||the encounter names no billing provider",
        ],
        "{report}"
    );
    // The attending's NPI bills when the message names one.
    let attending = format!("{BILLING_NPI}^Clinic^Fixture^^^^^^NPI");
    let report = import(
        &s,
        "hl7v2",
        &dft(
            "DFT0004",
            "V7004",
            &attending,
            &[charge("1", "CG", "99213", "80.00", RENDERING_NPI)],
        ),
    )
    .await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        ["MSA|AA|DFT0004"],
        "{report}"
    );
}
on_both_engines!(acknowledgments_say_what_was_applied);

/// A credit (FT1-6 `CD`) naming its charge by transaction id (FT1-2).
fn credit(set_id: &str, transaction: &str, code: &str, amount: &str) -> String {
    seg(
        "FT1",
        &[
            (1, set_id),
            (2, transaction),
            (4, "20261102"),
            (6, "CD"),
            (10, "1"),
            (11, amount),
            (25, code),
        ],
    )
}

/// A credit sent in a later message than its charge reverses that charge (found by the
/// FT1-2 the charge was stored with), over HTTP and MLLP alike; a credit naming no charge of
/// the visit is refused at FT1-2 with ERR-3 204; a resent credit changes nothing; a charge
/// already on a claim is never changed behind the biller's back.
async fn a_credit_reverses_a_charge_sent_in_an_earlier_message(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = start(engine, dir.path(), true).await;
    providers(&s).await;
    let port = mllp_port(&s).await;

    // Message 1 charges two lines.
    let charges = dft(
        "DFT0101",
        "V7101",
        "",
        &[
            charge("1", "CG", "99213", "80.00", RENDERING_NPI),
            charge("2", "CG", "87880", "40.00", RENDERING_NPI),
        ],
    );
    let report = import(&s, "hl7v2", &charges).await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        ["MSA|AA|DFT0101"],
        "{report}"
    );
    let encounter_id = report["records"][1]["id"].as_str().unwrap().to_string();
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    assert_eq!(encounter["total_charge"], "120.00", "{encounter}");

    // Message 2 credits the first by its FT1-2 (over MLLP): AA, one line left.
    let credit_t1 = dft(
        "DFT0102",
        "V7101",
        "",
        &[credit("1", "T1", "99213", "-80.00")],
    );
    assert_eq!(
        body(&over_mllp(&port, &credit_t1).await),
        ["MSA|AA|DFT0102"]
    );
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    let lines: Vec<(&str, &str)> = encounter["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["procedure_code"].as_str().unwrap(),
                l["charge"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [("87880", "40.00")], "{encounter}");
    assert_eq!(encounter["total_charge"], "40.00");
    let version = encounter["version"].clone();

    // The same credit again, over HTTP: AA, nothing changes.
    let again = import(&s, "hl7v2", &credit_t1).await;
    assert_eq!(
        again["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}),
        "{again}"
    );
    assert_eq!(
        body(again["acks"][0]["ack"].as_str().unwrap()),
        ["MSA|AA|DFT0102"]
    );
    assert_eq!(
        body(&over_mllp(&port, &credit_t1).await),
        ["MSA|AA|DFT0102"]
    );
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    assert_eq!(encounter["version"], version);
    assert_eq!(encounter["total_charge"], "40.00");

    // A credit naming no charge of the visit: AE, one ERR at FT1-2, nothing changes.
    let unknown = dft(
        "DFT0103",
        "V7101",
        "",
        &[credit("1", "T9", "99213", "-80.00")],
    );
    let expected = [
        "MSA|AE|DFT0103".to_string(),
        "ERR||FT1^1^2|204^Unknown key identifier^HL70357|E||||the charge it reverses was not found: no charge of this visit has this transaction id (FT1-2) or filler order number (FT1-23)".to_string(),
    ];
    let report = import(&s, "hl7v2", &unknown).await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        expected,
        "{report}"
    );
    assert_eq!(
        report["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 1, "rejected": 1})
    );
    assert_eq!(body(&over_mllp(&port, &unknown).await), expected);
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    assert_eq!(encounter["version"], version);

    // Once the visit is on a claim, a credit is refused rather than changing what was billed.
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": encounter_id}))
        .await;
    let credit_t2 = dft(
        "DFT0104",
        "V7101",
        "",
        &[credit("1", "T2", "87880", "-40.00")],
    );
    let report = import(&s, "hl7v2", &credit_t2).await;
    assert_eq!(
        body(report["acks"][0]["ack"].as_str().unwrap()),
        [
            "MSA|AE|DFT0104".to_string(),
            format!(
                "ERR||FT1^1^2|206^Application record locked^HL70357|E||||the charge it reverses is on a claim in status {}: a claim is never changed silently. Void or correct the claim, then send the credit again",
                claim["status"].as_str().unwrap()
            ),
        ],
        "{report}"
    );
    let encounter = s.get(&format!("/v1/encounters/{encounter_id}")).await.body;
    assert_eq!(encounter["version"], version);
    assert_eq!(encounter["total_charge"], "40.00");
}
on_both_engines!(a_credit_reverses_a_charge_sent_in_an_earlier_message);

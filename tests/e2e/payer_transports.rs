//! The payer connector's transports and exchange records end to end: transports per payer
//! (the README's example), 837P submission over HTTP to a loopback clearinghouse (bearer
//! token, failures, a 999 in the response), a claim's exchange history, interchange control
//! numbers under concurrency, duplicate and all-or-nothing 835 files in the inbox, and two
//! servers polling one inbox.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use revcycle_connector_abi::host::sha256_hex;
use revcycle_e2e::{Engine, Server, plugin_library};
use serde_json::{Value, json};

use crate::fixtures::{FAMILY, GIVEN, MEMBER_ID, Practice, id, org_of, token};
use crate::on_both_engines;
use crate::payer::{SELF_MEMBER, answer_835, connectors_toml, http_stub, post_raw, ready_claim};

// ---------------------------------------------------------------------------------------------
// Helpers

/// One request the loopback clearinghouse received.
#[derive(Debug, Clone)]
struct Received {
    request_line: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

/// A loopback clearinghouse API for 837Ps: it checks the bearer token (401 otherwise),
/// answers with `status` (200: a 999 accepting the request's group) and keeps every request.
struct Clearinghouse {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
}

/// GS06 and ST02 of an 837P.
fn group_and_set(x12: &str) -> (String, String) {
    let seg = |id: &str, n: usize| {
        x12.split('~')
            .map(str::trim)
            .find(|s| s.starts_with(&format!("{id}*")))
            .and_then(|s| s.split('*').nth(n))
            .unwrap_or_default()
            .to_string()
    };
    (seg("GS", 6), seg("ST", 2))
}

fn accepting_999(gcn: &str, st02: &str) -> String {
    format!(
        "ISA*00*          *00*          *ZZ*BEACONCH       *ZZ*REVCYCLE       *261120*1100*^*00501*000000778*0*P*:~\n\
         GS*FA*BEACONCH*REVCYCLE*20261120*1100*778*X*005010X231A1~\n\
         ST*999*0001*005010X231A1~\n\
         AK1*HC*{gcn}*005010X222A1~\n\
         AK2*837*{st02}*005010X222A1~\n\
         IK5*A~\n\
         AK9*A*1*1*1~\n\
         SE*6*0001~\n\
         GE*1*778~\n\
         IEA*1*000000778~\n"
    )
}

async fn clearinghouse(token: &str) -> Clearinghouse {
    let received = Arc::new(Mutex::new(Vec::new()));
    let status = Arc::new(Mutex::new(200u16));
    let (rec, st, expected) = (received.clone(), status.clone(), format!("Bearer {token}"));
    let url = http_stub(move |request| {
        let got = Received {
            authorization: request.header("authorization"),
            content_type: request.header("content-type"),
            request_line: request.request_line,
            body: request.body,
        };
        let authorized = got.authorization.as_deref() == Some(expected.as_str());
        let (gcn, st02) = group_and_set(&got.body);
        rec.lock().unwrap().push(got);
        let status = *st.lock().unwrap();
        if !authorized {
            (401, String::new())
        } else if status == 200 {
            (200, accepting_999(&gcn, &st02))
        } else {
            (status, String::new())
        }
    })
    .await;
    Clearinghouse {
        url,
        received,
        status,
    }
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The README's per-payer transport example, exactly as written except for the plugin's
/// path and hash and the clearinghouse's (loopback) address.
fn readme_transports(dir: &Path, clearinghouse: &str) -> PathBuf {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- payer-transports:begin -->")
        .expect("begin marker");
    let end = readme
        .find("<!-- payer-transports:end -->")
        .expect("end marker");
    let block = &readme[start..end];
    let code = block
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("toml block")
        .0;
    let plugin = plugin_library("revcycle-connector-x12");
    let sha = sha256_hex(&std::fs::read(&plugin).unwrap());
    let text = code
        .replace(
            "target/release/librevcycle_connector_x12.so",
            &plugin.display().to_string(),
        )
        .replace("<pinned by revcycle connectors pin>", &sha)
        .replace("https://api.clearinghouse.example", clearinghouse)
        .replace("poll_seconds = 5", "poll_seconds = 1");
    assert_eq!(text.matches(clearinghouse).count(), 2, "{text}");
    let file = dir.join("connectors.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn write_secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn start(engine: Engine, toml: &Path, env: &[(&str, &str)]) -> Server {
    let mut all = vec![
        ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
        ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
    ];
    all.extend_from_slice(env);
    Server::start_with(engine, &all).await
}

/// A 200.00 claim (99214-25 150.00, 83036 50.00) of the practice's patient on `payer`,
/// scrubbed to `ready`.
async fn ready_claim_for(s: &Server, p: &Practice, payer: &Value, member: &str) -> Value {
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": payer["id"], "priority": "primary",
                "member_id": member, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    ready_claim_on(s, p, &coverage, 2).await
}

/// A ready claim on `coverage` for services on 2026-10-`day` (claims of one patient on one
/// day with the same procedures would be duplicates).
async fn ready_claim_on(s: &Server, p: &Practice, coverage: &Value, day: u32) -> Value {
    crate::payer::ready_claim_dated(s, p, coverage, &format!("2026-10-{day:02}")).await
}

/// `n` ready claims of one patient on the Acme payer (payer code 60054).
async fn ready_claims(s: &Server, n: usize) -> (Practice, Vec<Value>) {
    let (p, first) = ready_claim(s).await;
    let coverage = first["coverage_id"].clone();
    let mut claims = vec![first];
    for i in 1..n {
        claims.push(ready_claim_on(s, &p, &json!({"id": coverage}), i as u32).await);
    }
    (p, claims)
}

fn pcn(claim: &Value) -> String {
    claim["patient_control_number"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn status_of(s: &Server, claim: &Value) -> String {
    s.get(&format!("/v1/claims/{}", id(claim))).await.body["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn wait_for(what: &str, s: &Server, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(url: &str, sql: &str) -> i64 {
    let mut conn = revcycle_core::store::connect(url).expect("connect");
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n
}

/// A file of several remittances: one ISA/GS, one ST/SE per (claim control number, trace
/// number, claim total charge); each pays 96.00 of a 200.00 claim like [`answer_835`]. A
/// `charge` other than 200 makes that remittance's claim payment not balance (CLP03 against
/// CLP04 plus adjustments), which the connector's validation refuses naming the CLP.
fn multi_835(parts: &[(&str, &str, &str)]) -> String {
    let mut text = String::from(
        "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *261120*1200*^*00501*000000601*0*P*:~\n\
         GS*HP*ACMEPAYER*REVCYCLE*20261120*1200*601*X*005010X221A1~\n",
    );
    for (i, (pcn, trace, charge)) in parts.iter().enumerate() {
        let body = [
            "BPR*I*96*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261120"
                .to_string(),
            format!("TRN*1*{trace}*1512345678"),
            "DTM*405*20261120".into(),
            "N1*PR*ACME HEALTH PLAN".into(),
            "N3*100 PAYER WAY".into(),
            "N4*HARTFORD*CT*06101".into(),
            "REF*2U*60054".into(),
            "PER*BL*EDI SUPPORT*TE*8005550199".into(),
            "N1*PE*SPRINGFIELD FAMILY PRACTICE*XX*1234567893".into(),
            "LX*1".into(),
            format!("CLP*{pcn}*1*{charge}*96*24*12*ICN-{trace}*11*1"),
            format!(
                "NM1*QC*1*{}*{}****MI*{MEMBER_ID}",
                FAMILY.to_uppercase(),
                GIVEN.to_uppercase()
            ),
            "SVC*HC:99214:25*150*72**1".into(),
            "DTM*472*20261102".into(),
            "CAS*CO*45*60".into(),
            "CAS*PR*2*18".into(),
            "SVC*HC:83036*50*24**1".into(),
            "DTM*472*20261102".into(),
            "CAS*CO*45*20".into(),
            "CAS*PR*2*6".into(),
        ];
        let st = format!("{:04}", i + 1);
        text.push_str(&format!("ST*835*{st}~\n"));
        for s in &body {
            text.push_str(s);
            text.push_str("~\n");
        }
        text.push_str(&format!("SE*{}*{st}~\n", body.len() + 2));
    }
    text.push_str(&format!("GE*{}*601~\nIEA*1*000000601~\n", parts.len()));
    text
}

/// Drops `text` into `inbox` as `name` the way an uploader should (written aside, renamed).
fn drop_file(inbox: &Path, name: &str, text: &str) {
    let tmp = inbox.join(format!(".{name}.part"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, inbox.join(name)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: transports per payer (the README's example); HTTP submission with a 999 answer

async fn claims_of_two_payers_go_over_each_payers_transport(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let secret = "tok-8f2d4c91e7";
    let ch = clearinghouse(secret).await;
    let toml = readme_transports(dir.path(), &ch.url);
    write_secret(
        &dir.path().join("secrets/clearinghouse.token"),
        &format!("{secret}\n"),
    );
    let s = start(engine, &toml, &[]).await;
    let (p, acme_claim) = ready_claim(&s).await;
    let beacon = s
        .create(
            "/v1/payers",
            &json!({"name": "Beacon Health", "payer_code": "87726", "claim_filing_indicator": "CI"}),
        )
        .await;
    let beacon_claim = ready_claim_for(&s, &p, &beacon, "BEACON778899").await;

    // One request, two payers: two interchanges.
    let r = s
        .post(
            "/v1/claims/submit",
            &json!({"claim_ids": [acme_claim["id"], beacon_claim["id"]]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let exchanges = r.body["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 2, "{}", r.text);
    let acme_x = exchanges
        .iter()
        .find(|e| e["payer_id"] == p.payer["id"])
        .unwrap();
    let beacon_x = exchanges
        .iter()
        .find(|e| e["payer_id"] == beacon["id"])
        .unwrap();
    assert_eq!(acme_x["transport"], "outbox");
    assert_eq!(acme_x["claim_ids"], json!([acme_claim["id"]]));
    assert_eq!(beacon_x["transport"], "http");
    assert_eq!(beacon_x["status"], "sent", "{}", r.text);
    assert_eq!(beacon_x["claim_ids"], json!([beacon_claim["id"]]));
    assert_ne!(
        acme_x["interchange_control_number"],
        beacon_x["interchange_control_number"]
    );
    for c in r.body["claims"].as_array().unwrap() {
        assert_eq!(c["status"], "submitted", "{}", r.text);
    }

    // Acme's file is in Acme's outbox (not the default one) and holds only Acme's claim.
    let acme_out = dir.path().join("x12/acme/outbox");
    let file = acme_out.join(acme_x["file_name"].as_str().unwrap());
    let acme_file = std::fs::read_to_string(&file).unwrap();
    assert!(acme_file.contains(&format!("\nCLM*{}*200*", pcn(&acme_claim))));
    assert!(!acme_file.contains(&pcn(&beacon_claim)));
    let default_out: Vec<_> = std::fs::read_dir(dir.path().join("x12/outbox"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(default_out.is_empty(), "nothing goes to the default outbox");

    // Beacon's went over HTTP, once, with its token, as X12, addressed to its receiver.
    let got = ch.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let req = &got[0];
    assert!(
        req.request_line.starts_with("POST /x12/claims "),
        "{}",
        req.request_line
    );
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Bearer {secret}").as_str())
    );
    assert!(
        req.content_type
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("application/EDI-X12")),
        "{:?}",
        req.content_type
    );
    let icn = beacon_x["interchange_control_number"].as_str().unwrap();
    let control: u32 = icn.parse().unwrap();
    let st02 = format!("{:04}", control % 10_000);
    let segments: Vec<&str> = req.body.split('~').map(str::trim).collect();
    assert!(
        segments.contains(&format!("ST*837*{st02}*005010X222A1").as_str()),
        "{}",
        req.body
    );
    let clms: Vec<&&str> = segments.iter().filter(|s| s.starts_with("CLM*")).collect();
    assert_eq!(
        clms,
        [&format!("CLM*{}*200***11:B:1*Y*A*Y*Y", pcn(&beacon_claim)).as_str()],
        "{}",
        req.body
    );
    assert!(req.body.starts_with("ISA*"), "{}", req.body);
    assert!(
        req.body.contains("*ZZ*BEACONCH       *"),
        "ISA08 is the payer's receiver: {}",
        req.body
    );
    assert!(segments.contains(&"NM1*40*2*Beacon Clearinghouse*****46*BEACONCH"));
    assert!(
        segments
            .iter()
            .any(|s| s.starts_with("GS*HC*REVCYCLE*BEACONCH*")),
        "{}",
        req.body
    );
    assert!(req.body.contains("*MI*BEACON778899~"));

    // The 999 in the response was applied: Beacon's claim is accepted, Acme's submitted.
    assert_eq!(status_of(&s, &beacon_claim).await, "accepted");
    assert_eq!(status_of(&s, &acme_claim).await, "submitted");
    let gcn = control.to_string();
    assert_eq!(
        beacon_x["detail"],
        format!("999 accepted group {gcn}"),
        "{}",
        r.text
    );

    // Exchange history: the HTTP submission with the 999 that answered it.
    let h = s
        .get(&format!("/v1/claims/{}/exchanges", id(&beacon_claim)))
        .await;
    assert_eq!(h.status, 200, "{}", h.text);
    let items = h.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", h.text);
    let x = &items[0];
    assert_eq!(x["direction"], "out");
    assert_eq!(x["transaction_type"], "837");
    assert_eq!(x["transport"], "http");
    assert_eq!(x["status"], "sent");
    assert_eq!(x["interchange_control_number"], icn);
    assert_eq!(x["group_control_number"], gcn);
    assert_eq!(x["transaction_control_number"], st02);
    assert_eq!(x["payer_id"], beacon["id"]);
    assert!(x["sent_at"].is_string() && x["received_at"].is_null());
    let acks = x["acks"].as_array().unwrap();
    assert_eq!(acks.len(), 1, "{}", h.text);
    assert_eq!(acks[0]["transaction_type"], "999");
    assert_eq!(acks[0]["transport"], "http");
    assert_eq!(acks[0]["interchange_control_number"], "000000778");
    assert_eq!(acks[0]["detail"], format!("999 accepted group {gcn}"));
    assert!(acks[0]["received_at"].is_string());

    // Acme's inbox is polled too: Acme's 835 dropped there is posted.
    let acme_in = dir.path().join("x12/acme/inbox");
    drop_file(
        &acme_in,
        "era-acme.835",
        &answer_835(&pcn(&acme_claim), "EFT-ACME-1"),
    );
    wait_for("the 835 in Acme's inbox", &s, async || {
        status_of(&s, &acme_claim).await == "paid"
    })
    .await;
    assert!(acme_in.join("processed/era-acme.835").exists());
    let h = s
        .get(&format!("/v1/claims/{}/exchanges", id(&acme_claim)))
        .await;
    let kinds: Vec<(String, String)> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["transaction_type"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("837".into(), "sent".into()),
            ("835".into(), "processed".into())
        ],
        "{}",
        h.text
    );

    // The token never reaches the log or the database.
    assert!(!s.log().contains(secret));
    assert!(!crate::phi::dump_database(&s.db.url).contains(secret));
}
on_both_engines!(claims_of_two_payers_go_over_each_payers_transport);

// ---------------------------------------------------------------------------------------------
// 2: HTTP failures leave the claims ready

async fn a_failed_http_submission_leaves_the_claims_ready(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let secret = "env-tok-51aa09";
    let ch = clearinghouse(secret).await;
    let plugin = plugin_library("revcycle-connector-x12");
    let sha = sha256_hex(&std::fs::read(&plugin).unwrap());
    let dead = closed_port();
    let toml = dir.path().join("connectors.toml");
    std::fs::write(
        &toml,
        format!(
            "[[connector]]\nname = \"x12\"\npath = \"{}\"\nsha256 = \"{sha}\"\n\
             [connector.config]\nsubmit_url = \"{}/837\"\nbearer_token_env = \"TEST_CH_TOKEN\"\n\
             submitter_name = \"Springfield Billing\"\ncontact_name = \"Dana Reyes\"\n\
             contact_phone = \"217-555-0142\"\nproduction = false\n\
             [connector.config.payers.\"99999\"]\nsubmit_url = \"http://127.0.0.1:{dead}/837\"\n",
            plugin.display(),
            ch.url
        ),
    )
    .unwrap();
    let s = start(engine, &toml, &[("TEST_CH_TOKEN", secret)]).await;
    let (p, claim) = ready_claim(&s).await;

    // The clearinghouse answers 503: 502 for us, the claim stays ready, the exchange failed.
    *ch.status.lock().unwrap() = 503;
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    r.assert_problem(502);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("the clearinghouse answered HTTP 503"),
        "{}",
        r.text
    );
    assert_eq!(status_of(&s, &claim).await, "ready");
    let h = s.get(&format!("/v1/claims/{}/exchanges", id(&claim))).await;
    let items = h.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", h.text);
    assert_eq!(items[0]["status"], "failed");
    assert_eq!(items[0]["transport"], "http");
    assert_eq!(items[0]["detail"], "the clearinghouse answered HTTP 503");
    let first_icn = items[0]["interchange_control_number"].clone();

    // An unreachable endpoint (another payer's, configured on a closed port): the same.
    let other = s
        .create(
            "/v1/payers",
            &json!({"name": "Nowhere Health", "payer_code": "99999", "claim_filing_indicator": "CI"}),
        )
        .await;
    let stuck = ready_claim_for(&s, &p, &other, "NOWHERE1234").await;
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [stuck["id"]]}))
        .await;
    r.assert_problem(502);
    assert!(
        r.body["detail"].as_str().unwrap().contains("unreachable"),
        "{}",
        r.text
    );
    assert_eq!(status_of(&s, &stuck).await, "ready");

    // The clearinghouse is back: the same claim goes, under a new control number.
    *ch.status.lock().unwrap() = 200;
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["claims"][0]["status"], "submitted");
    assert_ne!(r.body["interchange_control_number"], first_icn);
    assert_eq!(status_of(&s, &claim).await, "accepted");
    let got = ch.received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "two POSTs reached the clearinghouse");
    assert!(
        got.iter()
            .all(|g| g.authorization.as_deref() == Some(&*format!("Bearer {secret}")))
    );
    let h = s.get(&format!("/v1/claims/{}/exchanges", id(&claim))).await;
    let statuses: Vec<&str> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "sent"], "{}", h.text);

    // Two payers, one unreachable: the other's claim is submitted, the stuck one not_sent.
    let more = ready_claim_on(&s, &p, &json!({"id": claim["coverage_id"]}), 5).await;
    let r = s
        .post(
            "/v1/claims/submit",
            &json!({"claim_ids": [more["id"], stuck["id"]]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let by_id = |c: &Value| {
        r.body["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["claim_id"] == c["id"])
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(&more)["status"], "submitted");
    assert_eq!(by_id(&stuck)["status"], "not_sent");
    assert_eq!(by_id(&stuck)["findings"][0]["edit"], "transport.failed");
    assert_eq!(status_of(&s, &stuck).await, "ready");
    assert!(!s.log().contains(secret));
    assert!(!s.log().contains(FAMILY));
}
on_both_engines!(a_failed_http_submission_leaves_the_claims_ready);

/// A literal token in connectors.toml is refused; so is a token file others can read.
async fn bearer_tokens_are_never_taken_from_the_toml(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let ch = clearinghouse("x").await;
    let toml = connectors_toml(dir.path());
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "poll_seconds = 1,",
        &format!(
            "poll_seconds = 1, clearinghouse_url = \"{}\", bearer_token = \"hunter2-literal\",",
            ch.url
        ),
    );
    std::fs::write(&toml, text).unwrap();
    let s = start(engine, &toml, &[]).await;
    let (_, claim) = ready_claim(&s).await;
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    r.assert_problem(503);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("bearer_token_file"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("hunter2"));
    assert!(!s.log().contains("hunter2"));
    assert_eq!(status_of(&s, &claim).await, "ready");
}
on_both_engines!(bearer_tokens_are_never_taken_from_the_toml);

// ---------------------------------------------------------------------------------------------
// 3: the exchange history route: access and audit

async fn a_claims_exchange_history_is_access_controlled_and_audited(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let s = start(engine, &toml, &[]).await;
    let (p, claim) = ready_claim(&s).await;
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let gcn = r.body["interchange_control_number"]
        .as_str()
        .unwrap()
        .trim_start_matches('0')
        .to_string();
    let inbox = dir.path().join("inbox");
    drop_file(&inbox, "ack.999", &crate::payer::rejecting_999(&gcn));
    wait_for("the 999", &s, async || {
        status_of(&s, &claim).await == "rejected"
    })
    .await;

    let org = org_of(&s);
    let path = format!("/v1/claims/{}/exchanges", id(&claim));
    let biller = token(&s, &org, "bill-9", &["biller"], &[]);
    let h = s
        .call(
            "GET",
            &path,
            Some(&biller),
            None,
            &[("x-request-id", "rid-xh-1")],
        )
        .await;
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.body["claim_id"], claim["id"]);
    let items = h.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the 999 is nested under the 837: {}",
        h.text
    );
    assert_eq!(items[0]["file_name"], r.body["file_name"]);
    assert_eq!(items[0]["transport"], "outbox");
    let ack = &items[0]["acks"][0];
    assert_eq!(ack["transaction_type"], "999");
    assert_eq!(ack["file_name"], "ack.999");
    assert_eq!(ack["transport"], "inbox");
    assert_eq!(ack["status"], "processed");
    assert_eq!(ack["detail"], format!("999 rejected group {gcn}"));
    assert_eq!(ack["group_control_number"], "777");
    // No content, no PHI.
    assert!(!h.text.contains(FAMILY) && !h.text.to_uppercase().contains(&FAMILY.to_uppercase()));
    assert!(!h.text.contains(SELF_MEMBER));

    // Roles that may not read claims are refused; an unknown claim is 404; no token is 401.
    let auditor = token(&s, &org, "co-9", &["compliance_officer"], &[]);
    s.call("GET", &path, Some(&auditor), None, &[])
        .await
        .assert_problem(403);
    let ehr = token(&s, &org, "ehr-9", &["ehr_integration"], &[]);
    s.call("GET", &path, Some(&ehr), None, &[])
        .await
        .assert_problem(403);
    let front = token(&s, &org, "fd-9", &["front_desk"], &[]);
    assert_eq!(
        s.call("GET", &path, Some(&front), None, &[]).await.status,
        200
    );
    s.get(&format!("/v1/claims/{}/exchanges", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404);
    s.call("GET", &path, None, None, &[])
        .await
        .assert_problem(401);
    s.get("/v1/claims/not-a-uuid/exchanges")
        .await
        .assert_problem(404);
    // Another organization's caller does not see it.
    let (_, other_admin) = s.new_org("Elsewhere");
    s.call("GET", &path, Some(&other_admin), None, &[])
        .await
        .assert_problem(404);

    // The read is audited like a claim read: actor, claim, patient, what was disclosed.
    let events = s
        .call(
            "GET",
            "/v1/audit-events?limit=1000&resource_type=Claim",
            Some(&s.token.clone()),
            None,
            &[],
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.text);
    let items = events.body["items"].as_array().unwrap();
    let read = items
        .iter()
        .find(|e| e["request_id"] == "rid-xh-1")
        .expect("the read was audited");
    assert_eq!(read["actor"], "bill-9");
    assert_eq!(read["action"], "read");
    assert_eq!(read["resource_id"], claim["id"]);
    assert_eq!(read["patient_ids"], json!([p.patient["id"]]));
    assert_eq!(read["outcome"], "success");
    assert!(
        read["fields_disclosed"]
            .as_array()
            .unwrap()
            .contains(&json!("x12_exchanges"))
    );
    let denied = items
        .iter()
        .find(|e| e["actor"] == "co-9" && e["resource_id"] == claim["id"])
        .expect("the refusal was audited");
    assert_eq!(denied["outcome"], "denied");
}
on_both_engines!(a_claims_exchange_history_is_access_controlled_and_audited);

// ---------------------------------------------------------------------------------------------
// 4: interchange control numbers under concurrency

async fn concurrent_submissions_get_distinct_control_numbers(engine: Engine) {
    const N: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let s = start(engine, &toml, &[]).await;
    let (_, claims) = ready_claims(&s, N).await;
    // On PostgreSQL, half of the submissions go to a second server process.
    let second = (engine == Engine::Postgres).then(|| {
        s.second_instance(&[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ])
    });
    let bases: Vec<String> = match &second {
        Some(i) => vec![s.base.clone(), i.base.clone()],
        None => vec![s.base.clone()],
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let client = s.client.clone();
        let url = format!("{}/v1/claims/submit", bases[i % bases.len()]);
        let token = s.token.clone();
        let body = json!({"claim_ids": [c["id"]]}).to_string();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("submit");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, text)
        }));
    }
    let mut icns = Vec::new();
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["claims"][0]["status"], "submitted", "{text}");
        icns.push(
            body["interchange_control_number"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let elapsed = started.elapsed();
    let mut distinct = icns.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), N, "repeated control numbers: {icns:?}");
    // They are the first N numbers, each once, and each file carries its own.
    assert_eq!(
        distinct,
        (1..=N).map(|n| format!("{n:09}")).collect::<Vec<_>>()
    );
    for f in std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(f.path()).unwrap();
        let icn = &text[90..99];
        assert!(icns.iter().any(|i| i == icn), "{icn}");
        assert!(text.contains(&format!("IEA*1*{icn}~")));
    }
    assert_eq!(
        count(
            &s.db.url,
            "SELECT COUNT(DISTINCT interchange_control_number) AS n FROM x12_exchanges WHERE direction = 'out'"
        ),
        N as i64
    );
    eprintln!(
        "{N} concurrent submissions ({} server(s)) in {} ms",
        bases.len(),
        elapsed.as_millis()
    );
}
on_both_engines!(concurrent_submissions_get_distinct_control_numbers);

// ---------------------------------------------------------------------------------------------
// 5 and 6: duplicate 835s are recorded no-ops; a file posts all or nothing

async fn a_duplicate_835_is_a_recorded_no_op(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let s = start(engine, &toml, &[]).await;
    let (_, claim) = ready_claim(&s).await;
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let inbox = dir.path().join("inbox");
    let era = answer_835(&pcn(&claim), "EFT-DUP-1");
    drop_file(&inbox, "era-1.835", &era);
    wait_for("the first 835", &s, async || {
        status_of(&s, &claim).await == "paid"
    })
    .await;
    let ledger_path = format!("/v1/claims/{}/ledger", id(&claim));
    let before = s.get(&ledger_path).await.body;
    let entries = |l: &Value| l["entries"].as_array().map(Vec::len).unwrap_or(0);

    // The same file again, under another name and under the same name.
    drop_file(&inbox, "era-1-again.835", &era);
    wait_for("the duplicate", &s, async || {
        inbox.join("processed/era-1-again.835").exists()
            && count(
                &s.db.url,
                "SELECT COUNT(*) AS n FROM x12_exchanges WHERE status = 'duplicate'",
            ) == 1
    })
    .await;
    drop_file(&inbox, "era-1.835", &era);
    wait_for("the second duplicate", &s, async || {
        count(
            &s.db.url,
            "SELECT COUNT(*) AS n FROM x12_exchanges WHERE status = 'duplicate'",
        ) == 2
    })
    .await;
    assert!(!inbox.join("failed/era-1-again.835").exists());
    assert!(!inbox.join("failed/era-1.835").exists());
    assert!(inbox.join("processed/era-1.835").exists());
    let after = s.get(&ledger_path).await.body;
    assert_eq!(entries(&after), entries(&before), "nothing posted twice");
    assert_eq!(after["balance"], before["balance"]);
    assert_eq!(count(&s.db.url, "SELECT COUNT(*) AS n FROM remittances"), 1);
    // The history shows the 835 once as processed, then the duplicates.
    let h = s.get(&format!("/v1/claims/{}/exchanges", id(&claim))).await;
    let statuses: Vec<String> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transaction_type"] == "835")
        .map(|e| e["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses,
        ["processed", "duplicate", "duplicate"],
        "{}",
        h.text
    );

    // Through the API too: 200, every remittance marked duplicate, nothing new.
    let (status, body) = post_raw(&s, "/v1/remittances/import?post=true", era.into_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "duplicate");
    assert_eq!(body["remittances"][0]["duplicate"], true);
    assert_eq!(body["remittances"][0]["posting"]["replayed"], true);
    assert_eq!(entries(&s.get(&ledger_path).await.body), entries(&before));
}
on_both_engines!(a_duplicate_835_is_a_recorded_no_op);

async fn an_835_file_posts_all_or_nothing(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let s = start(engine, &toml, &[]).await;
    let (_, claims) = ready_claims(&s, 2).await;
    let r = s
        .post(
            "/v1/claims/submit",
            &json!({"claim_ids": [claims[0]["id"], claims[1]["id"]]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (a, b) = (pcn(&claims[0]), pcn(&claims[1]));
    let inbox = dir.path().join("inbox");

    // Two transaction sets; the second's claim payment does not balance (CLP03 201.00).
    drop_file(
        &inbox,
        "era-bad.835",
        &multi_835(&[(&a, "EFT-AON-1", "200"), (&b, "EFT-AON-2", "201")]),
    );
    wait_for("the bad file to be set aside", &s, async || {
        inbox.join("failed/era-bad.835").exists()
    })
    .await;
    let reason = std::fs::read_to_string(inbox.join("failed/era-bad.835.reason")).unwrap();
    assert!(reason.contains("does not balance"), "{reason}");
    for leak in [FAMILY, GIVEN, MEMBER_ID, &a, &b] {
        assert!(
            !reason.to_uppercase().contains(&leak.to_uppercase()),
            "{leak} in {reason}"
        );
    }
    // Nothing from the file was posted, the first (good) remittance included.
    assert_eq!(count(&s.db.url, "SELECT COUNT(*) AS n FROM remittances"), 0);
    for c in &claims {
        assert_eq!(status_of(&s, c).await, "submitted");
    }
    // It is recorded as a failed exchange with the reason.
    assert_eq!(
        count(
            &s.db.url,
            "SELECT COUNT(*) AS n FROM x12_exchanges WHERE kind = '835' AND status = 'failed'"
        ),
        1
    );
    let log = s.log();
    assert!(log.contains("era-bad.835"), "the failure is logged");
    for leak in [FAMILY, MEMBER_ID, &a, &b] {
        assert!(
            !log.to_uppercase().contains(&leak.to_uppercase()),
            "{leak} in the log"
        );
    }

    // Corrected, the same two remittances post together.
    drop_file(
        &inbox,
        "era-good.835",
        &multi_835(&[(&a, "EFT-AON-1", "200"), (&b, "EFT-AON-2", "200")]),
    );
    wait_for("the good file", &s, async || {
        status_of(&s, &claims[0]).await == "paid" && status_of(&s, &claims[1]).await == "paid"
    })
    .await;
    assert!(inbox.join("processed/era-good.835").exists());
    assert_eq!(count(&s.db.url, "SELECT COUNT(*) AS n FROM remittances"), 2);

    // Through the API, the same rule: 422 with the pointer, nothing stored.
    let (status, problem) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        multi_835(&[(&a, "EFT-AON-3", "200"), (&b, "EFT-AON-4", "201")]).into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    // The second transaction set's first claim, named by position (never by its number).
    assert_eq!(
        problem["errors"][0]["pointer"], "/transactions/1/claims/0",
        "{problem}"
    );
    let msg = problem["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("CLP at segment 12 (claim 1) does not balance")
            && msg.contains("is 97.00, CLP04 is 96.00")
            && msg.contains("[rule balance.claim]"),
        "{problem}"
    );
    assert_eq!(count(&s.db.url, "SELECT COUNT(*) AS n FROM remittances"), 2);
}
on_both_engines!(an_835_file_posts_all_or_nothing);

// ---------------------------------------------------------------------------------------------
// 7: two servers polling one inbox post each file once

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_polling_one_inbox_post_each_file_once() {
    const FILES: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let s = start(Engine::Postgres, &toml, &[]).await;
    let (_, claims) = ready_claims(&s, FILES).await;
    let ids: Vec<Value> = claims.iter().map(|c| c["id"].clone()).collect();
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": ids}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let _second = s.second_instance(&[
        ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
        ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
    ]);
    // Both are polling (every second) before the files arrive, all at once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let inbox = dir.path().join("inbox");
    for (i, c) in claims.iter().enumerate() {
        std::fs::write(
            inbox.join(format!(".era-{i}.part")),
            answer_835(&pcn(c), &format!("EFT-TWO-{i}")),
        )
        .unwrap();
    }
    for i in 0..FILES {
        std::fs::rename(
            inbox.join(format!(".era-{i}.part")),
            inbox.join(format!("era-{i}.835")),
        )
        .unwrap();
    }
    wait_for("every file to be posted", &s, async || {
        (0..FILES).all(|i| inbox.join(format!("processed/era-{i}.835")).exists())
            && count(
                &s.db.url,
                "SELECT COUNT(*) AS n FROM x12_exchanges WHERE kind = '835'",
            ) >= FILES as i64
    })
    .await;
    // Let any second attempt finish before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let url = &s.db.url;
    assert_eq!(
        count(url, "SELECT COUNT(*) AS n FROM remittances"),
        FILES as i64
    );
    assert_eq!(
        count(url, "SELECT COUNT(*) AS n FROM remittance_postings"),
        FILES as i64
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM x12_exchanges WHERE kind = '835'"
        ),
        FILES as i64,
        "each file recorded once"
    );
    assert!(
        std::fs::read_dir(inbox.join("failed"))
            .unwrap()
            .next()
            .is_none()
    );
    for c in &claims {
        let l = s.get(&format!("/v1/claims/{}/ledger", id(c))).await.body;
        assert_eq!(l["status"], "paid", "{l}");
        assert_eq!(l["balance"]["insurance"], "0.00", "{l}");
        assert_eq!(l["balance"]["patient"], "24.00", "posted once: {l}");
    }
}

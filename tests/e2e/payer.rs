//! The payer connector (X12) end to end: a scrubbed claim is submitted as an 837P into the
//! outbox; the payer's 835 dropped into the inbox is picked up, stored and posted; a malformed
//! 835 is refused with its segment number; raw X12 is stored encrypted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use revcycle_connector_abi::host::sha256_hex;
use revcycle_e2e::{Engine, Server, plugin_library};
use serde_json::{Value, json};

use crate::fixtures::{FAMILY, MEMBER_ID, SUBSCRIBER_FAMILY, id, practice};
use crate::on_both_engines;

/// The submitter keys every payer connector's config must give (inline TOML table entries).
pub(crate) const SUBMITTER: &str = "submitter_name = \"Springfield Billing\", \
     contact_name = \"Dana Reyes\", contact_phone = \"217-555-0142\", production = false";

pub(crate) fn connectors_toml(dir: &Path) -> PathBuf {
    let path = plugin_library("revcycle-connector-x12");
    let sha = sha256_hex(&std::fs::read(&path).unwrap());
    let text = format!(
        "[[connector]]\nname = \"x12\"\npath = \"{}\"\nsha256 = \"{sha}\"\n\
         config = {{ outbox = \"outbox\", inbox = \"inbox\", poll_seconds = 1, \
         sender_id = \"REVCYCLE\", receiver_id = \"CLEARINGHOUSE\", {SUBMITTER} }}\n",
        path.display()
    );
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    std::fs::create_dir_all(dir.join("inbox")).unwrap();
    let file = dir.join("connectors.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// A server with the X12 payer connector of [`connectors_toml`] under `dir`, without rate
/// limiting (the tests submit and poll in quick succession).
pub(crate) async fn payer_server(engine: Engine, dir: &std::path::Path) -> Server {
    let toml = connectors_toml(dir);
    Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await
}

/// Submits one claim through the payer connector; the answer must be 200.
pub(crate) async fn submit(s: &Server, claim: &Value) -> revcycle_e2e::Resp {
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// A claim's patient control number (CLM01), which the payer echoes in CLP01.
pub(crate) fn pcn_of(claim: &Value) -> String {
    claim["patient_control_number"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The payer's answer to the claim: 200.00 billed, 96.00 paid; by line CO-45 60.00 + 20.00
/// (80.00) and PR-2 18.00 + 6.00 (24.00); BPR02 96.00.
pub(crate) fn answer_835(pcn: &str, trace: &str) -> String {
    let body = [
        "ST*835*0001".to_string(),
        "BPR*I*96*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261120"
            .into(),
        format!("TRN*1*{trace}*1512345678"),
        "DTM*405*20261120".into(),
        "N1*PR*ACME HEALTH PLAN".into(),
        "N3*100 PAYER WAY".into(),
        "N4*HARTFORD*CT*06101".into(),
        "REF*2U*60054".into(),
        "PER*BL*EDI SUPPORT*TE*8005550199".into(),
        "N1*PE*SPRINGFIELD FAMILY PRACTICE*XX*1234567893".into(),
        "LX*1".into(),
        format!("CLP*{pcn}*1*200*96*24*12*ICN-{trace}*11*1"),
        format!(
            "NM1*QC*1*{}*QUILLONETTE****MI*{MEMBER_ID}",
            FAMILY.to_uppercase()
        ),
        "DTM*232*20261102".into(),
        "SVC*HC:99214:25*150*72**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*60".into(),
        "CAS*PR*2*18".into(),
        "SVC*HC:83036*50*24**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*20".into(),
        "CAS*PR*2*6".into(),
    ];
    let mut text = String::from(
        "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *261120*1200*^*00501*000000501*0*P*:~\n\
         GS*HP*ACMEPAYER*REVCYCLE*20261120*1200*501*X*005010X221A1~\n",
    );
    for s in &body {
        text.push_str(s);
        text.push_str("~\n");
    }
    text.push_str(&format!(
        "SE*{}*0001~\nGE*1*501~\nIEA*1*000000501~\n",
        body.len() + 1
    ));
    text
}

pub(crate) const SELF_MEMBER: &str = "SELF123456";

/// A 200.00 encounter (99214-25 150.00, 83036 50.00) on the patient's own coverage, made into
/// a claim and scrubbed to `ready`.
pub(crate) async fn ready_claim(s: &Server) -> (crate::fixtures::Practice, Value) {
    let p = practice(s).await;
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
                "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let claim = ready_claim_dated(s, &p, &coverage, "2026-11-02").await;
    (p, claim)
}

/// The same 200.00 encounter on `coverage`, served on `date`, made into a claim and scrubbed
/// to `ready`.
pub(crate) async fn ready_claim_dated(
    s: &Server,
    p: &crate::fixtures::Practice,
    coverage: &Value,
    date: &str,
) -> Value {
    let enc = s
        .create(
            "/v1/encounters",
            &json!({
                "patient_id": p.patient["id"], "coverage_id": coverage["id"],
                "billing_provider_id": p.billing["id"], "rendering_provider_id": p.rendering["id"],
                "service_date_from": date, "place_of_service": "11",
                "diagnoses": ["E11.9", "I10"],
                "lines": [
                    {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]},
                    {"procedure_code": "83036", "units": "1", "charge": "50.00", "diagnosis_pointers": [1]}
                ]
            }),
        )
        .await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    assert_eq!(scrub.status, 200, "{}", scrub.text);
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    claim
}

pub(crate) async fn post_raw(s: &Server, path: &str, body: Vec<u8>) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(path))
        .bearer_auth(&s.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

pub(crate) fn exchanges(url: &str) -> i64 {
    let mut conn = revcycle_core::store::connect(url).expect("connect");
    diesel::sql_query("SELECT COUNT(*) AS n FROM x12_exchanges")
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n
}

async fn claim_round_trip_through_outbox_and_inbox(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (p, claim) = ready_claim(&s).await;
    let pcn = pcn_of(&claim);

    // Submit: an 837P lands in the outbox and the claim is submitted.
    let r = submit(&s, &claim).await;
    assert_eq!(r.body["claims"][0]["status"], "submitted", "{}", r.text);
    let file_name = r.body["file_name"].as_str().unwrap();
    let x12 = std::fs::read_to_string(dir.path().join("outbox").join(file_name)).unwrap();
    assert!(x12.starts_with("ISA*"), "{x12}");
    assert!(x12.contains(&format!("\nCLM*{pcn}*200*")), "{x12}");
    assert!(
        x12.contains("NM1*85*2*Springfield Family Practice*****XX*1234567893~"),
        "{x12}"
    );
    assert!(x12.contains("\nSV1*HC:99214:25*150*UN*1***1:2~"), "{x12}");
    assert!(x12.contains("\nSV1*HC:83036*50*UN*1***1~"), "{x12}");
    assert!(x12.contains(&format!("*MI*{SELF_MEMBER}~")), "{x12}");
    let got = s.get(&format!("/v1/claims/{}", id(&claim))).await;
    assert_eq!(got.body["status"], "submitted");
    // A claim that is no longer ready is refused, with a finding.
    let again = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["claims"][0]["status"], "refused");
    assert_eq!(
        again.body["claims"][0]["findings"][0]["edit"],
        "claim.not_ready"
    );

    // The payer answers: the 835 is picked up, stored and posted.
    let tmp = dir.path().join("inbox").join(".era.tmp");
    std::fs::write(&tmp, answer_835(&pcn, "EFT-X12-1")).unwrap();
    std::fs::rename(&tmp, dir.path().join("inbox").join("era-1.835")).unwrap();
    let ledger_path = format!("/v1/claims/{}/ledger", id(&claim));
    let deadline = Instant::now() + Duration::from_secs(30);
    let ledger = loop {
        let l = s.get(&ledger_path).await;
        if l.body["status"] == "paid" {
            break l.body;
        }
        assert!(
            Instant::now() < deadline,
            "the 835 was not posted; log:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(dir.path().join("inbox/processed/era-1.835").exists());
    assert!(!dir.path().join("inbox/era-1.835").exists());
    assert_eq!(ledger["balance"]["insurance"], "0.00");
    assert_eq!(ledger["balance"]["patient"], "24.00");
    let bal = s
        .get(&format!("/v1/patients/{}/balance", id(&p.patient)))
        .await;
    assert_eq!(bal.body["patient_due"], "24.00", "{}", bal.text);
    assert_eq!(bal.body["insurance_pending"], "0.00");
    let ar = s
        .get("/v1/reports/ar-aging?as_of=2026-12-31&group_by=payer")
        .await;
    assert_eq!(ar.status, 200, "{}", ar.text);
    assert_eq!(ar.body["total"], "0.00", "{}", ar.text);
    let ar = s
        .get("/v1/reports/ar-aging?as_of=2026-12-31&group_by=patient")
        .await;
    assert_eq!(ar.body["total"], "24.00", "{}", ar.text);
    let statuses: Vec<String> = ledger["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}>{}",
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        statuses,
        ["draft>ready", "ready>submitted", "submitted>paid"]
    );

    // A malformed 835 through the API: 422 naming the segment, nothing stored.
    let stored = exchanges(&s.db.url);
    assert_eq!(stored, 2, "the 837P out and the 835 in");
    let remittances = s.get("/v1/remittances").await.body["items"]
        .as_array()
        .unwrap()
        .len();
    let bad = answer_835(&pcn, "EFT-X12-2").replace("CLP*", "CLP*X*Y*");
    let (status, problem) =
        post_raw(&s, "/v1/remittances/import?post=true", bad.into_bytes()).await;
    assert_eq!(status, 422, "{problem}");
    let msg = problem["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("segment 14 (CLP)"), "{problem}");
    assert!(!msg.contains(&pcn), "no values in errors: {msg}");
    // The pointer names the element by its place in the transaction set (ST = 1).
    assert_eq!(
        problem["errors"][0]["pointer"], "/transactions/0/segments/12/CLP02",
        "{problem}"
    );
    // An 835 without the 1000A PER*BL the guide requires: refused at the loop, as pyx12
    // refuses it, and nothing stored.
    let text = answer_835(&pcn, "EFT-X12-3");
    let se = text.lines().find(|l| l.starts_with("SE*")).unwrap();
    let count: usize = se.split('*').nth(1).unwrap().parse().unwrap();
    let no_contact = text
        .replace("PER*BL*EDI SUPPORT*TE*8005550199~\n", "")
        .replace(
            se,
            &se.replacen(&count.to_string(), &(count - 1).to_string(), 1),
        );
    let (status, problem) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        no_contact.into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"].as_array().map(Vec::len),
        Some(1),
        "{problem}"
    );
    assert_eq!(
        problem["errors"][0]["pointer"], "/transactions/0/segments/5",
        "{problem}"
    );
    let msg = problem["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("loop 1000A (Payer Identification) has no PER*BL")
            && msg.ends_with("[rule segment.required]"),
        "{problem}"
    );
    assert_eq!(exchanges(&s.db.url), stored);
    assert_eq!(
        s.get("/v1/remittances").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        remittances
    );

    // The same route stores a good 835 (a second trace number) without posting.
    let (status, body) = post_raw(
        &s,
        "/v1/remittances/import",
        answer_835(&pcn, "EFT-X12-3").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remittances"][0]["trace_number"], "EFT-X12-3");
    assert_eq!(body["remittances"][0]["posting"], Value::Null);

    // Raw X12 is encrypted at rest: no name or member id in any table, the exchanges included.
    let dump = crate::phi::dump_database(&s.db.url);
    for needle in [FAMILY, SUBSCRIBER_FAMILY, MEMBER_ID, SELF_MEMBER] {
        assert!(
            !dump.contains(needle),
            "{needle} in plaintext in the database"
        );
        assert!(
            !dump.to_uppercase().contains(&needle.to_uppercase()),
            "{needle} in plaintext in the database"
        );
    }
    // And never in the server's log.
    let log = s.log();
    assert!(!log.contains(FAMILY) && !log.to_uppercase().contains(&FAMILY.to_uppercase()));
}
on_both_engines!(claim_round_trip_through_outbox_and_inbox);

/// The ST02 our 837P of group `gcn` went out with (the control number's last four digits).
pub(crate) fn st02_of(gcn: &str) -> String {
    format!("{:04}", gcn.parse::<u32>().unwrap() % 10_000)
}

/// A 999 for group `gcn` of an 837P: rejected.
pub(crate) fn rejecting_999(gcn: &str) -> String {
    let st02 = st02_of(gcn);
    format!(
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261120*1100*^*00501*000000777*0*P*:~\n\
         GS*FA*CLEARINGHOUSE*REVCYCLE*20261120*1100*777*X*005010X231A1~\n\
         ST*999*0001*005010X231A1~\n\
         AK1*HC*{gcn}*005010X222A1~\n\
         AK2*837*{st02}*005010X222A1~\n\
         IK5*R*5~\n\
         AK9*R*1*1*0~\n\
         SE*6*0001~\n\
         GE*1*777~\n\
         IEA*1*000000777~\n"
    )
}

async fn inbox_applies_999_rejections_and_sets_bad_files_aside(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    let r = submit(&s, &claim).await;
    let icn = r.body["interchange_control_number"].as_str().unwrap();
    let gcn = icn.trim_start_matches('0');

    // A file that is not X12 (and names the patient) is set aside, its content never logged.
    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("junk.txt"), format!("hello {FAMILY}")).unwrap();
    std::fs::write(inbox.join("ack-1.999"), rejecting_999(gcn)).unwrap();
    let claim_path = format!("/v1/claims/{}", id(&claim));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = s.get(&claim_path).await;
        if c.body["status"] == "rejected" && inbox.join("failed/junk.txt").exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the 999 was not applied (claim {}); log:\n{}",
            c.body["status"],
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(inbox.join("processed/ack-1.999").exists());
    assert_eq!(exchanges(&s.db.url), 2, "the 837P out and the 999 in");
    let log = s.log();
    assert!(log.contains("junk.txt"), "the failure is logged: {log}");
    assert!(!log.contains(FAMILY), "no file content in the log");
}
on_both_engines!(inbox_applies_999_rejections_and_sets_bad_files_aside);

pub(crate) const ANSWER_271: &str = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261120*1016*^*00501*000000031*0*P*:~
GS*HB*CLEARINGHOUSE*REVCYCLE*20261120*1016*31*X*005010X279A1~
ST*271*0001*005010X279A1~
BHT*0022*11*0001*20261120*1016~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*60054~
HL*2*1*21*1~
NM1*1P*2*SPRINGFIELD FAMILY PRACTICE*****XX*1234567893~
HL*3*2*22*0~
TRN*2*ELIG-1*9REVCYCLE1~
NM1*IL*1*ZEBULONOVICH*QUILLONETTE****MI*SELF123456~
DTP*291*RD8*20260101-20261231~
EB*1*IND*30**ACME PPO~
EB*B*IND*98***27*25*****Y~
SE*13*0001~
GE*1*31~
IEA*1*000000031~
";

pub(crate) fn answer_277(pcn: &str) -> String {
    format!(
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261121*0900*^*00501*000000041*0*P*:~
GS*HN*CLEARINGHOUSE*REVCYCLE*20261121*0900*41*X*005010X212~
ST*277*0001*005010X212~
BHT*0010*08*0001*20261121*0900*DG~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*60054~
HL*2*1*21*1~
NM1*41*2*SPRINGFIELD BILLING*****46*REVCYCLE~
HL*3*2*19*1~
NM1*1P*2*SPRINGFIELD FAMILY PRACTICE*****XX*1234567893~
HL*4*3*22*0~
NM1*IL*1*ZEBULONOVICH*QUILLONETTE****MI*SELF123456~
TRN*2*STAT-1~
STC*A2:20*20261121**200*0~
REF*EJ*{pcn}~
DTP*472*D8*20261102~
SE*15*0001~
GE*1*41~
IEA*1*000000041~
"
    )
}

/// One request an [`http_stub`] received.
pub(crate) struct StubRequest {
    pub request_line: String,
    head: String,
    pub body: String,
}

impl StubRequest {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A loopback HTTP server that reads each request whole and sends back what `answer` makes
/// of it: (status, X12 body). Returns its base URL.
pub(crate) async fn http_stub(
    answer: impl Fn(StubRequest) -> (u16, String) + Send + Sync + 'static,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16384];
                loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let Some(head_end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let request = StubRequest {
                        request_line: text.lines().next().unwrap_or_default().to_string(),
                        head: text[..head_end].to_string(),
                        body: text[head_end + 4..].to_string(),
                    };
                    let len: usize = request
                        .header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if buf.len() < head_end + 4 + len {
                        continue;
                    }
                    let (code, body) = answer(request);
                    let resp = format!(
                        "HTTP/1.1 {code} X\r\ncontent-type: application/edi-x12\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(resp.as_bytes()).await;
                    return;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// TRN02 of the first TRN of an X12 request (the submitter's trace number).
pub(crate) fn trace_of(x12: &str) -> String {
    x12.split('~')
        .map(str::trim)
        .find_map(|seg| seg.strip_prefix("TRN*1*"))
        .map(|rest| rest.split('*').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// A loopback clearinghouse API: answers POST /eligibility with a 271 and POST /claim-status
/// with a 277 for `pcn`; keeps what it was sent.
pub(crate) async fn clearinghouse(
    pcn: std::sync::Arc<std::sync::Mutex<String>>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> String {
    http_stub(move |request| {
        // The answer echoes the request's trace number (TRN02), as a clearinghouse's does.
        let trace = trace_of(&request.body);
        let answer = if request.request_line.starts_with("POST /eligibility") {
            ANSWER_271.replacen("TRN*2*ELIG-1*", &format!("TRN*2*{trace}*"), 1)
        } else {
            answer_277(&pcn.lock().unwrap()).replacen(
                "TRN*2*STAT-1~",
                &format!("TRN*2*{trace}~"),
                1,
            )
        };
        seen.lock().unwrap().push(request.body);
        (200, answer)
    })
    .await
}

async fn eligibility_and_claim_status_over_a_clearinghouse_api(engine: Engine) {
    let pcn = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let url = clearinghouse(pcn.clone(), seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "poll_seconds = 1,",
        &format!("poll_seconds = 1, clearinghouse_url = \"{url}\","),
    );
    std::fs::write(&toml, text).unwrap();
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    let (p, claim) = ready_claim(&s).await;
    *pcn.lock().unwrap() = claim["patient_control_number"]
        .as_str()
        .unwrap()
        .to_string();

    let r = s
        .post(
            &format!(
                "/v1/coverages/{}/eligibility",
                claim["coverage_id"].as_str().unwrap()
            ),
            &json!({"provider_id": p.billing["id"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["responses"][0]["status"], "active", "{}", r.text);
    assert_eq!(r.body["exchange_ids"].as_array().unwrap().len(), 2);
    let sent = seen.lock().unwrap()[0].clone();
    assert!(
        sent.contains("ST*270*") && sent.contains("*MI*SELF123456~"),
        "{sent}"
    );

    let r = s
        .post(&format!("/v1/claims/{}/status", id(&claim)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["responses"][0]["statuses"][0]["category_code"], "A2",
        "{}",
        r.text
    );
    assert_eq!(
        r.body["responses"][0]["claim_control_number"],
        claim["patient_control_number"]
    );
    let sent = seen.lock().unwrap()[1].clone();
    assert!(sent.contains("ST*276*"), "{sent}");
    assert_eq!(exchanges(&s.db.url), 4);
    let dump = crate::phi::dump_database(&s.db.url);
    assert!(!dump.to_uppercase().contains(&FAMILY.to_uppercase()));
}
on_both_engines!(eligibility_and_claim_status_over_a_clearinghouse_api);

/// A 277CA accepting the claim `pcn` (2200D TRN02 echoes CLM01; STC category A2).
fn accepting_277ca(pcn: &str) -> String {
    format!(
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261121*0900*^*00501*000000042*0*P*:~
GS*HN*CLEARINGHOUSE*REVCYCLE*20261121*0900*42*X*005010X214~
ST*277*0001*005010X214~
BHT*0085*08*BATCH42*20261121*0900*TH~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*60054~
TRN*1*0091182~
DTP*050*D8*20261121~
DTP*009*D8*20261121~
HL*2*1*21*1~
NM1*41*2*SPRINGFIELD BILLING*****46*REVCYCLE~
TRN*2*000000001~
STC*A1:19:PR*20261121*WQ*200~
QTY*90*1~
AMT*YU*200~
HL*3*2*19*1~
NM1*85*2*SPRINGFIELD FAMILY PRACTICE*****XX*1234567893~
TRN*1*PROVIDER-1~
STC*A1:19:PR**WQ*200~
HL*4*3*PT~
NM1*QC*1*ZEBULONOVICH*QUILLONETTE****MI*SELF123456~
TRN*2*{pcn}~
STC*A2:20:PR*20261121*WQ*200~
REF*1K*PAYER-ICN-1~
DTP*472*D8*20261102~
SE*24*0001~
GE*1*42~
IEA*1*000000042~
"
    )
}

async fn inbox_applies_277ca_acceptance(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    submit(&s, &claim).await;
    let pcn = claim["patient_control_number"].as_str().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("ack-2.277"), accepting_277ca(pcn)).unwrap();
    let claim_path = format!("/v1/claims/{}", id(&claim));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = s.get(&claim_path).await;
        if c.body["status"] == "accepted" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the 277CA was not applied (claim {}); log:\n{}",
            c.body["status"],
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(inbox.join("processed/ack-2.277").exists());
    assert_eq!(exchanges(&s.db.url), 2);
}
on_both_engines!(inbox_applies_277ca_acceptance);

/// A 277CA for the claim `pcn` (2200D TRN02 echoes CLM01) sent in the 837P whose BHT03 was
/// `batch` (2200B TRN02), with the claim's STC01 `status` (`A2:20:PR` accepted, `A7:21:PR`
/// rejected), as interchange `isa13`.
fn claim_277ca(pcn: &str, batch: &str, status: &str, isa13: u32) -> String {
    let (qty, amt) = if status.starts_with("A2") {
        ("90", "YU")
    } else {
        ("AA", "YY")
    };
    format!(
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261121*0900*^*00501*{isa13:09}*0*P*:~
GS*HN*CLEARINGHOUSE*REVCYCLE*20261121*0900*{isa13}*X*005010X214~
ST*277*0001*005010X214~
BHT*0085*08*BATCH{isa13}*20261121*0900*TH~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*60054~
TRN*1*0091182~
DTP*050*D8*20261121~
DTP*009*D8*20261121~
HL*2*1*21*1~
NM1*41*2*SPRINGFIELD BILLING*****46*REVCYCLE~
TRN*2*{batch}~
STC*A1:19:PR*20261121*WQ*200~
QTY*{qty}*1~
AMT*{amt}*200~
HL*3*2*19*1~
NM1*85*2*SPRINGFIELD FAMILY PRACTICE*****XX*1234567893~
TRN*1*PROVIDER-1~
STC*A1:19:PR**WQ*200~
HL*4*3*PT~
NM1*QC*1*ZEBULONOVICH*QUILLONETTE****MI*SELF123456~
TRN*2*{pcn}~
STC*{status}*20261121*WQ*200~
REF*1K*PAYER-ICN-1~
DTP*472*D8*20261102~
SE*24*0001~
GE*1*{isa13}~
IEA*1*{isa13:09}~
"
    )
}

/// A 277CA moves only the claim it names by CLM01, of this organization, in the submission
/// whose BHT03 its 2200B TRN02 echoes: one naming another organization's claim, or our claim
/// under another batch, moves nothing; one answering a claim's earlier 837P (the claim was
/// since corrected and sent again) moves nothing; a repeat changes nothing. Each is recorded.
async fn a_277ca_moves_only_the_claims_of_the_submission_it_answers(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = payer_server(engine, dir.path()).await;
    let inbox = dir.path().join("inbox");
    let icn_of = |r: &revcycle_e2e::Resp| {
        r.body["interchange_control_number"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Ours (the inbox's organization), sent in 837P 000000001.
    let (_, ours) = ready_claim(&s).await;
    let first = icn_of(&submit(&s, &ours).await);
    assert_eq!(first, "000000001");
    // Another organization's claim, sent under the same sender id in 837P 000000002.
    let own_token = s.token.clone();
    let (_, other_token) = s.new_org("Shelbyville Billing");
    s.token = other_token.clone();
    let (_, theirs) = ready_claim(&s).await;
    assert_eq!(icn_of(&submit(&s, &theirs).await), "000000002");
    s.token = own_token.clone();

    // A 277CA in our inbox accepting their claim, in their batch: not ours to move.
    std::fs::write(
        inbox.join("other-org.277"),
        claim_277ca(&pcn_of(&theirs), "000000002", "A2:20:PR", 51),
    )
    .unwrap();
    processed(&s, &inbox, "other-org.277").await;
    // Our claim under a batch it was not sent in.
    std::fs::write(
        inbox.join("other-batch.277"),
        claim_277ca(&pcn_of(&ours), "000000002", "A7:21:PR", 52),
    )
    .unwrap();
    processed(&s, &inbox, "other-batch.277").await;
    let ours_path = format!("/v1/claims/{}", id(&ours));
    assert_eq!(s.get(&ours_path).await.body["status"], "submitted");
    s.token = other_token.clone();
    let got = s.get(&format!("/v1/claims/{}", id(&theirs))).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body["status"], "submitted", "{}", got.text);
    s.token = own_token.clone();

    // Its own batch's rejection moves it.
    std::fs::write(
        inbox.join("reject-1.277"),
        claim_277ca(&pcn_of(&ours), &first, "A7:21:PR", 53),
    )
    .unwrap();
    processed(&s, &inbox, "reject-1.277").await;
    assert_eq!(s.get(&ours_path).await.body["status"], "rejected");

    // Corrected and sent again in 837P 000000003.
    for to in ["draft", "ready"] {
        let t = s
            .post(
                &format!("/v1/claims/{}/transition", id(&ours)),
                &json!({"to": to}),
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.text);
    }
    let second = icn_of(&submit(&s, &ours).await);
    assert_eq!(second, "000000003");

    // The first 837P's rejection again: the resubmission stays submitted.
    std::fs::write(
        inbox.join("reject-2.277"),
        claim_277ca(&pcn_of(&ours), &first, "A7:21:PR", 54),
    )
    .unwrap();
    processed(&s, &inbox, "reject-2.277").await;
    assert_eq!(s.get(&ours_path).await.body["status"], "submitted");

    // The second one's acceptance moves it; its repeat does not.
    for (name, isa13) in [("accept-1.277", 55), ("accept-2.277", 56)] {
        std::fs::write(
            inbox.join(name),
            claim_277ca(&pcn_of(&ours), &second, "A2:20:PR", isa13),
        )
        .unwrap();
        processed(&s, &inbox, name).await;
        assert_eq!(s.get(&ours_path).await.body["status"], "accepted");
    }
    assert_eq!(
        history(&s, &ours).await,
        [
            "draft>ready",
            "ready>submitted",
            "submitted>rejected",
            "rejected>draft",
            "draft>ready",
            "ready>submitted",
            "submitted>accepted"
        ]
    );
    s.token = other_token;
    assert_eq!(
        history(&s, &theirs).await,
        ["draft>ready", "ready>submitted"]
    );
    s.token = own_token;

    // Each 277CA is nested under the 837P it answers; the one of another batch under none.
    let ex = s.get(&format!("/v1/claims/{}/exchanges", id(&ours))).await;
    assert_eq!(ex.status, 200, "{}", ex.text);
    let items = ex.body["items"].as_array().unwrap();
    let acks_of = |icn: &str| -> Vec<String> {
        items
            .iter()
            .find(|i| i["direction"] == "out" && i["interchange_control_number"] == icn)
            .unwrap_or_else(|| panic!("no 837P {icn} in {}", ex.text))["acks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["file_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        acks_of(&first),
        ["reject-1.277", "reject-2.277"],
        "{}",
        ex.text
    );
    assert_eq!(
        acks_of(&second),
        ["accept-1.277", "accept-2.277"],
        "{}",
        ex.text
    );
    let loose: Vec<&str> = items
        .iter()
        .filter(|i| i["direction"] == "in")
        .map(|i| i["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(loose, ["other-batch.277"], "{}", ex.text);
}
on_both_engines!(a_277ca_moves_only_the_claims_of_the_submission_it_answers);

/// A 999 for group `gcn` of an 837P (transaction `0001`): accepted.
pub(crate) fn accepting_999(gcn: &str, isa13: u32) -> String {
    let st02 = st02_of(gcn);
    format!(
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261120*1100*^*00501*{isa13:09}*0*P*:~\n\
         GS*FA*CLEARINGHOUSE*REVCYCLE*20261120*1100*{isa13}*X*005010X231A1~\n\
         ST*999*0001*005010X231A1~\n\
         AK1*HC*{gcn}*005010X222A1~\n\
         AK2*837*{st02}*005010X222A1~\n\
         IK5*A~\n\
         AK9*A*1*1*1~\n\
         SE*6*0001~\n\
         GE*1*{isa13}~\n\
         IEA*1*{isa13:09}~\n"
    )
}

/// Waits until the inbox poller has moved `name` into `processed/`.
pub(crate) async fn processed(s: &Server, inbox: &Path, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !inbox.join("processed").join(name).exists() {
        assert!(
            Instant::now() < deadline,
            "{name} was not processed; log:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The file is renamed into processed/ before it is applied: wait for its exchange too.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
        let n = diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM x12_exchanges WHERE file_name = '{name}'"
        ))
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n;
        if n > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} was not recorded; log:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// "from>to" of a claim's status history.
pub(crate) async fn history(s: &Server, claim: &Value) -> Vec<String> {
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(claim))).await;
    assert_eq!(ledger.status, 200, "{}", ledger.text);
    ledger.body["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}>{}",
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap()
            )
        })
        .collect()
}

/// A 999 (accepting, then the same again) and a 277CA that arrive after the 835 paid the claim
/// are recorded in its exchanges but never move it back to `accepted`.
async fn late_acknowledgments_never_rewind_a_paid_claim(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    let pcn = pcn_of(&claim);
    let r = submit(&s, &claim).await;
    let icn = r.body["interchange_control_number"].as_str().unwrap();
    let gcn = icn.trim_start_matches('0').to_string();

    // The 835 comes first and pays it.
    let (status, body) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        answer_835(&pcn, "EFT-LATE-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claim_path = format!("/v1/claims/{}", id(&claim));
    assert_eq!(s.get(&claim_path).await.body["status"], "paid");

    // Then the clearinghouse's 999 accepting the 837P, twice, and the payer's 277CA.
    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("late-1.999"), accepting_999(&gcn, 901)).unwrap();
    processed(&s, &inbox, "late-1.999").await;
    assert_eq!(s.get(&claim_path).await.body["status"], "paid");
    std::fs::write(inbox.join("late-2.999"), accepting_999(&gcn, 902)).unwrap();
    processed(&s, &inbox, "late-2.999").await;
    std::fs::write(inbox.join("late-3.277"), accepting_277ca(&pcn)).unwrap();
    processed(&s, &inbox, "late-3.277").await;

    let got = s.get(&claim_path).await;
    assert_eq!(got.body["status"], "paid", "{}", got.text);
    assert_eq!(
        history(&s, &claim).await,
        ["draft>ready", "ready>submitted", "submitted>paid"]
    );
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&claim))).await;
    assert_eq!(
        ledger.body["balance"]["insurance"], "0.00",
        "{}",
        ledger.text
    );
    assert_eq!(
        ledger.body["balance"]["patient"], "24.00",
        "{}",
        ledger.text
    );

    // Every acknowledgment is in the claim's exchanges, answering the 837P.
    let ex = s.get(&format!("/v1/claims/{}/exchanges", id(&claim))).await;
    assert_eq!(ex.status, 200, "{}", ex.text);
    let items = ex.body["items"].as_array().unwrap();
    let sent = items
        .iter()
        .find(|i| i["direction"] == "out" && i["transaction_type"] == "837")
        .unwrap_or_else(|| panic!("no 837P in {}", ex.text));
    let acks: Vec<(&str, &str)> = sent["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["transaction_type"].as_str().unwrap(),
                a["file_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        acks,
        [
            ("999", "late-1.999"),
            ("999", "late-2.999"),
            ("277CA", "late-3.277")
        ],
        "{}",
        ex.text
    );
}
on_both_engines!(late_acknowledgments_never_rewind_a_paid_claim);

/// A 999 rejecting the claim's first 837P, repeated after the claim was corrected and sent
/// again, is recorded but leaves the new submission alone; an accepting 999 for the new one
/// then moves it, and a repeat of that changes nothing.
async fn an_acknowledgment_of_an_earlier_submission_moves_nothing(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    let claim_path = format!("/v1/claims/{}", id(&claim));
    let submit = async || {
        let r = s
            .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["claims"][0]["status"], "submitted", "{}", r.text);
        r.body["interchange_control_number"]
            .as_str()
            .unwrap()
            .trim_start_matches('0')
            .to_string()
    };
    let first = submit().await;
    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("r-1.999"), rejecting_999(&first)).unwrap();
    processed(&s, &inbox, "r-1.999").await;
    assert_eq!(s.get(&claim_path).await.body["status"], "rejected");

    // Corrected and sent again.
    for to in ["draft", "ready"] {
        let t = s
            .post(
                &format!("/v1/claims/{}/transition", id(&claim)),
                &json!({"to": to}),
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.text);
    }
    let second = submit().await;
    assert_ne!(first, second);

    // The first 837P's rejection again: the resubmission stays submitted.
    std::fs::write(inbox.join("r-2.999"), rejecting_999(&first)).unwrap();
    processed(&s, &inbox, "r-2.999").await;
    assert_eq!(s.get(&claim_path).await.body["status"], "submitted");

    // The second one's acceptance moves it; its repeat does not.
    std::fs::write(inbox.join("a-1.999"), accepting_999(&second, 903)).unwrap();
    processed(&s, &inbox, "a-1.999").await;
    assert_eq!(s.get(&claim_path).await.body["status"], "accepted");
    std::fs::write(inbox.join("a-2.999"), accepting_999(&second, 904)).unwrap();
    processed(&s, &inbox, "a-2.999").await;
    assert_eq!(
        history(&s, &claim).await,
        [
            "draft>ready",
            "ready>submitted",
            "submitted>rejected",
            "rejected>draft",
            "draft>ready",
            "ready>submitted",
            "submitted>accepted"
        ]
    );
    let ex = s.get(&format!("/v1/claims/{}/exchanges", id(&claim))).await;
    assert_eq!(ex.status, 200, "{}", ex.text);
    let acks_of = |gcn: &str| -> Vec<String> {
        ex.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["direction"] == "out" && i["group_control_number"] == gcn)
            .unwrap_or_else(|| panic!("no 837P {gcn} in {}", ex.text))["acks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["file_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(acks_of(&first), ["r-1.999", "r-2.999"], "{}", ex.text);
    assert_eq!(acks_of(&second), ["a-1.999", "a-2.999"], "{}", ex.text);
}
on_both_engines!(an_acknowledgment_of_an_earlier_submission_moves_nothing);

/// Files that hold PHI are the server's user's only: an 837P in the outbox is 0600 in a 0700
/// directory (created by the server, parents too), and a received file it has taken into
/// `processed/` is 0600 there, in a 0700 directory.
async fn outbox_and_inbox_files_are_private(engine: Engine) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = plugin_library("revcycle-connector-x12");
    let sha = sha256_hex(&std::fs::read(&path).unwrap());
    // The outbox does not exist yet; the inbox was made by an operator (0755).
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::set_permissions(&inbox, std::fs::Permissions::from_mode(0o755)).unwrap();
    let toml = dir.path().join("connectors.toml");
    std::fs::write(
        &toml,
        format!(
            "[[connector]]\nname = \"x12\"\npath = \"{}\"\nsha256 = \"{sha}\"\n\
             config = {{ outbox = \"x12/outbox\", inbox = \"inbox\", poll_seconds = 1, \
             sender_id = \"REVCYCLE\", receiver_id = \"CLEARINGHOUSE\", {SUBMITTER} }}\n",
            path.display()
        ),
    )
    .unwrap();
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    let (_, claim) = ready_claim(&s).await;
    let r = submit(&s, &claim).await;
    let outbox = dir.path().join("x12/outbox");
    let file = outbox.join(r.body["file_name"].as_str().unwrap());
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    assert_eq!(mode(&outbox), 0o700);
    assert_eq!(mode(&dir.path().join("x12")), 0o700);

    // A remittance dropped world-readable is taken private.
    let pcn = claim["patient_control_number"].as_str().unwrap();
    let dropped = inbox.join("era-9.835");
    std::fs::write(&dropped, answer_835(pcn, "EFT-MODE-1")).unwrap();
    std::fs::set_permissions(&dropped, std::fs::Permissions::from_mode(0o644)).unwrap();
    processed(&s, &inbox, "era-9.835").await;
    assert_eq!(mode(&inbox.join("processed/era-9.835")), 0o600);
    assert_eq!(mode(&inbox.join("processed")), 0o700);
    assert_eq!(mode(&inbox.join("failed")), 0o700);
}
on_both_engines!(outbox_and_inbox_files_are_private);

/// Two organizations that submit under one sender id (ISA06) never get the same ISA13 (GS06):
/// the clearinghouse sees one submitter.
async fn organizations_sharing_a_sender_id_get_distinct_control_numbers(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let mut s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    let mut sent = Vec::new();
    for round in 0..2 {
        if round == 1 {
            let (_, token) = s.new_org("Shelbyville Billing");
            s.token = token;
        }
        let (_, claim) = ready_claim(&s).await;
        let r = s
            .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["claims"][0]["status"], "submitted", "{}", r.text);
        let file = dir
            .path()
            .join("outbox")
            .join(r.body["file_name"].as_str().unwrap());
        let text = std::fs::read_to_string(file).unwrap();
        let isa: Vec<&str> = text.split('~').next().unwrap().split('*').collect();
        assert_eq!(isa[6].trim(), "REVCYCLE");
        assert_eq!(isa[13], r.body["interchange_control_number"]);
        sent.push(isa[13].to_string());
    }
    assert_eq!(sent, ["000000001", "000000002"]);
}
on_both_engines!(organizations_sharing_a_sender_id_get_distinct_control_numbers);

/// Each line of an 837P carries its own REF*6R (line item control number); an 835 that echoes
/// them is matched line by line through them, even in another order and under another code.
async fn line_item_control_numbers_are_per_line_and_match_the_835(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    let pcn = pcn_of(&claim);
    let r = submit(&s, &claim).await;
    let x12 = std::fs::read_to_string(
        dir.path()
            .join("outbox")
            .join(r.body["file_name"].as_str().unwrap()),
    )
    .unwrap();
    let refs: Vec<String> = x12
        .split('~')
        .map(str::trim)
        .filter_map(|seg| seg.strip_prefix("REF*6R*"))
        .map(str::to_string)
        .collect();
    assert_eq!(refs.len(), 2, "{x12}");
    assert_ne!(refs[0], refs[1], "{x12}");
    let got = s.get(&format!("/v1/claims/{}", id(&claim))).await;
    let lines = got.body["lines"].as_array().unwrap();
    for (line, lcn) in lines.iter().zip(&refs) {
        let line_id = line["id"].as_str().unwrap().replace('-', "");
        assert_eq!(
            *lcn,
            format!("{}-{}", line["line_number"], &line_id[20..]),
            "{x12}"
        );
        assert!(lcn.len() <= 50);
    }

    // The payer answers the second line first, and the first under another code (99213).
    let original = "SVC*HC:99214:25*150*72**1~\nDTM*472*20261102~\nCAS*CO*45*60~\nCAS*PR*2*18~\n\
                    SVC*HC:83036*50*24**1~\nDTM*472*20261102~\nCAS*CO*45*20~\nCAS*PR*2*6~\n";
    let answered = format!(
        "SVC*HC:83036*50*24**1~\nDTM*472*20261102~\nCAS*CO*45*20~\nCAS*PR*2*6~\nREF*6R*{}~\n\
         SVC*HC:99213:25*150*72**1~\nDTM*472*20261102~\nCAS*CO*45*60~\nCAS*PR*2*18~\nREF*6R*{}~\n",
        refs[1], refs[0]
    );
    let era = answer_835(&pcn, "EFT-6R-1");
    assert!(
        era.contains(original) && era.contains("SE*23*0001~"),
        "{era}"
    );
    let era = era
        .replace(original, &answered)
        .replace("SE*23*0001~", "SE*25*0001~");
    let (status, body) = post_raw(&s, "/v1/remittances/import?post=true", era.into_bytes()).await;
    assert_eq!(status, 200, "{body}");
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&claim))).await;
    assert_eq!(ledger.body["status"], "paid", "{}", ledger.text);
    let paid_on = |line: &Value| -> Vec<String> {
        ledger.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "insurance_payment" && e["claim_line_id"] == line["id"])
            .map(|e| e["amount"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paid_on(&lines[0]), ["-72.00"], "{}", ledger.text);
    assert_eq!(paid_on(&lines[1]), ["-24.00"], "{}", ledger.text);
}
on_both_engines!(line_item_control_numbers_are_per_line_and_match_the_835);

/// A claim to a Medicare Part B payer is filed as Medicare (2000B SBR09 `MB`, from the payer's
/// claim filing indicator), and pyx12 accepts the 837P.
async fn a_medicare_payer_files_its_claims_as_medicare_part_b(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let medicare = s
        .create(
            "/v1/payers",
            &json!({"name": "Medicare Part B", "payer_code": "00952", "claim_filing_indicator": "MB"}),
        )
        .await;
    assert_eq!(medicare["claim_filing_indicator"], "MB");
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": medicare["id"], "priority": "primary",
                "member_id": "1EG4TE5MK73", "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let claim = ready_claim_dated(&s, &p, &coverage, "2026-11-02").await;
    assert_eq!(claim["payer_id"], medicare["id"]);
    let r = submit(&s, &claim).await;
    assert_eq!(r.body["claims"][0]["status"], "submitted", "{}", r.text);
    let path = dir
        .path()
        .join("outbox")
        .join(r.body["file_name"].as_str().unwrap());
    let x12 = std::fs::read_to_string(&path).unwrap();
    let sbrs: Vec<&str> = x12
        .split('~')
        .map(str::trim)
        .filter(|s| s.starts_with("SBR*"))
        .collect();
    assert_eq!(sbrs, ["SBR*P*18*******MB"], "{x12}");
    assert!(x12.contains("\nSBR*P*18*******MB~"), "{x12}");
    assert!(x12.contains("*PI*00952~"), "{x12}");
    crate::cob::assert_pyx12_clean(&[path]);
}
on_both_engines!(a_medicare_payer_files_its_claims_as_medicare_part_b);

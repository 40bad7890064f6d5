//! Events for integrators end to end: a receiver on loopback gets the claim's story (submitted,
//! acknowledged, paid, its denials opened and resolved) in order, each delivery signed so that
//! the `standardwebhooks` package (an outside implementation of the spec) verifies it, and
//! without patient data. A failing receiver gets the event again with the same `webhook-id`
//! until it answers 2xx; a write that rolls back tells nothing; subscriptions to internal
//! addresses are refused; a subscription that keeps failing is disabled, saying why.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::fixtures::{
    EMAIL, FAMILY, GIVEN, MEMBER_ID, MRN, PHONE, SSN, STREET, id, org_of, practice, token,
};
use crate::on_both_engines;
use crate::payer::{
    SELF_MEMBER, accepting_999, connectors_toml, pcn_of, post_raw, processed, ready_claim, submit,
};

/// The event types of a claim's way through submission and payment.
pub(crate) const ALL_TYPES: [&str; 7] = [
    "claim.status_changed",
    "claim.submitted",
    "claim.acknowledged",
    "remittance.received",
    "remittance.posted",
    "denial.opened",
    "denial.resolved",
];

/// Settings every server here runs with: the receiver on 127.0.0.1 allowed, quick polling and
/// retries, no rate limit.
pub(crate) const EVENTS_ENV: [(&str, &str); 4] = [
    ("REVCYCLE_EVENTS_ALLOWED_HOSTS", "127.0.0.1"),
    ("REVCYCLE_EVENTS_POLL_INTERVAL_MS", "100"),
    ("REVCYCLE_EVENTS_RETRY_BASE_MS", "100"),
    ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
];

/// A request the receiver got: its Standard Webhooks headers and body.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) id: String,
    timestamp: String,
    signature: String,
    pub(crate) body: String,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub(crate) type Log = Arc<Mutex<Vec<Received>>>;

/// A loopback receiver answering the `n`th request (1 for the first) with `status(n)`.
pub(crate) async fn receiver(
    status: impl Fn(usize) -> u16 + Send + Sync + 'static,
) -> (String, Log) {
    let log: Log = Arc::default();
    let got = log.clone();
    let base = crate::payer::http_stub(move |req| {
        let r = Received {
            id: req.header("webhook-id").unwrap_or_default(),
            timestamp: req.header("webhook-timestamp").unwrap_or_default(),
            signature: req.header("webhook-signature").unwrap_or_default(),
            body: req.body.clone(),
        };
        let n = {
            let mut g = got.lock().unwrap();
            g.push(r);
            g.len()
        };
        (status(n), String::new())
    })
    .await;
    (format!("{base}/hooks/revcycle"), log)
}

/// Waits until the receiver has `n` requests; returns them.
pub(crate) async fn received(s: &Server, log: &Log, n: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = log.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} deliveries arrived: {:#?}\nlog:\n{}",
            got.len(),
            got.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks each request's signature with the `standardwebhooks` package (PyPI): one list per
/// request, saying for each secret whether it verifies.
const PY_VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    row = []
    for secret in c["secrets"]:
        try:
            Webhook(secret).verify(c["body"], {"webhook-id": c["id"],
                "webhook-timestamp": c["timestamp"], "webhook-signature": c["signature"]})
            row.append(True)
        except Exception:
            row.append(False)
    out.append(row)
print(json.dumps(out))
"#;

pub(crate) fn verify(s: &Server, requests: &[Received], secrets: &[&str]) -> Vec<Vec<bool>> {
    let py = revcycle_pytools::python_tool("standardwebhooks", &["standardwebhooks==1.1.0"]);
    let cases: Vec<Value> = requests
        .iter()
        .map(|r| {
            json!({"id": r.id, "timestamp": r.timestamp, "signature": r.signature,
                "body": r.body, "secrets": secrets})
        })
        .collect();
    let file = s.data_dir.join("webhooks.json");
    std::fs::write(&file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = std::process::Command::new(py.join("python"))
        .args(["-c", PY_VERIFY])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An 835 paying the claim `pcn` in part: line 1 paid 72.00 (CO-45 48.00, CO-50 30.00
/// medical necessity), line 2 denied (CO-97 50.00). BPR02 72.00.
pub(crate) fn partly_denying_835(pcn: &str, trace: &str) -> String {
    let body = [
        "ST*835*0001".to_string(),
        "BPR*I*72*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261120"
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
        format!("CLP*{pcn}*1*200*72*0*12*ICN-{trace}*11*1"),
        format!(
            "NM1*QC*1*{}*{}****MI*{SELF_MEMBER}",
            FAMILY.to_uppercase(),
            GIVEN.to_uppercase()
        ),
        "DTM*232*20261102".into(),
        "SVC*HC:99214:25*150*72**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*48**50*30".into(),
        "SVC*HC:83036*50*0**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*97*50".into(),
    ];
    let mut text = String::from(
        "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *261120*1200*^*00501*000000701*0*P*:~\n\
         GS*HP*ACMEPAYER*REVCYCLE*20261120*1200*701*X*005010X221A1~\n",
    );
    for seg in &body {
        text.push_str(seg);
        text.push_str("~\n");
    }
    text.push_str(&format!(
        "SE*{}*0001~\nGE*1*701~\nIEA*1*000000701~\n",
        body.len() + 1
    ));
    text
}

/// A payer server (X12 connector, inbox under `dir`) delivering events.
pub(crate) async fn events_server(
    engine: Engine,
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> Server {
    let toml = connectors_toml(dir);
    let mut env: Vec<(&str, &str)> = EVENTS_ENV.to_vec();
    env.push(("REVCYCLE_CONNECTORS", toml.to_str().unwrap()));
    env.extend_from_slice(extra);
    Server::start_with(engine, &env).await
}

pub(crate) async fn subscribe(s: &Server, url: &str, types: &[&str]) -> Value {
    let r = s
        .post(
            "/v1/subscriptions",
            &json!({"url": url, "event_types": types, "description": "billing app"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// The id of the record an event is about.
fn subject(e: &Value) -> &Value {
    let t = e["type"].as_str().unwrap_or_default();
    let key = match t.split('.').next() {
        Some("claim") => "claim_id",
        Some("remittance") => "remittance_id",
        Some("denial") => "denial_id",
        _ => "subscription_id",
    };
    &e["data"][key]
}

/// `type` and, for claim status changes, `from>to` of each event about `record`.
pub(crate) fn story(events: &[Value], record: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| subject(e) == record)
        .map(|e| match e["type"].as_str().unwrap() {
            "claim.status_changed" => format!(
                "status {}>{}",
                e["data"]["from"].as_str().unwrap(),
                e["data"]["to"].as_str().unwrap()
            ),
            "claim.acknowledged" => format!(
                "acknowledged {} {}",
                e["data"]["acknowledgment"].as_str().unwrap(),
                e["data"]["status"].as_str().unwrap()
            ),
            t => t.to_string(),
        })
        .collect()
}

async fn the_claim_flow_is_told_in_order_signed_and_without_phi(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = events_server(engine, dir.path(), &[]).await;
    let (url, log) = receiver(|_| 204).await;
    let sub = subscribe(&s, &url, &ALL_TYPES).await;
    let secret = sub["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{sub}");
    assert_eq!(sub["status"], "active");
    // The secret is shown once: never on a read.
    let read = s.get(&format!("/v1/subscriptions/{}", id(&sub))).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(read.body.get("secret").is_none(), "{}", read.text);
    assert!(!read.text.contains(&secret));

    // The claim: scrubbed, submitted, accepted by a 999, partly paid by an 835 with two
    // denials, one of which is then resolved.
    let (_, claim) = ready_claim(&s).await;
    let claim_id = id(&claim).to_string();
    let r = submit(&s, &claim).await;
    let icn = r.body["interchange_control_number"].as_str().unwrap();
    let gcn = icn.trim_start_matches('0').to_string();
    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("ack-1.999"), accepting_999(&gcn, 771)).unwrap();
    processed(&s, &inbox, "ack-1.999").await;
    let (status, imported) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        partly_denying_835(&pcn_of(&claim), "EFT-EVENTS-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    let remittance = imported["remittances"][0]["remittance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = s
        .get(&format!("/v1/work-queues/denials?claim_id={claim_id}"))
        .await;
    let denials: Vec<String> = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| id(d).to_string())
        .collect();
    assert_eq!(denials.len(), 2, "{}", queue.text);
    let resolved = s
        .post(
            &format!("/v1/work-queues/denials/{}/status", denials[1]),
            &json!({"to": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);

    // 6 about the claim, 2 about the remittance, 3 about the denials.
    let got = received(&s, &log, 11).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = log.lock().unwrap().clone();
    assert_eq!(got_now.len(), 11, "no more than these: {got_now:#?}");
    let events: Vec<Value> = got.iter().map(Received::json).collect();
    assert_eq!(
        story(&events, &claim_id),
        [
            "status draft>ready",
            "status ready>submitted",
            "claim.submitted",
            "status submitted>accepted",
            "acknowledged 999 accepted",
            "status accepted>partially_paid",
        ],
        "{events:#?}"
    );
    assert_eq!(
        story(&events, &remittance),
        ["remittance.received", "remittance.posted"]
    );
    assert_eq!(story(&events, &denials[0]), ["denial.opened"]);
    assert_eq!(
        story(&events, &denials[1]),
        ["denial.opened", "denial.resolved"]
    );
    let posted = events
        .iter()
        .find(|e| e["type"] == "remittance.posted")
        .unwrap();
    assert_eq!(posted["data"]["denial_count"], 2, "{posted}");
    let paid_amount: f64 = posted["data"]["posted_paid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(paid_amount, 72.0, "{posted}");
    assert_eq!(posted["data"]["claims"][0]["claim_id"], claim_id.as_str());
    let paid = events
        .iter()
        .find(|e| e["data"]["to"] == "partially_paid")
        .unwrap();
    assert_eq!(paid["data"]["remittance_id"], remittance.as_str());

    // Every event: its id is the webhook-id, it is versioned, and its signature verifies with
    // an outside implementation of Standard Webhooks (and a tampered body does not).
    for (r, e) in got.iter().zip(&events) {
        assert_eq!(e["id"], r.id.as_str(), "{e}");
        assert_eq!(e["version"], 1, "{e}");
        assert!(ALL_TYPES.contains(&e["type"].as_str().unwrap()), "{e}");
    }
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 11, "one id per event");
    assert!(
        verify(&s, &got, &[&secret]).iter().all(|v| v == &[true]),
        "every signature verifies"
    );
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replace("draft", "ready");
    assert_eq!(verify(&s, &[tampered], &[&secret]), [[false]]);

    // Thin: no name, identifier or contact of the patient in any body or header.
    for r in &got {
        let all = format!("{} {} {}", r.id, r.signature, r.body).to_lowercase();
        for phi in [
            FAMILY,
            GIVEN,
            MRN,
            SSN,
            MEMBER_ID,
            SELF_MEMBER,
            PHONE,
            EMAIL,
            STREET,
        ] {
            assert!(!all.contains(&phi.to_lowercase()), "{phi} in {}", r.body);
        }
        assert!(
            !r.body.contains("patient_id"),
            "no patient reference: {}",
            r.body
        );
    }

    // The delivery log: one delivery per event, each delivered at its first attempt, with its
    // status code and latency, and no response body.
    let log_page = s
        .get(&format!(
            "/v1/subscriptions/{}/deliveries?limit=5",
            id(&sub)
        ))
        .await;
    assert_eq!(log_page.status, 200, "{}", log_page.text);
    let first = log_page.body["items"].as_array().unwrap();
    assert_eq!(first.len(), 5);
    let next = log_page.body["next_cursor"].as_str().unwrap();
    let rest = s
        .get(&format!(
            "/v1/subscriptions/{}/deliveries?limit=50&cursor={next}",
            id(&sub)
        ))
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 6);
    for d in first.iter().chain(rest.body["items"].as_array().unwrap()) {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempt_log"][0]["status_code"], 204, "{d}");
        assert!(d["attempt_log"][0]["latency_ms"].is_number(), "{d}");
        assert!(d.get("response_body").is_none());
    }
}
on_both_engines!(the_claim_flow_is_told_in_order_signed_and_without_phi);

async fn a_failing_receiver_gets_the_same_event_until_it_answers(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = events_server(engine, dir.path(), &[]).await;
    // 500 three times, then 200.
    let (url, log) = receiver(|n| if n <= 3 { 500 } else { 200 }).await;
    let sub = subscribe(&s, &url, &["remittance.received"]).await;
    let secret = sub["secret"].as_str().unwrap().to_string();
    let p = practice(&s).await;
    let remit = |trace: &str| {
        json!({"payer_id": p.payer["id"], "trace_number": trace, "payment_date": "2026-11-20",
            "payment_method": "ACH", "total_paid": "0.00", "claims": []})
    };
    let rem = s.create("/v1/remittances", &remit("EFT-RETRY-1")).await;

    let got = received(&s, &log, 4).await;
    let event = got[0].json();
    assert_eq!(event["type"], "remittance.received");
    assert_eq!(event["data"]["remittance_id"], rem["id"]);
    assert!(
        got.iter()
            .all(|r| r.id == got[0].id && r.body == got[0].body),
        "the same webhook-id and body on every attempt: {got:#?}"
    );
    assert!(verify(&s, &got, &[&secret]).iter().all(|v| v == &[true]));
    let deliveries = s
        .get(&format!("/v1/subscriptions/{}/deliveries", id(&sub)))
        .await;
    let d = &deliveries.body["items"][0];
    assert_eq!(d["state"], "delivered", "{}", deliveries.text);
    assert_eq!(d["attempts"], 4);
    let codes: Vec<i64> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 500, 500, 200]);
    // Backoff: each wait longer than the one before.
    let at: Vec<chrono::DateTime<chrono::Utc>> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["at"].as_str().unwrap().parse().unwrap())
        .collect();
    let waits: Vec<chrono::Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(waits[1] > waits[0] && waits[2] > waits[1], "{waits:?}");

    // Redelivered by hand: the same event again, same id.
    let again = s
        .post(
            &format!(
                "/v1/subscriptions/{}/deliveries/{}/redeliver",
                id(&sub),
                id(d)
            ),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.text);
    let got = received(&s, &log, 5).await;
    assert_eq!(got[4].id, got[0].id);

    // A test delivery.
    let ping = s
        .post(&format!("/v1/subscriptions/{}/ping", id(&sub)), &json!({}))
        .await;
    assert_eq!(ping.status, 202, "{}", ping.text);
    let got = received(&s, &log, 6).await;
    assert_eq!(got[5].json()["type"], "ping");
    assert_eq!(got[5].json()["data"]["subscription_id"], sub["id"]);

    // A rotated secret: both the new and the old one sign during the grace period.
    let rotated = s
        .post(
            &format!("/v1/subscriptions/{}/rotate-secret", id(&sub)),
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert!(rotated.body["previous_secret_expires_at"].is_string());
    s.create("/v1/remittances", &remit("EFT-RETRY-2")).await;
    let got = received(&s, &log, 7).await;
    assert_eq!(got[6].signature.split(' ').count(), 2, "{:?}", got[6]);
    assert_eq!(
        verify(&s, &got[6..], &[&new_secret, &secret]),
        [[true, true]]
    );
}
on_both_engines!(a_failing_receiver_gets_the_same_event_until_it_answers);

async fn a_write_that_rolls_back_tells_nothing(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = events_server(engine, dir.path(), &[]).await;
    let (_, claim) = ready_claim(&s).await;
    submit(&s, &claim).await;
    let (url, log) = receiver(|_| 204).await;
    subscribe(&s, &url, &ALL_TYPES).await;
    // Stored first (remittance.received), then the posting finds a line that does not
    // balance: the whole import rolls back, its events with it.
    let unbalanced = partly_denying_835(&pcn_of(&claim), "EFT-ROLLBACK-1")
        .replace("SVC*HC:83036*50*0**1", "SVC*HC:83036*50*1**1");
    let (status, problem) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        unbalanced.into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(log.lock().unwrap().is_empty(), "nothing was told");
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    let stored = revcycle_core::store::events::events_after(
        &mut conn,
        revcycle_core::access::OrgId(org_of(&s).parse().unwrap()),
        0,
        100,
    )
    .unwrap();
    assert!(
        stored
            .iter()
            .all(|e| !e.event_type.starts_with("remittance.")),
        "no remittance event in the outbox: {stored:?}"
    );
    // The same file, balanced, is told.
    let (status, imported) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        partly_denying_835(&pcn_of(&claim), "EFT-ROLLBACK-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    // Received, the claim's move, two denials, posted (records apart may come in any order).
    let got = received(&s, &log, 5).await;
    let mut types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "claim.status_changed",
            "denial.opened",
            "denial.opened",
            "remittance.posted",
            "remittance.received"
        ]
    );
}
on_both_engines!(a_write_that_rolls_back_tells_nothing);

async fn subscriptions_are_guarded_and_a_failing_one_is_disabled(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = events_server(
        engine,
        dir.path(),
        &[("REVCYCLE_EVENTS_DISABLE_AFTER_SECS", "2")],
    )
    .await;
    let (url, log) = receiver(|_| 503).await;

    // Internal addresses are refused, pointing at /url.
    for bad in [
        "http://10.0.0.5/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/",
        "https://192.168.1.20/hook",
        "https://[fd00::1]/hook",
        "https://localhost/hook",
        "ftp://example.com/hook",
    ] {
        let r = s
            .post(
                "/v1/subscriptions",
                &json!({"url": bad, "event_types": ["claim.submitted"]}),
            )
            .await;
        let pointers = r.assert_problem(422);
        assert_eq!(pointers, ["/url"], "{bad}: {}", r.text);
    }
    let r = s
        .post(
            "/v1/subscriptions",
            &json!({"url": url, "event_types": ["no.such_type"]}),
        )
        .await;
    r.assert_problem(422);
    let r = s
        .post("/v1/subscriptions", &json!({"url": url, "event_types": []}))
        .await;
    assert_eq!(r.assert_problem(422), ["/event_types"], "{}", r.text);

    // Admins and billing apps manage subscriptions; other roles are refused.
    let org = org_of(&s);
    let body = json!({"url": url, "event_types": ["claim.submitted"]});
    for (role, expected) in [
        ("biller", 403),
        ("front_desk", 403),
        ("compliance_officer", 403),
        ("ehr_integration", 403),
        ("billing_app", 201),
    ] {
        let t = token(&s, &org, "u1", &[role], &[]);
        let r = s
            .call("POST", "/v1/subscriptions", Some(&t), Some(&body), &[])
            .await;
        assert_eq!(r.status, expected, "{role}: {}", r.text);
        let r = s
            .call("GET", "/v1/subscriptions", Some(&t), None, &[])
            .await;
        assert_eq!(r.status, if expected == 403 { 403 } else { 200 }, "{role}");
    }

    // Another organization's subscription does not exist for this one.
    let sub = subscribe(&s, &url, &["claim.submitted"]).await;
    let (_, foreign) = s.new_org("Other practice");
    let path = format!("/v1/subscriptions/{}", id(&sub));
    for (method, p, b) in [
        ("GET", path.clone(), None),
        ("PUT", path.clone(), Some(body.clone())),
        ("DELETE", path.clone(), None),
        ("POST", format!("{path}/ping"), None),
        ("POST", format!("{path}/rotate-secret"), None),
        ("GET", format!("{path}/deliveries"), None),
    ] {
        let r = s
            .call(
                method,
                &p,
                Some(&foreign),
                b.as_ref(),
                &[("if-match", "\"1\"")],
            )
            .await;
        r.assert_problem(404);
    }
    let theirs = s
        .call("GET", "/v1/subscriptions", Some(&foreign), None, &[])
        .await;
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 0);

    // Versioned: a stale If-Match is 412.
    let r = s
        .put(
            &path,
            "\"1\"",
            &json!({"url": url, "event_types": ["claim.submitted", "denial.opened"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s
        .put(
            &path,
            "\"1\"",
            &json!({"url": url, "event_types": ["claim.submitted"]}),
        )
        .await;
    r.assert_problem(412);

    // A receiver that keeps failing: after two seconds without a success the subscription is
    // disabled, saying why, and an audit event records it.
    let ping = s.post(&format!("{path}/ping"), &json!({})).await;
    assert_eq!(ping.status, 202, "{}", ping.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    let disabled = loop {
        let r = s.get(&path).await;
        if r.body["status"] == "disabled" {
            break r.body;
        }
        assert!(
            Instant::now() < deadline,
            "not disabled: {}\n{}",
            r.text,
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let reason = disabled["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("HTTP 503"), "{reason}");
    assert!(log.lock().unwrap().len() >= 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = s.get("/v1/audit-events?action=subscription.disable").await;
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        if items.iter().any(|e| e["resource_id"] == sub["id"]) {
            break;
        }
        assert!(Instant::now() < deadline, "no audit event: {}", r.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A disabled subscription takes no pings; unpausing enables it again.
    s.post(&format!("{path}/ping"), &json!({}))
        .await
        .assert_problem(409);
    let etag = s.get(&path).await.header("etag").unwrap();
    let r = s
        .put(
            &path,
            &etag,
            &json!({"url": url, "event_types": ["claim.submitted"], "paused": false}),
        )
        .await;
    assert_eq!(r.body["status"], "active", "{}", r.text);
    assert_eq!(r.body["disabled_reason"], Value::Null);

    // Deleted: gone.
    let r = s.call("DELETE", &path, Some(&s.token), None, &[]).await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.get(&path).await.assert_problem(404);
}
on_both_engines!(subscriptions_are_guarded_and_a_failing_one_is_disabled);

async fn real_time_answers_are_told(engine: Engine) {
    let pcn = Arc::new(Mutex::new(String::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let clearinghouse = crate::payer::clearinghouse(pcn.clone(), seen).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "poll_seconds = 1,",
        &format!("poll_seconds = 1, clearinghouse_url = \"{clearinghouse}\","),
    );
    std::fs::write(&toml, text).unwrap();
    let mut env: Vec<(&str, &str)> = EVENTS_ENV.to_vec();
    env.push(("REVCYCLE_CONNECTORS", toml.to_str().unwrap()));
    let s = Server::start_with(engine, &env).await;
    let (url, log) = receiver(|_| 204).await;
    let sub = subscribe(
        &s,
        &url,
        &["eligibility.completed", "claim_status.completed"],
    )
    .await;
    let (p, claim) = ready_claim(&s).await;
    *pcn.lock().unwrap() = pcn_of(&claim);

    let elig = s
        .post(
            &format!(
                "/v1/coverages/{}/eligibility",
                claim["coverage_id"].as_str().unwrap()
            ),
            &json!({"provider_id": p.billing["id"]}),
        )
        .await;
    assert_eq!(elig.status, 200, "{}", elig.text);
    let status = s
        .post(&format!("/v1/claims/{}/status", id(&claim)), &json!({}))
        .await;
    assert_eq!(status.status, 200, "{}", status.text);

    let got = received(&s, &log, 2).await;
    let events: Vec<Value> = got.iter().map(Received::json).collect();
    // Two records apart: in either order.
    let of = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .unwrap_or_else(|| panic!("no {t}"))
    };
    let e = of("eligibility.completed");
    assert_eq!(
        e["data"]["request_exchange_id"],
        elig.body["exchange_ids"][0]
    );
    assert_eq!(
        e["data"]["answer_exchange_id"],
        elig.body["exchange_ids"][1]
    );
    assert_eq!(e["data"]["payer_id"], p.payer["id"]);
    assert_eq!(e["data"]["status"], "processed");
    let e = of("claim_status.completed");
    assert_eq!(e["data"]["claim_id"], claim["id"]);
    assert_eq!(
        e["data"]["answer_exchange_id"],
        status.body["exchange_ids"][1]
    );
    let secret = sub["secret"].as_str().unwrap();
    assert!(verify(&s, &got, &[secret]).iter().all(|v| v == &[true]));
    for r in &got {
        let body = r.body.to_lowercase();
        for phi in [FAMILY, GIVEN, MEMBER_ID, SELF_MEMBER] {
            assert!(!body.contains(&phi.to_lowercase()), "{phi} in {}", r.body);
        }
    }
}
on_both_engines!(real_time_answers_are_told);

/// Two servers on one PostgreSQL, each running its deliverer: every event reaches the
/// receiver exactly once (a delivery is claimed by one server at a time, `SKIP LOCKED`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_deliver_each_event_once_postgres() {
    const EVENTS: usize = 1000;
    let s = Server::start_with(Engine::Postgres, &EVENTS_ENV).await;
    let _second = s.second_instance(&EVENTS_ENV);
    let (url, log) = receiver(|_| 204).await;
    subscribe(&s, &url, &["remittance.received"]).await;
    let p = practice(&s).await;
    let mut created = std::collections::HashSet::new();
    for n in 0..EVENTS {
        let r = s
            .create(
                "/v1/remittances",
                &json!({"payer_id": p.payer["id"], "trace_number": format!("EFT-TWO-{n}"),
                    "payment_date": "2026-11-20", "payment_method": "ACH", "total_paid": "0.00",
                    "claims": []}),
            )
            .await;
        created.insert(r["id"].as_str().unwrap().to_string());
    }
    let got = received(&s, &log, EVENTS).await;
    // Time for a duplicate to show up, were there one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_now = log.lock().unwrap().clone();
    assert_eq!(got_now.len(), EVENTS, "each event once");
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), EVENTS);
    let told: std::collections::HashSet<String> = got
        .iter()
        .map(|r| {
            r.json()["data"]["remittance_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(told, created);
}

/// What is not one record's change is told too: an EHR feed's import (with its counts), a
/// break-glass read (its reason kept out) and a published audit checkpoint, each once, signed,
/// without patient data.
async fn imports_break_glass_and_checkpoints_are_told(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let plugin = revcycle_e2e::plugin_library("revcycle-connector-fhir-r4");
    let toml = dir.path().join("connectors.toml");
    std::fs::write(
        &toml,
        format!(
            "[[connector]]\nname = \"fhir-r4\"\npath = \"{}\"\nsha256 = \"{}\"\n\
             config = {{ source_system = \"urn:test:fhir-events\" }}\n",
            plugin.display(),
            revcycle_connector_abi::host::sha256_hex(&std::fs::read(&plugin).unwrap())
        ),
    )
    .unwrap();
    let mut env: Vec<(&str, &str)> = EVENTS_ENV.to_vec();
    env.push(("REVCYCLE_CONNECTORS", toml.to_str().unwrap()));
    let s = Server::start_with(engine, &env).await;
    let (url, log) = receiver(|_| 204).await;
    let sub = subscribe(
        &s,
        &url,
        &[
            "import.completed",
            "security.break_glass",
            "audit.checkpoint",
        ],
    )
    .await;
    let p = practice(&s).await;

    // A feed of one patient and one resource the connector cannot read.
    let patient = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../connectors/fhir-r4/tests/corpus/hl7.fhir.r4.examples-4.0.1/Patient-example.json"
    ))
    .unwrap();
    let r = s
        .client
        .post(s.url("/v1/connectors/fhir-r4/import"))
        .bearer_auth(&s.token)
        .header("content-type", "application/octet-stream")
        .body(patient)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        report["counts"],
        json!({"created": 1, "updated": 0, "unchanged": 0, "rejected": 0})
    );
    let got = received(&s, &log, 1).await;
    let e = got[0].json();
    assert_eq!(e["type"], "import.completed");
    assert_eq!(
        e["data"],
        json!({"import_id": report["import_id"], "connector": "fhir-r4", "created": 1,
               "updated": 0, "unchanged": 0, "rejected": 0, "issues": 0})
    );

    // A coder breaks the glass to read one patient.
    let org = org_of(&s);
    let coder = token(
        &s,
        &org,
        "coder-1",
        &["coder"],
        &["--scope", "system/Claim.rs revcycle/break_glass"],
    );
    let reason = "Unresponsive in ED, verifying identity Zq7";
    let path = format!("/v1/patients/{}", id(&p.patient));
    let r = s
        .call(
            "GET",
            &path,
            Some(&coder),
            None,
            &[("x-break-glass-reason", reason)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = received(&s, &log, 2).await;
    let e = got[1].json();
    assert_eq!(e["type"], "security.break_glass");
    assert_eq!(e["data"]["resource_type"], "Patient");
    assert_eq!(e["data"]["resource_id"], p.patient["id"]);
    assert_eq!(e["data"]["http_status"], 200);
    // The audit event it names is the read, flagged.
    let trail = s
        .get(&format!("/v1/audit-events?patient_id={}", id(&p.patient)))
        .await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    let read = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == e["data"]["audit_event_id"])
        .unwrap_or_else(|| panic!("no audit event {}", e["data"]["audit_event_id"]));
    assert_eq!(read["break_glass"], true);
    assert_eq!(read["actor"], "coder-1");

    // A checkpoint published now is told with its size and root.
    let r = s
        .call(
            "POST",
            "/v1/audit-events/checkpoint",
            Some(&s.token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lines: Vec<&str> = r.text.lines().collect();
    let (size, root) = (lines[1].parse::<u64>().unwrap(), lines[2]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let told = loop {
        let got = log.lock().unwrap().clone();
        if let Some(e) = got
            .iter()
            .map(Received::json)
            .find(|e| e["type"] == "audit.checkpoint" && e["data"]["size"] == size)
        {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "no audit.checkpoint of size {size}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(told["data"]["root"], root);
    // The same size asked for again is not told again.
    let again = s
        .call(
            "POST",
            "/v1/audit-events/checkpoint",
            Some(&s.token),
            None,
            &[],
        )
        .await;
    assert_eq!(again.status, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = log.lock().unwrap().clone();
    let of_size = all
        .iter()
        .map(Received::json)
        .filter(|e| e["type"] == "audit.checkpoint" && e["data"]["size"] == size)
        .count();
    assert_eq!(of_size, 1);

    let secret = sub["secret"].as_str().unwrap();
    assert!(verify(&s, &all, &[secret]).iter().all(|v| v == &[true]));
    for r in &all {
        let body = r.body.to_lowercase();
        for phi in [
            FAMILY, GIVEN, MRN, SSN, PHONE, EMAIL, STREET, "zq7", "chalmers",
        ] {
            assert!(!body.contains(&phi.to_lowercase()), "{phi} in {}", r.body);
        }
    }
}
on_both_engines!(imports_break_glass_and_checkpoints_are_told);

/// An installment whose due date came while it is unpaid is told once, whichever start of the
/// server looks; one paid in time and one not yet due are not.
async fn installments_fallen_due_are_told_once(engine: Engine) {
    let mut env: Vec<(&str, &str)> = EVENTS_ENV.to_vec();
    // Looked for at each start only, so the test decides when.
    env.push(("REVCYCLE_EVENTS_INSTALLMENTS_CHECK_SECS", "3600"));
    let mut s = Server::start_with(engine, &env).await;
    let (url, log) = receiver(|_| 204).await;
    let sub = subscribe(&s, &url, &["payment_plan.installment_due"]).await;
    let p = practice(&s).await;
    // The patient owes 24.00 after the payer's 96.00.
    let claim = crate::billing::submitted_claim(&s, &p, "2026-11-02").await;
    let rem = s
        .create(
            "/v1/remittances",
            &crate::billing::remittance(&p.payer, &claim, "EFT-DUE", "96.00"),
        )
        .await;
    let posted = s
        .post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let patient = id(&p.patient);
    // Three of 8.00 from 40 days ago: the first and second have fallen due, the third not.
    let first_due = chrono::Utc::now().date_naive() - chrono::Days::new(40);
    let plan = s
        .create(
            &format!("/v1/patients/{patient}/payment-plans"),
            &json!({"installments": 3, "first_due": first_due}),
        )
        .await;
    assert_eq!(plan["installment_amount"], "8.00");
    // The first is paid.
    let paid = s
        .post(
            &format!("/v1/patients/{patient}/payments"),
            &json!({"amount": "8.00"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);

    s.restart_with(&env).await;
    let got = received(&s, &log, 1).await;
    let e = got[0].json();
    assert_eq!(e["type"], "payment_plan.installment_due");
    assert_eq!(
        e["data"],
        json!({"payment_plan_id": plan["id"], "patient_id": p.patient["id"], "installment": 2,
               "due": plan["schedule"][1]["due"], "amount": "8.00", "remaining": "16.00"})
    );
    // Looked for again: nothing new.
    s.restart_with(&env).await;
    let r = s.get("/v1/subscriptions").await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = log.lock().unwrap().clone();
    assert_eq!(all.len(), 1, "told once: {all:?}");
    let secret = sub["secret"].as_str().unwrap();
    assert_eq!(verify(&s, &all, &[secret]), vec![vec![true]]);
}
on_both_engines!(installments_fallen_due_are_told_once);

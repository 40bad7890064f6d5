//! Events to NATS JetStream end to end, against the local NATS server (127.0.0.1:4222, with
//! JetStream): the claim's story reaches a stream the server creates, in order per record,
//! each event once with `Nats-Msg-Id` = its id, on `<prefix>.<org>.<type>`, without patient
//! data. NATS unreachable at first, a server restarted meanwhile, NATS gone mid-way and (on
//! PostgreSQL) two servers publishing: nothing is lost, nothing doubled. Each test uses its own
//! stream and subject prefix, and deletes the stream at the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::events::{EVENTS_ENV, partly_denying_835, story};
use crate::fixtures::{EMAIL, FAMILY, GIVEN, MEMBER_ID, MRN, PHONE, SSN, STREET, id, org_of};
use crate::on_both_engines;
use crate::payer::{
    SELF_MEMBER, accepting_999, connectors_toml, pcn_of, post_raw, processed, ready_claim, submit,
};

const NATS: &str = "127.0.0.1:4222";

/// A TCP relay to the NATS server that can be switched off (connections refused and the open
/// ones cut), standing in for NATS going away and coming back.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (u, o) = (up.clone(), open.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !u.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let h = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(NATS).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                o.lock().unwrap().push(h);
            }
        });
        Relay { port, up, open }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for h in self.open.lock().unwrap().drain(..) {
                h.abort();
            }
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

/// This test's stream: deleted when dropped, whatever the outcome.
struct TestStream {
    name: String,
    prefix: String,
}

impl TestStream {
    fn new() -> TestStream {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        TestStream {
            name: format!("RCTEST_{unique}"),
            prefix: format!("rctest.{unique}"),
        }
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(c) = async_nats::connect(NATS).await {
                    let _ = jetstream::new(c).delete_stream(&name).await;
                }
            });
        })
        .join();
    }
}

/// A message as the stream holds it.
#[derive(Debug, Clone)]
struct Msg {
    subject: String,
    msg_id: String,
    payload: String,
}

impl Msg {
    fn json(&self) -> Value {
        serde_json::from_str(&self.payload).unwrap_or(Value::Null)
    }
}

/// Waits until the stream holds `n` messages, then reads them all with a consumer of its own.
async fn messages(s: &Server, stream: &TestStream, n: u64) -> Vec<Msg> {
    let js = jetstream::new(
        async_nats::connect(NATS)
            .await
            .expect("NATS at 127.0.0.1:4222"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut st = loop {
        if let Ok(mut st) = js.get_stream(&stream.name).await
            && st.info().await.map(|i| i.state.messages).unwrap_or(0) >= n
        {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the stream did not reach {n} messages; health: {}\nlog:\n{}",
            s.get("/health").await.text,
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let held = st.info().await.unwrap().state.messages;
    let consumer = st
        .create_consumer(consumer::pull::Config {
            deliver_policy: consumer::DeliverPolicy::All,
            ack_policy: consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut batch = consumer
        .batch()
        .max_messages(held as usize + 10)
        .expires(Duration::from_secs(2))
        .messages()
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(m) = batch.next().await {
        let m = m.unwrap();
        out.push(Msg {
            subject: m.subject.to_string(),
            msg_id: m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_string())
                .unwrap_or_default(),
            payload: String::from_utf8_lossy(&m.payload).into_owned(),
        });
    }
    assert_eq!(out.len() as u64, held, "read every message of the stream");
    out
}

async fn health_pending(s: &Server) -> i64 {
    let h = s.get("/health").await;
    assert_eq!(h.status, 200, "{}", h.text);
    h.body["nats_pending"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", h.text))
}

/// Each event once, with its id as the message id, on `<prefix>.<org>.<type>`, thin.
fn check_each_once(msgs: &[Msg], stream: &TestStream, org: &str) {
    let mut ids = std::collections::HashSet::new();
    for m in msgs {
        let e = m.json();
        let id = e["id"].as_str().unwrap_or_else(|| panic!("{m:?}"));
        assert!(ids.insert(id.to_string()), "published twice: {m:?}");
        assert_eq!(m.msg_id, id, "{m:?}");
        assert_eq!(
            m.subject,
            format!("{}.{org}.{}", stream.prefix, e["type"].as_str().unwrap()),
            "{m:?}"
        );
        let all = format!("{} {}", m.subject, m.payload).to_lowercase();
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
            assert!(!all.contains(&phi.to_lowercase()), "{phi} in {}", m.payload);
        }
        assert!(!m.payload.contains("patient_id"), "{}", m.payload);
    }
}

async fn remittance(s: &Server, payer: &Value, trace: &str) -> Value {
    s.create(
        "/v1/remittances",
        &json!({"payer_id": payer["id"], "trace_number": trace, "payment_date": "2026-11-20",
            "payment_method": "ACH", "total_paid": "0.00", "claims": []}),
    )
    .await
}

async fn the_claim_flow_reaches_jetstream_once_in_order_whatever_happens(engine: Engine) {
    let stream = TestStream::new();
    let relay = Relay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let url = relay.url();
    let mut env: Vec<(&str, &str)> = EVENTS_ENV.to_vec();
    env.extend([
        ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
        ("REVCYCLE_EVENTS_NATS_URL", url.as_str()),
        ("REVCYCLE_EVENTS_NATS_STREAM", stream.name.as_str()),
        (
            "REVCYCLE_EVENTS_NATS_SUBJECT_PREFIX",
            stream.prefix.as_str(),
        ),
    ]);
    // NATS is unreachable from the start.
    let mut s = Server::start_with(engine, &env).await;
    let org = org_of(&s);

    // The claim: submitted, accepted by a 999, partly paid by an 835 with two denials, one of
    // which is then resolved (as the webhook test drives it).
    let (p, claim) = ready_claim(&s).await;
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
        partly_denying_835(&pcn_of(&claim), "EFT-NATS-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    let remittance_id = imported["remittances"][0]["remittance_id"]
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

    // Nothing could be published: all 11 wait, and the log says why without patient data.
    assert_eq!(health_pending(&s).await, 11);
    assert!(s.log_shows("NATS is unreachable").await, "{}", s.log());

    // The server restarts while they wait; then NATS comes back.
    s.restart_with(&env).await;
    relay.set_up(true);
    let msgs = messages(&s, &stream, 11).await;
    assert_eq!(msgs.len(), 11, "{msgs:#?}");
    check_each_once(&msgs, &stream, &org);
    let events: Vec<Value> = msgs.iter().map(Msg::json).collect();
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
        story(&events, &remittance_id),
        ["remittance.received", "remittance.posted"]
    );
    assert_eq!(story(&events, &denials[0]), ["denial.opened"]);
    assert_eq!(
        story(&events, &denials[1]),
        ["denial.opened", "denial.resolved"]
    );
    // The server created the stream with our subjects and a duplicate window.
    let js = jetstream::new(async_nats::connect(NATS).await.unwrap());
    let mut st = js.get_stream(&stream.name).await.unwrap();
    let info = st.info().await.unwrap();
    assert_eq!(info.config.subjects, [format!("{}.>", stream.prefix)]);
    assert!(info.config.duplicate_window >= Duration::from_secs(120));
    assert_eq!(health_pending(&s).await, 0);

    // NATS goes away mid-way: the event waits, counted, and follows once NATS is back.
    relay.set_up(false);
    let r1 = remittance(&s, &p.payer, "EFT-NATS-2").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(st.info().await.unwrap().state.messages, 11);
    assert_eq!(health_pending(&s).await, 1);
    relay.set_up(true);
    let msgs = messages(&s, &stream, 12).await;
    assert_eq!(msgs.len(), 12);
    check_each_once(&msgs, &stream, &org);
    assert_eq!(msgs[11].json()["data"]["remittance_id"], r1["id"]);

    // On PostgreSQL a second server publishes beside the first: each event still once.
    let mut expected = 12;
    let _second = if engine == Engine::Postgres {
        let second = s.second_instance(&env);
        for i in 0..20 {
            remittance(&s, &p.payer, &format!("EFT-NATS-TWO-{i}")).await;
        }
        expected += 20;
        Some(second)
    } else {
        None
    };
    let msgs = messages(&s, &stream, expected).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        st.info().await.unwrap().state.messages,
        expected,
        "no more than these"
    );
    check_each_once(&msgs, &stream, &org);
    assert_eq!(health_pending(&s).await, 0);
}
on_both_engines!(the_claim_flow_reaches_jetstream_once_in_order_whatever_happens);

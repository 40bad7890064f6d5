//! `revcycle events tail`: an operator follows an organization's events from the outbox, one
//! JSON line per event (the envelope webhooks get), from now or from `--since`, by the
//! organization's id or name; Ctrl-C ends it quietly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use revcycle_e2e::{Engine, Server, revcycle_bin};
use serde_json::{Value, json};

use crate::fixtures::{org_of, practice};
use crate::on_both_engines;

/// A running `revcycle events tail` with its output lines.
struct Tail {
    child: Child,
    lines: Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Tail {
    /// Started, and ready once it says it follows the org.
    fn start(s: &Server, args: &[&str]) -> Tail {
        let mut child = Command::new(revcycle_bin())
            .args(["events", "tail"])
            .args(args)
            .env("REVCYCLE_DATA_DIR", &s.data_dir)
            .env("REVCYCLE_DATABASE_URL", &s.db.url)
            .env("REVCYCLE_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("REVCYCLE_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start revcycle events tail");
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (ready_tx, ready) = channel();
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if l.contains("following the events of organization") {
                    let _ = ready_tx.send(());
                }
                let mut g = sink.lock().unwrap();
                g.push_str(&l);
                g.push('\n');
            }
        });
        let started = ready.recv_timeout(Duration::from_secs(60)).is_ok();
        let tail = Tail {
            child,
            lines,
            stderr,
        };
        assert!(started, "tail did not start: {}", tail.stderr());
        tail
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next line, as JSON.
    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no event line; stderr: {}", self.stderr()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Whether a line arrives within `d`.
    fn quiet_for(&self, d: Duration) -> Option<String> {
        self.lines.recv_timeout(d).ok()
    }

    /// Ctrl-C: it ends at once, successfully, saying nothing more.
    fn interrupt(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(std::time::Instant::now() < deadline, "tail did not end");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(exit.success(), "{exit:?}: {}", self.stderr());
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr();
        assert_eq!(err.lines().count(), 1, "nothing but the start line: {err}");
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

async fn an_operator_tails_an_orgs_events(engine: Engine) {
    let s = Server::start(engine).await;
    let org = org_of(&s);
    let begin = chrono::Utc::now() - chrono::Duration::seconds(1);
    let p = practice(&s).await;
    let before = remittance(&s, &p.payer, "EFT-TAIL-1").await;

    // From now: what committed before is not printed; the next event is, as its envelope.
    let tail = Tail::start(&s, &["--org", &org]);
    let after = remittance(&s, &p.payer, "EFT-TAIL-2").await;
    let e = tail.next();
    assert_eq!(e["type"], "remittance.received", "{e}");
    assert_eq!(e["data"]["remittance_id"], after["id"], "{e}");
    assert_eq!(e["version"], 1);
    assert!(e["id"].is_string() && e["timestamp"].is_string(), "{e}");
    assert_eq!(
        e.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["data", "id", "timestamp", "type", "version"]
    );
    assert_eq!(tail.quiet_for(Duration::from_millis(1500)), None);

    // Another org's events are not its.
    let (other_org, other_token) = s.new_org("Other practice");
    assert_ne!(other_org, org);
    let other = s
        .call(
            "POST",
            "/v1/payers",
            Some(&other_token),
            Some(&json!({"name": "Other payer", "payer_code": "99999", "claim_filing_indicator": "CI", "timely_filing_days": 3650})),
            &[],
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text);
    let r = s
        .call(
            "POST",
            "/v1/remittances",
            Some(&other_token),
            Some(
                &json!({"payer_id": other.body["id"], "trace_number": "EFT-OTHER-1",
                "payment_date": "2026-11-20", "payment_method": "ACH", "total_paid": "0.00",
                "claims": []}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(tail.quiet_for(Duration::from_millis(1500)), None);
    tail.interrupt();

    // From a point in time, by the org's name: both, oldest first, then what follows.
    let name = s
        .admin(&["org", "list"])
        .lines()
        .find(|l| l.starts_with(&org))
        .and_then(|l| l.split('\t').nth(1))
        .unwrap()
        .to_string();
    let since = begin.to_rfc3339();
    let tail = Tail::start(&s, &["--org", &name, "--since", &since]);
    assert_eq!(tail.next()["data"]["remittance_id"], before["id"]);
    assert_eq!(tail.next()["data"]["remittance_id"], after["id"]);
    let third = remittance(&s, &p.payer, "EFT-TAIL-3").await;
    assert_eq!(tail.next()["data"]["remittance_id"], third["id"]);
    assert_eq!(tail.quiet_for(Duration::from_millis(1000)), None);
    tail.interrupt();

    // An unknown organization is refused.
    let out = s.admin_output(&["events", "tail", "--org", "No such practice"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no organization named"), "{err}");
}
on_both_engines!(an_operator_tails_an_orgs_events);

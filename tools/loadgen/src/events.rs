//! `--mode events`: what the transactional outbox and webhook delivery cost, and how fast
//! events reach a receiver. For each engine, two servers of the same release build run side by
//! side: one whose organization has no subscription and one with a subscription to a receiver
//! on loopback (this process). Rounds of writes that each emit an event (a remittance entered
//! by hand: `remittance.received`) alternate between them at each `--concurrency`; the ratio
//! is writes/s with one subscription over writes/s with none, while the deliverer of the
//! subscribed server sends to the receiver. The same rounds then run with the subscription
//! paused (events are written and fanned out into deliveries, nothing is sent): the outbox's
//! own cost, apart from sending. Then the subscription is paused, `--records`
//! events are written, and it is unpaused: the time until the receiver has every one of them
//! gives events delivered per second.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use revcycle_e2e::{Engine, Server};
use serde_json::json;

use super::{Args, Round, Workload, engine_name, median, peak_rss_mb, round};

/// A receiver answering every request 204 (HTTP/1.1, keep-alive), counting them; its URL.
fn receiver() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().expect("address").port()
    );
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || serve(conn, &counted));
        }
    });
    (url, count)
}

fn serve(conn: std::net::TcpStream, count: &AtomicUsize) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // The request line and headers, up to the empty line.
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        count.fetch_add(1, Ordering::Relaxed);
        if out
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

async fn server(engine: Engine, args: &Args) -> (Arc<Server>, Arc<Vec<String>>) {
    let workers = args.workers.to_string();
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_WORKERS", workers.as_str()),
            ("REVCYCLE_LOG", "warn"),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
            ("REVCYCLE_EVENTS_ALLOWED_HOSTS", "127.0.0.1"),
        ],
    )
    .await;
    let payer = s
        .create(
            "/v1/payers",
            &json!({"name": "Acme Health Plan", "payer_code": "60054", "claim_filing_indicator": "CI"}),
        )
        .await;
    let payer = payer["id"].as_str().expect("payer id").to_string();
    (Arc::new(s), Arc::new(vec![payer]))
}

/// Sets the subscription's `paused`, compare-and-set on its ETag.
async fn set_paused(s: &Server, id: &str, url: &str, paused: bool) {
    let path = format!("/v1/subscriptions/{id}");
    let cur = s.get(&path).await;
    let etag = cur.header("etag").expect("ETag");
    let r = s
        .call(
            "PUT",
            &path,
            Some(&s.token),
            Some(&json!({"url": url, "event_types": ["remittance.received"], "paused": paused})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Waits until the receiver has seen nothing new for 2 s (at most 5 minutes): the backlog of
/// earlier rounds is delivered.
async fn drain(count: &AtomicUsize) {
    let drained = Instant::now() + Duration::from_secs(300);
    let mut last = usize::MAX;
    while Instant::now() < drained {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = count.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
}

/// `--rounds` rounds of writes at `concurrency`, alternating between the subscribed server and
/// the plain one; their rounds in that order.
async fn alternate(
    subscribed: &Arc<Server>,
    s_ids: &Arc<Vec<String>>,
    plain: &Arc<Server>,
    p_ids: &Arc<Vec<String>>,
    args: &Args,
    concurrency: usize,
) -> (Vec<Round>, Vec<Round>) {
    let (mut a, mut p) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        for (s, ids, out) in [(subscribed, s_ids, &mut a), (plain, p_ids, &mut p)] {
            out.push(
                round(
                    s.clone(),
                    Workload::Remittance,
                    ids.clone(),
                    0,
                    args,
                    concurrency,
                )
                .await,
            );
        }
    }
    (a, p)
}

/// One line of the table: median writes/s of each server, their ratio and median p99s.
fn print_ratio(name: &str, concurrency: usize, a: &[Round], p: &[Round], note: &str) {
    let a_rps = median(a.iter().map(|r| r.rps).collect());
    let p_rps = median(p.iter().map(|r| r.rps).collect());
    let p99 = |v: &[Round]| median(v.iter().map(|r| r.p99.as_secs_f64() * 1e3).collect());
    println!(
        "{:<9} {:>5} {:>18.0} {:>16.0} {:>7.1}% {:>11.2} ms {:>9.2} ms {:>20}",
        name,
        concurrency,
        a_rps,
        p_rps,
        100.0 * a_rps / p_rps,
        p99(a),
        p99(p),
        note
    );
}

pub async fn events_cost(args: &Args) {
    println!(
        "outbox and webhooks: writes emitting one event each (POST /v1/remittances), {} s x {} rounds each, server workers {}",
        args.seconds, args.rounds, args.workers
    );
    println!(
        "{:<9} {:>5} {:>18} {:>16} {:>8} {:>14} {:>12} {:>20}",
        "engine",
        "conns",
        "1 subscription w/s",
        "no subscr. w/s",
        "ratio",
        "p99 subscr.",
        "p99 none",
        "delivered meanwhile"
    );
    let (url, count) = receiver();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let name = engine_name(engine);
        if args.engines != "both" && args.engines != name {
            continue;
        }
        let (plain, p_ids) = server(engine, args).await;
        let (subscribed, s_ids) = server(engine, args).await;
        let sub = subscribed
            .create(
                "/v1/subscriptions",
                &json!({"url": url, "event_types": ["remittance.received"], "description": "benchmark"}),
            )
            .await;
        let sub = sub["id"].as_str().expect("subscription id").to_string();
        for &concurrency in &args.concurrency {
            let before = count.load(Ordering::Relaxed);
            let (a, p) = alternate(&subscribed, &s_ids, &plain, &p_ids, args, concurrency).await;
            let delivered = count.load(Ordering::Relaxed) - before;
            let writes: f64 = a.iter().map(|r| r.rps * args.seconds as f64).sum();
            let note = format!("{delivered:>11} of {writes:>6.0}");
            print_ratio(name, concurrency, &a, &p, &note);
        }
        drain(&count).await;
        // The outbox alone: the same rounds with the subscription paused, so each event is still
        // fanned out into its delivery but nothing is sent. The gap between this
        // ratio and the one above is what sending costs while writes run on the same cores.
        set_paused(&subscribed, &sub, &url, true).await;
        for &concurrency in &args.concurrency {
            let (a, p) = alternate(&subscribed, &s_ids, &plain, &p_ids, args, concurrency).await;
            print_ratio(name, concurrency, &a, &p, "paused: outbox only");
        }
        set_paused(&subscribed, &sub, &url, false).await;
        drain(&count).await;
        // Delivery alone: events written while paused, then sent after unpausing.
        set_paused(&subscribed, &sub, &url, true).await;
        let n = args.records;
        let base = count.load(Ordering::Relaxed);
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let s = subscribed.clone();
            let ids = s_ids.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    super::write_remittance(&s, &ids[0]).await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("writer");
        }
        let started = Instant::now();
        set_paused(&subscribed, &sub, &url, false).await;
        let deadline = started + Duration::from_secs(600);
        while count.load(Ordering::Relaxed) < base + n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = count.load(Ordering::Relaxed) - base;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:<9} delivery: {} of {} waiting events delivered in {:.2} s after unpausing: {:.0} events/s",
            name,
            got,
            n,
            secs,
            got as f64 / secs
        );
        let rss = |s: &Server| {
            peak_rss_mb(s.pid())
                .map(|m| format!("{m:.0} MB"))
                .unwrap_or_else(|| "unknown".into())
        };
        println!(
            "{:<9} peak RSS: subscribed server {}, server without subscriptions {}",
            name,
            rss(&subscribed),
            rss(&plain)
        );
    }
}

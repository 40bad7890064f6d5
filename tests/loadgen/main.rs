//! Load generator: measures the API on this machine in one run, side by side.
//!
//! Starts a release `revcycle serve` on a fresh SQLite database (field encryption on), then
//! alternates rounds of: patient create, patient read by id, and a fixed JSON document of the
//! same size served by the same server with no database and no crypto (the ceiling). Prints
//! requests/s, p50 and p99 per workload (median over rounds) and each one's ratio to the ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use revcycle_e2e::{Engine, Server};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per workload per round.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Rounds (workloads alternate within each round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Workload {
    Create,
    Read,
    Ceiling,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Create => "patient create (encrypted, SQLite)",
            Workload::Read => "patient read by id (decrypted, SQLite)",
            Workload::Ceiling => "fixed JSON, no database, no crypto",
        }
    }
}

struct Round {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn patient(n: usize) -> serde_json::Value {
    json!({"mrn": format!("BENCH-{n:09}-{}", uuid::Uuid::now_v7().simple()), "family_name": "Benchmark",
        "given_name": "Load", "birth_date": "1970-01-01", "sex": "U", "phone": "2175550100",
        "ssn": "123-45-6789", "address": {"line1": "1 Load St", "city": "Springfield", "state": "IL", "zip": "62704"}})
}

async fn round(
    s: Arc<Server>,
    w: Workload,
    ids: Arc<Vec<String>>,
    body_bytes: usize,
    args: &Args,
) -> Round {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let counter = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..args.concurrency {
        let s = s.clone();
        let ids = ids.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                let status = match w {
                    Workload::Create => {
                        s.client
                            .post(s.url("/v1/patients"))
                            .bearer_auth(&s.token)
                            .header("content-type", "application/json")
                            .body(patient(n).to_string())
                            .send()
                            .await
                    }
                    Workload::Read => {
                        s.client
                            .get(s.url(&format!("/v1/patients/{}", ids[n % ids.len()])))
                            .bearer_auth(&s.token)
                            .send()
                            .await
                    }
                    Workload::Ceiling => {
                        s.client
                            .get(s.url(&format!("/_bench/static?bytes={body_bytes}")))
                            .send()
                            .await
                    }
                };
                let resp = status.expect("request");
                let code = resp.status().as_u16();
                let _ = resp.bytes().await.expect("body");
                assert!(code == 200 || code == 201, "unexpected status {code}");
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Round {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let workers = args.workers.to_string();
    let s = Arc::new(
        Server::start_with(
            Engine::Sqlite,
            &[
                ("REVCYCLE_BENCH_ROUTES", "1"),
                ("REVCYCLE_WORKERS", &workers),
                ("REVCYCLE_LOG", "warn"),
                // One client sends everything here: keep the limiter in the path (its cost is
                // part of every request) but with a budget this run cannot exhaust.
                ("REVCYCLE_RATE_LIMIT_PER_SECOND", "10000000"),
                ("REVCYCLE_RATE_LIMIT_BURST", "10000000"),
            ],
        )
        .await,
    );
    // Seed patients to read, and learn the size of one patient document.
    let mut ids = Vec::new();
    for n in 0..500 {
        let p = s.create("/v1/patients", &patient(1_000_000 + n)).await;
        ids.push(p["id"].as_str().expect("id").to_string());
    }
    let sample = s.get(&format!("/v1/patients/{}", ids[0])).await;
    let body_bytes = sample.text.len();
    let ids = Arc::new(ids);
    println!(
        "revcycle load generator: {} connections, {} s x {} rounds per workload, server workers {}, body {} bytes",
        args.concurrency, args.seconds, args.rounds, args.workers, body_bytes
    );
    let workloads = [Workload::Ceiling, Workload::Read, Workload::Create];
    let mut results: Vec<Vec<Round>> = workloads.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.rounds {
        for (i, w) in workloads.iter().enumerate() {
            results[i].push(round(s.clone(), *w, ids.clone(), body_bytes, &args).await);
        }
    }
    let ceiling = median(results[0].iter().map(|r| r.rps).collect());
    println!(
        "{:<42} {:>10} {:>10} {:>10} {:>12}",
        "workload", "req/s", "p50 ms", "p99 ms", "vs ceiling"
    );
    for (i, w) in workloads.iter().enumerate() {
        let rps = median(results[i].iter().map(|r| r.rps).collect());
        let p50 = median(
            results[i]
                .iter()
                .map(|r| r.p50.as_secs_f64() * 1e3)
                .collect(),
        );
        let p99 = median(
            results[i]
                .iter()
                .map(|r| r.p99.as_secs_f64() * 1e3)
                .collect(),
        );
        println!(
            "{:<42} {:>10.0} {:>10.2} {:>10.2} {:>11.1}%",
            w.name(),
            rps,
            p50,
            p99,
            100.0 * rps / ceiling
        );
    }
}

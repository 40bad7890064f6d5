//! Load generator: measures the API on this machine in one run, side by side.
//!
//! `--mode api` (default): starts a release `revcycle serve` on a fresh SQLite database (field
//! encryption on), then alternates rounds of: patient create, patient read by id, and a fixed
//! JSON document of the same size served by the same server with no database and no crypto
//! (the ceiling). Prints requests/s, p50 and p99 per workload (median over rounds) and each
//! one's ratio to the ceiling.
//!
//! `--mode audit`: what auditing costs. For SQLite and then PostgreSQL, starts two servers of
//! the same benchmark build (feature `unaudited-benchmark`), one auditing as always and one
//! with auditing switched off, and alternates rounds of patient reads against each. Prints
//! audited reads/s as a share of unaudited.

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
    /// `api` (reads, creates, ceiling) or `audit` (audited vs unaudited reads).
    #[arg(long, default_value = "api")]
    mode: String,
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
    if args.mode == "audit" {
        return audit_cost(&args).await;
    }
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

async fn seeded(engine: Engine, args: &Args, audited: bool) -> (Arc<Server>, Arc<Vec<String>>) {
    let workers = args.workers.to_string();
    let mut env = vec![
        ("REVCYCLE_WORKERS", workers.as_str()),
        ("REVCYCLE_LOG", "warn"),
        ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
    ];
    if !audited {
        env.push(("REVCYCLE_UNAUDITED_BENCHMARK", "1"));
    }
    let s = Server::start_with(engine, &env).await;
    let mut ids = Vec::new();
    for n in 0..200 {
        let p = s.create("/v1/patients", &patient(2_000_000 + n)).await;
        ids.push(p["id"].as_str().expect("id").to_string());
    }
    (Arc::new(s), Arc::new(ids))
}

async fn audit_cost(args: &Args) {
    // Safe: set before any thread that reads the environment starts.
    unsafe { std::env::set_var("REVCYCLE_E2E_BIN_FEATURES", "unaudited-benchmark") };
    println!(
        "audited vs unaudited patient reads: {} connections, {} s x {} rounds each, server workers {}",
        args.concurrency, args.seconds, args.rounds, args.workers
    );
    println!(
        "{:<12} {:>16} {:>18} {:>10} {:>14} {:>16}",
        "engine", "audited req/s", "unaudited req/s", "ratio", "audited p99", "unaudited p99"
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let (audited, a_ids) = seeded(engine, args, true).await;
        let (plain, p_ids) = seeded(engine, args, false).await;
        let (mut a, mut p) = (Vec::new(), Vec::new());
        for _ in 0..args.rounds {
            a.push(round(audited.clone(), Workload::Read, a_ids.clone(), 0, args).await);
            p.push(round(plain.clone(), Workload::Read, p_ids.clone(), 0, args).await);
        }
        let a_rps = median(a.iter().map(|r| r.rps).collect());
        let p_rps = median(p.iter().map(|r| r.rps).collect());
        let p99 = |v: &[Round]| median(v.iter().map(|r| r.p99.as_secs_f64() * 1e3).collect());
        println!(
            "{:<12} {:>16.0} {:>18.0} {:>9.1}% {:>11.2} ms {:>13.2} ms",
            match engine {
                Engine::Sqlite => "sqlite",
                Engine::Postgres => "postgresql",
            },
            a_rps,
            p_rps,
            100.0 * a_rps / p_rps,
            p99(&a),
            p99(&p)
        );
    }
}

//! Load generator: measures the API on this machine in one run, side by side.
//!
//! `--mode api` (default): starts a release `revcycle serve` on a fresh database of each
//! `--engines` (field encryption on), then alternates rounds of: patient create, patient read by id, and a fixed
//! JSON document of the same size served by the same server with no database and no crypto
//! (the ceiling). Prints requests/s, p50 and p99 per workload (median over rounds) and each
//! one's ratio to the ceiling.
//!
//! `--mode audit`: what auditing costs. For SQLite and then PostgreSQL, starts two servers of
//! the same benchmark build (feature `unaudited-benchmark`), one auditing as always and one
//! with auditing switched off, and alternates rounds of patient reads and of patient creates
//! against each, at each `--concurrency` given (`16,64,128` sweeps). Prints audited req/s as
//! a share of unaudited, p99s, and each server's peak RSS. `--prefill-audit-events N` first
//! grows the audited server's trail to N events behind its back, so that its connections
//! (opened while the tables were empty) meet a grown table with the plans and statistics
//! they had (autovacuum is off on the machines we measure on). `--baseline untreed` compares
//! instead with a server that audits without the Merkle tree and its checkpoints (both then
//! get the prefilled trail): the share of the audit cost that the tree is. `--baseline
//! audited --baseline-prefill-audit-events M` compares with a second audited server whose
//! trail holds M events instead: whether writes slow down as the trail grows, side by side in
//! one run (two separate runs differ by as much as the machine's speed does between them).
//!
//! `--mode prefill --database-url URL --org ID --prefill-audit-events N`: only grows that
//! org's trail (used by `tests/bench/wrk.sh`).
//!
//! `--mode events`: writes with one webhook subscription against writes with none, and events
//! delivered per second to a receiver on loopback (see `events.rs`).
//!
//! `--mode import`: a FHIR R4 Bulk NDJSON export of `--records` patients and an HL7 v2 batch of
//! as many ADT^A28 messages, each imported through its plugin (loaded from its `.so`) into an
//! empty SQLite database, then once more (every record unchanged). Prints records/s.
//!
//! `--mode reports`: `--claims` claims with their remittances and denials written through the
//! core store, then each report timed through the server (see [`reports`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use revcycle_e2e::{Engine, Server};
use serde_json::json;

mod events;
mod reports;

#[derive(Parser)]
struct Args {
    /// Concurrent connections; several separated by commas are measured one after another.
    #[arg(long, value_delimiter = ',', default_values_t = [32])]
    concurrency: Vec<usize>,
    /// `--mode audit`: audit events written to the audited server's trail before measuring.
    #[arg(long, default_value_t = 0)]
    prefill_audit_events: u64,
    /// `--mode audit --baseline audited`: audit events written to the baseline server's trail.
    #[arg(long, default_value_t = 0)]
    baseline_prefill_audit_events: u64,
    /// `--mode audit`: the servers' `REVCYCLE_AUDIT_WRITERS` (PostgreSQL writer connections).
    #[arg(long)]
    audit_writers: Option<usize>,
    /// `--mode prefill`: the database whose trail to grow (a server may be running on it).
    #[arg(long)]
    database_url: Option<String>,
    /// `--mode prefill`: the org whose trail to grow.
    #[arg(long)]
    org: Option<uuid::Uuid>,
    /// Seconds per workload per round.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Rounds (workloads alternate within each round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// `api` (reads, creates, ceiling), `audit` (audited vs unaudited reads), `events`
    /// (writes with a webhook subscription vs without, delivery rate), `import` (records/s
    /// imported through the FHIR R4 and HL7 v2 plugins) or `reports` (each report timed over a
    /// generated practice of `--claims` claims).
    #[arg(long, default_value = "api")]
    mode: String,
    /// Engines measured in `--mode api` and `--mode audit`: `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    engines: String,
    /// Records per feed in `--mode import`; events written while paused in `--mode events`.
    #[arg(long, default_value_t = 2000)]
    records: usize,
    /// `--mode audit`: what the audited server is compared with: `unaudited` (auditing off),
    /// `untreed` (audited, without the Merkle tree and its checkpoints, to measure their
    /// share; both servers then get the prefilled trail) or `audited` (audited as well, its
    /// trail prefilled with `--baseline-prefill-audit-events`).
    #[arg(long, default_value = "unaudited")]
    baseline: String,
    /// `--mode reports`: claims in the generated practice.
    #[arg(long, default_value_t = 100_000)]
    claims: usize,
    /// `--mode reports`, SQLite: a copy of the generated practice's database is written to
    /// this file (to study the reports' query plans with `sqlite3`).
    #[arg(long)]
    keep_database: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, PartialEq)]
enum Workload {
    Create,
    Read,
    Ceiling,
    /// A remittance entered by hand (no claims): one `remittance.received` event each.
    Remittance,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Create => "patient create (encrypted)",
            Workload::Read => "patient read by id (decrypted)",
            Workload::Ceiling => "fixed JSON, no database, no crypto",
            Workload::Remittance => "remittance create (one event)",
        }
    }
}

struct Round {
    rps: f64,
    p50: Duration,
    p99: Duration,
    /// The server process's CPU time and context switches per request, by thread group (see
    /// [`cpu_by_thread`]).
    cpu_per_req: std::collections::BTreeMap<String, Duration>,
    switches_per_req: std::collections::BTreeMap<String, f64>,
}

/// CPU time (user + system) each thread of a process has used and its context switches
/// (voluntary or not), by thread name with digits dropped (`audit-writer-0` counts as
/// `audit-writer-`), from /proc (Linux); empty elsewhere.
fn cpu_by_thread(pid: u32) -> ThreadUse {
    // Clock ticks are 100 per second on Linux.
    let ticks = |stat: &str| -> u64 {
        // The fields after the command name (which may hold spaces) start after its ')'.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of stat: 12 and 13 after the state field.
        n(11) + n(12)
    };
    let mut out = ThreadUse::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let name: String = comm
                .trim()
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            let used = std::fs::read_to_string(t.path().join("stat"))
                .map(|s| ticks(&s))
                .unwrap_or(0);
            let switches: u64 = std::fs::read_to_string(t.path().join("status"))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
            let e = out.entry(name).or_insert((Duration::ZERO, 0));
            e.0 += Duration::from_millis(used * 10);
            e.1 += switches;
        }
    }
    out
}

type ThreadUse = std::collections::BTreeMap<String, (Duration, u64)>;

/// What each thread group used between two readings of [`cpu_by_thread`].
fn cpu_used(before: &ThreadUse, after: &ThreadUse) -> ThreadUse {
    after
        .iter()
        .map(|(k, v)| {
            let was = before.get(k).copied().unwrap_or((Duration::ZERO, 0));
            (
                k.clone(),
                (v.0.saturating_sub(was.0), v.1.saturating_sub(was.1)),
            )
        })
        .collect()
}

/// A remittance of `payer` with a trace number of its own and no claims.
fn remittance_request(s: &Server, payer: &str) -> reqwest::RequestBuilder {
    let body = json!({"payer_id": payer, "trace_number": format!("EFT-{}", uuid::Uuid::now_v7().simple()),
        "payment_date": "2026-11-20", "payment_method": "ACH", "total_paid": "0.00", "claims": []});
    s.client
        .post(s.url("/v1/remittances"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(body.to_string())
}

async fn write_remittance(s: &Server, payer: &str) {
    let r = remittance_request(s, payer).send().await.expect("request");
    assert_eq!(r.status().as_u16(), 201, "remittance create");
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
    concurrency: usize,
) -> Round {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let counter = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let cpu_before = cpu_by_thread(s.pid());
    let started = Instant::now();
    for _ in 0..concurrency {
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
                    Workload::Remittance => remittance_request(&s, &ids[0]).send().await,
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
    let count = all.len().max(1) as u32;
    let used = cpu_used(&cpu_before, &cpu_by_thread(s.pid()));
    let cpu_per_req = used.iter().map(|(k, v)| (k.clone(), v.0 / count)).collect();
    let switches_per_req = used
        .iter()
        .map(|(k, v)| (k.clone(), v.1 as f64 / count as f64))
        .collect();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Round {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        cpu_per_req,
        switches_per_req,
    }
}

/// The median over rounds of the server's CPU microseconds per request.
fn total_us(rounds: &[Round]) -> f64 {
    median(
        rounds
            .iter()
            .map(|r| r.cpu_per_req.values().sum::<Duration>().as_secs_f64() * 1e6)
            .collect(),
    )
}

/// The median over rounds of each thread group's CPU microseconds and context switches per
/// request, largest first.
fn by_thread_us(rounds: &[Round]) -> String {
    let names: std::collections::BTreeSet<&String> =
        rounds.iter().flat_map(|r| r.cpu_per_req.keys()).collect();
    let mut groups: Vec<(f64, f64, &String)> = names
        .into_iter()
        .map(|n| {
            let us = median(
                rounds
                    .iter()
                    .map(|r| r.cpu_per_req.get(n).map_or(0.0, |d| d.as_secs_f64() * 1e6))
                    .collect(),
            );
            let switches = median(
                rounds
                    .iter()
                    .map(|r| r.switches_per_req.get(n).copied().unwrap_or(0.0))
                    .collect(),
            );
            (us, switches, n)
        })
        .filter(|(us, switches, _)| *us >= 1.0 || *switches >= 0.1)
        .collect();
    groups.sort_by(|a, b| b.0.total_cmp(&a.0));
    groups
        .iter()
        .map(|(us, switches, n)| format!("{n} {us:.0} us {switches:.2} cs"))
        .collect::<Vec<_>>()
        .join(", ")
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
    if args.mode == "import" {
        return import_rate(&args).await;
    }
    if args.mode == "events" {
        return events::events_cost(&args).await;
    }
    if args.mode == "reports" {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            if args.engines == "both" || args.engines == engine_name(engine) {
                reports::reports(
                    engine,
                    args.claims,
                    args.rounds,
                    args.workers,
                    args.keep_database.as_deref(),
                )
                .await;
            }
        }
        return;
    }
    if args.mode == "prefill" {
        let (Some(url), Some(org)) = (&args.database_url, args.org) else {
            panic!("--mode prefill needs --database-url and --org");
        };
        return prefill_trail(url, org, args.prefill_audit_events);
    }
    for engine in [Engine::Sqlite, Engine::Postgres] {
        if args.engines != "both" && args.engines != engine_name(engine) {
            continue;
        }
        api_mode(&args, engine).await;
    }
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

async fn api_mode(args: &Args, engine: Engine) {
    let workers = args.workers.to_string();
    let s = Arc::new(
        Server::start_with(
            engine,
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
    for &concurrency in &args.concurrency {
        println!("engine {}", engine_name(engine));
        api_rounds(&s, &ids, body_bytes, args, concurrency).await;
    }
}

async fn api_rounds(
    s: &Arc<Server>,
    ids: &Arc<Vec<String>>,
    body_bytes: usize,
    args: &Args,
    concurrency: usize,
) {
    println!(
        "revcycle load generator: {} connections, {} s x {} rounds per workload, server workers {}, body {} bytes",
        concurrency, args.seconds, args.rounds, args.workers, body_bytes
    );
    let workloads = [Workload::Ceiling, Workload::Read, Workload::Create];
    let mut results: Vec<Vec<Round>> = workloads.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.rounds {
        for (i, w) in workloads.iter().enumerate() {
            results[i].push(round(s.clone(), *w, ids.clone(), body_bytes, args, concurrency).await);
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

/// How a server of `--mode audit` runs.
#[derive(Clone, Copy, PartialEq)]
enum Auditing {
    Full,
    Off,
    WithoutTree,
}

async fn seeded(
    engine: Engine,
    args: &Args,
    auditing: Auditing,
) -> (Arc<Server>, Arc<Vec<String>>) {
    let workers = args.workers.to_string();
    let mut env = vec![
        ("REVCYCLE_WORKERS", workers.as_str()),
        // With debug for the audit writer, the batch sizes of its group commits are counted.
        (
            "REVCYCLE_LOG",
            "warn,revcycle_core::store::audit_writer=debug",
        ),
        ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
    ];
    match auditing {
        Auditing::Full => {}
        Auditing::Off => env.push(("REVCYCLE_UNAUDITED_BENCHMARK", "1")),
        Auditing::WithoutTree => env.push(("REVCYCLE_UNTREED_BENCHMARK", "1")),
    }
    let writers = args.audit_writers.map(|n| n.to_string());
    if let Some(n) = &writers {
        env.push(("REVCYCLE_AUDIT_WRITERS", n.as_str()));
    }
    let s = Server::start_with(engine, &env).await;
    let mut ids = Vec::new();
    for n in 0..200 {
        let p = s.create("/v1/patients", &patient(2_000_000 + n)).await;
        ids.push(p["id"].as_str().expect("id").to_string());
    }
    (Arc::new(s), Arc::new(ids))
}

/// Grows `s`'s audit trail by `n` events of its org, chained, linked to their patients and in
/// its Merkle tree as the server would have done, through a connection of our own.
fn prefill_audit(s: &Server, n: u64) {
    let org: uuid::Uuid = s
        .admin(&["org", "list"])
        .lines()
        .next()
        .and_then(|l| l.split('\t').next())
        .and_then(|id| id.parse().ok())
        .expect("the server's org");
    prefill_trail(&s.db.url, org, n);
}

/// Grows `org`'s trail in the database at `url` by `n` events (see [`prefill_audit`]).
fn prefill_trail(url: &str, org: uuid::Uuid, n: u64) {
    use revcycle_core::audit::AuditEvent;
    use revcycle_core::store;
    let mut conn = store::connect(url).expect("connect");
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let k = (n - done).min(5000);
        let events = (0..k)
            .map(|_| {
                let patient = uuid::Uuid::now_v7();
                let mut e = AuditEvent::now(org, "prefill", "read");
                e.resource_type = Some("Patient".into());
                e.resource_id = Some(patient.to_string());
                e.patient_ids = vec![patient];
                e.fields_disclosed = vec!["family_name".into(), "birth_date".into()];
                e.http_status = 200;
                e
            })
            .collect();
        store::write_transaction(&mut conn, |c| store::audit::append(c, events))
            .expect("prefill the trail");
        done += k;
        if done % 100_000 == 0 || done == n {
            eprintln!("prefilled {done}/{n} audit events");
        }
    }
    while store::audit::index_patients(&mut conn, org).expect("link the prefill") > 0 {}
    // The server's follower would have grown the tree behind the appends.
    store::audit_tree::follow(&mut conn, org, None).expect("grow the prefill's tree");
    eprintln!("prefill done in {:.1} s", started.elapsed().as_secs_f64());
}

/// Peak resident memory of a process, from /proc (Linux), in MB.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

async fn audit_cost(args: &Args) {
    // Safe: set before any thread that reads the environment starts.
    unsafe { std::env::set_var("REVCYCLE_E2E_BIN_FEATURES", "unaudited-benchmark") };
    let (baseline, base_name) = match args.baseline.as_str() {
        "unaudited" => (Auditing::Off, "unaudited"),
        "untreed" => (Auditing::WithoutTree, "untreed"),
        "audited" => (Auditing::Full, "baseline"),
        other => panic!("--baseline is `unaudited`, `untreed` or `audited`, not `{other}`"),
    };
    // Refused before any server is built and seeded.
    assert!(
        args.baseline_prefill_audit_events == 0 || args.baseline == "audited",
        "--baseline-prefill-audit-events needs --baseline audited"
    );
    println!(
        "audited vs {base_name}: {} s x {} rounds each, server workers {}, {} audit events prefilled ({} in the baseline's trail)",
        args.seconds,
        args.rounds,
        args.workers,
        args.prefill_audit_events,
        args.baseline_prefill_audit_events
    );
    println!(
        "{:<11} {:>5} {:<7} {:>14} {:>16} {:>8} {:>13} {:>15} {:>22}",
        "engine",
        "conns",
        "work",
        "audited req/s",
        format!("{base_name} req/s"),
        "ratio",
        "audited p99",
        format!("{base_name} p99"),
        "server CPU us/req"
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let wanted = engine_name(engine);
        if args.engines != "both" && args.engines != wanted {
            continue;
        }
        let (audited, a_ids) = seeded(engine, args, Auditing::Full).await;
        let (plain, p_ids) = seeded(engine, args, baseline).await;
        if args.prefill_audit_events > 0 {
            prefill_audit(&audited, args.prefill_audit_events);
            if baseline == Auditing::WithoutTree {
                prefill_audit(&plain, args.prefill_audit_events);
            }
        }
        if args.baseline_prefill_audit_events > 0 {
            prefill_audit(&plain, args.baseline_prefill_audit_events);
        }
        for &concurrency in &args.concurrency {
            for w in [Workload::Read, Workload::Create] {
                let (mut a, mut p) = (Vec::new(), Vec::new());
                for _ in 0..args.rounds {
                    a.push(round(audited.clone(), w, a_ids.clone(), 0, args, concurrency).await);
                    p.push(round(plain.clone(), w, p_ids.clone(), 0, args, concurrency).await);
                }
                let a_rps = median(a.iter().map(|r| r.rps).collect());
                let p_rps = median(p.iter().map(|r| r.rps).collect());
                let p99 =
                    |v: &[Round]| median(v.iter().map(|r| r.p99.as_secs_f64() * 1e3).collect());
                let cpu = format!("{:.0} / {:.0}", total_us(&a), total_us(&p));
                println!(
                    "{:<11} {:>5} {:<7} {:>14.0} {:>16.0} {:>7.1}% {:>10.2} ms {:>12.2} ms {:>22}",
                    wanted,
                    concurrency,
                    match w {
                        Workload::Read => "read",
                        _ => "create",
                    },
                    a_rps,
                    p_rps,
                    100.0 * a_rps / p_rps,
                    p99(&a),
                    p99(&p),
                    cpu
                );
                println!(
                    "{:<11} server CPU and context switches per request by thread: audited {}; {base_name} {}",
                    "",
                    by_thread_us(&a),
                    by_thread_us(&p)
                );
            }
        }
        let log = audited.log();
        let field = |l: &str, name: &str| -> Option<u64> {
            l.split(&format!("{name}="))
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("audit batch committed"))
            .collect();
        let batches: Vec<u64> = lines.iter().filter_map(|l| field(l, "events")).collect();
        let micros: Vec<u64> = lines.iter().filter_map(|l| field(l, "micros")).collect();
        if !batches.is_empty() {
            println!(
                "{:<11} group commits: {} batches, {:.1} events per batch on average, largest {}, {:.2} ms per commit on average",
                "",
                batches.len(),
                batches.iter().sum::<u64>() as f64 / batches.len() as f64,
                batches.iter().max().unwrap_or(&0),
                micros.iter().sum::<u64>() as f64 / micros.len().max(1) as f64 / 1000.0
            );
        }
        // The tree follower's time (on SQLite, the audit writer's own thread).
        let passes: Vec<(u64, u64)> = log
            .lines()
            .filter(|l| l.contains("added to their Merkle trees"))
            .filter_map(|l| Some((field(l, "events")?, field(l, "micros")?)))
            .collect();
        if !passes.is_empty() {
            let events: u64 = passes.iter().map(|p| p.0).sum();
            let micros: u64 = passes.iter().map(|p| p.1).sum();
            println!(
                "{:<11} tree follower: {} passes, {} leaves, {:.2} ms per 1,000 leaves, {:.1} ms per pass on average",
                "",
                passes.len(),
                events,
                micros as f64 / events.max(1) as f64,
                micros as f64 / passes.len() as f64 / 1000.0
            );
        }
        let rss = |s: &Server| {
            peak_rss_mb(s.pid())
                .map(|m| format!("{m:.0} MB"))
                .unwrap_or_else(|| "unknown".into())
        };
        println!(
            "{:<11} peak RSS: audited server {}, {base_name} server {}",
            "",
            rss(&audited),
            rss(&plain)
        );
    }
}

fn fhir_export(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let line = json!({"resourceType": "Patient", "id": format!("bench-{i}"),
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "urn:bench:mrn", "value": format!("BMRN{i:08}")}],
            "name": [{"use": "official", "family": "Loadtest", "given": ["Pat"]}],
            "gender": "female", "birthDate": "1970-01-01",
            "telecom": [{"system": "phone", "value": "2175550100"}],
            "address": [{"line": ["1 Load St"], "city": "Springfield", "state": "IL", "postalCode": "62704"}]});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn hl7_batch(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "MSH|^~\\&|EPICADT|NVH|REVCYCLE|BILLING|20240303101000||ADT^A28^ADT_A05|B{i:08}|P|2.5.1\r\
             EVN||20240303101000\r\
             PID|1||H{i:08}^^^NVH^MR||Loadtest^Hal^Q||19800101|M|||9 Birch Rd^^Peoria^IL^61602^USA^H\r\
             PV1|1|N\r"
        ));
    }
    out.into_bytes()
}

async fn import_rate(args: &Args) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut toml = String::new();
    for (name, package, config) in [
        (
            "fhir-r4",
            "revcycle-connector-fhir-r4",
            "{ source_system = \"urn:bench:fhir\" }",
        ),
        (
            "hl7v2",
            "revcycle-connector-hl7v2",
            "{ source_system = \"urn:bench:adt\" }",
        ),
    ] {
        let path = revcycle_e2e::plugin_library(package);
        let sha = revcycle_connector_abi::host::sha256_hex(&std::fs::read(&path).expect("plugin"));
        toml.push_str(&format!(
            "[[connector]]\nname = \"{name}\"\npath = \"{}\"\nsha256 = \"{sha}\"\nconfig = {config}\n\n",
            path.display()
        ));
    }
    let file = dir.path().join("connectors.toml");
    std::fs::write(&file, toml).expect("write connectors.toml");
    let s = Server::start_with(
        Engine::Sqlite,
        &[
            ("REVCYCLE_CONNECTORS", file.to_str().expect("utf-8 path")),
            ("REVCYCLE_LOG", "warn"),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    println!(
        "import through plugins: {} records per feed, SQLite, field encryption and audit on",
        args.records
    );
    println!(
        "{:<34} {:>10} {:>12} {:>14}",
        "feed", "records", "seconds", "records/s"
    );
    for (name, label, body) in [
        (
            "fhir-r4",
            "FHIR R4 Bulk NDJSON (Patient)",
            fhir_export(args.records),
        ),
        ("hl7v2", "HL7 v2 batch (ADT^A28)", hl7_batch(args.records)),
    ] {
        for pass in ["first import", "again (unchanged)"] {
            let t0 = Instant::now();
            let r = s
                .client
                .post(s.url(&format!("/v1/connectors/{name}/import")))
                .bearer_auth(&s.token)
                .body(body.clone())
                .send()
                .await
                .expect("import");
            let status = r.status().as_u16();
            let report: serde_json::Value = r.json().await.expect("report");
            let elapsed = t0.elapsed().as_secs_f64();
            assert_eq!(status, 200, "{report}");
            let c = &report["counts"];
            let done = c["created"].as_u64().unwrap_or(0)
                + c["updated"].as_u64().unwrap_or(0)
                + c["unchanged"].as_u64().unwrap_or(0);
            assert_eq!(c["rejected"], 0, "{report}");
            println!(
                "{:<50} {:>10} {:>10.2} {:>12.0}",
                format!("{label}, {pass}"),
                done,
                elapsed,
                done as f64 / elapsed
            );
        }
    }
}

//! `--mode reports`: the receivables reports at size. For each engine, starts a release server
//! on a fresh database (a SQLite file, or a PostgreSQL database created and dropped for the
//! run), sets up a practice over HTTP (payers, providers, patients, coverages, encounters),
//! then writes `--claims` claims through the core store functions on a connection of its own:
//! each claim created from an encounter, moved to ready and submitted (its charges posted),
//! and answered by 835 remittances posted as the server posts them (ledger, denials, history).
//! The denials are then worked over HTTP (appeals sent and decided, write-offs), and each
//! report is timed through the server: A/R aging, denials, KPIs and denial analytics. On
//! PostgreSQL the planner's statistics are gathered after the load (`ANALYZE`), as autovacuum
//! would on a live database.
//!
//! Outcomes by claim number `i` (of 20): 0-6 and 15-17 paid (160.00 of 200.00, CO-45),
//! 10-14 paid with a patient share (PR-2 20.00), 7 partially paid (its 83036 line denied
//! CO-97), 8 denied CO-16, 9 denied CO-197, 18 denied CO-29, 19 denied CO-50.

use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use revcycle_core::access::OrgId;
use revcycle_core::billing::lifecycle::Transition;
use revcycle_core::model::claim::{ClaimInput, ClaimStatus};
use revcycle_core::model::remittance::RemittanceInput;
use revcycle_core::store::{self, billing, claims, remittances};
use revcycle_core::workflows::remittance_posting;
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

const PATIENTS: usize = 20;
const MONTHS: i64 = 6;
const PAYER_CODES: [&str; 3] = ["60054", "70070", "80080"];
const CLAIMS_PER_REMITTANCE: usize = 250;

/// One encounter to make claims from, with its payer's index.
struct Source {
    encounter: uuid::Uuid,
    payer: usize,
    payer_id: uuid::Uuid,
}

fn id_of(v: &Value) -> uuid::Uuid {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

async fn practice(s: &Server, today: NaiveDate) -> Vec<Source> {
    let payers: Vec<Value> = {
        let mut v = Vec::new();
        for (i, code) in PAYER_CODES.iter().enumerate() {
            v.push(
                s.create(
                    "/v1/payers",
                    &json!({"name": format!("Bench Payer {i}"), "payer_code": code,
                        "claim_filing_indicator": "CI", "timely_filing_days": 3650}),
                )
                .await,
            );
        }
        v
    };
    let billing = s
        .create(
            "/v1/providers",
            &json!({"roles": ["billing"], "npi": "1234567893", "tin": "12-3456789",
                "organization_name": "Springfield Family Practice", "taxonomy": "207Q00000X",
                "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701-1234"}}),
        )
        .await;
    let rendering = s
        .create(
            "/v1/providers",
            &json!({"roles": ["rendering"], "npi": "1245319599", "last_name": "Osler", "first_name": "William",
                "taxonomy": "207R00000X",
                "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}}),
        )
        .await;
    let mut sources = Vec::new();
    for n in 0..PATIENTS {
        let patient = s
            .create(
                "/v1/patients",
                &json!({"mrn": format!("BENCH-{n}"), "family_name": "Bench", "given_name": format!("P{n}"),
                    "birth_date": "1980-04-02", "sex": "F",
                    "address": {"line1": "1 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"}}),
            )
            .await;
        for (p, payer) in payers.iter().enumerate() {
            let coverage = s
                .create(
                    "/v1/coverages",
                    &json!({"patient_id": patient["id"], "payer_id": payer["id"], "priority": "primary",
                        "member_id": format!("M{n}X{p}"), "relationship": "self", "effective_from": "2020-01-01"}),
                )
                .await;
            for m in 0..MONTHS {
                let date = today - Duration::days(m * 30 + 3);
                let mut body = json!({
                    "patient_id": patient["id"], "coverage_id": coverage["id"],
                    "billing_provider_id": billing["id"],
                    "service_date_from": date.to_string(), "place_of_service": "11",
                    "diagnoses": ["E11.9", "I10"],
                    "lines": [
                        {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]},
                        {"procedure_code": "83036", "units": "1", "charge": "50.00", "diagnosis_pointers": [1]}
                    ]
                });
                // Half the encounters name a rendering provider: the others count under the
                // billing provider.
                if m % 2 == 0 {
                    body["rendering_provider_id"] = rendering["id"].clone();
                }
                let enc = s.create("/v1/encounters", &body).await;
                sources.push(Source {
                    encounter: id_of(&enc),
                    payer: p,
                    payer_id: id_of(payer),
                });
            }
        }
    }
    sources
}

fn line(code: &str, modifiers: &[&str], charge: &str, paid: &str, adj: Value) -> Value {
    json!({"procedure_code": code, "modifiers": modifiers, "charge": charge, "paid": paid,
        "units": "1", "adjustments": adj})
}

/// The payer's answer to claim number `i` (see the module's outcomes).
fn answer(i: usize, pcn: &str) -> (Value, &'static str) {
    let icn = format!("BENCH-ICN-{i}");
    let denied = |carc: &str| {
        json!({"patient_control_number": pcn, "status_code": "4", "total_charge": "200.00",
            "paid": "0.00", "payer_claim_number": icn,
            "adjustments": [{"group": "CO", "reason": carc, "amount": "200.00"}]})
    };
    match i % 20 {
        7 => (
            json!({"patient_control_number": pcn, "status_code": "1", "total_charge": "200.00",
            "paid": "120.00", "payer_claim_number": icn, "lines": [
                line("99214", &["25"], "150.00", "120.00", json!([{"group": "CO", "reason": "45", "amount": "30.00"}])),
                line("83036", &[], "50.00", "0.00", json!([{"group": "CO", "reason": "97", "amount": "50.00"}])),
            ]}),
            "120.00",
        ),
        8 => (denied("16"), "0.00"),
        9 => (denied("197"), "0.00"),
        18 => (denied("29"), "0.00"),
        19 => (denied("50"), "0.00"),
        10..=14 => (
            json!({"patient_control_number": pcn, "status_code": "1", "total_charge": "200.00",
            "paid": "140.00", "patient_responsibility": "20.00", "payer_claim_number": icn,
            "lines": [
                line("99214", &["25"], "150.00", "100.00", json!([
                    {"group": "CO", "reason": "45", "amount": "30.00"},
                    {"group": "PR", "reason": "2", "amount": "20.00"}])),
                line("83036", &[], "50.00", "40.00", json!([{"group": "CO", "reason": "45", "amount": "10.00"}])),
            ]}),
            "140.00",
        ),
        _ => (
            json!({"patient_control_number": pcn, "status_code": "1", "total_charge": "200.00",
            "paid": "160.00", "payer_claim_number": icn, "lines": [
                line("99214", &["25"], "150.00", "120.00", json!([{"group": "CO", "reason": "45", "amount": "30.00"}])),
                line("83036", &[], "50.00", "40.00", json!([{"group": "CO", "reason": "45", "amount": "10.00"}])),
            ]}),
            "160.00",
        ),
    }
}

/// Writes `n` claims and their remittances into the database at `url` for `org`.
fn generate(url: &str, org: OrgId, sources: &[Source], n: usize, today: NaiveDate) {
    let mut conn = store::connect(url).expect("connect");
    let started = Instant::now();
    // (payer index, claim number, patient control number) of each claim, by payer.
    let mut by_payer: Vec<Vec<(usize, String)>> = vec![Vec::new(); PAYER_CODES.len()];
    let mut done = 0;
    while done < n {
        let k = (n - done).min(1000);
        let made = store::write_transaction(&mut conn, |c| {
            let mut out = Vec::with_capacity(k);
            for i in done..done + k {
                let src = &sources[i % sources.len()];
                let claim = claims::create(
                    c,
                    org,
                    &ClaimInput {
                        encounter_id: src.encounter,
                        frequency_code: None,
                        original_claim_id: None,
                        original_reference: None,
                    },
                )?;
                let submitted = claim.service_date_from + Duration::days(2);
                let at = submitted
                    .min(today)
                    .and_hms_opt(9, 0, 0)
                    .unwrap_or_default()
                    .and_utc();
                let mut current = claim;
                for (from, to) in [
                    (ClaimStatus::Draft, ClaimStatus::Ready),
                    (ClaimStatus::Ready, ClaimStatus::Submitted),
                ] {
                    let t = Transition::new(from, to, at, "bench", None)
                        .expect("an allowed transition");
                    billing::record_transition(c, org, &current, &t, None)?;
                    current = claims::get(c, org, current.id)?;
                }
                out.push((src.payer, i, current.patient_control_number.clone()));
            }
            Ok(out)
        })
        .expect("write claims");
        for (p, i, pcn) in made {
            by_payer[p].push((i, pcn));
        }
        done += k;
        if done % 10_000 == 0 || done == n {
            eprintln!(
                "{done}/{n} claims submitted ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let mut posted = 0;
    for (p, list) in by_payer.iter().enumerate() {
        for (r, chunk) in list.chunks(CLAIMS_PER_REMITTANCE).enumerate() {
            let mut total = rust_decimal::Decimal::ZERO;
            let claims: Vec<Value> = chunk
                .iter()
                .map(|(i, pcn)| {
                    let (c, paid) = answer(*i, pcn);
                    total += paid.parse::<rust_decimal::Decimal>().expect("amount");
                    c
                })
                .collect();
            let input: RemittanceInput = serde_json::from_value(json!({
                "payer_id": sources.iter().find(|s| s.payer == p).expect("payer").payer_id,
                "trace_number": format!("BENCH-{p}-{r}"),
                "payment_date": today.to_string(), "payment_method": "ACH",
                "total_paid": format!("{total:.2}"), "claims": claims,
            }))
            .expect("a remittance");
            let rem = store::write_transaction(&mut conn, |c| remittances::create(c, org, &input))
                .expect("store the remittance");
            let result = remittance_posting::post(&mut conn, org, rem.id, "bench", |_, _| Ok(()))
                .expect("post the remittance");
            assert!(
                result.unmatched.is_empty(),
                "every claim of the bench's remittance matches"
            );
            posted += chunk.len();
        }
        eprintln!(
            "{posted}/{n} claims answered by 835 ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    // A live PostgreSQL database has its statistics gathered by autovacuum a while after a
    // load; the reports are timed as they run then, not in the minute after a bulk load.
    conn.gather_statistics().expect("gather statistics");
}

/// Every denial id of the queue matching `query`, up to `max`.
async fn denial_ids(s: &Server, query: &str, max: usize) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    while out.len() < max {
        let mut path = format!("/v1/work-queues/denials?{query}&limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        for d in r.body["items"].as_array().expect("items") {
            out.push((
                d["id"].as_str().expect("id").to_string(),
                d["version"].as_i64().unwrap_or(1),
            ));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    out.truncate(max);
    out
}

/// Works some of the denials over HTTP: a quarter of the CO-197 denials appealed (half of
/// those upheld, half overturned) and a quarter of the CO-29 denials written off.
async fn work_denials(s: &Server, n: usize, today: NaiveDate) {
    let started = Instant::now();
    let quarter = n / 20 / 4;
    let appeals = denial_ids(s, "carc=197", quarter).await;
    for (k, (id, _)) in appeals.iter().enumerate() {
        let path = format!("/v1/work-queues/denials/{id}");
        let r = s
            .post(&format!("{path}/appeal"), &json!({"sent_on": today}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let outcome = if k % 2 == 0 { "upheld" } else { "overturned" };
        let r = s
            .post(
                &format!("{path}/appeal/outcome"),
                &json!({"outcome": outcome, "decided_on": today}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let write_offs = denial_ids(s, "carc=29", quarter).await;
    for (id, _) in &write_offs {
        let r = s
            .post(
                &format!("/v1/work-queues/denials/{id}/write-off"),
                &json!({"amount": "200.00", "group": "CO", "carc": "29"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    eprintln!(
        "{} appeals decided, {} write-offs ({:.0} s)",
        appeals.len(),
        write_offs.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Writes a consistent copy of the SQLite database at `url` to `to` (`VACUUM INTO`, which
/// reads one snapshot while the server keeps running).
fn keep_copy(url: &str, to: &std::path::Path) {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};
    let _ = std::fs::remove_file(to);
    let mut c = SqliteConnection::establish(url).expect("open the practice's database");
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(to.to_string_lossy().as_ref())
        .execute(&mut c)
        .expect("copy the practice's database");
    eprintln!("the practice's database is copied to {}", to.display());
}

/// Times `path` `rounds` times (after one warm-up call); returns the median and the slowest,
/// in ms.
async fn time(s: &Server, path: &str, rounds: usize) -> (f64, f64) {
    let warm = s.get(path).await;
    assert_eq!(warm.status, 200, "{path}: {}", warm.text);
    let mut ms = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let r = s.get(path).await;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

pub async fn reports(
    engine: Engine,
    claims: usize,
    rounds: usize,
    workers: usize,
    keep: Option<&std::path::Path>,
) {
    let engine_name = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let workers = workers.to_string();
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_WORKERS", workers.as_str()),
            ("REVCYCLE_LOG", "warn"),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    let today = Utc::now().date_naive();
    let t = Instant::now();
    let sources = practice(&s, today).await;
    let org: OrgId = s
        .admin(&["org", "list"])
        .lines()
        .next()
        .and_then(|l| l.split('\t').next())
        .and_then(|id| id.parse::<uuid::Uuid>().ok())
        .map(OrgId)
        .expect("the server's org");
    let url = s.db.url.clone();
    let n = claims;
    let gen_today = today;
    tokio::task::spawn_blocking(move || generate(&url, org, &sources, n, gen_today))
        .await
        .expect("generate");
    work_denials(&s, claims, today).await;
    if let (Engine::Sqlite, Some(keep)) = (engine, keep) {
        keep_copy(&s.db.url, keep);
    }
    eprintln!(
        "{engine_name}: practice of {claims} claims ready in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let from = today - Duration::days(89);
    let paths = [
        (
            "ar-aging (payer)",
            format!("/v1/reports/ar-aging?as_of={today}&group_by=payer"),
        ),
        (
            "ar-aging (patient)",
            format!("/v1/reports/ar-aging?as_of={today}&group_by=patient"),
        ),
        (
            "denials",
            format!("/v1/reports/denials?from={from}&to={today}"),
        ),
        ("kpis", format!("/v1/reports/kpis?from={from}&to={today}")),
        (
            "denial-analytics",
            format!("/v1/reports/denial-analytics?from={from}&to={today}"),
        ),
    ];
    println!("engine {engine_name}, {claims} claims, {rounds} timed calls per report");
    println!("{:<22} {:>12} {:>12}", "report", "median ms", "max ms");
    for (name, path) in &paths {
        let (median, max) = time(&s, path, rounds).await;
        println!("{name:<22} {median:>12.1} {max:>12.1}");
    }
    let analytics = s.get(&paths[4].1).await;
    println!(
        "denial analytics: rate {} ({}/{}), {} denials, {} denied, appeals overturned {}, recovered {}, written off {}",
        analytics.body["denial_rate"]["value"],
        analytics.body["denial_rate"]["numerator"],
        analytics.body["denial_rate"]["denominator"],
        analytics.body["denials"],
        analytics.body["denied_amount"],
        analytics.body["appeals"]["overturn_rate"]["value"],
        analytics.body["recovered"],
        analytics.body["written_off"],
    );
}

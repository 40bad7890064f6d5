//! The OpenAPI document against the real server: schemathesis (pinned, in its own venv)
//! generates requests from `/openapi.json` (valid ones, and invalid ones the server must
//! refuse) and checks every answer against the document: no 5xx, only documented statuses,
//! content types, headers and body schemas, valid data accepted, invalid data refused.
//!
//! One server per engine, seeded with a practice whose ids the generated requests use (so
//! reads, updates and commands meet real records, not only 404s). Four runs per engine: an
//! admin and a biller token, each with a fixed seed and a fresh random seed (printed; set
//! `REVCYCLE_SCHEMATHESIS_SEED` to replay one). The report is printed on failure.
//! `tests/e2e/schemathesis.toml` says which statuses the document cannot predict, and why.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use revcycle_e2e::{Engine, Server, python_tool};

use crate::fixtures::{id, org_of, token};
use crate::on_both_engines;
use crate::payer::{answer_835, clearinghouse, connectors_toml, post_raw, ready_claim};

/// The pinned schemathesis.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// The fixed seed every run starts with.
const FIXED_SEED: u64 = 20_261_206;

/// Time budget of one run (schemathesis stops generating when it is spent).
const RUN_SECONDS: u64 = 30;

fn random_seed() -> u64 {
    // The low bits of a UUIDv7 are random.
    (uuid::Uuid::now_v7().as_u128() & 0xffff_ffff) as u64
}

/// One schemathesis run; returns (passed, report).
fn run(bin: &Path, s: &Server, env: &[(&str, String)], bearer: &str, seed: u64) -> (bool, String) {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/e2e/schemathesis.toml");
    let report_dir = tempfile::tempdir().expect("report dir");
    let mut cmd = Command::new(bin.join("schemathesis"));
    cmd.args(["--config-file", config, "run"])
        .arg(s.url("/openapi.json"))
        .args(["--url", &s.base])
        .args(["--checks", "all"])
        .args(["-H", &format!("Authorization: Bearer {bearer}")])
        .args(["--seed", &seed.to_string()])
        .args(["--max-time", &RUN_SECONDS.to_string()])
        .args(["--max-examples", "40"])
        .args(["--request-timeout", "20"])
        // One worker: CPython 3.11's AST module keeps per-process recursion state that two
        // threads parsing at once corrupt ("AST constructor recursion depth mismatch").
        .args(["--workers", "1"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .args(["--report-dir"])
        .arg(report_dir.path())
        // Its caches go to the report's temporary directory, never into the repository.
        .current_dir(report_dir.path())
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("HYPOTHESIS_STORAGE_DIRECTORY", report_dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run schemathesis");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

async fn schemathesis(engine: Engine) {
    let bin = python_tool("schemathesis", &[SCHEMATHESIS]);

    // The payer connector with an outbox and a loopback clearinghouse, so submitting claims,
    // eligibility and claim status work as in production.
    let pcn = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let url = clearinghouse(pcn.clone(), seen).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = connectors_toml(dir.path());
    let text = std::fs::read_to_string(&toml)
        .expect("connectors.toml")
        .replace(
            "poll_seconds = 1,",
            &format!("poll_seconds = 1, clearinghouse_url = \"{url}\","),
        );
    std::fs::write(&toml, text).expect("write connectors.toml");
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().expect("utf-8 path")),
            // Rate limiting is its own test; here it would only turn generated requests
            // into 429s (which the document allows) and hide what they would have found.
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;

    // A practice with a ready claim and a posted remittance.
    let (p, claim) = ready_claim(&s).await;
    let control = claim["patient_control_number"].as_str().expect("pcn");
    *pcn.lock().expect("pcn lock") = control.to_string();
    let (status, import) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        answer_835(control, "TRACE-ST-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{import}");
    let remittance = import["remittances"][0]["remittance_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a remittance id in {import}"))
        .to_string();

    // A claim payment matching no claim: a work item of the unmatched-remittance queue.
    let (status, stray) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        crate::denials::era(
            "TRACE-ST-2",
            502,
            "96",
            &[crate::unmatched::hand_worked_clp(
                "NOSUCHCLAIM000000001",
                "ICN-ST-2",
            )],
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{stray}");
    let unmatched = stray["remittances"][0]["posting"]["unmatched"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an unmatched item in {stray}"))
        .to_string();

    // Paused, at a public address: nothing is ever sent from the test.
    let subscription = s
        .create(
            "/v1/subscriptions",
            &serde_json::json!({"url": "https://93.184.216.34/hook",
                "event_types": ["claim.submitted"], "paused": true}),
        )
        .await;
    let subscription = id(&subscription).to_string();
    // Another, for the generated DELETEs alone: the one above must outlive them.
    let doomed = s
        .create(
            "/v1/subscriptions",
            &serde_json::json!({"url": "https://93.184.216.34/hook",
                "event_types": ["claim.submitted"], "paused": true}),
        )
        .await;
    let doomed = id(&doomed).to_string();
    // A statement profile, a charge master entry and a statement issued by a run.
    for (path, body) in [
        (
            "/v1/statement-profile",
            serde_json::json!({"practice_name": "Springfield Family Medicine",
                "practice_address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
                "remit_to_address": {"line1": "PO Box 4000", "city": "Springfield", "state": "IL", "zip": "62704"}}),
        ),
        (
            "/v1/charge-master/99214",
            serde_json::json!({"description": "Office visit", "price": "150.00"}),
        ),
    ] {
        let r = s
            .call("PUT", path, Some(&s.token.clone()), Some(&body), &[])
            .await;
        assert_eq!(r.status, 201, "{path}: {}", r.text);
    }
    // A second visit, submitted and paid with 24.00 left to the patient, to bill for.
    let coverage = serde_json::json!({"id": claim["coverage_id"]});
    let visit = s
        .create(
            "/v1/encounters",
            &crate::fixtures::encounter_body(&p.patient, &coverage, &p.billing, &p.rendering),
        )
        .await;
    let owed = s
        .create(
            "/v1/claims",
            &serde_json::json!({"encounter_id": visit["id"]}),
        )
        .await;
    let scrub = s
        .post(
            &format!("/v1/claims/{}/scrub", id(&owed)),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    let sub = s
        .post(
            &format!("/v1/claims/{}/transition", id(&owed)),
            &serde_json::json!({"to": "submitted"}),
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
    let rem = s
        .create(
            "/v1/remittances",
            &serde_json::json!({
                "payer_id": p.payer["id"], "trace_number": "TRACE-ST-3", "payment_date": "2026-11-20",
                "payment_method": "ACH", "total_paid": "0.00",
                "claims": [{"patient_control_number": sub.body["claim"]["patient_control_number"],
                    "status_code": "1", "total_charge": "200.55", "paid": "0.00",
                    "patient_responsibility": "24.00",
                    "adjustments": [{"group": "PR", "reason": "1", "amount": "24.00"},
                                    {"group": "CO", "reason": "45", "amount": "176.55"}]}]
            }),
        )
        .await;
    let posted = s
        .post(
            &format!("/v1/remittances/{}/post", id(&rem)),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let issued = s.post("/v1/statement-runs", &serde_json::json!({})).await;
    let statement = issued.body["statements"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a statement issued by {}", issued.text))
        .to_string();
    let org = org_of(&s);
    let biller = token(
        &s,
        &org,
        "schemathesis-biller",
        &["biller"],
        &["--ttl", "1h"],
    );
    let env: Vec<(&str, String)> = vec![
        ("REVCYCLE_ST_PAYER", id(&p.payer).to_string()),
        ("REVCYCLE_ST_PROVIDER", id(&p.billing).to_string()),
        ("REVCYCLE_ST_PATIENT", id(&p.patient).to_string()),
        (
            "REVCYCLE_ST_COVERAGE",
            claim["coverage_id"].as_str().expect("coverage").to_string(),
        ),
        ("REVCYCLE_ST_ENCOUNTER", id(&p.encounter).to_string()),
        ("REVCYCLE_ST_CLAIM", id(&claim).to_string()),
        ("REVCYCLE_ST_REMITTANCE", remittance),
        ("REVCYCLE_ST_SUBSCRIPTION", subscription),
        ("REVCYCLE_ST_DOOMED_SUBSCRIPTION", doomed),
        ("REVCYCLE_ST_UNMATCHED", unmatched),
        ("REVCYCLE_ST_STATEMENT", statement),
    ];

    let seeds = match std::env::var("REVCYCLE_SCHEMATHESIS_SEED") {
        Ok(seed) => vec![
            seed.parse()
                .expect("REVCYCLE_SCHEMATHESIS_SEED is a number"),
        ],
        Err(_) => vec![FIXED_SEED, random_seed()],
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    for (who, bearer) in [("admin", s.token.clone()), ("biller", biller)] {
        for &seed in &seeds {
            let t = Instant::now();
            let (passed, report) = run(&bin, &s, &env, &bearer, seed);
            eprintln!(
                "schemathesis {engine:?} as {who}, seed {seed}: {} in {:.0?}",
                if passed { "passed" } else { "FAILED" },
                t.elapsed()
            );
            if !passed {
                failures.push(format!(
                    "--- schemathesis {engine:?} as {who}, --seed {seed} ---\n{report}"
                ));
            }
        }
    }
    eprintln!("schemathesis {engine:?}: {:.0?} in all", started.elapsed());
    assert!(
        failures.is_empty(),
        "schemathesis found disagreements between the server and its OpenAPI document \
         (replay with REVCYCLE_SCHEMATHESIS_SEED=<seed>):\n{}",
        failures.join("\n")
    );
    assert!(
        started.elapsed() < Duration::from_secs(8 * RUN_SECONDS * seeds.len() as u64),
        "schemathesis overran its time budget"
    );
}
on_both_engines!(schemathesis);

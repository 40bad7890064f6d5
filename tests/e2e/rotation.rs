//! Data-key rotation while the API serves: interrupted and resumed from the command line, and
//! started over HTTP under concurrent reads.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use revcycle_core::store::schema::{coverages, idempotency_keys, key_rotations, patients};
use revcycle_e2e::{Engine, Server, revcycle_bin};
use serde_json::{Value, json};

use crate::fixtures;
use crate::on_both_engines;

/// A practice with `n` patients, a coverage for every third one, and idempotent creates.
async fn populate(s: &Server, n: usize) -> Vec<Value> {
    let payer = s
        .create("/v1/payers", &json!({"name": "Acme Health Plan", "payer_code": "60054", "claim_filing_indicator": "CI"}))
        .await;
    let mut out = Vec::new();
    for i in 0..n {
        let mut body = fixtures::patient_body();
        body["mrn"] = json!(format!("ROT-{i:04}"));
        body["family_name"] = json!(format!("Rotafam{i}"));
        let key = format!("rot-{i}");
        let r = s
            .call(
                "POST",
                "/v1/patients",
                Some(&s.token),
                Some(&body),
                &[("idempotency-key", &key)],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        if i % 3 == 0 {
            s.create(
                "/v1/coverages",
                &json!({"patient_id": r.body["id"], "payer_id": payer["id"], "priority": "primary",
                    "member_id": format!("MEM{i:05}"), "relationship": "self", "effective_from": "2026-01-01"}),
            )
            .await;
        }
        out.push(r.body);
    }
    out
}

fn envelope_version(ct: &[u8]) -> i32 {
    revcycle_core::phi::envelope_version(ct).expect("an envelope")
}

/// Every stored ciphertext is under `version`, by its column and by its own envelope header.
fn assert_all_under(url: &str, version: i32) {
    let mut conn = revcycle_core::store::connect(url).unwrap();
    let rows: Vec<(Vec<u8>, Vec<u8>, i32)> = patients::table
        .select((
            patients::mrn_ct,
            patients::family_name_ct,
            patients::key_version,
        ))
        .load(&mut conn)
        .unwrap();
    for (mrn, family, v) in rows {
        assert_eq!(
            (envelope_version(&mrn), envelope_version(&family), v),
            (version, version, version)
        );
    }
    let rows: Vec<(Vec<u8>, i32)> = coverages::table
        .select((coverages::member_id_ct, coverages::key_version))
        .load(&mut conn)
        .unwrap();
    assert!(!rows.is_empty());
    for (ct, v) in rows {
        assert_eq!((envelope_version(&ct), v), (version, version));
    }
    let rows: Vec<(Vec<u8>, i32)> = idempotency_keys::table
        .select((
            idempotency_keys::response_body,
            idempotency_keys::key_version,
        ))
        .load(&mut conn)
        .unwrap();
    assert!(!rows.is_empty());
    for (ct, v) in rows {
        assert_eq!((envelope_version(&ct), v), (version, version));
    }
}

async fn everything_reads_back(s: &Server, made: &[Value]) {
    for (i, p) in made.iter().enumerate() {
        let got = s
            .get(&format!("/v1/patients/{}", p["id"].as_str().unwrap()))
            .await;
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(got.body["mrn"], format!("ROT-{i:04}"));
        assert_eq!(got.body["family_name"], format!("Rotafam{i}"));
        assert_eq!(got.body["ssn"], "219098761");
    }
    // Blind indexes still find rows, and replays still answer from the stored response.
    let found = s
        .post("/v1/patients/search", &json!({"mrn": "ROT-0007"}))
        .await;
    assert_eq!(found.body["items"][0]["id"], made[7]["id"]);
    let found = s
        .post("/v1/coverages/search", &json!({"member_id": "MEM00003"}))
        .await;
    assert_eq!(
        found.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        found.text
    );
    let mut body = fixtures::patient_body();
    body["mrn"] = json!("ROT-0002");
    body["family_name"] = json!("Rotafam2");
    let replay = s
        .call(
            "POST",
            "/v1/patients",
            Some(&s.token),
            Some(&body),
            &[("idempotency-key", "rot-2")],
        )
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(
        replay.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(replay.body["id"], made[2]["id"]);
}

/// `revcycle keys rotate` killed halfway, then run again: it resumes the same rotation and
/// finishes with every value readable and under the new key.
async fn an_interrupted_rotation_resumes_and_loses_nothing(engine: Engine) {
    let s = Server::start_with(engine, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await;
    let made = populate(&s, 60).await;
    let mut child = Command::new(revcycle_bin())
        .args(["keys", "rotate", "--batch-size", "3"])
        .env("REVCYCLE_DATA_DIR", &s.data_dir)
        .env("REVCYCLE_DATABASE_URL", &s.db.url)
        .env("REVCYCLE_LOG", "warn")
        .env("REVCYCLE_TEST_ROTATION_PAUSE_MS", "150")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut conn = revcycle_core::store::connect(&s.db.url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (done, total) = loop {
        let row: Option<(i64, i64)> = key_rotations::table
            .select((key_rotations::rows_done, key_rotations::rows_total))
            .first(&mut conn)
            .optional()
            .unwrap();
        if let Some((d, t)) = row
            && d > 0
        {
            break (d, t);
        }
        assert!(Instant::now() < deadline, "the rotation never progressed");
        // The API keeps serving while the CLI holds the new key version.
        assert_eq!(
            s.get(&format!("/v1/patients/{}", made[0]["id"].as_str().unwrap()))
                .await
                .status,
            200
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(done < total, "killed halfway ({done}/{total})");
    // Mid-rotation, values under both key versions read back through the API.
    everything_reads_back(&s, &made).await;

    let out = s.admin(&["keys", "rotate", "--batch-size", "50"]);
    assert!(out.contains("re-encrypted under data key v2"), "{out}");
    let (state, done, total): (String, i64, i64) = key_rotations::table
        .select((
            key_rotations::state,
            key_rotations::rows_done,
            key_rotations::rows_total,
        ))
        .first(&mut conn)
        .unwrap();
    let n: i64 = key_rotations::table.count().get_result(&mut conn).unwrap();
    assert_eq!(n, 1, "the second run resumed the first rotation");
    assert_eq!(state, "completed");
    assert_eq!(done, total);
    assert!(
        total >= 60 + 20 + 60,
        "patients, coverages and stored responses: {total}"
    );
    assert_all_under(&s.db.url, 2);
    everything_reads_back(&s, &made).await;
}
on_both_engines!(an_interrupted_rotation_resumes_and_loses_nothing);

/// A rotation started over HTTP runs in the server while clients keep reading; not one read
/// fails, and progress is reported until it completes.
async fn rotation_over_http_under_concurrent_reads(engine: Engine) {
    let s = Arc::new(Server::start_with(engine, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await);
    let made = Arc::new(populate(&s, 45).await);
    let org = s.admin(&["org", "list"]);
    let org = org.split('\t').next().unwrap().to_string();
    let biller = s.admin(&["token", "--org", &org, "--role", "biller"]);
    let r = s
        .call("POST", "/v1/admin/keys/rotate", Some(&biller), None, &[])
        .await;
    r.assert_problem(403);
    assert_eq!(r.body["detail"], "your roles do not grant keys.rotate");

    let stop = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for w in 0..4 {
        let (s, made, stop, reads) = (s.clone(), made.clone(), stop.clone(), reads.clone());
        readers.push(tokio::spawn(async move {
            let mut i = w;
            while stop.load(Ordering::Relaxed) == 0 {
                let p = &made[i % made.len()];
                let got = s
                    .get(&format!("/v1/patients/{}", p["id"].as_str().unwrap()))
                    .await;
                assert_eq!(
                    got.status, 200,
                    "a read failed during rotation: {}",
                    got.text
                );
                assert_eq!(got.body["mrn"], p["mrn"]);
                reads.fetch_add(1, Ordering::Relaxed);
                i += 4;
            }
        }));
    }
    let started = s
        .call("POST", "/v1/admin/keys/rotate", Some(&s.token), None, &[])
        .await;
    assert_eq!(started.status, 202, "{}", started.text);
    assert_eq!(started.body["state"], "running");
    assert_eq!(started.body["to_version"], 2);
    let deadline = Instant::now() + Duration::from_secs(90);
    let last = loop {
        let r = s.get("/v1/admin/keys/rotation").await;
        assert_eq!(r.status, 200);
        if r.body["state"] == "completed" {
            break r.body;
        }
        assert!(
            Instant::now() < deadline,
            "rotation did not complete: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.store(1, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    assert!(reads.load(Ordering::Relaxed) > 20, "readers ran throughout");
    assert_eq!(last["rows_done"], last["rows_total"]);
    assert!(last["rows_total"].as_i64().unwrap() >= 45 + 15 + 45);
    assert_all_under(&s.db.url, 2);
    everything_reads_back(&s, &made).await;
}
on_both_engines!(rotation_over_http_under_concurrent_reads);

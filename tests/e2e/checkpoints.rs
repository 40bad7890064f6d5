//! The audit trail as an outside auditor checks it: signed checkpoints published outside the
//! database catch the removal of the newest events (which the hash chain alone cannot), and
//! the proofs the server hands out verify with an independent RFC 6962 implementation
//! (ct-merkle) and the signatures with an independent Ed25519 one (Python's `cryptography`).

use std::os::unix::fs::PermissionsExt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use revcycle_e2e::{Engine, Server};
use serde_json::Value;

use crate::fixtures::{id, org_of, practice, token};
use crate::on_both_engines;

/// Lets the test (standing in for a database administrator) delete audit rows.
fn disable_append_only(s: &Server) {
    match s.engine {
        Engine::Sqlite => s.sql("DROP TRIGGER audit_events_no_delete;"),
        Engine::Postgres => s.sql("ALTER TABLE audit_events DISABLE TRIGGER USER"),
    }
}

/// `revcycle audit verify` with `args`: (success, stdout).
fn verify(s: &Server, args: &[&str]) -> (bool, String) {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = s.admin_output(&all, &[]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn checkpoint(s: &Server, auditor: &str) -> (String, u64, String) {
    let r = s
        .call(
            "POST",
            "/v1/audit-events/checkpoint",
            Some(auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type").unwrap().starts_with("text/plain"),
        "a signed note is text"
    );
    let size: u64 = r.text.lines().nth(1).unwrap().parse().unwrap();
    let key = r.header("x-checkpoint-verifier-key").unwrap();
    (r.text, size, key)
}

async fn removals_are_caught_against_the_published_checkpoint(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    for _ in 0..30 {
        s.get(&format!("/v1/patients/{}", id(&p.patient))).await;
    }
    let (note, size, key) = checkpoint(&s, &auditor).await;
    assert!(size >= 31, "{note}");
    let lines: Vec<&str> = note.split('\n').collect();
    assert_eq!(lines[0], format!("revcycle/audit/{org}"));
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with("\u{2014} revcycle "), "{note}");

    // Published outside the database, owner-only, and served as the latest.
    let dir = s.data_dir.join("checkpoints").join(&org);
    let latest = dir.join("latest");
    assert_eq!(std::fs::read_to_string(&latest).unwrap(), note);
    assert_eq!(
        std::fs::read_to_string(dir.join(format!("{size:020}"))).unwrap(),
        note
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&latest), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let key_file = s.data_dir.join("audit-checkpoint.key");
    assert_eq!(mode(&key_file), 0o600);
    let got = s
        .call(
            "GET",
            "/v1/audit-events/checkpoint",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.text, note);
    let vkey = s
        .call(
            "GET",
            "/v1/audit-events/checkpoint/key",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(vkey.text.trim(), key);
    // Not for billers.
    let biller = token(&s, &org, "bill-1", &["biller"], &[]);
    let denied = s
        .call(
            "POST",
            "/v1/audit-events/checkpoint",
            Some(&biller),
            None,
            &[],
        )
        .await;
    denied.assert_problem(403);

    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "{org}: checkpoint OK, the trail's first {size} events match the signed root"
        )),
        "{out}"
    );

    // The newest event the checkpoint covers, deleted: the chain alone still verifies.
    disable_append_only(&s);
    let newest = size as i64;
    s.sql(&format!(
        "DELETE FROM audit_events WHERE org_id = '{org}' AND sequence >= {newest}"
    ));
    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(!ok, "a shortened trail fails verification: {out}");
    assert!(
        out.contains(&format!(
            "{org}: EVENTS MISSING: the signed checkpoint covers {size} events; the first missing is sequence {newest}"
        )),
        "{out}"
    );

    // The API holds the trail to the same published checkpoint.
    let api = s
        .call("GET", "/v1/audit-events/verify", Some(&auditor), None, &[])
        .await;
    assert_eq!(api.status, 200, "{}", api.text);
    assert_eq!(api.body["status"], "broken", "{}", api.text);
    assert_eq!(api.body["checkpoint"]["status"], "events_missing");
    assert_eq!(api.body["checkpoint"]["size"], size);
    assert_eq!(api.body["checkpoint"]["first_missing"], newest);

    // The last 20.
    let first = newest - 19;
    s.sql(&format!(
        "DELETE FROM audit_events WHERE org_id = '{org}' AND sequence >= {first}"
    ));
    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(!ok);
    assert!(
        out.contains(&format!("the first missing is sequence {first}")),
        "{out}"
    );
    // Against a checkpoint file given on the command line, with the key given too.
    let file = s.data_dir.join("kept-by-the-auditor.checkpoint");
    std::fs::write(&file, &note).unwrap();
    let (ok, out) = verify(&s, &["--checkpoint", file.to_str().unwrap(), "--key", &key]);
    assert!(!ok);
    assert!(
        out.contains(&format!("the first missing is sequence {first}")),
        "{out}"
    );
    // A checkpoint signed by another key is refused, not trusted.
    let other_key = "revcycle+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let out = s.admin_output(
        &[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().unwrap(),
            "--key",
            other_key,
        ],
        &[],
    );
    assert!(!out.status.success());

    // The whole chain of the org: no row is left, and verify of every chain still finds it
    // through its published checkpoint.
    s.sql(&format!("DELETE FROM audit_events WHERE org_id = '{org}'"));
    let (ok, out) = verify(&s, &[]);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "{org}: EVENTS MISSING: the signed checkpoint covers {size} events; the first missing is sequence 1"
        )),
        "{out}"
    );
}
on_both_engines!(removals_are_caught_against_the_published_checkpoint);

/// With no one asking, the server grows the tree behind the appends and publishes a
/// checkpoint once the trail has grown by the configured number of events; the note covers
/// exactly the events it names (the proof of its last event verifies against it).
async fn the_server_checkpoints_the_growing_trail_by_itself(engine: Engine) {
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_AUDIT_CHECKPOINT_EVENTS", "10"),
            ("REVCYCLE_AUDIT_CHECKPOINT_SECS", "86400"),
        ],
    )
    .await;
    let p = practice(&s).await;
    let org = org_of(&s);
    for _ in 0..12 {
        s.get(&format!("/v1/patients/{}", id(&p.patient))).await;
    }
    let dir = s.data_dir.join("checkpoints").join(&org);
    let published = || -> Vec<u64> {
        let mut sizes: Vec<u64> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        sizes.sort();
        sizes
    };
    let started = std::time::Instant::now();
    while published().last().is_none_or(|s| *s < 10) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no checkpoint of 10 events or more after 30 s: {:?}",
            published()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let size = *published().last().unwrap();
    let note = std::fs::read_to_string(dir.join(format!("{size:020}"))).unwrap();
    assert_eq!(note.lines().nth(1), Some(size.to_string().as_str()));
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let proof = get_ok(
        &s,
        &auditor,
        &format!("/v1/audit-events/{size}/proof?checkpoint={size}"),
    )
    .await;
    assert_eq!(proof.body["checkpoint"].as_str(), Some(note.as_str()));
    assert_eq!(proof.body["root_hash"].as_str(), note.lines().nth(2));
    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(ok, "{out}");
}
on_both_engines!(the_server_checkpoints_the_growing_trail_by_itself);

pub(crate) fn b64(s: &Value) -> Vec<u8> {
    STANDARD.decode(s.as_str().unwrap()).unwrap()
}

/// A proof answer's hashes, concatenated (as ct-merkle reads a proof).
pub(crate) fn proof_bytes(body: &Value) -> Vec<u8> {
    body["proof"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(b64)
        .collect()
}

/// `GET path` as `who`, which must answer 200.
pub(crate) async fn get_ok(s: &Server, who: &str, path: &str) -> revcycle_e2e::Resp {
    let r = s.call("GET", path, Some(who), None, &[]).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r
}

/// The signed checkpoint checked by Python's `cryptography` (OpenSSL's Ed25519), with the key
/// id recomputed there per the signed-note spec. Prints `ok` or the reason.
const PY_VERIFY_NOTE: &str = r#"
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
note = open(sys.argv[1], encoding="utf-8").read()
name, key_id, key = sys.argv[2].split("+", 2)
raw = base64.b64decode(key)
assert raw[0] == 1 and len(raw) == 33, "not an Ed25519 verifier key"
assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id, "key id"
body, sigs = note.split("\n\n", 1)
body += "\n"
for line in sigs.splitlines():
    dash, who, blob = line.split(" ")
    assert dash == "\u2014"
    blob = base64.b64decode(blob)
    if who == name and blob[:4].hex() == key_id:
        Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[4:], body.encode())
        print("ok", body.splitlines()[1])
        sys.exit(0)
print("no signature")
sys.exit(1)
"#;

async fn proofs_verify_with_independent_implementations(engine: Engine) {
    use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
    use sha2::Sha256;

    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    for _ in 0..6 {
        s.get(&format!("/v1/patients/{}", id(&p.patient))).await;
    }
    let (old_note, old_size, key) = checkpoint(&s, &auditor).await;
    for _ in 0..9 {
        s.get(&format!("/v1/patients/{}", id(&p.patient))).await;
    }
    let (note, size, _) = checkpoint(&s, &auditor).await;
    assert!(size > old_size + 9, "{old_size} -> {size}");

    // The signature, checked by another Ed25519 implementation.
    let py = revcycle_pytools::python_tool("ed25519-check", &["cryptography==48.0.0"]);
    let note_file = s.data_dir.join("note.txt");
    std::fs::write(&note_file, &note).unwrap();
    let out = std::process::Command::new(py.join("python"))
        .args(["-c", PY_VERIFY_NOTE])
        .arg(&note_file)
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ok {size}"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let altered = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size - 1), 1);
    std::fs::write(&note_file, &altered).unwrap();
    let out = std::process::Command::new(py.join("python"))
        .args(["-c", PY_VERIFY_NOTE])
        .arg(&note_file)
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success(), "an altered checkpoint fails");

    let root_of = |note: &str| -> [u8; 32] {
        STANDARD
            .decode(note.lines().nth(2).unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let root = RootHash::<Sha256>::new(root_of(&note).into(), size);

    // Every event's inclusion proof, checked by ct-merkle against the signed root.
    for sequence in 1..=size {
        let r = s
            .call(
                "GET",
                &format!("/v1/audit-events/{sequence}/proof?checkpoint={size}"),
                Some(&auditor),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["tree_size"], size);
        assert_eq!(r.body["checkpoint"], note.as_str());
        let event = b64(&r.body["event_canonical"]);
        let proof: Vec<u8> = r.body["proof"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(b64)
            .collect();
        let proof = InclusionProof::<Sha256>::try_from_bytes(proof).unwrap();
        root.verify_inclusion(&event, sequence - 1, &proof)
            .unwrap_or_else(|e| panic!("event {sequence}: {e:?}"));
        // Another event's bytes at this place do not verify.
        let mut other = event.clone();
        other[40] ^= 1;
        assert!(root.verify_inclusion(&other, sequence - 1, &proof).is_err());

        if sequence == 3 {
            // The offline verifier: files and a key, no database, no server.
            let file = s.data_dir.join("proof.json");
            std::fs::write(&file, &r.text).unwrap();
            let ok = std::process::Command::new(revcycle_e2e::revcycle_bin())
                .args(["audit", "verify-proof", "--proof"])
                .arg(&file)
                .args(["--key", &key])
                .env("REVCYCLE_DATA_DIR", "/nonexistent")
                .env("REVCYCLE_DATABASE_URL", "postgres://nowhere.invalid/none")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&ok.stdout);
            assert!(
                ok.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&ok.stderr)
            );
            assert!(
                stdout.contains(&format!(
                    "OK: event 3 is leaf 2 of the tree of {size} events"
                )),
                "{stdout}"
            );
            let mut bad: Value = r.body.clone();
            bad["proof"][0] = Value::String(STANDARD.encode([7u8; 32]));
            std::fs::write(&file, bad.to_string()).unwrap();
            let refused = std::process::Command::new(revcycle_e2e::revcycle_bin())
                .args(["audit", "verify-proof", "--proof"])
                .arg(&file)
                .args(["--key", &key])
                .output()
                .unwrap();
            assert!(!refused.status.success(), "a tampered proof is refused");
        }
    }

    // The consistency proof between the two checkpoints, checked by ct-merkle.
    let r = s
        .call(
            "GET",
            &format!("/v1/audit-events/consistency?from={old_size}&to={size}"),
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(b64(&r.body["from_root"]), root_of(&old_note));
    assert_eq!(b64(&r.body["to_root"]), root_of(&note));
    let proof: Vec<u8> = r.body["proof"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(b64)
        .collect();
    let proof = ConsistencyProof::<Sha256>::try_from_bytes(proof).unwrap();
    let old_root = RootHash::<Sha256>::new(root_of(&old_note).into(), old_size);
    root.verify_consistency(&old_root, &proof).unwrap();
    let forged = RootHash::<Sha256>::new([9u8; 32].into(), old_size);
    assert!(root.verify_consistency(&forged, &proof).is_err());

    // Out-of-range sizes are refused with a pointer, never a 500.
    let out_of_range = [
        (
            format!("/v1/audit-events/1/proof?checkpoint={}", size + 1_000_000),
            "/checkpoint",
        ),
        (
            format!(
                "/v1/audit-events/{}/proof?checkpoint={old_size}",
                old_size + 1
            ),
            "/sequence",
        ),
        (
            format!(
                "/v1/audit-events/consistency?from={}&to={old_size}",
                old_size + 1
            ),
            "/from",
        ),
    ];
    for (path, pointer) in &out_of_range {
        let r = s.call("GET", path, Some(&auditor), None, &[]).await;
        assert_eq!(r.assert_problem(422), [*pointer], "{path}");
    }

    // Proof requests are audited like every audit read, refused ones included.
    let proofs = s
        .call(
            "GET",
            "/v1/audit-events?action=proof&limit=1000",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(proofs.status, 200);
    // One per event proven, the consistency proof, and the three refused.
    assert_eq!(
        proofs.body["items"].as_array().unwrap().len() as u64,
        size + 4,
        "{}",
        proofs.text
    );
}
on_both_engines!(proofs_verify_with_independent_implementations);

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(s: &Server, query: &str) -> i64 {
    use diesel::RunQueryDsl;
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    diesel::sql_query(query)
        .get_result::<Count>(&mut conn)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .n
}

/// The sequence numbers in `field` of the items `path` lists.
async fn listed(s: &Server, who: &str, path: &str, field: &str) -> Vec<i64> {
    get_ok(s, who, path).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_i64().unwrap())
        .collect()
}

/// The sequence numbers of a patient's events through the patient filter.
async fn filtered(s: &Server, auditor: &str, patient: &str) -> Vec<i64> {
    let path = format!("/v1/audit-events?patient_id={patient}&limit=1000");
    listed(s, auditor, &path, "sequence").await
}

async fn disclosures(s: &Server, auditor: &str, patient: &str) -> Vec<i64> {
    let path = format!("/v1/patients/{patient}/disclosures?include=all");
    listed(s, auditor, &path, "audit_sequence").await
}

/// The patient index is derived from the events and checked against them: links deleted (or
/// added) by a database administrator are reported by `verify` (CLI and API), the accounting
/// of disclosures and the export never depend on them, and `audit reindex` restores them.
async fn the_patient_index_is_checked_against_the_events_and_rebuilt(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let org = org_of(&s);
    let patient = id(&p.patient).to_string();
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let reader = token(
        &s,
        &org,
        "res-1",
        &["biller"],
        &["--purpose-of-use", "HRESCH"],
    );
    for _ in 0..5 {
        let r = s
            .call(
                "GET",
                &format!("/v1/patients/{patient}"),
                Some(&reader),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
    }
    // Every event so far linked (the command links what the background indexer has not).
    let out = s.admin(&["audit", "reindex", "--org", &org]);
    assert!(
        out.contains(&format!("{org}: 0 missing patient links restored")),
        "{out}"
    );
    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{org}: patient index OK through sequence")),
        "{out}"
    );
    // The links up to the watermark are all written and stay put while the test runs (the
    // background indexer only links newer events).
    let through = count(
        &s,
        &format!("SELECT indexed_through AS n FROM audit_patient_index WHERE org_id = '{org}'"),
    );
    let linked = count(
        &s,
        &format!(
            "SELECT count(*) AS n FROM audit_event_patients WHERE org_id = '{org}' AND patient_id = '{patient}' AND sequence <= {through}"
        ),
    );
    assert!(
        linked >= 6,
        "the patient's creation and five reads at least: {linked}"
    );
    let before_filter = filtered(&s, &auditor, &patient).await;
    let before_disclosures = disclosures(&s, &auditor, &patient).await;
    assert!(before_disclosures.len() >= 5, "{before_disclosures:?}");
    // An event that does not name the patient: the org's first (the payer's creation).
    let unrelated = count(
        &s,
        &format!(
            "SELECT min(sequence) AS n FROM audit_events WHERE org_id = '{org}' AND patient_ids NOT LIKE '%{patient}%'"
        ),
    );
    assert!(!before_filter.contains(&unrelated));

    // A database administrator deletes the patient's links and links another event to them.
    match s.engine {
        Engine::Sqlite => s.sql("DROP TRIGGER audit_event_patients_no_delete;"),
        Engine::Postgres => s.sql("ALTER TABLE audit_event_patients DISABLE TRIGGER USER"),
    }
    s.sql(&format!(
        "DELETE FROM audit_event_patients WHERE org_id = '{org}' AND patient_id = '{patient}' AND sequence <= {through};
         INSERT INTO audit_event_patients (org_id, patient_id, sequence) VALUES ('{org}', '{patient}', {unrelated});"
    ));

    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(!ok, "a damaged index fails verification: {out}");
    assert!(
        out.contains(&format!("{org}: PATIENT LINKS MISSING: {linked} links")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{org}: PATIENT LINKS EXTRA: 1 links in the patient index name a patient their event does not (the first at sequence {unrelated})"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("{org}: OK,")),
        "the chain itself is intact: {out}"
    );
    let api = s
        .call("GET", "/v1/audit-events/verify", Some(&auditor), None, &[])
        .await;
    assert_eq!(api.status, 200, "{}", api.text);
    assert_eq!(api.body["status"], "broken", "{}", api.text);
    let index = &api.body["patient_index"];
    assert_eq!(index["status"], "broken");
    assert_eq!(index["missing_links"], linked);
    assert_eq!(index["extra_links"], 1);
    assert_eq!(index["first_extra_at"], unrelated);

    // The accounting of disclosures reads the events: every access is still listed.
    let now = disclosures(&s, &auditor, &patient).await;
    for seq in &before_disclosures {
        assert!(
            now.contains(seq),
            "disclosure {seq} still accounted: {now:?}"
        );
    }
    // So does an export filtered by the patient.
    let export = s
        .call(
            "GET",
            &format!("/v1/audit-events/export?patient_id={patient}"),
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(export.status, 200);
    let exported: Vec<i64> = export
        .text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["sequence"]
                .as_i64()
                .unwrap()
        })
        .collect();
    for seq in &before_filter {
        assert!(exported.contains(seq), "event {seq} exported: {exported:?}");
    }
    assert!(!exported.contains(&unrelated));
    // The patient filter reads the index: the linked events are gone from it until the
    // rebuild, and the hand-made link adds nothing.
    let damaged = filtered(&s, &auditor, &patient).await;
    assert!(!damaged.contains(&unrelated));
    assert!(!damaged.contains(&before_filter[0]), "{damaged:?}");

    let out = s.admin(&["audit", "reindex", "--org", &org]);
    assert!(
        out.contains(&format!("{org}: {linked} missing patient links restored")),
        "{out}"
    );
    let rebuilt = filtered(&s, &auditor, &patient).await;
    for seq in &before_filter {
        assert!(
            rebuilt.contains(seq),
            "event {seq} found again: {rebuilt:?}"
        );
    }
    assert!(!rebuilt.contains(&unrelated));
    // The extra link stays visible to every later check: rows are never deleted by hand.
    let (ok, out) = verify(&s, &["--org", &org]);
    assert!(!ok, "{out}");
    assert!(!out.contains("PATIENT LINKS MISSING"), "{out}");
    assert!(out.contains("PATIENT LINKS EXTRA: 1 links"), "{out}");
}
on_both_engines!(the_patient_index_is_checked_against_the_events_and_rebuilt);

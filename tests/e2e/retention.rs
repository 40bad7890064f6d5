//! Audit retention: six years kept whatever is configured, purges that remove only an old
//! prefix of a chain behind an anchor, verification that goes on from the anchor, and a
//! database that still refuses every other delete.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use revcycle_core::audit::AuditEvent;
use revcycle_core::store::{self, DbConnection};
use revcycle_e2e::{Engine, Server};
use serde_json::Value;
use uuid::Uuid;

use crate::checkpoints::{b64, get_ok, proof_bytes};
use crate::fixtures::token;
use crate::on_both_engines;

fn connect(s: &Server) -> DbConnection {
    store::connect(&s.db.url).expect("connect")
}

fn sql(s: &Server, statements: &str) {
    s.sql(statements);
}

fn fails(s: &Server, statement: &str) -> bool {
    connect(s).batch_execute(statement).is_err()
}

fn years_ago(n: i64) -> DateTime<Utc> {
    let t = Utc::now() - chrono::Duration::days(n * 366);
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

/// Appends events to `org`'s chain as the server would, stamped `ages` years ago (0: now),
/// each touching `patient`.
fn history(s: &Server, org: Uuid, patient: Uuid, ages: &[i64]) {
    let events = ages
        .iter()
        .map(|&age| {
            let mut e = AuditEvent::now(org, format!("legacy-{age}"), "read");
            e.resource_type = Some("Patient".into());
            e.resource_id = Some(patient.to_string());
            e.patient_ids = vec![patient];
            e.fields_disclosed = vec!["family_name".into()];
            e.http_status = 200;
            if age > 0 {
                e.occurred_at = years_ago(age);
            }
            e
        })
        .collect();
    let mut conn = connect(s);
    store::write_transaction(&mut conn, |c| store::audit::append(c, events)).expect("append");
}

/// The chain's sequence numbers once every committed event is chained (on PostgreSQL the
/// newest may still wait in the intake).
fn sequences(s: &Server, org: Uuid) -> Vec<i64> {
    use revcycle_core::store::schema::audit_events as a;
    let mut conn = connect(s);
    store::audit_intake::settle(&mut conn, org).expect("settle");
    a::table
        .filter(a::org_id.eq(org.to_string()))
        .select(a::sequence)
        .order(a::sequence.asc())
        .load(&mut conn)
        .unwrap()
}

fn patient_links(s: &Server, org: Uuid) -> Vec<i64> {
    use revcycle_core::store::schema::audit_event_patients as p;
    p::table
        .filter(p::org_id.eq(org.to_string()))
        .select(p::sequence)
        .order(p::sequence.asc())
        .load(&mut connect(s))
        .unwrap()
}

/// An organization whose audit trail began seven years ago (brought over from an older
/// system): its chain starts with old events, which a purge may remove.
fn old_org(s: &Server) -> Uuid {
    let org = Uuid::now_v7();
    sql(
        s,
        &format!(
            "INSERT INTO orgs (id, name, created_at) VALUES ('{org}', 'Old Practice', '2019-01-02 03:04:05')"
        ),
    );
    org
}

async fn purge(s: &Server, who: &str, query: &str) -> Value {
    let r = s
        .call(
            "POST",
            &format!("/v1/audit-events/purge{query}"),
            Some(who),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn purging_removes_only_the_old_prefix_and_the_chain_verifies_from_its_anchor(
    engine: Engine,
) {
    let s = Server::start(engine).await;
    let org = old_org(&s);
    let (p1, p2) = (Uuid::now_v7(), Uuid::now_v7());
    // 1-3 old, 4 recent, 5 old again (after a recent one), 6 recent.
    history(&s, org, p1, &[8, 7, 7]);
    history(&s, org, p2, &[0, 7, 0]);
    let o = org.to_string();
    let admin = token(&s, &o, "adm-1", &["admin"], &[]);
    let auditor = token(&s, &o, "co-1", &["compliance_officer"], &[]);
    let biller = token(&s, &o, "bill-1", &["biller"], &[]);

    // Admins only: compliance officers read the trail, they do not shorten it.
    for who in [&auditor, &biller] {
        let r = s
            .call("POST", "/v1/audit-events/purge", Some(who), None, &[])
            .await;
        r.assert_problem(403);
        assert!(r.text.contains("audit.purge"), "{}", r.text);
    }
    let before = sequences(&s, org);
    assert_eq!(&before[..6], [1, 2, 3, 4, 5, 6]);

    // A dry run counts and deletes nothing.
    let dry = purge(&s, &admin, "?dry_run=true").await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["retention"], "72 months");
    assert_eq!(dry["events_purged"], 3);
    assert_eq!(dry["patient_links_purged"], 3);
    assert_eq!(dry["through_sequence"], 3);
    assert!(dry["anchor"].is_null());
    let after_dry = sequences(&s, org);
    assert_eq!(after_dry[0], 1, "nothing deleted");
    assert_eq!(
        after_dry.len(),
        before.len() + 1,
        "only the dry run's own event added"
    );

    let done = purge(&s, &admin, "").await;
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["events_purged"], 3);
    assert_eq!(done["patient_links_purged"], 3);
    assert_eq!(done["through_sequence"], 3);
    assert_eq!(done["anchor"]["through_sequence"], 3);
    assert_eq!(done["anchor"]["events_purged"], 3);
    assert_eq!(done["anchor"]["last_purge_events"], 3);
    let cutoff: DateTime<Utc> = done["cutoff"].as_str().unwrap().parse().unwrap();
    assert!(
        cutoff <= years_ago(6) + chrono::Duration::days(6),
        "{cutoff}"
    );
    assert!(cutoff > years_ago(7), "{cutoff}");
    // Only the prefix went: the old event recorded after a recent one stays.
    let rest = sequences(&s, org);
    assert_eq!(&rest[..3], [4, 5, 6]);
    assert_eq!(patient_links(&s, org), [4, 5, 6]);

    // Verification starts at the anchor and says so.
    let v = s
        .call("GET", "/v1/audit-events/verify", Some(&auditor), None, &[])
        .await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(v.body["status"], "ok", "{}", v.text);
    assert_eq!(v.body["checked"], rest.len() as i64);
    assert_eq!(v.body["anchor"]["through_sequence"], 3);
    assert_eq!(v.body["anchor"]["events_purged"], 3);
    assert!(v.body["anchor"]["purged_at"].is_string());
    let cli = s.admin(&["audit", "verify", "--org", &o]);
    assert!(cli.contains(": OK, "), "{cli}");
    assert!(cli.contains("from the anchor at sequence 3"), "{cli}");

    // Both purges are in the chain they purged: who, counts and cutoff, no patients.
    let r = s
        .call(
            "GET",
            "/v1/audit-events?action=audit.purge",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    let (purges, refused): (Vec<Value>, Vec<Value>) = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .partition(|e| e["outcome"] == "success");
    assert_eq!(purges.len(), 2, "{}", r.text);
    // The refused attempts are on record too.
    assert_eq!(refused.len(), 2, "{}", r.text);
    assert!(refused.iter().all(|e| e["outcome"] == "denied"));
    for p in &purges {
        assert_eq!(p["actor"], "adm-1");
        assert_eq!(p["patient_ids"].as_array().unwrap().len(), 0);
        assert!(
            p["resource_id"]
                .as_str()
                .unwrap()
                .starts_with("events=3;patient_links=3;through_sequence=3;cutoff="),
            "{p}"
        );
    }
    // Recorded once each (the middleware does not record the request again), dry run first.
    let dry_run = |p: &Value| {
        p["resource_id"]
            .as_str()
            .unwrap()
            .ends_with(";dry_run=true")
    };
    assert!(dry_run(&purges[0]) && !dry_run(&purges[1]));

    // A second purge finds nothing more: the next old event follows a recent one.
    let again = purge(&s, &admin, "").await;
    assert_eq!(again["events_purged"], 0);
    assert!(again["through_sequence"].is_null());
    assert_eq!(again["anchor"]["through_sequence"], 3);

    // The database refuses every other delete, and any change to an anchor.
    let w = |seq: i64| format!("org_id = '{org}' AND sequence = {seq}");
    assert!(
        fails(&s, &format!("DELETE FROM audit_events WHERE {}", w(4))),
        "a recent event"
    );
    assert!(
        fails(&s, &format!("DELETE FROM audit_events WHERE {}", w(5))),
        "an old event no anchor covers"
    );
    assert!(fails(
        &s,
        &format!("DELETE FROM audit_event_patients WHERE {}", w(5))
    ));
    assert!(fails(&s, "DELETE FROM audit_anchors"));
    assert!(fails(&s, "UPDATE audit_anchors SET sequence = 5"));
    assert!(fails(&s, "UPDATE audit_events SET actor = 'x'"));
    if engine == Engine::Postgres {
        assert!(fails(&s, "TRUNCATE audit_anchors"));
        assert!(fails(&s, "TRUNCATE audit_events"));
    }
    // Nor may someone forge an anchor to cover recent events.
    let hash4 = {
        use revcycle_core::store::schema::audit_events as a;
        a::table
            .filter(a::org_id.eq(org.to_string()))
            .filter(a::sequence.eq(4))
            .select(a::hash)
            .get_result::<Vec<u8>>(&mut connect(&s))
            .unwrap()
    };
    let hex: String = hash4.iter().map(|b| format!("{b:02x}")).collect();
    let blob = match engine {
        Engine::Sqlite => format!("X'{hex}'"),
        Engine::Postgres => format!("'\\x{hex}'::bytea"),
    };
    assert!(fails(
        &s,
        &format!(
            "INSERT INTO audit_anchors VALUES ('{org}', 4, {blob}, '2030-01-01 00:00:00', '2030-01-01 00:00:00', 1)"
        )
    ));
    assert_eq!(
        sequences(&s, org)[0],
        4,
        "the failed statements changed nothing"
    );
    let v = s
        .call("GET", "/v1/audit-events/verify", Some(&auditor), None, &[])
        .await;
    assert_eq!(v.body["status"], "ok", "{}", v.text);

    // Tampering with the first remaining event is still found.
    match engine {
        Engine::Sqlite => sql(&s, "DROP TRIGGER audit_events_no_update"),
        Engine::Postgres => sql(&s, "ALTER TABLE audit_events DISABLE TRIGGER USER"),
    }
    sql(
        &s,
        &format!(
            "UPDATE audit_events SET actor = 'someone-else' WHERE {}",
            w(4)
        ),
    );
    let broken = s
        .call("GET", "/v1/audit-events/verify", Some(&auditor), None, &[])
        .await;
    assert_eq!(broken.body["status"], "broken", "{}", broken.text);
    assert_eq!(broken.body["broken_at"], 4);
    assert_eq!(broken.body["checked"], 0);
    assert_eq!(broken.body["anchor"]["through_sequence"], 3);
    sql(
        &s,
        &format!("UPDATE audit_events SET actor = 'legacy-0' WHERE {}", w(4)),
    );
    // As is a first remaining event that no longer links to the anchor.
    sql(
        &s,
        &format!("UPDATE audit_events SET prev_hash = hash WHERE {}", w(4)),
    );
    let cli = s.admin_output(&["audit", "verify", "--org", &o], &[]);
    assert!(!cli.status.success());
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(text.contains("BROKEN at sequence 4"), "{text}");
    assert!(text.contains("does not link"), "{text}");
}
on_both_engines!(purging_removes_only_the_old_prefix_and_the_chain_verifies_from_its_anchor);

async fn the_cli_purges_every_chain_with_counts(engine: Engine) {
    let s = Server::start(engine).await;
    let org = old_org(&s);
    history(&s, org, Uuid::now_v7(), &[9, 8, 7, 7, 0]);
    let o = org.to_string();

    let dry = s.admin(&["audit", "purge", "--org", &o, "--dry-run"]);
    assert!(
        dry.contains(&format!(
            "{o}: would purge 4 events (through sequence 4) and 4 patient links"
        )),
        "{dry}"
    );
    assert_eq!(sequences(&s, org)[0], 1, "a dry run deletes nothing");

    // Every chain: the old org's prefix goes, the others have nothing that old.
    let out = s.admin(&["audit", "purge"]);
    assert!(
        out.contains(&format!(
            "{o}: purged 4 events (through sequence 4) and 4 patient links"
        )),
        "{out}"
    );
    assert!(out.contains("(system): nothing older than"), "{out}");
    assert!(
        out.contains("total: purged 4 events and 4 patient links"),
        "{out}"
    );
    assert_eq!(sequences(&s, org)[0], 5);
    // Checkpointed at once: the trail after the purge (the 5 events, the dry run's and the
    // purge's own) is signed and published.
    assert!(
        out.contains(&format!("{o}: checkpoint of 7 events published")),
        "{out}"
    );

    let verify = s.admin(&["audit", "verify"]);
    assert!(
        verify.contains(&format!(
            "{o}: OK, 3 events checked (from the anchor at sequence 4"
        )),
        "the chain's last event, the dry run's and the purge's own: {verify}"
    );
    assert!(
        verify.contains(&format!(
            "{o}: checkpoint OK, the trail's first 7 events match the signed root"
        )),
        "purged events count by the leaf hashes the purge keeps: {verify}"
    );
    assert!(verify.contains("(system): OK"), "{verify}");
    let export = s.admin(&["audit", "export", "--org", &o]);
    let actions: Vec<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["action"].to_string())
        .collect();
    // The export's own event comes after the snapshot it exports.
    assert_eq!(actions, ["\"read\"", "\"audit.purge\"", "\"audit.purge\""]);
}
on_both_engines!(the_cli_purges_every_chain_with_counts);

/// A purge is checkpointed at once, and the proofs of the surviving events verify (with
/// ct-merkle, an independent RFC 6962 implementation) against that checkpoint, which is also
/// consistent with the one made before the purge: a purge shortens what is stored, never the
/// tree.
async fn proofs_verify_against_the_checkpoint_a_purge_makes(engine: Engine) {
    use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
    use sha2::Sha256;

    let s = Server::start(engine).await;
    let org = old_org(&s);
    history(&s, org, Uuid::now_v7(), &[9, 8, 7, 0, 0]);
    let o = org.to_string();
    let admin = token(&s, &o, "adm-1", &["admin"], &[]);
    let auditor = token(&s, &o, "co-1", &["compliance_officer"], &[]);
    let before = s
        .call(
            "POST",
            "/v1/audit-events/checkpoint",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    let old_size: u64 = before.text.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(old_size, 5);

    let done = purge(&s, &admin, "").await;
    assert_eq!(done["events_purged"], 3);
    let size = done["checkpoint_size"]
        .as_u64()
        .expect("a checkpoint after the purge");
    assert!(size > old_size, "{size}");
    let dir = s.data_dir.join("checkpoints").join(&o);
    let note = std::fs::read_to_string(dir.join(format!("{size:020}"))).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("latest")).unwrap(), note);
    let root_of = |note: &str| -> [u8; 32] {
        b64(&Value::String(note.lines().nth(2).unwrap().into()))
            .try_into()
            .unwrap()
    };
    let root = RootHash::<Sha256>::new(root_of(&note).into(), size);

    for sequence in 4..=size {
        let path = format!("/v1/audit-events/{sequence}/proof?checkpoint={size}");
        let r = get_ok(&s, &auditor, &path).await;
        assert_eq!(r.body["checkpoint"], note.as_str());
        let proof = InclusionProof::<Sha256>::try_from_bytes(proof_bytes(&r.body)).unwrap();
        root.verify_inclusion(&b64(&r.body["event_canonical"]), sequence - 1, &proof)
            .unwrap_or_else(|e| panic!("event {sequence}: {e:?}"));
    }
    // A purged event has nothing left to prove.
    let gone = s
        .call(
            "GET",
            &format!("/v1/audit-events/2/proof?checkpoint={size}"),
            Some(&auditor),
            None,
            &[],
        )
        .await;
    gone.assert_problem(404);

    let path = format!("/v1/audit-events/consistency?from={old_size}&to={size}");
    let r = get_ok(&s, &auditor, &path).await;
    let proof = ConsistencyProof::<Sha256>::try_from_bytes(proof_bytes(&r.body)).unwrap();
    let old_root = RootHash::<Sha256>::new(root_of(&before.text).into(), old_size);
    root.verify_consistency(&old_root, &proof).unwrap();

    let v = s
        .call("GET", "/v1/audit-events/verify", Some(&auditor), None, &[])
        .await;
    assert_eq!(v.body["status"], "ok", "{}", v.text);
    assert_eq!(v.body["checkpoint"]["status"], "ok", "{}", v.text);
    // The latest published checkpoint: this one, or a timed one made since.
    assert!(
        v.body["checkpoint"]["size"].as_u64().unwrap() >= size,
        "{}",
        v.text
    );
}
on_both_engines!(proofs_verify_against_the_checkpoint_a_purge_makes);

/// Runs `revcycle serve` with `env` and returns its failure output; panics if it starts.
fn serve_refused(s: &Server, env: &[(&str, &str)]) -> String {
    let mut cmd = std::process::Command::new(revcycle_e2e::revcycle_bin());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--insecure-http"])
        .env("REVCYCLE_DATA_DIR", &s.data_dir)
        .env("REVCYCLE_DATABASE_URL", &s.db.url)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn revcycle serve");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn less_than_six_years_of_retention_is_refused(engine: Engine) {
    let s = Server::start(engine).await;
    let short = [("REVCYCLE_AUDIT_RETENTION_DAYS", "2190")];
    let err = serve_refused(&s, &short);
    assert!(err.contains("shorter than six years"), "{err}");
    assert!(err.contains("164.316(b)(2)(i)"), "{err}");
    let out = s.admin_output(&["audit", "purge"], &short);
    assert!(!out.status.success(), "the CLI refuses it too");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorter than six years"));
    let out = s.admin_output(&["audit", "purge", "--audit-retention-days", "365"], &[]);
    assert!(!out.status.success(), "and as a flag");

    // Longer is fine, and a purge then keeps more.
    let org = old_org(&s);
    history(&s, org, Uuid::now_v7(), &[9, 7, 0]);
    let out = s.admin_output(
        &["audit", "purge", "--org", &org.to_string()],
        &[("REVCYCLE_AUDIT_RETENTION_DAYS", "2920")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("purged 1 events (through sequence 1)"),
        "eight years keeps the seven-year-old event: {text}"
    );
    assert_eq!(sequences(&s, org)[0], 2);
}
on_both_engines!(less_than_six_years_of_retention_is_refused);

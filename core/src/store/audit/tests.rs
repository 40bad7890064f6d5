use super::*;
use crate::audit::verify;
use crate::store::testing::{TestEngine, on_each_engine, setup, setup_on};

use crate::store::write_transaction;

on_each_engine!(
    appended_batches_extend_each_orgs_chain_and_read_back_exactly,
    the_merkle_tree_follows_the_chain_and_catches_up,
    a_purge_grows_the_tree_over_the_events_it_deletes,
    the_patient_filter_finds_events_linked_or_not,
    the_database_refuses_updates_and_deletes,
    a_purge_removes_only_the_old_prefix_and_the_chain_verifies_from_its_anchor,
    a_chain_purged_whole_goes_on_from_its_anchor,
    the_database_deletes_only_what_an_anchor_covers_and_keeps_anchors,
    garbage_written_into_an_event_is_a_break_reported_at_its_sequence
);

fn event(org: Uuid, actor: &str, patients: Vec<Uuid>) -> AuditEvent {
    let mut e = AuditEvent::now(org, actor, "read");
    e.resource_type = Some("Patient".into());
    e.patient_ids = patients;
    e.fields_disclosed = vec!["family_name".into()];
    e.http_status = 200;
    e
}

fn appended_batches_extend_each_orgs_chain_and_read_back_exactly(engine: TestEngine) {
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let other = Uuid::now_v7();
    let p = Uuid::now_v7();
    // Every optional column set, with text JSON must escape and ciphertext that is not
    // text, so that each column is shown to read back exactly as it was appended.
    let mut full = event(org.0, "c", vec![p, p]);
    full.client_id = Some("billing-app \"β\"\n".into());
    full.purpose_of_use = Some("TREAT".into());
    full.resource_id = Some(Uuid::now_v7().to_string());
    full.request_id = Some("req-1".into());
    full.source_ip = Some("127.0.0.1".into());
    // PostgreSQL text holds no NUL (and no HTTP header carries one): another control
    // character there.
    full.user_agent = Some(match engine {
        TestEngine::Sqlite => "agent/1.0 \\ \u{0}".into(),
        TestEngine::Postgres => "agent/1.0 \\ \u{1}".into(),
    });
    full.break_glass_reason = Some(vec![0, 255, 1, 128]);
    full.outcome = Outcome::Denied;
    full.http_status = 403;
    let batch = vec![event(org.0, "a", vec![p]), event(other, "b", vec![]), full];
    let first = write_transaction(&mut conn, |c| append(c, batch.clone())).unwrap();
    assert_eq!(
        first.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        [1, 1, 2]
    );
    let second =
        write_transaction(&mut conn, |c| append(c, vec![event(org.0, "d", vec![])])).unwrap();
    assert_eq!(second[0].sequence, 3);
    assert_eq!(second[0].prev_hash, first[2].hash);

    let stored = list(&mut conn, org.0, &AuditFilter::default(), 0, 100).unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[..2], [first[0].clone(), first[2].clone()]);
    assert_eq!(verify(org.0, stored), Verification::Intact { checked: 3 });
    let by_patient = AuditFilter {
        patient: Some(p),
        ..AuditFilter::default()
    };
    let hits = list(&mut conn, org.0, &by_patient, 0, 100).unwrap();
    assert_eq!(
        hits.iter()
            .map(|c| c.event.actor.as_str())
            .collect::<Vec<_>>(),
        ["a", "c"]
    );
    assert_eq!(count(&mut conn, org.0, &by_patient).unwrap(), 2);
    assert_eq!(chains(&mut conn).unwrap().len(), 2);
}

fn the_merkle_tree_follows_the_chain_and_catches_up(engine: TestEngine) {
    use crate::audit::merkle::{self, Hash, event_leaf};
    use crate::store::audit_tree;
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    let other = Uuid::now_v7();
    for n in [1usize, 2, 5, 9] {
        let mut batch: Vec<AuditEvent> = (0..n)
            .map(|i| event(org, &format!("u{i}"), vec![]))
            .collect();
        batch.push(event(other, "o", vec![]));
        write_transaction(&mut conn, |c| append(c, batch)).unwrap();
    }
    // Appends leave the tree to the follower.
    assert!(audit_tree::head(&mut conn, org).unwrap().is_none());
    let pass = std::time::Duration::from_secs(5);
    assert_eq!(audit_tree::follow_all(&mut conn, pass).unwrap(), 17 + 4);
    assert_eq!(audit_tree::follow_all(&mut conn, pass).unwrap(), 0);
    let leaves_of = |conn: &mut DbConnection| -> Vec<Hash> {
        list(conn, org, &AuditFilter::default(), 0, 100)
            .unwrap()
            .iter()
            .map(|e| event_leaf(e.sequence, &e.event))
            .collect()
    };
    let leaves = leaves_of(&mut conn);
    assert_eq!(leaves.len(), 17);
    let head = audit_tree::head(&mut conn, org).unwrap().unwrap();
    assert_eq!(head.size(), 17);
    assert_eq!(head.root(), merkle::root(&leaves));
    assert_eq!(audit_tree::leaves(&mut conn, org, 0, 17).unwrap(), leaves);
    assert_eq!(
        audit_tree::head(&mut conn, other).unwrap().unwrap().size(),
        4
    );

    // A chain whose tree head is gone (as for chains older than the tree) is caught up
    // from its events by the next reader.
    diesel::sql_query("DELETE FROM audit_tree_heads")
        .execute(&mut conn)
        .unwrap();
    write_transaction(&mut conn, |c| append(c, vec![event(org, "late", vec![])])).unwrap();
    assert_eq!(audit_tree::follow(&mut conn, org, None).unwrap(), 18);
    let leaves = leaves_of(&mut conn);
    let head = audit_tree::head(&mut conn, org).unwrap().unwrap();
    assert_eq!(head.size(), 18);
    assert_eq!(head.root(), merkle::root(&leaves));
    assert_eq!(audit_tree::leaves(&mut conn, org, 0, 18).unwrap(), leaves);
}

/// A purge grows the tree over the events it deletes first, whatever the follower has
/// done: their leaves outlive them, and the tree of every size stays provable.
fn a_purge_grows_the_tree_over_the_events_it_deletes(engine: TestEngine) {
    use crate::audit::merkle::{self, Hash, event_leaf};
    use crate::store::audit_tree;
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    stamped(&mut conn, org, &[8, 7, 7, 0]);
    let before: Vec<Hash> = list(&mut conn, org, &AuditFilter::default(), 0, 10)
        .unwrap()
        .iter()
        .map(|e| event_leaf(e.sequence, &e.event))
        .collect();
    assert!(audit_tree::head(&mut conn, org).unwrap().is_none());
    let done = purge_now(&mut conn, org, false);
    assert_eq!(done.through_sequence, Some(3));
    assert_eq!(
        audit_tree::leaves(&mut conn, org, 0, 3).unwrap(),
        before[..3]
    );
    // The purge's own event (5) comes after; the tree reaches it from the events left.
    assert_eq!(audit_tree::follow(&mut conn, org, None).unwrap(), 2);
    let tail = list(&mut conn, org, &AuditFilter::default(), 0, 10).unwrap();
    let mut all = before.clone();
    all.push(event_leaf(tail[1].sequence, &tail[1].event));
    let head = audit_tree::head(&mut conn, org).unwrap().unwrap();
    assert_eq!(head.size(), 5);
    assert_eq!(head.root(), merkle::root(&all));
}

fn the_patient_filter_finds_events_linked_or_not(engine: TestEngine) {
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    let (p, q) = (Uuid::now_v7(), Uuid::now_v7());
    let append_now = |conn: &mut DbConnection, events: Vec<AuditEvent>| {
        write_transaction(conn, |c| append(c, events)).unwrap();
    };
    // The patient's events after `after` (up to `up_to`), checked against their count.
    let found = |conn: &mut DbConnection, patient: Uuid, after: i64, up_to: Option<i64>| {
        let f = AuditFilter {
            patient: Some(patient),
            up_to,
            ..AuditFilter::default()
        };
        let all = list(conn, org, &f, 0, 100).unwrap();
        assert_eq!(count(conn, org, &f).unwrap(), all.len() as i64);
        list(conn, org, &f, after, 100).unwrap()
    };
    let actors = |conn: &mut DbConnection, patient: Uuid, after: i64| {
        let events = found(conn, patient, after, None);
        events
            .into_iter()
            .map(|c| c.event.actor)
            .collect::<Vec<_>>()
    };
    append_now(
        &mut conn,
        vec![
            event(org, "a", vec![p]),
            event(org, "b", vec![q]),
            event(org, "c", vec![p, q, p]),
            event(org, "d", vec![]),
        ],
    );
    // Nothing linked yet: the events are found by their own patient lists.
    assert_eq!(links(&mut conn, org), Vec::<i64>::new());
    assert_eq!(actors(&mut conn, p, 0), ["a", "c"]);
    assert_eq!(actors(&mut conn, q, 0), ["b", "c"]);

    assert_eq!(index_patients(&mut conn, org).unwrap(), 4);
    assert_eq!(links(&mut conn, org), [1, 2, 3, 3], "one link per patient");
    assert_eq!(index_patients(&mut conn, org).unwrap(), 0);
    assert_eq!(actors(&mut conn, p, 0), ["a", "c"]);

    // Linked events and newer unlinked ones together, from any cursor.
    append_now(
        &mut conn,
        vec![event(org, "e", vec![p]), event(org, "f", vec![q])],
    );
    assert_eq!(actors(&mut conn, p, 0), ["a", "c", "e"]);
    assert_eq!(actors(&mut conn, p, 1), ["c", "e"]);
    assert_eq!(actors(&mut conn, p, 3), ["e"]);
    assert_eq!(actors(&mut conn, q, 0), ["b", "c", "f"]);
    assert_eq!(actors(&mut conn, Uuid::now_v7(), 0), Vec::<String>::new());
    let snapshot = |conn: &mut DbConnection, up_to: i64| {
        let events = found(conn, p, 0, Some(up_to));
        events.into_iter().map(|c| c.sequence).collect::<Vec<_>>()
    };
    assert_eq!(snapshot(&mut conn, 4), [1, 3]);
    assert_eq!(snapshot(&mut conn, 5), [1, 3, 5]);

    // A link already there (another indexer wrote it) is not written twice.
    diesel::insert_into(audit_event_patients::table)
        .values((
            audit_event_patients::org_id.eq(org.to_string()),
            audit_event_patients::patient_id.eq(p.to_string()),
            audit_event_patients::sequence.eq(5_i64),
        ))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        index_patients_for(&mut conn, std::time::Duration::from_secs(5)).unwrap(),
        2
    );
    assert_eq!(links(&mut conn, org), [1, 2, 3, 3, 5, 6]);
    assert_eq!(actors(&mut conn, q, 0), ["b", "c", "f"]);
}

fn the_database_refuses_updates_and_deletes(engine: TestEngine) {
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    write_transaction(&mut conn, |c| append(c, vec![event(org.0, "a", vec![])])).unwrap();
    let update = diesel::update(audit_events::table)
        .set(audit_events::actor.eq("mallory"))
        .execute(&mut conn);
    assert!(update.is_err());
    assert!(
        diesel::delete(audit_events::table)
            .execute(&mut conn)
            .is_err()
    );
    // The tree's leaves and block hashes too, each refusal naming its table.
    crate::store::audit_tree::follow(&mut conn, org.0, None).unwrap();
    diesel::sql_query(match engine {
        TestEngine::Sqlite => {
            "INSERT INTO audit_tree_blocks (org_id, block, hash) VALUES ('o', 0, X'00')"
        }
        TestEngine::Postgres => {
            "INSERT INTO audit_tree_blocks (org_id, block, hash) VALUES ('o', 0, '\\x00'::bytea)"
        }
    })
    .execute(&mut conn)
    .unwrap();
    for (table, refused) in [
        ("audit_tree_leaves", "audit tree leaves are append-only"),
        ("audit_tree_blocks", "audit tree blocks are append-only"),
    ] {
        for change in [
            format!("UPDATE {table} SET org_id = 'x'"),
            format!("DELETE FROM {table}"),
        ] {
            let err = diesel::sql_query(&change).execute(&mut conn).unwrap_err();
            assert!(err.to_string().contains(refused), "{change}: {err}");
        }
    }
}

fn years_ago(n: i32) -> DateTime<Utc> {
    let t = Utc::now() - chrono::Duration::days(i64::from(n) * 366);
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

/// Appends one event per entry, stamped that many years ago (0: now), with a patient each.
fn stamped(conn: &mut DbConnection, org: Uuid, ages: &[i32]) -> Vec<ChainedEvent> {
    let events = ages
        .iter()
        .map(|&age| {
            let mut e = event(org, &format!("age-{age}"), vec![Uuid::now_v7()]);
            if age > 0 {
                e.occurred_at = years_ago(age);
            }
            e
        })
        .collect();
    write_transaction(conn, |c| append(c, events)).unwrap()
}

fn cutoff() -> DateTime<Utc> {
    crate::audit::Retention::default().cutoff(Utc::now())
}

fn purge_now(conn: &mut DbConnection, org: Uuid, dry_run: bool) -> PurgeReport {
    let record = AuditEvent::now(org, "cli:test", "audit.purge");
    purge(conn, org, cutoff(), dry_run, record, |_, _| {}).unwrap()
}

fn links(conn: &mut DbConnection, org: Uuid) -> Vec<i64> {
    audit_event_patients::table
        .filter(audit_event_patients::org_id.eq(org.to_string()))
        .select(audit_event_patients::sequence)
        .order(audit_event_patients::sequence.asc())
        .load(conn)
        .unwrap()
}

fn sequences(conn: &mut DbConnection, org: Uuid) -> Vec<i64> {
    list(conn, org, &AuditFilter::default(), 0, 1000)
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect()
}

fn a_purge_removes_only_the_old_prefix_and_the_chain_verifies_from_its_anchor(engine: TestEngine) {
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    let other = Uuid::now_v7();
    // Three old events, a recent one, then an old one again (clock skew, a late import).
    let chained = stamped(&mut conn, org, &[7, 7, 7, 0, 7, 0]);
    stamped(&mut conn, other, &[7, 7]);

    let dry = purge_now(&mut conn, org, true);
    assert!(dry.dry_run);
    assert_eq!((dry.events, dry.patient_links), (3, 3));
    assert_eq!(dry.through_sequence, Some(3));
    assert_eq!(dry.anchor, None);
    assert_eq!(
        sequences(&mut conn, org),
        [1, 2, 3, 4, 5, 6, 7],
        "nothing deleted"
    );
    assert_eq!(latest_anchor(&mut conn, org).unwrap(), None);

    let done = purge_now(&mut conn, org, false);
    assert_eq!((done.events, done.patient_links), (3, 3));
    assert_eq!(done.through_sequence, Some(3));
    assert_eq!(done.recorded_as, 8, "after the dry run's own event");
    let anchor = latest_anchor(&mut conn, org).unwrap().unwrap();
    assert_eq!(done.anchor.as_ref(), Some(&anchor));
    assert_eq!(anchor.sequence, 3);
    assert_eq!(anchor.hash, chained[2].hash);
    assert_eq!(anchor.purged_count, 3);
    assert_eq!(anchor.cutoff, cutoff().min(anchor.cutoff));
    // The old event after the recent one stays: only a prefix goes.
    assert_eq!(sequences(&mut conn, org), [4, 5, 6, 7, 8]);
    assert_eq!(links(&mut conn, org), [4, 5, 6]);
    // The other org's chain is untouched.
    assert_eq!(sequences(&mut conn, other), [1, 2]);

    let check = verify_chain(&mut conn, org, |_| {}).unwrap();
    assert_eq!(check.verification, Verification::Intact { checked: 5 });
    assert_eq!(check.anchor, Some(anchor.clone()));

    // The purge is in the chain: counts and cutoff, no patients.
    let recorded = list(&mut conn, org, &AuditFilter::default(), 6, 10).unwrap();
    let e = &recorded[1].event;
    assert_eq!(e.action, "audit.purge");
    assert!(e.patient_ids.is_empty());
    let summary = e.resource_id.as_deref().unwrap();
    assert!(
        summary.starts_with("events=3;patient_links=3;through_sequence=3;cutoff="),
        "{summary}"
    );
    assert!(summary.ends_with(";dry_run=false"), "{summary}");
    assert!(
        recorded[0]
            .event
            .resource_id
            .as_deref()
            .unwrap()
            .ends_with(";dry_run=true")
    );

    // Nothing more to purge: the next old event follows a recent one.
    let again = purge_now(&mut conn, org, false);
    assert_eq!((again.events, again.through_sequence), (0, None));
    assert_eq!(again.anchor, Some(anchor));
    let check = verify_chain(&mut conn, org, |_| {}).unwrap();
    assert_eq!(check.verification, Verification::Intact { checked: 6 });
}

fn a_chain_purged_whole_goes_on_from_its_anchor(engine: TestEngine) {
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    let chained = stamped(&mut conn, org, &[8, 7, 7]);
    let done = purge_now(&mut conn, org, false);
    assert_eq!(done.through_sequence, Some(3));
    // The purge's own event follows the anchor, linked to the last purged hash.
    let rest = list(&mut conn, org, &AuditFilter::default(), 0, 10).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].sequence, 4);
    assert_eq!(rest[0].prev_hash, chained[2].hash);
    stamped(&mut conn, org, &[0]);
    let check = verify_chain(&mut conn, org, |_| {}).unwrap();
    assert_eq!(check.verification, Verification::Intact { checked: 2 });
    assert_eq!(chains(&mut conn).unwrap(), [org]);
}

fn the_database_deletes_only_what_an_anchor_covers_and_keeps_anchors(engine: TestEngine) {
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    stamped(&mut conn, org, &[7, 7, 0, 7]);
    purge_now(&mut conn, org, false);
    let delete = |conn: &mut DbConnection, seq: i64| {
        diesel::delete(audit_events::table.find((org.to_string(), seq))).execute(conn)
    };
    assert!(delete(&mut conn, 3).is_err(), "a recent event");
    assert!(
        delete(&mut conn, 4).is_err(),
        "an old event no anchor covers"
    );
    assert!(
        diesel::delete(audit_event_patients::table.filter(audit_event_patients::sequence.eq(4)))
            .execute(&mut conn)
            .is_err()
    );
    assert!(
        diesel::delete(audit_anchors::table)
            .execute(&mut conn)
            .is_err()
    );
    assert!(
        diesel::update(audit_anchors::table)
            .set(audit_anchors::sequence.eq(4))
            .execute(&mut conn)
            .is_err()
    );
    // An anchor must tell the truth: not newer than six years, at a real event's hash,
    // covering only old events.
    let head_hash = |conn: &mut DbConnection, seq: i64| -> Vec<u8> {
        audit_events::table
            .find((org.to_string(), seq))
            .select(audit_events::hash)
            .get_result(conn)
            .unwrap()
    };
    let forged = |seq: i64, hash: Vec<u8>, cutoff: DateTime<Utc>| AnchorRow {
        org_id: org.to_string(),
        sequence: seq,
        hash,
        cutoff: cutoff.naive_utc(),
        purged_at: Utc::now().naive_utc(),
        purged_count: 1,
    };
    let insert = |conn: &mut DbConnection, a: AnchorRow| {
        diesel::insert_into(audit_anchors::table)
            .values(&a)
            .execute(conn)
    };
    let h4 = head_hash(&mut conn, 4);
    assert!(
        insert(&mut conn, forged(4, h4.clone(), years_ago(1))).is_err(),
        "recent cutoff"
    );
    assert!(
        insert(&mut conn, forged(4, vec![0; 32], cutoff())).is_err(),
        "wrong hash"
    );
    assert!(
        insert(&mut conn, forged(4, h4, cutoff())).is_err(),
        "covers a recent event"
    );
    assert_eq!(sequences(&mut conn, org)[0], 3);
}

#[test]
fn verification_from_an_anchor_still_finds_tampering() {
    use diesel::connection::SimpleConnection;
    let (mut conn, _keyring, org) = setup();
    let org = org.0;
    stamped(&mut conn, org, &[7, 7, 0, 0]);
    purge_now(&mut conn, org, false);
    let DbConnection::Sqlite(c) = &mut conn else {
        unreachable!()
    };
    c.batch_execute("DROP TRIGGER audit_events_no_update")
        .unwrap();
    diesel::update(audit_events::table.find((org.to_string(), 3)))
        .set(audit_events::actor.eq("mallory"))
        .execute(&mut conn)
        .unwrap();
    let check = verify_chain(&mut conn, org, |_| {}).unwrap();
    assert!(matches!(
        check.verification,
        Verification::Broken {
            sequence: 3,
            why: crate::audit::ChainBreak::HashMismatch,
            checked: 0
        }
    ));
    assert!(check.anchor.is_some());
    // The first remaining event relinked elsewhere is a break too.
    diesel::update(audit_events::table.find((org.to_string(), 3)))
        .set((
            audit_events::actor.eq("age-0"),
            audit_events::prev_hash.eq(vec![0u8; 32]),
        ))
        .execute(&mut conn)
        .unwrap();
    let check = verify_chain(&mut conn, org, |_| {}).unwrap();
    assert!(matches!(
        check.verification,
        Verification::Broken {
            sequence: 3,
            why: crate::audit::ChainBreak::PrevHashMismatch,
            ..
        }
    ));
}

#[test]
fn cursors_round_trip_and_refuse_garbage() {
    assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
    assert!(decode_cursor("nope").is_err());
}

/// Someone with database access overwrites an event's patient list with text that is not
/// JSON. Verification still runs to the end and reports the edit where it is: the chain breaks
/// at that sequence, the tree no longer matches the checkpoint's root, and the patient's link
/// to that event is one no event calls for. (Each used to stop the check with an error.)
fn garbage_written_into_an_event_is_a_break_reported_at_its_sequence(engine: TestEngine) {
    use crate::audit::{ChainBreak, Verification};
    use crate::store::{audit_links, audit_tree};
    let (_db, mut conn, _keyring, org) = setup_on(engine);
    let org = org.0;
    let patient = Uuid::now_v7();
    let events = (0..5)
        .map(|i| event(org, &format!("u{i}"), vec![patient]))
        .collect();
    write_transaction(&mut conn, |c| append(c, events)).unwrap();
    while audit_links::index_patients(&mut conn, org).unwrap() > 0 {}
    audit_tree::follow(&mut conn, org, None).unwrap();
    let signed = audit_tree::head(&mut conn, org).unwrap().unwrap();
    assert_eq!(signed.size(), 5);

    {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(match engine {
            TestEngine::Sqlite => "DROP TRIGGER audit_events_no_update",
            TestEngine::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER USER",
        })
        .unwrap();
    }
    diesel::update(
        audit_events::table
            .filter(audit_events::org_id.eq(org.to_string()))
            .filter(audit_events::sequence.eq(3)),
    )
    .set(audit_events::patient_ids.eq("not a list"))
    .execute(&mut conn)
    .unwrap();

    let check = crate::store::audit_verification::verify_trail(&mut conn, org, None, |_| {})
        .expect("verification reports, it does not fail");
    assert_eq!(
        check.chain.verification,
        Verification::Broken {
            sequence: 3,
            why: ChainBreak::HashMismatch,
            checked: 2
        }
    );
    assert_eq!(check.patient_index.missing, 0);
    assert_eq!(check.patient_index.extra, 1);
    assert_eq!(check.patient_index.first_extra, Some(3));
    assert_eq!(
        audit_tree::check_against(&mut conn, org, 5, &signed.root()).unwrap(),
        audit_tree::TreeCheck::RootMismatch { size: 5 }
    );
    // The event still does not read back: nothing pretends it is intact.
    assert!(list(&mut conn, org, &AuditFilter::default(), 0, 10).is_err());
}

use super::*;
use crate::audit::AuditEvent;
use crate::audit::merkle::{self, event_leaf};
use crate::store::audit::{append, list};
use crate::store::testing::setup;
use crate::store::write_transaction;

/// A long trail (older than the tree, or a busy second's) is grown a bounded number of
/// events per transaction, and then the tree covers every event with the right root.
#[test]
fn a_long_trail_is_grown_in_bounded_steps() {
    let (mut conn, _keyring, org) = setup();
    let org = org.0;
    let events = |n: usize| -> Vec<AuditEvent> {
        (0..n).map(|_| AuditEvent::now(org, "u", "read")).collect()
    };
    write_transaction(&mut conn, |c| append(c, events(25))).unwrap();
    // As for a chain written before the tree existed.
    diesel::sql_query("DELETE FROM audit_tree_heads")
        .execute(&mut conn)
        .unwrap();
    let size = |conn: &mut DbConnection| head(conn, org).unwrap().unwrap().size();
    let mut sizes = Vec::new();
    for _ in 0..4 {
        write_transaction(&mut conn, |c| grow(c, org, None, 10, true)).unwrap();
        sizes.push(size(&mut conn));
    }
    assert_eq!(sizes, [10, 20, 25, 25]);
    write_transaction(&mut conn, |c| append(c, events(1))).unwrap();
    assert_eq!(follow(&mut conn, org, None).unwrap(), 1);
    let leaves: Vec<Hash> = list(&mut conn, org, &Default::default(), 0, 100)
        .unwrap()
        .iter()
        .map(|e| event_leaf(e.sequence, &e.event))
        .collect();
    assert_eq!(leaves.len(), 26);
    let f = head(&mut conn, org).unwrap().unwrap();
    assert_eq!(f.size(), 26);
    assert_eq!(f.root(), merkle::root(&leaves));
}

/// A hole in what a checkpoint covers is reported at its first sequence, even when the
/// trail goes on past the checkpoint (a head kept elsewhere numbers new events after the
/// removed ones); a catch-up meeting such a hole writes nothing.
#[test]
fn a_hole_reaching_past_the_checkpoint_is_missing_events_not_an_endless_walk() {
    let (mut conn, _keyring, org) = setup();
    let org = org.0;
    let events = |n: usize| -> Vec<AuditEvent> {
        (0..n).map(|_| AuditEvent::now(org, "u", "read")).collect()
    };
    write_transaction(&mut conn, |c| append(c, events(10))).unwrap();
    follow(&mut conn, org, None).unwrap();
    let f = head(&mut conn, org).unwrap().unwrap();
    let leaves = leaves(&mut conn, org, 0, 8).unwrap();
    let root8 = merkle::root(&leaves);
    assert_eq!(
        check_against(&mut conn, org, 8, &root8).unwrap(),
        TreeCheck::Matches { size: 8 }
    );
    assert_eq!(
        check_against(&mut conn, org, 10, &f.root()).unwrap(),
        TreeCheck::Matches { size: 10 }
    );
    diesel::sql_query("DROP TRIGGER audit_events_no_delete")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("DELETE FROM audit_events WHERE sequence BETWEEN 6 AND 8")
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        check_against(&mut conn, org, 8, &root8).unwrap(),
        TreeCheck::Missing {
            first_missing: 6,
            size: 8
        }
    );
    diesel::sql_query("DELETE FROM audit_tree_heads")
        .execute(&mut conn)
        .unwrap();
    write_transaction(&mut conn, |c| grow(c, org, None, 100, true)).unwrap();
    assert!(head(&mut conn, org).unwrap().is_none(), "nothing written");
}

/// Proofs read block hashes and a few blocks' leaves, and equal the proofs computed from
/// every leaf, at sizes on and around block boundaries; the block hashes are stored the
/// first time and read afterwards.
#[test]
fn proofs_from_block_hashes_equal_proofs_from_every_leaf() {
    let (mut conn, _keyring, org) = setup();
    let org = org.0;
    let n = 3 * BLOCK as usize + 5;
    let events: Vec<AuditEvent> = (0..n).map(|_| AuditEvent::now(org, "u", "read")).collect();
    write_transaction(&mut conn, |c| append(c, events)).unwrap();
    follow(&mut conn, org, None).unwrap();
    let all = leaves(&mut conn, org, 0, n as i64).unwrap();
    let stored = |conn: &mut DbConnection| -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT count(*) AS n FROM audit_tree_blocks")
            .get_result::<N>(conn)
            .unwrap()
            .n
    };
    assert_eq!(stored(&mut conn), 0);
    let b = BLOCK as i64;
    let sizes = [1, 2, 5, b - 1, b, b + 1, 2 * b, 2 * b + 3, 3 * b, n as i64];
    for &size in &sizes {
        let part = &all[..size as usize];
        for seq in [1, 2, b - 1, b, b + 1, 2 * b + 1, size / 2 + 1, size] {
            if seq > size {
                continue;
            }
            let (proof, root) = inclusion_proof(&mut conn, org, seq, size).unwrap().unwrap();
            assert_eq!(root, merkle::root(part), "root of {size}");
            assert_eq!(
                Some(proof),
                merkle::inclusion_proof(part, (seq - 1) as usize),
                "event {seq} in {size}"
            );
        }
        for &from in &sizes {
            if from > size {
                continue;
            }
            let (proof, old, new) = consistency_proof(&mut conn, org, from, size)
                .unwrap()
                .unwrap();
            assert_eq!(old, merkle::root(&all[..from as usize]));
            assert_eq!(new, merkle::root(part));
            assert_eq!(
                Some(proof),
                merkle::consistency_proof(part, from as usize),
                "{from} -> {size}"
            );
        }
    }
    assert_eq!(
        stored(&mut conn),
        3,
        "the three complete blocks, hashed once"
    );
    assert!(inclusion_proof(&mut conn, org, 0, 10).unwrap().is_none());
    assert!(inclusion_proof(&mut conn, org, 11, 10).unwrap().is_none());
    assert!(consistency_proof(&mut conn, org, 11, 10).unwrap().is_none());
    assert!(consistency_proof(&mut conn, org, 0, 10).unwrap().is_none());
}

crate::store::testing::on_each_engine!(
    remembered_leaves_are_used_only_where_the_stored_events_confirm_them
);

/// The leaves the writer (SQLite) or the sequencer (PostgreSQL) remembers from its commits
/// are taken only where the stored chain hashes confirm them: a leaf remembered for an event
/// whose transaction did not commit is not the stored event's, and is read back instead.
fn remembered_leaves_are_used_only_where_the_stored_events_confirm_them(
    engine: crate::store::testing::TestEngine,
) {
    use crate::audit::ChainedEvent;
    use crate::store::audit_intake;
    let (_db, mut conn, _keyring, org) = crate::store::testing::setup_on(engine);
    let org = org.0;
    let events = |n: usize| -> Vec<AuditEvent> {
        (0..n).map(|_| AuditEvent::now(org, "u", "read")).collect()
    };
    // Through the writer's path: chained and remembered (on PostgreSQL once sequenced).
    audit_intake::record(&mut conn, events(5)).unwrap();
    audit_intake::settle(&mut conn, org).unwrap();
    assert_eq!(recent::next_after(org, 0), Some(1));
    // Events 6 and 7 from a write's own transaction (SQLite remembers nothing of those), then
    // a leaf remembered for sequence 6 from a transaction that did not commit: not the
    // stored event's.
    write_transaction(&mut conn, |c| audit_intake::intake(c, events(2))).unwrap();
    audit_intake::settle(&mut conn, org).unwrap();
    remember(&[ChainedEvent {
        sequence: 6,
        prev_hash: [0; 32],
        hash: [9; 32],
        event: AuditEvent::now(org, "u", "never committed"),
    }]);
    assert_eq!(follow(&mut conn, org, None).unwrap(), 7);
    assert_eq!(
        recent::next_after(org, 0),
        None,
        "every remembered leaf was taken"
    );
    let leaves: Vec<Hash> = list(&mut conn, org, &Default::default(), 0, 100)
        .unwrap()
        .iter()
        .map(|e| event_leaf(e.sequence, &e.event))
        .collect();
    assert_eq!(leaves.len(), 7);
    assert_eq!(
        head(&mut conn, org).unwrap().unwrap().root(),
        merkle::root(&leaves)
    );
}

//! Leaf hashes of the events this process has just chained, kept for the tree follower so it
//! need not read those events back, decode them and hash them again (that read-back was most
//! of what the tree cost audited reads on SQLite).
//!
//! Nothing here is trusted: each leaf is kept with its event's chain hash, and the follower
//! takes a leaf only when the stored chain hash at that sequence is the same (see
//! `confirmed` in the parent module). A leaf remembered for an event whose transaction then
//! rolled back, for another database, or for a row altered since, is never used; the follower
//! reads such events back as before. Only committed batches are remembered: the group-commit
//! writer's on SQLite, the sequencer's on PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use uuid::Uuid;

use crate::audit::ChainedEvent;
use crate::audit::merkle::{Hash, event_leaf};

/// Most leaves kept across orgs (about 100 bytes each). The follower passes every second, so
/// this covers several seconds of the fastest audited reads measured; beyond it, events are
/// read back instead.
const CAPACITY: usize = 16_384;

/// A remembered leaf: the event's chain hash (what the follower checks) and its leaf hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Remembered {
    pub sequence: i64,
    pub chain_hash: [u8; 32],
    pub leaf: Hash,
}

#[derive(Default)]
struct Recent {
    orgs: HashMap<Uuid, BTreeMap<i64, ([u8; 32], Hash)>>,
    len: usize,
}

static RECENT: Mutex<Option<Recent>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Recent) -> T) -> T {
    let mut guard = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(Recent::default))
}

/// Remembers the leaves of `events`, chained in a transaction that has committed. Does
/// nothing while the trees are not maintained (a benchmark's baseline) or once full.
pub fn remember(events: &[ChainedEvent]) {
    if events.is_empty() || !super::maintained() {
        return;
    }
    // Hashed outside the lock: the writer's callers wait on this thread, not on each other.
    let leaves: Vec<(Uuid, i64, [u8; 32], Hash)> = events
        .iter()
        .map(|c| {
            (
                c.event.org,
                c.sequence,
                c.hash,
                event_leaf(c.sequence, &c.event),
            )
        })
        .collect();
    with(|r| {
        for (org, sequence, chain_hash, leaf) in leaves {
            if r.len >= CAPACITY {
                break;
            }
            if r.orgs
                .entry(org)
                .or_default()
                .insert(sequence, (chain_hash, leaf))
                .is_none()
            {
                r.len += 1;
            }
        }
    });
}

/// Takes the org's remembered leaves that run on without a gap from `after + 1`, at most
/// `limit`, and forgets every leaf of the org at or below the last one taken (or at or below
/// `after` when none runs on from it).
pub(super) fn take(org: Uuid, after: i64, limit: i64) -> Vec<Remembered> {
    with(|r| {
        let Some(leaves) = r.orgs.get_mut(&org) else {
            return Vec::new();
        };
        let mut run = Vec::new();
        let mut next = after + 1;
        while (run.len() as i64) < limit {
            let Some(&(chain_hash, leaf)) = leaves.get(&next) else {
                break;
            };
            run.push(Remembered {
                sequence: next,
                chain_hash,
                leaf,
            });
            next += 1;
        }
        let keep = leaves.split_off(&next);
        r.len -= leaves.len();
        if keep.is_empty() {
            r.orgs.remove(&org);
        } else {
            *leaves = keep;
        }
        run
    })
}

/// The first sequence after `after` whose leaf the org has remembered.
pub(super) fn next_after(org: Uuid, after: i64) -> Option<i64> {
    with(|r| {
        r.orgs
            .get(&org)
            .and_then(|l| l.range(after + 1..).next().map(|(s, _)| *s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;

    fn chained(org: Uuid, sequence: i64) -> ChainedEvent {
        let mut event = AuditEvent::now(org, "tester", "patient.read");
        event.resource_id = Some(format!("r{sequence}"));
        ChainedEvent {
            sequence,
            prev_hash: [0; 32],
            hash: [sequence as u8; 32],
            event,
        }
    }

    #[test]
    fn takes_the_run_from_the_tree_size_and_forgets_what_it_passed() {
        let org = Uuid::now_v7();
        let events = [1, 2, 3, 5, 6].map(|s| chained(org, s));
        remember(&events);
        assert!(take(org, 3, 10).is_empty(), "4 was never remembered");
        // 1..=3 are forgotten with the miss; 5 and 6 wait for the follower to read 4 back.
        assert_eq!(next_after(org, 0), Some(5));
        let run = take(org, 4, 10);
        assert_eq!(run.iter().map(|r| r.sequence).collect::<Vec<_>>(), [5, 6]);
        assert_eq!(run[0].chain_hash, [5; 32]);
        assert_eq!(run[0].leaf, event_leaf(5, &events[3].event));
        assert_eq!(next_after(org, 0), None);
    }

    #[test]
    fn a_limit_leaves_the_rest_for_the_next_pass() {
        let org = Uuid::now_v7();
        remember(&[1, 2, 3].map(|s| chained(org, s)));
        assert_eq!(take(org, 0, 2).len(), 2);
        assert_eq!(
            take(org, 2, 2)
                .iter()
                .map(|r| r.sequence)
                .collect::<Vec<_>>(),
            [3]
        );
    }
}

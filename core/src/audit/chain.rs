//! The hash chain: each event's hash is SHA-256 over the previous event's hash and the event's
//! canonical encoding, so editing, deleting, inserting or reordering any row changes every
//! later hash. Chains are per organization; each starts from a genesis value bound to the org,
//! so one org's chain cannot be passed off as another's.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::event::AuditEvent;

/// Version tag mixed into every hash, so a future encoding cannot be confused with this one.
const DOMAIN: &[u8] = b"revcycle-audit-v1";

/// The "previous hash" of an org's first event.
pub fn genesis(org: Uuid) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(b"/genesis/");
    h.update(org.as_bytes());
    h.finalize().into()
}

/// Length-prefixed, fixed-order encoding: unambiguous (no two events encode alike) and
/// independent of any serializer's whims. Both the chain and the Merkle tree's leaves hash it;
/// proofs hand it out so anyone can recompute an event's leaf hash.
pub fn canonical(sequence: i64, e: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut bytes = |b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    };
    bytes(DOMAIN);
    bytes(&sequence.to_be_bytes());
    bytes(e.id.as_bytes());
    bytes(e.org.as_bytes());
    bytes(&e.occurred_at.timestamp_micros().to_be_bytes());
    bytes(e.actor.as_bytes());
    let list = |items: &mut dyn Iterator<Item = Vec<u8>>, bytes: &mut dyn FnMut(&[u8])| {
        let items: Vec<Vec<u8>> = items.collect();
        bytes(&(items.len() as u32).to_be_bytes());
        for i in items {
            bytes(&i);
        }
    };
    list(
        &mut e.roles.iter().map(|r| r.as_bytes().to_vec()),
        &mut bytes,
    );
    let opt = |v: &Option<String>, bytes: &mut dyn FnMut(&[u8])| match v {
        None => bytes(&[0]),
        Some(s) => {
            bytes(&[1]);
            bytes(s.as_bytes());
        }
    };
    opt(&e.client_id, &mut bytes);
    opt(&e.purpose_of_use, &mut bytes);
    bytes(e.action.as_bytes());
    opt(&e.resource_type, &mut bytes);
    opt(&e.resource_id, &mut bytes);
    list(
        &mut e.patient_ids.iter().map(|p| p.as_bytes().to_vec()),
        &mut bytes,
    );
    list(
        &mut e.fields_disclosed.iter().map(|f| f.as_bytes().to_vec()),
        &mut bytes,
    );
    bytes(e.outcome.as_str().as_bytes());
    bytes(&e.http_status.to_be_bytes());
    opt(&e.request_id, &mut bytes);
    opt(&e.source_ip, &mut bytes);
    opt(&e.user_agent, &mut bytes);
    match &e.break_glass_reason {
        None => bytes(&[0]),
        Some(ct) => {
            bytes(&[1]);
            bytes(ct);
        }
    }
    out
}

/// The hash of the event at `sequence` following `prev`.
pub fn link_hash(prev: &[u8; 32], sequence: i64, event: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(sequence, event));
    h.finalize().into()
}

/// An event as stored: its place in the chain and the hashes that bind it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEvent {
    pub sequence: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    pub event: AuditEvent,
}

impl ChainedEvent {
    /// Appends `event` after `prev` (or starts the chain when `prev` is `None`).
    pub fn append(prev: Option<&ChainedEvent>, event: AuditEvent) -> ChainedEvent {
        let (sequence, prev_hash) = match prev {
            Some(p) => (p.sequence + 1, p.hash),
            None => (1, genesis(event.org)),
        };
        let hash = link_hash(&prev_hash, sequence, &event);
        ChainedEvent {
            sequence,
            prev_hash,
            hash,
            event,
        }
    }
}

/// Why the chain breaks at a given event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainBreak {
    /// A sequence number is missing (deleted rows) or out of order (reordered or inserted).
    Gap { expected: i64 },
    /// The event does not point at the hash of the event before it.
    PrevHashMismatch,
    /// The event's contents no longer match its hash (edited row).
    HashMismatch,
    /// The event belongs to another organization's chain.
    WrongOrg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Intact {
        checked: u64,
    },
    Broken {
        sequence: i64,
        why: ChainBreak,
        checked: u64,
    },
}

/// Checks a chain one event at a time, in storage order (by sequence), so a verification
/// holds one event in memory whatever the chain's length.
pub struct ChainVerifier {
    org: Uuid,
    prev_hash: [u8; 32],
    expected: i64,
    checked: u64,
    broken: Option<(i64, ChainBreak)>,
}

impl ChainVerifier {
    pub fn new(org: Uuid) -> ChainVerifier {
        ChainVerifier {
            org,
            prev_hash: genesis(org),
            expected: 1,
            checked: 0,
            broken: None,
        }
    }

    /// Verifies what remains of a chain after a purge: the first event must follow the last
    /// purged one (`sequence`, whose hash was `hash`), as recorded by the purge's anchor.
    pub fn after(org: Uuid, sequence: i64, hash: [u8; 32]) -> ChainVerifier {
        ChainVerifier {
            org,
            prev_hash: hash,
            expected: sequence + 1,
            checked: 0,
            broken: None,
        }
    }

    /// Feeds the next event; returns false once the chain is broken (later events are moot).
    pub fn push(&mut self, e: &ChainedEvent) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let why = if e.event.org != self.org {
            Some(ChainBreak::WrongOrg)
        } else if e.sequence != self.expected {
            Some(ChainBreak::Gap {
                expected: self.expected,
            })
        } else if e.prev_hash != self.prev_hash {
            Some(ChainBreak::PrevHashMismatch)
        } else if link_hash(&self.prev_hash, e.sequence, &e.event) != e.hash {
            Some(ChainBreak::HashMismatch)
        } else {
            None
        };
        if let Some(why) = why {
            self.broken = Some((e.sequence, why));
            return false;
        }
        self.prev_hash = e.hash;
        self.expected += 1;
        self.checked += 1;
        true
    }

    /// Feeds the next row when it cannot even be read as an event (garbage written into a
    /// column): a break at its sequence, as an altered event, unless a gap comes first.
    pub fn unreadable(&mut self, sequence: i64) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.broken = Some(if sequence != self.expected {
            (
                sequence,
                ChainBreak::Gap {
                    expected: self.expected,
                },
            )
        } else {
            (sequence, ChainBreak::HashMismatch)
        });
        false
    }

    pub fn finish(self) -> Verification {
        match self.broken {
            None => Verification::Intact {
                checked: self.checked,
            },
            Some((sequence, why)) => Verification::Broken {
                sequence,
                why,
                checked: self.checked,
            },
        }
    }
}

/// Recomputes an org's chain from its first event, in storage order (by sequence), and names
/// the first broken link.
pub fn verify(org: Uuid, events: impl IntoIterator<Item = ChainedEvent>) -> Verification {
    let mut v = ChainVerifier::new(org);
    for e in events {
        if !v.push(&e) {
            break;
        }
    }
    v.finish()
}

impl ChainBreak {
    /// What the break most likely means, for people reading a verification report.
    pub fn describe(&self) -> String {
        match self {
            ChainBreak::Gap { expected } => format!(
                "expected sequence {expected} here: events were deleted, inserted or reordered"
            ),
            ChainBreak::PrevHashMismatch => {
                "the event does not link to the one before it: events were removed, inserted or reordered".into()
            }
            ChainBreak::HashMismatch => "the event's contents do not match its hash: it was altered".into(),
            ChainBreak::WrongOrg => "the event belongs to another organization's chain".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Outcome;

    fn event(org: Uuid, n: u32) -> AuditEvent {
        AuditEvent {
            id: Uuid::from_u128(1000 + u128::from(n)),
            org,
            occurred_at: chrono::DateTime::from_timestamp(1_800_000_000 + i64::from(n), 0).unwrap(),
            actor: format!("user-{n}"),
            roles: vec!["biller".into()],
            client_id: None,
            purpose_of_use: Some("HPAYMT".into()),
            action: "read".into(),
            resource_type: Some("Patient".into()),
            resource_id: Some(format!("p-{n}")),
            patient_ids: vec![Uuid::from_u128(u128::from(n))],
            fields_disclosed: vec!["family_name".into(), "birth_date".into()],
            outcome: Outcome::Success,
            http_status: 200,
            request_id: Some(format!("r-{n}")),
            source_ip: Some("127.0.0.1".into()),
            user_agent: None,
            break_glass_reason: None,
        }
    }

    fn chain(org: Uuid, n: u32) -> Vec<ChainedEvent> {
        let mut out: Vec<ChainedEvent> = Vec::new();
        for i in 0..n {
            let next = ChainedEvent::append(out.last(), event(org, i));
            out.push(next);
        }
        out
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let org = Uuid::from_u128(7);
        assert_eq!(
            verify(org, chain(org, 50)),
            Verification::Intact { checked: 50 }
        );
        assert_eq!(verify(org, Vec::new()), Verification::Intact { checked: 0 });
    }

    #[test]
    fn edits_deletions_reorders_and_transplants_are_found_at_the_first_bad_link() {
        let org = Uuid::from_u128(7);
        let mut edited = chain(org, 10);
        edited[4].event.fields_disclosed.push("ssn".into());
        assert_eq!(
            verify(org, edited),
            Verification::Broken {
                sequence: 5,
                why: ChainBreak::HashMismatch,
                checked: 4
            }
        );

        let mut deleted = chain(org, 10);
        deleted.remove(6);
        assert_eq!(
            verify(org, deleted),
            Verification::Broken {
                sequence: 8,
                why: ChainBreak::Gap { expected: 7 },
                checked: 6
            }
        );

        let mut reordered = chain(org, 10);
        reordered.swap(2, 3);
        assert!(matches!(
            verify(org, reordered),
            Verification::Broken {
                sequence: 4,
                why: ChainBreak::Gap { expected: 3 },
                ..
            }
        ));

        // Renumbering after a deletion does not help: the hashes no longer link.
        let mut renumbered = chain(org, 10);
        renumbered.remove(6);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.sequence = i as i64 + 1;
        }
        assert!(matches!(
            verify(org, renumbered),
            Verification::Broken {
                sequence: 7,
                why: ChainBreak::PrevHashMismatch,
                ..
            }
        ));

        // Another organization's chain does not pass for this one's.
        let other = Uuid::from_u128(8);
        assert!(matches!(
            verify(org, chain(other, 3)),
            Verification::Broken {
                sequence: 1,
                why: ChainBreak::WrongOrg,
                ..
            }
        ));
    }

    #[test]
    fn a_purged_chain_verifies_from_its_anchor_and_not_otherwise() {
        let org = Uuid::from_u128(7);
        let full = chain(org, 10);
        let anchor = &full[3];
        let rest = full[4..].to_vec();
        let from_anchor = |events: Vec<ChainedEvent>| {
            let mut v = ChainVerifier::after(org, anchor.sequence, anchor.hash);
            for e in &events {
                if !v.push(e) {
                    break;
                }
            }
            v.finish()
        };
        assert_eq!(
            from_anchor(rest.clone()),
            Verification::Intact { checked: 6 }
        );
        // From genesis, the remainder is a gap.
        assert!(matches!(
            verify(org, rest.clone()),
            Verification::Broken {
                sequence: 5,
                why: ChainBreak::Gap { expected: 1 },
                ..
            }
        ));
        // The first remaining event must link to the anchor's hash...
        let mut relinked = rest.clone();
        relinked[0].prev_hash = [0; 32];
        assert_eq!(
            from_anchor(relinked),
            Verification::Broken {
                sequence: 5,
                why: ChainBreak::PrevHashMismatch,
                checked: 0
            }
        );
        // ...and still match its own hash.
        let mut edited = rest.clone();
        edited[0].event.actor = "someone-else".into();
        assert_eq!(
            from_anchor(edited),
            Verification::Broken {
                sequence: 5,
                why: ChainBreak::HashMismatch,
                checked: 0
            }
        );
        // Purging more than the anchor says leaves a gap.
        assert!(matches!(
            from_anchor(full[5..].to_vec()),
            Verification::Broken {
                sequence: 6,
                why: ChainBreak::Gap { expected: 5 },
                ..
            }
        ));
        // Nothing left after the anchor is an intact (empty) chain.
        assert_eq!(from_anchor(Vec::new()), Verification::Intact { checked: 0 });
    }

    #[test]
    fn the_encoding_is_unambiguous() {
        let org = Uuid::from_u128(1);
        let mut a = event(org, 1);
        let mut b = a.clone();
        // Moving a boundary between two fields must change the encoding.
        a.roles = vec!["ab".into(), "c".into()];
        b.roles = vec!["a".into(), "bc".into()];
        assert_ne!(canonical(1, &a), canonical(1, &b));
        let mut c = event(org, 1);
        c.client_id = Some(String::new());
        assert_ne!(
            canonical(1, &c),
            canonical(1, &event(org, 1)),
            "empty is not absent"
        );
    }
}

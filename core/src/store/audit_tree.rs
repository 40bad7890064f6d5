//! Storage of each org's Merkle tree (see [`crate::audit::merkle`]): a leaf hash per event in
//! `audit_tree_leaves`, and the org's frontier in `audit_tree_heads`.
//!
//! The tree follows the chain off the append path: appends only chain and insert events, and
//! [`follow_all`] (run every second by the audit writer: between its batches on SQLite, on a
//! thread of its own on PostgreSQL) adds the leaves of the events committed since, a thousand
//! per transaction, pushing each onto the stored frontier (O(log n) a leaf; nothing is
//! rebuilt). The leaves of events this process committed itself come from memory (see
//! [`recent`]), confirmed against the stored chain hashes; other events are read back and
//! hashed. Whatever reads the tree first brings it up
//! to the chain with [`follow`]: a checkpoint, a proof, a purge (before it deletes events,
//! whose leaves must outlive them). Leaf hashes are stored rather than recomputed from events
//! because a retention purge removes events, and the roots and proofs of every size still
//! need them; they carry nothing about a patient.
//!
//! A chain that predates the tree is caught up from its events the same way. A tree that
//! cannot follow its chain (events deleted outside a purge, or a chain purged before the tree
//! existed) is left as it is, with a warning; `verify` reports the damage against the
//! published checkpoints.

use std::collections::BTreeMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::audit::{AuditFilter, list_checked};
use super::{DbConnection, parse_id};
use crate::audit::merkle::{self, Frontier, Hash, event_leaf};
use crate::error::{CoreError, CoreResult};

pub use recent::remember;

#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    size: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    frontier: Vec<u8>,
}

/// The org's stored frontier (`None` before its first tree append).
pub fn head(conn: &mut DbConnection, org: Uuid) -> CoreResult<Option<Frontier>> {
    let row: Option<HeadRow> =
        diesel::sql_query("SELECT size, frontier FROM audit_tree_heads WHERE org_id = $1")
            .bind::<diesel::sql_types::Text, _>(org.to_string())
            .get_result(conn)
            .optional()?;
    row.map(|r| {
        Frontier::from_bytes(u64::try_from(r.size).unwrap_or(u64::MAX), &r.frontier)
            .ok_or_else(|| CoreError::Internal("audit tree head is malformed".into()))
    })
    .transpose()
}

fn set_head(conn: &mut DbConnection, org: Uuid, f: &Frontier) -> CoreResult<()> {
    diesel::sql_query(
        "INSERT INTO audit_tree_heads (org_id, size, frontier) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier",
    )
    .bind::<diesel::sql_types::Text, _>(org.to_string())
    .bind::<diesel::sql_types::BigInt, _>(f.size() as i64)
    .bind::<diesel::sql_types::Binary, _>(f.to_bytes())
    .execute(conn)?;
    Ok(())
}

/// Inserts leaf hashes in one statement, the same text for every batch size. A leaf already
/// there stays (a tree caught up after its head row was lost finds its old leaves).
fn insert_leaves(conn: &mut DbConnection, org: Uuid, leaves: &[(i64, Hash)]) -> CoreResult<()> {
    if leaves.is_empty() {
        return Ok(());
    }
    let org_s = org.to_string();
    match conn {
        DbConnection::Postgresql(c) => {
            use diesel::sql_types::{Array, BigInt, Binary, Text};
            diesel::sql_query(
                "INSERT INTO audit_tree_leaves (org_id, sequence, leaf_hash) \
                 SELECT $1, s, h FROM unnest($2::int8[], $3::bytea[]) AS t(s, h) \
                 ON CONFLICT DO NOTHING",
            )
            .bind::<Text, _>(&org_s)
            .bind::<Array<BigInt>, _>(leaves.iter().map(|(s, _)| *s).collect::<Vec<_>>())
            .bind::<Array<Binary>, _>(leaves.iter().map(|(_, h)| h.to_vec()).collect::<Vec<_>>())
            .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            let rows: Vec<(i64, String)> =
                leaves.iter().map(|(s, h)| (*s, hex::encode(h))).collect();
            let json = serde_json::to_string(&rows)
                .map_err(|e| CoreError::Internal(format!("audit tree leaves: {e}")))?;
            diesel::sql_query(
                "INSERT OR IGNORE INTO audit_tree_leaves (org_id, sequence, leaf_hash) \
                 SELECT $1, value ->> 0, unhex(value ->> 1) FROM json_each($2)",
            )
            .bind::<diesel::sql_types::Text, _>(&org_s)
            .bind::<diesel::sql_types::Text, _>(&json)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Whether the background follower grows the trees. Only a benchmark build switches it off,
/// to measure what the tree costs.
static MAINTAINED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Benchmarks only: the follower stops growing the trees (`false`) or grows them again.
pub fn set_maintained(on: bool) {
    MAINTAINED.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the follower grows the trees (always, outside benchmarks).
pub fn maintained() -> bool {
    MAINTAINED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Leaves computed for one org's tree and the frontier they make, not yet written.
#[derive(Debug)]
struct Growth {
    org: Uuid,
    frontier: Frontier,
    leaves: Vec<(i64, Hash)>,
}

impl Growth {
    /// How many leaves this growth adds.
    fn len(&self) -> usize {
        self.leaves.len()
    }
}

/// Computes the leaf hashes of the chain's events `(f.size(), through]`, at most `limit` of
/// them, and the frontier they make; `None` when the events are not all there. Leaves this
/// process remembered from its own commits are taken once the stored chain hashes confirm
/// them; the other events are read back and hashed.
fn catch_up(
    conn: &mut DbConnection,
    org: Uuid,
    mut f: Frontier,
    through: i64,
    limit: i64,
) -> CoreResult<Option<Growth>> {
    let mut leaves: Vec<(i64, Hash)> = Vec::new();
    let mut after = f.size() as i64;
    let stop = through.min(after.saturating_add(limit));
    while after < stop {
        let run = recent::take(org, after, stop - after);
        if !run.is_empty() && confirmed(conn, org, &run)? {
            leaves.extend(run.iter().map(|r| (r.sequence, r.leaf)));
            after = run[run.len() - 1].sequence;
            continue;
        }
        // Read back up to the next remembered leaf (a write's own transaction, another
        // process's events, or a run that did not match what is stored).
        let page_end = recent::next_after(org, after).map_or(stop, |n| (n - 1).min(stop));
        let page_end = if page_end > after { page_end } else { stop };
        let want = (page_end - after).min(1000);
        let page = list_checked(conn, org, &AuditFilter::default(), after, want)?;
        if page.is_empty() {
            return Ok(None);
        }
        for (sequence, e) in page {
            if after == stop {
                break;
            }
            // A gap, even one that jumps past `stop`, is a missing event; a row that does
            // not read as an event has no leaf to give.
            let (true, Ok(e)) = (sequence == after + 1, e) else {
                return Ok(None);
            };
            leaves.push((sequence, event_leaf(sequence, &e.event)));
            after = sequence;
        }
    }
    for (_, h) in &leaves {
        f.push(*h);
    }
    Ok(Some(Growth {
        org,
        frontier: f,
        leaves,
    }))
}

/// Whether the stored events at the run's sequences carry the chain hashes remembered with
/// its leaves: then each leaf is that of the stored event (both were computed from the same
/// event, and the chain hash covers all of it).
fn confirmed(conn: &mut DbConnection, org: Uuid, run: &[recent::Remembered]) -> CoreResult<bool> {
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sequence: i64,
        #[diesel(sql_type = diesel::sql_types::Binary)]
        hash: Vec<u8>,
    }
    let (Some(first), Some(last)) = (run.first(), run.last()) else {
        return Ok(true);
    };
    let stored: Vec<Stored> = diesel::sql_query(
        "SELECT sequence, hash FROM audit_events \
         WHERE org_id = $1 AND sequence >= $2 AND sequence <= $3 ORDER BY sequence",
    )
    .bind::<diesel::sql_types::Text, _>(org.to_string())
    .bind::<diesel::sql_types::BigInt, _>(first.sequence)
    .bind::<diesel::sql_types::BigInt, _>(last.sequence)
    .load(conn)?;
    Ok(stored.len() == run.len()
        && stored
            .iter()
            .zip(run)
            .all(|(s, r)| s.sequence == r.sequence && s.hash == r.chain_hash))
}

/// What the org's tree lacks, at most `limit` events (through `through` when given), read and
/// hashed but not written; `None` when the tree is up to date or cannot follow its chain
/// (warned about once).
fn prepare(
    conn: &mut DbConnection,
    org: Uuid,
    through: Option<i64>,
    limit: i64,
) -> CoreResult<Option<Growth>> {
    let f = head(conn, org)?.unwrap_or_default();
    let chain = super::audit::last_sequence(conn, org)?;
    let target = through.map_or(chain, |t| t.min(chain));
    let size = f.size() as i64;
    if size >= target {
        if size > chain {
            warn_once(
                org,
                f.size(),
                chain,
                "is ahead of the chain (events removed)",
            );
        }
        return Ok(None);
    }
    let tree_size = f.size();
    let growth = catch_up(conn, org, f, target, limit)?;
    if growth.is_none() {
        warn_once(
            org,
            tree_size,
            chain,
            "cannot follow the chain (events missing)",
        );
    }
    Ok(growth)
}

/// Writes `growth` in the caller's write transaction, which holds the tree's lock.
fn apply(conn: &mut DbConnection, growth: &Growth) -> CoreResult<()> {
    insert_leaves(conn, growth.org, &growth.leaves)?;
    set_head(conn, growth.org, &growth.frontier)
}

/// Advisory-lock namespace for growing an org's tree: one grower at a time per org (the
/// follower, a checkpoint, a proof or a purge catching it up).
const TREE_LOCK_CLASS: i64 = 7_270_004;

/// Most events [`follow`] adds to an org's tree in one transaction.
pub const FOLLOW_BATCH: i64 = 5000;
/// Most events the background follower adds in one transaction: short transactions, so the
/// writes waiting for the database meanwhile wait a few milliseconds at most.
const PASS_BATCH: i64 = 1000;

/// Takes the org's tree lock for this transaction (PostgreSQL; SQLite's write transaction
/// holds the database already). With `wait` false it gives up at once when another
/// transaction holds it, and says so with `false`.
fn lock_tree(conn: &mut DbConnection, org: Uuid, wait: bool) -> CoreResult<bool> {
    let key = super::transaction_locks::org_lock_key(TREE_LOCK_CLASS, org);
    if wait {
        super::transaction_locks::hold(conn, key)?;
        return Ok(true);
    }
    super::transaction_locks::try_hold(conn, key)
}

/// Orgs whose tree could not follow their chain, warned about once per process.
static WARNED: std::sync::Mutex<std::collections::BTreeSet<Uuid>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn warn_once(org: Uuid, tree_size: u64, chain_head: i64, what: &str) {
    let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if warned.insert(org) {
        tracing::warn!(%org, tree_size, chain_head, "audit tree {what}; verify will report it");
    }
}

/// Grows the org's tree over its committed events, at most `limit` of them (`through`
/// caps the sequence it goes to), inside the caller's write transaction; returns how many
/// leaves it added, `None` when another transaction is growing it (and `wait` is false).
fn grow(
    conn: &mut DbConnection,
    org: Uuid,
    through: Option<i64>,
    limit: i64,
    wait: bool,
) -> CoreResult<Option<usize>> {
    if !lock_tree(conn, org, wait)? {
        return Ok(None);
    }
    match prepare(conn, org, through, limit)? {
        // The lock is held: the tree cannot have moved since `prepare` read it.
        Some(g) => {
            apply(conn, &g)?;
            Ok(Some(g.len()))
        }
        None => Ok(Some(0)),
    }
}

/// Brings the org's tree up to its chain's committed events (up to `through` when given),
/// waiting for any other grower: what a checkpoint, a proof or a purge needs first. Returns
/// how many leaves it added.
pub fn follow(conn: &mut DbConnection, org: Uuid, through: Option<i64>) -> CoreResult<usize> {
    let mut added = 0;
    loop {
        let n = super::write_transaction(conn, |c| grow(c, org, through, FOLLOW_BATCH, true))?
            .unwrap_or(0);
        added += n;
        if n < FOLLOW_BATCH as usize {
            return Ok(added);
        }
    }
}

/// [`follow`] inside a transaction the caller holds (a purge, before it deletes events
/// through `through`).
pub(super) fn follow_in(conn: &mut DbConnection, org: Uuid, through: i64) -> CoreResult<()> {
    while grow(conn, org, Some(through), FOLLOW_BATCH, true)? == Some(FOLLOW_BATCH as usize) {}
    Ok(())
}

/// The background follower's pass: grows every org's tree by what its chain gained, one
/// transaction of at most [`PASS_BATCH`] events per org in turn, until the trees are up to
/// date or `budget` has run out; an org another process is growing is skipped. Returns how
/// many leaves it added. Does nothing in a benchmark build that switched trees off.
pub fn follow_all(conn: &mut DbConnection, budget: std::time::Duration) -> CoreResult<usize> {
    if !maintained() {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let orgs = super::audit_links::chains(conn)?;
    let mut added = 0;
    for org in orgs {
        loop {
            let n = super::write_transaction(conn, |c| grow(c, org, None, PASS_BATCH, false))?
                .unwrap_or(0);
            added += n;
            if n < PASS_BATCH as usize || started.elapsed() >= budget {
                break;
            }
        }
    }
    Ok(added)
}

#[derive(QueryableByName)]
struct LeafRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    sequence: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    leaf_hash: Vec<u8>,
}

/// The org's stored leaf hashes for sequences `(after, through]`, in order; an error when one
/// is missing or malformed.
pub fn leaves(
    conn: &mut DbConnection,
    org: Uuid,
    after: i64,
    through: i64,
) -> CoreResult<Vec<Hash>> {
    let rows: Vec<LeafRow> = diesel::sql_query(
        "SELECT sequence, leaf_hash FROM audit_tree_leaves \
         WHERE org_id = $1 AND sequence > $2 AND sequence <= $3 ORDER BY sequence",
    )
    .bind::<diesel::sql_types::Text, _>(org.to_string())
    .bind::<diesel::sql_types::BigInt, _>(after)
    .bind::<diesel::sql_types::BigInt, _>(through)
    .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        let want = after + 1 + i as i64;
        if r.sequence != want {
            return Err(CoreError::Internal(format!(
                "audit tree: the leaf of sequence {want} is missing"
            )));
        }
        out.push(
            <Hash>::try_from(r.leaf_hash.as_slice())
                .map_err(|_| CoreError::Internal("audit tree leaf is malformed".into()))?,
        );
    }
    if (out.len() as i64) != through - after {
        return Err(CoreError::Internal(format!(
            "audit tree: the leaf of sequence {} is missing",
            after + out.len() as i64 + 1
        )));
    }
    Ok(out)
}

/// Leaves per block (migration 000024): a proof reads the hash of each complete block and the
/// leaves of at most three blocks (the one it descends into, the one an older tree ends in,
/// and the last, partial one), not every leaf.
const BLOCK: u64 = 1024;
/// Most blocks whose leaves are read at once when hashing blocks for the first time.
const BLOCKS_PER_READ: u64 = 64;

/// The hashes of the org's first `count` blocks: those stored, and the others hashed from
/// their leaves and stored (the first proofs of a grown tree read its leaves once).
fn block_hashes(conn: &mut DbConnection, org: Uuid, count: u64) -> CoreResult<Vec<Hash>> {
    #[derive(QueryableByName)]
    struct BlockRow {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        block: i64,
        #[diesel(sql_type = diesel::sql_types::Binary)]
        hash: Vec<u8>,
    }
    let rows: Vec<BlockRow> = diesel::sql_query(
        "SELECT block, hash FROM audit_tree_blocks WHERE org_id = $1 AND block < $2 ORDER BY block",
    )
    .bind::<diesel::sql_types::Text, _>(org.to_string())
    .bind::<diesel::sql_types::BigInt, _>(count as i64)
    .load(conn)?;
    let mut out: Vec<Option<Hash>> = vec![None; count as usize];
    for r in rows {
        let h = <Hash>::try_from(r.hash.as_slice())
            .map_err(|_| CoreError::Internal("audit tree block is malformed".into()))?;
        if let Some(slot) = usize::try_from(r.block).ok().and_then(|b| out.get_mut(b)) {
            *slot = Some(h);
        }
    }
    let mut b = 0;
    while b < count {
        if out[b as usize].is_some() {
            b += 1;
            continue;
        }
        let mut end = b;
        while end < count && end - b < BLOCKS_PER_READ && out[end as usize].is_none() {
            end += 1;
        }
        let ls = leaves(conn, org, (b * BLOCK) as i64, (end * BLOCK) as i64)?;
        let hashed: Vec<(u64, Hash)> = ls
            .chunks(BLOCK as usize)
            .enumerate()
            .map(|(i, chunk)| (b + i as u64, merkle::root(chunk)))
            .collect();
        super::write_transaction(conn, |conn| {
            for (block, hash) in &hashed {
                let insert = match conn {
                    DbConnection::Postgresql(_) => {
                        "INSERT INTO audit_tree_blocks (org_id, block, hash) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING"
                    }
                    DbConnection::Sqlite(_) => {
                        "INSERT OR IGNORE INTO audit_tree_blocks (org_id, block, hash) \
                         VALUES ($1, $2, $3)"
                    }
                };
                diesel::sql_query(insert)
                    .bind::<diesel::sql_types::Text, _>(org.to_string())
                    .bind::<diesel::sql_types::BigInt, _>(*block as i64)
                    .bind::<diesel::sql_types::Binary, _>(hash.to_vec())
                    .execute(conn)?;
            }
            Ok(())
        })?;
        for (block, hash) in hashed {
            out[block as usize] = Some(hash);
        }
        b = end;
    }
    Ok(out
        .into_iter()
        .map(|h| h.expect("every block hashed"))
        .collect())
}

/// What the proofs of one tree size read: its complete blocks' hashes, and the leaves of the
/// blocks a proof descends into.
struct Subtrees {
    size: u64,
    blocks: Vec<Hash>,
    leaves: BTreeMap<u64, Vec<Hash>>,
}

impl Subtrees {
    /// For the tree of `size` leaves, with the leaves of blocks `descend` (and of the last,
    /// partial block) at hand.
    fn load(
        conn: &mut DbConnection,
        org: Uuid,
        size: u64,
        descend: &[u64],
    ) -> CoreResult<Subtrees> {
        let complete = size / BLOCK;
        let blocks = block_hashes(conn, org, complete)?;
        let mut wanted = descend.to_vec();
        wanted.push(complete);
        let mut at_hand = BTreeMap::new();
        for b in wanted {
            if b * BLOCK < size && !at_hand.contains_key(&b) {
                let end = ((b + 1) * BLOCK).min(size);
                at_hand.insert(b, leaves(conn, org, (b * BLOCK) as i64, end as i64)?);
            }
        }
        Ok(Subtrees {
            size,
            blocks,
            leaves: at_hand,
        })
    }

    /// `MTH(D[start:end])` of a node of the tree: within one block (from its hash or its
    /// leaves), or starting at a block boundary and ending at one or at the tree's end (every
    /// larger node does: RFC 6962 splits at powers of two).
    fn mth(&self, start: u64, end: u64) -> CoreResult<Hash> {
        let unplanned =
            || CoreError::Internal("audit tree: a proof needs an unplanned subtree".into());
        let first = start / BLOCK;
        if first == (end - 1) / BLOCK {
            if start.is_multiple_of(BLOCK) && end - start == BLOCK {
                return self
                    .blocks
                    .get(first as usize)
                    .copied()
                    .ok_or_else(unplanned);
            }
            let at = self.leaves.get(&first).ok_or_else(unplanned)?;
            let off = first * BLOCK;
            let range = (start - off) as usize..(end - off) as usize;
            return Ok(merkle::root(at.get(range).ok_or_else(unplanned)?));
        }
        if !start.is_multiple_of(BLOCK) || (!end.is_multiple_of(BLOCK) && end != self.size) {
            return Err(unplanned());
        }
        self.prefix_root(start, end)
    }

    /// `MTH(D[start:end])` for `start` at a block boundary and any `end` up to the size: the
    /// blocks in between, then the part of a block left.
    fn prefix_root(&self, start: u64, end: u64) -> CoreResult<Hash> {
        let mut units: Vec<Hash> = self
            .blocks
            .get((start / BLOCK) as usize..(end / BLOCK) as usize)
            .ok_or_else(|| CoreError::Internal("audit tree: blocks missing".into()))?
            .to_vec();
        if !end.is_multiple_of(BLOCK) {
            units.push(self.mth((end / BLOCK) * BLOCK, end)?);
        }
        Ok(merkle::root(&units))
    }
}

/// The inclusion proof of the event at `sequence` in the org's tree of `size` leaves, and that
/// tree's root; `None` when `sequence` is not in it.
pub fn inclusion_proof(
    conn: &mut DbConnection,
    org: Uuid,
    sequence: i64,
    size: i64,
) -> CoreResult<Option<(Vec<Hash>, Hash)>> {
    if sequence < 1 || sequence > size {
        return Ok(None);
    }
    let (size, index) = (size as u64, (sequence - 1) as u64);
    let t = Subtrees::load(conn, org, size, &[index / BLOCK])?;
    let Some(proof) = merkle::inclusion_proof_by(size, index, &mut |a, b| t.mth(a, b))? else {
        return Ok(None);
    };
    Ok(Some((proof, t.prefix_root(0, size)?)))
}

/// The consistency proof from the org's tree of `from` leaves to its tree of `to`, with both
/// roots; `None` unless `1 <= from <= to`.
pub fn consistency_proof(
    conn: &mut DbConnection,
    org: Uuid,
    from: i64,
    to: i64,
) -> CoreResult<Option<(Vec<Hash>, Hash, Hash)>> {
    if from < 1 || from > to {
        return Ok(None);
    }
    let (m, n) = (from as u64, to as u64);
    let t = Subtrees::load(conn, org, n, &[(m - 1) / BLOCK, m / BLOCK])?;
    let Some(proof) = merkle::consistency_proof_by(n, m, &mut |a, b| t.mth(a, b))? else {
        return Ok(None);
    };
    Ok(Some((proof, t.prefix_root(0, m)?, t.prefix_root(0, n)?)))
}

/// Every org with a tree.
pub fn orgs(conn: &mut DbConnection) -> CoreResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct OrgRow {
        #[diesel(sql_type = diesel::sql_types::Text)]
        org_id: String,
    }
    let rows: Vec<OrgRow> =
        diesel::sql_query("SELECT org_id FROM audit_tree_heads ORDER BY org_id").load(conn)?;
    rows.iter().map(|r| parse_id(&r.org_id)).collect()
}

/// How an org's trail compares with a published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeCheck {
    /// The events recompute the checkpoint's root at its size.
    Matches { size: u64 },
    /// The trail lacks events the checkpoint covers (the newest ones removed, or a hole):
    /// `first_missing` is the first sequence number not found.
    Missing { first_missing: i64, size: u64 },
    /// The trail has every event the checkpoint covers, but they hash to another root: events
    /// were altered or replaced.
    RootMismatch { size: u64 },
}

/// Recomputes the org's tree from its events (leaf hashes from the events themselves, not
/// the stored ones, so an edited event cannot hide behind its old leaf) up to `size`, and
/// compares its root with `root`. Events removed by a retention purge count by their stored
/// leaf hashes, which purges keep.
pub fn check_against(
    conn: &mut DbConnection,
    org: Uuid,
    size: u64,
    root: &Hash,
) -> CoreResult<TreeCheck> {
    let size_i = i64::try_from(size).unwrap_or(i64::MAX);
    let purged = super::audit::latest_anchor(conn, org)?.map_or(0, |a| a.sequence.min(size_i));
    let mut f = Frontier::default();
    if purged > 0 {
        match leaves(conn, org, 0, purged) {
            Ok(ls) => ls.into_iter().for_each(|l| f.push(l)),
            Err(_) => {
                return Ok(TreeCheck::Missing {
                    first_missing: 1,
                    size,
                });
            }
        }
    }
    let mut missing = None;
    let mut after = purged;
    while after < size_i && missing.is_none() {
        let page = list_checked(conn, org, &AuditFilter::default(), after, 1000)?;
        if page.is_empty() {
            missing = Some(after + 1);
            break;
        }
        for (sequence, e) in page {
            if after == size_i {
                break;
            }
            // A gap, even one that jumps past the checkpoint's size, is a missing event.
            if sequence != after + 1 {
                missing = Some(after + 1);
                break;
            }
            // A row that does not read as an event was altered: its leaf cannot be the one
            // the checkpoint signed.
            let Ok(e) = e else {
                return Ok(TreeCheck::RootMismatch { size });
            };
            f.push(event_leaf(sequence, &e.event));
            after = sequence;
        }
    }
    if let Some(first_missing) = missing {
        return Ok(TreeCheck::Missing {
            first_missing,
            size,
        });
    }
    if &f.root() == root {
        Ok(TreeCheck::Matches { size })
    } else {
        Ok(TreeCheck::RootMismatch { size })
    }
}

mod recent;
#[cfg(test)]
mod tests;

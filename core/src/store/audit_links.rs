//! The patient index of the audit trail: which patients each event touched, one row per
//! (org, patient, event), for the patient filter.
//!
//! The index is derived data. Each event's own patient list is inside its hash (and its
//! Merkle leaf); the links only make "events of this patient" fast. So:
//! - links are written off the append path, in bulk, by [`index_patients`], which moves a
//!   per-org watermark (`indexed_through`); events above it are matched by their own lists;
//! - every read through the index also requires the event's own list to name the patient, so
//!   a link added by hand never puts an event in a patient's history;
//! - [`check`] recomputes the links from the events and reports those missing or extra, and
//!   [`reindex`] writes back the missing ones (rows are never deleted but by a retention
//!   purge, so extra links stay visible to every later check);
//! - the accounting of disclosures and the exports read the events' own lists and never the
//!   index, so a deleted link cannot hide an access from them.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use uuid::Uuid;

use super::schema::audit_patient_index;
use super::{DbConnection, parse_id};
use crate::error::CoreResult;

/// Most events one [`index_patients`] transaction links.
pub const INDEX_BATCH: i64 = 5000;

/// Makes sure the patient indexer knows of the org's chain (a new chain has nothing linked).
pub(super) fn register_chain(conn: &mut DbConnection, org: Uuid) -> CoreResult<()> {
    let row = (
        audit_patient_index::org_id.eq(org.to_string()),
        audit_patient_index::indexed_through.eq(0_i64),
    );
    let insert = diesel::insert_into(audit_patient_index::table).values(row);
    match conn {
        DbConnection::Postgresql(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    Ok(())
}

/// Every org with a chain (each registers on its first event): what the background passes
/// over derived data (these links, the Merkle trees) walk, without scanning the events.
pub(super) fn chains(conn: &mut DbConnection) -> CoreResult<Vec<Uuid>> {
    let orgs: Vec<String> = audit_patient_index::table
        .select(audit_patient_index::org_id)
        .order(audit_patient_index::org_id)
        .load(conn)?;
    orgs.iter().map(|o| parse_id(o)).collect()
}

/// How far the org's events are linked to their patients (0: none are).
pub(super) fn indexed_through(conn: &mut DbConnection, org: &str) -> CoreResult<i64> {
    Ok(audit_patient_index::table
        .find(org)
        .select(audit_patient_index::indexed_through)
        .get_result::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// Writes the patient links of up to [`INDEX_BATCH`] of the org's events not yet linked, in
/// one transaction that also moves the org's watermark past them, and returns how many
/// events it linked. Safe with any number of indexers: see [`link_pending`].
pub fn index_patients(conn: &mut DbConnection, org: Uuid) -> CoreResult<usize> {
    super::write_transaction(conn, |conn| link_pending(conn, org, false))
}

/// Locks the org's watermark row and reads it: SQLite's write transaction holds it already;
/// on PostgreSQL `FOR UPDATE`, which unless `wait` skips an org another transaction is
/// linking or purging rather than waiting for it. `None`: no chain, or skipped.
fn lock_watermark(conn: &mut DbConnection, org: &str, wait: bool) -> CoreResult<Option<i64>> {
    let watermark = audit_patient_index::table
        .find(org)
        .select(audit_patient_index::indexed_through);
    Ok(match conn {
        DbConnection::Postgresql(c) if wait => watermark.for_update().get_result(c).optional()?,
        DbConnection::Postgresql(c) => watermark
            .for_update()
            .skip_locked()
            .get_result(c)
            .optional()?,
        DbConnection::Sqlite(c) => watermark.get_result(c).optional()?,
    })
}

/// [`index_patients`] inside the caller's write transaction, with the watermark row locked
/// (see [`lock_watermark`]); a link written twice is ignored.
pub(super) fn link_pending(conn: &mut DbConnection, org: Uuid, wait: bool) -> CoreResult<usize> {
    let org_s = org.to_string();
    let Some(through) = lock_watermark(conn, &org_s, wait)? else {
        return Ok(0);
    };
    // The next batch of events past the watermark: how many, and the last one's sequence.
    let span: Span = diesel::sql_query(
        "SELECT count(*) AS count, max(sequence) AS last FROM (SELECT sequence FROM audit_events \
         WHERE org_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3) AS batch",
    )
    .bind::<Text, _>(&org_s)
    .bind::<BigInt, _>(through)
    .bind::<BigInt, _>(INDEX_BATCH)
    .get_result(conn)?;
    let Some(last) = span.last else {
        return Ok(0);
    };
    // A list that is not a JSON list of ids links nothing (see `pg_patient_ids`); the chain
    // reports the edit.
    link_range(conn, &org_s, through, last)?;
    diesel::update(audit_patient_index::table.find(&org_s))
        .set(audit_patient_index::indexed_through.eq(last))
        .execute(conn)?;
    Ok(span.count as usize)
}

/// An event's patient list as rows for the link queries, read as empty when it is not a JSON
/// array of ids: a list someone overwrote with garbage then shows up as links no event calls
/// for (and the chain reports the edit), instead of failing every link query of the org.
macro_rules! pg_patient_ids {
    () => {
        "jsonb_array_elements_text(CASE WHEN e.patient_ids ~ '^\\[(\"[0-9a-f-]*\"(,\"[0-9a-f-]*\")*)?\\]$' \
         THEN e.patient_ids::jsonb ELSE '[]'::jsonb END)"
    };
}
/// [`pg_patient_ids`] for SQLite (`CASE` evaluates its branches in order, so `json_type`
/// never sees malformed JSON).
macro_rules! sqlite_patient_ids {
    () => {
        "json_each(CASE WHEN NOT json_valid(e.patient_ids) THEN '[]' \
         WHEN json_type(e.patient_ids) = 'array' THEN e.patient_ids ELSE '[]' END)"
    };
}

/// Links the org's events with sequences in `(after, through]` to the patients their own
/// lists name, ignoring links already there, and returns how many links it wrote. One
/// statement, the database unpacking each list itself: row by row through diesel, the links
/// cost the writer more than the events.
fn link_range(conn: &mut DbConnection, org: &str, after: i64, through: i64) -> CoreResult<usize> {
    let link = match conn {
        DbConnection::Postgresql(_) => {
            concat!(
                "INSERT INTO audit_event_patients (org_id, patient_id, sequence) \
                 SELECT e.org_id, p.id, e.sequence FROM audit_events e \
                 CROSS JOIN LATERAL ",
                pg_patient_ids!(),
                " AS p(id) \
                 WHERE e.org_id = $1 AND e.sequence > $2 AND e.sequence <= $3 \
                 ON CONFLICT DO NOTHING"
            )
        }
        DbConnection::Sqlite(_) => {
            concat!(
                "INSERT OR IGNORE INTO audit_event_patients (org_id, patient_id, sequence) \
                 SELECT e.org_id, p.value, e.sequence FROM audit_events e, ",
                sqlite_patient_ids!(),
                " p \
                 WHERE e.org_id = $1 AND e.sequence > $2 AND e.sequence <= $3"
            )
        }
    };
    Ok(diesel::sql_query(link)
        .bind::<Text, _>(org)
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(through)
        .execute(conn)?)
}

#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    last: Option<i64>,
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    first: Option<i64>,
}

/// Links every org's unlinked events, [`INDEX_BATCH`] at a time, until none are left or
/// `budget` has run out, and returns how many it linked. Every org gets a batch each time,
/// so an org with a long backlog does not hold the others up.
pub fn index_patients_for(
    conn: &mut DbConnection,
    budget: std::time::Duration,
) -> CoreResult<usize> {
    let started = std::time::Instant::now();
    let mut linked = 0;
    for org in chains(conn)? {
        loop {
            let n = index_patients(conn, org)?;
            linked += n;
            if n < INDEX_BATCH as usize || started.elapsed() >= budget {
                break;
            }
        }
    }
    Ok(linked)
}

/// How an org's patient index compares with its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkCheck {
    /// The index covers the events up to this sequence (newer ones are matched by their own
    /// lists and need no link yet).
    pub indexed_through: i64,
    /// Links the events' own lists call for that the index lacks (deleted, or never written):
    /// the patient filter misses those events until [`reindex`] writes them back.
    pub missing: i64,
    /// The first event with a missing link.
    pub first_missing: Option<i64>,
    /// Links that no event's own list calls for (added by hand, or to an event that names
    /// another patient). Every read ignores them, and no command removes them.
    pub extra: i64,
    /// The first event with an extra link.
    pub first_extra: Option<i64>,
}

impl LinkCheck {
    pub fn is_intact(&self) -> bool {
        self.missing == 0 && self.extra == 0
    }
}

/// Recomputes the org's patient links from its events (each event's own patient list, which
/// its hash covers) and compares them with the index, both ways.
pub fn check(conn: &mut DbConnection, org: Uuid) -> CoreResult<LinkCheck> {
    let org_s = org.to_string();
    let through = indexed_through(conn, &org_s)?;
    let after = super::audit::latest_anchor(conn, org)?.map_or(0, |a| a.sequence);
    let (missing, extra) = match conn {
        DbConnection::Postgresql(_) => (
            concat!(
                "SELECT count(*) AS count, min(e.sequence) AS first FROM audit_events e \
                 CROSS JOIN LATERAL ",
                pg_patient_ids!(),
                " AS p(id) \
                 WHERE e.org_id = $1 AND e.sequence > $2 AND e.sequence <= $3 \
                 AND NOT EXISTS (SELECT 1 FROM audit_event_patients l WHERE l.org_id = e.org_id \
                 AND l.patient_id = p.id AND l.sequence = e.sequence)"
            ),
            concat!(
                "SELECT count(*) AS count, min(l.sequence) AS first FROM audit_event_patients l \
                 WHERE l.org_id = $1 AND NOT EXISTS (SELECT 1 FROM audit_events e \
                 CROSS JOIN LATERAL ",
                pg_patient_ids!(),
                " AS p(id) \
                 WHERE e.org_id = l.org_id AND e.sequence = l.sequence AND p.id = l.patient_id)"
            ),
        ),
        DbConnection::Sqlite(_) => (
            concat!(
                "SELECT count(*) AS count, min(e.sequence) AS first \
                 FROM audit_events e, ",
                sqlite_patient_ids!(),
                " p \
                 WHERE e.org_id = $1 AND e.sequence > $2 AND e.sequence <= $3 \
                 AND NOT EXISTS (SELECT 1 FROM audit_event_patients l WHERE l.org_id = e.org_id \
                 AND l.patient_id = p.value AND l.sequence = e.sequence)"
            ),
            concat!(
                "SELECT count(*) AS count, min(l.sequence) AS first FROM audit_event_patients l \
                 WHERE l.org_id = $1 AND NOT EXISTS (SELECT 1 FROM audit_events e, \
                 ",
                sqlite_patient_ids!(),
                " p WHERE e.org_id = l.org_id AND e.sequence = l.sequence \
                 AND p.value = l.patient_id)"
            ),
        ),
    };
    let missing: Found = diesel::sql_query(missing)
        .bind::<Text, _>(&org_s)
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(through)
        .get_result(conn)?;
    let extra: Found = diesel::sql_query(extra)
        .bind::<Text, _>(&org_s)
        .get_result(conn)?;
    Ok(LinkCheck {
        indexed_through: through,
        missing: missing.count,
        first_missing: missing.first,
        extra: extra.count,
        first_extra: extra.first,
    })
}

/// What [`reindex`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reindexed {
    /// Missing links written back.
    pub restored: u64,
    /// Events newer than the watermark linked for the first time.
    pub linked: u64,
}

/// Rebuilds the org's patient index from its events: writes back every missing link of the
/// events the index covers, [`INDEX_BATCH`] events per transaction (each holding the
/// watermark row, so a purge or indexer never interleaves), then links the newer events.
/// `progress` hears the events gone through and their total.
pub fn reindex(
    conn: &mut DbConnection,
    org: Uuid,
    mut progress: impl FnMut(u64, u64),
) -> CoreResult<Reindexed> {
    let org_s = org.to_string();
    let mut done = Reindexed::default();
    let through = indexed_through(conn, &org_s)?;
    let start = super::audit::latest_anchor(conn, org)?.map_or(0, |a| a.sequence);
    let total = u64::try_from(through - start).unwrap_or(0);
    let mut low = start;
    while low < through {
        let high = (low + INDEX_BATCH).min(through);
        done.restored += super::write_transaction(conn, |conn| {
            // A purge may have moved the start meanwhile: its events are gone, and the
            // statement links only events that exist.
            lock_watermark(conn, &org_s, true)?;
            link_range(conn, &org_s, low, high)
        })? as u64;
        progress(u64::try_from(high - start).unwrap_or(0), total);
        low = high;
    }
    loop {
        let n = super::write_transaction(conn, |conn| link_pending(conn, org, true))?;
        done.linked += n as u64;
        if n < INDEX_BATCH as usize {
            break;
        }
    }
    Ok(done)
}

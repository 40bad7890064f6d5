//! The audit trail's storage: appending events to each org's hash chain, and reading them back
//! (filtered pages, streamed batches for verification and export, a patient's disclosures).
//!
//! There is no update here, and the only delete is [`purge`]: it removes a prefix of a chain
//! older than the retention cutoff and leaves an anchor the rest of the chain verifies from.
//! The migrations add triggers that refuse every update, and every delete an anchor does not
//! cover.
//!
//! Appending is safe with any number of writers and processes: on PostgreSQL the appender holds
//! a transaction-scoped advisory lock per org (taken once per batch, in org order, so batches
//! never deadlock); SQLite's write transactions are serialized by `BEGIN IMMEDIATE`. Either way
//! the chain head read after the lock is the latest committed one, and the primary key
//! (org, sequence) makes a fork impossible even if a lock were missed.
//!
//! Which patients each event touched is kept in a second table for the patient filter, but
//! not on the append path: [`index_patients`] links committed events in bulk afterwards and
//! moves a per-org watermark, and the filter matches events above the watermark by their own
//! patient list, so an event is findable by patient from the moment it commits.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub use super::audit_links::{INDEX_BATCH, index_patients, index_patients_for};
use super::audit_links::{indexed_through, link_pending, register_chain};
use super::schema::{audit_anchors, audit_event_patients, audit_events};
use super::{DbConnection, from_json, parse_id, to_json};
use crate::access::OrgId;
use crate::audit::chain::link_hash;
use crate::audit::{
    Anchor, AuditEvent, ChainVerifier, ChainedEvent, Outcome, Verification, genesis,
};
use crate::error::{CoreError, CoreResult};
use crate::phi::{FieldContext, OrgKeys};

/// Advisory-lock namespace for audit chains (the high 32 bits of the lock key).
const LOCK_CLASS: i64 = 7_270_002;
/// Advisory-lock namespace for purges: one purge of a chain at a time, without holding up
/// the chain's appenders.
const PURGE_LOCK_CLASS: i64 = 7_270_003;

#[derive(Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_null = true)]
pub(super) struct Row {
    pub(super) org_id: String,
    pub(super) sequence: i64,
    pub(super) id: String,
    pub(super) occurred_at: chrono::NaiveDateTime,
    pub(super) actor: String,
    pub(super) roles: String,
    pub(super) client_id: Option<String>,
    pub(super) purpose_of_use: Option<String>,
    pub(super) action: String,
    pub(super) resource_type: Option<String>,
    pub(super) resource_id: Option<String>,
    pub(super) patient_ids: String,
    pub(super) fields_disclosed: String,
    pub(super) outcome: String,
    pub(super) http_status: i32,
    pub(super) request_id: Option<String>,
    pub(super) source_ip: Option<String>,
    pub(super) user_agent: Option<String>,
    pub(super) break_glass_reason_ct: Option<Vec<u8>>,
    pub(super) prev_hash: Vec<u8>,
    pub(super) hash: Vec<u8>,
}

impl Row {
    fn from_chained(c: &ChainedEvent) -> Row {
        Row::from_event(&c.event, c.sequence, &c.prev_hash, &c.hash)
    }

    /// An event's columns; unchained events (the intake) have sequence 0 and zero hashes.
    pub(super) fn from_event(
        e: &AuditEvent,
        sequence: i64,
        prev: &[u8; 32],
        hash: &[u8; 32],
    ) -> Row {
        Row {
            org_id: e.org.to_string(),
            sequence,
            id: e.id.to_string(),
            occurred_at: e.occurred_at.naive_utc(),
            actor: e.actor.clone(),
            roles: to_json(&e.roles),
            client_id: e.client_id.clone(),
            purpose_of_use: e.purpose_of_use.clone(),
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            patient_ids: to_json(&e.patient_ids),
            fields_disclosed: to_json(&e.fields_disclosed),
            outcome: e.outcome.as_str().to_string(),
            http_status: i32::from(e.http_status),
            request_id: e.request_id.clone(),
            source_ip: e.source_ip.clone(),
            user_agent: e.user_agent.clone(),
            break_glass_reason_ct: e.break_glass_reason.clone(),
            prev_hash: prev.to_vec(),
            hash: hash.to_vec(),
        }
    }

    /// Back to a chained event. A row whose columns cannot even be read as an event (someone
    /// wrote garbage into it) is reported as such, never skipped.
    pub(super) fn into_chained(self) -> CoreResult<ChainedEvent> {
        let bad = |what: &str| CoreError::Internal(format!("audit row: {what} does not parse"));
        let hash32 = |v: Vec<u8>| -> CoreResult<[u8; 32]> {
            <[u8; 32]>::try_from(v.as_slice()).map_err(|_| bad("hash"))
        };
        Ok(ChainedEvent {
            sequence: self.sequence,
            prev_hash: hash32(self.prev_hash)?,
            hash: hash32(self.hash)?,
            event: AuditEvent {
                id: parse_id(&self.id)?,
                org: parse_id(&self.org_id)?,
                occurred_at: DateTime::from_naive_utc_and_offset(self.occurred_at, Utc),
                actor: self.actor,
                roles: from_json(&self.roles, "audit roles")?,
                client_id: self.client_id,
                purpose_of_use: self.purpose_of_use,
                action: self.action,
                resource_type: self.resource_type,
                resource_id: self.resource_id,
                patient_ids: from_json(&self.patient_ids, "audit patient ids")?,
                fields_disclosed: from_json(&self.fields_disclosed, "audit fields")?,
                outcome: Outcome::parse(&self.outcome).ok_or_else(|| bad("outcome"))?,
                http_status: u16::try_from(self.http_status).map_err(|_| bad("status"))?,
                request_id: self.request_id,
                source_ip: self.source_ip,
                user_agent: self.user_agent,
                break_glass_reason: self.break_glass_reason_ct,
            },
        })
    }
}

/// Seals a break-glass reason for the event `event_id` under the org's active data key.
pub fn seal_reason(keys: &OrgKeys, org: Uuid, event_id: Uuid, reason: &str) -> Vec<u8> {
    keys.encrypt_field(&reason_context(org, event_id), reason)
}

/// Opens a sealed break-glass reason (for compliance officers reading the trail).
pub fn open_reason(keys: &OrgKeys, event: &AuditEvent) -> CoreResult<Option<String>> {
    event
        .break_glass_reason
        .as_deref()
        .map(|ct| keys.decrypt_field(&reason_context(event.org, event.id), ct))
        .transpose()
        .map_err(CoreError::from)
}

fn reason_context(org: Uuid, event_id: Uuid) -> FieldContext<'static> {
    FieldContext {
        org,
        table: "audit_events",
        column: "break_glass_reason",
        row: event_id,
    }
}

/// The advisory-lock key of an org's chain. Any 32 bits of the org id will do: a collision
/// only makes two orgs take turns.
fn lock_key(org: Uuid) -> i64 {
    org_lock_key(LOCK_CLASS, org)
}

/// The advisory-lock key of `org` in the namespace `class` (the high 32 bits).
pub(super) fn org_lock_key(class: i64, org: Uuid) -> i64 {
    let b = org.as_bytes();
    let low = i64::from(u32::from_be_bytes([b[12], b[13], b[14], b[15]]));
    (class << 32) | low
}

fn lock_chain(conn: &mut DbConnection, org: Uuid) -> CoreResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(lock_key(org))
            .execute(c)?;
    }
    Ok(())
}

/// The sequence number of an org's latest event (0 for an empty chain).
pub fn last_sequence(conn: &mut DbConnection, org: Uuid) -> CoreResult<i64> {
    Ok(head(conn, org)?.0)
}

/// The last event of an org's chain: (sequence, hash).
pub(super) fn head(conn: &mut DbConnection, org: Uuid) -> CoreResult<(i64, [u8; 32])> {
    let org_s = org.to_string();
    // By the primary key, newest first: a plan stale statistics cannot turn into a walk of
    // the org's whole range (max() was once planned on the time index).
    let last: Option<(i64, Vec<u8>)> = audit_events::table
        .filter(audit_events::org_id.eq(&org_s))
        .order(audit_events::sequence.desc())
        .select((audit_events::sequence, audit_events::hash))
        .first(conn)
        .optional()?;
    let Some((sequence, hash)) = last else {
        // Every event was purged: the chain goes on from its anchor.
        return Ok(match latest_anchor(conn, org)? {
            Some(a) => (a.sequence, a.hash),
            None => (0, genesis(org)),
        });
    };
    let hash = <[u8; 32]>::try_from(hash.as_slice())
        .map_err(|_| CoreError::Internal("audit chain head has a malformed hash".into()))?;
    Ok((sequence, hash))
}

#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    sequence: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    hash: Vec<u8>,
}

/// PostgreSQL: locks the org's chain-head row for the rest of the transaction and returns the
/// head. Appenders and the sequencer take this row lock instead of reading `audit_events`, so
/// the head is read by primary key. A chain's first appender creates the row under the org's
/// advisory lock (two first appenders would otherwise both find no row).
pub(super) fn lock_head_pg(conn: &mut DbConnection, org: Uuid) -> CoreResult<(i64, [u8; 32])> {
    let org_s = org.to_string();
    let select = |conn: &mut DbConnection| -> CoreResult<Option<HeadRow>> {
        Ok(diesel::sql_query(
            "SELECT sequence, hash FROM audit_chain_heads WHERE org_id = $1 FOR UPDATE",
        )
        .bind::<diesel::sql_types::Text, _>(&org_s)
        .get_result::<HeadRow>(conn)
        .optional()?)
    };
    let row = match select(conn)? {
        Some(row) => row,
        None => {
            lock_chain(conn, org)?;
            let (sequence, hash) = head(conn, org)?;
            diesel::sql_query(
                "INSERT INTO audit_chain_heads (org_id, sequence, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .bind::<diesel::sql_types::Text, _>(&org_s)
            .bind::<diesel::sql_types::BigInt, _>(sequence)
            .bind::<diesel::sql_types::Binary, _>(hash.to_vec())
            .execute(conn)?;
            select(conn)?.ok_or_else(|| CoreError::Internal("audit chain head row".into()))?
        }
    };
    let hash = <[u8; 32]>::try_from(row.hash.as_slice())
        .map_err(|_| CoreError::Internal("audit chain head has a malformed hash".into()))?;
    Ok((row.sequence, hash))
}

/// PostgreSQL: moves the org's head row (locked by [`lock_head_pg`]) to `head`.
pub(super) fn set_head_pg(
    conn: &mut DbConnection,
    org: Uuid,
    head: (i64, [u8; 32]),
) -> CoreResult<()> {
    diesel::sql_query("UPDATE audit_chain_heads SET sequence = $2, hash = $3 WHERE org_id = $1")
        .bind::<diesel::sql_types::Text, _>(org.to_string())
        .bind::<diesel::sql_types::BigInt, _>(head.0)
        .bind::<diesel::sql_types::Binary, _>(head.1.to_vec())
        .execute(conn)?;
    Ok(())
}

/// Appends `events` to their orgs' chains inside the caller's write transaction, in the order
/// given within each org, and returns them chained (in the order given).
///
/// The events' patient links are not written here but by [`index_patients`], after the fact
/// and in bulk; the patient filter finds the newest events without them.
pub fn append(conn: &mut DbConnection, events: Vec<AuditEvent>) -> CoreResult<Vec<ChainedEvent>> {
    let mut batch = Batch::default();
    let postgres = conn.is_postgres();
    for (org, org_events) in by_org(events) {
        let head = if postgres {
            lock_head_pg(conn, org)?
        } else {
            head(conn, org)?
        };
        if head.0 == 0 {
            register_chain(conn, org)?;
        }
        batch.extend(head, org_events);
    }
    match conn {
        DbConnection::Postgresql(c) => insert_pg(c, &batch)?,
        DbConnection::Sqlite(c) => insert_sqlite(c, &batch.rows)?,
    }
    if postgres {
        let heads: BTreeMap<Uuid, (i64, [u8; 32])> = batch.heads().collect();
        for (org, head) in heads {
            set_head_pg(conn, org, head)?;
        }
    }
    Ok(batch.into_chained())
}

/// Events grouped by org, each group in the order given.
pub(super) fn by_org(events: Vec<AuditEvent>) -> BTreeMap<Uuid, Vec<(usize, AuditEvent)>> {
    let mut groups: BTreeMap<Uuid, Vec<(usize, AuditEvent)>> = BTreeMap::new();
    for (i, e) in events.into_iter().enumerate() {
        groups.entry(e.org).or_default().push((i, e));
    }
    groups
}

/// A batch chained and ready to insert.
#[derive(Default)]
pub(super) struct Batch {
    /// With each event's place in the order the caller gave.
    chained: Vec<(usize, ChainedEvent)>,
    rows: Vec<Row>,
}

impl Batch {
    /// Chains one org's events after `head` (sequence, hash).
    pub(super) fn extend(&mut self, head: (i64, [u8; 32]), events: Vec<(usize, AuditEvent)>) {
        let (mut sequence, mut prev) = head;
        for (i, event) in events {
            sequence += 1;
            let hash = link_hash(&prev, sequence, &event);
            let c = ChainedEvent {
                sequence,
                prev_hash: prev,
                hash,
                event,
            };
            prev = hash;
            self.rows.push(Row::from_chained(&c));
            self.chained.push((i, c));
        }
    }

    /// Each org's last event once the batch is in.
    pub(super) fn heads(&self) -> impl Iterator<Item = (Uuid, (i64, [u8; 32]))> + '_ {
        self.chained
            .iter()
            .map(|(_, c)| (c.event.org, (c.sequence, c.hash)))
    }

    pub(super) fn into_chained(mut self) -> Vec<ChainedEvent> {
        self.chained.sort_by_key(|(i, _)| *i);
        self.chained.into_iter().map(|(_, c)| c).collect()
    }
}

const EVENT_COLUMNS: &str = "org_id, sequence, id, occurred_at, actor, roles, client_id, \
    purpose_of_use, action, resource_type, resource_id, patient_ids, fields_disclosed, outcome, \
    http_status, request_id, source_ip, user_agent, break_glass_reason_ct, prev_hash, hash";
const EVENT_ARRAYS: &str = "unnest($1::text[], $2::int8[], $3::text[], $4::timestamp[], \
    $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
    $12::text[], $13::text[], $14::text[], $15::int4[], $16::text[], $17::text[], $18::text[], \
    $19::bytea[], $20::bytea[], $21::bytea[])";

/// Inserts a batch on PostgreSQL in one statement: each column goes as one array parameter
/// and `unnest` turns them back into rows, so the statement text is the same for every batch
/// size and is prepared once per connection (a multi-row VALUES list is parsed and planned
/// afresh for each size).
fn insert_pg(c: &mut diesel::PgConnection, batch: &Batch) -> Result<(), diesel::result::Error> {
    use diesel::sql_types::{Array, BigInt, Binary, Integer, Nullable, Text, Timestamp};
    static PLAIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("INSERT INTO audit_events ({EVENT_COLUMNS}) SELECT * FROM {EVENT_ARRAYS}")
    });
    macro_rules! column {
        ($f:ident) => {
            batch.rows.iter().map(|r| &r.$f).collect::<Vec<_>>()
        };
    }
    diesel::sql_query(PLAIN.as_str())
        .bind::<Array<Text>, _>(column!(org_id))
        .bind::<Array<BigInt>, _>(column!(sequence))
        .bind::<Array<Text>, _>(column!(id))
        .bind::<Array<Timestamp>, _>(column!(occurred_at))
        .bind::<Array<Text>, _>(column!(actor))
        .bind::<Array<Text>, _>(column!(roles))
        .bind::<Array<Nullable<Text>>, _>(column!(client_id))
        .bind::<Array<Nullable<Text>>, _>(column!(purpose_of_use))
        .bind::<Array<Text>, _>(column!(action))
        .bind::<Array<Nullable<Text>>, _>(column!(resource_type))
        .bind::<Array<Nullable<Text>>, _>(column!(resource_id))
        .bind::<Array<Text>, _>(column!(patient_ids))
        .bind::<Array<Text>, _>(column!(fields_disclosed))
        .bind::<Array<Text>, _>(column!(outcome))
        .bind::<Array<Integer>, _>(column!(http_status))
        .bind::<Array<Nullable<Text>>, _>(column!(request_id))
        .bind::<Array<Nullable<Text>>, _>(column!(source_ip))
        .bind::<Array<Nullable<Text>>, _>(column!(user_agent))
        .bind::<Array<Nullable<Binary>>, _>(column!(break_glass_reason_ct))
        .bind::<Array<Binary>, _>(column!(prev_hash))
        .bind::<Array<Binary>, _>(column!(hash))
        .execute(c)?;
    Ok(())
}

/// Inserts unchained events into PostgreSQL's intake in one statement (see [`insert_pg`]).
pub(super) fn insert_intake_pg(
    c: &mut diesel::PgConnection,
    events: &[AuditEvent],
) -> Result<(), diesel::result::Error> {
    use diesel::sql_types::{Array, Binary, Integer, Nullable, Text, Timestamp};
    const COLUMNS: &str = "org_id, id, occurred_at, actor, roles, client_id, purpose_of_use, \
        action, resource_type, resource_id, patient_ids, fields_disclosed, outcome, http_status, \
        request_id, source_ip, user_agent, break_glass_reason_ct";
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO audit_intake ({COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], \
             $3::timestamp[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int4[], \
             $15::text[], $16::text[], $17::text[], $18::bytea[])"
        )
    });
    let zero = [0u8; 32];
    let rows: Vec<Row> = events
        .iter()
        .map(|e| Row::from_event(e, 0, &zero, &zero))
        .collect();
    macro_rules! column {
        ($f:ident) => {
            rows.iter().map(|r| &r.$f).collect::<Vec<_>>()
        };
    }
    diesel::sql_query(SQL.as_str())
        .bind::<Array<Text>, _>(column!(org_id))
        .bind::<Array<Text>, _>(column!(id))
        .bind::<Array<Timestamp>, _>(column!(occurred_at))
        .bind::<Array<Text>, _>(column!(actor))
        .bind::<Array<Text>, _>(column!(roles))
        .bind::<Array<Nullable<Text>>, _>(column!(client_id))
        .bind::<Array<Nullable<Text>>, _>(column!(purpose_of_use))
        .bind::<Array<Text>, _>(column!(action))
        .bind::<Array<Nullable<Text>>, _>(column!(resource_type))
        .bind::<Array<Nullable<Text>>, _>(column!(resource_id))
        .bind::<Array<Text>, _>(column!(patient_ids))
        .bind::<Array<Text>, _>(column!(fields_disclosed))
        .bind::<Array<Text>, _>(column!(outcome))
        .bind::<Array<Integer>, _>(column!(http_status))
        .bind::<Array<Nullable<Text>>, _>(column!(request_id))
        .bind::<Array<Nullable<Text>>, _>(column!(source_ip))
        .bind::<Array<Nullable<Text>>, _>(column!(user_agent))
        .bind::<Array<Nullable<Binary>>, _>(column!(break_glass_reason_ct))
        .execute(c)?;
    Ok(())
}

/// Chains `events` (one org's, in order) after the org's locked head and inserts them: the
/// sequencer's half of [`append`] on PostgreSQL.
pub(super) fn chain_pg(
    conn: &mut DbConnection,
    org: Uuid,
    events: Vec<AuditEvent>,
) -> CoreResult<usize> {
    let head = lock_head_pg(conn, org)?;
    if head.0 == 0 {
        register_chain(conn, org)?;
    }
    let mut batch = Batch::default();
    let n = events.len();
    batch.extend(head, events.into_iter().enumerate().collect());
    let last = batch.heads().last();
    if let DbConnection::Postgresql(c) = conn {
        insert_pg(c, &batch)?;
    }
    if let Some((_, head)) = last {
        set_head_pg(conn, org, head)?;
    }
    Ok(n)
}

/// Inserts a batch on SQLite in one statement: the rows go as one JSON array parameter that
/// `jsonb_each` turns back into rows (timestamps as diesel writes them, hashes and ciphertext
/// as hex), so the statement is the same for every batch size. Row by row through diesel,
/// binding 21 values a row cost the audit writer more than SQLite's own work.
fn insert_sqlite(c: &mut diesel::SqliteConnection, rows: &[Row]) -> QueryResult<()> {
    let mut json = Vec::with_capacity(rows.len() * 512);
    serde_json::to_writer(&mut json, &rows.iter().map(SqliteRow).collect::<Vec<_>>())
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let json = String::from_utf8(json)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    SqliteBatchInsert(json).execute(c)?;
    Ok(())
}

/// [`insert_sqlite`]'s statement as a type of its own, so that diesel prepares it once per
/// connection and finds it in its cache by type (a `sql_query` is prepared on every call).
struct SqliteBatchInsert(String);

impl diesel::query_builder::QueryId for SqliteBatchInsert {
    type QueryId = SqliteBatchInsert;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for SqliteBatchInsert {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        // `jsonb_each` hands each row over as JSONB, which `->>` reads without parsing it
        // again (`json_each` would turn it back into text first).
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let columns: Vec<String> = (0..21)
                .map(|i| match i {
                    18..=20 => format!("unhex(r ->> {i})"),
                    _ => format!("r ->> {i}"),
                })
                .collect();
            format!(
                "INSERT INTO audit_events ({EVENT_COLUMNS}) SELECT {} \
                 FROM (SELECT value AS r FROM jsonb_each(",
                columns.join(", ")
            )
        });
        out.push_sql(&SQL);
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.0)?;
        out.push_sql("))");
        Ok(())
    }
}

impl RunQueryDsl<diesel::SqliteConnection> for SqliteBatchInsert {}

/// A row as [`insert_sqlite`] sends it: a JSON array in [`EVENT_COLUMNS`] order.
struct SqliteRow<'a>(&'a Row);

impl serde::Serialize for SqliteRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let r = self.0;
        let mut t = s.serialize_tuple(21)?;
        t.serialize_element(&r.org_id)?;
        t.serialize_element(&r.sequence)?;
        t.serialize_element(&r.id)?;
        // The text diesel itself writes for a timestamp on SQLite, so rows read back alike.
        t.serialize_element(&r.occurred_at.format("%F %T%.f").to_string())?;
        t.serialize_element(&r.actor)?;
        t.serialize_element(&r.roles)?;
        t.serialize_element(&r.client_id)?;
        t.serialize_element(&r.purpose_of_use)?;
        t.serialize_element(&r.action)?;
        t.serialize_element(&r.resource_type)?;
        t.serialize_element(&r.resource_id)?;
        t.serialize_element(&r.patient_ids)?;
        t.serialize_element(&r.fields_disclosed)?;
        t.serialize_element(&r.outcome)?;
        t.serialize_element(&r.http_status)?;
        t.serialize_element(&r.request_id)?;
        t.serialize_element(&r.source_ip)?;
        t.serialize_element(&r.user_agent)?;
        t.serialize_element(&r.break_glass_reason_ct.as_ref().map(hex::encode))?;
        t.serialize_element(&hex::encode(&r.prev_hash))?;
        t.serialize_element(&hex::encode(&r.hash))?;
        t.end()
    }
}

/// What compliance officers filter the trail by.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub patient: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub outcome: Option<Outcome>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// Events up to this sequence only: an export's snapshot of the chain when it began.
    pub up_to: Option<i64>,
    /// Match `patient` in each event's own patient list only, never through the patient
    /// index: slower (every event in range is read), and correct whatever became of the
    /// index. For the accounting of disclosures and exports.
    pub patient_from_events: bool,
}

pub const MAX_PAGE: i64 = 1000;

/// Narrows a boxed query over `audit_events` to the org's events matching `filter`, after the
/// sequence number `after`. A macro because the list and the count select different things.
macro_rules! matching {
    ($conn:expr, $q:expr, $org:expr, $filter:expr, $after:expr) => {{
        use audit_events as a;
        let org_s = $org.to_string();
        let after: i64 = $after;
        let filter: &AuditFilter = $filter;
        let mut q = $q.filter(a::org_id.eq(org_s.clone()));
        match filter.patient {
            Some(p) if filter.patient_from_events => {
                q = q.filter(a::sequence.gt(after));
                if let Some(up_to) = filter.up_to {
                    q = q.filter(a::sequence.le(up_to));
                }
                q = q.filter(a::patient_ids.like(named_in_list(p)));
            }
            // The sequence range goes inside, so that the engine looks up the patient's events
            // one by one instead of walking the org's whole range and testing each.
            Some(p) => {
                let linked = indexed_through($conn, &org_s)?;
                q = q.filter(patient_events(&org_s, p, after, filter.up_to, linked));
            }
            None => {
                q = q.filter(a::sequence.gt(after));
                if let Some(up_to) = filter.up_to {
                    q = q.filter(a::sequence.le(up_to));
                }
            }
        }
        if let Some(actor) = &filter.actor {
            q = q.filter(a::actor.eq(actor.clone()));
        }
        if let Some(action) = &filter.action {
            q = q.filter(a::action.eq(action.clone()));
        }
        if let Some(r) = &filter.resource_type {
            q = q.filter(a::resource_type.eq(r.clone()));
        }
        if let Some(o) = filter.outcome {
            q = q.filter(a::outcome.eq(o.as_str()));
        }
        if let Some(from) = filter.from {
            q = q.filter(a::occurred_at.ge(from.naive_utc()));
        }
        if let Some(to) = filter.to {
            q = q.filter(a::occurred_at.lt(to.naive_utc()));
        }
        q
    }};
}

/// The LIKE pattern of a patient in an event's JSON patient list: a UUID holds neither `%`
/// nor `_`, and the quotes keep it whole.
fn named_in_list(patient: Uuid) -> String {
    format!("%\"{patient}\"%")
}

/// "The event is one of the patient's", for events after `after` and up to `up_to`: linked to
/// the patient, or newer than `linked` (the watermark, read beforehand) and naming the patient
/// in its own list. A watermark read beforehand can only be lower than the one the query
/// sees, never higher (it only grows, and it commits with its links): the newest events may
/// be found both ways, never neither. A linked event must name the patient in its own list
/// too (which its hash covers), so a link added by hand finds nothing.
fn patient_events(
    org: &str,
    patient: Uuid,
    after: i64,
    up_to: Option<i64>,
    linked: i64,
) -> Box<
    dyn diesel::BoxableExpression<
            audit_events::table,
            super::connection::MultiBackend,
            SqlType = diesel::sql_types::Bool,
        >,
> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool, Text};
    let up_to = up_to.unwrap_or(i64::MAX);
    let named = named_in_list(patient);
    Box::new(
        sql::<Bool>(
            "\"audit_events\".\"sequence\" IN (SELECT l.sequence FROM audit_event_patients l \
             WHERE l.org_id = ",
        )
        .bind::<Text, _>(org.to_string())
        .sql(" AND l.patient_id = ")
        .bind::<Text, _>(patient.to_string())
        .sql(" AND l.sequence > ")
        .bind::<BigInt, _>(after)
        .sql(" AND l.sequence <= ")
        .bind::<BigInt, _>(up_to)
        .sql(" UNION ALL SELECT t.sequence FROM audit_events t WHERE t.org_id = ")
        .bind::<Text, _>(org.to_string())
        .sql(" AND t.sequence > ")
        .bind::<BigInt, _>(after.max(linked))
        .sql(" AND t.sequence <= ")
        .bind::<BigInt, _>(up_to)
        .sql(" AND t.patient_ids LIKE ")
        .bind::<Text, _>(named.clone())
        .sql(") AND \"audit_events\".\"patient_ids\" LIKE ")
        .bind::<Text, _>(named),
    )
}

/// Up to `limit` events of the org after `after` (a sequence number), in sequence order.
pub fn list(
    conn: &mut DbConnection,
    org: Uuid,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> CoreResult<Vec<ChainedEvent>> {
    let q = audit_events::table
        .select(Row::as_select())
        .order(audit_events::sequence.asc())
        .limit(limit)
        .into_boxed();
    matching!(conn, q, org, filter, after)
        .load::<Row>(conn)?
        .into_iter()
        .map(Row::into_chained)
        .collect()
}

/// How many events of the org match (for progress bars and export counts).
pub fn count(conn: &mut DbConnection, org: Uuid, filter: &AuditFilter) -> CoreResult<i64> {
    let q = audit_events::table.count().into_boxed();
    Ok(matching!(conn, q, org, filter, 0).get_result(conn)?)
}

/// Every org with a chain (the system chain included), for verifying them all.
pub fn chains(conn: &mut DbConnection) -> CoreResult<Vec<Uuid>> {
    let mut orgs: Vec<String> = audit_events::table
        .select(audit_events::org_id)
        .distinct()
        .load(conn)?;
    // A chain purged to its last event still has an anchor to verify from.
    orgs.extend(
        audit_anchors::table
            .select(audit_anchors::org_id)
            .distinct()
            .load::<String>(conn)?,
    );
    orgs.sort();
    orgs.dedup();
    orgs.iter().map(|s| parse_id(s)).collect()
}

/// Calls `f` with each matching event in sequence order, a batch at a time, so neither a
/// verification nor an export ever holds the whole trail. Stops early when `f` says so.
pub fn for_each(
    conn: &mut DbConnection,
    org: Uuid,
    filter: &AuditFilter,
    batch: i64,
    f: impl FnMut(ChainedEvent) -> CoreResult<bool>,
) -> CoreResult<()> {
    for_each_after(conn, org, filter, 0, batch, f)
}

/// [`for_each`] over the events after the sequence number `after`.
fn for_each_after(
    conn: &mut DbConnection,
    org: Uuid,
    filter: &AuditFilter,
    mut after: i64,
    batch: i64,
    mut f: impl FnMut(ChainedEvent) -> CoreResult<bool>,
) -> CoreResult<()> {
    loop {
        let page = list(conn, org, filter, after, batch)?;
        let done = page.len() < usize::try_from(batch).unwrap_or(usize::MAX);
        for e in page {
            after = e.sequence;
            if !f(e)? {
                return Ok(());
            }
        }
        if done {
            return Ok(());
        }
    }
}

/// What a verification found, and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub verification: Verification,
    /// The latest purge's anchor, which the check started from (genesis when `None`).
    pub anchor: Option<Anchor>,
}

/// Recomputes an org's whole chain, a batch at a time, from genesis or from the latest purge's
/// anchor: the first remaining event must then follow the anchor and link to its hash.
/// `progress` hears the count checked.
pub fn verify_chain(
    conn: &mut DbConnection,
    org: Uuid,
    mut progress: impl FnMut(u64),
) -> CoreResult<ChainCheck> {
    let anchor = latest_anchor(conn, org)?;
    let (mut v, after) = match &anchor {
        Some(a) => (ChainVerifier::after(org, a.sequence, a.hash), a.sequence),
        None => (ChainVerifier::new(org), 0),
    };
    let mut seen = 0;
    for_each_after(conn, org, &AuditFilter::default(), after, 1000, |e| {
        seen += 1;
        if seen % 1000 == 0 {
            progress(seen);
        }
        Ok(v.push(&e))
    })?;
    Ok(ChainCheck {
        verification: v.finish(),
        anchor,
    })
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_anchors)]
struct AnchorRow {
    org_id: String,
    sequence: i64,
    hash: Vec<u8>,
    cutoff: chrono::NaiveDateTime,
    purged_at: chrono::NaiveDateTime,
    purged_count: i64,
}

impl AnchorRow {
    fn into_anchor(self) -> CoreResult<Anchor> {
        Ok(Anchor {
            org: parse_id(&self.org_id)?,
            sequence: self.sequence,
            hash: <[u8; 32]>::try_from(self.hash.as_slice())
                .map_err(|_| CoreError::Internal("audit anchor has a malformed hash".into()))?,
            cutoff: DateTime::from_naive_utc_and_offset(self.cutoff, Utc),
            purged_at: DateTime::from_naive_utc_and_offset(self.purged_at, Utc),
            purged_count: self.purged_count,
        })
    }
}

/// The anchor of the org's latest purge, if its chain was ever purged.
pub fn latest_anchor(conn: &mut DbConnection, org: Uuid) -> CoreResult<Option<Anchor>> {
    audit_anchors::table
        .filter(audit_anchors::org_id.eq(org.to_string()))
        .order(audit_anchors::sequence.desc())
        .select(AnchorRow::as_select())
        .first::<AnchorRow>(conn)
        .optional()?
        .map(AnchorRow::into_anchor)
        .transpose()
}

/// Events deleted per statement in a purge.
const PURGE_BATCH: i64 = 5000;

/// What a purge removed (or, dry, would remove) from one org's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub org: Uuid,
    pub cutoff: DateTime<Utc>,
    pub dry_run: bool,
    /// Events removed (or that would be).
    pub events: i64,
    /// Their rows linking them to patients.
    pub patient_links: i64,
    /// The last event removed (or that would be), when any.
    pub through_sequence: Option<i64>,
    /// The anchor the chain now starts from (the earlier one when nothing was purged).
    pub anchor: Option<Anchor>,
    /// The sequence of the `audit.purge` event recording this purge.
    pub recorded_as: i64,
}

impl PurgeReport {
    /// What the `audit.purge` event says about the purge, in its resource id (counts and the
    /// cutoff; never anything about a patient).
    fn summary(&self) -> String {
        format!(
            "events={};patient_links={};through_sequence={};cutoff={};dry_run={}",
            self.events,
            self.patient_links,
            self.through_sequence.unwrap_or(0),
            self.cutoff
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.dry_run
        )
    }
}

/// Purges the prefix of `org`'s chain whose events are all older than `cutoff` (stopping at
/// the first event that is not, so an old event after a newer one stays), with their patient
/// links, in one transaction: it records an anchor (the last purged event's sequence and hash),
/// deletes the events in batches, and appends an `audit.purge` event (`record`'s actor and
/// request details; counts and cutoff, no PHI) to the same chain. A dry run deletes nothing and
/// records the event all the same. `progress` hears the events deleted so far and the total.
///
/// The cutoff comes from [`crate::audit::Retention::cutoff`]; the database refuses an anchor
/// whose cutoff is less than six years ago.
pub fn purge(
    conn: &mut DbConnection,
    org: Uuid,
    cutoff: DateTime<Utc>,
    dry_run: bool,
    mut record: AuditEvent,
    mut progress: impl FnMut(u64, u64),
) -> CoreResult<PurgeReport> {
    if record.org != org {
        return Err(CoreError::Internal(
            "a purge is recorded in the chain it purges".into(),
        ));
    }
    super::write_transaction(conn, |conn| {
        advisory_lock(conn, PURGE_LOCK_CLASS, org)?;
        let org_s = org.to_string();
        let previous = latest_anchor(conn, org)?;
        let start = previous.as_ref().map_or(0, |a| a.sequence);
        let cut = cutoff.naive_utc();
        // The prefix ends just before the first event that is not older than the cutoff.
        let first_kept: Option<i64> = audit_events::table
            .filter(audit_events::org_id.eq(&org_s))
            .filter(audit_events::sequence.gt(start))
            .filter(audit_events::occurred_at.ge(cut))
            .select(diesel::dsl::min(audit_events::sequence))
            .get_result(conn)?;
        let through = match first_kept {
            Some(s) => s - 1,
            None => audit_events::table
                .filter(audit_events::org_id.eq(&org_s))
                .select(diesel::dsl::max(audit_events::sequence))
                .get_result::<Option<i64>>(conn)?
                .unwrap_or(start),
        };
        let mut report = PurgeReport {
            org,
            cutoff,
            dry_run,
            events: 0,
            patient_links: 0,
            through_sequence: None,
            anchor: previous,
            recorded_as: 0,
        };
        if through > start {
            // The report counts, and the purge deletes, every link of the purged events; the
            // watermark stays locked until the purge commits, so no link comes in between.
            while link_pending(conn, org, true)? == INDEX_BATCH as usize {}
            // The purged events' leaves stay for the tree's roots and proofs: the tree must
            // cover them before they go.
            super::audit_tree::follow_in(conn, org, through)?;
            let range = || {
                audit_events::table
                    .filter(audit_events::org_id.eq(&org_s))
                    .filter(audit_events::sequence.le(through))
            };
            report.events = range().count().get_result(conn)?;
            report.patient_links = audit_event_patients::table
                .filter(audit_event_patients::org_id.eq(&org_s))
                .filter(audit_event_patients::sequence.le(through))
                .count()
                .get_result(conn)?;
            report.through_sequence = Some(through);
            if !dry_run {
                let hash: Vec<u8> = audit_events::table
                    .find((&org_s, through))
                    .select(audit_events::hash)
                    .get_result(conn)?;
                let now = Utc::now();
                let anchor = AnchorRow {
                    org_id: org_s.clone(),
                    sequence: through,
                    hash,
                    cutoff: cut,
                    purged_at: DateTime::from_timestamp_micros(now.timestamp_micros())
                        .unwrap_or(now)
                        .naive_utc(),
                    purged_count: report.events,
                };
                // First: the triggers let only what an anchor covers be deleted.
                diesel::insert_into(audit_anchors::table)
                    .values(&anchor)
                    .execute(conn)?;
                let total = u64::try_from(report.events).unwrap_or(0);
                let mut deleted: u64 = 0;
                let mut low = start;
                while low < through {
                    let high = (low + PURGE_BATCH).min(through);
                    let n = diesel::delete(
                        audit_events::table
                            .filter(audit_events::org_id.eq(&org_s))
                            .filter(audit_events::sequence.gt(low))
                            .filter(audit_events::sequence.le(high)),
                    )
                    .execute(conn)?;
                    deleted += n as u64;
                    progress(deleted, total);
                    low = high;
                }
                // One statement: the links are keyed by patient first, so ranges of sequence
                // numbers would each scan the org's links.
                let links = diesel::delete(
                    audit_event_patients::table
                        .filter(audit_event_patients::org_id.eq(&org_s))
                        .filter(audit_event_patients::sequence.le(through)),
                )
                .execute(conn)?;
                if deleted != total || links as i64 != report.patient_links {
                    return Err(CoreError::Internal(
                        "audit purge: the rows deleted are not the rows counted".into(),
                    ));
                }
                report.anchor = Some(anchor.into_anchor()?);
            }
        }
        record.action = "audit.purge".into();
        record.resource_type = Some("AuditEvent".into());
        record.resource_id = Some(report.summary());
        record.patient_ids.clear();
        record.fields_disclosed.clear();
        record.outcome = Outcome::Success;
        let recorded = append(conn, vec![record])?;
        report.recorded_as = recorded.first().map_or(0, |c| c.sequence);
        Ok(report)
    })
}

fn advisory_lock(conn: &mut DbConnection, class: i64, org: Uuid) -> CoreResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(org_lock_key(class, org))
            .execute(c)?;
    }
    Ok(())
}

/// Cursor over sequence numbers, opaque to clients.
pub fn encode_cursor(sequence: i64) -> String {
    URL_SAFE_NO_PAD.encode(sequence.to_be_bytes())
}

pub fn decode_cursor(cursor: &str) -> CoreResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(i64::from_be_bytes)
        .filter(|s| *s >= 0)
        .ok_or_else(|| CoreError::invalid("/cursor", "is not a cursor this API returned"))
}

/// Whether a record with this id exists in another organization: a 404 on it was a refused
/// cross-tenant attempt, which the trail records as denied.
pub fn owned_elsewhere(
    conn: &mut DbConnection,
    resource_type: &str,
    id: Uuid,
    org: OrgId,
) -> CoreResult<bool> {
    use super::schema::*;
    let id = id.to_string();
    let org = org.as_str();
    macro_rules! elsewhere {
        ($t:ident) => {
            diesel::select(diesel::dsl::exists(
                $t::table.filter($t::id.eq(&id)).filter($t::org_id.ne(&org)),
            ))
            .get_result::<bool>(conn)?
        };
    }
    Ok(match resource_type {
        "Patient" => elsewhere!(patients),
        "Coverage" => elsewhere!(coverages),
        "Encounter" => elsewhere!(encounters),
        "Claim" => elsewhere!(claims),
        "Remittance" => elsewhere!(remittances),
        "Payer" => elsewhere!(payers),
        "Provider" => elsewhere!(providers),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
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
        the_database_deletes_only_what_an_anchor_covers_and_keeps_anchors
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

    fn a_purge_removes_only_the_old_prefix_and_the_chain_verifies_from_its_anchor(
        engine: TestEngine,
    ) {
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
            diesel::delete(
                audit_event_patients::table.filter(audit_event_patients::sequence.eq(4))
            )
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
}

//! Appending events to their orgs' chains: the chain head (read under the org's lock), the
//! chained batch, and one insert statement per batch on each engine.

use super::*;

/// The sequence number of an org's latest event (0 for an empty chain).
pub fn last_sequence(conn: &mut DbConnection, org: Uuid) -> CoreResult<i64> {
    Ok(head(conn, org)?.0)
}

/// The last event of an org's chain: (sequence, hash).
fn head(conn: &mut DbConnection, org: Uuid) -> CoreResult<(i64, [u8; 32])> {
    let org_s = org.to_string();
    // By the primary key, newest first: a plan stale statistics cannot turn into a walk of
    // the org's whole range (max() was once planned on the time index).
    let query = audit_events::table
        .filter(audit_events::org_id.eq(&org_s))
        .order(audit_events::sequence.desc())
        .select((audit_events::sequence, audit_events::hash));
    let last: Option<(i64, Vec<u8>)> = match conn {
        // On the SQLite connection itself diesel keeps the prepared statement; through the
        // two-engine wrapper it was prepared afresh for every batch of the audit writer (7% of
        // its CPU in a profile of audited reads).
        DbConnection::Sqlite(c) => query.first(c).optional()?,
        DbConnection::Postgresql(c) => query.first(c).optional()?,
    };
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
pub(in crate::store) fn lock_head_pg(
    conn: &mut DbConnection,
    org: Uuid,
) -> CoreResult<(i64, [u8; 32])> {
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
fn set_head_pg(conn: &mut DbConnection, org: Uuid, head: (i64, [u8; 32])) -> CoreResult<()> {
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
fn by_org(events: Vec<AuditEvent>) -> BTreeMap<Uuid, Vec<(usize, AuditEvent)>> {
    let mut groups: BTreeMap<Uuid, Vec<(usize, AuditEvent)>> = BTreeMap::new();
    for (i, e) in events.into_iter().enumerate() {
        groups.entry(e.org).or_default().push((i, e));
    }
    groups
}

/// A batch chained and ready to insert.
#[derive(Default)]
struct Batch {
    /// With each event's place in the order the caller gave.
    chained: Vec<(usize, ChainedEvent)>,
    rows: Vec<Row>,
}

impl Batch {
    /// Chains one org's events after `head` (sequence, hash).
    fn extend(&mut self, head: (i64, [u8; 32]), events: Vec<(usize, AuditEvent)>) {
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
    fn heads(&self) -> impl Iterator<Item = (Uuid, (i64, [u8; 32]))> + '_ {
        self.chained
            .iter()
            .map(|(_, c)| (c.event.org, (c.sequence, c.hash)))
    }

    fn into_chained(mut self) -> Vec<ChainedEvent> {
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

/// Binds the columns an event has in both the trail and PostgreSQL's intake, `id` through
/// `break_glass_reason_ct`, each as one array parameter (`$column!(field)` makes the array).
macro_rules! bind_event_fields {
    ($q:expr, $column:ident) => {{
        use diesel::sql_types::{Array, Binary, Integer, Nullable, Text, Timestamp};
        $q.bind::<Array<Text>, _>($column!(id))
            .bind::<Array<Timestamp>, _>($column!(occurred_at))
            .bind::<Array<Text>, _>($column!(actor))
            .bind::<Array<Text>, _>($column!(roles))
            .bind::<Array<Nullable<Text>>, _>($column!(client_id))
            .bind::<Array<Nullable<Text>>, _>($column!(purpose_of_use))
            .bind::<Array<Text>, _>($column!(action))
            .bind::<Array<Nullable<Text>>, _>($column!(resource_type))
            .bind::<Array<Nullable<Text>>, _>($column!(resource_id))
            .bind::<Array<Text>, _>($column!(patient_ids))
            .bind::<Array<Text>, _>($column!(fields_disclosed))
            .bind::<Array<Text>, _>($column!(outcome))
            .bind::<Array<Integer>, _>($column!(http_status))
            .bind::<Array<Nullable<Text>>, _>($column!(request_id))
            .bind::<Array<Nullable<Text>>, _>($column!(source_ip))
            .bind::<Array<Nullable<Text>>, _>($column!(user_agent))
            .bind::<Array<Nullable<Binary>>, _>($column!(break_glass_reason_ct))
    }};
}

/// Inserts a batch on PostgreSQL in one statement: each column goes as one array parameter
/// and `unnest` turns them back into rows, so the statement text is the same for every batch
/// size and is prepared once per connection (a multi-row VALUES list is parsed and planned
/// afresh for each size).
fn insert_pg(c: &mut diesel::PgConnection, batch: &Batch) -> Result<(), diesel::result::Error> {
    use diesel::sql_types::{Array, BigInt, Binary, Text};
    static PLAIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("INSERT INTO audit_events ({EVENT_COLUMNS}) SELECT * FROM {EVENT_ARRAYS}")
    });
    macro_rules! column {
        ($f:ident) => {
            batch.rows.iter().map(|r| &r.$f).collect::<Vec<_>>()
        };
    }
    let q = diesel::sql_query(PLAIN.as_str())
        .bind::<Array<Text>, _>(column!(org_id))
        .bind::<Array<BigInt>, _>(column!(sequence));
    bind_event_fields!(q, column)
        .bind::<Array<Binary>, _>(column!(prev_hash))
        .bind::<Array<Binary>, _>(column!(hash))
        .execute(c)?;
    Ok(())
}

/// Inserts unchained events into PostgreSQL's intake in one statement (see [`insert_pg`]).
pub(in crate::store) fn insert_intake_pg(
    c: &mut diesel::PgConnection,
    events: &[AuditEvent],
) -> Result<(), diesel::result::Error> {
    use diesel::sql_types::{Array, Text};
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
    let q = diesel::sql_query(SQL.as_str()).bind::<Array<Text>, _>(column!(org_id));
    bind_event_fields!(q, column).execute(c)?;
    Ok(())
}

/// Chains `events` (one org's, in order) after the org's locked head and inserts them: the
/// sequencer's half of [`append`] on PostgreSQL.
pub(in crate::store) fn chain_pg(
    conn: &mut DbConnection,
    org: Uuid,
    events: Vec<AuditEvent>,
) -> CoreResult<Vec<ChainedEvent>> {
    let head = lock_head_pg(conn, org)?;
    if head.0 == 0 {
        register_chain(conn, org)?;
    }
    let mut batch = Batch::default();
    batch.extend(head, events.into_iter().enumerate().collect());
    let last = batch.heads().last();
    if let DbConnection::Postgresql(c) = conn {
        insert_pg(c, &batch)?;
    }
    if let Some((_, head)) = last {
        set_head_pg(conn, org, head)?;
    }
    Ok(batch.into_chained())
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

//! The audit trail's intake and its sequencer, which take the chain off the request path.
//!
//! On PostgreSQL a request's event commits durably into `audit_intake`: inside the request's
//! own write transaction, or through the group-commit writer for reads. Nothing there is
//! chained and no lock is shared, so requests of one org commit in parallel. The sequencer
//! then chains committed events into `audit_events`, one org at a time, in large batches:
//! under the org's chain-head row lock it takes the oldest intake rows, chains them after the
//! head, inserts them and deletes them from the intake, in one transaction. A crash loses
//! nothing (the intake is durable; an interrupted batch rolls back whole), and any number of
//! servers may run sequencers against one database: the head row lock serializes them per org,
//! and the primary key (org, sequence) makes a fork impossible.
//!
//! Everything that reads the trail (lists, exports, verification, purges) first [`settle`]s
//! the org, so it sees every event committed before it began.
//!
//! SQLite serializes its writers anyway: there events are chained at once and the intake is
//! never used.

use std::time::Duration;

use diesel::prelude::*;
use uuid::Uuid;

use super::audit::{Row, append, chain_pg, insert_intake_pg};
use super::{DbConnection, DbPool, parse_id, write_transaction};
use crate::access::OrgId;
use crate::audit::{AuditEvent, SYSTEM_ORG};
use crate::error::{CoreError, CoreResult};
use crate::model::event::{BreakGlass, EventData};

/// Most events one sequencing transaction chains.
pub const SEQUENCE_BATCH: i64 = 5000;

/// Records `events` inside the caller's write transaction: unchained into the intake on
/// PostgreSQL, chained at once on SQLite.
pub fn intake(conn: &mut DbConnection, events: Vec<AuditEvent>) -> CoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    announce_break_glass(conn, &events)?;
    match conn {
        DbConnection::Postgresql(c) => Ok(insert_intake_pg(c, &events)?),
        DbConnection::Sqlite(_) => append(conn, events).map(|_| ()),
    }
}

/// Records `events` durably in a transaction of their own (the group-commit writer's batches):
/// on PostgreSQL a single statement, which commits on its own.
pub fn record(conn: &mut DbConnection, events: Vec<AuditEvent>) -> CoreResult<()> {
    match conn {
        // A break-glass read's event goes out with its audit event, so a transaction then.
        DbConnection::Postgresql(_) if events.iter().any(AuditEvent::break_glass) => {
            write_transaction(conn, |c| {
                announce_break_glass(c, &events)?;
                match c {
                    DbConnection::Postgresql(pg) => Ok(insert_intake_pg(pg, &events)?),
                    DbConnection::Sqlite(_) => unreachable!("matched PostgreSQL"),
                }
            })
        }
        DbConnection::Postgresql(c) => Ok(insert_intake_pg(c, &events)?),
        DbConnection::Sqlite(_) => {
            let chained = write_transaction(conn, |c| {
                announce_break_glass(c, &events)?;
                append(c, events)
            })?;
            // Committed: the tree follower may take these leaves instead of reading them back.
            super::audit_tree::remember(&chained);
            Ok(())
        }
    }
}

/// Emits `security.break_glass` for each break-glass read among `events`, in the transaction
/// that records them: the event exists exactly when its audit event does.
fn announce_break_glass(conn: &mut DbConnection, events: &[AuditEvent]) -> CoreResult<()> {
    for e in events
        .iter()
        .filter(|e| e.break_glass() && e.org != SYSTEM_ORG)
    {
        let data = EventData::SecurityBreakGlass(BreakGlass {
            audit_event_id: e.id,
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            http_status: e.http_status,
        });
        super::events::emit(conn, OrgId(e.org), &data)?;
    }
    Ok(())
}

/// Chains up to `max` of the org's oldest intake events in one transaction and returns how
/// many. An event that cannot be read back fails the batch: it stays in the intake, reported,
/// never dropped.
pub fn sequence_org(conn: &mut DbConnection, org: Uuid, max: i64) -> CoreResult<usize> {
    if !conn.is_postgres() {
        return Ok(0);
    }
    let chained = write_transaction(conn, |conn| {
        // The head row lock first: a second sequencer of this org waits here, then finds the
        // rows this one took already gone.
        super::audit::lock_head_pg(conn, org)?;
        // Read back as audit rows, unchained (sequence 0, zero hashes), oldest first.
        let rows: Vec<Row> = diesel::sql_query(
            "WITH taken AS (DELETE FROM audit_intake WHERE intake_id IN (SELECT intake_id \
             FROM audit_intake WHERE org_id = $1 ORDER BY intake_id LIMIT $2) RETURNING *) \
             SELECT org_id, 0::int8 AS sequence, id, occurred_at, actor, roles, client_id, \
             purpose_of_use, action, resource_type, resource_id, patient_ids, fields_disclosed, \
             outcome, http_status, request_id, source_ip, user_agent, break_glass_reason_ct, \
             decode(repeat('00', 32), 'hex') AS prev_hash, \
             decode(repeat('00', 32), 'hex') AS hash FROM taken ORDER BY intake_id",
        )
        .bind::<diesel::sql_types::Text, _>(org.to_string())
        .bind::<diesel::sql_types::BigInt, _>(max)
        .load(conn)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let events = rows
            .into_iter()
            .map(|r| r.into_chained().map(|c| c.event))
            .collect::<CoreResult<Vec<_>>>()?;
        chain_pg(conn, org, events)
    })?;
    // Committed: the tree follower may take these leaves instead of reading them back.
    super::audit_tree::remember(&chained);
    Ok(chained.len())
}

/// Chains every event of the org committed to the intake so far; returns how many.
pub fn settle(conn: &mut DbConnection, org: Uuid) -> CoreResult<usize> {
    let mut total = 0;
    loop {
        let n = sequence_org(conn, org, SEQUENCE_BATCH)?;
        total += n;
        if n < SEQUENCE_BATCH as usize {
            return Ok(total);
        }
    }
}

#[derive(QueryableByName)]
struct OrgRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    org_id: String,
}

/// The orgs with events waiting in the intake.
fn waiting_orgs(conn: &mut DbConnection) -> CoreResult<Vec<Uuid>> {
    if !conn.is_postgres() {
        return Ok(Vec::new());
    }
    let rows: Vec<OrgRow> =
        diesel::sql_query("SELECT DISTINCT org_id FROM audit_intake").load(conn)?;
    rows.iter().map(|r| parse_id(&r.org_id)).collect()
}

/// Chains what every org has waiting, one batch per org in turn (so a long backlog does not
/// hold the others up), until nothing is left or `budget` has run out; returns how many.
pub fn settle_all(conn: &mut DbConnection, budget: Option<Duration>) -> CoreResult<usize> {
    let started = std::time::Instant::now();
    let mut total = 0;
    loop {
        let orgs = waiting_orgs(conn)?;
        if orgs.is_empty() {
            return Ok(total);
        }
        for org in orgs {
            total += sequence_org(conn, org, SEQUENCE_BATCH)?;
        }
        if budget.is_some_and(|b| started.elapsed() >= b) {
            return Ok(total);
        }
    }
}

/// How many events wait in the intake (all orgs' when `org` is `None`); 0 on SQLite.
pub fn pending(conn: &mut DbConnection, org: Option<Uuid>) -> CoreResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    if !conn.is_postgres() {
        return Ok(0);
    }
    // One statement for both: with `$1` every org counts.
    let (all, org) = (org.is_none(), org.unwrap_or_default().to_string());
    Ok(
        diesel::sql_query("SELECT count(*) AS n FROM audit_intake WHERE $1 OR org_id = $2")
            .bind::<diesel::sql_types::Bool, _>(all)
            .bind::<diesel::sql_types::Text, _>(org)
            .get_result::<Count>(conn)?
            .n,
    )
}

/// Runs the sequencer on a thread of its own until the process ends: it chains what is
/// waiting, then sleeps `interval` when nothing was. On SQLite it does nothing and returns.
pub fn spawn_sequencer(pool: DbPool, interval: Duration) -> CoreResult<()> {
    {
        let conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))?;
        if !conn.is_postgres() {
            return Ok(());
        }
    }
    std::thread::Builder::new()
        .name("audit-sequencer".into())
        .spawn(move || {
            loop {
                let result = pool
                    .get()
                    .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))
                    .and_then(|mut conn| settle_all(&mut conn, Some(Duration::from_millis(200))));
                match result {
                    Ok(0) => std::thread::sleep(interval),
                    Ok(n) => tracing::debug!(events = n, "audit events chained"),
                    Err(e) => {
                        tracing::warn!(error = %e, "audit events could not be chained; retrying");
                        std::thread::sleep(interval.max(Duration::from_millis(500)));
                    }
                }
            }
        })
        .map_err(|e| CoreError::Unavailable(format!("audit sequencer thread: {e}")))?;
    Ok(())
}

//! Publishing the outbox to an optional sink (NATS JetStream): each event is claimed under a
//! lease, as webhook deliveries are (several servers on one PostgreSQL publish each event
//! once, `FOR UPDATE SKIP LOCKED`), and marked published once the sink acknowledged it. A
//! record's events are claimed one at a time in commit order, so the sink gets them in order.
//! Repositories only: when to retry is the publisher's.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{event_sinks, outbox_events};
use super::{DbConnection, parse_id};
use crate::access::OrgId;
use crate::error::CoreResult;
use crate::model::common::now;

/// The NATS sink's name in `event_sinks`.
pub const NATS: &str = "nats";

/// Where the sink `name` starts: the first time it is asked, after the newest event (events
/// that committed before the sink was enabled are not published). Returns that `seq`.
pub fn sink_start(conn: &mut DbConnection, name: &str) -> CoreResult<i64> {
    if let Some(after) = started(conn, name)? {
        return Ok(after);
    }
    let newest: Option<i64> = outbox_events::table
        .select(diesel::dsl::max(outbox_events::seq))
        .get_result(conn)?;
    let inserted = diesel::insert_into(event_sinks::table)
        .values((
            event_sinks::name.eq(name),
            event_sinks::after_seq.eq(newest.unwrap_or(0)),
            event_sinks::created_at.eq(now()),
        ))
        .execute(conn);
    match (inserted, started(conn, name)?) {
        (_, Some(after)) => Ok(after),
        // Another server registered it meanwhile (a unique violation) and it is there now, or
        // the insert failed for another reason: said as such.
        (Err(e), None) => Err(e.into()),
        (Ok(_), None) => Err(crate::error::CoreError::Internal(
            "the event sink was registered but cannot be read".into(),
        )),
    }
}

fn started(conn: &mut DbConnection, name: &str) -> CoreResult<Option<i64>> {
    Ok(event_sinks::table
        .filter(event_sinks::name.eq(name))
        .select(event_sinks::after_seq)
        .get_result::<i64>(conn)
        .optional()?)
}

/// An event claimed for publishing, under a lease until `lease_until`.
#[derive(Debug, Clone)]
pub struct ToPublish {
    pub seq: i64,
    pub id: Uuid,
    pub org: OrgId,
    pub event_type: String,
    /// The envelope webhooks get.
    pub payload: String,
    /// Failed tries before this one.
    pub attempts: i32,
    pub lease_until: NaiveDateTime,
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
}

/// Events after the sink's start not yet published nor leased, no earlier event of whose
/// record still waits (pings are for one webhook subscription and never published).
const DUE_SQL: &str = "SELECT o.seq FROM outbox_events o \
     WHERE o.nats_published_at IS NULL AND o.seq > $1 AND o.event_type <> 'ping' \
       AND (o.nats_lease_until IS NULL OR o.nats_lease_until <= $2) \
       AND NOT EXISTS (SELECT 1 FROM outbox_events e \
           WHERE e.resource_type = o.resource_type AND e.resource_id = o.resource_id \
             AND e.seq < o.seq AND e.seq > $1 AND e.nats_published_at IS NULL \
             AND e.event_type <> 'ping') \
     ORDER BY o.seq LIMIT $3";

/// Claims up to `limit` events to publish (any org) with a lease until `lease_until`, in the
/// caller's transaction. On PostgreSQL rows another server is claiming are skipped; SQLite
/// has one writer. A lease that runs out (its server died) makes the event due again.
pub fn claim_due(
    conn: &mut DbConnection,
    after_seq: i64,
    at: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> CoreResult<Vec<ToPublish>> {
    use diesel::sql_types::{BigInt, Timestamp};
    let rows: Vec<DueRow> = match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query(format!("{DUE_SQL} FOR UPDATE OF o SKIP LOCKED"))
                .bind::<BigInt, _>(after_seq)
                .bind::<Timestamp, _>(at)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
        DbConnection::Sqlite(c) => diesel::sql_query(
            DUE_SQL
                .replace("$1", "?1")
                .replace("$2", "?2")
                .replace("$3", "?3"),
        )
        .bind::<BigInt, _>(after_seq)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(limit)
        .load(c)?,
    };
    let seqs: Vec<i64> = rows.into_iter().map(|r| r.seq).collect();
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox_events::table.filter(outbox_events::seq.eq_any(&seqs)))
        .set(outbox_events::nats_lease_until.eq(Some(lease_until)))
        .execute(conn)?;
    let loaded: Vec<(i64, String, String, String, String, i32)> = outbox_events::table
        .filter(outbox_events::seq.eq_any(&seqs))
        .order(outbox_events::seq.asc())
        .select((
            outbox_events::seq,
            outbox_events::id,
            outbox_events::org_id,
            outbox_events::event_type,
            outbox_events::payload,
            outbox_events::nats_attempts,
        ))
        .load(conn)?;
    loaded
        .into_iter()
        .map(|(seq, id, org, event_type, payload, attempts)| {
            Ok(ToPublish {
                seq,
                id: parse_id(&id)?,
                org: OrgId(parse_id(&org)?),
                event_type,
                payload,
                attempts,
                lease_until,
            })
        })
        .collect()
}

/// The sink acknowledged the event: it is published, whoever holds its lease now (a server
/// that took it over publishes it again with the same message id, which the sink drops).
pub fn mark_published(conn: &mut DbConnection, seq: i64, at: NaiveDateTime) -> CoreResult<()> {
    diesel::update(
        outbox_events::table
            .filter(outbox_events::seq.eq(seq))
            .filter(outbox_events::nats_published_at.is_null()),
    )
    .set((
        outbox_events::nats_published_at.eq(Some(at)),
        outbox_events::nats_lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Publishing failed: the event is tried again from `next_at` (if this server still holds
/// its lease). Returns whether it did.
pub fn retry_at(
    conn: &mut DbConnection,
    claimed: &ToPublish,
    next_at: NaiveDateTime,
) -> CoreResult<bool> {
    let n = diesel::update(
        outbox_events::table
            .filter(outbox_events::seq.eq(claimed.seq))
            .filter(outbox_events::nats_published_at.is_null())
            .filter(outbox_events::nats_lease_until.eq(Some(claimed.lease_until))),
    )
    .set((
        outbox_events::nats_lease_until.eq(Some(next_at)),
        outbox_events::nats_attempts.eq(claimed.attempts + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Events committed since the sink started that it has not acknowledged yet (0 when the sink
/// was never enabled).
pub fn pending(conn: &mut DbConnection, name: &str) -> CoreResult<i64> {
    let Some(after) = started(conn, name)? else {
        return Ok(0);
    };
    Ok(outbox_events::table
        .filter(outbox_events::nats_published_at.is_null())
        .filter(outbox_events::seq.gt(after))
        .filter(outbox_events::event_type.ne("ping"))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::claim::ClaimStatus;
    use crate::model::event::{ClaimStatusChanged, EventData, Ping};
    use crate::store::events::emit;
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};
    use crate::store::write_transaction;

    on_each_engine!(events_are_claimed_for_publishing_in_order_once_under_leases);

    fn moved(claim: Uuid, from: ClaimStatus, to: ClaimStatus) -> EventData {
        EventData::ClaimStatusChanged(ClaimStatusChanged {
            claim_id: claim,
            from,
            to,
            remittance_id: None,
        })
    }

    fn claim(conn: &mut DbConnection, after: i64, at: NaiveDateTime) -> Vec<ToPublish> {
        let lease = at + chrono::Duration::seconds(30);
        write_transaction(conn, |c| claim_due(c, after, at, lease, 10)).unwrap()
    }

    fn ids(claimed: &[ToPublish]) -> Vec<Uuid> {
        claimed.iter().map(|c| c.id).collect()
    }

    fn events_are_claimed_for_publishing_in_order_once_under_leases(engine: TestEngine) {
        let (_db, mut conn, _keyring, org) = setup_on(engine);
        let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
        // Before the sink was enabled: never published.
        emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Draft, ClaimStatus::Ready),
        )
        .unwrap();
        let after = sink_start(&mut conn, NATS).unwrap();
        assert!(after > 0);
        assert_eq!(
            sink_start(&mut conn, NATS).unwrap(),
            after,
            "registered once"
        );
        assert_eq!(pending(&mut conn, NATS).unwrap(), 0);

        // A change that rolls back leaves nothing to publish.
        let failed: CoreResult<()> = write_transaction(&mut conn, |c| {
            emit(c, org, &moved(y, ClaimStatus::Draft, ClaimStatus::Ready))?;
            Err(crate::error::CoreError::Conflict(
                "the change failed".into(),
            ))
        });
        assert!(failed.is_err());
        assert!(claim(&mut conn, after, now()).is_empty());

        let x2 = emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Ready, ClaimStatus::Submitted),
        )
        .unwrap();
        let x3 = emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Submitted, ClaimStatus::Accepted),
        )
        .unwrap();
        let y1 = emit(
            &mut conn,
            org,
            &moved(y, ClaimStatus::Draft, ClaimStatus::Ready),
        )
        .unwrap();
        // A ping is for one webhook subscription: not published.
        emit(
            &mut conn,
            org,
            &EventData::Ping(Ping {
                subscription_id: Uuid::now_v7(),
            }),
        )
        .unwrap();
        assert_eq!(pending(&mut conn, NATS).unwrap(), 3);

        // x's second event waits for its first; leased events are not claimed again.
        let t0 = now();
        let first = claim(&mut conn, after, t0);
        assert_eq!(ids(&first), [x2, y1]);
        assert_eq!(first[0].org, org);
        assert!(first[0].payload.contains("\"submitted\""));
        assert!(claim(&mut conn, after, t0).is_empty());

        // x2 published: x3 is due. y1 failed: tried again from its retry time.
        mark_published(&mut conn, first[0].seq, t0).unwrap();
        let retry = t0 + chrono::Duration::seconds(5);
        assert!(retry_at(&mut conn, &first[1], retry).unwrap());
        assert_eq!(ids(&claim(&mut conn, after, t0)), [x3]);
        let again = claim(&mut conn, after, retry);
        assert_eq!(ids(&again), [y1]);
        assert_eq!(again[0].attempts, 1);
        // The old claim's holder lost the lease: its late failure changes nothing.
        assert!(!retry_at(&mut conn, &first[1], retry).unwrap());
        assert_eq!(pending(&mut conn, NATS).unwrap(), 2);

        // A lease that ran out (its server died) makes the event due again for anyone.
        let later = retry + chrono::Duration::seconds(31);
        let taken_over = claim(&mut conn, after, later);
        assert_eq!(ids(&taken_over), [x3, y1]);
        for e in &taken_over {
            mark_published(&mut conn, e.seq, later).unwrap();
        }
        assert_eq!(pending(&mut conn, NATS).unwrap(), 0);
        assert!(claim(&mut conn, after, later + chrono::Duration::hours(1)).is_empty());
    }
}

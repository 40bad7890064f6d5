//! Events for integrators: the transactional outbox, webhook subscriptions (their signing
//! secrets encrypted like PHI) and deliveries with their attempts. Repositories only: what an
//! event says is `model::event`, when to retry and whom to refuse is `events`.
//!
//! [`emit`] runs in the transaction of the change it tells about: an event exists exactly when
//! its change committed. The deliverer then makes its deliveries, to every subscription that
//! asked for its type, in batches of its own ([`fan_out`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::crypt::RowCrypt;
use super::encrypted::{EncryptedTable, Rotated, rotated, rotation_queries};
use super::pagination::finish_page;
use super::schema::{
    event_deliveries, event_delivery_attempts, event_subscriptions, outbox_events, outbox_fan_out,
};
use super::{
    DbConnection, KeyRing, ListParams, check_versioned_update, from_json, new_id, parse_id, to_json,
};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::event::{
    Delivery, DeliveryAttempt, EventData, EventType, Subscription, SubscriptionInput,
};
use crate::phi::OrgKeys;

const SUBSCRIPTIONS: &str = "event_subscriptions";

/// Delivery states.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
/// A deleted subscription's deliveries that were still waiting.
pub const CANCELED: &str = "canceled";
/// Waiting while the subscription is paused or disabled: pending again once it is active. Kept
/// out of `pending` so that a paused subscription's backlog stays out of the deliverer's
/// indexes (which hold pending rows only) instead of being walked past every round.
pub const HELD: &str = "held";

/// The state a new delivery to a subscription starts in.
fn waiting(paused_or_disabled: bool) -> &'static str {
    if paused_or_disabled { HELD } else { PENDING }
}

/// Holds the subscription's pending deliveries (`hold`: it was paused or disabled) or makes its
/// held ones pending again (it is active again).
fn hold_deliveries(conn: &mut DbConnection, org: OrgId, id: Uuid, hold: bool) -> CoreResult<()> {
    let (from, to) = if hold {
        (PENDING, HELD)
    } else {
        (HELD, PENDING)
    };
    diesel::update(
        event_deliveries::table
            .filter(event_deliveries::org_id.eq(org.as_str()))
            .filter(event_deliveries::subscription_id.eq(id.to_string()))
            .filter(event_deliveries::state.eq(from)),
    )
    .set(event_deliveries::state.eq(to))
    .execute(conn)?;
    Ok(())
}

/// Writes `data` to the outbox in the caller's transaction and returns the event's id. The
/// event's deliveries are made once it has committed ([`fan_out`]), so a write pays for one row
/// whoever subscribes. A ping is for one subscription and its answer shows the delivery: its
/// delivery is written with it.
pub fn emit(conn: &mut DbConnection, org: OrgId, data: &EventData) -> CoreResult<Uuid> {
    let id = new_id();
    let at = now();
    let (resource_type, resource_id) = data.resource();
    diesel::insert_into(outbox_events::table)
        .values((
            outbox_events::id.eq(id.to_string()),
            outbox_events::org_id.eq(org.as_str()),
            outbox_events::event_type.eq(data.type_name()),
            outbox_events::type_version.eq(data.version()),
            outbox_events::resource_type.eq(resource_type),
            outbox_events::resource_id.eq(resource_id.to_string()),
            outbox_events::payload.eq(data.envelope(id, utc(at)).to_string()),
            outbox_events::occurred_at.eq(at),
        ))
        .execute(conn)?;
    let this_event = outbox_events::table
        .filter(outbox_events::id.eq(id.to_string()))
        .select(outbox_events::seq);
    let EventData::Ping(ping) = data else {
        diesel::insert_into(outbox_fan_out::table)
            .values(this_event)
            .into_columns(outbox_fan_out::seq)
            .execute(conn)?;
        return Ok(id);
    };
    // (A ping for a subscription deleted or disabled meanwhile goes nowhere.)
    let live_ping = live(org)
        .filter(event_subscriptions::id.eq(ping.subscription_id.to_string()))
        .filter(event_subscriptions::disabled_at.is_null())
        .select((event_subscriptions::id, event_subscriptions::paused))
        .first::<(String, bool)>(conn)
        .optional()?;
    if let Some((subscription, paused)) = live_ping {
        let event = NewDelivery {
            org: &org.as_str(),
            seq: this_event.get_result(conn)?,
            event_id: &id.to_string(),
            event_type: data.type_name(),
            resource_key: &format!("{resource_type}:{resource_id}"),
        };
        let row = NewDeliveryRow::new(&event, &subscription, waiting(paused), at);
        insert_deliveries(conn, &[row])?;
    }
    Ok(id)
}

/// An event about to get a delivery.
struct NewDelivery<'a> {
    org: &'a str,
    seq: i64,
    event_id: &'a str,
    event_type: &'a str,
    /// `{resource_type}:{resource_id}`: a record's deliveries keep its events' order.
    resource_key: &'a str,
}

/// A new delivery row.
#[derive(Insertable)]
#[diesel(table_name = event_deliveries)]
struct NewDeliveryRow<'a> {
    id: String,
    org_id: &'a str,
    subscription_id: &'a str,
    event_seq: i64,
    event_id: &'a str,
    event_type: &'a str,
    resource_key: &'a str,
    state: &'a str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> NewDeliveryRow<'a> {
    /// A delivery of `event` to `subscription` in `state` (pending or held), due at `at`.
    fn new(
        event: &NewDelivery<'a>,
        subscription: &'a str,
        state: &'a str,
        at: NaiveDateTime,
    ) -> Self {
        NewDeliveryRow {
            id: new_id().to_string(),
            org_id: event.org,
            subscription_id: subscription,
            event_seq: event.seq,
            event_id: event.event_id,
            event_type: event.event_type,
            resource_key: event.resource_key,
            state,
            attempts: 0,
            next_attempt_at: at,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Rows per multi-row insert: 12 values each, well within both engines' bind limits.
const INSERT_CHUNK: usize = 200;

/// Inserts `rows`: on PostgreSQL a statement per [`INSERT_CHUNK`] rather than per row (a busy
/// round's fan-out is hundreds of rows, each a round trip); SQLite runs in process, and one
/// prepared single-row insert serves every row.
fn insert_deliveries(conn: &mut DbConnection, rows: &[NewDeliveryRow]) -> CoreResult<()> {
    match conn {
        DbConnection::Postgresql(c) => {
            for chunk in rows.chunks(INSERT_CHUNK) {
                diesel::insert_into(event_deliveries::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(event_deliveries::table)
                    .values(row)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL: the advisory lock taken by the server fanning out (one at a time).
const FAN_OUT_LOCK: i64 = 7_270_005 << 32;

/// Whether this transaction may fan out: always on SQLite (one writer); on PostgreSQL when no
/// other server's transaction is fanning out, and then until this one ends.
fn fan_out_turn(conn: &mut DbConnection) -> CoreResult<bool> {
    super::transaction_locks::try_hold(conn, FAN_OUT_LOCK)
}

/// Makes the deliveries of up to `limit` committed events still queued for it, oldest first,
/// in the caller's write transaction, and takes them off the queue: one to each subscription of the event's organization
/// that asks for its type, already existed when the event happened, and is neither disabled
/// nor deleted now (a paused one gets its deliveries; they are sent once it resumes). Returns
/// how many events were fanned out.
///
/// On PostgreSQL one server fans out at a time (another's round skips this step), so each
/// event is fanned out once and in `seq` order. An event whose transaction commits after a
/// later-numbered one's is found in the queue by a later round, where a cursor over `seq`
/// would have passed it by.
pub fn fan_out(conn: &mut DbConnection, at: NaiveDateTime, limit: i64) -> CoreResult<usize> {
    if !fan_out_turn(conn)? {
        return Ok(0);
    }
    let queued: Vec<i64> = outbox_fan_out::table
        .order(outbox_fan_out::seq.asc())
        .limit(limit)
        .select(outbox_fan_out::seq)
        .load(conn)?;
    if queued.is_empty() {
        return Ok(0);
    }
    type Row = (i64, String, String, String, String, String, NaiveDateTime);
    let events: Vec<Row> = outbox_events::table
        .filter(outbox_events::seq.eq_any(&queued))
        .order(outbox_events::seq.asc())
        .select((
            outbox_events::seq,
            outbox_events::id,
            outbox_events::org_id,
            outbox_events::event_type,
            outbox_events::resource_type,
            outbox_events::resource_id,
            outbox_events::occurred_at,
        ))
        .load(conn)?;
    let mut orgs: Vec<&String> = events.iter().map(|e| &e.2).collect();
    orgs.sort();
    orgs.dedup();
    let live = || {
        event_subscriptions::table
            .filter(event_subscriptions::org_id.eq_any(&orgs))
            .filter(event_subscriptions::deleted_at.is_null())
            .filter(event_subscriptions::disabled_at.is_null())
            .select((
                event_subscriptions::id,
                event_subscriptions::org_id,
                event_subscriptions::event_types,
                event_subscriptions::paused,
                event_subscriptions::created_at,
            ))
    };
    let subscriptions: Vec<(String, String, String, bool, NaiveDateTime)> = match conn {
        // The rows read are held until this transaction ends: a pause, resume, disable or
        // delete committing meanwhile would otherwise miss the deliveries made here from what
        // it replaced (held for a resumed subscription, for good). It waits for this fan-out,
        // or this one for it and then reads what it wrote. (SQLite has one writer.)
        DbConnection::Postgresql(c) => live().for_share().load(c)?,
        DbConnection::Sqlite(c) => live().load(c)?,
    };
    let subscriptions = subscriptions
        .into_iter()
        .map(|(id, org, types, paused, created_at)| {
            let types: Vec<EventType> = from_json(&types, "event types")?;
            let names: Vec<&'static str> = types.iter().map(|t| t.name()).collect();
            Ok((id, org, names, waiting(paused), created_at))
        })
        .collect::<CoreResult<Vec<_>>>()?;
    let keys: Vec<String> = events
        .iter()
        .map(|(_, _, _, _, resource_type, resource_id, _)| format!("{resource_type}:{resource_id}"))
        .collect();
    let mut rows = Vec::new();
    for ((seq, event_id, org, event_type, _, _, occurred_at), key) in events.iter().zip(&keys) {
        let event = NewDelivery {
            org,
            seq: *seq,
            event_id,
            event_type,
            resource_key: key,
        };
        for (sub, sub_org, types, state, created_at) in &subscriptions {
            if sub_org == org && created_at <= occurred_at && types.contains(&event_type.as_str()) {
                rows.push(NewDeliveryRow::new(&event, sub, state, at));
            }
        }
    }
    insert_deliveries(conn, &rows)?;
    diesel::delete(outbox_fan_out::table.filter(outbox_fan_out::seq.eq_any(&queued)))
        .execute(conn)?;
    Ok(queued.len())
}

/// An event as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: Uuid,
    pub event_type: String,
    pub resource_type: String,
    pub resource_id: Uuid,
    /// The envelope sent to receivers.
    pub payload: String,
}

/// The org's events after `after_seq`, oldest first (at most `limit`).
pub fn events_after(
    conn: &mut DbConnection,
    org: OrgId,
    after_seq: i64,
    limit: i64,
) -> CoreResult<Vec<StoredEvent>> {
    let rows: Vec<(i64, String, String, String, String, String)> = outbox_events::table
        .filter(outbox_events::org_id.eq(org.as_str()))
        .filter(outbox_events::seq.gt(after_seq))
        .order(outbox_events::seq.asc())
        .limit(limit)
        .select((
            outbox_events::seq,
            outbox_events::id,
            outbox_events::event_type,
            outbox_events::resource_type,
            outbox_events::resource_id,
            outbox_events::payload,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(seq, id, event_type, resource_type, resource_id, payload)| {
                Ok(StoredEvent {
                    seq,
                    id: parse_id(&id)?,
                    event_type,
                    resource_type,
                    resource_id: parse_id(&resource_id)?,
                    payload,
                })
            },
        )
        .collect()
}

/// An event as a follower of the outbox reads it: its place, when it happened, its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedEvent {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    /// The envelope sent to receivers.
    pub payload: String,
}

/// The org's events after `after_seq` that happened from `since` on, oldest first (at most
/// `limit`).
pub fn follow(
    conn: &mut DbConnection,
    org: OrgId,
    after_seq: i64,
    since: NaiveDateTime,
    limit: i64,
) -> CoreResult<Vec<FollowedEvent>> {
    followed(
        outbox_events::table
            .filter(outbox_events::org_id.eq(org.as_str().to_string()))
            .filter(outbox_events::seq.gt(after_seq))
            .filter(outbox_events::occurred_at.ge(since))
            .order(outbox_events::seq.asc())
            .limit(limit)
            .into_boxed(),
        conn,
    )
}

/// The org's events up to `up_to_seq` that happened from `recent_from` on: on PostgreSQL a
/// transaction that took its `seq` before another's may commit after it, so a follower that
/// moved past a `seq` looks back over the recent ones for events it has not seen.
pub fn recent_up_to(
    conn: &mut DbConnection,
    org: OrgId,
    up_to_seq: i64,
    recent_from: NaiveDateTime,
) -> CoreResult<Vec<FollowedEvent>> {
    followed(
        outbox_events::table
            .filter(outbox_events::org_id.eq(org.as_str().to_string()))
            .filter(outbox_events::seq.le(up_to_seq))
            .filter(outbox_events::occurred_at.ge(recent_from))
            .order(outbox_events::seq.asc())
            .into_boxed(),
        conn,
    )
}

fn followed(
    q: outbox_events::BoxedQuery<'static, super::connection::MultiBackend>,
    conn: &mut DbConnection,
) -> CoreResult<Vec<FollowedEvent>> {
    let rows: Vec<(i64, NaiveDateTime, String)> = q
        .select((
            outbox_events::seq,
            outbox_events::occurred_at,
            outbox_events::payload,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, occurred_at, payload)| FollowedEvent {
            seq,
            occurred_at,
            payload,
        })
        .collect())
}

/// The org's newest `seq` (0 when it has no event).
pub fn last_seq(conn: &mut DbConnection, org: OrgId) -> CoreResult<i64> {
    Ok(outbox_events::table
        .filter(outbox_events::org_id.eq(org.as_str()))
        .select(diesel::dsl::max(outbox_events::seq))
        .get_result::<Option<i64>>(conn)?
        .unwrap_or(0))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = event_subscriptions)]
struct SubscriptionRow {
    id: String,
    url: String,
    event_types: String,
    description: Option<String>,
    paused: bool,
    disabled_reason: Option<String>,
    disabled_at: Option<NaiveDateTime>,
    failing_since: Option<NaiveDateTime>,
    previous_secret_until: Option<NaiveDateTime>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl SubscriptionRow {
    fn into_model(self) -> CoreResult<Subscription> {
        let status = if self.disabled_at.is_some() {
            "disabled"
        } else if self.paused {
            "paused"
        } else {
            "active"
        };
        let now = now();
        Ok(Subscription {
            id: parse_id(&self.id)?,
            url: self.url,
            event_types: from_json(&self.event_types, "event types")?,
            description: self.description,
            paused: self.paused,
            status: status.into(),
            disabled_reason: self.disabled_reason,
            disabled_at: self.disabled_at.map(utc),
            failing_since: self.failing_since.map(utc),
            previous_secret_expires_at: self.previous_secret_until.filter(|t| *t > now).map(utc),
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

fn live(org: OrgId) -> event_subscriptions::BoxedQuery<'static, super::connection::MultiBackend> {
    event_subscriptions::table
        .filter(event_subscriptions::org_id.eq(org.as_str().to_string()))
        .filter(event_subscriptions::deleted_at.is_null())
        .into_boxed()
}

/// Stores a subscription with its signing secret (encrypted).
pub fn create_subscription(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    input: &SubscriptionInput,
    secret: &str,
) -> CoreResult<Subscription> {
    let keys = keyring.keys(conn, org)?;
    let id = new_id();
    let at = now();
    let ct = RowCrypt::new(&keys, org, SUBSCRIPTIONS, id).enc("secret_ct", secret);
    diesel::insert_into(event_subscriptions::table)
        .values((
            event_subscriptions::id.eq(id.to_string()),
            event_subscriptions::org_id.eq(org.as_str()),
            event_subscriptions::url.eq(input.url.trim()),
            event_subscriptions::event_types.eq(to_json(&input.event_types)),
            event_subscriptions::description.eq(input.description.clone()),
            event_subscriptions::paused.eq(input.paused),
            event_subscriptions::secret_ct.eq(ct),
            event_subscriptions::key_version.eq(keys.active_version()),
            event_subscriptions::version.eq(1),
            event_subscriptions::created_at.eq(at),
            event_subscriptions::updated_at.eq(at),
        ))
        .execute(conn)?;
    get_subscription(conn, org, id)
}

pub fn get_subscription(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Subscription> {
    live(org)
        .filter(event_subscriptions::id.eq(id.to_string()))
        .select(SubscriptionRow::as_select())
        .get_result::<SubscriptionRow>(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "subscription",
        })?
        .into_model()
}

/// A page of the org's subscriptions, oldest first.
pub fn list_subscriptions(
    conn: &mut DbConnection,
    org: OrgId,
    page: &ListParams,
) -> CoreResult<Page<Subscription>> {
    let limit = page.limit()?;
    let rows: Vec<SubscriptionRow> = live(org)
        .filter(event_subscriptions::id.gt(page.after()?))
        .order(event_subscriptions::id.asc())
        .limit(limit + 1)
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(SubscriptionRow::into_model)
        .collect::<CoreResult<Vec<_>>>()?;
    Ok(finish_page(items, limit, |s| s.id))
}

fn current_version(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Option<i32>> {
    Ok(live(org)
        .filter(event_subscriptions::id.eq(id.to_string()))
        .select(event_subscriptions::version)
        .get_result::<i32>(conn)
        .optional()?)
}

/// Replaces what the subscription asks for, when it is still at `version`. Unpausing a
/// disabled subscription enables it again.
pub fn replace_subscription(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    version: i32,
    input: &SubscriptionInput,
) -> CoreResult<Subscription> {
    let target = event_subscriptions::table
        .filter(event_subscriptions::org_id.eq(org.as_str()))
        .filter(event_subscriptions::id.eq(id.to_string()))
        .filter(event_subscriptions::deleted_at.is_null())
        .filter(event_subscriptions::version.eq(version));
    let updated = if input.paused {
        diesel::update(target)
            .set((
                event_subscriptions::url.eq(input.url.trim()),
                event_subscriptions::event_types.eq(to_json(&input.event_types)),
                event_subscriptions::description.eq(input.description.clone()),
                event_subscriptions::paused.eq(true),
                event_subscriptions::version.eq(version + 1),
                event_subscriptions::updated_at.eq(now()),
            ))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                event_subscriptions::url.eq(input.url.trim()),
                event_subscriptions::event_types.eq(to_json(&input.event_types)),
                event_subscriptions::description.eq(input.description.clone()),
                event_subscriptions::paused.eq(false),
                event_subscriptions::disabled_at.eq(None::<NaiveDateTime>),
                event_subscriptions::disabled_reason.eq(None::<String>),
                event_subscriptions::failing_since.eq(None::<NaiveDateTime>),
                event_subscriptions::version.eq(version + 1),
                event_subscriptions::updated_at.eq(now()),
            ))
            .execute(conn)?
    };
    let current = current_version(conn, org, id)?;
    check_versioned_update(updated, current, "subscription")?;
    // Unpausing enables it too, so its deliveries wait exactly while it is paused.
    hold_deliveries(conn, org, id, input.paused)?;
    get_subscription(conn, org, id)
}

/// Deletes the subscription (kept for its delivery log, never shown again); its waiting
/// deliveries are canceled.
pub fn delete_subscription(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<()> {
    let at = now();
    let n = diesel::update(
        event_subscriptions::table
            .filter(event_subscriptions::org_id.eq(org.as_str()))
            .filter(event_subscriptions::id.eq(id.to_string()))
            .filter(event_subscriptions::deleted_at.is_null()),
    )
    .set((
        event_subscriptions::deleted_at.eq(Some(at)),
        event_subscriptions::updated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(CoreError::NotFound {
            resource: "subscription",
        });
    }
    diesel::update(
        event_deliveries::table
            .filter(event_deliveries::org_id.eq(org.as_str()))
            .filter(event_deliveries::subscription_id.eq(id.to_string()))
            .filter(event_deliveries::state.eq_any([PENDING, HELD])),
    )
    .set((
        event_deliveries::state.eq(CANCELED),
        event_deliveries::lease_until.eq(None::<NaiveDateTime>),
        event_deliveries::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = event_subscriptions)]
struct SecretRow {
    id: String,
    secret_ct: Vec<u8>,
    previous_secret_ct: Option<Vec<u8>>,
    previous_secret_until: Option<NaiveDateTime>,
    key_version: i32,
}

fn secret_row(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<SecretRow> {
    live(org)
        .filter(event_subscriptions::id.eq(id.to_string()))
        .select(SecretRow::as_select())
        .get_result::<SecretRow>(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "subscription",
        })
}

/// Replaces the signing secret with `secret`; the one it replaces keeps signing until
/// `previous_until` (receivers move to the new one meanwhile).
pub fn rotate_secret(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    secret: &str,
    previous_until: NaiveDateTime,
) -> CoreResult<Subscription> {
    let keys = keyring.keys(conn, org)?;
    let row = secret_row(conn, org, id)?;
    let c = RowCrypt::new(&keys, org, SUBSCRIPTIONS, id);
    let old = Zeroizing::new(c.dec("secret_ct", &row.secret_ct)?);
    let n = diesel::update(
        event_subscriptions::table
            .filter(event_subscriptions::org_id.eq(org.as_str()))
            .filter(event_subscriptions::id.eq(id.to_string()))
            .filter(event_subscriptions::key_version.eq(row.key_version))
            .filter(event_subscriptions::secret_ct.eq(&row.secret_ct)),
    )
    .set((
        event_subscriptions::secret_ct.eq(c.enc("secret_ct", secret)),
        event_subscriptions::previous_secret_ct.eq(Some(c.enc("previous_secret_ct", &old))),
        event_subscriptions::previous_secret_until.eq(Some(previous_until)),
        event_subscriptions::key_version.eq(keys.active_version()),
        event_subscriptions::version.eq(event_subscriptions::version + 1),
        event_subscriptions::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(CoreError::Conflict(
            "the secret was rotated by another request meanwhile; read the subscription again"
                .into(),
        ));
    }
    get_subscription(conn, org, id)
}

/// The secrets that sign at `at`: the current one, and the previous one during its grace
/// period.
pub fn signing_secrets(
    conn: &mut DbConnection,
    keys: &OrgKeys,
    org: OrgId,
    id: Uuid,
    at: NaiveDateTime,
) -> CoreResult<Vec<Zeroizing<String>>> {
    let row = secret_row(conn, org, id)?;
    let c = RowCrypt::new(keys, org, SUBSCRIPTIONS, id);
    let mut out = vec![Zeroizing::new(c.dec("secret_ct", &row.secret_ct)?)];
    if let (Some(ct), Some(until)) = (&row.previous_secret_ct, row.previous_secret_until)
        && until > at
    {
        out.push(Zeroizing::new(c.dec("previous_secret_ct", ct)?));
    }
    Ok(out)
}

/// Key rotation: the signing secrets are re-encrypted.
pub(crate) const ROTATION: Rotated = rotated::<SecretRow>();

impl EncryptedTable for SecretRow {
    rotation_queries!(event_subscriptions, id, SecretRow);

    fn rewrite(self, conn: &mut DbConnection, keys: &OrgKeys, org: OrgId) -> CoreResult<usize> {
        let c = RowCrypt::new(keys, org, SUBSCRIPTIONS, parse_id(&self.id)?);
        let secret = c.reencrypted("secret_ct", self.secret_ct)?;
        let previous = self
            .previous_secret_ct
            .map(|ct| c.reencrypted("previous_secret_ct", ct))
            .transpose()?;
        Ok(diesel::update(
            event_subscriptions::table
                .filter(event_subscriptions::org_id.eq(org.as_str()))
                .filter(event_subscriptions::id.eq(&self.id))
                .filter(event_subscriptions::key_version.eq(self.key_version)),
        )
        .set((
            event_subscriptions::secret_ct.eq(secret),
            event_subscriptions::previous_secret_ct.eq(previous),
            event_subscriptions::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?)
    }
}

/// A delivery a deliverer claimed: what to send where, under a lease until `lease_until`.
pub struct Claimed {
    pub delivery_id: Uuid,
    pub org: OrgId,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub url: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub first_attempt_at: Option<NaiveDateTime>,
    pub lease_until: NaiveDateTime,
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Due deliveries whose subscription is active and that no earlier event of the same record
/// still waits before (delivery keeps each record's order).
const DUE_SQL: &str = "SELECT d.id FROM event_deliveries d \
     JOIN event_subscriptions s ON s.id = d.subscription_id \
     WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
       AND (d.lease_until IS NULL OR d.lease_until <= $1) \
       AND NOT s.paused AND s.disabled_at IS NULL AND s.deleted_at IS NULL \
       AND NOT EXISTS (SELECT 1 FROM event_deliveries e \
           WHERE e.subscription_id = d.subscription_id AND e.resource_key = d.resource_key \
             AND e.event_seq < d.event_seq AND e.state = 'pending') \
     ORDER BY d.event_seq LIMIT $2";

/// Claims up to `limit` due deliveries (any org) with a lease until `lease_until`, in the
/// caller's transaction. On PostgreSQL rows another server is claiming are skipped
/// (`FOR UPDATE SKIP LOCKED`), so servers sharing the database never claim the same row
/// twice; SQLite has one writer. A lease that runs out (its server died) makes the delivery
/// due again.
pub fn claim_due(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> CoreResult<Vec<Uuid>> {
    use diesel::sql_types::{BigInt, Timestamp};
    let rows: Vec<DueRow> = match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query(format!("{DUE_SQL} FOR UPDATE OF d SKIP LOCKED"))
                .bind::<Timestamp, _>(at)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
        DbConnection::Sqlite(c) => {
            diesel::sql_query(DUE_SQL.replace("$1", "?1").replace("$2", "?2"))
                .bind::<Timestamp, _>(at)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
    };
    let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(event_deliveries::table.filter(event_deliveries::id.eq_any(&ids)))
        .set(event_deliveries::lease_until.eq(Some(lease_until)))
        .execute(conn)?;
    ids.iter().map(|i| parse_id(i)).collect()
}

/// What to send for a claimed delivery.
pub fn claimed(conn: &mut DbConnection, id: Uuid) -> CoreResult<Claimed> {
    claimed_many(conn, &[id])?.pop().ok_or(CoreError::NotFound {
        resource: "delivery",
    })
}

/// What to send for each of a round's claimed deliveries, in event order: three reads for the
/// whole round (deliveries, their events, their subscriptions' URLs), not three per delivery.
/// A delivery that is gone is left out.
pub fn claimed_many(conn: &mut DbConnection, ids: &[Uuid]) -> CoreResult<Vec<Claimed>> {
    use std::collections::HashMap;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        String,
        String,
        String,
        String,
        i32,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        i64,
    );
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<Row> = event_deliveries::table
        .filter(event_deliveries::id.eq_any(&ids))
        .select((
            event_deliveries::id,
            event_deliveries::org_id,
            event_deliveries::subscription_id,
            event_deliveries::event_id,
            event_deliveries::attempts,
            event_deliveries::first_attempt_at,
            event_deliveries::lease_until,
            event_deliveries::event_seq,
        ))
        .order(event_deliveries::event_seq.asc())
        .load(conn)?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.7).collect();
    let payloads: HashMap<i64, String> = outbox_events::table
        .filter(outbox_events::seq.eq_any(&seqs))
        .select((outbox_events::seq, outbox_events::payload))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let subs: Vec<&String> = rows.iter().map(|r| &r.2).collect();
    let urls: HashMap<String, String> = event_subscriptions::table
        .filter(event_subscriptions::id.eq_any(subs))
        .select((event_subscriptions::id, event_subscriptions::url))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|(d_id, org, sub, event_id, attempts, first, lease, seq)| {
            let missing = || CoreError::Internal("a claimed delivery lost its event".into());
            Ok(Claimed {
                delivery_id: parse_id(&d_id)?,
                org: OrgId(parse_id(&org)?),
                subscription_id: parse_id(&sub)?,
                event_id: parse_id(&event_id)?,
                url: urls.get(&sub).cloned().ok_or_else(missing)?,
                payload: payloads.get(&seq).cloned().ok_or_else(missing)?,
                attempts,
                first_attempt_at: first,
                lease_until: lease
                    .ok_or_else(|| CoreError::Internal("claimed delivery has no lease".into()))?,
            })
        })
        .collect()
}

/// One attempt's result, as the log keeps it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub at: NaiveDateTime,
}

/// What the delivery becomes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(NaiveDateTime),
    Failed,
}

/// Records an attempt and what follows it, if the delivery is still under the lease it was
/// claimed with (else another server took it over after the lease ran out: the attempt is
/// logged, the other server's outcome stands). Returns whether the delivery was updated.
///
/// A first attempt is kept on the delivery's own row (`first_try_*`), later ones as rows of
/// the attempt log: a delivery that succeeds at once costs one update, not an update and an
/// insert with its index entries.
pub fn finish_attempt(
    conn: &mut DbConnection,
    claimed: &Claimed,
    record: &AttemptRecord,
    next: Next,
) -> CoreResult<bool> {
    let target = event_deliveries::table
        .filter(event_deliveries::id.eq(claimed.delivery_id.to_string()))
        .filter(event_deliveries::state.eq(PENDING))
        .filter(event_deliveries::lease_until.eq(Some(claimed.lease_until)));
    let (state, next_at, delivered_at) = match next {
        Next::Delivered => (DELIVERED, record.at, Some(record.at)),
        Next::RetryAt(t) => (PENDING, t, None),
        Next::Failed => (FAILED, record.at, None),
    };
    let outcome = (
        event_deliveries::state.eq(state),
        event_deliveries::attempts.eq(record.attempt),
        event_deliveries::next_attempt_at.eq(next_at),
        event_deliveries::lease_until.eq(None::<NaiveDateTime>),
        event_deliveries::first_attempt_at.eq(Some(claimed.first_attempt_at.unwrap_or(record.at))),
        event_deliveries::last_status_code.eq(record.status_code),
        event_deliveries::last_error.eq(record.error.clone()),
        event_deliveries::delivered_at.eq(delivered_at),
        event_deliveries::updated_at.eq(record.at),
    );
    let updated = if record.attempt == 1 {
        diesel::update(target)
            .set((
                outcome,
                event_deliveries::first_try_status_code.eq(record.status_code),
                event_deliveries::first_try_error.eq(record.error.clone()),
                event_deliveries::first_try_latency_ms.eq(Some(record.latency_ms)),
                event_deliveries::first_try_at.eq(Some(record.at)),
            ))
            .execute(conn)?
    } else {
        diesel::update(target).set(outcome).execute(conn)?
    };
    if updated == 0 || record.attempt != 1 {
        diesel::insert_into(event_delivery_attempts::table)
            .values((
                event_delivery_attempts::id.eq(new_id().to_string()),
                event_delivery_attempts::org_id.eq(claimed.org.as_str()),
                event_delivery_attempts::delivery_id.eq(claimed.delivery_id.to_string()),
                event_delivery_attempts::attempt.eq(record.attempt),
                event_delivery_attempts::status_code.eq(record.status_code),
                event_delivery_attempts::error.eq(record.error.clone()),
                event_delivery_attempts::latency_ms.eq(record.latency_ms),
                event_delivery_attempts::at.eq(record.at),
            ))
            .execute(conn)?;
    }
    Ok(updated == 1)
}

/// The subscription's health after an attempt: a success clears `failing_since`; a failure
/// sets it when unset. Returns `failing_since` after the change.
pub fn note_health(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    ok: bool,
    at: NaiveDateTime,
) -> CoreResult<Option<NaiveDateTime>> {
    let target = || {
        event_subscriptions::table
            .filter(event_subscriptions::org_id.eq(org.as_str()))
            .filter(event_subscriptions::id.eq(id.to_string()))
    };
    if ok {
        diesel::update(target().filter(event_subscriptions::failing_since.is_not_null()))
            .set(event_subscriptions::failing_since.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        return Ok(None);
    }
    diesel::update(target().filter(event_subscriptions::failing_since.is_null()))
        .set(event_subscriptions::failing_since.eq(Some(at)))
        .execute(conn)?;
    Ok(target()
        .select(event_subscriptions::failing_since)
        .get_result::<Option<NaiveDateTime>>(conn)?)
}

/// Stops deliveries to the subscription, saying why. Returns false when it already was.
pub fn disable(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    reason: &str,
    at: NaiveDateTime,
) -> CoreResult<bool> {
    let n = diesel::update(
        event_subscriptions::table
            .filter(event_subscriptions::org_id.eq(org.as_str()))
            .filter(event_subscriptions::id.eq(id.to_string()))
            .filter(event_subscriptions::disabled_at.is_null()),
    )
    .set((
        event_subscriptions::disabled_at.eq(Some(at)),
        event_subscriptions::disabled_reason.eq(Some(reason)),
        event_subscriptions::version.eq(event_subscriptions::version + 1),
        event_subscriptions::updated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 1 {
        hold_deliveries(conn, org, id, true)?;
    }
    Ok(n == 1)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = event_deliveries)]
struct DeliveryRow {
    id: String,
    subscription_id: String,
    event_id: String,
    event_type: String,
    state: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
    last_status_code: Option<i32>,
    created_at: NaiveDateTime,
    first_try_status_code: Option<i32>,
    first_try_error: Option<String>,
    first_try_latency_ms: Option<i64>,
    first_try_at: Option<NaiveDateTime>,
}

impl DeliveryRow {
    /// The first attempt, when the row keeps it (see [`finish_attempt`]).
    fn first_try(&self) -> Option<DeliveryAttempt> {
        Some(DeliveryAttempt {
            attempt: 1,
            status_code: self.first_try_status_code,
            error: self.first_try_error.clone(),
            latency_ms: self.first_try_latency_ms?,
            at: utc(self.first_try_at?),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = event_delivery_attempts)]
struct AttemptRow {
    delivery_id: String,
    attempt: i32,
    status_code: Option<i32>,
    error: Option<String>,
    latency_ms: i64,
    at: NaiveDateTime,
}

fn delivery_model(row: DeliveryRow, attempts: Vec<DeliveryAttempt>) -> CoreResult<Delivery> {
    Ok(Delivery {
        id: parse_id(&row.id)?,
        subscription_id: parse_id(&row.subscription_id)?,
        event_id: parse_id(&row.event_id)?,
        event_type: row.event_type,
        next_attempt_at: (row.state == PENDING || row.state == HELD)
            .then(|| utc(row.next_attempt_at)),
        state: row.state,
        attempts: row.attempts,
        delivered_at: row.delivered_at.map(utc),
        last_status_code: row.last_status_code,
        attempt_log: attempts,
        created_at: utc(row.created_at),
    })
}

fn with_attempts(
    conn: &mut DbConnection,
    org: OrgId,
    rows: Vec<DeliveryRow>,
) -> CoreResult<Vec<Delivery>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut attempts: Vec<AttemptRow> = Vec::new();
    for chunk in ids.chunks(super::IN_LIST_CHUNK) {
        attempts.extend(
            event_delivery_attempts::table
                .filter(event_delivery_attempts::org_id.eq(org.as_str()))
                .filter(event_delivery_attempts::delivery_id.eq_any(chunk))
                .order((
                    event_delivery_attempts::delivery_id.asc(),
                    event_delivery_attempts::attempt.asc(),
                    event_delivery_attempts::id.asc(),
                ))
                .select(AttemptRow::as_select())
                .load::<AttemptRow>(conn)?,
        );
    }
    rows.into_iter()
        .map(|r| {
            let mut log: Vec<DeliveryAttempt> =
                r.first_try()
                    .into_iter()
                    .chain(attempts.iter().filter(|a| a.delivery_id == r.id).map(|a| {
                        DeliveryAttempt {
                            attempt: a.attempt,
                            status_code: a.status_code,
                            error: a.error.clone(),
                            latency_ms: a.latency_ms,
                            at: utc(a.at),
                        }
                    }))
                    .collect();
            // Stable: an attempt made by a server whose lease had run out stays after the one
            // of the same number that counted.
            log.sort_by_key(|a| a.attempt);
            delivery_model(r, log)
        })
        .collect()
}

/// A page of a subscription's deliveries, oldest first.
pub fn list_deliveries(
    conn: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    page: &ListParams,
) -> CoreResult<Page<Delivery>> {
    get_subscription(conn, org, subscription)?;
    let limit = page.limit()?;
    let rows: Vec<DeliveryRow> = event_deliveries::table
        .filter(event_deliveries::org_id.eq(org.as_str()))
        .filter(event_deliveries::subscription_id.eq(subscription.to_string()))
        .filter(event_deliveries::id.gt(page.after()?))
        .order(event_deliveries::id.asc())
        .limit(limit + 1)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let items = with_attempts(conn, org, rows)?;
    Ok(finish_page(items, limit, |d| d.id))
}

pub fn get_delivery(
    conn: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    id: Uuid,
) -> CoreResult<Delivery> {
    one_delivery(conn, org, subscription, DeliveryKey::Id(id))
}

/// The delivery of one event to the subscription.
pub fn delivery_of_event(
    conn: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    event: Uuid,
) -> CoreResult<Delivery> {
    one_delivery(conn, org, subscription, DeliveryKey::Event(event))
}

/// Which delivery of a subscription: by its id, or by its event's.
enum DeliveryKey {
    Id(Uuid),
    Event(Uuid),
}

fn one_delivery(
    conn: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    key: DeliveryKey,
) -> CoreResult<Delivery> {
    let q = event_deliveries::table
        .filter(event_deliveries::org_id.eq(org.as_str().to_string()))
        .filter(event_deliveries::subscription_id.eq(subscription.to_string()))
        .into_boxed();
    let q = match key {
        DeliveryKey::Id(id) => q.filter(event_deliveries::id.eq(id.to_string())),
        DeliveryKey::Event(e) => q.filter(event_deliveries::event_id.eq(e.to_string())),
    };
    let row = q
        .select(DeliveryRow::as_select())
        .get_result::<DeliveryRow>(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "delivery",
        })?;
    Ok(with_attempts(conn, org, vec![row])?.remove(0))
}

/// Makes a delivery due now again (whatever became of it), with a new retry window; the
/// receiver gets the same event id.
pub fn redeliver(
    conn: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    id: Uuid,
) -> CoreResult<Delivery> {
    let sub = get_subscription(conn, org, subscription)?;
    let at = now();
    diesel::update(
        event_deliveries::table
            .filter(event_deliveries::org_id.eq(org.as_str()))
            .filter(event_deliveries::subscription_id.eq(subscription.to_string()))
            .filter(event_deliveries::id.eq(id.to_string()))
            .filter(event_deliveries::state.ne(CANCELED)),
    )
    .set((
        event_deliveries::state.eq(waiting(sub.status != "active")),
        event_deliveries::next_attempt_at.eq(at),
        event_deliveries::lease_until.eq(None::<NaiveDateTime>),
        event_deliveries::first_attempt_at.eq(None::<NaiveDateTime>),
        event_deliveries::updated_at.eq(at),
    ))
    .execute(conn)?;
    get_delivery(conn, org, subscription, id)
}

/// Most events one replay re-queues: a longer span is replayed in parts (`until`).
pub const REPLAY_MAX_EVENTS: i64 = 10_000;

/// Queues the org's events of the subscription's types that committed in `[since, until)` as
/// new deliveries to it, oldest first (pings are never replayed). Each carries its event's id,
/// so the receiver sees the same `webhook-id` again. Returns how many were queued; `None` when
/// more than [`REPLAY_MAX_EVENTS`] would be.
pub fn replay(
    conn: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    since: NaiveDateTime,
    until: NaiveDateTime,
) -> CoreResult<Option<usize>> {
    let sub = get_subscription(conn, org, subscription)?;
    let types: Vec<&str> = sub.event_types.iter().map(|t| t.name()).collect();
    let rows: Vec<(i64, String, String, String, String)> = outbox_events::table
        .filter(outbox_events::org_id.eq(org.as_str()))
        .filter(outbox_events::occurred_at.ge(since))
        .filter(outbox_events::occurred_at.lt(until))
        .filter(outbox_events::event_type.eq_any(&types))
        .order(outbox_events::seq.asc())
        .limit(REPLAY_MAX_EVENTS + 1)
        .select((
            outbox_events::seq,
            outbox_events::id,
            outbox_events::event_type,
            outbox_events::resource_type,
            outbox_events::resource_id,
        ))
        .load(conn)?;
    if rows.len() as i64 > REPLAY_MAX_EVENTS {
        return Ok(None);
    }
    let at = now();
    let sub_id = subscription.to_string();
    let org_id = org.as_str();
    let state = waiting(sub.paused);
    let keys: Vec<String> = rows
        .iter()
        .map(|(_, _, _, resource_type, resource_id)| format!("{resource_type}:{resource_id}"))
        .collect();
    let deliveries: Vec<NewDeliveryRow> = rows
        .iter()
        .zip(&keys)
        .map(|((seq, event_id, event_type, _, _), key)| {
            let event = NewDelivery {
                org: &org_id,
                seq: *seq,
                event_id,
                event_type,
                resource_key: key,
            };
            NewDeliveryRow::new(&event, &sub_id, state, at)
        })
        .collect();
    insert_deliveries(conn, &deliveries)?;
    Ok(Some(rows.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::claim::ClaimStatus;
    use crate::model::event::ClaimStatusChanged;
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};
    use crate::store::{rotation, write_transaction};

    on_each_engine!(
        events_commit_with_their_change_and_are_claimed_in_order_under_leases,
        committed_events_fan_out_once_to_the_subscriptions_that_want_them,
        secrets_are_encrypted_rotated_and_the_old_one_signs_for_its_grace
    );

    fn input(types: Vec<EventType>) -> SubscriptionInput {
        SubscriptionInput {
            url: "https://hooks.example.com/revcycle".into(),
            event_types: types,
            description: None,
            paused: false,
        }
    }

    fn moved(claim: Uuid, from: ClaimStatus, to: ClaimStatus) -> EventData {
        EventData::ClaimStatusChanged(ClaimStatusChanged {
            claim_id: claim,
            from,
            to,
            remittance_id: None,
        })
    }

    /// The event ids of claimed deliveries (after a fan-out, as a deliverer's round does).
    fn claim_events(conn: &mut DbConnection, at: NaiveDateTime) -> Vec<Uuid> {
        let lease = at + chrono::Duration::seconds(60);
        let ids = write_transaction(conn, |c| {
            fan_out(c, at, 100)?;
            claim_due(c, at, lease, 10)
        })
        .unwrap();
        ids.into_iter()
            .map(|id| claimed(conn, id).unwrap().event_id)
            .collect()
    }

    fn events_commit_with_their_change_and_are_claimed_in_order_under_leases(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let claims_sub = create_subscription(
            &mut conn,
            &keyring,
            org,
            &input(vec![EventType::ClaimStatusChanged]),
            secret,
        )
        .unwrap();
        create_subscription(
            &mut conn,
            &keyring,
            org,
            &input(vec![EventType::RemittanceReceived]),
            secret,
        )
        .unwrap();
        let (x, y) = (Uuid::now_v7(), Uuid::now_v7());

        // A change that rolls back leaves no event and no delivery.
        let failed: CoreResult<()> = write_transaction(&mut conn, |c| {
            emit(c, org, &moved(x, ClaimStatus::Draft, ClaimStatus::Ready))?;
            Err(CoreError::Conflict("the change failed".into()))
        });
        assert!(failed.is_err());
        assert!(events_after(&mut conn, org, 0, 10).unwrap().is_empty());
        assert!(claim_events(&mut conn, now()).is_empty());

        let x1 = emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Draft, ClaimStatus::Ready),
        )
        .unwrap();
        let x2 = emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Ready, ClaimStatus::Submitted),
        )
        .unwrap();
        let y1 = emit(
            &mut conn,
            org,
            &moved(y, ClaimStatus::Draft, ClaimStatus::Ready),
        )
        .unwrap();
        let stored = events_after(&mut conn, org, 0, 10).unwrap();
        assert_eq!(
            stored.iter().map(|e| e.id).collect::<Vec<_>>(),
            [x1, x2, y1]
        );
        let doc: serde_json::Value = serde_json::from_str(&stored[1].payload).unwrap();
        assert_eq!(
            (doc["type"].as_str(), doc["data"]["to"].as_str()),
            (Some("claim.status_changed"), Some("submitted"))
        );

        // Only the subscription that asked for the type gets deliveries; x's second event waits
        // for its first.
        let t0 = now();
        assert_eq!(claim_events(&mut conn, t0), [x1, y1]);
        // Leased: nobody else claims them meanwhile.
        assert!(claim_events(&mut conn, t0).is_empty());
        let deliveries = list_deliveries(&mut conn, org, claims_sub.id, &ListParams::default())
            .unwrap()
            .items;
        assert_eq!(deliveries.len(), 3);
        let first = write_transaction(&mut conn, |c| {
            let id = deliveries.iter().find(|d| d.event_id == x1).unwrap().id;
            claimed(c, id)
        })
        .unwrap();
        let record = AttemptRecord {
            attempt: 1,
            status_code: Some(204),
            error: None,
            latency_ms: 12,
            at: t0,
        };
        assert!(finish_attempt(&mut conn, &first, &record, Next::Delivered).unwrap());
        // A first attempt is kept on the delivery's row: nothing in the log table.
        let logged = |conn: &mut DbConnection, d: Uuid| -> i64 {
            event_delivery_attempts::table
                .filter(event_delivery_attempts::delivery_id.eq(d.to_string()))
                .count()
                .get_result(conn)
                .unwrap()
        };
        let attempts_of = |conn: &mut DbConnection, d: Uuid| {
            get_delivery(conn, org, claims_sub.id, d)
                .unwrap()
                .attempt_log
                .iter()
                .map(|a| (a.attempt, a.status_code, a.latency_ms))
                .collect::<Vec<_>>()
        };
        assert_eq!(logged(&mut conn, first.delivery_id), 0);
        assert_eq!(
            attempts_of(&mut conn, first.delivery_id),
            [(1, Some(204), 12)]
        );
        // Delivered: x's next event is due; y's lease still holds.
        assert_eq!(claim_events(&mut conn, t0), [x2]);
        // A lease that ran out (its server died) makes the delivery due again, for anyone.
        let later = t0 + chrono::Duration::seconds(61);
        assert_eq!(claim_events(&mut conn, later), [x2, y1]);
        // The stale holder's late outcome does not overwrite the new claim's.
        assert!(!finish_attempt(&mut conn, &first, &record, Next::Delivered).unwrap());
        let log = get_delivery(&mut conn, org, claims_sub.id, first.delivery_id).unwrap();
        assert_eq!((log.state.as_str(), log.attempt_log.len()), (DELIVERED, 2));
        assert_eq!(log.attempt_log[0].status_code, Some(204));
        assert_eq!(logged(&mut conn, first.delivery_id), 1);

        // A failed first attempt, then a second that succeeds: the log shows both, in order.
        let second = deliveries.iter().find(|d| d.event_id == x2).unwrap().id;
        let try_x2 =
            |conn: &mut DbConnection, attempt: i32, status: i32, at: NaiveDateTime, next: Next| {
                let c = write_transaction(conn, |c| claimed(c, second)).unwrap();
                assert_eq!(c.attempts, attempt - 1);
                let record = AttemptRecord {
                    attempt,
                    status_code: Some(status),
                    error: None,
                    latency_ms: 30 + i64::from(attempt),
                    at,
                };
                assert!(finish_attempt(conn, &c, &record, next).unwrap());
            };
        let retry_at = later + chrono::Duration::seconds(1);
        try_x2(&mut conn, 1, 500, later, Next::RetryAt(retry_at));
        assert_eq!(claim_events(&mut conn, retry_at), [x2]);
        try_x2(&mut conn, 2, 204, retry_at, Next::Delivered);
        assert_eq!(
            attempts_of(&mut conn, second),
            [(1, Some(500), 31), (2, Some(204), 32)]
        );
        assert_eq!(logged(&mut conn, second), 1);

        // A deleted subscription's waiting deliveries are canceled.
        delete_subscription(&mut conn, org, claims_sub.id).unwrap();
        assert!(claim_events(&mut conn, later + chrono::Duration::seconds(61)).is_empty());
        assert!(matches!(
            get_subscription(&mut conn, org, claims_sub.id),
            Err(CoreError::NotFound { .. })
        ));
    }

    /// Which subscriptions got a delivery of `event`.
    fn delivered_to(conn: &mut DbConnection, event: Uuid) -> Vec<String> {
        event_deliveries::table
            .filter(event_deliveries::event_id.eq(event.to_string()))
            .order(event_deliveries::subscription_id.asc())
            .select(event_deliveries::subscription_id)
            .load(conn)
            .unwrap()
    }

    fn committed_events_fan_out_once_to_the_subscriptions_that_want_them(engine: TestEngine) {
        let (db, mut conn, keyring, org) = setup_on(engine);
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let subscribe = |conn: &mut DbConnection, types: Vec<EventType>, paused: bool| {
            let mut i = input(types);
            i.paused = paused;
            create_subscription(conn, &keyring, org, &i, secret)
                .unwrap()
                .id
                .to_string()
        };
        let claims = vec![EventType::ClaimStatusChanged];
        let wanted = subscribe(&mut conn, claims.clone(), false);
        let paused = subscribe(&mut conn, claims.clone(), true);
        let deleted = subscribe(&mut conn, claims.clone(), false);
        let disabled = subscribe(&mut conn, claims.clone(), false);
        let other_type = subscribe(&mut conn, vec![EventType::DenialOpened], false);
        let x = Uuid::now_v7();

        // The write stores its event alone; deliveries come from the fan-out.
        let first = emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Draft, ClaimStatus::Ready),
        )
        .unwrap();
        assert!(delivered_to(&mut conn, first).is_empty());
        let rolled_back: CoreResult<()> = write_transaction(&mut conn, |c| {
            emit(
                c,
                org,
                &moved(x, ClaimStatus::Ready, ClaimStatus::Submitted),
            )?;
            Err(CoreError::Conflict("the change failed".into()))
        });
        assert!(rolled_back.is_err());
        // Made after the event happened: not one of its receivers.
        let later = subscribe(&mut conn, claims.clone(), false);
        delete_subscription(&mut conn, org, parse_id(&deleted).unwrap()).unwrap();
        disable(
            &mut conn,
            org,
            parse_id(&disabled).unwrap(),
            "failing",
            now(),
        )
        .unwrap();

        let at = now();
        assert_eq!(
            write_transaction(&mut conn, |c| fan_out(c, at, 100)).unwrap(),
            1
        );
        let mut expected = vec![wanted.clone(), paused.clone()];
        expected.sort();
        assert_eq!(delivered_to(&mut conn, first), expected);
        // The paused subscription's delivery is held, out of the deliverer's sight, until it
        // resumes; pausing holds what was pending.
        let state = |conn: &mut DbConnection, sub: &str| -> String {
            event_deliveries::table
                .filter(event_deliveries::event_id.eq(first.to_string()))
                .filter(event_deliveries::subscription_id.eq(sub))
                .select(event_deliveries::state)
                .first(conn)
                .unwrap()
        };
        assert_eq!(
            (state(&mut conn, &wanted), state(&mut conn, &paused)),
            (PENDING.to_string(), HELD.to_string())
        );
        let resume = |conn: &mut DbConnection, sub: &str, pause: bool| {
            let id = parse_id(sub).unwrap();
            let version = get_subscription(conn, org, id).unwrap().version;
            let mut i = input(claims.clone());
            i.paused = pause;
            replace_subscription(conn, org, id, version, &i).unwrap();
        };
        resume(&mut conn, &wanted, true);
        assert_eq!(state(&mut conn, &wanted), HELD);
        let due = |conn: &mut DbConnection| {
            write_transaction(conn, |c| claim_due(c, at, at, 10))
                .unwrap()
                .len()
        };
        assert_eq!(due(&mut conn), 0, "nothing is due while both are paused");
        resume(&mut conn, &wanted, false);
        resume(&mut conn, &paused, false);
        assert_eq!(
            (state(&mut conn, &wanted), state(&mut conn, &paused)),
            (PENDING.to_string(), PENDING.to_string())
        );
        // Once: a second round finds nothing to fan out.
        assert_eq!(
            write_transaction(&mut conn, |c| fan_out(c, at, 100)).unwrap(),
            0
        );

        // A later event reaches the later subscription too, never the other type's.
        let second = emit(
            &mut conn,
            org,
            &moved(x, ClaimStatus::Ready, ClaimStatus::Submitted),
        )
        .unwrap();
        assert_eq!(
            write_transaction(&mut conn, |c| fan_out(c, at, 100)).unwrap(),
            1
        );
        let mut expected = vec![wanted.clone(), paused.clone(), later.clone()];
        expected.sort();
        assert_eq!(delivered_to(&mut conn, second), expected);
        assert!(!delivered_to(&mut conn, second).contains(&other_type));

        // A ping's delivery is written with it, to its one subscription.
        let ping = emit(
            &mut conn,
            org,
            &EventData::Ping(crate::model::event::Ping {
                subscription_id: parse_id(&other_type).unwrap(),
            }),
        )
        .unwrap();
        assert_eq!(delivered_to(&mut conn, ping), vec![other_type.clone()]);
        assert_eq!(
            write_transaction(&mut conn, |c| fan_out(c, at, 100)).unwrap(),
            0
        );

        // Batches of `limit`, oldest first.
        let more: Vec<Uuid> = (0..3)
            .map(|_| {
                emit(
                    &mut conn,
                    org,
                    &moved(Uuid::now_v7(), ClaimStatus::Draft, ClaimStatus::Ready),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(
            write_transaction(&mut conn, |c| fan_out(c, at, 2)).unwrap(),
            2
        );
        assert_eq!(delivered_to(&mut conn, more[1]).len(), 3);
        assert!(delivered_to(&mut conn, more[2]).is_empty());

        // PostgreSQL: while one server's transaction fans out, another's round skips it (so an
        // event is never fanned out twice); once it commits, the other finds only the rest.
        if let Some(mut other) = db.another_connection() {
            write_transaction(&mut conn, |c| {
                assert_eq!(fan_out(c, at, 100)?, 1);
                assert_eq!(
                    write_transaction(&mut other, |o| fan_out(o, at, 100)).unwrap(),
                    0
                );
                Ok(())
            })
            .unwrap();
            assert_eq!(
                write_transaction(&mut other, |o| fan_out(o, at, 100)).unwrap(),
                0
            );
            assert_eq!(delivered_to(&mut conn, more[2]).len(), 3);

            // A resume waits for a fan-out that read the subscription as paused: committing in
            // between, it would miss the fan-out's held deliveries and leave them held for good.
            resume(&mut conn, &paused, true);
            let last = emit(
                &mut conn,
                org,
                &moved(Uuid::now_v7(), ClaimStatus::Draft, ClaimStatus::Ready),
            )
            .unwrap();
            let id = parse_id(&paused).unwrap();
            write_transaction(&mut conn, |c| {
                assert_eq!(fan_out(c, at, 100)?, 1);
                let version = get_subscription(&mut other, org, id)?.version;
                let mut i = input(claims.clone());
                i.paused = false;
                let resumed = write_transaction(&mut other, |o| {
                    diesel::sql_query("SET LOCAL lock_timeout = '200ms'").execute(o)?;
                    replace_subscription(o, org, id, version, &i)
                });
                assert!(resumed.is_err(), "the resume waits for the fan-out");
                Ok(())
            })
            .unwrap();
            resume(&mut other, &paused, false);
            let held: String = event_deliveries::table
                .filter(event_deliveries::event_id.eq(last.to_string()))
                .filter(event_deliveries::subscription_id.eq(&paused))
                .select(event_deliveries::state)
                .first(&mut conn)
                .unwrap();
            assert_eq!(held, PENDING);
        }
    }

    fn secrets_are_encrypted_rotated_and_the_old_one_signs_for_its_grace(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let first = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sub = create_subscription(
            &mut conn,
            &keyring,
            org,
            &input(vec![EventType::DenialOpened]),
            first,
        )
        .unwrap();
        let raw: Vec<Vec<u8>> = event_subscriptions::table
            .select(event_subscriptions::secret_ct)
            .load(&mut conn)
            .unwrap();
        assert!(
            !raw[0].windows(12).any(|w| w == &first.as_bytes()[6..18]),
            "the secret is stored encrypted"
        );
        let keys = keyring.keys(&mut conn, org).unwrap();
        let t = now();
        let only = signing_secrets(&mut conn, &keys, org, sub.id, t).unwrap();
        assert_eq!(only.iter().map(|s| s.as_str()).collect::<Vec<_>>(), [first]);

        let second = "whsec_c2Vjb25kIHNlY3JldCBvZiB0aGlydHktdHdvIGI=";
        let until = t + chrono::Duration::hours(1);
        let rotated_sub = rotate_secret(&mut conn, &keyring, org, sub.id, second, until).unwrap();
        assert_eq!(rotated_sub.version, 2);
        assert!(rotated_sub.previous_secret_expires_at.is_some());
        let both = signing_secrets(&mut conn, &keys, org, sub.id, t).unwrap();
        assert_eq!(
            both.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            [second, first]
        );
        let after = signing_secrets(&mut conn, &keys, org, sub.id, until).unwrap();
        assert_eq!(
            after.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            [second]
        );

        // Data-key rotation re-encrypts both secrets; both still read back.
        let r = rotation::begin(&mut conn, &keyring, org).unwrap();
        assert_eq!(r.rows_total, 1, "rotation counts the subscription");
        let r = rotation::step(&mut conn, &keyring, &r, 10).unwrap();
        assert_eq!(r.rows_done, 1);
        let versions: Vec<i32> = event_subscriptions::table
            .select(event_subscriptions::key_version)
            .load(&mut conn)
            .unwrap();
        assert_eq!(versions, [r.to_version]);
        let keys = keyring.keys(&mut conn, org).unwrap();
        let both = signing_secrets(&mut conn, &keys, org, sub.id, t).unwrap();
        assert_eq!(
            both.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            [second, first]
        );
    }
}

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
//!
//! By concern: the row, break-glass reasons and lock keys here; appending in `append`, reading
//! back in `queries`, chain verification in `verification`, retention in `purge` (all
//! re-exported here); the patient index in `audit_links`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub use super::audit_links::{INDEX_BATCH, index_patients, index_patients_for};
use super::audit_links::{indexed_through, link_pending, register_chain};
use super::schema::{audit_anchors, audit_event_patients, audit_events};
use super::transaction_locks::{self, org_lock_key};
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

/// PostgreSQL: holds the org's chain for the rest of the transaction.
fn lock_chain(conn: &mut DbConnection, org: Uuid) -> CoreResult<()> {
    transaction_locks::hold(conn, org_lock_key(LOCK_CLASS, org))
}

mod append;
mod purge;
mod queries;
mod verification;

pub use append::{append, last_sequence};
pub(super) use append::{chain_pg, insert_intake_pg, lock_head_pg};
#[cfg(test)]
use purge::AnchorRow;
pub use purge::{PurgeReport, latest_anchor, purge};
pub use queries::{
    AuditFilter, MAX_PAGE, chains, count, decode_cursor, encode_cursor, for_each, list,
    list_checked, owned_elsewhere,
};
pub use verification::{ChainCheck, verify_chain};

#[cfg(test)]
mod tests;

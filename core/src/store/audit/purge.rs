//! Retention: purging the old prefix of a chain behind an anchor the rest verifies from.

use super::*;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_anchors)]
pub(super) struct AnchorRow {
    pub(super) org_id: String,
    pub(super) sequence: i64,
    pub(super) hash: Vec<u8>,
    pub(super) cutoff: chrono::NaiveDateTime,
    pub(super) purged_at: chrono::NaiveDateTime,
    pub(super) purged_count: i64,
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
    crate::store::write_transaction(conn, |conn| {
        transaction_locks::hold(conn, org_lock_key(PURGE_LOCK_CLASS, org))?;
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
            crate::store::audit_tree::follow_in(conn, org, through)?;
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

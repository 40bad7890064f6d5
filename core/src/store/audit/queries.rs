//! Reading the trail back: filtered pages and counts, the patient filter, every chain, batches
//! streamed for verification and export, cursors, and cross-tenant attempts.

use super::*;

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
            crate::store::connection::MultiBackend,
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
    list_checked(conn, org, filter, after, limit)?
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// [`list`] for the verifiers: each row's sequence with the row read as an event, or why it
/// cannot be. A row someone wrote garbage into is a break to report at its sequence, not an
/// error that stops the whole check.
pub fn list_checked(
    conn: &mut DbConnection,
    org: Uuid,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> CoreResult<Vec<(i64, CoreResult<ChainedEvent>)>> {
    let q = audit_events::table
        .select(Row::as_select())
        .order(audit_events::sequence.asc())
        .limit(limit)
        .into_boxed();
    Ok(matching!(conn, q, org, filter, after)
        .load::<Row>(conn)?
        .into_iter()
        .map(|r| (r.sequence, r.into_chained()))
        .collect())
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
pub(super) fn for_each_after(
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
    use crate::store::schema::*;
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

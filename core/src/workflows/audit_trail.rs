//! Reading an organization's audit trail: pages of its events (break-glass reasons opened
//! for the reader) and a patient's accounting of disclosures (45 CFR 164.528).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::access::OrgId;
use crate::audit::accounting::{self, DisclosureEntry};
use crate::audit::{AuditRecord, ChainedEvent};
use crate::error::{CoreError, CoreResult};
use crate::store::audit::{self as store_audit, AuditFilter};
use crate::store::audit_intake::settle;
use crate::store::{DbConnection, KeyRing, patients};

/// Events per page when the caller names no limit.
pub const DEFAULT_PAGE: i64 = 100;

/// The period an accounting of disclosures covers when the caller names no start: the six
/// years 164.528 gives the patient, counted in days with the two leap days six years hold.
pub const ACCOUNTING_PERIOD: Duration = Duration::days(6 * 365 + 2);

/// Events read at a time while an accounting is built.
const ACCOUNTING_BATCH: i64 = 1000;

/// One page of events, in sequence order.
pub struct EventPage {
    pub items: Vec<AuditRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The page size asked for, 1 to [`store_audit::MAX_PAGE`] (422 at `/limit` otherwise).
pub fn page_limit(limit: Option<i64>) -> CoreResult<i64> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(l) if (1..=store_audit::MAX_PAGE).contains(&l) => Ok(l),
        Some(_) => Err(CoreError::invalid(
            "/limit",
            format!("must be between 1 and {}", store_audit::MAX_PAGE),
        )),
    }
}

/// The sequence number a page starts after: 0 for the first page (no cursor, or an empty
/// one), else the one `cursor` (a `next_cursor` handed out earlier) names.
pub fn page_start(cursor: Option<&str>) -> CoreResult<i64> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => store_audit::decode_cursor(c),
    }
}

/// The org's events matching `filter` after sequence `after`, at most `limit` of them; the
/// waiting events are chained first, so the page shows every committed event.
pub fn page(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> CoreResult<EventPage> {
    settle(conn, org.0)?;
    // One more than the page tells whether another page follows.
    let mut events = store_audit::list(conn, org.0, filter, after, limit + 1)?;
    let more = events.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    events.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        events
            .last()
            .map(|e| store_audit::encode_cursor(e.sequence))
    } else {
        None
    };
    Ok(EventPage {
        items: records(conn, keyring, org, events)?,
        next_cursor,
    })
}

/// The records of `events`, with break-glass reasons opened for the reader.
pub fn records(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    events: Vec<ChainedEvent>,
) -> CoreResult<Vec<AuditRecord>> {
    let keys = if events.iter().any(|e| e.event.break_glass()) {
        Some(keyring.keys(conn, org)?)
    } else {
        None
    };
    events
        .into_iter()
        .map(|c| {
            let reason = match &keys {
                Some(k) => store_audit::open_reason(k, &c.event)?,
                None => None,
            };
            Ok(AuditRecord::new(c, reason))
        })
        .collect()
}

/// The period of an accounting: up to `to` (default now), from `from` (default
/// [`ACCOUNTING_PERIOD`] before its end, and never before year 0000: RFC 3339, in which the
/// answer states its period, has no earlier year).
pub fn accounting_period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = to.unwrap_or_else(Utc::now);
    let earliest = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let from = from.unwrap_or_else(|| {
        to.checked_sub_signed(ACCOUNTING_PERIOD)
            .map_or(earliest, |f| f.max(earliest))
    });
    (from, to)
}

/// Every disclosure of the patient's PHI in `[from, to)`, oldest first; those 164.528(a)(1)
/// exempts only with `include_exempt`. 404 for a patient of another organization.
pub fn accounting_of_disclosures(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    patient: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    include_exempt: bool,
) -> CoreResult<Vec<DisclosureEntry>> {
    patients::get(conn, keyring, org, patient)?;
    settle(conn, org.0)?;
    let filter = AuditFilter {
        patient: Some(patient),
        from: Some(from),
        to: Some(to),
        // The accounting reads the events' own patient lists (which their hashes cover),
        // never the index, so a deleted link cannot hide an access from it.
        patient_from_events: true,
        ..AuditFilter::default()
    };
    let mut items = Vec::new();
    store_audit::for_each(conn, org.0, &filter, ACCOUNTING_BATCH, |e| {
        if accounting::discloses(&e.event, patient)
            && (include_exempt || accounting::must_be_accounted(&e.event))
        {
            items.push(DisclosureEntry::new(e.sequence, &e.event));
        }
        Ok(true)
    })?;
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_checked() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(
            page_limit(Some(store_audit::MAX_PAGE)).unwrap(),
            store_audit::MAX_PAGE
        );
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(store_audit::MAX_PAGE + 1)).is_err());
        assert_eq!(page_start(None).unwrap(), 0);
        assert_eq!(page_start(Some("")).unwrap(), 0);
        let cursor = store_audit::encode_cursor(41);
        assert_eq!(page_start(Some(&cursor)).unwrap(), 41);
    }

    #[test]
    fn a_period_ending_in_the_first_years_starts_at_year_0000() {
        let to = DateTime::parse_from_rfc3339("0005-03-05T07:02:01Z")
            .unwrap()
            .with_timezone(&Utc);
        let (from, _) = accounting_period(None, Some(to));
        assert_eq!(from.to_rfc3339(), "0000-01-01T00:00:00+00:00");
        // What the API answers with must read back as RFC 3339.
        let json = serde_json::to_string(&from).unwrap();
        assert!(
            DateTime::parse_from_rfc3339(json.trim_matches('"')).is_ok(),
            "{json}"
        );
    }

    #[test]
    fn an_accounting_covers_six_years_by_default() {
        let to = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (from, end) = accounting_period(None, Some(to));
        assert_eq!(end, to);
        // At least six calendar years back, whichever leap days they hold.
        assert_eq!((to - from).num_days(), 6 * 365 + 2);
        assert!(from <= DateTime::parse_from_rfc3339("2020-03-01T00:00:00Z").unwrap());
        let given = to - Duration::days(10);
        assert_eq!(accounting_period(Some(given), Some(to)).0, given);
    }
}

//! How long the audit trail is kept, and the anchor a purge leaves behind.
//!
//! HIPAA keeps security documentation (the audit trail among it) six years
//! (45 CFR 164.316(b)(2)(i)): a retention period shorter than that is refused, and the cutoff
//! is never later than six calendar years (72 months) ago whatever the setting says. The
//! database enforces the same floor on every anchor.
//!
//! A purge removes a prefix of an org's chain whose events are all older than the cutoff
//! (stopping at the first event that is not), and records an [`Anchor`]: the last purged
//! event's sequence and hash. Verification then starts from the anchor instead of genesis.

use chrono::{DateTime, Duration, Months, Timelike, Utc};
use uuid::Uuid;

/// Six calendar years, the least retention allowed and the default.
pub const MIN_MONTHS: u32 = 72;

/// The least retention given in days: six calendar years span 2191 or 2192 days (one or two
/// leap days), so only 2192 days is six years whatever the dates.
pub const MIN_DAYS: u32 = 6 * 365 + 2;

/// How long audit events are kept before a purge may remove them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Calendar months (the default: 72, six years).
    Months(u32),
    /// Days (a configured value).
    Days(u32),
}

impl Default for Retention {
    fn default() -> Retention {
        Retention::Months(MIN_MONTHS)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "audit retention of {days} days is shorter than six years ({MIN_DAYS} days): HIPAA keeps \
     the audit trail six years (45 CFR 164.316(b)(2)(i))"
)]
pub struct RetentionTooShort {
    pub days: u64,
}

impl Retention {
    /// A retention given in days, refused below six years.
    pub fn days(days: u64) -> Result<Retention, RetentionTooShort> {
        match u32::try_from(days) {
            Ok(d) if d >= MIN_DAYS => Ok(Retention::Days(d)),
            Ok(_) => Err(RetentionTooShort { days }),
            // Longer than anyone will configure; kept as the longest representable.
            Err(_) => Ok(Retention::Days(u32::MAX)),
        }
    }

    /// Events older than this (strictly) may be purged at `now`: the configured period back
    /// from `now`, never later than 72 calendar months back, to the second.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let floor = now
            .checked_sub_months(Months::new(MIN_MONTHS))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let own = match *self {
            Retention::Months(m) => now.checked_sub_months(Months::new(m)),
            Retention::Days(d) => now.checked_sub_signed(Duration::days(i64::from(d))),
        }
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let cutoff = own.min(floor);
        cutoff.with_nanosecond(0).unwrap_or(cutoff)
    }

    pub fn describe(&self) -> String {
        match self {
            Retention::Months(m) => format!("{m} months"),
            Retention::Days(d) => format!("{d} days"),
        }
    }
}

/// Where an org's chain begins after a purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub org: Uuid,
    /// The last purged event: events 1 to `sequence` are gone.
    pub sequence: i64,
    /// Its hash: the first remaining event's `prev_hash` must be this.
    pub hash: [u8; 32],
    /// Every purged event was older than this.
    pub cutoff: DateTime<Utc>,
    pub purged_at: DateTime<Utc>,
    /// Events the purge that left this anchor removed.
    pub purged_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_default_is_six_calendar_years_to_the_second() {
        let now = at("2026-03-15T10:20:30.123456Z");
        assert_eq!(Retention::default().cutoff(now), at("2020-03-15T10:20:30Z"));
        // Calendar months, not a fixed number of days: the end of February stays in February.
        assert_eq!(
            Retention::default().cutoff(at("2026-02-28T00:00:00Z")),
            at("2020-02-28T00:00:00Z")
        );
    }

    #[test]
    fn less_than_six_years_is_refused() {
        assert!(Retention::days(365).is_err());
        assert!(Retention::days(6 * 365).is_err(), "2190 days can be short");
        let err = Retention::days(2000).unwrap_err().to_string();
        assert!(err.contains("164.316(b)(2)(i)"), "{err}");
        assert_eq!(Retention::days(2192), Ok(Retention::Days(2192)));
        assert_eq!(Retention::days(u64::MAX), Ok(Retention::Days(u32::MAX)));
    }

    #[test]
    fn a_cutoff_is_never_later_than_six_calendar_years_ago() {
        // Over every day of two leap cycles, the least allowed days reach at least as far back
        // as 72 months.
        let mut now = at("2024-01-01T12:00:00Z");
        for _ in 0..(8 * 366) {
            let floor = Retention::default().cutoff(now);
            assert!(Retention::Days(MIN_DAYS).cutoff(now) <= floor, "{now}");
            now += Duration::days(1);
        }
        // A longer retention goes further back.
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(
            Retention::Days(3650).cutoff(now),
            now - Duration::days(3650)
        );
        assert_eq!(
            Retention::Months(120).cutoff(now),
            at("2016-06-01T00:00:00Z")
        );
        // And a shorter one built by hand is held to the floor anyway.
        assert_eq!(Retention::Days(1).cutoff(now), at("2020-06-01T00:00:00Z"));
    }
}

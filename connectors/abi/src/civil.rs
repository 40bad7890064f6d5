//! The UTC calendar date and time of a Unix timestamp, for plugins that stamp what they
//! write (HL7 v2 ACK timestamps, X12 envelope dates) without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC date (proleptic Gregorian) and time of day, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcDateTime {
    /// Now (the Unix epoch if the clock reads earlier).
    pub fn now() -> UtcDateTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UtcDateTime::from_unix(secs)
    }

    /// `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: u64) -> UtcDateTime {
        let days = (secs / 86_400) as i64;
        let rem = (secs % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        UtcDateTime {
            year,
            month,
            day,
            hour: rem / 3_600,
            minute: rem % 3_600 / 60,
            second: rem % 60,
        }
    }
}

/// The date `days` days after 1970-01-01 as (year, month, day): Howard Hinnant's
/// `civil_from_days`, exact over the whole proleptic Gregorian calendar.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
        let t = UtcDateTime::from_unix(secs);
        (t.year, t.month, t.day, t.hour, t.minute, t.second)
    }

    #[test]
    fn unix_times_fall_on_their_calendar_dates() {
        assert_eq!(at(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(at(68_169_600), (1972, 2, 29, 0, 0, 0));
        assert_eq!(at(946_684_800), (2000, 1, 1, 0, 0, 0));
        assert_eq!(at(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(at(1_709_859_723), (2024, 3, 8, 1, 2, 3));
        // 2100 is not a leap year.
        assert_eq!(at(4_107_542_400), (2100, 3, 1, 0, 0, 0));
        assert_eq!(at(253_402_300_799), (9999, 12, 31, 23, 59, 59));
    }

    #[test]
    fn days_before_the_epoch_count_back() {
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }
}

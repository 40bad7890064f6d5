//! Appeals of a denial: each payer's window, the deadline it gives, and what an outcome does.
//!
//! - A payer takes a first appeal within its `appeal_limit_days` of the remittance that denied
//!   the claim. By default 120 days for Medicare (a redetermination, claim filing indicator MA
//!   or MB) and 180 for every other payer (a common commercial limit); set it per payer.
//! - A further level is due within the same window from the decision on the one before.
//! - An appeal sent after its deadline is refused unless the biller states why (a good-cause
//!   reason, kept as an encrypted note).
//! - Overturned: the denial is resolved (the payment comes with the payer's next 835, which
//!   resolves it by itself when it pays the claim in full). Upheld or partially overturned:
//!   the denial goes back to `in_progress` for the next level, a write-off or a correction.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::DenialStatus;
use crate::codes::ClaimFilingIndicator;

/// Medicare's redetermination window (42 CFR 405.942): 120 days from the notice.
pub const MEDICARE_APPEAL_DAYS: i32 = 120;
/// The window of every other payer unless set: 180 days, the usual commercial limit.
pub const DEFAULT_APPEAL_DAYS: i32 = 180;
/// The queue flags a denial whose appeal deadline is this many days away or closer.
pub const APPEAL_WARNING_DAYS: i64 = 14;
/// Appeal levels (Medicare has five; most payers two or three).
pub const MAX_APPEAL_LEVEL: i32 = 5;

/// A payer's window when none is set.
pub fn default_appeal_days(indicator: ClaimFilingIndicator) -> i32 {
    match indicator {
        ClaimFilingIndicator::MedicarePartA | ClaimFilingIndicator::MedicarePartB => {
            MEDICARE_APPEAL_DAYS
        }
        _ => DEFAULT_APPEAL_DAYS,
    }
}

/// The last day to appeal: `from` (the remittance date, or the decision on the previous
/// level) plus the payer's window.
pub fn deadline(from: NaiveDate, window_days: i32) -> NaiveDate {
    from + Duration::days(i64::from(window_days))
}

/// Whether the queue flags the denial: still to be appealed (open or in progress) and its
/// deadline at most [`APPEAL_WARNING_DAYS`] away (or passed).
pub fn due_soon(status: DenialStatus, deadline: NaiveDate, today: NaiveDate) -> bool {
    matches!(status, DenialStatus::Open | DenialStatus::InProgress)
        && deadline - today <= Duration::days(APPEAL_WARNING_DAYS)
}

/// What the payer decided on an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// The denial stands.
    Upheld,
    /// The denial is reversed: the payer pays.
    Overturned,
    /// Part of it is reversed.
    Partially,
}

impl AppealOutcome {
    pub const ALL: [AppealOutcome; 3] = [
        AppealOutcome::Upheld,
        AppealOutcome::Overturned,
        AppealOutcome::Partially,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AppealOutcome::Upheld => "upheld",
            AppealOutcome::Overturned => "overturned",
            AppealOutcome::Partially => "partially",
        }
    }

    pub fn parse(s: &str) -> Option<AppealOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Where the denial goes: resolved when overturned, back to work otherwise.
    pub fn denial_status(&self) -> DenialStatus {
        match self {
            AppealOutcome::Overturned => DenialStatus::Resolved,
            AppealOutcome::Upheld | AppealOutcome::Partially => DenialStatus::InProgress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn medicare_gets_120_days_and_everyone_else_180() {
        assert_eq!(
            default_appeal_days(ClaimFilingIndicator::MedicarePartB),
            120
        );
        assert_eq!(
            default_appeal_days(ClaimFilingIndicator::MedicarePartA),
            120
        );
        let commercial = ClaimFilingIndicator::parse("CI").unwrap();
        assert_eq!(default_appeal_days(commercial), 180);
        assert_eq!(deadline(day("2026-11-20"), 180), day("2027-05-19"));
        assert_eq!(deadline(day("2026-11-20"), 120), day("2027-03-20"));
    }

    #[test]
    fn the_queue_flags_what_is_due_within_two_weeks_and_not_yet_appealed() {
        let today = day("2027-05-05");
        assert!(due_soon(DenialStatus::Open, day("2027-05-19"), today));
        assert!(!due_soon(DenialStatus::Open, day("2027-05-20"), today));
        assert!(due_soon(DenialStatus::InProgress, day("2027-05-01"), today));
        assert!(!due_soon(DenialStatus::Appealed, day("2027-05-06"), today));
        assert!(!due_soon(
            DenialStatus::WrittenOff,
            day("2027-05-06"),
            today
        ));
    }

    #[test]
    fn an_overturned_appeal_resolves_the_denial() {
        assert_eq!(
            AppealOutcome::Overturned.denial_status(),
            DenialStatus::Resolved
        );
        assert_eq!(
            AppealOutcome::Upheld.denial_status(),
            DenialStatus::InProgress
        );
        for o in AppealOutcome::ALL {
            assert_eq!(AppealOutcome::parse(o.as_str()), Some(o));
        }
    }
}

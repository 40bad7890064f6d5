//! The denial queue's criteria as a caller gives them (ages in days, amounts in dollars),
//! checked and turned into the store's filter.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::denials::{DenialCategory, DenialStatus};
use crate::error::CoreResult;
use crate::model::Page;
use crate::model::denial::Denial;
use crate::store::denials::{self, DenialFilter, DenialOrder, amount_cents};
use crate::store::{DbConnection, ListParams};
use crate::validation::Errors;

/// Oldest age a caller may ask about: 100 years.
pub const MAX_AGE_DAYS: u32 = 36_500;
/// Longest CARC asked for (the codes have at most three characters; a little room).
pub const CARC_MAX_CHARS: usize = 5;

#[derive(Debug, Clone, Default)]
pub struct QueueCriteria {
    pub payer_id: Option<Uuid>,
    pub claim_id: Option<Uuid>,
    pub category: Option<DenialCategory>,
    pub carc: Option<String>,
    pub status: Option<DenialStatus>,
    pub assignee: Option<String>,
    pub unassigned: bool,
    /// At least this many days since the posting found it.
    pub min_age_days: Option<u32>,
    /// At most this many days since the posting found it.
    pub max_age_days: Option<u32>,
    /// Dollars, as decimal text ("50.00").
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    /// A follow-up date on or before this day.
    pub follow_up_by: Option<NaiveDate>,
    /// An appeal deadline on or before this day.
    pub appeal_deadline_by: Option<NaiveDate>,
    pub sort: QueueSort,
}

/// The queue's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Oldest first, as the postings found them.
    #[default]
    Found,
    /// Nearest appeal deadline first.
    AppealDeadline,
}

/// Dollars as the document states them: up to ten digits, then at most two decimals.
fn amount(e: &mut Errors, pointer: &str, text: Option<&str>) -> Option<i64> {
    let t = text?;
    let (whole, cents) = t.split_once('.').unwrap_or((t, "0"));
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(whole, 10) || !digits(cents, 2) {
        e.add(
            pointer,
            "must be an amount such as 50.00 (up to ten digits, two decimals)",
        );
        return None;
    }
    t.parse::<Decimal>().ok().map(amount_cents)
}

impl QueueCriteria {
    /// The store's filter at time `now`; a 422 naming each bad criterion.
    pub fn filter(&self, now: NaiveDateTime) -> CoreResult<DenialFilter> {
        let mut e = Errors::new();
        for (pointer, days) in [
            ("/min_age_days", self.min_age_days),
            ("/max_age_days", self.max_age_days),
        ] {
            if days.is_some_and(|d| d > MAX_AGE_DAYS) {
                e.add(pointer, format!("must be at most {MAX_AGE_DAYS}"));
            }
        }
        if let (Some(a), Some(b)) = (self.min_age_days, self.max_age_days)
            && a > b
        {
            e.add("/max_age_days", "must not be less than min_age_days");
        }
        let min = amount(&mut e, "/min_amount", self.min_amount.as_deref());
        let max = amount(&mut e, "/max_amount", self.max_amount.as_deref());
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            e.add("/max_amount", "must not be less than min_amount");
        }
        if let Some(c) = &self.carc
            && (c.is_empty()
                || c.chars().count() > CARC_MAX_CHARS
                || !c.chars().all(|ch| ch.is_ascii_alphanumeric()))
        {
            e.add(
                "/carc",
                format!("must be 1 to {CARC_MAX_CHARS} letters or digits"),
            );
        }
        if let Some(a) = &self.assignee {
            crate::workflows::denials::check_assignee(Some(a), &mut e);
        }
        if self.unassigned && self.assignee.is_some() {
            e.add("/unassigned", "cannot be combined with assignee");
        }
        e.finish()?;
        let ago = |d: u32| now - Duration::days(i64::from(d.min(MAX_AGE_DAYS)));
        Ok(DenialFilter {
            payer_id: self.payer_id,
            claim_id: self.claim_id,
            category: self.category,
            carc: self.carc.as_ref().map(|c| c.to_ascii_uppercase()),
            status: self.status,
            assignee: self.assignee.as_ref().map(|a| a.trim().to_string()),
            unassigned: self.unassigned,
            created_before: self.min_age_days.map(ago),
            created_after: self.max_age_days.map(ago),
            min_amount_cents: min,
            max_amount_cents: max,
            follow_up_by: self.follow_up_by,
            appeal_deadline_by: self.appeal_deadline_by,
            order: match self.sort {
                QueueSort::Found => DenialOrder::Found,
                QueueSort::AppealDeadline => DenialOrder::AppealDeadline,
            },
        })
    }
}

/// A page of the queue, oldest first or nearest appeal deadline first.
pub fn list(
    c: &mut DbConnection,
    org: OrgId,
    criteria: &QueueCriteria,
    page: &ListParams,
) -> CoreResult<Page<Denial>> {
    let filter = criteria.filter(crate::model::common::now())?;
    denials::list(c, org, &filter, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_amounts_become_bounds_and_bad_ones_are_named() {
        let now = NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let f = QueueCriteria {
            min_age_days: Some(30),
            max_age_days: Some(90),
            min_amount: Some("50".into()),
            max_amount: Some("1250.5".into()),
            carc: Some("b15".into()),
            ..Default::default()
        }
        .filter(now)
        .unwrap();
        assert_eq!(f.created_before, Some(now - Duration::days(30)));
        assert_eq!(f.created_after, Some(now - Duration::days(90)));
        assert_eq!(
            (f.min_amount_cents, f.max_amount_cents),
            (Some(5000), Some(125050))
        );
        assert_eq!(f.carc.as_deref(), Some("B15"));
        let bad = QueueCriteria {
            min_age_days: Some(10),
            max_age_days: Some(5),
            min_amount: Some("-1".into()),
            max_amount: Some("1.005".into()),
            carc: Some("CO-197".into()),
            unassigned: true,
            assignee: Some("x".into()),
            ..Default::default()
        }
        .filter(now)
        .unwrap_err();
        let crate::error::CoreError::Invalid(errors) = bad else {
            panic!("{bad:?}")
        };
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/max_age_days",
                "/min_amount",
                "/max_amount",
                "/carc",
                "/unassigned"
            ]
        );
    }
}

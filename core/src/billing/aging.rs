//! Accounts receivable aging: open balances as of a date, in the buckets billers work from
//! (0-30, 31-60, 61-90, 91-120, over 120 days), per payer (the insurance part) or per patient
//! (the patient part). Days count from the date of service or from submission.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::ledger::Split;

/// The last day of each bucket but the open-ended last one.
pub const BUCKET_LAST_DAYS: [i64; 4] = [30, 60, 90, 120];
/// How many buckets there are: one after each of [`BUCKET_LAST_DAYS`], and one before them.
pub const BUCKETS: usize = BUCKET_LAST_DAYS.len() + 1;
/// Bucket labels, in bucket order.
pub const BUCKET_LABELS: [&str; BUCKETS] = ["0-30", "31-60", "61-90", "91-120", "120+"];

/// What the age of a balance counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgingBasis {
    DateOfService,
    /// Falls back to the date of service for a claim never submitted (self-pay, say).
    SubmissionDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgingGroup {
    /// The insurance part of each claim, by the payer billed.
    Payer,
    /// The patient part of each claim, by patient.
    Patient,
}

/// One claim with its balance, as the store reads it from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub payer_id: Option<Uuid>,
    pub service_date: NaiveDate,
    pub submitted_on: Option<NaiveDate>,
    pub balance: Split,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgingRow {
    /// The payer or patient id.
    pub key: Uuid,
    /// Amounts per bucket, in [`BUCKET_LABELS`] order.
    pub buckets: [Decimal; BUCKETS],
    pub total: Decimal,
    pub claims: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgingReport {
    pub as_of: NaiveDate,
    pub basis: AgingBasis,
    pub group: AgingGroup,
    /// Ordered by key.
    pub rows: Vec<AgingRow>,
    pub totals: [Decimal; BUCKETS],
    pub total: Decimal,
}

/// The bucket for an age in days: 0-30 (a future date counts as 0), 31-60, 61-90, 91-120, 121+.
pub fn bucket(days: i64) -> usize {
    BUCKET_LAST_DAYS.partition_point(|&last| last < days)
}

/// Ages open balances. Only amounts above zero are aged: credit balances are not receivables
/// and are listed by [`super::ledger::Balances::credit_balances`] instead.
pub fn aging(
    open: &[OpenClaim],
    as_of: NaiveDate,
    basis: AgingBasis,
    group: AgingGroup,
) -> AgingReport {
    let mut rows: BTreeMap<Uuid, AgingRow> = BTreeMap::new();
    let mut totals = [Decimal::ZERO; BUCKETS];
    for c in open {
        let (key, amount) = match group {
            AgingGroup::Payer => match c.payer_id {
                Some(p) => (p, c.balance.insurance),
                None => continue,
            },
            AgingGroup::Patient => (c.patient_id, c.balance.patient),
        };
        if amount <= Decimal::ZERO {
            continue;
        }
        let from = match basis {
            AgingBasis::DateOfService => c.service_date,
            AgingBasis::SubmissionDate => c.submitted_on.unwrap_or(c.service_date),
        };
        let b = bucket((as_of - from).num_days());
        let row = rows.entry(key).or_insert(AgingRow {
            key,
            buckets: [Decimal::ZERO; BUCKETS],
            total: Decimal::ZERO,
            claims: 0,
        });
        row.buckets[b] += amount;
        row.total += amount;
        row.claims += 1;
        totals[b] += amount;
    }
    AgingReport {
        as_of,
        basis,
        group,
        rows: rows.into_values().collect(),
        totals,
        total: totals.iter().sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::test_util::d;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Claim `n` aged `days` before 2026-12-01 by date of service, submitted 10 days later.
    fn open(n: u128, days: i64, insurance: &str, patient: &str) -> OpenClaim {
        let dos = date("2026-12-01") - chrono::Duration::days(days);
        OpenClaim {
            claim_id: id(n),
            patient_id: id(100 + n % 2),
            payer_id: Some(id(900)),
            service_date: dos,
            submitted_on: Some(dos + chrono::Duration::days(10)),
            balance: Split {
                insurance: d(insurance),
                patient: d(patient),
            },
        }
    }

    #[test]
    fn boundaries() {
        assert_eq!(bucket(-3), 0);
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(30), 0);
        assert_eq!(bucket(31), 1);
        assert_eq!(bucket(60), 1);
        assert_eq!(bucket(61), 2);
        assert_eq!(bucket(90), 2);
        assert_eq!(bucket(91), 3);
        assert_eq!(bucket(120), 3);
        assert_eq!(bucket(121), 4);
    }

    fn one_per_bucket() -> Vec<OpenClaim> {
        vec![
            open(1, 30, "10.00", "1.00"),
            open(2, 31, "20.00", "2.00"),
            open(3, 90, "30.00", "3.00"),
            open(4, 120, "40.00", "4.00"),
            open(5, 121, "50.00", "5.00"),
            // Settled and credit balances are not aged.
            open(6, 45, "0.00", "-7.00"),
        ]
    }

    #[test]
    fn by_payer_from_date_of_service() {
        let r = aging(
            &one_per_bucket(),
            date("2026-12-01"),
            AgingBasis::DateOfService,
            AgingGroup::Payer,
        );
        assert_eq!(r.rows.len(), 1);
        assert_eq!(
            r.rows[0].buckets,
            [d("10.00"), d("20.00"), d("30.00"), d("40.00"), d("50.00")]
        );
        assert_eq!(r.rows[0].claims, 5);
        assert_eq!(r.total, d("150.00"));
    }

    #[test]
    fn by_patient_from_submission_date() {
        // Submission is ten days after service: 31 -> 21 days, 121 -> 111 days.
        let r = aging(
            &one_per_bucket(),
            date("2026-12-01"),
            AgingBasis::SubmissionDate,
            AgingGroup::Patient,
        );
        assert_eq!(r.rows.len(), 2);
        let odd = r.rows.iter().find(|x| x.key == id(101)).unwrap();
        let even = r.rows.iter().find(|x| x.key == id(100)).unwrap();
        // Claims 1 (20 days), 3 (80), 5 (111).
        assert_eq!(
            odd.buckets,
            [d("1.00"), d("0"), d("3.00"), d("5.00"), d("0")]
        );
        // Claims 2 (21 days), 4 (110); claim 6 is a credit.
        assert_eq!(even.buckets, [d("2.00"), d("0"), d("0"), d("4.00"), d("0")]);
        assert_eq!(r.totals, [d("3.00"), d("0"), d("3.00"), d("9.00"), d("0")]);
    }

    #[test]
    fn self_pay_is_not_payer_ar() {
        let mut c = open(1, 10, "0.00", "25.00");
        c.payer_id = None;
        c.submitted_on = None;
        let r = aging(
            &[c.clone()],
            date("2026-12-01"),
            AgingBasis::SubmissionDate,
            AgingGroup::Payer,
        );
        assert!(r.rows.is_empty());
        let r = aging(
            &[c],
            date("2026-12-01"),
            AgingBasis::SubmissionDate,
            AgingGroup::Patient,
        );
        assert_eq!(r.total, d("25.00"));
    }
}

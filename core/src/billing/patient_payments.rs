//! Applying a patient's payment to what they owe: a named claim, or open items oldest first.
//! Whatever is left over is an unapplied credit on the patient's account (a [`PatientPayment`]
//! entry without a claim), never a negative claim balance.
//!
//! [`PatientPayment`]: super::ledger::EntryKind::PatientPayment

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::ledger::{EntryKind, NewLedgerEntry, Side};
use crate::codes::Money;

/// A claim line (or claim-level bucket) with a patient balance, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub claim_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    pub service_date: NaiveDate,
    /// The patient part of the bucket; items at or below zero are skipped.
    pub patient_balance: Decimal,
}

/// Where the payment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyTo {
    /// Oldest date of service first (then claim id, then line order as given).
    OldestFirst,
    /// Only this claim's open items; any excess becomes account credit.
    Claim(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatientPaymentError {
    #[error("a patient payment must be greater than zero")]
    NotPositive,
    #[error("the named claim has no patient balance to apply a payment to")]
    ClaimNotOpen,
}

/// Entries that apply `amount` for `patient_id`. Each applied part is a negative
/// [`EntryKind::PatientPayment`] on its item; the excess is one entry without a claim.
pub fn apply_patient_payment(
    patient_id: Uuid,
    amount: Money,
    to: ApplyTo,
    open: &[OpenItem],
    reference: Option<String>,
) -> Result<Vec<NewLedgerEntry>, PatientPaymentError> {
    if amount.is_negative() || amount.is_zero() {
        return Err(PatientPaymentError::NotPositive);
    }
    let mut items: Vec<&OpenItem> = open
        .iter()
        .filter(|i| i.patient_balance > Decimal::ZERO)
        .filter(|i| match to {
            ApplyTo::OldestFirst => true,
            ApplyTo::Claim(c) => i.claim_id == c,
        })
        .collect();
    if items.is_empty() && matches!(to, ApplyTo::Claim(_)) {
        return Err(PatientPaymentError::ClaimNotOpen);
    }
    // Stable sort: lines of one claim keep the order they were given in.
    items.sort_by_key(|i| (i.service_date, i.claim_id));
    let mut left = amount.as_decimal();
    let mut out = Vec::new();
    for i in items {
        if left.is_zero() {
            break;
        }
        let applied = left.min(i.patient_balance);
        left -= applied;
        let mut e = NewLedgerEntry::new(EntryKind::PatientPayment, Side::Patient, -applied)
            .claim(i.claim_id, i.claim_line_id)
            .patient(patient_id)
            .payer(i.payer_id);
        e.reference = reference.clone();
        out.push(e);
    }
    if !left.is_zero() {
        let mut e = NewLedgerEntry::new(EntryKind::PatientPayment, Side::Patient, -left)
            .patient(patient_id);
        e.reference = reference;
        out.push(e);
    }
    Ok(out)
}

/// A refund of (part of) a patient's unapplied credit: positive, on the account.
pub fn refund_credit(patient_id: Uuid, amount: Money, reference: Option<String>) -> NewLedgerEntry {
    let mut e = NewLedgerEntry::new(EntryKind::Refund, Side::Patient, amount.as_decimal())
        .patient(patient_id);
    e.reference = reference;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::ledger::Balances;
    use crate::billing::test_util::d;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn open() -> Vec<OpenItem> {
        vec![
            OpenItem {
                claim_id: id(20),
                claim_line_id: Some(id(21)),
                payer_id: None,
                service_date: date("2026-09-15"),
                patient_balance: d("30.00"),
            },
            OpenItem {
                claim_id: id(10),
                claim_line_id: Some(id(11)),
                payer_id: None,
                service_date: date("2026-08-01"),
                patient_balance: d("24.00"),
            },
        ]
    }

    #[test]
    fn spans_two_claims_oldest_first() {
        let es = apply_patient_payment(
            id(1),
            Money::parse("40.00").unwrap(),
            ApplyTo::OldestFirst,
            &open(),
            None,
        )
        .unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!((es[0].claim_id, es[0].amount), (Some(id(10)), d("-24.00")));
        assert_eq!((es[1].claim_id, es[1].amount), (Some(id(20)), d("-16.00")));
        let b = Balances::fold(es.iter());
        assert_eq!(b.patients[&id(1)], d("-40.00"));
        assert!(b.patient_accounts.is_empty());
    }

    #[test]
    fn excess_becomes_account_credit() {
        let es = apply_patient_payment(
            id(1),
            Money::parse("60.00").unwrap(),
            ApplyTo::OldestFirst,
            &open(),
            Some("receipt 17".into()),
        )
        .unwrap();
        assert_eq!(es.len(), 3);
        assert_eq!(es[2].claim_id, None);
        assert_eq!(es[2].amount, d("-6.00"));
        let b = Balances::fold(es.iter());
        assert_eq!(b.patient_accounts[&id(1)], d("-6.00"));
        let r = refund_credit(id(1), Money::parse("6.00").unwrap(), None);
        let b = Balances::fold(es.iter().chain([&r]));
        assert_eq!(b.patient_accounts[&id(1)], d("0.00"));
    }

    #[test]
    fn named_claim_only() {
        let es = apply_patient_payment(
            id(1),
            Money::parse("30.00").unwrap(),
            ApplyTo::Claim(id(20)),
            &open(),
            None,
        )
        .unwrap();
        assert_eq!(es.len(), 1);
        assert_eq!((es[0].claim_id, es[0].amount), (Some(id(20)), d("-30.00")));
        let err = apply_patient_payment(
            id(1),
            Money::parse("1.00").unwrap(),
            ApplyTo::Claim(id(99)),
            &open(),
            None,
        );
        assert_eq!(err, Err(PatientPaymentError::ClaimNotOpen));
        let zero = apply_patient_payment(id(1), Money::zero(), ApplyTo::OldestFirst, &open(), None);
        assert_eq!(zero, Err(PatientPaymentError::NotPositive));
    }
}

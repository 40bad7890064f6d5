//! Writing off a denied balance: how much of a denial may still be written off, which reasons a
//! write-off may give, and how an amount is spread over the lines that still owe it. Pure: the
//! workflow reads the ledger and appends what this decides.
//!
//! - A denial's open amount is what of it has not been written off yet, and never more than the
//!   payer still owes on its line (or, for a claim-level denial, on the claim): a partial
//!   denial was already posted as an adjustment, so nothing of it is left to write off, and a
//!   line the payer paid later owes less.
//! - A write-off is an adjustment (group CO, OA or PI and a CARC), never a payment and never
//!   the patient's (PR): the practice gives up collecting the amount from the payer.

use std::fmt;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::model::remittance::AdjustmentGroup;

/// The groups a write-off may be booked under. PR moves money to the patient (not a write-off)
/// and CR is retired in 5010.
pub const WRITE_OFF_GROUPS: [AdjustmentGroup; 3] = [
    AdjustmentGroup::CO,
    AdjustmentGroup::OA,
    AdjustmentGroup::PI,
];

/// Whether `group` may carry a write-off.
pub fn group_allowed(group: AdjustmentGroup) -> bool {
    WRITE_OFF_GROUPS.contains(&group)
}

/// What of a denial may still be written off: its amount less what was written off already,
/// at most what the payer still owes where it was denied, never below zero.
pub fn open_amount(denied: Decimal, written_off: Decimal, still_owed: Decimal) -> Decimal {
    (denied - written_off).min(still_owed).max(Decimal::ZERO)
}

/// Why an amount cannot be written off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOffRefused {
    NotPositive,
    OverOpen { open: Decimal },
}

impl fmt::Display for WriteOffRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteOffRefused::NotPositive => write!(f, "must be greater than zero"),
            WriteOffRefused::OverOpen { open } if open.is_zero() => write!(
                f,
                "nothing of this denial is left to write off (written off already, posted as the payer's adjustment, or paid)"
            ),
            WriteOffRefused::OverOpen { open } => {
                write!(f, "must be at most {open:.2}, the denial's open amount")
            }
        }
    }
}

/// Checks an amount against the open amount.
pub fn check_amount(amount: Decimal, open: Decimal) -> Result<(), WriteOffRefused> {
    if amount <= Decimal::ZERO {
        Err(WriteOffRefused::NotPositive)
    } else if amount > open {
        Err(WriteOffRefused::OverOpen { open })
    } else {
        Ok(())
    }
}

/// Spreads `amount` over the buckets that still owe something (line id, insurance balance), in
/// their order, each up to its balance. The parts add up to `amount` when the balances cover it
/// (the caller checked [`check_amount`] against their sum).
pub fn allocate(amount: Decimal, owed: &[(Uuid, Decimal)]) -> Vec<(Uuid, Decimal)> {
    let mut left = amount;
    let mut out = Vec::new();
    for &(line, balance) in owed {
        if left <= Decimal::ZERO {
            break;
        }
        let part = left.min(balance);
        if part > Decimal::ZERO {
            out.push((line, part));
            left -= part;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::test_util::d;

    #[test]
    fn the_open_amount_is_bounded_by_what_is_still_owed() {
        assert_eq!(open_amount(d("200.00"), d("0"), d("200.00")), d("200.00"));
        assert_eq!(
            open_amount(d("200.00"), d("120.00"), d("80.00")),
            d("80.00")
        );
        // A partial denial: the payer's adjustment took it off the balance already.
        assert_eq!(open_amount(d("30.00"), d("0"), d("0.00")), d("0"));
        // The payer paid part later.
        assert_eq!(open_amount(d("50.00"), d("0"), d("20.00")), d("20.00"));
        assert_eq!(open_amount(d("50.00"), d("50.00"), d("-5.00")), d("0"));
    }

    #[test]
    fn amounts_over_the_open_amount_are_refused_naming_it() {
        assert_eq!(check_amount(d("80.00"), d("80.00")), Ok(()));
        let e = check_amount(d("80.01"), d("80.00")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "must be at most 80.00, the denial's open amount"
        );
        assert_eq!(
            check_amount(d("0.00"), d("80.00")),
            Err(WriteOffRefused::NotPositive)
        );
        assert!(
            check_amount(d("1"), d("0"))
                .unwrap_err()
                .to_string()
                .starts_with("nothing of this denial")
        );
    }

    #[test]
    fn an_amount_fills_the_lines_in_order() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(
            allocate(d("170.00"), &[(a, d("150.00")), (b, d("50.00"))]),
            [(a, d("150.00")), (b, d("20.00"))]
        );
        assert_eq!(
            allocate(d("20.00"), &[(a, d("0.00")), (b, d("50.00"))]),
            [(b, d("20.00"))]
        );
        assert!(group_allowed(AdjustmentGroup::CO));
        assert!(!group_allowed(AdjustmentGroup::PR));
        assert!(!group_allowed(AdjustmentGroup::CR));
    }
}

//! The billing engine's domain rules, as pure functions over plain structs: no database and no
//! HTTP, so the store can call them inside its transactions and apply what they return.
//!
//! - `lifecycle`: which claim status may follow which, and why.
//! - `scrub`: the edits a claim must pass before submission.
//! - `ledger`: append-only money movements and the balances folded from them.
//! - `posting`: how one remittance (835) becomes ledger entries and status changes.
//! - `patient_payments`: applying a patient's payment to open items.
//! - `aging`: accounts receivable aging buckets.
//! - `denials`: which adjustments are denials, their root cause, how a denial is worked.

pub mod aging;
pub mod denials;
pub mod ledger;
pub mod lifecycle;
pub mod patient_payments;
pub mod posting;
pub mod scrub;

#[cfg(test)]
mod properties;

#[cfg(test)]
pub(crate) mod test_util {
    use rust_decimal::Decimal;

    /// An exact decimal from its text (tests only).
    pub(crate) fn d(s: &str) -> Decimal {
        s.parse().expect("a decimal literal")
    }
}

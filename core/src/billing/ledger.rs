//! The append-only ledger: every money movement on a claim, a patient or a payer is one entry,
//! and every balance is a fold over entries. Nothing edits a balance; a mistake is undone by a
//! [`EntryKind::Reversal`] that negates the entry exactly.
//!
//! Sign convention: `amount` is the change in what is owed *to the practice*. A charge is
//! positive; payments and adjustments are negative; a reversal is the exact negation of the entry
//! it reverses. Which bucket the amount lands in is the entry's [`Side`]: the insurance part
//! (still expected from a payer), the patient part, or the payer-level (PLB) bucket. A patient
//! responsibility transfer (CAS group PR, side `InsuranceToPatient`) carries the amount that
//! moves, positive towards the patient: it changes neither the claim's total nor the total owed.

use std::collections::BTreeMap;
use std::ops::Deref;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::claim::Claim;
use crate::model::remittance::AdjustmentGroup;

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A billed service line (positive).
    Charge,
    /// Money from a payer for a claim or line (835 CLP04/SVC03, negated).
    InsurancePayment,
    /// CAS group CO: the contract says the practice may not collect it.
    ContractualAdjustment,
    /// CAS group PR: moves the amount from the insurance part to the patient part.
    PatientResponsibilityTransfer,
    /// CAS group OA.
    OtherAdjustment,
    /// CAS group PI.
    PayerInitiatedReduction,
    /// CAS group CR (retired in 5010, still seen).
    Correction,
    /// The practice gives up collecting a balance (biller's decision).
    WriteOff,
    /// Money from the patient; without a claim it is an unapplied credit on the account.
    PatientPayment,
    /// Money returned to the patient (positive: it cancels a credit).
    Refund,
    /// The exact negation of the entry named by `reverses`.
    Reversal,
    /// PLB provider-level adjustment: not tied to a claim (interest, recoupment, ...).
    ProviderAdjustment,
}

impl EntryKind {
    /// Whether the entry moves cash (in or out of the practice's bank account).
    pub fn is_cash(&self) -> bool {
        matches!(
            self,
            EntryKind::InsurancePayment
                | EntryKind::PatientPayment
                | EntryKind::Refund
                | EntryKind::ProviderAdjustment
        )
    }

    /// The ledger kind of a CAS adjustment group.
    pub fn for_group(group: AdjustmentGroup) -> EntryKind {
        match group {
            AdjustmentGroup::CO => EntryKind::ContractualAdjustment,
            AdjustmentGroup::PR => EntryKind::PatientResponsibilityTransfer,
            AdjustmentGroup::OA => EntryKind::OtherAdjustment,
            AdjustmentGroup::PI => EntryKind::PayerInitiatedReduction,
            AdjustmentGroup::CR => EntryKind::Correction,
        }
    }
}

/// The bucket an entry's amount lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Still expected from the payer.
    Insurance,
    /// Owed by the patient (negative: a credit the patient has with the practice).
    Patient,
    /// A transfer: `-amount` to insurance and `+amount` to patient.
    InsuranceToPatient,
    /// Payer-level (PLB), outside any claim and patient.
    Provider,
}

/// An entry before the store gives it an id and a posting time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLedgerEntry {
    pub kind: EntryKind,
    pub side: Side,
    pub claim_id: Option<Uuid>,
    pub claim_line_id: Option<Uuid>,
    /// `None` only for provider-level (PLB) entries.
    pub patient_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    /// Signed; see the module documentation.
    pub amount: Decimal,
    pub group: Option<AdjustmentGroup>,
    /// Claim adjustment reason code (CAS).
    pub carc: Option<String>,
    /// Remittance advice remark codes (RARC) of the service line.
    #[serde(default)]
    pub remarks: Vec<String>,
    /// PLB adjustment reason code (PLB03-1, e.g. L6, WO, FB, 72).
    pub provider_adjustment_reason: Option<String>,
    /// PLB03-2 reference, a patient payment's receipt number, and the like (no PHI).
    pub reference: Option<String>,
    pub remittance_id: Option<Uuid>,
    /// TRN02 of the remittance.
    pub trace_number: Option<String>,
    /// The entry this one negates (only for [`EntryKind::Reversal`]).
    pub reverses: Option<Uuid>,
}

impl NewLedgerEntry {
    /// An entry with only kind, side and amount set; fill the rest with the builder methods.
    pub fn new(kind: EntryKind, side: Side, amount: Decimal) -> NewLedgerEntry {
        NewLedgerEntry {
            kind,
            side,
            claim_id: None,
            claim_line_id: None,
            patient_id: None,
            payer_id: None,
            amount,
            group: None,
            carc: None,
            remarks: Vec::new(),
            provider_adjustment_reason: None,
            reference: None,
            remittance_id: None,
            trace_number: None,
            reverses: None,
        }
    }

    pub fn claim(mut self, claim_id: Uuid, line_id: Option<Uuid>) -> Self {
        self.claim_id = Some(claim_id);
        self.claim_line_id = line_id;
        self
    }

    pub fn patient(mut self, patient_id: Uuid) -> Self {
        self.patient_id = Some(patient_id);
        self
    }

    pub fn payer(mut self, payer_id: Option<Uuid>) -> Self {
        self.payer_id = payer_id;
        self
    }

    /// Gives the entry its identity; the store calls this when it appends.
    pub fn post(self, id: Uuid, posted_at: DateTime<Utc>) -> LedgerEntry {
        LedgerEntry {
            id,
            posted_at,
            entry: self,
        }
    }

    /// The change this entry makes to (insurance, patient, provider-level) buckets.
    pub fn effect(&self) -> (Decimal, Decimal, Decimal) {
        let a = self.amount;
        let z = Decimal::ZERO;
        match self.side {
            Side::Insurance => (a, z, z),
            Side::Patient => (z, a, z),
            Side::InsuranceToPatient => (-a, a, z),
            Side::Provider => (z, z, a),
        }
    }
}

/// A stored ledger entry. Dereferences to its [`NewLedgerEntry`] fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub posted_at: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: NewLedgerEntry,
}

impl Deref for LedgerEntry {
    type Target = NewLedgerEntry;
    fn deref(&self) -> &NewLedgerEntry {
        &self.entry
    }
}

/// The exact negation of `original`: same bucket, claim, line, codes; amount negated. A
/// reversal is never itself reversed (post the original again instead), so the caller must not
/// pass a [`EntryKind::Reversal`].
pub fn reversal_of(original: &LedgerEntry) -> NewLedgerEntry {
    debug_assert_ne!(original.kind, EntryKind::Reversal);
    let mut r = original.entry.clone();
    r.kind = EntryKind::Reversal;
    r.amount = -original.amount;
    r.reverses = Some(original.id);
    r.remittance_id = None;
    r.trace_number = None;
    r
}

/// One charge entry per claim line. The charge is expected from the payer when the claim has
/// one, from the patient when it is self-pay.
pub fn charge_entries(claim: &Claim) -> Vec<NewLedgerEntry> {
    claim
        .lines
        .iter()
        .map(|l| {
            charge(
                claim.id,
                l.id,
                claim.patient_id,
                claim.payer_id,
                l.line.charge,
            )
        })
        .collect()
}

/// [`charge_entries`] for the posting engine's view of a claim.
pub fn charge_entries_for(
    claim_id: Uuid,
    patient_id: Uuid,
    payer_id: Option<Uuid>,
    lines: &[super::posting::PostingLine],
) -> Vec<NewLedgerEntry> {
    lines
        .iter()
        .map(|l| charge(claim_id, l.line_id, patient_id, payer_id, l.charge))
        .collect()
}

fn charge(
    claim_id: Uuid,
    line_id: Uuid,
    patient_id: Uuid,
    payer_id: Option<Uuid>,
    amount: crate::codes::Money,
) -> NewLedgerEntry {
    let side = if payer_id.is_some() {
        Side::Insurance
    } else {
        Side::Patient
    };
    NewLedgerEntry::new(EntryKind::Charge, side, amount.as_decimal())
        .claim(claim_id, Some(line_id))
        .patient(patient_id)
        .payer(payer_id)
}

/// A biller's write-off of (part of) one bucket of a claim line. `amount` is what is given up,
/// positive; the entry carries it negated.
pub fn write_off(
    claim_id: Uuid,
    claim_line_id: Option<Uuid>,
    patient_id: Uuid,
    payer_id: Option<Uuid>,
    side: Side,
    amount: Decimal,
    carc: Option<String>,
) -> NewLedgerEntry {
    let mut e = NewLedgerEntry::new(EntryKind::WriteOff, side, -amount)
        .claim(claim_id, claim_line_id)
        .patient(patient_id)
        .payer(payer_id);
    e.carc = carc;
    e
}

/// Insurance and patient parts of one balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Split {
    pub insurance: Decimal,
    pub patient: Decimal,
}

impl Split {
    pub fn total(&self) -> Decimal {
        self.insurance + self.patient
    }

    fn add(&mut self, insurance: Decimal, patient: Decimal) {
        self.insurance += insurance;
        self.patient += patient;
    }
}

/// A bucket below zero: the practice owes money back (an overpayment or a patient's unapplied
/// payment). Never silent: reports list these for refund or application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditBalance {
    pub claim_id: Option<Uuid>,
    pub claim_line_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    pub side: Side,
    /// Negative.
    pub amount: Decimal,
}

/// Every balance derived from a set of entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Balances {
    /// Per claim line; claim-level entries (claim CAS, unmatched lines) under `None`.
    pub lines: BTreeMap<(Uuid, Option<Uuid>), Split>,
    pub claims: BTreeMap<Uuid, Split>,
    /// The patient part of all their claims plus their account (unapplied credit).
    pub patients: BTreeMap<Uuid, Decimal>,
    /// Patient entries without a claim: unapplied payments and their refunds (zero or negative).
    pub patient_accounts: BTreeMap<Uuid, Decimal>,
    /// The insurance part of claims, per payer.
    pub payers: BTreeMap<Uuid, Decimal>,
    /// PLB entries, per payer (negative: interest received; positive: recouped).
    pub provider_level: BTreeMap<Uuid, Decimal>,
    /// The net amount owed to the practice: every entry's amount, transfers counting zero.
    pub total: Decimal,
}

impl Balances {
    /// Folds entries (in any order: addition commutes, which is why reversals negate).
    pub fn fold<'a>(entries: impl IntoIterator<Item = &'a NewLedgerEntry>) -> Balances {
        let mut b = Balances::default();
        for e in entries {
            let (ins, pat, prov) = e.effect();
            b.total += ins + pat + prov;
            match e.claim_id {
                Some(c) => {
                    b.lines
                        .entry((c, e.claim_line_id))
                        .or_default()
                        .add(ins, pat);
                    b.claims.entry(c).or_default().add(ins, pat);
                }
                None => {
                    if let (Some(p), false) = (e.patient_id, pat.is_zero()) {
                        *b.patient_accounts.entry(p).or_default() += pat;
                    }
                }
            }
            if let (Some(p), false) = (e.patient_id, pat.is_zero()) {
                *b.patients.entry(p).or_default() += pat;
            }
            if let Some(payer) = e.payer_id {
                if !ins.is_zero() {
                    *b.payers.entry(payer).or_default() += ins;
                }
                if !prov.is_zero() {
                    *b.provider_level.entry(payer).or_default() += prov;
                }
            }
        }
        b
    }

    /// The claim's balance (zero when it has no entries).
    pub fn claim(&self, claim_id: Uuid) -> Split {
        self.claims.get(&claim_id).copied().unwrap_or_default()
    }

    /// Every claim-line bucket and patient account below zero.
    pub fn credit_balances(&self) -> Vec<CreditBalance> {
        let mut out = Vec::new();
        for (&(claim, line), s) in &self.lines {
            for (side, v) in [(Side::Insurance, s.insurance), (Side::Patient, s.patient)] {
                if v < Decimal::ZERO {
                    out.push(CreditBalance {
                        claim_id: Some(claim),
                        claim_line_id: line,
                        patient_id: None,
                        payer_id: None,
                        side,
                        amount: v,
                    });
                }
            }
        }
        for (&p, &v) in &self.patient_accounts {
            if v < Decimal::ZERO {
                out.push(CreditBalance {
                    claim_id: None,
                    claim_line_id: None,
                    patient_id: Some(p),
                    payer_id: None,
                    side: Side::Patient,
                    amount: v,
                });
            }
        }
        out
    }
}

/// [`Balances::fold`] over stored entries.
pub fn balances(entries: &[LedgerEntry]) -> Balances {
    Balances::fold(entries.iter().map(|e| &e.entry))
}

/// The sum of cash entries (and their reversals): minus the net cash the practice received.
/// Equals `-(sum of remittance totals (BPR02) + patient payments - refunds)` for entries made by
/// this module's functions.
pub fn cash_total(entries: &[LedgerEntry]) -> Decimal {
    let kinds: BTreeMap<Uuid, EntryKind> = entries.iter().map(|e| (e.id, e.kind)).collect();
    entries
        .iter()
        .filter(|e| {
            let kind = match (e.kind, e.reverses) {
                (EntryKind::Reversal, Some(r)) => kinds.get(&r).copied(),
                (k, _) => Some(k),
            };
            kind.is_some_and(|k| k.is_cash())
        })
        .map(|e| e.amount)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::test_util::d;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn transfer_moves_between_buckets_and_keeps_the_total() {
        let (claim, line, pat, payer) = (id(1), Some(id(2)), id(3), Some(id(4)));
        let es = [
            NewLedgerEntry::new(EntryKind::Charge, Side::Insurance, d("200.00"))
                .claim(claim, line)
                .patient(pat)
                .payer(payer),
            NewLedgerEntry::new(EntryKind::InsurancePayment, Side::Insurance, d("-96.00"))
                .claim(claim, line)
                .patient(pat)
                .payer(payer),
            NewLedgerEntry::new(
                EntryKind::ContractualAdjustment,
                Side::Insurance,
                d("-80.00"),
            )
            .claim(claim, line)
            .patient(pat)
            .payer(payer),
            NewLedgerEntry::new(
                EntryKind::PatientResponsibilityTransfer,
                Side::InsuranceToPatient,
                d("24.00"),
            )
            .claim(claim, line)
            .patient(pat)
            .payer(payer),
        ];
        let b = Balances::fold(es.iter());
        assert_eq!(
            b.claim(claim),
            Split {
                insurance: d("0.00"),
                patient: d("24.00")
            }
        );
        assert_eq!(b.patients[&pat], d("24.00"));
        assert_eq!(b.payers[&id(4)], d("0.00"));
        assert_eq!(b.total, d("24.00"));
        assert!(b.credit_balances().is_empty());
    }

    #[test]
    fn reversal_negates_exactly() {
        let e = NewLedgerEntry::new(
            EntryKind::PatientResponsibilityTransfer,
            Side::InsuranceToPatient,
            d("24.00"),
        )
        .claim(id(1), None)
        .patient(id(3))
        .post(id(9), at());
        let r = reversal_of(&e).post(id(10), at());
        assert_eq!(r.amount, d("-24.00"));
        assert_eq!(r.reverses, Some(id(9)));
        assert_eq!(r.side, e.side);
        let b = balances(&[e, r]);
        assert_eq!(b.claim(id(1)), Split::default());
        assert_eq!(b.total, Decimal::ZERO);
    }

    #[test]
    fn cash_total_follows_reversals() {
        let pay = NewLedgerEntry::new(EntryKind::InsurancePayment, Side::Insurance, d("-50.00"))
            .claim(id(1), None)
            .post(id(5), at());
        let adj = NewLedgerEntry::new(
            EntryKind::ContractualAdjustment,
            Side::Insurance,
            d("-10.00"),
        )
        .claim(id(1), None)
        .post(id(6), at());
        let rev = reversal_of(&pay).post(id(7), at());
        let radj = reversal_of(&adj).post(id(8), at());
        assert_eq!(cash_total(&[pay.clone(), adj.clone()]), d("-50.00"));
        assert_eq!(cash_total(&[pay, adj, rev, radj]), d("0.00"));
    }

    #[test]
    fn unapplied_patient_payment_is_a_listed_credit() {
        let e = NewLedgerEntry::new(EntryKind::PatientPayment, Side::Patient, d("-15.00"))
            .patient(id(3))
            .post(id(1), at());
        let b = balances(&[e]);
        assert_eq!(b.patient_accounts[&id(3)], d("-15.00"));
        let c = b.credit_balances();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].patient_id, Some(id(3)));
        assert_eq!(c[0].amount, d("-15.00"));
    }

    #[test]
    fn self_pay_charge_is_the_patients() {
        let w = write_off(
            id(1),
            Some(id(2)),
            id(3),
            None,
            Side::Patient,
            d("5.00"),
            None,
        );
        assert_eq!(w.amount, d("-5.00"));
        let c = NewLedgerEntry::new(EntryKind::Charge, Side::Patient, d("40.00"))
            .claim(id(1), Some(id(2)))
            .patient(id(3));
        let b = Balances::fold([&c, &w]);
        assert_eq!(b.claim(id(1)).patient, d("35.00"));
        assert_eq!(b.claim(id(1)).insurance, d("0"));
    }
}

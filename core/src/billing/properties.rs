//! Property tests of the ledger under generated remittances, reversals and patient payments.
//!
//! What a *credit entry* is: an entry that leaves a bucket below zero, which only a patient's
//! money may do: a payment beyond what is open (posted without a claim, as unapplied credit), or
//! a payment on a line whose patient part a later reversal or re-adjudication lowered below what
//! was paid. Such buckets are listed by `Balances::credit_balances` for refund or application.
//! Payer entries never take a bucket below zero when remittances balance against our charges.

use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::ledger::{EntryKind, cash_total};
use super::patient_payments::{ApplyTo, OpenItem, PatientPaymentError, apply_patient_payment};
use super::posting::sim::Books;
use super::posting::{PostingClaim, PostingLine, RemittanceRef, plan_posting};
use crate::codes::{Money, ProcedureCode};
use crate::model::claim::ClaimStatus;
use crate::model::remittance::{
    Adjustment, AdjustmentGroup, ClaimPayment, ProviderAdjustment, ServicePayment, SignedMoney,
};

const PAYER: u128 = 900;
const CODES: [&str; 3] = ["99213", "36415", "93000"];

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

fn money(c: i64) -> SignedMoney {
    SignedMoney(Money::from_decimal(cents(c)).unwrap())
}

#[derive(Debug, Clone)]
struct LineDecision {
    co_pct: i64,
    pr_pct: i64,
    pr_carc: u8,
    deny: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Adjudicate {
        claim: usize,
        lines: Vec<LineDecision>,
        plb_cents: i64,
    },
    Reverse {
        claim: usize,
        carry_forward: bool,
    },
    PatientPay {
        cents: i64,
        claim: Option<usize>,
    },
}

fn line_decision() -> impl Strategy<Value = LineDecision> {
    (0i64..=100, 0i64..=100, 1u8..=3, prop::bool::weighted(0.2)).prop_map(
        |(co_pct, pr_pct, pr_carc, deny)| LineDecision {
            co_pct,
            pr_pct,
            pr_carc,
            deny,
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..4, prop::collection::vec(line_decision(), 3), prop_oneof![Just(0i64), -500i64..500])
            .prop_map(|(claim, lines, plb_cents)| Op::Adjudicate { claim, lines, plb_cents }),
        1 => (0usize..4, any::<bool>()).prop_map(|(claim, carry_forward)| Op::Reverse { claim, carry_forward }),
        2 => (1i64..20_000, prop::option::of(0usize..4)).prop_map(|(cents, claim)| Op::PatientPay { cents, claim }),
    ]
}

fn claims() -> impl Strategy<Value = Vec<Vec<i64>>> {
    prop::collection::vec(prop::collection::vec(1i64..100_000, 1..=3), 1..=4)
}

/// What the test expects of one claim.
#[derive(Default, Clone)]
struct Expect {
    /// The claim payment posted and not reversed.
    live: Option<ClaimPayment>,
    denied_charge: i64,
    patient_resp: i64,
}

fn posting_claim(n: usize, charges: &[i64]) -> PostingClaim {
    let n128 = n as u128 + 1;
    PostingClaim {
        claim_id: Uuid::from_u128(n128),
        patient_id: Uuid::from_u128(500),
        payer_id: Some(Uuid::from_u128(PAYER)),
        patient_control_number: format!("PCN{n}"),
        payer_claim_number: None,
        status: ClaimStatus::Submitted,
        insurance_balance: Decimal::ZERO,
        lines: charges
            .iter()
            .enumerate()
            .map(|(i, &c)| PostingLine {
                line_id: Uuid::from_u128(n128 * 100 + i as u128),
                control_number: String::new(),
                procedure_code: ProcedureCode::parse(CODES[i]).unwrap(),
                modifiers: vec![],
                charge: Money::from_decimal(cents(c)).unwrap(),
            })
            .collect(),
        postings: vec![],
        cob: None,
    }
}

fn adj(group: AdjustmentGroup, reason: &str, c: i64) -> Adjustment {
    Adjustment {
        group,
        reason: reason.into(),
        amount: money(c),
        quantity: None,
    }
}

/// A balanced CLP for the claim, and (denied charge, patient responsibility) in cents.
fn adjudicate(n: usize, charges: &[i64], ds: &[LineDecision]) -> (ClaimPayment, i64, i64) {
    let mut lines = Vec::new();
    let (mut denied, mut pr_total, mut paid_total) = (0, 0, 0);
    for (i, (&ch, d)) in charges.iter().zip(ds).enumerate() {
        let mut adjs = Vec::new();
        let paid = if d.deny {
            denied += ch;
            adjs.push(adj(AdjustmentGroup::CO, "97", ch));
            0
        } else {
            let co = ch * d.co_pct / 100;
            let pr = (ch - co) * d.pr_pct / 100;
            if co != 0 {
                adjs.push(adj(AdjustmentGroup::CO, "45", co));
            }
            if pr != 0 {
                adjs.push(adj(AdjustmentGroup::PR, &d.pr_carc.to_string(), pr));
            }
            pr_total += pr;
            ch - co - pr
        };
        // A line with nothing paid and nothing to the patient is a denial, whatever its CARC.
        if !d.deny && paid == 0 && adjs.iter().all(|a| a.group != AdjustmentGroup::PR) {
            denied += ch;
        }
        paid_total += paid;
        lines.push(ServicePayment {
            line_control_number: None,
            procedure_code: ProcedureCode::parse(CODES[i]).unwrap(),
            modifiers: vec![],
            charge: money(ch),
            paid: money(paid),
            units: None,
            service_date: None,
            adjustments: adjs,
            remarks: vec![],
        });
    }
    let cp = ClaimPayment {
        patient_control_number: format!("PCN{n}"),
        status_code: "1".into(),
        total_charge: money(charges.iter().sum()),
        paid: money(paid_total),
        patient_responsibility: Some(money(pr_total)),
        payer_claim_number: Some(format!("P{n}")),
        adjustments: vec![],
        lines,
    };
    (cp, denied, pr_total)
}

fn negate(cp: &ClaimPayment) -> ClaimPayment {
    let neg = |m: &SignedMoney| SignedMoney(-m.0);
    let neg_adj = |a: &Adjustment| Adjustment {
        amount: neg(&a.amount),
        ..a.clone()
    };
    ClaimPayment {
        status_code: "22".into(),
        total_charge: neg(&cp.total_charge),
        paid: neg(&cp.paid),
        patient_responsibility: cp.patient_responsibility.as_ref().map(neg),
        adjustments: cp.adjustments.iter().map(neg_adj).collect(),
        lines: cp
            .lines
            .iter()
            .map(|l| ServicePayment {
                charge: neg(&l.charge),
                paid: neg(&l.paid),
                adjustments: l.adjustments.iter().map(neg_adj).collect(),
                ..l.clone()
            })
            .collect(),
        ..cp.clone()
    }
}

fn run(claim_charges: Vec<Vec<i64>>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let patient = Uuid::from_u128(500);
    let pcs: Vec<PostingClaim> = claim_charges
        .iter()
        .enumerate()
        .map(|(n, c)| posting_claim(n, c))
        .collect();
    let mut books = Books::new(pcs);
    let mut expect = vec![Expect::default(); claim_charges.len()];
    let (mut bpr_total, mut patient_paid) = (Decimal::ZERO, Decimal::ZERO);
    let mut next_remittance = 10_000u128;
    for op in ops {
        let (cps, plbs): (Vec<ClaimPayment>, Vec<ProviderAdjustment>) = match op {
            Op::Adjudicate {
                claim,
                lines,
                plb_cents,
            } => {
                let n = claim % claim_charges.len();
                if expect[n].live.is_some() {
                    continue; // a payer re-adjudicates only after reversing
                }
                let (cp, denied, pr) = adjudicate(n, &claim_charges[n], &lines);
                expect[n] = Expect {
                    live: Some(cp.clone()),
                    denied_charge: denied,
                    patient_resp: pr,
                };
                let plbs = if plb_cents == 0 {
                    vec![]
                } else {
                    vec![ProviderAdjustment {
                        reason: if plb_cents < 0 { "L6" } else { "WO" }.into(),
                        reference: None,
                        amount: money(plb_cents),
                    }]
                };
                (vec![cp], plbs)
            }
            Op::Reverse {
                claim,
                carry_forward,
            } => {
                let n = claim % claim_charges.len();
                let Some(live) = expect[n].live.take() else {
                    continue;
                };
                expect[n] = Expect::default();
                let rev = negate(&live);
                // The payer may offset a negative total with a forwarding balance.
                let plbs = if carry_forward {
                    vec![ProviderAdjustment {
                        reason: "FB".into(),
                        reference: Some("carried".into()),
                        amount: rev.paid,
                    }]
                } else {
                    vec![]
                };
                (vec![rev], plbs)
            }
            Op::PatientPay { cents: c, claim } => {
                let b = books.balances();
                let open: Vec<OpenItem> = b
                    .lines
                    .iter()
                    .filter(|(_, s)| s.patient > Decimal::ZERO)
                    .map(|(&(claim_id, line), s)| OpenItem {
                        claim_id,
                        claim_line_id: line,
                        payer_id: Some(Uuid::from_u128(PAYER)),
                        service_date: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
                            + chrono::Duration::days(claim_id.as_u128() as i64),
                        patient_balance: s.patient,
                    })
                    .collect();
                let to = match claim {
                    Some(k) => {
                        ApplyTo::Claim(Uuid::from_u128((k % claim_charges.len()) as u128 + 1))
                    }
                    None => ApplyTo::OldestFirst,
                };
                let amount = Money::from_decimal(cents(c)).unwrap();
                match apply_patient_payment(patient, amount, to, &open, None) {
                    Ok(es) => {
                        for e in es {
                            books.append(e);
                        }
                        patient_paid += amount.as_decimal();
                        // A payment fills open items up to zero; the excess goes to the account.
                        let after = books.balances();
                        for (k, s) in &after.lines {
                            let before = b.lines.get(k).map_or(Decimal::ZERO, |x| x.patient);
                            prop_assert!(s.patient >= before.min(Decimal::ZERO));
                        }
                    }
                    Err(PatientPaymentError::ClaimNotOpen) => {}
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
                continue;
            }
        };
        let paid: Decimal = cps.iter().map(|c| c.paid.0.as_decimal()).sum();
        let plb: Decimal = plbs.iter().map(|p| p.amount.0.as_decimal()).sum();
        let total = Money::from_decimal(paid - plb).unwrap();
        next_remittance += 1;
        let r = RemittanceRef {
            remittance_id: Uuid::from_u128(next_remittance),
            payer_id: Uuid::from_u128(PAYER),
            trace_number: "T",
            total_paid: total,
            claims: &cps,
            provider_adjustments: &plbs,
        };
        let plan =
            plan_posting(r, &books.claims).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(plan.unmatched.is_empty(), "{:?}", plan.unmatched);
        books.apply(r.remittance_id, &plan);
        bpr_total += total.as_decimal();
    }

    // Ledger cash equals what the payer sent (BPR02, signed) plus what the patient paid.
    prop_assert_eq!(cash_total(&books.ledger), -(bpr_total + patient_paid));

    let b = books.balances();
    let parts: Decimal = b.claims.values().map(|s| s.total()).sum::<Decimal>()
        + b.patient_accounts.values().sum::<Decimal>()
        + b.provider_level.values().sum::<Decimal>();
    prop_assert_eq!(b.total, parts);

    for (n, (charges, x)) in claim_charges.iter().zip(&expect).enumerate() {
        let id = Uuid::from_u128(n as u128 + 1);
        let s = b.claim(id);
        let paid_by_patient: Decimal = books
            .ledger
            .iter()
            .filter(|e| e.kind == EntryKind::PatientPayment && e.claim_id == Some(id))
            .map(|e| e.amount)
            .sum();
        let insurance = if x.live.is_some() {
            cents(x.denied_charge)
        } else {
            cents(charges.iter().sum())
        };
        prop_assert_eq!(s.insurance, insurance, "claim {}", n);
        prop_assert_eq!(
            s.patient,
            cents(x.patient_resp) + paid_by_patient,
            "claim {}",
            n
        );
    }

    // No bucket below zero without a credit entry, and every such bucket is flagged.
    let credits = b.credit_balances();
    for (&(claim, line), s) in &b.lines {
        prop_assert!(s.insurance >= Decimal::ZERO, "insurance below zero");
        if s.patient < Decimal::ZERO {
            let has_payment = books.ledger.iter().any(|e| {
                e.kind == EntryKind::PatientPayment
                    && e.claim_id == Some(claim)
                    && e.claim_line_id == line
            });
            prop_assert!(has_payment, "patient credit without a payment");
            prop_assert!(
                credits
                    .iter()
                    .any(|c| c.claim_id == Some(claim) && c.claim_line_id == line)
            );
        }
    }
    for (&p, &v) in &b.patient_accounts {
        prop_assert!(v <= Decimal::ZERO, "an account holds only credit");
        if v < Decimal::ZERO {
            prop_assert!(credits.iter().any(|c| c.patient_id == Some(p)));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn billing_ledger_matches_cash_and_never_silently_negative(
        claim_charges in claims(),
        ops in prop::collection::vec(op(), 1..16),
    ) {
        run(claim_charges, ops)?;
    }
}

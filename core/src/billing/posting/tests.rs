use super::sim::Books;
use super::*;
use crate::billing::ledger::{Split, cash_total};
use crate::billing::test_util::d;
use crate::model::remittance::SignedMoney;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
const PAYER: u128 = 900;

fn m(s: &str) -> SignedMoney {
    SignedMoney(Money::signed_parse(s).unwrap())
}

fn adj(group: AdjustmentGroup, reason: &str, amount: &str) -> Adjustment {
    Adjustment {
        group,
        reason: reason.into(),
        amount: m(amount),
        quantity: None,
    }
}

fn svc(
    code: &str,
    mods: &[&str],
    charge: &str,
    paid: &str,
    adjs: Vec<Adjustment>,
) -> ServicePayment {
    ServicePayment {
        line_control_number: None,
        procedure_code: ProcedureCode::parse(code).unwrap(),
        modifiers: mods.iter().map(|x| Modifier::parse(x).unwrap()).collect(),
        charge: m(charge),
        paid: m(paid),
        units: None,
        service_date: None,
        adjustments: adjs,
        remarks: vec![],
    }
}

fn clp(
    pcn: &str,
    status: &str,
    charge: &str,
    paid: &str,
    adjs: Vec<Adjustment>,
    lines: Vec<ServicePayment>,
) -> ClaimPayment {
    ClaimPayment {
        patient_control_number: pcn.into(),
        status_code: status.into(),
        total_charge: m(charge),
        paid: m(paid),
        patient_responsibility: None,
        payer_claim_number: Some(format!("PAYER-{pcn}")),
        adjustments: adjs,
        lines,
    }
}

fn plb(reason: &str, amount: &str) -> ProviderAdjustment {
    ProviderAdjustment {
        reason: reason.into(),
        reference: Some("REF-1".into()),
        amount: m(amount),
    }
}

/// Claim `n` (patient `n + 1`), submitted to PAYER, lines (code, modifiers, charge).
fn claim(n: u128, lines: &[(&str, &[&str], &str)]) -> PostingClaim {
    PostingClaim {
        claim_id: id(n),
        patient_id: id(n + 1),
        payer_id: Some(id(PAYER)),
        patient_control_number: format!("PCN{n}"),
        payer_claim_number: None,
        status: ClaimStatus::Submitted,
        insurance_balance: Decimal::ZERO,
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (code, mods, charge))| PostingLine {
                line_id: id(n * 100 + i as u128 + 1),
                control_number: crate::model::claim::line_control_number(
                    i as i32 + 1,
                    id(n * 100 + i as u128 + 1),
                ),
                procedure_code: ProcedureCode::parse(code).unwrap(),
                modifiers: mods.iter().map(|x| Modifier::parse(x).unwrap()).collect(),
                charge: Money::parse(charge).unwrap(),
            })
            .collect(),
        postings: vec![],
        cob: None,
    }
}

fn rem<'a>(
    n: u128,
    total: &str,
    claims: &'a [ClaimPayment],
    plbs: &'a [ProviderAdjustment],
) -> RemittanceRef<'a> {
    RemittanceRef {
        remittance_id: id(n),
        payer_id: id(PAYER),
        trace_number: "TRN-1",
        total_paid: Money::signed_parse(total).unwrap(),
        claims,
        provider_adjustments: plbs,
    }
}

fn post(books: &mut Books, r: RemittanceRef<'_>) -> PostingPlan {
    let plan = plan_posting(r, &books.claims).unwrap();
    books.apply(r.remittance_id, &plan);
    plan
}

fn paid_in_full() -> ClaimPayment {
    clp(
        "PCN10",
        "1",
        "200.00",
        "96.00",
        vec![],
        vec![svc(
            "99214",
            &[],
            "200.00",
            "96.00",
            vec![
                adj(AdjustmentGroup::CO, "45", "80.00"),
                adj(AdjustmentGroup::PR, "2", "24.00"),
            ],
        )],
    )
}

#[test]
fn a_later_payer_posts_onto_the_charge_claim_and_settles_the_patient_share() {
    // Claim 20 bills the secondary payer for claim 10's lines; the primary left 18.00 of
    // line 1 and 6.00 of line 2 to the patient.
    let primary = claim(10, &[("99214", &[], "150.00"), ("83036", &[], "50.00")]);
    let mut c = claim(20, &[("99214", &[], "150.00"), ("83036", &[], "50.00")]);
    c.lines = primary.lines.clone();
    c.cob = Some(CobBasis {
        charge_claim_id: primary.claim_id,
        patient_share: vec![
            (primary.lines[0].line_id, Decimal::new(1800, 2)),
            (primary.lines[1].line_id, Decimal::new(600, 2)),
        ],
    });
    c.patient_control_number = "PCN20".into();
    let claims = vec![clp(
        "PCN20",
        "2",
        "200.00",
        "20.40",
        vec![],
        vec![
            svc(
                "99214",
                &[],
                "150.00",
                "14.40",
                vec![
                    adj(AdjustmentGroup::OA, "23", "132.00"),
                    adj(AdjustmentGroup::PR, "2", "3.60"),
                ],
            ),
            svc(
                "83036",
                &[],
                "50.00",
                "6.00",
                vec![adj(AdjustmentGroup::OA, "23", "44.00")],
            ),
        ],
    )];
    let plan = plan_posting(rem(1, "20.40", &claims, &[]), std::slice::from_ref(&c)).unwrap();
    let got: Vec<(EntryKind, Uuid, Option<Uuid>, Decimal)> = plan
        .entries
        .iter()
        .map(|e| (e.kind, e.claim_id.unwrap(), e.claim_line_id, e.amount))
        .collect();
    let (l1, l2) = (primary.lines[0].line_id, primary.lines[1].line_id);
    let p = primary.claim_id;
    assert_eq!(
        got,
        [
            (
                EntryKind::PatientResponsibilityTransfer,
                p,
                Some(l1),
                Decimal::new(-1800, 2)
            ),
            (
                EntryKind::PatientResponsibilityTransfer,
                p,
                Some(l2),
                Decimal::new(-600, 2)
            ),
            (
                EntryKind::InsurancePayment,
                p,
                Some(l1),
                Decimal::new(-1440, 2)
            ),
            (
                EntryKind::PatientResponsibilityTransfer,
                p,
                Some(l1),
                Decimal::new(360, 2)
            ),
            (
                EntryKind::InsurancePayment,
                p,
                Some(l2),
                Decimal::new(-600, 2)
            ),
        ]
    );
    // Nothing remains with insurance; the patient keeps 3.60; the claim is paid.
    let (ins, pat, _) =
        plan.entries
            .iter()
            .fold((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |acc, e| {
                let (a, b, c) = e.effect();
                (acc.0 + a, acc.1 + b, acc.2 + c)
            });
    assert_eq!((ins, pat), (Decimal::ZERO, Decimal::new(-2040, 2)));
    assert_eq!(plan.claim_status_changes[0].to, ClaimStatus::Paid);
    assert_eq!(plan.claim_postings[0].claim_id, c.claim_id);
    assert!(plan.denials.is_empty());
}

#[test]
fn lines_are_matched_by_their_ref_6r_first() {
    // Two lines of one code; the payer answers in the other order and adjudicates the
    // first under another code: only REF*6R tells them apart.
    let c = claim(10, &[("99214", &[], "150.00"), ("99214", &[], "50.00")]);
    let (first, second) = (&c.lines[0], &c.lines[1]);
    assert_ne!(first.control_number, second.control_number);
    let mut a = svc("99214", &[], "50.00", "24.00", vec![]);
    a.line_control_number = Some(second.control_number.to_uppercase());
    let mut b = svc("99213", &[], "150.00", "72.00", vec![]);
    b.line_control_number = Some(format!(" {} ", first.control_number));
    assert_eq!(
        match_lines(&[a.clone(), b.clone()], &c.lines),
        [Some(second.line_id), Some(first.line_id)]
    );
    // Without it, code then position decide (here: wrongly, which is why 6R goes first).
    a.line_control_number = None;
    b.line_control_number = Some("9-000000000000".into());
    assert_eq!(
        match_lines(&[a, b], &c.lines),
        [Some(first.line_id), Some(second.line_id)]
    );
}

#[test]
fn allowed_120_paid_96_coinsurance_24() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [paid_in_full()];
    let plan = post(&mut books, rem(1, "96.00", &cps, &[]));
    assert!(plan.unmatched.is_empty());
    assert_eq!(plan.entries.len(), 3);
    let kinds: Vec<_> = plan.entries.iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(
        kinds,
        vec![
            (EntryKind::InsurancePayment, d("-96.00")),
            (EntryKind::ContractualAdjustment, d("-80.00")),
            (EntryKind::PatientResponsibilityTransfer, d("24.00")),
        ]
    );
    assert!(
        plan.entries
            .iter()
            .all(|e| e.claim_line_id == Some(id(1001)))
    );
    assert_eq!(plan.entries[2].carc.as_deref(), Some("2"));
    assert_eq!(
        plan.claim_status_changes,
        vec![StatusChange {
            claim_id: id(10),
            from: ClaimStatus::Submitted,
            to: ClaimStatus::Paid,
            reason: "adjudicated: nothing remains with the payer",
        }]
    );
    let b = books.balances();
    assert_eq!(
        b.claim(id(10)),
        Split {
            insurance: d("0.00"),
            patient: d("24.00")
        }
    );
    assert_eq!(b.patients[&id(11)], d("24.00"));
    assert_eq!(b.payers[&id(PAYER)], d("0.00"));
    assert_eq!(cash_total(&books.ledger), d("-96.00"));
    assert_eq!(plan.totals.posted_paid, d("96.00"));
}

#[test]
fn partial_denial_co97_leaves_the_line_with_the_payer() {
    let mut books = Books::new(vec![claim(
        10,
        &[("99213", &["25"], "150.00"), ("93000", &[], "50.00")],
    )]);
    let cps = [clp(
        "PCN10",
        "1",
        "200.00",
        "100.00",
        vec![],
        vec![
            // Out of order on purpose: matched by code, not position.
            svc(
                "93000",
                &[],
                "50.00",
                "0.00",
                vec![adj(AdjustmentGroup::CO, "97", "50.00")],
            ),
            svc(
                "99213",
                &["25"],
                "150.00",
                "100.00",
                vec![adj(AdjustmentGroup::CO, "45", "50.00")],
            ),
        ],
    )];
    let plan = post(&mut books, rem(1, "100.00", &cps, &[]));
    assert_eq!(books.status(id(10)), ClaimStatus::PartiallyPaid);
    assert_eq!(
        plan.claim_status_changes[0].reason,
        "the payer denied some service lines"
    );
    assert_eq!(
        plan.denials,
        vec![Denial {
            claim_id: id(10),
            claim_line_id: Some(id(1002)),
            group: AdjustmentGroup::CO,
            carc: "97".into(),
            amount: d("50.00"),
            remarks: vec![],
            posted: false,
        }]
    );
    let b = books.balances();
    assert_eq!(
        b.lines[&(id(10), Some(id(1001)))],
        Split {
            insurance: d("0.00"),
            patient: d("0")
        }
    );
    assert_eq!(b.lines[&(id(10), Some(id(1002)))].insurance, d("50.00"));
    assert_eq!(b.claim(id(10)).insurance, d("50.00"));
}

/// A timely-filing denial is not written off by posting: the 200.00 stays with the payer
/// (and in A/R) until the biller appeals or writes it off with a WriteOff entry.
#[test]
fn full_denial_co29_stays_until_the_biller_acts() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [clp(
        "PCN10",
        "4",
        "200.00",
        "0.00",
        vec![adj(AdjustmentGroup::CO, "29", "200.00")],
        vec![],
    )];
    let plan = post(&mut books, rem(1, "0.00", &cps, &[]));
    assert!(plan.entries.is_empty());
    assert_eq!(books.status(id(10)), ClaimStatus::Denied);
    assert_eq!(plan.denials.len(), 1);
    assert_eq!(
        (plan.denials[0].carc.as_str(), plan.denials[0].amount),
        ("29", d("200.00"))
    );
    assert_eq!(books.balances().claim(id(10)).insurance, d("200.00"));
    // Posted, not queued: the claim payment matched.
    assert_eq!(plan.claim_postings.len(), 1);
}

fn reversal_of_paid_in_full() -> ClaimPayment {
    clp(
        "PCN10",
        "22",
        "-200.00",
        "-96.00",
        vec![],
        vec![svc(
            "99214",
            &[],
            "-200.00",
            "-96.00",
            vec![
                adj(AdjustmentGroup::CO, "45", "-80.00"),
                adj(AdjustmentGroup::PR, "2", "-24.00"),
            ],
        )],
    )
}

fn readjudicated() -> ClaimPayment {
    clp(
        "PCN10",
        "1",
        "200.00",
        "110.00",
        vec![],
        vec![svc(
            "99214",
            &[],
            "200.00",
            "110.00",
            vec![
                adj(AdjustmentGroup::CO, "45", "80.00"),
                adj(AdjustmentGroup::PR, "3", "10.00"),
            ],
        )],
    )
}

fn assert_readjudicated(books: &Books) {
    let b = books.balances();
    assert_eq!(
        b.claim(id(10)),
        Split {
            insurance: d("0.00"),
            patient: d("10.00")
        }
    );
    assert_eq!(books.status(id(10)), ClaimStatus::Paid);
    assert_eq!(cash_total(&books.ledger), d("-110.00"));
    assert!(b.credit_balances().is_empty());
}

#[test]
fn reversal_and_readjudication_in_one_remittance() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let first = [paid_in_full()];
    post(&mut books, rem(1, "96.00", &first, &[]));
    let second = [reversal_of_paid_in_full(), readjudicated()];
    let plan = post(&mut books, rem(2, "14.00", &second, &[]));
    // Three reversals negating the three entries of the first posting, then three new.
    let reversed: Vec<_> = plan.entries[..3]
        .iter()
        .map(|e| (e.kind, e.amount, e.reverses.is_some()))
        .collect();
    assert_eq!(
        reversed,
        vec![
            (EntryKind::Reversal, d("96.00"), true),
            (EntryKind::Reversal, d("80.00"), true),
            (EntryKind::Reversal, d("-24.00"), true),
        ]
    );
    let changes: Vec<_> = plan
        .claim_status_changes
        .iter()
        .map(|c| (c.from, c.to))
        .collect();
    assert_eq!(
        changes,
        vec![
            (ClaimStatus::Paid, ClaimStatus::Submitted),
            (ClaimStatus::Submitted, ClaimStatus::Paid),
        ]
    );
    assert_eq!(plan.claim_postings[0].reverses_remittance, Some(id(1)));
    assert_readjudicated(&books);
}

#[test]
fn reversal_then_readjudication_in_the_next_remittance() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let first = [paid_in_full()];
    post(&mut books, rem(1, "96.00", &first, &[]));
    // The payer carries the negative balance forward (PLB FB) instead of a negative BPR.
    let second = [reversal_of_paid_in_full()];
    let fb_out = [plb("FB", "-96.00")];
    post(&mut books, rem(2, "0.00", &second, &fb_out));
    assert_eq!(books.status(id(10)), ClaimStatus::Submitted);
    assert_eq!(
        books.balances().claim(id(10)),
        Split {
            insurance: d("200.00"),
            patient: d("0.00")
        }
    );
    let third = [readjudicated()];
    let fb_in = [plb("FB", "96.00")];
    post(&mut books, rem(3, "14.00", &third, &fb_in));
    let b = books.balances();
    assert_eq!(
        b.claim(id(10)),
        Split {
            insurance: d("0.00"),
            patient: d("10.00")
        }
    );
    assert_eq!(books.status(id(10)), ClaimStatus::Paid);
    assert_eq!(b.provider_level[&id(PAYER)], d("0.00"));
    // 96.00 + 0.00 + 14.00 received in all.
    assert_eq!(cash_total(&books.ledger), d("-110.00"));
    // A second reversal of the same payment finds nothing left to reverse.
    let again = [reversal_of_paid_in_full()];
    let plan = plan_posting(rem(4, "-96.00", &again, &[]), &books.claims).unwrap();
    assert_eq!(plan.unmatched[0].reason, UnmatchedReason::NothingToReverse);
}

#[test]
fn plb_interest_increases_the_payment() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [paid_in_full()];
    let plbs = [plb("L6", "-2.50")];
    let plan = post(&mut books, rem(1, "98.50", &cps, &plbs));
    let e = plan.entries.last().unwrap();
    assert_eq!(
        (e.kind, e.side, e.amount),
        (EntryKind::ProviderAdjustment, Side::Provider, d("-2.50"))
    );
    assert_eq!(e.provider_adjustment_reason.as_deref(), Some("L6"));
    assert_eq!(e.patient_id, None);
    assert_eq!(plan.totals.provider_adjustments, d("-2.50"));
    assert_eq!(cash_total(&books.ledger), d("-98.50"));
    assert_eq!(books.balances().claim(id(10)).insurance, d("0.00"));
}

#[test]
fn plb_recoupment_reduces_the_payment() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [paid_in_full()];
    let plbs = [plb("WO", "30.00")];
    let plan = post(&mut books, rem(1, "66.00", &cps, &plbs));
    assert_eq!(plan.entries.last().unwrap().amount, d("30.00"));
    assert_eq!(books.balances().provider_level[&id(PAYER)], d("30.00"));
    assert_eq!(cash_total(&books.ledger), d("-66.00"));
}

#[test]
fn a_remittance_that_does_not_balance_posts_nothing() {
    let books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [paid_in_full()];
    let e = plan_posting(rem(1, "95.00", &cps, &[]), &books.claims).unwrap_err();
    assert_eq!(
        e,
        PostingError::DoesNotBalance {
            expected: d("95.00"),
            computed: d("96.00")
        }
    );
    // Interest on the wrong side.
    let plbs = [plb("L6", "2.50")];
    let e = plan_posting(rem(1, "98.50", &cps, &plbs), &books.claims).unwrap_err();
    assert_eq!(
        e,
        PostingError::DoesNotBalance {
            expected: d("98.50"),
            computed: d("93.50")
        }
    );
    let mut bad_claim = paid_in_full();
    bad_claim.total_charge = m("210.00");
    let e = plan_posting(rem(1, "96.00", &[bad_claim], &[]), &books.claims).unwrap_err();
    assert_eq!(
        e,
        PostingError::ClaimDoesNotBalance {
            index: 0,
            charge: d("210.00"),
            computed: d("200.00")
        }
    );
    let mut bad_line = paid_in_full();
    bad_line.lines[0].paid = m("90.00");
    bad_line.paid = m("90.00");
    let e = plan_posting(rem(1, "90.00", &[bad_line], &[]), &books.claims).unwrap_err();
    assert!(
        matches!(
            e,
            PostingError::LineDoesNotBalance {
                index: 0,
                line: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn unmatched_claims_are_queued_and_still_balance() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let mut stranger = paid_in_full();
    stranger.patient_control_number = "NOT-OURS".into();
    stranger.payer_claim_number = None;
    let cps = [stranger, paid_in_full()];
    let plan = post(&mut books, rem(1, "192.00", &cps, &[]));
    assert_eq!(plan.unmatched.len(), 1);
    assert_eq!(plan.unmatched[0].index, 0);
    assert_eq!(plan.unmatched[0].reason, UnmatchedReason::NoSuchClaim);
    assert_eq!(plan.totals.unmatched_paid, d("96.00"));
    assert_eq!(plan.totals.posted_paid, d("96.00"));
    assert_eq!(books.status(id(10)), ClaimStatus::Paid);
}

#[test]
fn matches_by_payer_claim_number_when_the_control_number_is_garbled() {
    let mut c = claim(10, &[("99214", &[], "200.00")]);
    c.payer_claim_number = Some("PAYER-PCN10".into());
    let mut books = Books::new(vec![c]);
    let mut cp = paid_in_full();
    cp.patient_control_number = "PCN1O".into();
    let plan = post(&mut books, rem(1, "96.00", &[cp], &[]));
    assert!(plan.unmatched.is_empty());
    assert_eq!(books.status(id(10)), ClaimStatus::Paid);
}

#[test]
fn refused_status_changes_and_other_payers_go_to_the_queue() {
    let mut draft = claim(10, &[("99214", &[], "200.00")]);
    draft.status = ClaimStatus::Draft;
    let mut other = claim(20, &[("99214", &[], "200.00")]);
    other.payer_id = Some(id(1));
    let books = Books::new(vec![draft, other]);
    let mut to_other = paid_in_full();
    to_other.patient_control_number = "PCN20".into();
    let cps = [paid_in_full(), to_other];
    let plan = plan_posting(rem(1, "192.00", &cps, &[]), &books.claims).unwrap();
    assert!(plan.entries.is_empty());
    assert_eq!(
        plan.unmatched[0].reason,
        UnmatchedReason::StatusRefused {
            from: ClaimStatus::Draft,
            to: ClaimStatus::Paid
        }
    );
    assert_eq!(plan.unmatched[1].reason, UnmatchedReason::OtherPayer);
}

#[test]
fn forwarded_and_predetermination_post_nothing() {
    let books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cp = clp(
        "PCN10",
        "25",
        "200.00",
        "0.00",
        vec![adj(AdjustmentGroup::OA, "101", "200.00")],
        vec![],
    );
    let plan = plan_posting(rem(1, "0.00", &[cp], &[]), &books.claims).unwrap();
    assert_eq!(
        plan.unmatched[0].reason,
        UnmatchedReason::NotPostable {
            status_code: "25".into()
        }
    );
}

#[test]
fn deductible_only_is_paid_and_owed_by_the_patient() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [clp(
        "PCN10",
        "1",
        "200.00",
        "0.00",
        vec![],
        vec![svc(
            "99214",
            &[],
            "200.00",
            "0.00",
            vec![
                adj(AdjustmentGroup::CO, "45", "80.00"),
                adj(AdjustmentGroup::PR, "1", "120.00"),
            ],
        )],
    )];
    post(&mut books, rem(1, "0.00", &cps, &[]));
    assert_eq!(books.status(id(10)), ClaimStatus::Paid);
    assert_eq!(
        books.balances().claim(id(10)),
        Split {
            insurance: d("0.00"),
            patient: d("120.00")
        }
    );
}

#[test]
fn claim_level_payment_without_lines() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [clp(
        "PCN10",
        "1",
        "180.00",
        "150.00",
        vec![adj(AdjustmentGroup::CO, "45", "30.00")],
        vec![],
    )];
    let plan = post(&mut books, rem(1, "150.00", &cps, &[]));
    assert!(plan.entries.iter().all(|e| e.claim_line_id.is_none()));
    assert_eq!(books.balances().claim(id(10)).insurance, d("20.00"));
    assert_eq!(books.status(id(10)), ClaimStatus::PartiallyPaid);
}

/// A line paid in part with a denial CARC beside the fee-schedule reduction: the CO-50 part is
/// posted (the line is adjudicated) and also reported as a partial denial; CO-45 is not.
#[test]
fn a_denial_carc_on_a_paid_line_is_a_posted_partial_denial() {
    let mut books = Books::new(vec![claim(10, &[("99214", &[], "200.00")])]);
    let cps = [clp(
        "PCN10",
        "1",
        "200.00",
        "100.00",
        vec![],
        vec![svc(
            "99214",
            &[],
            "200.00",
            "100.00",
            vec![
                adj(AdjustmentGroup::CO, "45", "60.00"),
                adj(AdjustmentGroup::CO, "50", "40.00"),
            ],
        )],
    )];
    let plan = post(&mut books, rem(1, "100.00", &cps, &[]));
    assert_eq!(books.status(id(10)), ClaimStatus::Paid);
    assert_eq!(
        plan.denials,
        vec![Denial {
            claim_id: id(10),
            claim_line_id: Some(id(1001)),
            group: AdjustmentGroup::CO,
            carc: "50".into(),
            amount: d("40.00"),
            remarks: vec![],
            posted: true,
        }]
    );
    assert_eq!(books.balances().claim(id(10)).insurance, d("0.00"));
}

/// The hand-worked claim payment with a mistyped CLP01, as two lines: 99214 150.00 (72.00
/// paid, CO-45 60.00, PR-2 18.00) and 83036 50.00 (24.00 paid, CO-45 20.00, PR-2 6.00).
fn typo_two_lines() -> ClaimPayment {
    let mut cp = clp(
        "PCN1O",
        "1",
        "200.00",
        "96.00",
        vec![],
        vec![
            svc(
                "99214",
                &[],
                "150.00",
                "72.00",
                vec![
                    adj(AdjustmentGroup::CO, "45", "60.00"),
                    adj(AdjustmentGroup::PR, "2", "18.00"),
                ],
            ),
            svc(
                "83036",
                &[],
                "50.00",
                "24.00",
                vec![
                    adj(AdjustmentGroup::CO, "45", "20.00"),
                    adj(AdjustmentGroup::PR, "2", "6.00"),
                ],
            ),
        ],
    );
    cp.patient_responsibility = Some(m("24.00"));
    cp
}

#[test]
fn a_claim_payment_matched_by_hand_posts_as_a_match_would() {
    let books = Books::new(vec![claim(
        10,
        &[("99214", &[], "150.00"), ("83036", &[], "50.00")],
    )]);
    let cp = typo_two_lines();
    let claims = vec![cp.clone()];
    // Automatic matching finds nothing: CLP01 has a typo.
    let auto = plan_posting(rem(1, "96.00", &claims, &[]), &books.claims).unwrap();
    assert_eq!(auto.unmatched[0].reason, UnmatchedReason::NoSuchClaim);
    let mut fixed = cp.clone();
    fixed.patient_control_number = "PCN10".into();
    let fixed_claims = vec![fixed];
    let matched = plan_posting(rem(1, "96.00", &fixed_claims, &[]), &books.claims).unwrap();
    let by_hand =
        plan_claim_payment(rem(1, "96.00", &claims, &[]), 0, &cp, &books.claims[0]).unwrap();
    assert_eq!(by_hand.entries, matched.entries);
    assert_eq!(by_hand.claim_status_changes, matched.claim_status_changes);
    assert_eq!(by_hand.claim_postings, matched.claim_postings);
    assert_eq!(by_hand.totals.posted_paid, d("96.00"));
    assert!(by_hand.unmatched.is_empty());
}

#[test]
fn a_claim_the_lifecycle_refuses_takes_nothing_by_hand() {
    let mut c = claim(10, &[("99214", &[], "200.00")]);
    c.status = ClaimStatus::Draft;
    let cp = paid_in_full();
    let claims = vec![cp.clone()];
    let got = plan_claim_payment(rem(1, "96.00", &claims, &[]), 0, &cp, &c);
    assert_eq!(
        got,
        Err(ManualPostingError::Refused(
            UnmatchedReason::StatusRefused {
                from: ClaimStatus::Draft,
                to: ClaimStatus::Paid
            }
        ))
    );
}

#[test]
fn a_split_gives_each_part_its_lines_and_adds_up() {
    let cp = typo_two_lines();
    let parts = split_claim_payment(
        &cp,
        &[
            SplitPart {
                lines: vec![1],
                claim_adjustments: false,
            },
            SplitPart {
                lines: vec![0],
                claim_adjustments: false,
            },
        ],
    )
    .unwrap();
    assert_eq!(parts[0].total_charge, m("50.00"));
    assert_eq!(parts[0].paid, m("24.00"));
    assert_eq!(parts[0].patient_responsibility, Some(m("6.00")));
    assert_eq!(parts[0].lines[0].procedure_code.as_str(), "83036");
    assert_eq!(parts[1].total_charge, m("150.00"));
    assert_eq!(parts[1].paid, m("72.00"));
    assert_eq!(parts[1].patient_responsibility, Some(m("18.00")));
    for (i, p) in parts.iter().enumerate() {
        check_claim_payment(i, p).unwrap();
    }
}

#[test]
fn a_split_that_does_not_assign_every_line_once_is_refused() {
    let cp = typo_two_lines();
    let part = |lines: Vec<usize>| SplitPart {
        lines,
        claim_adjustments: false,
    };
    let err = |parts: &[SplitPart]| split_claim_payment(&cp, parts).unwrap_err().pointer;
    assert_eq!(err(&[part(vec![0, 1])]), "/parts");
    assert_eq!(err(&[part(vec![0]), part(vec![0])]), "/parts/1/lines/0");
    assert_eq!(err(&[part(vec![0]), part(vec![2])]), "/parts/1/lines/0");
    assert_eq!(err(&[part(vec![0]), part(vec![])]), "/parts/1/lines");
    assert_eq!(err(&[part(vec![0]), part(vec![0, 1])]), "/parts/1/lines/0");
    // Claim-level adjustments must go to exactly one part.
    let mut with_claim_cas = cp.clone();
    with_claim_cas.adjustments = vec![adj(AdjustmentGroup::CO, "253", "1.92")];
    with_claim_cas.paid = m("94.08");
    with_claim_cas.total_charge = m("200.00");
    check_claim_payment(0, &with_claim_cas).unwrap();
    let e = split_claim_payment(&with_claim_cas, &[part(vec![0]), part(vec![1])]).unwrap_err();
    assert_eq!(e.pointer, "/parts");
    let ok = split_claim_payment(
        &with_claim_cas,
        &[
            part(vec![0]),
            SplitPart {
                lines: vec![1],
                claim_adjustments: true,
            },
        ],
    )
    .unwrap();
    assert_eq!(ok[1].paid, m("22.08"));
    check_claim_payment(1, &ok[1]).unwrap();
    // Lines that do not carry the whole claim charge cannot be split.
    let mut short = cp.clone();
    short.total_charge = m("210.00");
    short.adjustments = vec![adj(AdjustmentGroup::CO, "45", "10.00")];
    check_claim_payment(0, &short).unwrap();
    let e = split_claim_payment(
        &short,
        &[
            SplitPart {
                lines: vec![0],
                claim_adjustments: true,
            },
            part(vec![1]),
        ],
    )
    .unwrap_err();
    assert_eq!(e.pointer, "/parts");
    assert!(
        e.message.contains("200.00") && e.message.contains("210.00"),
        "{}",
        e.message
    );
}

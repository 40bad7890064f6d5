//! Planning the posting of one remittance (the structured 835): which ledger entries to append,
//! which claim statuses change, and which claim payments go to the work queue. Pure: the store
//! applies a plan in one transaction, or nothing.
//!
//! Rules, as billers post by hand:
//! - A remittance that does not balance posts nothing: each CLP must satisfy
//!   `CLP03 = CLP04 + all CAS` (claim and line), each SVC `SVC02 = SVC03 + line CAS`, and the
//!   whole `BPR02 = sum(CLP04) - sum(PLB)` (in the 835 a positive PLB amount reduces the payment,
//!   a recoupment; a negative one increases it, e.g. L6 interest).
//! - CLP01 is matched to our patient control number, then CLP07 to the payer's claim number we
//!   know. A claim payment we cannot match (or whose status change the lifecycle refuses) is not
//!   an error: it goes to `unmatched` and its money still counts in the balance check.
//! - Per service line: the paid amount is an insurance payment, each CAS adjustment an entry of
//!   the kind its group names (CO contractual, PR transfer to the patient with CARC 1 deductible,
//!   2 coinsurance, 3 copay, OA other, PI payer-initiated, CR correction). Claim-level CAS posts
//!   at claim level. SVC lines match our lines by procedure code and modifiers, then by code,
//!   then by position.
//! - A denial is not an adjustment: on a denied line (nothing paid, nothing to the patient) the
//!   CAS amounts are reported in `denials`, not posted, and the balance stays with the payer until
//!   the biller appeals, corrects or writes it off.
//! - CLP02 22 reverses our latest unreversed posting for the claim whose payment equals its
//!   (negative) CLP04: each entry is negated exactly and the status before that posting returns.
//!   Re-adjudication then arrives as an ordinary CLP, in the same or a later remittance.
//! - PLB adjustments are provider-level entries carrying the PLB amount as is (our sign
//!   convention and the 835's agree: positive means the practice is owed more).
//! - Coordination of benefits: a secondary (or tertiary) claim has no charges of its own; its
//!   payer's decision posts onto the primary claim's lines. For each line the payer decided,
//!   what the patient owes on it now moves back from the patient to insurance (the balance
//!   billed to this payer), then the payment and the adjustments post as above, so this
//!   payer's PR is what the patient still owes. CARC 23 (the impact of prior payers'
//!   adjudication) repeats what the earlier payers already settled and is not posted again.
//!
//! Posting the same 835 twice must change nothing: the store refuses a second remittance with the
//! same payer and trace number (TRN02) before it calls this.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::ledger::{EntryKind, LedgerEntry, NewLedgerEntry, Side, reversal_of};
use super::lifecycle;
use crate::codes::{Modifier, Money, ProcedureCode};
use crate::model::claim::ClaimStatus;
use crate::model::remittance::{
    Adjustment, AdjustmentGroup, ClaimPayment, ProviderAdjustment, ServicePayment,
};

/// CLP02: the payer reverses its earlier decision on the claim.
const CLP_REVERSAL: &str = "22";
/// CLP02: denied.
const CLP_DENIED: &str = "4";
/// CLP02: not our claim, forwarded to another payer; nothing to post.
const CLP_FORWARDED: &str = "23";
/// CLP02: predetermination pricing only, no payment; nothing to post.
const CLP_PREDETERMINATION: &str = "25";
/// CARC 23: the impact of prior payers' adjudication (settled by the earlier payers already).
const CARC_PRIOR_PAYERS: &str = "23";

/// The part of a remittance posting needs.
#[derive(Debug, Clone, Copy)]
pub struct RemittanceRef<'a> {
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    pub trace_number: &'a str,
    /// BPR02.
    pub total_paid: Money,
    pub claims: &'a [ClaimPayment],
    pub provider_adjustments: &'a [ProviderAdjustment],
}

impl<'a> From<&'a crate::model::remittance::Remittance> for RemittanceRef<'a> {
    fn from(r: &'a crate::model::remittance::Remittance) -> Self {
        RemittanceRef {
            remittance_id: r.id,
            payer_id: r.payer_id,
            trace_number: &r.trace_number,
            total_paid: r.total_paid.0,
            claims: &r.claims,
            provider_adjustments: &r.provider_adjustments,
        }
    }
}

/// One of our claim lines, as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingLine {
    pub line_id: Uuid,
    /// The REF*6R it was sent with (empty when unknown).
    pub control_number: String,
    pub procedure_code: ProcedureCode,
    pub modifiers: Vec<Modifier>,
    pub charge: Money,
}

/// An earlier posting of a remittance to this claim (what the store recorded from a
/// [`ClaimPosting`]), with the entries it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorPosting {
    /// Identifies the posting: one remittance posts to a claim once per CLP (a reversal and a
    /// re-adjudication of one claim in one remittance are two postings with the same id; only
    /// the re-adjudication can later be reversed, the reversal carries `reverses_remittance`).
    pub remittance_id: Uuid,
    pub status_before: ClaimStatus,
    /// For a CLP02 22 posting: the remittance whose posting it reversed.
    pub reverses_remittance: Option<Uuid>,
    pub entries: Vec<LedgerEntry>,
}

/// One of our claims that a remittance may pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub payer_id: Option<Uuid>,
    pub patient_control_number: String,
    /// CLP07 from an earlier remittance, if any.
    pub payer_claim_number: Option<String>,
    pub status: ClaimStatus,
    /// The insurance part of the claim's balance now (from the ledger).
    pub insurance_balance: Decimal,
    pub lines: Vec<PostingLine>,
    /// Oldest first.
    pub postings: Vec<PriorPosting>,
    /// Set when this claim bills a later payer (secondary, tertiary) for services whose
    /// charges live on an earlier claim.
    pub cob: Option<CobBasis>,
}

/// Coordination of benefits: what a later payer's claim settles. Its `lines` are the charge
/// claim's lines (with this claim's own line control numbers, which its payer echoes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CobBasis {
    /// The claim whose lines carry the charges (the primary's claim): every entry goes there.
    pub charge_claim_id: Uuid,
    /// Per line of the charge claim: what the patient owes on it now (the earlier payers'
    /// patient responsibility less what the patient paid). Posting this payer's decision on a
    /// line first moves that amount back to insurance, for this payer to pay or adjust.
    pub patient_share: Vec<(Uuid, Decimal)>,
}

impl PostingClaim {
    /// The claim the entries are posted to.
    fn ledger_claim(&self) -> Uuid {
        self.cob
            .as_ref()
            .map_or(self.claim_id, |c| c.charge_claim_id)
    }
}

/// A status change the plan makes; the store records it as a lifecycle transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub claim_id: Uuid,
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub reason: &'static str,
}

/// What one CLP did to one claim: the store keeps it so a later reversal can find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimPosting {
    /// Position of the CLP in the remittance.
    pub index: usize,
    pub claim_id: Uuid,
    pub status_before: ClaimStatus,
    pub status_after: ClaimStatus,
    /// Indices into [`PostingPlan::entries`].
    pub entries: std::ops::Range<usize>,
    pub payer_claim_number: Option<String>,
    /// For CLP02 22: the remittance whose posting was reversed.
    pub reverses_remittance: Option<Uuid>,
}

/// A denied line's (or claim's) adjustment: reported, not posted; or, with `posted`, an
/// adjustment posted on a line (or claim) that was otherwise paid whose CARC is a denial
/// (`denials::is_partial_denial`): a partial denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    pub claim_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    pub group: AdjustmentGroup,
    pub carc: String,
    pub amount: Decimal,
    pub remarks: Vec<String>,
    pub posted: bool,
}

/// Why a claim payment went to the work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum UnmatchedReason {
    /// Neither CLP01 nor CLP07 names one of our claims.
    NoSuchClaim,
    /// More than one claim has this control number.
    Ambiguous,
    /// The claim is billed to another payer.
    OtherPayer,
    /// The lifecycle does not allow the status this payment would set.
    StatusRefused { from: ClaimStatus, to: ClaimStatus },
    /// CLP02 22 with no earlier posting of the same payment to reverse.
    NothingToReverse,
    /// CLP02 23 (forwarded, not this payer's) or 25 (predetermination): nothing to post.
    NotPostable { status_code: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedClaimPayment {
    pub index: usize,
    pub patient_control_number: String,
    pub payer_claim_number: Option<String>,
    pub paid: Decimal,
    pub reason: UnmatchedReason,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostingTotals {
    /// Sum of CLP04, matched or not.
    pub claims_paid: Decimal,
    pub posted_paid: Decimal,
    pub unmatched_paid: Decimal,
    /// Sum of PLB amounts (835 sign: positive reduces the payment).
    pub provider_adjustments: Decimal,
    /// BPR02.
    pub remittance_total: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostingPlan {
    pub entries: Vec<NewLedgerEntry>,
    pub claim_status_changes: Vec<StatusChange>,
    pub claim_postings: Vec<ClaimPosting>,
    pub denials: Vec<Denial>,
    pub unmatched: Vec<UnmatchedClaimPayment>,
    pub totals: PostingTotals,
}

/// Why a remittance cannot be posted at all. Amounts only, never PHI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error(
        "the remittance does not balance: BPR02 is {expected} but claim payments less provider adjustments come to {computed}"
    )]
    DoesNotBalance {
        expected: Decimal,
        computed: Decimal,
    },
    #[error(
        "claim payment {index} does not balance: CLP03 is {charge} but CLP04 plus adjustments come to {computed}"
    )]
    ClaimDoesNotBalance {
        index: usize,
        charge: Decimal,
        computed: Decimal,
    },
    #[error(
        "claim payment {index}, service line {line}: SVC02 is {charge} but SVC03 plus adjustments come to {computed}"
    )]
    LineDoesNotBalance {
        index: usize,
        line: usize,
        charge: Decimal,
        computed: Decimal,
    },
}

fn sum_adj(adjs: &[Adjustment]) -> Decimal {
    adjs.iter().map(|a| a.amount.0.as_decimal()).sum()
}

/// Checks every balancing rule; the first failure is the error.
pub fn check_balance(r: &RemittanceRef<'_>) -> Result<(), PostingError> {
    for (index, c) in r.claims.iter().enumerate() {
        check_claim_payment(index, c)?;
    }
    let paid: Decimal = r.claims.iter().map(|c| c.paid.0.as_decimal()).sum();
    let plb: Decimal = r
        .provider_adjustments
        .iter()
        .map(|p| p.amount.0.as_decimal())
        .sum();
    let expected = r.total_paid.as_decimal();
    if paid - plb != expected {
        return Err(PostingError::DoesNotBalance {
            expected,
            computed: paid - plb,
        });
    }
    Ok(())
}

/// Plans the posting of `remittance` against `claims` (the candidates the store found by
/// control number and payer claim number). Errors only when the remittance does not balance.
pub fn plan_posting(
    remittance: RemittanceRef<'_>,
    claims: &[PostingClaim],
) -> Result<PostingPlan, PostingError> {
    check_balance(&remittance)?;
    let mut plan = PostingPlan::default();
    // Mutable view of each claim as the plan goes: several CLPs may name one claim.
    let mut state: Vec<ClaimState> = claims.iter().map(ClaimState::new).collect();
    for (index, cp) in remittance.claims.iter().enumerate() {
        let paid = cp.paid.0.as_decimal();
        plan.totals.claims_paid += paid;
        let outcome = match find_claim(claims, cp, remittance.payer_id) {
            Err(reason) => Err(reason),
            Ok(k) => plan_claim(&remittance, index, cp, &claims[k], &mut state[k], &mut plan),
        };
        match outcome {
            Ok(()) => plan.totals.posted_paid += paid,
            Err(reason) => {
                plan.totals.unmatched_paid += paid;
                plan.unmatched.push(UnmatchedClaimPayment {
                    index,
                    patient_control_number: cp.patient_control_number.clone(),
                    payer_claim_number: cp.payer_claim_number.clone(),
                    paid,
                    reason,
                });
            }
        }
    }
    for p in remittance.provider_adjustments {
        let amount = p.amount.0.as_decimal();
        plan.totals.provider_adjustments += amount;
        let mut e = NewLedgerEntry::new(EntryKind::ProviderAdjustment, Side::Provider, amount)
            .payer(Some(remittance.payer_id));
        e.provider_adjustment_reason = Some(p.reason.clone());
        e.reference = p.reference.clone();
        plan.entries.push(stamp(e, &remittance));
    }
    plan.totals.remittance_total = remittance.total_paid.as_decimal();
    Ok(plan)
}

struct ClaimState {
    status: ClaimStatus,
    insurance_balance: Decimal,
    /// Remittances whose posting to this claim is already reversed (before or in this plan).
    reversed: BTreeSet<Uuid>,
}

impl ClaimState {
    fn new(c: &PostingClaim) -> ClaimState {
        let reversed = c
            .postings
            .iter()
            .filter_map(|p| p.reverses_remittance)
            .collect();
        ClaimState {
            status: c.status,
            insurance_balance: c.insurance_balance,
            reversed,
        }
    }
}

fn find_claim(
    claims: &[PostingClaim],
    cp: &ClaimPayment,
    payer_id: Uuid,
) -> Result<usize, UnmatchedReason> {
    let pcn = cp.patient_control_number.trim();
    let by_pcn: Vec<usize> = (0..claims.len())
        .filter(|&i| claims[i].patient_control_number.eq_ignore_ascii_case(pcn))
        .collect();
    let found = match by_pcn.len() {
        1 => by_pcn[0],
        0 => {
            let Some(pcn7) = cp.payer_claim_number.as_deref().map(str::trim) else {
                return Err(UnmatchedReason::NoSuchClaim);
            };
            let by7: Vec<usize> = (0..claims.len())
                .filter(|&i| claims[i].payer_claim_number.as_deref() == Some(pcn7))
                .collect();
            match by7.len() {
                1 => by7[0],
                0 => return Err(UnmatchedReason::NoSuchClaim),
                _ => return Err(UnmatchedReason::Ambiguous),
            }
        }
        _ => return Err(UnmatchedReason::Ambiguous),
    };
    if claims[found].payer_id != Some(payer_id) {
        return Err(UnmatchedReason::OtherPayer);
    }
    Ok(found)
}

fn stamp(mut e: NewLedgerEntry, r: &RemittanceRef<'_>) -> NewLedgerEntry {
    e.remittance_id = Some(r.remittance_id);
    e.trace_number = Some(r.trace_number.to_string());
    e
}

/// Plans one CLP for a matched claim; on `Err` nothing is added to the plan.
fn plan_claim(
    r: &RemittanceRef<'_>,
    index: usize,
    cp: &ClaimPayment,
    claim: &PostingClaim,
    st: &mut ClaimState,
    plan: &mut PostingPlan,
) -> Result<(), UnmatchedReason> {
    let mut entries = Vec::new();
    let mut denials = Vec::new();
    let mut reverses_remittance = None;
    let (to, reason) = match cp.status_code.as_str() {
        CLP_REVERSAL => {
            let paid = cp.paid.0.as_decimal();
            let prior = claim
                .postings
                .iter()
                .rev()
                .find(|p| {
                    let is_reversal = p.reverses_remittance.is_some();
                    let already = st.reversed.contains(&p.remittance_id);
                    let p_paid: Decimal = p
                        .entries
                        .iter()
                        .filter(|e| e.kind == EntryKind::InsurancePayment)
                        .map(|e| e.amount)
                        .sum();
                    !is_reversal && !already && p_paid == paid
                })
                .ok_or(UnmatchedReason::NothingToReverse)?;
            for e in &prior.entries {
                entries.push(stamp(reversal_of(e), r));
            }
            reverses_remittance = Some(prior.remittance_id);
            (
                prior.status_before,
                "CLP02 22: the payer reversed its earlier decision",
            )
        }
        CLP_FORWARDED | CLP_PREDETERMINATION => {
            return Err(UnmatchedReason::NotPostable {
                status_code: cp.status_code.clone(),
            });
        }
        code => {
            let lines = match_lines(&cp.lines, &claim.lines);
            if let Some(cob) = &claim.cob {
                let decided: Vec<Uuid> = if cp.lines.is_empty() {
                    claim.lines.iter().map(|l| l.line_id).collect()
                } else {
                    lines.iter().flatten().copied().collect()
                };
                for (line, share) in &cob.patient_share {
                    if share.is_zero() || !decided.contains(line) {
                        continue;
                    }
                    let e = NewLedgerEntry::new(
                        EntryKind::PatientResponsibilityTransfer,
                        Side::InsuranceToPatient,
                        -*share,
                    )
                    .claim(cob.charge_claim_id, Some(*line))
                    .patient(claim.patient_id)
                    .payer(claim.payer_id);
                    entries.push(stamp(e, r));
                }
            }
            let mut pr_total = Decimal::ZERO;
            let mut any_line_denied = false;
            for (svc, line_id) in cp.lines.iter().zip(&lines) {
                let svc_pr = pr_sum(&svc.adjustments);
                pr_total += svc_pr;
                // For a later payer, a line whose only adjustment is the earlier payers' impact
                // (CARC 23) was settled before it: nothing was denied.
                let settled_before = claim.cob.is_some()
                    && svc
                        .adjustments
                        .iter()
                        .all(|a| a.reason == CARC_PRIOR_PAYERS || a.amount.0.is_zero());
                let denied = svc.paid.0.is_zero()
                    && svc_pr.is_zero()
                    && !svc.charge.0.is_zero()
                    && !settled_before;
                any_line_denied |= denied;
                post_service(claim, *line_id, svc, denied, &mut entries, &mut denials, r);
            }
            pr_total += pr_sum(&cp.adjustments);
            let paid = cp.paid.0.as_decimal();
            let claim_denied = code == CLP_DENIED || (paid.is_zero() && pr_total.is_zero());
            post_adjustments(
                claim,
                None,
                &cp.adjustments,
                &[],
                claim_denied,
                &mut entries,
                &mut denials,
                r,
            );
            if !paid.is_zero() && cp.lines.is_empty() {
                entries.push(stamp(payment(claim, None, paid, &[]), r));
            }
            let remaining =
                st.insurance_balance + entries.iter().map(|e| e.effect().0).sum::<Decimal>();
            if claim_denied {
                (ClaimStatus::Denied, "the payer denied the claim")
            } else if any_line_denied {
                (
                    ClaimStatus::PartiallyPaid,
                    "the payer denied some service lines",
                )
            } else if remaining > Decimal::ZERO {
                (
                    ClaimStatus::PartiallyPaid,
                    "part of the charge remains with the payer",
                )
            } else {
                (
                    ClaimStatus::Paid,
                    "adjudicated: nothing remains with the payer",
                )
            }
        }
    };
    let from = st.status;
    if to != from {
        lifecycle::check(from, to).map_err(|e| UnmatchedReason::StatusRefused {
            from: e.from,
            to: e.to,
        })?;
        plan.claim_status_changes.push(StatusChange {
            claim_id: claim.claim_id,
            from,
            to,
            reason,
        });
    }
    if let Some(rem) = reverses_remittance {
        st.reversed.insert(rem);
    }
    for e in &entries {
        st.insurance_balance += e.effect().0;
    }
    st.status = to;
    let start = plan.entries.len();
    plan.entries.extend(entries);
    plan.denials.extend(denials);
    plan.claim_postings.push(ClaimPosting {
        index,
        claim_id: claim.claim_id,
        status_before: from,
        status_after: to,
        entries: start..plan.entries.len(),
        payer_claim_number: cp.payer_claim_number.clone(),
        reverses_remittance,
    });
    Ok(())
}

fn pr_sum(adjs: &[Adjustment]) -> Decimal {
    adjs.iter()
        .filter(|a| a.group == AdjustmentGroup::PR)
        .map(|a| a.amount.0.as_decimal())
        .sum()
}

fn payment(
    claim: &PostingClaim,
    line: Option<Uuid>,
    paid: Decimal,
    remarks: &[String],
) -> NewLedgerEntry {
    let mut e = NewLedgerEntry::new(EntryKind::InsurancePayment, Side::Insurance, -paid)
        .claim(claim.ledger_claim(), line)
        .patient(claim.patient_id)
        .payer(claim.payer_id);
    e.remarks = remarks.to_vec();
    e
}

fn post_service(
    claim: &PostingClaim,
    line: Option<Uuid>,
    svc: &ServicePayment,
    denied: bool,
    entries: &mut Vec<NewLedgerEntry>,
    denials: &mut Vec<Denial>,
    r: &RemittanceRef<'_>,
) {
    let paid = svc.paid.0.as_decimal();
    if !paid.is_zero() {
        entries.push(stamp(payment(claim, line, paid, &svc.remarks), r));
    }
    post_adjustments(
        claim,
        line,
        &svc.adjustments,
        &svc.remarks,
        denied,
        entries,
        denials,
        r,
    );
}

#[allow(clippy::too_many_arguments)]
fn post_adjustments(
    claim: &PostingClaim,
    line: Option<Uuid>,
    adjs: &[Adjustment],
    remarks: &[String],
    denied: bool,
    entries: &mut Vec<NewLedgerEntry>,
    denials: &mut Vec<Denial>,
    r: &RemittanceRef<'_>,
) {
    for a in adjs {
        let amount = a.amount.0.as_decimal();
        if amount.is_zero() || (claim.cob.is_some() && a.reason == CARC_PRIOR_PAYERS) {
            continue;
        }
        if denied {
            denials.push(Denial {
                claim_id: claim.claim_id,
                claim_line_id: line,
                group: a.group,
                carc: a.reason.clone(),
                amount,
                remarks: remarks.to_vec(),
                posted: false,
            });
            continue;
        }
        if super::denials::is_partial_denial(a.group, &a.reason) {
            denials.push(Denial {
                claim_id: claim.claim_id,
                claim_line_id: line,
                group: a.group,
                carc: a.reason.clone(),
                amount,
                remarks: remarks.to_vec(),
                posted: true,
            });
        }
        let kind = EntryKind::for_group(a.group);
        let (side, signed) = if kind == EntryKind::PatientResponsibilityTransfer {
            (Side::InsuranceToPatient, amount)
        } else {
            (Side::Insurance, -amount)
        };
        let mut e = NewLedgerEntry::new(kind, side, signed)
            .claim(claim.ledger_claim(), line)
            .patient(claim.patient_id)
            .payer(claim.payer_id);
        e.group = Some(a.group);
        e.carc = Some(a.reason.clone());
        e.remarks = remarks.to_vec();
        entries.push(stamp(e, r));
    }
}

/// Our line for each SVC: the line its REF*6R names, then same code and modifiers (any order),
/// then same code, then the line at the same position; `None` posts at claim level. Each of our
/// lines is used once.
pub fn match_lines(svcs: &[ServicePayment], ours: &[PostingLine]) -> Vec<Option<Uuid>> {
    let mut used = vec![false; ours.len()];
    let mut out = vec![None; svcs.len()];
    fn sorted(m: &[Modifier]) -> Vec<&str> {
        let mut v: Vec<&str> = m.iter().map(Modifier::as_str).collect();
        v.sort_unstable();
        v
    }
    let passes: [&dyn Fn(usize, usize) -> bool; 4] = [
        &|s, o| {
            svcs[s]
                .line_control_number
                .as_deref()
                .map(str::trim)
                .is_some_and(|n| !n.is_empty() && n.eq_ignore_ascii_case(&ours[o].control_number))
        },
        &|s, o| {
            svcs[s].procedure_code == ours[o].procedure_code
                && sorted(&svcs[s].modifiers) == sorted(&ours[o].modifiers)
        },
        &|s, o| svcs[s].procedure_code == ours[o].procedure_code,
        &|s, o| s == o,
    ];
    for pass in passes {
        for (s, slot) in out.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            if let Some(o) = (0..ours.len()).find(|&o| !used[o] && pass(s, o)) {
                used[o] = true;
                *slot = Some(ours[o].line_id);
            }
        }
    }
    out
}

mod manual;
pub use manual::{
    ManualPostingError, SplitError, SplitPart, check_claim_payment, merge_plans,
    plan_claim_payment, split_claim_payment,
};

#[cfg(test)]
pub(crate) mod sim;

#[cfg(test)]
mod tests;

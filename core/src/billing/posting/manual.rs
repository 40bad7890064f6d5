//! Posting a claim payment that matched none of our claims to the claim (or claims) a biller
//! chose. The money is posted exactly as automatic matching would have posted it (the same
//! per-line payments, CAS adjustments, patient responsibility, denials and lifecycle move):
//! only the choice of claim is the biller's.
//!
//! A split assigns each service line (SVC) of one claim payment to one of several claims: each
//! part becomes a claim payment of its own (its lines, their charges and payments, its share of
//! patient responsibility), and the parts must add up to the claim payment exactly.

use rust_decimal::Decimal;

use super::{
    ClaimState, PostingClaim, PostingError, PostingPlan, RemittanceRef, UnmatchedReason,
    plan_claim, pr_sum, sum_adj,
};
use crate::codes::Money;
use crate::model::remittance::{ClaimPayment, SignedMoney};

/// CLP02 22 reverses one earlier posting: it is not split.
const CLP_REVERSAL: &str = "22";

/// Why a claim payment cannot be posted to the claim chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualPostingError {
    /// The claim payment itself does not balance.
    Balance(PostingError),
    /// The claim cannot take it (the lifecycle refuses the status, nothing to reverse, a
    /// status that posts nothing).
    Refused(UnmatchedReason),
}

/// Checks `CLP03 = CLP04 + CAS` (claim and lines) and `SVC02 = SVC03 + CAS` for one claim
/// payment at position `index`.
pub fn check_claim_payment(index: usize, c: &ClaimPayment) -> Result<(), PostingError> {
    for (line, l) in c.lines.iter().enumerate() {
        let computed = l.paid.0.as_decimal() + sum_adj(&l.adjustments);
        let charge = l.charge.0.as_decimal();
        if computed != charge {
            return Err(PostingError::LineDoesNotBalance {
                index,
                line,
                charge,
                computed,
            });
        }
    }
    let computed = c.paid.0.as_decimal()
        + sum_adj(&c.adjustments)
        + c.lines
            .iter()
            .map(|l| sum_adj(&l.adjustments))
            .sum::<Decimal>();
    let charge = c.total_charge.0.as_decimal();
    if computed != charge {
        return Err(PostingError::ClaimDoesNotBalance {
            index,
            charge,
            computed,
        });
    }
    Ok(())
}

/// Plans posting the claim payment at `index` of `remittance` (`cp`, the whole CLP or one part
/// of a split) to `claim`, as if it had matched. The entries carry the remittance and its
/// trace number; the plan's totals are this claim payment's.
pub fn plan_claim_payment(
    remittance: RemittanceRef<'_>,
    index: usize,
    cp: &ClaimPayment,
    claim: &PostingClaim,
) -> Result<PostingPlan, ManualPostingError> {
    check_claim_payment(index, cp).map_err(ManualPostingError::Balance)?;
    let mut plan = PostingPlan::default();
    let mut state = ClaimState::new(claim);
    plan_claim(&remittance, index, cp, claim, &mut state, &mut plan)
        .map_err(ManualPostingError::Refused)?;
    let paid = cp.paid.0.as_decimal();
    plan.totals.claims_paid = paid;
    plan.totals.posted_paid = paid;
    plan.totals.remittance_total = remittance.total_paid.as_decimal();
    Ok(plan)
}

/// One part of a split, as the biller gave it: the positions of the service lines (SVC) it
/// takes, and whether it takes the claim-level adjustments (CAS at CLP level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPart {
    pub lines: Vec<usize>,
    pub claim_adjustments: bool,
}

/// A split the claim payment does not allow; `pointer` names the member of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub pointer: String,
    pub message: String,
}

fn split_error(pointer: impl Into<String>, message: impl Into<String>) -> SplitError {
    SplitError {
        pointer: pointer.into(),
        message: message.into(),
    }
}

fn money(d: Decimal) -> SignedMoney {
    // Sums of two-decimal amounts stay two-decimal; anything else is a bug upstream.
    SignedMoney(Money::from_decimal(d).unwrap_or_default())
}

/// The claim payment of each part: every service line assigned to exactly one part, at least
/// two parts, each with a line; the claim-level adjustments (if any) to exactly one part. The
/// parts' charges must add up to CLP03 and their payments to CLP04 (the lines must carry the
/// whole claim payment), or nothing is split.
pub fn split_claim_payment(
    cp: &ClaimPayment,
    parts: &[SplitPart],
) -> Result<Vec<ClaimPayment>, SplitError> {
    if cp.status_code == CLP_REVERSAL {
        return Err(split_error(
            "/parts",
            "a reversal (CLP02 22) undoes one earlier posting and cannot be split; match it to the claim it reverses",
        ));
    }
    if cp.lines.len() < 2 {
        return Err(split_error(
            "/parts",
            format!(
                "the claim payment has {} service line(s); a split needs at least two",
                cp.lines.len()
            ),
        ));
    }
    if parts.len() < 2 {
        return Err(split_error("/parts", "a split needs at least two parts"));
    }
    let mut owner: Vec<Option<usize>> = vec![None; cp.lines.len()];
    for (p, part) in parts.iter().enumerate() {
        if part.lines.is_empty() {
            return Err(split_error(
                format!("/parts/{p}/lines"),
                "each part takes at least one service line",
            ));
        }
        for (j, &line) in part.lines.iter().enumerate() {
            let pointer = format!("/parts/{p}/lines/{j}");
            let Some(slot) = owner.get_mut(line) else {
                return Err(split_error(
                    pointer,
                    format!(
                        "no service line {line}: the claim payment has lines 0 to {}",
                        cp.lines.len() - 1
                    ),
                ));
            };
            if let Some(other) = slot {
                return Err(split_error(
                    pointer,
                    format!("service line {line} is already assigned to part {other}"),
                ));
            }
            *slot = Some(p);
        }
    }
    if let Some(line) = owner.iter().position(Option::is_none) {
        return Err(split_error(
            "/parts",
            format!(
                "service line {line} is assigned to no part: every line goes to exactly one claim"
            ),
        ));
    }
    let takers: Vec<usize> = (0..parts.len())
        .filter(|&p| parts[p].claim_adjustments)
        .collect();
    if takers.len() > 1 {
        return Err(split_error(
            format!("/parts/{}/claim_adjustments", takers[1]),
            format!(
                "the claim-level adjustments go to one part only (part {} takes them)",
                takers[0]
            ),
        ));
    }
    if !cp.adjustments.is_empty() && takers.is_empty() {
        return Err(split_error(
            "/parts",
            "the claim payment has claim-level adjustments: give them to one part (claim_adjustments)",
        ));
    }
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let lines: Vec<_> = part.lines.iter().map(|&l| cp.lines[l].clone()).collect();
        let adjustments = if part.claim_adjustments {
            cp.adjustments.clone()
        } else {
            Vec::new()
        };
        let charge: Decimal = lines.iter().map(|l| l.charge.0.as_decimal()).sum();
        let paid: Decimal =
            lines.iter().map(|l| l.paid.0.as_decimal()).sum::<Decimal>() - sum_adj(&adjustments);
        let pr: Decimal = lines
            .iter()
            .map(|l| pr_sum(&l.adjustments))
            .sum::<Decimal>()
            + pr_sum(&adjustments);
        out.push(ClaimPayment {
            patient_control_number: cp.patient_control_number.clone(),
            status_code: cp.status_code.clone(),
            total_charge: money(charge),
            paid: money(paid),
            patient_responsibility: cp.patient_responsibility.map(|_| money(pr)),
            payer_claim_number: cp.payer_claim_number.clone(),
            adjustments,
            lines,
        });
    }
    let charge: Decimal = out.iter().map(|c| c.total_charge.0.as_decimal()).sum();
    let clp03 = cp.total_charge.0.as_decimal();
    if charge != clp03 {
        return Err(split_error(
            "/parts",
            format!(
                "the parts' charges come to {charge} but the claim payment's charge (CLP03) is {clp03}: its service lines do not carry the whole claim"
            ),
        ));
    }
    let paid: Decimal = out.iter().map(|c| c.paid.0.as_decimal()).sum();
    let clp04 = cp.paid.0.as_decimal();
    if paid != clp04 {
        return Err(split_error(
            "/parts",
            format!("the parts' payments come to {paid} but the claim payment (CLP04) is {clp04}"),
        ));
    }
    Ok(out)
}

/// One plan of several (the parts of a split, each planned for its claim): entries in part
/// order, each claim posting's range shifted to the merged entries, totals added.
pub fn merge_plans(plans: Vec<PostingPlan>) -> PostingPlan {
    let mut out = PostingPlan::default();
    for p in plans {
        let shift = out.entries.len();
        out.entries.extend(p.entries);
        out.claim_status_changes.extend(p.claim_status_changes);
        out.claim_postings
            .extend(p.claim_postings.into_iter().map(|mut cp| {
                cp.entries = cp.entries.start + shift..cp.entries.end + shift;
                cp
            }));
        out.denials.extend(p.denials);
        out.unmatched.extend(p.unmatched);
        out.totals.claims_paid += p.totals.claims_paid;
        out.totals.posted_paid += p.totals.posted_paid;
        out.totals.unmatched_paid += p.totals.unmatched_paid;
        out.totals.provider_adjustments += p.totals.provider_adjustments;
        out.totals.remittance_total = p.totals.remittance_total;
    }
    out
}

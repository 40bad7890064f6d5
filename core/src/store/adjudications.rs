//! What a payer decided on a claim, read back from the remittance that was posted to it: the
//! claim payment (CLP) itself, with its claim and line adjustments exactly as the payer sent
//! them, and each service payment (SVC) tied to our line. Coordination of benefits carries it to
//! the next payer (837P loops 2320 and 2430), so it must be the payer's own numbers, not a
//! reconstruction from the ledger (a denied line's adjustments are reported, never posted).
//!
//! Also the chain of claims of one set of services billed to successive payers (primary,
//! secondary, tertiary), from `claim_cob`: each row links a claim to the claim of the payer
//! before it.

use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::schema::{claim_cob, claim_postings};
use super::{DbConnection, claims, parse_id, remittances};
use crate::access::OrgId;
use crate::billing::posting::{PostingLine, match_lines};
use crate::error::{CoreError, CoreResult};
use crate::model::claim::Claim;
use crate::model::remittance::{Adjustment, AdjustmentGroup};

/// Earlier claims a coordination-of-benefits chain may have: an 837P carries at most ten
/// payers of a claim (its own and nine others, loop 2320); a longer chain is taken for a loop.
const MAX_EARLIER_CLAIMS: usize = 9;

/// One service line as the payer adjudicated it (835 SVC), tied to our line.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjudicatedLine {
    /// Our line's number (the same on every claim of the chain: they bill one encounter).
    pub line_number: i32,
    pub line_id: Uuid,
    /// SVC01 as the payer adjudicated it (code and modifiers).
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    /// SVC02.
    pub charge: Decimal,
    /// SVC03.
    pub paid: Decimal,
    /// SVC05 (units paid); 1 when the payer left it out.
    pub units: Decimal,
    pub adjustments: Vec<Adjustment>,
}

/// A payer's posted decision on one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjudication {
    pub claim_id: Uuid,
    pub payer_id: Uuid,
    pub remittance_id: Uuid,
    /// BPR16, the date the payer paid (837P DTP*573).
    pub payment_date: NaiveDate,
    /// CLP02.
    pub status_code: String,
    /// CLP07.
    pub payer_claim_number: Option<String>,
    /// CLP03.
    pub charge: Decimal,
    /// CLP04.
    pub paid: Decimal,
    /// CLP05, or the sum of the PR adjustments when the payer left it out.
    pub patient_responsibility: Decimal,
    /// Claim-level CAS.
    pub claim_adjustments: Vec<Adjustment>,
    pub lines: Vec<AdjudicatedLine>,
}

#[derive(Queryable)]
struct PostingRow {
    remittance_id: String,
    clp_index: i32,
    reverses_remittance: Option<String>,
}

/// The payer's standing decision on `claim`: the latest claim payment posted to it that no
/// later CLP02 22 reversed. `None` when nothing (or only what was reversed) was posted.
pub fn posted(
    conn: &mut DbConnection,
    org: OrgId,
    claim: &Claim,
) -> CoreResult<Option<Adjudication>> {
    let rows: Vec<PostingRow> = claim_postings::table
        .filter(claim_postings::org_id.eq(org.as_str()))
        .filter(claim_postings::claim_id.eq(claim.id.to_string()))
        .order(claim_postings::id.asc())
        .select((
            claim_postings::remittance_id,
            claim_postings::clp_index,
            claim_postings::reverses_remittance,
        ))
        .load(conn)?;
    // Standing postings, oldest first; a reversal removes the posting of the remittance it
    // names (the latest one still standing).
    let mut standing: Vec<(String, i32)> = Vec::new();
    for r in rows {
        match r.reverses_remittance {
            Some(reversed) => {
                if let Some(i) = standing.iter().rposition(|(rem, _)| *rem == reversed) {
                    standing.remove(i);
                }
            }
            None => standing.push((r.remittance_id, r.clp_index)),
        }
    }
    let Some((remittance_id, clp_index)) = standing.pop() else {
        return Ok(None);
    };
    let rem = remittances::get(conn, org, parse_id(&remittance_id)?)?;
    let cp = usize::try_from(clp_index)
        .ok()
        .and_then(|i| rem.claims.get(i))
        .ok_or_else(|| CoreError::Internal("a posting names no claim payment".into()))?;
    let ours: Vec<PostingLine> = claim
        .lines
        .iter()
        .map(|l| PostingLine {
            line_id: l.id,
            control_number: l.control_number(),
            procedure_code: l.line.procedure_code.clone(),
            modifiers: l.line.modifiers.clone(),
            charge: l.line.charge,
        })
        .collect();
    let matched = match_lines(&cp.lines, &ours);
    let mut lines = Vec::new();
    for (svc, line_id) in cp.lines.iter().zip(matched) {
        let Some(line) = line_id.and_then(|id| claim.lines.iter().find(|l| l.id == id)) else {
            continue;
        };
        lines.push(AdjudicatedLine {
            line_number: line.line_number,
            line_id: line.id,
            procedure_code: svc.procedure_code.as_str().to_string(),
            modifiers: svc
                .modifiers
                .iter()
                .map(|m| m.as_str().to_string())
                .collect(),
            charge: svc.charge.0.as_decimal(),
            paid: svc.paid.0.as_decimal(),
            units: svc
                .units
                .as_ref()
                .map(|u| u.as_decimal())
                .unwrap_or(Decimal::ONE),
            adjustments: svc.adjustments.clone(),
        });
    }
    lines.sort_by_key(|l| l.line_number);
    let pr_sum: Decimal = cp
        .adjustments
        .iter()
        .chain(cp.lines.iter().flat_map(|l| l.adjustments.iter()))
        .filter(|a| a.group == AdjustmentGroup::PR)
        .map(|a| a.amount.0.as_decimal())
        .sum();
    Ok(Some(Adjudication {
        claim_id: claim.id,
        payer_id: rem.payer_id,
        remittance_id: rem.id,
        payment_date: rem.payment_date,
        status_code: cp.status_code.clone(),
        payer_claim_number: cp.payer_claim_number.clone(),
        charge: cp.total_charge.0.as_decimal(),
        paid: cp.paid.0.as_decimal(),
        patient_responsibility: cp
            .patient_responsibility
            .map(|p| p.0.as_decimal())
            .unwrap_or(pr_sum),
        claim_adjustments: cp.adjustments.clone(),
        lines,
    }))
}

/// The claim billed to the payer before `claim_id`, if it follows one.
pub fn previous(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<Option<Uuid>> {
    let prev: Option<String> = claim_cob::table
        .filter(claim_cob::org_id.eq(org.as_str()))
        .filter(claim_cob::claim_id.eq(claim_id.to_string()))
        .select(claim_cob::primary_claim_id)
        .get_result(conn)
        .optional()?;
    prev.as_deref().map(parse_id).transpose()
}

/// The claims billed before `claim_id` for the same services, the primary's first (empty for a
/// claim that follows none).
pub fn earlier_claims(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut at = claim_id;
    while let Some(p) = previous(conn, org, at)? {
        if out.contains(&p) || p == claim_id || out.len() >= MAX_EARLIER_CLAIMS {
            return Err(CoreError::Internal(
                "the coordination of benefits chain loops".into(),
            ));
        }
        out.push(p);
        at = p;
    }
    out.reverse();
    Ok(out)
}

/// The claim that carries the charges of `claim_id`'s services: the primary's claim of its
/// chain (the claim itself when it follows none). Every payer's money is posted there.
pub fn charge_claim(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<Uuid> {
    Ok(earlier_claims(conn, org, claim_id)?
        .first()
        .copied()
        .unwrap_or(claim_id))
}

/// Each earlier claim of `claim_id` with its payer's standing decision, the primary's first.
/// A missing decision is an error naming the payer's place: the next payer cannot be billed
/// without it.
pub fn earlier_adjudications(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<Vec<(Claim, Adjudication)>> {
    let mut out = Vec::new();
    for (i, id) in earlier_claims(conn, org, claim_id)?.into_iter().enumerate() {
        let claim = claims::get(conn, org, id)?;
        let Some(adj) = posted(conn, org, &claim)? else {
            let which = ["primary", "secondary", "tertiary"]
                .get(i)
                .unwrap_or(&"earlier");
            return Err(CoreError::invalid(
                "/coordination_of_benefits",
                format!(
                    "the {which} payer's decision is not posted: post its remittance (835) \
                     before billing the next payer"
                ),
            ));
        };
        out.push((claim, adj));
    }
    Ok(out)
}

//! Coordination of benefits: once the primary payer has adjudicated a claim, a secondary claim
//! goes to the patient's secondary coverage carrying the primary's adjudication (what it paid
//! and each CAS adjustment, per line), as the 837P's COB loops need.
//!
//! The money stays on the primary claim: a secondary claim posts no charges of its own (that
//! would bill the same services twice), and its balance is what the primary left to the
//! patient. Remittances naming a secondary claim are not posted automatically yet: they go to
//! the unmatched work queue for a biller.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::{self, cents};
use super::schema::{claim_cob, claims as claims_table, coverages};
use super::{DbConnection, claims, from_json, parse_id, to_json};
use crate::access::OrgId;
use crate::billing::ledger::{EntryKind, Side};
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimInput, ClaimStatus};
use crate::model::common::{now, utc};

/// One CAS adjustment of the primary's adjudication, net of reversals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriorAdjustment {
    #[schema(example = "CO")]
    pub group: String,
    #[schema(example = "45")]
    pub carc: String,
    #[schema(value_type = String, example = "60.00")]
    pub amount: Decimal,
}

/// The primary payer's decision on one service line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriorLine {
    pub line_number: i32,
    pub procedure_code: String,
    #[schema(value_type = String, example = "150.00")]
    pub charge: Decimal,
    #[schema(value_type = String, example = "72.00")]
    pub paid: Decimal,
    pub adjustments: Vec<PriorAdjustment>,
}

/// What the primary payer did with the claim, as the secondary claim carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrimaryAdjudication {
    pub primary_claim_id: Uuid,
    pub payer_id: Option<Uuid>,
    pub primary_status: ClaimStatus,
    #[schema(value_type = String, example = "96.00")]
    pub paid: Decimal,
    /// What the primary assigned to the patient (PR), which the secondary is asked to cover.
    #[schema(value_type = String, example = "24.00")]
    pub patient_responsibility: Decimal,
    pub lines: Vec<PriorLine>,
    /// Claim-level adjustments.
    pub claim_adjustments: Vec<PriorAdjustment>,
}

/// The secondary claim and the adjudication it carries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecondaryClaim {
    pub claim: Claim,
    pub primary: PrimaryAdjudication,
    pub created_at: DateTime<Utc>,
}

/// Whether `claim_id` is a secondary claim.
pub fn is_secondary(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<bool> {
    let n: i64 = claim_cob::table
        .filter(claim_cob::org_id.eq(org.as_str()))
        .filter(claim_cob::claim_id.eq(claim_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The claims tied to this one by coordination of benefits: its primary (when it is a
/// secondary claim) and its secondary (when it has one). They bill the same services to
/// different payers, so they are not duplicates of each other.
pub fn linked(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<Vec<Uuid>> {
    let id = claim_id.to_string();
    let rows: Vec<(String, String)> = claim_cob::table
        .filter(claim_cob::org_id.eq(org.as_str()))
        .filter(
            claim_cob::claim_id
                .eq(&id)
                .or(claim_cob::primary_claim_id.eq(&id)),
        )
        .select((claim_cob::claim_id, claim_cob::primary_claim_id))
        .load(conn)?;
    let mut out = Vec::new();
    for (secondary, primary) in rows {
        for x in [secondary, primary] {
            let x = parse_id(&x)?;
            if x != claim_id {
                out.push(x);
            }
        }
    }
    Ok(out)
}

/// Every secondary claim id of the organization among `ids`.
pub fn secondary_ids(conn: &mut DbConnection, org: OrgId, ids: &[Uuid]) -> CoreResult<Vec<Uuid>> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let found: Vec<String> = claim_cob::table
            .filter(claim_cob::org_id.eq(org.as_str()))
            .filter(claim_cob::claim_id.eq_any(chunk.to_vec()))
            .select(claim_cob::claim_id)
            .load(conn)?;
        for f in found {
            out.push(parse_id(&f)?);
        }
    }
    Ok(out)
}

fn adjudication(
    conn: &mut DbConnection,
    org: OrgId,
    primary: &Claim,
) -> CoreResult<PrimaryAdjudication> {
    let entries = ledger::for_claim(conn, org, primary.id)?;
    let kinds: BTreeMap<Uuid, EntryKind> = entries.iter().map(|e| (e.id, e.kind)).collect();
    let mut paid: BTreeMap<Option<Uuid>, Decimal> = BTreeMap::new();
    let mut adjs: BTreeMap<(Option<Uuid>, String, String), Decimal> = BTreeMap::new();
    let mut pr = Decimal::ZERO;
    for e in entries
        .iter()
        .filter(|e| e.remittance_id.is_some() || e.reverses.is_some())
    {
        let kind = match (e.kind, e.reverses) {
            (EntryKind::Reversal, Some(r)) => kinds.get(&r).copied().unwrap_or(e.kind),
            (k, _) => k,
        };
        match kind {
            EntryKind::InsurancePayment => *paid.entry(e.claim_line_id).or_default() -= e.amount,
            _ => {
                let (Some(group), Some(carc)) = (e.group, e.carc.clone()) else {
                    continue;
                };
                // Adjustments reduce the insurance part (negative entries); a transfer to the
                // patient carries its amount as is.
                let amount = if e.side == Side::InsuranceToPatient {
                    pr += e.amount;
                    e.amount
                } else {
                    -e.amount
                };
                *adjs
                    .entry((e.claim_line_id, super::to_db(&group), carc))
                    .or_default() += amount;
            }
        }
    }
    let adjustments_of = |line: Option<Uuid>| -> Vec<PriorAdjustment> {
        adjs.iter()
            .filter(|((l, _, _), a)| *l == line && !a.is_zero())
            .map(|((_, g, c), a)| PriorAdjustment {
                group: g.clone(),
                carc: c.clone(),
                amount: cents(*a),
            })
            .collect()
    };
    Ok(PrimaryAdjudication {
        primary_claim_id: primary.id,
        payer_id: primary.payer_id,
        primary_status: primary.status,
        paid: cents(paid.values().copied().sum()),
        patient_responsibility: cents(pr),
        lines: primary
            .lines
            .iter()
            .map(|l| PriorLine {
                line_number: l.line_number,
                procedure_code: l.line.procedure_code.as_str().to_string(),
                charge: l.line.charge.as_decimal(),
                paid: cents(paid.get(&Some(l.id)).copied().unwrap_or_default()),
                adjustments: adjustments_of(Some(l.id)),
            })
            .collect(),
        claim_adjustments: adjustments_of(None),
    })
}

/// Create the secondary claim for an adjudicated primary claim, billed to the patient's
/// active secondary coverage on the date of service.
pub fn create_secondary(
    conn: &mut DbConnection,
    org: OrgId,
    primary_id: Uuid,
) -> CoreResult<SecondaryClaim> {
    let primary = claims::get(conn, org, primary_id)?;
    if !matches!(
        primary.status,
        ClaimStatus::Paid
            | ClaimStatus::PartiallyPaid
            | ClaimStatus::Denied
            | ClaimStatus::Appealed
            | ClaimStatus::Closed
    ) {
        return Err(CoreError::Conflict(format!(
            "the primary payer has not adjudicated this claim yet (it is {})",
            primary.status.as_str()
        )));
    }
    if is_secondary(conn, org, primary_id)? {
        return Err(CoreError::Conflict(
            "this claim is itself a secondary claim; tertiary billing is not supported".into(),
        ));
    }
    let existing: i64 = claim_cob::table
        .filter(claim_cob::org_id.eq(org.as_str()))
        .filter(claim_cob::primary_claim_id.eq(primary_id.to_string()))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Err(CoreError::Conflict(
            "a secondary claim for this claim exists".into(),
        ));
    }
    let dos = primary.service_date_from;
    let candidates: Vec<(String, String, chrono::NaiveDate, Option<chrono::NaiveDate>)> =
        coverages::table
            .filter(coverages::org_id.eq(org.as_str()))
            .filter(coverages::patient_id.eq(primary.patient_id.to_string()))
            .filter(coverages::priority.eq("secondary"))
            .filter(coverages::active.eq(true))
            .order(coverages::id.asc())
            .select((
                coverages::id,
                coverages::payer_id,
                coverages::effective_from,
                coverages::effective_to,
            ))
            .load(conn)?;
    let Some((coverage_id, payer_id, _, _)) = candidates
        .into_iter()
        .find(|(_, _, from, to)| *from <= dos && to.is_none_or(|t| dos <= t))
    else {
        return Err(CoreError::invalid(
            "/coverage",
            "the patient has no active secondary coverage on the date of service",
        ));
    };
    let prior = adjudication(conn, org, &primary)?;
    let created = claims::create(
        conn,
        org,
        &ClaimInput {
            encounter_id: primary.encounter_id,
            frequency_code: None,
            original_claim_id: None,
            original_reference: None,
        },
    )?;
    diesel::update(
        claims_table::table
            .filter(claims_table::org_id.eq(org.as_str()))
            .filter(claims_table::id.eq(created.id.to_string())),
    )
    .set((
        claims_table::coverage_id.eq(Some(coverage_id)),
        claims_table::payer_id.eq(Some(payer_id)),
    ))
    .execute(conn)?;
    let t = now();
    diesel::insert_into(claim_cob::table)
        .values((
            claim_cob::claim_id.eq(created.id.to_string()),
            claim_cob::org_id.eq(org.as_str()),
            claim_cob::primary_claim_id.eq(primary_id.to_string()),
            claim_cob::primary_payer_id.eq(primary.payer_id.map(|p| p.to_string())),
            claim_cob::adjudication.eq(to_json(&prior)),
            claim_cob::created_at.eq(t),
        ))
        .execute(conn)
        .map_err(|e| match CoreError::from(e) {
            CoreError::Conflict(_) => {
                CoreError::Conflict("a secondary claim for this claim exists".into())
            }
            other => other,
        })?;
    Ok(SecondaryClaim {
        claim: claims::get(conn, org, created.id)?,
        primary: prior,
        created_at: utc(t),
    })
}

/// The secondary claim with the adjudication it carries (404 when `claim_id` is not one).
pub fn get_secondary(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<SecondaryClaim> {
    let row: Option<(String, chrono::NaiveDateTime)> = claim_cob::table
        .filter(claim_cob::org_id.eq(org.as_str()))
        .filter(claim_cob::claim_id.eq(claim_id.to_string()))
        .select((claim_cob::adjudication, claim_cob::created_at))
        .get_result(conn)
        .optional()?;
    let (adj, at) = row.ok_or(CoreError::NotFound {
        resource: "secondary claim",
    })?;
    Ok(SecondaryClaim {
        claim: claims::get(conn, org, claim_id)?,
        primary: from_json(&adj, "primary adjudication")?,
        created_at: utc(at),
    })
}

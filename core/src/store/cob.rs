//! Coordination of benefits: once the primary payer has adjudicated a claim, a secondary claim
//! goes to the patient's secondary coverage carrying the primary's adjudication (what it paid
//! and each CAS adjustment, per line), as the 837P's COB loops need.
//!
//! A tertiary claim follows a secondary one the same way, carrying both earlier payers'
//! decisions. The money stays on the primary claim: a later payer's claim posts no charges of
//! its own (that would bill the same services twice). Its remittance posts onto the primary
//! claim's lines (see `billing::posting`): the patient's share the earlier payers left moves
//! back to insurance, and the later payer's payment and adjustments settle it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::cents;
use super::schema::{claim_cob, claims as claims_table, coverages};
use super::{DbConnection, claims, from_json, parse_id, to_json};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimInput, ClaimStatus};
use crate::model::common::{now, utc};

/// Claims a coordination-of-benefits chain is followed through; a longer one is taken for a
/// loop.
const MAX_CHAIN: usize = 8;

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

/// The secondary (or tertiary) claim and the earlier payers' decisions it carries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecondaryClaim {
    pub claim: Claim,
    /// `secondary` or `tertiary`: which coverage this claim bills.
    #[schema(example = "secondary")]
    pub priority: String,
    /// The primary payer's decision.
    pub primary: PrimaryAdjudication,
    /// Every earlier payer's decision, the primary's first (two for a tertiary claim).
    pub earlier_payers: Vec<PrimaryAdjudication>,
    pub created_at: DateTime<Utc>,
}

/// The stored decisions: a list, or (rows written before tertiary billing) one object.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Many(Vec<PrimaryAdjudication>),
    One(PrimaryAdjudication),
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

/// The claims tied to this one by coordination of benefits: every claim of its chain (the
/// primary's, the secondary and the tertiary claim). They bill the same services to different
/// payers, so they are not duplicates of each other.
pub fn linked(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<Vec<Uuid>> {
    let root = super::adjudications::charge_claim(conn, org, claim_id)?;
    let mut chain = vec![root];
    let mut at = root;
    while chain.len() < MAX_CHAIN {
        let next: Option<String> = claim_cob::table
            .filter(claim_cob::org_id.eq(org.as_str()))
            .filter(claim_cob::primary_claim_id.eq(at.to_string()))
            .select(claim_cob::claim_id)
            .get_result(conn)
            .optional()?;
        let Some(next) = next else { break };
        at = parse_id(&next)?;
        chain.push(at);
    }
    chain.retain(|c| *c != claim_id);
    Ok(chain)
}

/// The API's view of a payer's posted decision, for every line of its claim.
fn adjudication(primary: &Claim, adj: &super::adjudications::Adjudication) -> PrimaryAdjudication {
    let view = |adjs: &[crate::model::remittance::Adjustment]| -> Vec<PriorAdjustment> {
        adjs.iter()
            .map(|a| PriorAdjustment {
                group: super::to_db(&a.group),
                carc: a.reason.clone(),
                amount: cents(a.amount.0.as_decimal()),
            })
            .collect()
    };
    PrimaryAdjudication {
        primary_claim_id: primary.id,
        payer_id: primary.payer_id,
        primary_status: primary.status,
        paid: cents(adj.paid),
        patient_responsibility: cents(adj.patient_responsibility),
        lines: primary
            .lines
            .iter()
            .map(|l| {
                let done = adj.lines.iter().find(|a| a.line_id == l.id);
                PriorLine {
                    line_number: l.line_number,
                    procedure_code: l.line.procedure_code.as_str().to_string(),
                    charge: l.line.charge.as_decimal(),
                    paid: cents(done.map(|d| d.paid).unwrap_or_default()),
                    adjustments: done.map(|d| view(&d.adjustments)).unwrap_or_default(),
                }
            })
            .collect(),
        claim_adjustments: view(&adj.claim_adjustments),
    }
}

/// Create the next payer's claim for an adjudicated claim: the secondary claim of a primary
/// claim, or the tertiary claim of a secondary one, billed to the patient's active coverage of
/// that priority on the date of service and carrying every earlier payer's posted decision.
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
            "the payer has not adjudicated this claim yet (it is {})",
            primary.status.as_str()
        )));
    }
    let earlier = super::adjudications::earlier_claims(conn, org, primary_id)?;
    let next = match earlier.len() {
        0 => "secondary",
        1 => "tertiary",
        _ => {
            return Err(CoreError::Conflict(
                "this claim is a tertiary claim; no payer follows the tertiary one".into(),
            ));
        }
    };
    let existing: i64 = claim_cob::table
        .filter(claim_cob::org_id.eq(org.as_str()))
        .filter(claim_cob::primary_claim_id.eq(primary_id.to_string()))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Err(CoreError::Conflict(format!(
            "a {next} claim for this claim exists"
        )));
    }
    let dos = primary.service_date_from;
    let candidates: Vec<(String, String, chrono::NaiveDate, Option<chrono::NaiveDate>)> =
        coverages::table
            .filter(coverages::org_id.eq(org.as_str()))
            .filter(coverages::patient_id.eq(primary.patient_id.to_string()))
            .filter(coverages::priority.eq(next))
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
            format!("the patient has no active {next} coverage on the date of service"),
        ));
    };
    // Every earlier payer's decision, posted from its remittance (409 when one is missing).
    let decisions = super::adjudications::earlier_adjudications(conn, org, primary_id)?;
    let Some(own) = super::adjudications::posted(conn, org, &primary)? else {
        return Err(CoreError::Conflict(
            "the payer's decision on this claim is not posted: post its remittance (835) first"
                .into(),
        ));
    };
    let mut prior: Vec<PrimaryAdjudication> =
        decisions.iter().map(|(c, a)| adjudication(c, a)).collect();
    prior.push(adjudication(&primary, &own));
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
        .map_err(|e| {
            CoreError::from(e).conflict_means(format!("a {next} claim for this claim exists"))
        })?;
    Ok(SecondaryClaim {
        claim: claims::get(conn, org, created.id)?,
        priority: next.into(),
        primary: prior[0].clone(),
        earlier_payers: prior,
        created_at: utc(t),
    })
}

/// The secondary (or tertiary) claim with the decisions it carries (404 when `claim_id`
/// follows no other claim).
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
    let prior = match from_json::<Stored>(&adj, "earlier payers' decisions")? {
        Stored::Many(v) => v,
        Stored::One(p) => vec![p],
    };
    let first = prior
        .first()
        .cloned()
        .ok_or_else(|| CoreError::Internal("a secondary claim with no earlier payer".into()))?;
    Ok(SecondaryClaim {
        claim: claims::get(conn, org, claim_id)?,
        priority: if prior.len() > 1 {
            "tertiary"
        } else {
            "secondary"
        }
        .into(),
        primary: first,
        earlier_payers: prior,
        created_at: utc(at),
    })
}

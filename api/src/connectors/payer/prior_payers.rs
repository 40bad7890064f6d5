//! Coordination of benefits in the 837P: a secondary (or tertiary) claim carries each earlier
//! payer's decision as that payer's remittance posted it (`core::store::adjudications`), mapped
//! here to the canonical [`PriorPayerAdjudication`] the payer plugin writes as loops 2320
//! (SBR, CAS, AMT*D, AMT*EAF, OI), 2330A (the other subscriber), 2330B (the other payer) and
//! 2430 (SVD, CAS, DTP*573) under each line.
//!
//! The amounts are the payer's own: CLP04 is AMT*D, CLP05 AMT*EAF, the CLP's CAS the 2320 CAS,
//! and each SVC's paid amount, units and CAS the line's 2430, so a claim's 2320 and 2430 add
//! up to the charges exactly as the 835 did.

use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::OrgId;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::Claim;
use revcycle_core::model::remittance::Adjustment;
use revcycle_core::store::adjudications::{self, Adjudication};
use revcycle_core::store::{DbConnection, KeyRing, coverages, payers};
use rust_decimal::Decimal;

use super::canonical_parts::{Str, subscriber_of};

/// Money as the 837P writes it: two decimals.
fn amount(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

fn adjustments(list: &[Adjustment]) -> Vec<canonical::Adjustment> {
    list.iter()
        .map(|a| canonical::Adjustment {
            group: a.group.text(),
            reason: a.reason.clone(),
            amount: amount(a.amount.0.as_decimal()),
            quantity: a
                .quantity
                .as_ref()
                .map(|q| q.as_decimal().normalize().to_string()),
        })
        .collect()
}

fn priority(text: &str) -> canonical::CoveragePriority {
    match text {
        "secondary" => canonical::CoveragePriority::Secondary,
        "tertiary" => canonical::CoveragePriority::Tertiary,
        _ => canonical::CoveragePriority::Primary,
    }
}

fn relationship(text: &str) -> canonical::SubscriberRelationship {
    match text {
        "self" => canonical::SubscriberRelationship::SelfInsured,
        "spouse" => canonical::SubscriberRelationship::Spouse,
        "child" => canonical::SubscriberRelationship::Child,
        _ => canonical::SubscriberRelationship::Other,
    }
}

/// One earlier payer's decision as loops 2320/2330A/2330B/2430.
fn prior_payer(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    patient: &canonical::Demographics,
    claim: &Claim,
    adj: &Adjudication,
) -> CoreResult<canonical::PriorPayerAdjudication> {
    let payer = payers::get(conn, org, adj.payer_id)?;
    let coverage_id = claim.coverage_id.ok_or_else(|| {
        CoreError::invalid(
            "/coordination_of_benefits",
            "an earlier payer's claim has no coverage",
        )
    })?;
    let coverage = coverages::get(conn, keyring, org, coverage_id)?;
    let (subscriber, rel) = subscriber_of(&coverage, patient);
    let date = adj.payment_date.to_string();
    Ok(canonical::PriorPayerAdjudication {
        payer: canonical::PayerRef {
            name: payer.name.clone(),
            payer_id: Some(payer.payer_code.clone()),
        },
        priority: priority(&coverage.priority.text()),
        subscriber,
        relationship: relationship(&rel),
        group_number: coverage.group_number.clone(),
        payer_claim_number: adj.payer_claim_number.clone(),
        paid_amount: amount(adj.paid),
        paid_date: Some(date.clone()),
        patient_responsibility: (adj.patient_responsibility > Decimal::ZERO)
            .then(|| amount(adj.patient_responsibility)),
        claim_adjustments: adjustments(&adj.claim_adjustments),
        line_adjudications: adj
            .lines
            .iter()
            .map(|l| canonical::LineAdjudication {
                line_number: u32::try_from(l.line_number).unwrap_or(0),
                procedure_code: l.procedure_code.clone(),
                modifiers: l.modifiers.clone(),
                paid_amount: amount(l.paid),
                paid_units: l.units.normalize().to_string(),
                adjudication_date: Some(date.clone()),
                adjustments: adjustments(&l.adjustments),
            })
            .collect(),
        claim_filing_indicator: Some(payer.claim_filing_indicator.text()),
    })
}

/// Every earlier payer's decision for `claim` (none for a claim that follows no other), the
/// primary's first. A decision that is not posted yet is a 422 naming
/// `/coordination_of_benefits`.
pub fn prior_payers(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    patient: &canonical::Demographics,
    claim: &Claim,
) -> CoreResult<Vec<canonical::PriorPayerAdjudication>> {
    adjudications::earlier_adjudications(conn, org, claim.id)?
        .iter()
        .map(|(c, a)| prior_payer(conn, keyring, org, patient, c, a))
        .collect()
}

//! Stored claims, patients, coverages and providers as the canonical connector messages.

use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::OrgId;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::Claim;
use revcycle_core::store::{DbConnection, KeyRing, coverages, patients, payers, providers};
use uuid::Uuid;

use super::canonical_parts::{
    Str, address, demographics, payer_ref, priority, provider_ref, relationship_code, subscriber_of,
};

/// The canonical submission of a stored claim: patient, coverage and subscriber decrypted
/// through `core`, payer and providers as set up.
pub(super) fn claim_submission(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    claim: &Claim,
) -> CoreResult<(canonical::ClaimSubmission, Uuid)> {
    let payer_id = claim
        .payer_id
        .ok_or_else(|| CoreError::invalid("/payer_id", "the claim has no payer"))?;
    let payer = payers::get(conn, org, payer_id)?;
    let coverage_id = claim
        .coverage_id
        .ok_or_else(|| CoreError::invalid("/coverage_id", "the claim has no coverage"))?;
    let coverage = coverages::get(conn, keyring, org, coverage_id)?;
    let patient = patients::get(conn, keyring, org, claim.patient_id)?;
    let billing = providers::get(conn, org, claim.billing_provider_id)?;
    let rendering = match claim.rendering_provider_id {
        Some(id) => Some(providers::get(conn, org, id)?),
        None => None,
    };
    let patient_demo = demographics(&patient);
    let (subscriber, relationship) = subscriber_of(&coverage, &patient_demo);
    let lines = claim
        .lines
        .iter()
        .map(|l| {
            Ok(canonical::ServiceLine {
                line_number: Some(u32::try_from(l.line_number).map_err(|_| {
                    CoreError::Internal("the claim does not map to a submission".into())
                })?),
                procedure_code: l.line.procedure_code.text(),
                modifiers: l.line.modifiers.iter().map(Str::text).collect(),
                units: l.line.units.text(),
                charge: l.line.charge.to_string(),
                diagnosis_pointers: l.line.diagnosis_pointers.clone(),
                service_date: Some(
                    l.line
                        .service_date
                        .unwrap_or(claim.service_date_from)
                        .to_string(),
                ),
                line_control_number: Some(l.control_number()),
                ..Default::default()
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
    let submission = canonical::ClaimSubmission {
        schema_version: canonical::SCHEMA_VERSION,
        claim_control_number: claim.patient_control_number.clone(),
        frequency_code: claim.frequency_code.text(),
        original_claim_number: claim.original_reference.clone(),
        billing_provider: canonical::BillingProvider {
            name: billing
                .organization_name
                .clone()
                .or_else(|| billing.last_name.clone())
                .unwrap_or_default(),
            npi: billing.npi.text(),
            tin: billing
                .tin
                .as_ref()
                .map(Str::text)
                .unwrap_or_default()
                .replace('-', ""),
            taxonomy_code: billing.taxonomy.as_ref().map(Str::text),
            address: address(&billing.address),
            phone: None,
        },
        rendering_provider: rendering.as_ref().map(provider_ref),
        referring_provider: None,
        service_facility: None,
        payer: payer_ref(&payer),
        priority: priority(coverage.priority),
        subscriber,
        group_number: coverage.group_number.clone(),
        relationship: relationship_code(coverage.relationship),
        patient: (relationship != "self").then(|| patient_demo.clone()),
        place_of_service: claim.place_of_service.text(),
        total_charge: claim.total_charge.to_string(),
        diagnoses: claim.diagnoses.iter().map(Str::text).collect(),
        lines,
        prior_authorization: claim.prior_authorization.clone(),
        accepts_assignment: Some(true),
        benefits_assigned: Some(true),
        release_of_information: Some(true),
        // A secondary or tertiary claim carries the earlier payers' decisions (2320/2330/2430).
        prior_payers: super::prior_payers::prior_payers(conn, keyring, org, &patient_demo, claim)?,
        // SBR09 of the claim's own payer (2000B).
        claim_filing_indicator: Some(payer.claim_filing_indicator.code().to_string()),
    };
    Ok((submission, claim.patient_id))
}

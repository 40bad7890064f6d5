//! A corrected (frequency 7) or void (frequency 8) claim made from a denial: a copy of the
//! denied claim (with the caller's corrections, for a replacement) that names the payer's claim
//! control number of the original (the 835's CLP07, sent as REF*F8), scrubbed, ready to submit
//! like any claim. The denial moves to `in_progress` and links the new claim; a later 835 that
//! pays it resolves the denial ([`super::resolution`]). One transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::denials::DenialStatus;
use crate::codes::{ClaimFrequency, Icd10Code, PlaceOfService};
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimInput, ClaimUpdate};
use crate::model::denial::{Denial, DenialNote};
use crate::model::encounter::ServiceLine;
use crate::store::billing::ScrubResult;
use crate::store::denials::{self, Change};
use crate::store::{DbConnection, KeyRing, billing, claims, posting};
use crate::validation::{Errors, Rules};

/// The corrections a replacement claim makes to the denied one; what is left out is copied.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [
    {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1]},
    {"procedure_code": "83036", "modifiers": ["QW"], "units": "1", "charge": "50.00", "diagnosis_pointers": [1]}],
    "note": "M51: the lab line lacked its CLIA-waived modifier"}))]
pub struct CorrectedClaimInput {
    /// Replaces the claim's diagnoses (the lines' pointers refer to this list).
    pub diagnoses: Option<Vec<Icd10Code>>,
    /// Replaces the claim's service lines (codes, modifiers, units, charges, pointers).
    pub lines: Option<Vec<ServiceLine>>,
    /// The prior authorization number (REF*G1); `""` is refused, leave it out to keep the
    /// original's.
    #[schema(max_length = 50)]
    pub prior_authorization: Option<String>,
    pub place_of_service: Option<PlaceOfService>,
    /// What was corrected and why (PHI: stored encrypted as a note on the denial).
    // `workflows::denials::NOTE_MAX_CHARS`.
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
}

/// The note's rule; the corrections are checked with the claim they correct, in one answer
/// ([`resubmit`]).
impl Rules for CorrectedClaimInput {
    fn check(&self, e: &mut Errors) {
        if let Some(n) = &self.note {
            super::steps::check_text("/note", n, e);
        }
    }
}

/// Void the denied claim: the payer is asked to cancel it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Billed under the wrong patient; voided, to be rebilled"}))]
pub struct VoidClaimInput {
    /// Why (PHI: stored encrypted as a note on the denial).
    // `workflows::denials::NOTE_MAX_CHARS`.
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
}

impl Rules for VoidClaimInput {
    fn check(&self, e: &mut Errors) {
        if let Some(n) = &self.note {
            super::steps::check_text("/note", n, e);
        }
    }
}

/// The claim made from a denial, as scrubbed, and the denial that now links it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DenialResubmission {
    pub denial: Denial,
    /// The new claim: frequency 7 (replacement) or 8 (void), `original_claim_id` the denied
    /// claim, `original_reference` the payer's claim control number. `ready` when the scrubber
    /// passed it (submit it with `POST /v1/claims/submit`), else `draft` with the findings.
    pub claim: Claim,
    pub scrub: ScrubResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<DenialNote>,
}

/// What a resubmission changes.
pub enum Resubmit<'a> {
    Corrected(&'a CorrectedClaimInput),
    Void(&'a VoidClaimInput),
}

/// Makes the corrected or void claim for the denial, scrubs it, and links it to the denial
/// (`in_progress`). A denial that already has one is 409; a claim the payer gave no claim
/// control number (CLP07) cannot be replaced or voided (409).
#[allow(clippy::too_many_arguments)]
pub fn resubmit(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    what: Resubmit<'_>,
) -> CoreResult<DenialResubmission> {
    let (frequency, note) = match &what {
        Resubmit::Corrected(i) => (ClaimFrequency::Replacement, i.note.as_deref()),
        Resubmit::Void(i) => (ClaimFrequency::Void, i.note.as_deref()),
    };
    let d = super::steps::open_at(c, org, id, expected)?;
    if let Some(existing) = d.resubmission_claim_id {
        return Err(CoreError::Conflict(format!(
            "the denial already has a resubmitted claim ({existing})"
        )));
    }
    let original = claims::get(c, org, d.claim_id)?;
    // The new claim is the original as billed (not the encounter as it may stand since), with
    // the corrections; every rule of the request in one answer.
    let coding = match &what {
        Resubmit::Corrected(i) => corrected(&original, i),
        Resubmit::Void(_) => corrected(&original, &CorrectedClaimInput::default()),
    };
    let mut e = Errors::new();
    match &what {
        Resubmit::Corrected(i) => i.check(&mut e),
        Resubmit::Void(i) => i.check(&mut e),
    }
    coding.check_within(
        Some(original.service_date_from),
        Some(original.service_date_to),
        &mut e,
    );
    e.finish()?;
    let reference = posting::payer_claim_number(c, org, d.remittance_id, d.claim_id)?
        .ok_or_else(|| {
            CoreError::Conflict(
                "the payer gave no claim control number (CLP07) for the denied claim: a corrected or void claim must name it"
                    .into(),
            )
        })?;
    let created = claims::create(
        c,
        org,
        &ClaimInput {
            encounter_id: original.encounter_id,
            frequency_code: Some(frequency),
            original_claim_id: Some(original.id),
            original_reference: Some(reference),
        },
    )?;
    claims::update(c, org, created.id, created.version, &coding)?;
    let scrub = billing::scrub_claim(
        c,
        keyring,
        org,
        created.id,
        chrono::Utc::now().date_naive(),
        actor,
    )?;
    let claim = claims::get(c, org, created.id)?;

    let note = match note {
        Some(text) => {
            let mut n = denials::add_note(c, keyring, org, id, actor, text)?;
            n.patient_id = d.patient_id;
            Some(n)
        }
        None => None,
    };
    let to = match d.status {
        DenialStatus::Open => DenialStatus::InProgress,
        s => s,
    };
    if to != d.status {
        crate::billing::denials::status::check(d.status, to).map_err(|e| {
            CoreError::TransitionRefused {
                message: e.to_string(),
                allowed_next: e.allowed.iter().map(|s| s.as_str()).collect(),
            }
        })?;
    }
    let updated = denials::update(
        c,
        org,
        id,
        d.version,
        &Change::Resubmitted {
            claim_id: claim.id,
            status: to,
        },
    )?;
    denials::record_event(
        c,
        org,
        &updated,
        match frequency {
            ClaimFrequency::Void => "void_claim_created",
            _ => "corrected_claim_created",
        },
        actor,
        json!({
            "claim_id": claim.id, "frequency_code": frequency.code(),
            "claim_status": claim.status.as_str(), "note_id": note.as_ref().map(|n| n.id),
            "from": d.status.as_str(), "to": to.as_str(),
        }),
    )?;
    Ok(DenialResubmission {
        denial: updated,
        claim,
        scrub,
        note,
    })
}

/// The original's coding with the corrections applied.
fn corrected(original: &Claim, i: &CorrectedClaimInput) -> ClaimUpdate {
    ClaimUpdate {
        place_of_service: i.place_of_service.unwrap_or(original.place_of_service),
        prior_authorization: i
            .prior_authorization
            .clone()
            .or_else(|| original.prior_authorization.clone()),
        diagnoses: i
            .diagnoses
            .clone()
            .unwrap_or_else(|| original.diagnoses.clone()),
        lines: i
            .lines
            .clone()
            .unwrap_or_else(|| original.lines.iter().map(|l| l.line.clone()).collect()),
    }
}

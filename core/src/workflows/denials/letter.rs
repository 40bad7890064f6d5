//! What an appeal letter for a denial says, gathered from the claim, the denial, the remittance
//! that denied it, the payer, the billing provider and the patient. It holds PHI (the
//! patient's name, date of birth and member id): read like a patient record, never logged.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::access::OrgId;
use crate::codes::{carc_description, rarc_description};
use crate::error::CoreResult;
use crate::store::{DbConnection, KeyRing, claims, coverages, patients, payers, posting};
use crate::store::{denial_appeals, denials, providers};

/// A code with what it means (our words; `null` for a code our tables do not know).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CodeText {
    pub code: String,
    pub description: Option<String>,
}

/// A service line as the letter lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LetterLine {
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    pub service_date: Option<NaiveDate>,
    #[schema(value_type = String, example = "150.00")]
    pub charge: Decimal,
}

/// The facts of an appeal letter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppealLetter {
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    #[serde(skip)]
    pub patient_id: Uuid,
    /// The day the letter is dated.
    pub date: NaiveDate,
    /// The level this letter asks for: the next one.
    pub level: i32,
    /// When the payer's appeal window closes (for a first appeal; later levels count from the
    /// previous decision).
    pub appeal_deadline: NaiveDate,
    pub payer_name: String,
    pub provider_name: String,
    pub provider_npi: String,
    pub patient_name: String,
    pub patient_birth_date: NaiveDate,
    pub member_id: Option<String>,
    /// Our claim number (CLM01).
    pub patient_control_number: String,
    /// The payer's claim control number (CLP07), when it gave one.
    pub payer_claim_number: Option<String>,
    pub service_date_from: NaiveDate,
    pub service_date_to: NaiveDate,
    /// The denied line, or every line for a claim-level denial.
    pub lines: Vec<LetterLine>,
    /// The adjustment group and reason (`CO`, `197`) with the reason's meaning.
    pub group: String,
    pub carc: CodeText,
    pub rarcs: Vec<CodeText>,
    #[schema(value_type = String, example = "200.00")]
    pub amount: Decimal,
    pub prior_authorization: Option<String>,
}

fn code(c: &str, description: Option<&'static str>) -> CodeText {
    CodeText {
        code: c.to_string(),
        description: description.map(str::to_string),
    }
}

/// The letter for the denial's next appeal, dated `today`.
pub fn appeal_letter(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    today: NaiveDate,
) -> CoreResult<AppealLetter> {
    let d = denials::get(c, org, id)?;
    let claim = claims::get(c, org, d.claim_id)?;
    let patient = patients::get(c, keyring, org, d.patient_id)?;
    let member_id = match claim.coverage_id {
        Some(cov) => Some(coverages::get(c, keyring, org, cov)?.member_id),
        None => None,
    };
    let payer = payers::get(c, org, d.payer_id)?;
    let provider = providers::get(c, org, claim.billing_provider_id)?;
    let provider_name = provider.organization_name.clone().unwrap_or_else(|| {
        [
            provider.first_name.as_deref(),
            provider.last_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    });
    let level = i32::try_from(denial_appeals::of_denial(c, org, id)?.len()).unwrap_or(i32::MAX) + 1;
    Ok(AppealLetter {
        denial_id: d.id,
        claim_id: claim.id,
        patient_id: d.patient_id,
        date: today,
        level,
        appeal_deadline: d.appeal_deadline,
        payer_name: payer.name,
        provider_name,
        provider_npi: provider.npi.as_str().to_string(),
        patient_name: format!("{} {}", patient.given_name, patient.family_name),
        patient_birth_date: patient.birth_date,
        member_id,
        patient_control_number: claim.patient_control_number.clone(),
        payer_claim_number: posting::payer_claim_number(c, org, d.remittance_id, d.claim_id)?,
        service_date_from: claim.service_date_from,
        service_date_to: claim.service_date_to,
        lines: claim
            .lines
            .iter()
            .filter(|l| d.claim_line_id.is_none_or(|x| x == l.id))
            .map(|l| LetterLine {
                procedure_code: l.line.procedure_code.as_str().to_string(),
                modifiers: l
                    .line
                    .modifiers
                    .iter()
                    .map(|m| m.as_str().to_string())
                    .collect(),
                service_date: l.line.service_date,
                charge: l.line.charge.as_decimal(),
            })
            .collect(),
        group: d.group.as_str().to_string(),
        carc: code(&d.carc, carc_description(&d.carc)),
        rarcs: d
            .rarcs
            .iter()
            .map(|r| code(r, rarc_description(r)))
            .collect(),
        amount: d.amount,
        prior_authorization: claim.prior_authorization,
    })
}

//! Claim submission, the store's half: which claims go (those asked for, or every `ready`
//! claim of a payer), which are refused and why (not found, not ready, the scrubber's errors),
//! and, once a payer's 837P is on its way, moving its claims to `submitted` with their audit
//! events in the transaction that records the exchange. Building the 837P and sending it are
//! the payer connector's.

use crate::model::event::{ClaimSubmitted, EventData};
use serde::Serialize;
use uuid::Uuid;

use super::AuditTrail;
use crate::access::OrgId;
use crate::audit::Disclosed;
use crate::billing::scrub::Severity;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimFilter, ClaimStatus};
use crate::store::{DbConnection, KeyRing, ListParams, billing, claims};

/// Most claims one submission takes.
pub const MAX_CLAIMS: usize = 200;

/// Which claims to submit.
#[derive(Debug, Clone)]
pub enum Selection {
    Claims(Vec<Uuid>),
    /// Every `ready` claim of this payer (up to [`MAX_CLAIMS`]).
    ReadyOfPayer(Uuid),
}

/// Why a claim was not submitted: a scrubber edit, or a submission check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub edit: String,
    /// `error`.
    pub severity: String,
    /// RFC 6901 pointer into the claim (or the related record) to what must change.
    pub pointer: String,
    pub message: String,
}

impl Finding {
    /// An error finding with no pointer (it is about the claim as a whole).
    pub fn error(edit: &str, message: &str) -> Finding {
        Finding::at(edit, "", message)
    }

    /// An error finding at `pointer`.
    pub fn at(edit: &str, pointer: &str, message: &str) -> Finding {
        Finding {
            edit: edit.to_string(),
            severity: "error".into(),
            pointer: pointer.to_string(),
            message: message.to_string(),
        }
    }
}

/// What became of one claim.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmittedClaim {
    pub claim_id: Uuid,
    /// `submitted`; `refused` (see findings); or `not_sent`: its payer's transport failed,
    /// the claim stays `ready` and can be submitted again.
    pub status: &'static str,
    pub patient_control_number: Option<String>,
    /// Why it was refused or not sent: the scrubber's errors, or one finding naming the
    /// problem.
    pub findings: Vec<Finding>,
    /// The exchange (file or HTTP transmission) it went in, or was attempted in.
    pub exchange_id: Option<Uuid>,
    #[serde(skip)]
    pub patient_id: Option<Uuid>,
}

impl SubmittedClaim {
    /// `claim` refused for `findings`.
    pub fn refused(claim: &Claim, findings: Vec<Finding>) -> SubmittedClaim {
        SubmittedClaim {
            claim_id: claim.id,
            status: "refused",
            patient_control_number: Some(claim.patient_control_number.clone()),
            findings,
            exchange_id: None,
            patient_id: Some(claim.patient_id),
        }
    }

    /// `claim`, ready, whose payer's transmission in `exchange_id` failed for `reason`.
    pub fn not_sent(claim: &Claim, exchange_id: Uuid, reason: &str) -> SubmittedClaim {
        SubmittedClaim {
            status: "not_sent",
            exchange_id: Some(exchange_id),
            ..SubmittedClaim::refused(
                claim,
                vec![Finding::error(
                    "transport.failed",
                    &format!("{reason}; the claim stays ready"),
                )],
            )
        }
    }
}

/// The selected claims, each refused (with why) or cleared to go, reading only: a ready claim
/// is scrubbed (errors refuse it) and nothing is written.
pub fn screen(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    selection: &Selection,
    today: chrono::NaiveDate,
    actor: &str,
) -> CoreResult<(Vec<SubmittedClaim>, Vec<Claim>)> {
    let ids: Vec<Uuid> = match selection {
        Selection::Claims(ids) => ids.clone(),
        Selection::ReadyOfPayer(payer) => {
            let filter = ClaimFilter {
                payer_id: Some(*payer),
                status: Some(ClaimStatus::Ready),
                ..Default::default()
            };
            let page = ListParams {
                limit: Some(MAX_CLAIMS as i64),
                cursor: None,
            };
            claims::list(conn, org, &filter, &page)?
                .items
                .into_iter()
                .map(|c| c.id)
                .collect()
        }
    };
    if ids.is_empty() || ids.len() > MAX_CLAIMS {
        return Err(CoreError::invalid(
            "/claim_ids",
            format!("between 1 and {MAX_CLAIMS} claims per submission"),
        ));
    }
    let mut refused = Vec::new();
    let mut cleared = Vec::new();
    for id in ids {
        let claim = match claims::get(conn, org, id) {
            Ok(c) => c,
            Err(CoreError::NotFound { .. }) => {
                refused.push(SubmittedClaim {
                    claim_id: id,
                    status: "refused",
                    patient_control_number: None,
                    findings: vec![Finding::error("claim.not_found", "no such claim")],
                    exchange_id: None,
                    patient_id: None,
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        if claim.status != ClaimStatus::Ready {
            let why = format!(
                "the claim is {}; only ready claims are submitted",
                claim.status.as_str()
            );
            refused.push(SubmittedClaim::refused(
                &claim,
                vec![Finding::error("claim.not_ready", &why)],
            ));
            continue;
        }
        let scrub = billing::scrub_claim(conn, keyring, org, id, today, actor)?;
        let errors: Vec<Finding> = scrub
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| Finding::at(f.edit, &f.pointer, &f.message))
            .collect();
        if errors.is_empty() {
            cleared.push(claim);
        } else {
            refused.push(SubmittedClaim::refused(&claim, errors));
        }
    }
    Ok((refused, cleared))
}

/// In the caller's transaction (the one recording the exchange): moves `sent` claims to
/// `submitted`, each with its `submit` audit event, noting the interchange they went in.
#[allow(clippy::too_many_arguments)]
pub fn mark_submitted<'a>(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    trail: &dyn AuditTrail,
    actor: &str,
    sent: impl IntoIterator<Item = &'a Claim>,
    icn: &str,
    exchange_id: Uuid,
) -> CoreResult<Vec<SubmittedClaim>> {
    let mut submitted = Vec::new();
    for claim in sent {
        let t = billing::transition(
            c,
            keyring,
            org,
            claim.id,
            ClaimStatus::Submitted,
            actor,
            Some(format!("837P interchange {icn}")),
            None,
        )?;
        trail.append_other(
            c,
            "submit",
            "Claim",
            200,
            Some(claim.id),
            &Disclosed::of(&t),
        )?;
        crate::store::events::emit(
            c,
            org,
            &EventData::ClaimSubmitted(ClaimSubmitted {
                claim_id: claim.id,
                exchange_id,
                total_charge: claim.total_charge.as_decimal(),
            }),
        )?;
        submitted.push(SubmittedClaim {
            claim_id: claim.id,
            status: "submitted",
            patient_control_number: Some(claim.patient_control_number.clone()),
            findings: Vec::new(),
            exchange_id: Some(exchange_id),
            patient_id: Some(claim.patient_id),
        });
    }
    Ok(submitted)
}

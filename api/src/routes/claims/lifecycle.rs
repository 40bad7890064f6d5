//! A claim's lifecycle: scrubbing it and moving it to another status.

use actix_web::{HttpResponse, post, web};
use revcycle_core::access::Resource;
use revcycle_core::model::claim::ClaimStatus;
use revcycle_core::store::billing::{self, ClaimTransitioned, ScrubResult};
use revcycle_core::validation::{Errors, Rules};
use revcycle_core::workflows::claim_transitions;
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{JsonBody, OptionalIfMatch};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(scrub_claim).service(transition_claim);
}

/// Scrub a claim
///
/// Runs every edit on the claim as stored (code sets, diagnosis pointers, modifiers, NPI check
/// digits, coverage on the date of service, required 837P data, duplicates, timely filing)
/// and returns the findings, each with a stable `edit` id, a severity and a JSON pointer into
/// the claim (`/lines/0/diagnosis_pointers/1`; `/billing_provider/...`, `/coverage/...` for
/// related records). Errors block submission; warnings do not.
///
/// A `draft` claim with no error moves to `ready` (recorded in its history) and its charges
/// are posted to the ledger, one entry per line. A claim in any other status is scrubbed and
/// left as it is.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Claim id")),
    responses(
        (status = 200, description = "The findings; `status` is the claim's status after the scrub", body = ScrubResult,
            example = json!({"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07", "passed": false, "status": "draft",
                "findings": [{"edit": "dx.pointer_out_of_range", "severity": "error", "pointer": "/lines/1/diagnosis_pointers/0",
                    "message": "diagnosis pointer 3 names no diagnosis"}], "transition": null})),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json")))]
#[post("/claims/{id}/scrub")]
pub async fn scrub_claim(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Update>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let (org, actor) = (who.org, who.subject.clone());
    let today = chrono::Utc::now().date_naive();
    db::write(&state, &who, audit, Some(id), move |c| {
        billing::scrub_claim(c, &keyring, org, id, today, &actor)
    })
    .await
}

/// Move a claim to another status.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "submitted", "reason": "sent in batch 2026-11-03"}))]
pub struct TransitionInput {
    pub to: ClaimStatus,
    /// Why (free text without PHI), kept in the claim's history.
    // `claim_transitions::REASON_MAX_CHARS`; a test holds the two equal.
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

impl Rules for TransitionInput {
    fn check(&self, e: &mut Errors) {
        claim_transitions::check_reason(self.reason.as_deref(), e);
    }
}

/// Change a claim's status
///
/// Moves the claim along the lifecycle: draft -> ready -> submitted -> accepted | rejected ->
/// paid | partially_paid | denied -> appealed / closed, voided from draft, ready or rejected.
/// A transition outside the table is refused with 409 (`type`
/// `urn:revcycle:problem:transition-refused`) whose `allowed_next` lists the statuses the
/// claim may move to. Moving to `ready` runs the scrubber first and is refused with 422 (one
/// error per failed edit, with its pointer) while any edit fails. Every transition is recorded (who, when, why). Moving to `ready` posts
/// the claim's charges once; reopening a `ready` claim to `draft` or voiding a claim reverses
/// charges not yet adjudicated. Moving to `submitted` needs the *submit* permission and to
/// `voided` the *void* permission. `If-Match` is optional; when sent, a stale ETag gets 412.
#[utoipa::path(tag = "billing", request_body = TransitionInput,
    params(("id" = Uuid, Path, description = "Claim id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the claim version read")),
    responses(
        (status = 200, description = "The claim after the transition, with the transition recorded", body = ClaimTransitioned),
        (status = 409, description = "The lifecycle does not allow this transition", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:transition-refused", "title": "Transition refused", "status": 409,
                "detail": "a claim cannot move from draft to paid", "allowed_next": ["ready", "voided"]})),
        (status = 422, description = "Moving to `ready`: the scrubber found errors (one per failed edit)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json")))]
#[post("/claims/{id}/transition")]
pub async fn transition_claim(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    body: JsonBody<TransitionInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let input = body.value;
    if let Some(action) = claim_transitions::permission_for(input.to) {
        crate::auth::require(&who, Resource::Claim, action)?;
    }
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let keyring = state.keyring.clone();
    db::write(&state, &who, audit, Some(id), move |c| {
        claim_transitions::transition(
            c,
            &keyring,
            org,
            id,
            input.to,
            &actor,
            input.reason,
            expected,
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    /// The documented limit is the one the use case applies.
    #[test]
    fn the_documented_reason_limit_is_the_rule() {
        let schema = serde_json::to_value(TransitionInput::schema()).unwrap();
        assert_eq!(
            schema["properties"]["reason"]["maxLength"],
            serde_json::json!(claim_transitions::REASON_MAX_CHARS)
        );
    }
}

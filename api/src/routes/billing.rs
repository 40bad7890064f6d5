//! The claim lifecycle and remittance posting: scrub, transition, a claim's ledger, posting a
//! remittance and the unmatched-remittance work queue.

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::access::{Action, Resource};
use revcycle_core::error::CoreError;
use revcycle_core::model::Page;
use revcycle_core::model::claim::ClaimStatus;
use revcycle_core::store::accounts::{self, ClaimLedger};
use revcycle_core::store::billing::{self, ClaimTransitioned, ScrubResult};
use revcycle_core::store::cob::{self, SecondaryClaim};
use revcycle_core::store::posting::{self, PostingResult, UnmatchedItem};
use revcycle_core::store::remittances;
use revcycle_core::validation::{Errors, Rules};
use serde::Deserialize;
use uuid::Uuid;

use super::PageQuery;
use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, JsonBody, OptionalIfMatch};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(scrub_claim)
        .service(transition_claim)
        .service(claim_ledger)
        .service(post_remittance)
        .service(unmatched_remittances)
        .service(create_secondary_claim)
        .service(get_secondary_claim);
}

/// Bill the next payer (secondary, then tertiary)
///
/// Coordination of benefits: once a payer has adjudicated the claim (paid, partially_paid,
/// denied, appealed or closed) and its remittance is posted, creates a `draft` claim for the
/// same services billed to the patient's next active coverage on the date of service: the
/// secondary coverage for a primary claim, the tertiary coverage for a secondary claim. The
/// new claim carries every earlier payer's decision as its posted remittance gave it (paid,
/// patient responsibility, each CAS adjustment per line and at claim level, net of CLP02 22
/// reversals), which its 837P sends as loops 2320/2330A/2330B/2430. It posts no charges (the
/// services were charged on the primary claim); its payer's 835 posts onto the primary
/// claim's lines, settling what the earlier payers left to the patient. One such claim per
/// claim (409); 409 also when the payer's decision is not posted yet. Accepts an
/// `Idempotency-Key`.
#[utoipa::path(tag = "billing",
    params(("id" = Uuid, Path, description = "The claim the next payer follows (a primary or a secondary claim)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers with the first response")),
    responses(
        (status = 201, description = "The secondary (or tertiary) claim and the decisions it carries", body = SecondaryClaim),
        (status = 409, description = "Not yet adjudicated (or its remittance not posted), a next payer's claim exists, or the claim is tertiary", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patient has no active coverage of the next priority on the date of service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json")))]
#[post("/claims/{id}/secondary")]
pub async fn create_secondary_claim(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Create>,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let org = who.org;
    let replayed = revcycle_core::audit::Disclosed {
        patient_ids: Default::default(),
        fields: ["primary_adjudication"].into(),
    };
    db::write_once(
        &state,
        &who,
        audit,
        201,
        Some(id),
        key.0,
        format!("secondary:{id}"),
        replayed,
        move |c| cob::create_secondary(c, org, id),
    )
    .await
}

/// Read a secondary claim's coordination of benefits
///
/// The secondary (or tertiary) claim with the earlier payers' decisions it carries; 404 when
/// the claim follows no other claim.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Secondary claim id")),
    responses(
        (status = 200, description = "The secondary claim and the adjudication it carries", body = SecondaryClaim),
        (status = 404, description = "No such secondary claim", body = Problem, content_type = "application/problem+json")))]
#[get("/claims/{id}/cob")]
pub async fn get_secondary_claim(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let r = db::run(&state, move |c| cob::get_secondary(c, who.org, id)).await?;
    Ok(db::json(&who, r))
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
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

impl Rules for TransitionInput {
    fn check(&self, e: &mut Errors) {
        e.check(
            self.reason
                .as_ref()
                .is_none_or(|r| r.chars().count() <= 200),
            "/reason",
            "must be at most 200 characters",
        );
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
    match input.to {
        ClaimStatus::Submitted => crate::auth::require(&who, Resource::Claim, Action::Submit)?,
        ClaimStatus::Voided => crate::auth::require(&who, Resource::Claim, Action::Void)?,
        _ => {}
    }
    let mut e = Errors::new();
    input.check(&mut e);
    e.finish()?;
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let keyring = state.keyring.clone();
    db::write(&state, &who, audit, Some(id), move |c| {
        billing::transition(
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

/// Read a claim's ledger
///
/// Every ledger entry of the claim, oldest first (charges, insurance payments, CAS
/// adjustments, transfers to patient responsibility, patient payments, reversals), its balance
/// split into the insurance part (still expected from the payer) and the patient part, and its
/// status history. Amounts follow the ledger's sign convention: the change in what is owed to
/// the practice (charges positive, payments and adjustments negative; a transfer moves its
/// amount from insurance to patient).
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Claim id")),
    responses(
        (status = 200, description = "The claim's ledger, balance and history", body = ClaimLedger),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json")))]
#[get("/claims/{id}/ledger")]
pub async fn claim_ledger(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let l = db::run(&state, move |c| accounts::claim_ledger(c, who.org, id)).await?;
    Ok(db::json(&who, l))
}

/// Post a remittance
///
/// Applies a stored remittance (835) in one transaction: per service line the payment and
/// each CAS adjustment become ledger entries (CO contractual, PR transfer to patient
/// responsibility, OA, PI, CR), CLP02 22 reverses the earlier posting exactly, PLB adjustments
/// are provider-level entries, claim statuses change (recorded as transitions) and claim
/// payments that match none of our claims (or whose status change the lifecycle refuses) go to
/// the unmatched work queue. Denied lines are reported in `denials`, not posted.
///
/// A remittance that does not balance (each SVC: SVC02 = SVC03 + CAS; each CLP: CLP03 = CLP04
/// + CAS; the whole: BPR02 = sum(CLP04) - sum(PLB)) posts nothing: 422 with a pointer to the
/// amount and a message giving the expected and the computed amounts.
///
/// Idempotent by payer and trace number (TRN02): posting again returns the first posting's
/// result with `replayed: true` and changes nothing.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Remittance id")),
    responses(
        (status = 200, description = "What the posting did (or, with `replayed`, what the first posting did)", body = PostingResult),
        (status = 422, description = "The remittance does not balance; nothing was posted", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/total_paid", "message": "the remittance does not balance: BPR02 is 100.00 but claim payments less provider adjustments come to 96.00"}]})),
        (status = 404, description = "No such remittance", body = Problem, content_type = "application/problem+json")))]
#[post("/remittances/{id}/post")]
pub async fn post_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Post>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let retry_audit = audit.clone();
    let first = db::write(&state, &who, audit, Some(id), move |c| {
        posting::post_remittance(c, org, id, &actor)
    })
    .await;
    match first {
        // A concurrent posting of the same trace number won: answer with its result.
        Err(ApiError::Core(CoreError::Conflict(_))) => {
            db::write(&state, &who, retry_audit, Some(id), move |c| {
                let rem = remittances::get(c, org, id)?;
                posting::stored_result(c, org, rem.payer_id, &rem.trace_number)?.ok_or_else(|| {
                    CoreError::Conflict("the remittance could not be posted; retry".into())
                })
            })
            .await
        }
        other => other,
    }
}

/// List unmatched remittance claims
///
/// The work queue of claim payments that posting could not apply: no claim with that control
/// number (CLP01) or payer claim number (CLP07), several claims, a claim billed to another
/// payer, a status change the lifecycle refuses, a reversal with nothing to reverse, or a
/// status that posts nothing (CLP02 23, 25). Oldest first.
#[utoipa::path(tag = "billing", params(PageQuery),
    responses((status = 200, description = "A page of open work items", body = Page<UnmatchedItem>)))]
#[get("/work-queues/unmatched-remittances")]
pub async fn unmatched_remittances(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Search>,
    page: crate::extract::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.params();
    let result = db::run(&state, move |c| posting::unmatched_queue(c, who.org, &page)).await?;
    Ok(db::json(&who, result))
}

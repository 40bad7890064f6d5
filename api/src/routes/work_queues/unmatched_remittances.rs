//! The work queue of claim payments posting could not apply, and its decisions: match to a
//! claim and post, split over claims and post, or not ours (with the refunds owed to payers).

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::model::Page;
use revcycle_core::store::unmatched::{self, PayerRefund, UnmatchedWorkItem};
use revcycle_core::workflows::unmatched::{
    self as decide, DecisionOutcome, MatchInput, NotOursInput, SplitInput,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(unmatched_remittances)
        .service(payer_refunds)
        .service(unmatched_remittance)
        .service(match_unmatched_remittance)
        .service(split_unmatched_remittance)
        .service(unmatched_remittance_not_ours);
}

/// Which items the queue lists.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// Waiting for a decision.
    #[default]
    Open,
    /// Decided (matched, split or not ours), with who decided what and when.
    Resolved,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnmatchedQuery {
    /// `open` (the default) or `resolved`.
    #[param(value_type = Option<QueueState>, example = "open")]
    pub status: Option<QueueState>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefundQuery {
    /// Only the refunds owed to this payer.
    pub payer_id: Option<Uuid>,
}

/// List unmatched remittance claims
///
/// The work queue of claim payments that posting could not apply: no claim with that control
/// number (CLP01) or payer claim number (CLP07), several claims, a claim billed to another
/// payer, a status change the lifecycle refuses, a reversal with nothing to reverse, or a
/// status that posts nothing (CLP02 23, 25). Each item shows what deciding it needs: the
/// payer and trace number, CLP01/CLP07 as the payer sent them, the claim payment's amounts,
/// its service lines with their adjustments, why it did not match (`reason`) and the claims it
/// may belong to (`candidates`: those its CLP01 or CLP07 names, then claims billed to its payer
/// for the same charge that wait for payment). No patient names or member ids: the 835's
/// NM1*QC/IL are not kept. Items leave the queue only by a decision (`match`, `split`,
/// `not-ours`); `status=resolved` lists the decided ones with their `decision`. Oldest first.
#[utoipa::path(tag = "billing", params(PageQuery, UnmatchedQuery),
    responses((status = 200, description = "A page of work items", body = Page<UnmatchedWorkItem>),
        (status = 422, description = "An invalid filter or cursor", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/status", "message": "unknown variant `closed`, expected `open` or `resolved`"}]}))))]
#[get("/work-queues/unmatched-remittances")]
pub async fn unmatched_remittances(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<UnmatchedQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.params();
    let resolved = matches!(q.into_inner().status, Some(QueueState::Resolved));
    let result = db::run(&state, move |c| {
        unmatched::list(c, who.org, resolved, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

/// Get an unmatched remittance claim
///
/// One item of the queue, open or decided, as the list shows it.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Work item id")),
    responses((status = 200, description = "The work item", body = UnmatchedWorkItem),
        (status = 404, description = "No such work item", body = Problem, content_type = "application/problem+json")))]
#[get("/work-queues/unmatched-remittances/{id}")]
pub async fn unmatched_remittance(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let result = db::run(&state, move |c| unmatched::view(c, who.org, id)).await?;
    Ok(db::json(&who, result))
}

/// The remittance a work item belongs to (the audit event's resource); 404 for none.
async fn remittance_of(
    state: &AppState,
    org: revcycle_core::access::OrgId,
    id: Uuid,
) -> ApiResult<Uuid> {
    db::run(state, move |c| {
        unmatched::get(c, org, id).map(|i| i.remittance_id)
    })
    .await
}

/// Match an unmatched claim payment to a claim and post it
///
/// Posts the claim payment to the claim given exactly as if its CLP01 had named it: per
/// service line the payment and each CAS adjustment become ledger entries (CO contractual,
/// PR transfer to patient responsibility, OA, PI), denied lines open denials, and the claim's
/// status moves as the lifecycle allows (a transition by the caller, in the claim's history
/// with the remittance; the claim's ledger lists the match under `matched_by_hand`). The
/// posting emits what a posting emits (`claim.status_changed`, `denial.opened`,
/// `remittance.posted`), all in one transaction with the decision and its audit event.
///
/// The claim must be the organization's (else 422 at `/claim_id`) and billed to the
/// remittance's payer: a claim of another payer is 422 at `/claim_id` unless an
/// `override_reason` says why the payment is its (crossover, payer_identity_changed,
/// carve_out_vendor, coverage_corrected). A status the lifecycle refuses (a draft, a voided
/// claim) is 422 at `/claim_id` and posts nothing. An item decided already is 409 and posts
/// nothing. Needs the post permission on remittances (admins, billers, billing apps).
#[utoipa::path(tag = "billing", request_body = MatchInput,
    params(("id" = Uuid, Path, description = "Work item id")),
    responses((status = 200, description = "The decided item and what was posted", body = DecisionOutcome),
        (status = 404, description = "No such work item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item was decided already; nothing was posted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such claim, a claim of another payer without an override reason, or a status the lifecycle refuses; nothing was posted",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/claim_id", "message": "the claim is billed to another payer than the remittance's; give override_reason to post the payment to it anyway"}]}))))]
#[post("/work-queues/unmatched-remittances/{id}/match")]
pub async fn match_unmatched_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Post>,
    id: web::Path<Uuid>,
    body: JsonBody<MatchInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let remittance = remittance_of(&state, org, id).await?;
    let input = body.value;
    db::write_sealed(&state, &who, audit, Some(remittance), move |c, seal| {
        decide::match_claim(c, org, id, &actor, &input, seal)
    })
    .await
}

/// Split an unmatched claim payment over claims and post each part
///
/// Assigns each service line (SVC, by its position in the item's `lines`) to one of two or
/// more claims and posts each part to its claim as a match would (its lines' payments,
/// adjustments and patient responsibility; the claim-level adjustments to the part marked
/// `claim_adjustments`). Every line goes to exactly one part, each part to a different claim,
/// and the parts' charges and payments must add up to the claim payment's (CLP03, CLP04):
/// otherwise 422 with a pointer (`/parts`, `/parts/{n}/lines/{m}`, `/parts/{n}/claim_id`)
/// and nothing is posted. The claims are checked as for a match (the organization's, billed
/// to the remittance's payer unless `override_reason`). A reversal (CLP02 22) cannot be
/// split. An item decided already is 409. Needs the post permission on remittances.
#[utoipa::path(tag = "billing", request_body = SplitInput,
    params(("id" = Uuid, Path, description = "Work item id")),
    responses((status = 200, description = "The decided item and what was posted", body = DecisionOutcome),
        (status = 404, description = "No such work item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item was decided already; nothing was posted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Lines not assigned exactly once, parts that do not add up to the claim payment, or a claim that cannot take its part; nothing was posted",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/parts/1/lines/0", "message": "service line 0 is already assigned to part 0"}]}))))]
#[post("/work-queues/unmatched-remittances/{id}/split")]
pub async fn split_unmatched_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Post>,
    id: web::Path<Uuid>,
    body: JsonBody<SplitInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let remittance = remittance_of(&state, org, id).await?;
    let input = body.value;
    db::write_sealed(&state, &who, audit, Some(remittance), move |c, seal| {
        decide::split(c, org, id, &actor, &input, seal)
    })
    .await
}

/// Decide an unmatched claim payment is not ours
///
/// Records that the claim payment is not the practice's (`reason`: not_our_patient,
/// other_provider, duplicate_payment, claim_voided, paid_in_error) and posts nothing to any
/// claim. With `refund: true` the payer is owed its payment (CLP04) back: a refund of that
/// amount is recorded, on the decision and in `GET /v1/work-queues/payer-refunds`; a claim
/// payment that paid nothing has nothing to refund (422 at `/refund`). An item decided
/// already is 409. Needs the post permission on remittances.
#[utoipa::path(tag = "billing", request_body = NotOursInput,
    params(("id" = Uuid, Path, description = "Work item id")),
    responses((status = 200, description = "The decided item (with the refund owed, if any)", body = DecisionOutcome),
        (status = 404, description = "No such work item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item was decided already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid reason, or a refund of a claim payment that paid nothing", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/refund", "message": "the payer paid 0.00 (CLP04) on this claim payment: there is nothing to refund"}]}))))]
#[post("/work-queues/unmatched-remittances/{id}/not-ours")]
pub async fn unmatched_remittance_not_ours(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Post>,
    id: web::Path<Uuid>,
    body: JsonBody<NotOursInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let remittance = remittance_of(&state, org, id).await?;
    let input = body.value;
    db::write_sealed(&state, &who, audit, Some(remittance), move |c, seal| {
        decide::not_ours(c, org, id, &actor, &input, seal)
    })
    .await
}

/// List refunds owed to payers
///
/// Claim payments decided not ours with a refund owed: the payer, the remittance and claim
/// payment (CLP01/CLP07 as the payer sent them, for the refund's cover letter), the amount
/// (CLP04), the reason, who decided and when. Oldest first.
#[utoipa::path(tag = "billing", params(PageQuery, RefundQuery),
    responses((status = 200, description = "A page of refunds owed", body = Page<PayerRefund>),
        (status = 422, description = "An invalid filter or cursor", body = Problem, content_type = "application/problem+json")))]
#[get("/work-queues/payer-refunds")]
pub async fn payer_refunds(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<RefundQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.params();
    let payer = q.into_inner().payer_id;
    let result = db::run(&state, move |c| {
        unmatched::refunds(c, who.org, payer, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

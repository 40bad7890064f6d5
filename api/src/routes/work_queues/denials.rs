//! The denial work queue: every denied claim or line a posted 835 found, its root cause, and
//! the steps a biller takes on it (assign, note, follow-up date, status).

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use revcycle_core::audit::Disclosed;
use revcycle_core::billing::denials::{DenialCategory, DenialStatus};
use revcycle_core::model::Page;
use revcycle_core::model::denial::{Denial, DenialDetail, DenialNote};
use revcycle_core::store::denials as store;
use revcycle_core::validation::{Errors, Rules};
use revcycle_core::workflows::denials::{self, QueueCriteria, QueueSort};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, JsonBody, OptionalIfMatch};
use crate::problem::{ApiResult, Problem};
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_denials)
        .service(get_denial)
        .service(assign_denial)
        .service(add_denial_note)
        .service(set_denial_follow_up)
        .service(change_denial_status);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DenialQuery {
    pub payer_id: Option<Uuid>,
    /// Only the denials of this claim (its denial history).
    pub claim_id: Option<Uuid>,
    #[param(value_type = Option<DenialCategory>, example = "authorization")]
    pub category: Option<DenialCategory>,
    /// CAS02, e.g. `197`.
    // `queue::CARC_MAX_CHARS`.
    #[param(
        min_length = 1,
        max_length = 5,
        pattern = "^[A-Za-z0-9]+$",
        example = "197"
    )]
    pub carc: Option<String>,
    #[param(value_type = Option<DenialStatus>, example = "open")]
    pub status: Option<DenialStatus>,
    /// The subject the denial is assigned to.
    // `denials::ASSIGNEE_MAX_CHARS`.
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub assignee: Option<String>,
    /// `true`: only denials nobody is assigned to.
    pub unassigned: Option<bool>,
    /// At least this many days since the posting found it.
    #[param(minimum = 0, maximum = 36500)]
    pub min_age_days: Option<u32>,
    /// At most this many days since the posting found it.
    #[param(minimum = 0, maximum = 36500)]
    pub max_age_days: Option<u32>,
    /// Amount at least this (dollars, e.g. `50.00`).
    #[param(pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$", example = "50.00")]
    pub min_amount: Option<String>,
    /// Amount at most this.
    #[param(pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$", example = "500.00")]
    pub max_amount: Option<String>,
    /// A follow-up date on or before this day (what is due by then).
    pub follow_up_by: Option<NaiveDate>,
    /// An appeal deadline on or before this day.
    pub appeal_deadline_by: Option<NaiveDate>,
    /// `found` (default: oldest first) or `appeal_deadline` (nearest deadline first).
    #[param(value_type = Option<QueueSort>, example = "appeal_deadline")]
    pub sort: Option<QueueSort>,
}

impl DenialQuery {
    fn criteria(self) -> QueueCriteria {
        QueueCriteria {
            payer_id: self.payer_id,
            claim_id: self.claim_id,
            category: self.category,
            carc: self.carc,
            status: self.status,
            assignee: self.assignee,
            unassigned: self.unassigned.unwrap_or(false),
            min_age_days: self.min_age_days,
            max_age_days: self.max_age_days,
            min_amount: self.min_amount,
            max_amount: self.max_amount,
            follow_up_by: self.follow_up_by,
            appeal_deadline_by: self.appeal_deadline_by,
            sort: self.sort.unwrap_or_default(),
        }
    }
}

/// List denials
///
/// Every denied or partially denied claim or line of a posted 835 (each payer's, secondary
/// payers' included) is a denial: one per adjustment (CAS group and CARC), with its remark
/// codes, amount, payer and root-cause `category` from the CARC table (README, "Denials
/// queue"), and whether it was `avoidable`. `partial` denials are denial reasons on a line
/// that was otherwise paid (the amount was posted as an adjustment); the others are lines or
/// claims denied outright, whose amount stays with the payer. Each carries its
/// `appeal_deadline` (the remittance date plus the payer's appeal window) and
/// `appeal_due_soon`: still to be appealed and the deadline 14 days away or closer (or
/// passed). Filters combine; oldest first, or with `sort=appeal_deadline` nearest deadline
/// first.
#[utoipa::path(tag = "billing", params(PageQuery, DenialQuery),
    responses((status = 200, description = "A page of denials", body = Page<Denial>),
        (status = 422, description = "A filter is out of range", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/max_amount", "message": "must not be less than min_amount"}]}))))]
#[get("/work-queues/denials")]
pub async fn list_denials(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Denial, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<DenialQuery>,
) -> ApiResult<HttpResponse> {
    let criteria = q.into_inner().criteria();
    let page = page.params();
    let result = db::run(&state, move |c| {
        denials::queue::list(c, who.org, &criteria, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

/// Read a denial
///
/// The denial with its notes (oldest first) and every step taken on it. The ETag is the
/// version the steps' `If-Match` compares with.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Denial id")),
    responses((status = 200, description = "The denial, its notes and its history", body = DenialDetail,
            headers(("ETag" = String))),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json")))]
#[get("/work-queues/denials/{id}")]
pub async fn get_denial(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Denial, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let org = who.org;
    let d = db::run(&state, move |c| denials::detail(c, &keyring, org, id)).await?;
    Ok(db::ok(&who, d))
}

/// Assign a denial to a user (or nobody).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assignee": "biller-7"}))]
pub struct AssignInput {
    /// A user's subject; `null` unassigns.
    // `denials::ASSIGNEE_MAX_CHARS`; a test holds the two equal.
    #[schema(max_length = 200)]
    pub assignee: Option<String>,
}

impl Rules for AssignInput {
    fn check(&self, e: &mut Errors) {
        denials::check_assignee(self.assignee.as_deref(), e);
    }
}

/// Assign a denial
///
/// Sets who works the denial (`null`: nobody); recorded in the claim's history. A resolved or
/// written-off denial takes no more steps (409). `If-Match` is optional; a stale ETag is 412.
#[utoipa::path(tag = "billing", request_body = AssignInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read")),
    responses((status = 200, description = "The denial after the step", body = Denial, headers(("ETag" = String))),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The denial is closed", body = Problem, content_type = "application/problem+json")))]
#[post("/work-queues/denials/{id}/assign")]
pub async fn assign_denial(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    body: JsonBody<AssignInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let assignee = body.value.assignee;
    db::update(&state, &who, audit, move |c| {
        denials::assign(c, org, id, expected, &actor, assignee)
    })
    .await
}

/// Set or clear the date to look at a denial again.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"follow_up_on": "2026-12-15"}))]
pub struct FollowUpInput {
    /// `null` clears it.
    pub follow_up_on: Option<NaiveDate>,
}

impl Rules for FollowUpInput {
    fn check(&self, _: &mut Errors) {}
}

/// Set a denial's follow-up date
///
/// The day to look at the denial again (`null` clears it); the queue's `follow_up_by` filter
/// lists what is due. Recorded in the claim's history. A closed denial is 409; `If-Match` is
/// optional, a stale ETag 412.
#[utoipa::path(tag = "billing", request_body = FollowUpInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read")),
    responses((status = 200, description = "The denial after the step", body = Denial, headers(("ETag" = String))),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The denial is closed", body = Problem, content_type = "application/problem+json")))]
#[post("/work-queues/denials/{id}/follow-up")]
pub async fn set_denial_follow_up(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    body: JsonBody<FollowUpInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let on = body.value.follow_up_on;
    db::update(&state, &who, audit, move |c| {
        denials::set_follow_up(c, org, id, expected, &actor, on)
    })
    .await
}

/// Move a denial to another status.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "in_progress"}))]
pub struct DenialStatusInput {
    pub to: DenialStatus,
}

impl Rules for DenialStatusInput {
    fn check(&self, _: &mut Errors) {}
}

/// Change a denial's status
///
/// open -> in_progress -> appealed -> resolved | written_off; open and in_progress may also be
/// resolved or written off at once, in_progress may go back to open and appealed back to
/// in_progress. Resolved and written off are final. A move outside the table is 409 (`type`
/// `urn:revcycle:problem:transition-refused`) whose `allowed_next` lists the statuses it may
/// move to. Recorded in the claim's history. `If-Match` is optional; a stale ETag is 412.
/// (Recording a write-off here changes no balance: the ledger entry is a separate step.)
#[utoipa::path(tag = "billing", request_body = DenialStatusInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read")),
    responses((status = 200, description = "The denial after the step", body = Denial, headers(("ETag" = String))),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The status machine does not allow this move", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:transition-refused", "title": "Transition refused", "status": 409,
                "detail": "a denial cannot move from open to appealed", "allowed_next": ["in_progress", "resolved", "written_off"]}))))]
#[post("/work-queues/denials/{id}/status")]
pub async fn change_denial_status(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    body: JsonBody<DenialStatusInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let to = body.value.to;
    db::update(&state, &who, audit, move |c| {
        denials::change_status(c, org, id, expected, &actor, to)
    })
    .await
}

/// A note on a denial: what the payer said, what was sent. PHI: stored encrypted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Called the payer: operative report requested, faxed today"}))]
pub struct NoteInput {
    // `denials::NOTE_MAX_CHARS`; a test holds the two equal.
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

impl Rules for NoteInput {
    fn check(&self, e: &mut Errors) {
        denials::check_note(&self.text, e);
    }
}

/// Add a note to a denial
///
/// The note's text is protected health information: it is stored encrypted with the
/// organization's data key (re-encrypted by key rotation), returned only to those who may
/// read denials, and never logged; the claim's history records that a note was added, not
/// what it says. Notes may be added to closed denials too.
///
/// Send an `Idempotency-Key` so a retried request cannot add the note twice.
#[utoipa::path(tag = "billing", request_body = NoteInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 201, description = "The note", body = DenialNote),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json")))]
#[post("/work-queues/denials/{id}/notes")]
pub async fn add_denial_note(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<NoteInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let patient = db::run(&state, move |c| store::get(c, org, id))
        .await?
        .patient_id;
    let replayed = Disclosed {
        patient_ids: [patient].into(),
        fields: ["denial_notes"].into(),
    };
    let keyring = state.keyring.clone();
    let text = body.value.text;
    db::write_once(
        &state,
        &who,
        audit,
        201,
        Some(id),
        key.0,
        body.hash,
        replayed,
        move |c| denials::add_note(c, &keyring, org, id, &actor, &text),
    )
    .await
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    /// The documented limits are the ones the use cases apply.
    #[test]
    fn the_documented_limits_are_the_rules() {
        let note = serde_json::to_value(NoteInput::schema()).unwrap();
        assert_eq!(
            note["properties"]["text"]["maxLength"],
            serde_json::json!(denials::NOTE_MAX_CHARS)
        );
        let assign = serde_json::to_value(AssignInput::schema()).unwrap();
        let limit = serde_json::to_string(&assign["properties"]["assignee"]).unwrap();
        assert!(
            limit.contains(&format!("\"maxLength\":{}", denials::ASSIGNEE_MAX_CHARS)),
            "{limit}"
        );
    }
}

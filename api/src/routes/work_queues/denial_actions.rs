//! What a biller does about a denial beyond working it in the queue: write it off, make a
//! corrected or void claim from it, appeal it (with the facts of a letter) and record the
//! appeal's outcome.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use revcycle_core::access::{Action, OrgId, Principal, Resource};
use revcycle_core::audit::Disclosed;
use revcycle_core::error::CoreResult;
use revcycle_core::model::denial::WriteOffInput;
use revcycle_core::store::denials as store;
use revcycle_core::store::{DbConnection, KeyRing};
use revcycle_core::workflows::denials::{
    self, AppealInput, AppealLetter, AppealOutcomeInput, CorrectedClaimInput, DenialAppealed,
    DenialResubmission, DenialWriteOff, RenderedLetter, Resubmit, VoidClaimInput,
};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, JsonBody, OptionalIfMatch};
use crate::html::esc;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(write_off_denial)
        .service(corrected_claim_from_denial)
        .service(void_claim_from_denial)
        .service(appeal_denial)
        .service(record_appeal_outcome)
        .service(denial_appeal_letter);
}

/// Write off a denial
///
/// The practice gives up collecting (part of) a denied amount from the payer: the amount
/// becomes `write_off` entries on the claim's ledger (an adjustment under the given group and
/// CARC, never a payment), so the claim's balance and the A/R drop by exactly that amount. A
/// line-level denial is written off its line; a claim-level one is spread over the claim's
/// lines in line order, each up to what the payer still owes on it.
///
/// The amount is at most the denial's open amount: what of it has not been written off yet,
/// and never more than the payer still owes where it was denied (a partial denial was already
/// posted as the payer's adjustment and has nothing left). More is 422 at `/amount`, naming
/// the open amount. The write-off that leaves nothing open moves the denial to `written_off`
/// (an earlier, partial one leaves its status as it was); one that settles the claim's whole
/// balance closes a denied or partially paid claim. Recorded in the claim's history with the
/// entries' ids; the optional `note` is stored encrypted as a note on the denial.
///
/// Needs the `write_off` permission on denials (admins and billers; billing apps and coders
/// get 403). Send an `Idempotency-Key` so a retried request cannot write off twice;
/// `If-Match` is optional, a stale ETag 412. A closed denial is 409.
#[utoipa::path(tag = "billing", request_body = WriteOffInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 200, description = "The write-off, its ledger entries and the claim's balance", body = DenialWriteOff),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The denial is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The denial changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field, or more than the denial's open amount", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/amount", "message": "must be at most 80.00, the denial's open amount"}]}))))]
#[post("/work-queues/denials/{id}/write-off")]
pub async fn write_off_denial(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::WriteOff>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    key: IdempotencyKey,
    body: JsonBody<WriteOffInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let replayed = disclosed_on_replay(
        &state,
        org,
        id,
        &["denials", "ledger", "balances", "claim_status"],
    )
    .await?;
    let keyring = state.keyring.clone();
    let input = body.value;
    db::write_once(
        &state,
        &who,
        audit,
        200,
        Some(id),
        key.0,
        body.hash,
        replayed,
        move |c| denials::write_off(c, &keyring, org, id, expected, &actor, &input),
    )
    .await
}

/// Make a corrected claim from a denial
///
/// A replacement claim (frequency 7, CLM05-3 `7`): a copy of the denied claim as it was billed,
/// with the corrections given (diagnoses, service lines with their modifiers, units and
/// charges, the prior authorization number, the place of service; what is left out is
/// copied), naming the denied claim (`original_claim_id`) and the payer's claim control number
/// of it from the remittance that denied it (CLP07, sent as `REF*F8`). It is scrubbed at once:
/// `ready` when clean (submit it with `POST /v1/claims/submit` like any claim), else `draft`
/// with the scrubber's findings to fix with `PUT /v1/claims/{id}`. When it is charged it takes
/// the original's place on the ledger: the original's charges are reversed (the payer reverses
/// what it paid on the original when it adjudicates the replacement).
///
/// The denial moves to `in_progress` (if it was `open`) and links the claim
/// (`resubmission_claim_id`); the payer's 835 paying that claim in full resolves the denial.
/// A denial that has a resubmitted claim already, or whose claim the payer gave no claim
/// control number for, is 409; a closed denial is 409. The optional `note` is stored encrypted
/// with the denial's notes. Needs permission to update denials and to create claims.
#[utoipa::path(tag = "billing", request_body = CorrectedClaimInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 201, description = "The corrected claim, its scrub, and the denial linking it", body = DenialResubmission),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The denial is closed or already resubmitted, or the payer gave no claim control number", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The denial changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid correction (codes, pointers, lines), checked with the claim it corrects", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 2 invalid field(s)",
                "errors": [{"pointer": "/diagnoses/0", "message": "is an ICD-10-CM category or subcategory header, not a reportable code: report a more specific code"},
                    {"pointer": "/lines/0/diagnosis_pointers/1", "message": "diagnosis pointer refers to a diagnosis that does not exist"}]}))))]
#[post("/work-queues/denials/{id}/corrected-claim")]
pub async fn corrected_claim_from_denial(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    key: IdempotencyKey,
    body: JsonBody<CorrectedClaimInput>,
) -> ApiResult<HttpResponse> {
    crate::auth::require(&who, Resource::Claim, Action::Create)?;
    let input = body.value;
    resubmit(
        state,
        who,
        audit,
        id.into_inner(),
        if_match,
        key,
        body.hash,
        move |c, k, org, id, v, actor| {
            denials::resubmission::resubmit(c, k, org, id, v, actor, Resubmit::Corrected(&input))
        },
    )
    .await
}

/// Make a void claim from a denial
///
/// A void claim (frequency 8, CLM05-3 `8`): the denied claim as billed, naming it and the
/// payer's claim control number of it (`REF*F8`), asking the payer to cancel it. Scrubbed at
/// once and submitted like any claim. A void claim bills nothing (no charges on the ledger);
/// the payer answers it by reversing the original, after which the denial is resolved or
/// written off by hand. The denial moves to `in_progress` and links the claim. Needs
/// permission to update denials and to void claims; otherwise as the corrected claim.
#[utoipa::path(tag = "billing", request_body = VoidClaimInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 201, description = "The void claim, its scrub, and the denial linking it", body = DenialResubmission),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The denial is closed or already resubmitted, or the payer gave no claim control number", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The denial changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field", body = Problem, content_type = "application/problem+json")))]
#[post("/work-queues/denials/{id}/void-claim")]
pub async fn void_claim_from_denial(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    key: IdempotencyKey,
    body: JsonBody<VoidClaimInput>,
) -> ApiResult<HttpResponse> {
    crate::auth::require(&who, Resource::Claim, Action::Void)?;
    let input = body.value;
    resubmit(
        state,
        who,
        audit,
        id.into_inner(),
        if_match,
        key,
        body.hash,
        move |c, k, org, id, v, actor| {
            denials::resubmission::resubmit(c, k, org, id, v, actor, Resubmit::Void(&input))
        },
    )
    .await
}

/// The resubmission routes' common part: run `f` once (per `Idempotency-Key`), 201.
#[allow(clippy::too_many_arguments)]
async fn resubmit<F>(
    state: web::Data<AppState>,
    who: Principal,
    audit: crate::request_audit::context::AuditCtx,
    id: Uuid,
    if_match: OptionalIfMatch,
    key: IdempotencyKey,
    hash: String,
    f: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(
            &mut DbConnection,
            &KeyRing,
            OrgId,
            Uuid,
            Option<i32>,
            &str,
        ) -> CoreResult<DenialResubmission>
        + Send
        + 'static,
{
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let replayed = disclosed_on_replay(&state, org, id, &["denials", "claim_status"]).await?;
    let keyring = state.keyring.clone();
    db::write_once(
        &state,
        &who,
        audit,
        201,
        Some(id),
        key.0,
        hash,
        replayed,
        move |c| f(c, &keyring, org, id, expected, &actor),
    )
    .await
}

/// What answering a retried request again discloses: the denial's patient and `fields`.
async fn disclosed_on_replay(
    state: &AppState,
    org: OrgId,
    id: Uuid,
    fields: &[&'static str],
) -> ApiResult<Disclosed> {
    let patient = db::run(state, move |c| store::get(c, org, id))
        .await?
        .patient_id;
    Ok(Disclosed {
        patient_ids: [patient].into(),
        fields: fields.iter().copied().collect(),
    })
}

/// Appeal a denial
///
/// Records an appeal sent to the payer on `sent_on`: level 1 first, then the next level after
/// each decision. It is due by its deadline: for the first level the remittance date plus the
/// payer's `appeal_limit_days` (the denial's `appeal_deadline`; by default 120 days for
/// Medicare, 180 for other payers), for a later one the previous decision's date plus the same
/// window. One sent after it is refused (422 at `/sent_on`, naming the deadline) unless
/// `late_reason` says why it should be heard; the reason and the optional `note` are stored
/// encrypted with the denial's notes. The denial moves to `appealed` (an `open` one through
/// `in_progress`) and its claim to `appealed` where the lifecycle allows. A later 835 that
/// pays the claim in full records the appeal as overturned and resolves the denial; a
/// decision can also be recorded by hand (`.../appeal/outcome`). An appeal waiting for a
/// decision, or a closed denial, is 409.
#[utoipa::path(tag = "billing", request_body = AppealInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 201, description = "The appeal and the denial after it", body = DenialAppealed),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The denial is closed, or an appeal waits for a decision", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The denial changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Past the deadline without a reason, or an invalid field", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/sent_on", "message": "the appeal deadline 2027-05-19 has passed: give late_reason to appeal anyway"}]}))))]
#[post("/work-queues/denials/{id}/appeal")]
pub async fn appeal_denial(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    key: IdempotencyKey,
    body: JsonBody<AppealInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let replayed =
        disclosed_on_replay(&state, org, id, &["denials", "appeals", "claim_status"]).await?;
    let keyring = state.keyring.clone();
    let input = body.value;
    let today = chrono::Utc::now().date_naive();
    db::write_once(
        &state,
        &who,
        audit,
        201,
        Some(id),
        key.0,
        body.hash,
        replayed,
        move |c| denials::appeals::appeal(c, &keyring, org, id, expected, &actor, &input, today),
    )
    .await
}

/// Record an appeal's outcome
///
/// The payer's decision on the denial's pending appeal, on `decided_on`: `overturned`
/// resolves the denial (the payment comes with the payer's 835); `upheld` or `partially`
/// sends it back to `in_progress` (for the next level, a correction or a write-off) and an
/// upheld appeal returns the claim to the status it had before it was appealed. A denial with
/// no appeal waiting is 409.
#[utoipa::path(tag = "billing", request_body = AppealOutcomeInput,
    params(("id" = Uuid, Path, description = "Denial id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the denial version read"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses((status = 200, description = "The decided appeal and the denial after it", body = DenialAppealed),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No appeal waits for a decision, or the denial is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The denial changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field", body = Problem, content_type = "application/problem+json")))]
#[post("/work-queues/denials/{id}/appeal/outcome")]
pub async fn record_appeal_outcome(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Denial, act::Update>,
    id: web::Path<Uuid>,
    if_match: OptionalIfMatch,
    key: IdempotencyKey,
    body: JsonBody<AppealOutcomeInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (org, actor) = (who.org, who.subject.clone());
    let expected = if_match.0.map(|m| m.0);
    let replayed =
        disclosed_on_replay(&state, org, id, &["denials", "appeals", "claim_status"]).await?;
    let keyring = state.keyring.clone();
    let input = body.value;
    let today = chrono::Utc::now().date_naive();
    db::write_once(
        &state,
        &who,
        audit,
        200,
        Some(id),
        key.0,
        body.hash,
        replayed,
        move |c| denials::appeals::decide(c, &keyring, org, id, expected, &actor, &input, today),
    )
    .await
}

/// Read a denial's appeal letter
///
/// The letter appealing the denial at its next level, dated today. As JSON (the default), its
/// facts: the payer, the billing provider, the patient (name, date of birth, member id), our
/// claim number and the payer's (CLP07), the dates of service, the denied line (or every line
/// of a claim-level denial) with its charge, the adjustment group and reason with their
/// meaning, the remark codes, the amount, the appeal deadline and the prior authorization.
/// With `Accept: text/html` or `Accept: application/pdf`, the letter printed from the
/// organization's template (`/v1/appeal-letter-template`, or the default while none is set)
/// as a page or a US Letter PDF. It shows protected health information: every read is audited
/// like a patient record's, and needs permission to read denials and patients.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Denial id")),
    responses(
        (status = 200, description = "The letter: its facts (JSON), or printed from the template (HTML page with `Accept: text/html`, PDF with `Accept: application/pdf`)",
            content((AppealLetter = "application/json"), (String = "text/html"),
                (crate::routes::statements::PdfDocument = "application/pdf"))),
        (status = 404, description = "No such denial", body = Problem, content_type = "application/problem+json")))]
#[get("/work-queues/denials/{id}/appeal-letter")]
pub async fn denial_appeal_letter(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Denial, act::Read>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    crate::auth::require(&who, Resource::Patient, Action::Read)?;
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let org = who.org;
    let today = chrono::Utc::now().date_naive();
    let (letter, template) = db::run(&state, move |c| {
        denials::appeal_letter_with_template(c, &keyring, org, id, today)
    })
    .await?;
    let for_pdf = template.clone();
    Ok(crate::html::json_page_or_pdf(
        &req,
        &who,
        letter,
        move |l| letter_html(&denials::letter::render(&template, l)),
        Some(move |l: &AppealLetter| {
            crate::letter_pdf::render(&denials::letter::render(&for_pdf, l))
        }),
    ))
}

/// The rendered letter as a printable page: the practice's text escaped, paragraphs as
/// paragraphs and its line breaks kept.
fn letter_html(l: &RenderedLetter) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>Appeal of a claim denial</title><style>");
    h.push_str("body{font-family:serif;margin:2em;max-width:46em}h1{font-size:1.3em}");
    h.push_str("@media print{body{margin:0}}</style></head><body>\n");
    h.push_str(&format!("<h1>{}</h1>\n", esc(&l.heading)));
    for p in &l.paragraphs {
        let lines: Vec<String> = p.iter().map(|line| esc(line)).collect();
        h.push_str(&format!("<p>{}</p>\n", lines.join("<br>\n")));
    }
    h.push_str("</body></html>\n");
    h
}

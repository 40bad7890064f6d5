//! The practice's appeal-letter template (`/v1/appeal-letter-template`): its own wording with
//! placeholders for the facts of a denial, used by
//! `GET /v1/work-queues/denials/{id}/appeal-letter` for the HTML and PDF letter.

use actix_web::http::header;
use actix_web::{HttpResponse, get, put, web};
use revcycle_core::audit::Disclosed;
use revcycle_core::model::letter_template::{LetterTemplate, LetterTemplateInput};
use revcycle_core::store::letter_templates;

use super::statements::{answer, audited};
use crate::authz::{Authorized, Capable, act, cap, res};
use crate::db;
use crate::extract::{JsonBody, OptionalIfMatch, etag};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_appeal_letter_template)
        .service(put_appeal_letter_template);
}

/// Read the appeal-letter template
///
/// The template appeal letters are printed from: the practice's own (with its `ETag`), or,
/// while it has set none, the default (`is_default` true, `version` 0, no `ETag`). The heading
/// and body hold `{{name}}` placeholders replaced by the letter's facts: `date`, `level`,
/// `appeal_deadline`, `payer_name`, `provider_name`, `provider_npi`, `patient_name`,
/// `patient_birth_date`, `member_id`, `patient_control_number`, `payer_claim_number`,
/// `service_date_from`, `service_date_to`, `service_dates`, `lines`, `group`, `carc`,
/// `carc_description`, `adjustment`, `rarcs`, `amount` and `prior_authorization`. A blank line
/// separates paragraphs; a line whose placeholders all have no value is left out. Readable by
/// whoever reads denials; it holds no patient data.
#[utoipa::path(tag = "billing",
    responses((status = 200, description = "The template in force", body = LetterTemplate, headers(("ETag" = String)))))]
#[get("/appeal-letter-template")]
pub async fn get_appeal_letter_template(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Denial, act::Read>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let t = db::run(&state, move |c| letter_templates::in_force(c, org)).await?;
    let mut resp = HttpResponse::Ok();
    if !t.is_default {
        resp.insert_header((header::ETAG, etag(t.version)));
    }
    let mut resp = resp.json(&t);
    resp.extensions_mut().insert(Disclosed::default());
    Ok(resp)
}

/// Set the appeal-letter template
///
/// Admins only (the `practice.manage` capability). Every placeholder is checked: an unknown
/// name or an unclosed `{{` is refused (422, pointing at `/heading` or `/body`, with the
/// character position). Creates (201) or replaces (200); with `If-Match`, the stored template
/// must be at that version (412 otherwise).
#[utoipa::path(tag = "billing", request_body = LetterTemplateInput,
    params(("If-Match" = Option<String>, Header, description = "ETag of the template version read")),
    responses((status = 200, description = "Replaced", body = LetterTemplate, headers(("ETag" = String))),
        (status = 201, description = "Created", body = LetterTemplate, headers(("ETag" = String))),
        (status = 404, description = "`If-Match` given and no template set yet", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The template changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field out of range or an unknown placeholder (each named by a JSON pointer)", body = Problem, content_type = "application/problem+json")))]
#[put("/appeal-letter-template")]
pub async fn put_appeal_letter_template(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::PracticeManage, act::Update>,
    if_match: OptionalIfMatch,
    body: JsonBody<LetterTemplateInput>,
) -> ApiResult<HttpResponse> {
    let (org, input) = (who.org, body.value);
    let expected = if_match.0.map(|m| m.0);
    let (t, status) = audited(&state, &who, audit, 200, move |c| {
        let (t, created) = letter_templates::set(c, org, &input, expected)?;
        Ok((t, None, if created { 201 } else { 200 }))
    })
    .await?;
    Ok(answer(status, &t, Some(t.version), None))
}

//! The unidentified-remittance work queue: 835 remittances whose payer no id in the file
//! names, kept until a payer is linked.

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::access::{Action, Resource};
use revcycle_core::model::Page;
use revcycle_core::store::unidentified::{self, UnidentifiedRemittance};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::connectors::payer::{self, ResolveInput, Resolved};
use crate::db;
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};
use crate::request_audit::context::AuditedInTx;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(unidentified_remittances)
        .service(resolve_unidentified_remittance);
}

/// List remittances waiting for their payer
///
/// The work queue of 835 remittances (imported through the API or picked up from the inbox)
/// whose payer no id in the file names: TRN03 (`1` and the payer's EIN, or another id),
/// N1*PR N103/N104 and the 1000A REFs (2U, EO, HI, NF) are looked up among the payers'
/// `payer_code`s and `identifiers`; none matched (`unknown_payer`), or they named different
/// payers (`ambiguous_payer`). Each item names the ids found (and where they were read), the
/// trace number, date and total; nothing about patients. Oldest first.
#[utoipa::path(tag = "billing", params(PageQuery),
    responses((status = 200, description = "A page of open work items", body = Page<UnidentifiedRemittance>)))]
#[get("/work-queues/unidentified-remittances")]
pub async fn unidentified_remittances(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Search>,
    page: crate::extract::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.params();
    let result = db::run(&state, move |c| unidentified::open(c, who.org, &page)).await?;
    Ok(db::json(&who, result))
}

/// Link a payer to a remittance waiting for it
///
/// Stores the remittance for the payer exactly as its import would have (with its file, so
/// the file then names the claims it touched) and, when the import asked for posting (the
/// inbox always does), posts it, in one transaction. With `remember_identifiers`, the ids
/// the remittance gave are added to the payer's `identifiers` so its next files are
/// identified at once. Adding an identifier to a payer (`PUT /v1/payers/{id}`) resolves the
/// items it names the same way. Needs create on remittances (and post, for an item to post).
#[utoipa::path(tag = "billing", request_body = ResolveInput,
    params(("id" = Uuid, Path, description = "Work item id")),
    responses((status = 200, description = "The resolved item and the stored (and posted) remittance", body = Resolved),
        (status = 404, description = "No such work item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved, or another payer is known by one of the remittance's ids", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "No such payer, or the remittance does not balance; nothing was written", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"pointer": "/payer_id", "message": "no such payer"}]}))))]
#[post("/work-queues/unidentified-remittances/{id}/resolve")]
pub async fn resolve_unidentified_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Create>,
    id: web::Path<Uuid>,
    body: JsonBody<ResolveInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let org = who.org;
    let post = db::run(&state, move |c| {
        unidentified::get(c, org, id).map(|(i, _)| i.post)
    })
    .await?;
    if post {
        crate::auth::require(&who, Resource::Remittance, Action::Post)?;
    }
    let result = payer::resolve_unidentified(&state, &who, audit, id, body.value).await?;
    let mut resp = db::json(&who, result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

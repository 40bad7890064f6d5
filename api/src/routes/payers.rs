use actix_web::{HttpResponse, get, post, put, web};
use revcycle_core::access::{Action, Principal, Resource};
use revcycle_core::model::Page;
use revcycle_core::model::payer::{Payer, PayerInput};
use revcycle_core::store::payers::{self, PayerFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::connectors::payer;
use crate::db;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::request_audit::context::AuditCtx;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_payer)
        .service(list_payers)
        .service(get_payer)
        .service(update_payer);
}

/// Create a payer
///
/// A health plan or other payer that claims are sent to.
#[utoipa::path(tag = "payers", request_body = PayerInput,
    responses((status = 201, description = "Created", body = Payer,
        headers(("Location" = String, description = "URL of the new payer"), ("ETag" = String)))))]
#[post("/payers")]
pub async fn create_payer(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Payer, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<PayerInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let resolver = resolver(&who, &audit);
    db::create(
        &state,
        &who,
        audit,
        "/v1/payers",
        key.0,
        body.hash,
        move |c| {
            let p = payers::create(c, org, &body.value)?;
            resolve_named(c, org, resolver.as_ref(), &p)?;
            Ok(p)
        },
    )
    .await
}

/// Who resolves the unidentified remittances a payer's identifiers name: the caller, when
/// they may store and post remittances.
fn resolver(who: &Principal, audit: &AuditCtx) -> Option<(AuditCtx, String)> {
    let may = crate::auth::require(who, Resource::Remittance, Action::Create).is_ok()
        && crate::auth::require(who, Resource::Remittance, Action::Post).is_ok();
    may.then(|| (audit.clone(), who.subject.clone()))
}

/// Resolves the open work items the payer's identifiers now name (each in a savepoint: an
/// item that cannot post stays in the queue and does not undo the payer's change).
fn resolve_named(
    c: &mut revcycle_core::store::DbConnection,
    org: revcycle_core::access::OrgId,
    resolver: Option<&(AuditCtx, String)>,
    p: &Payer,
) -> revcycle_core::error::CoreResult<()> {
    if let Some((audit, actor)) = resolver
        && !p.identifiers.is_empty()
    {
        payer::resolve_named(c, org, audit, actor, p.id)?;
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PayerQuery {
    /// Exact electronic payer id.
    pub payer_code: Option<String>,
    pub active: Option<bool>,
}

/// List payers
#[utoipa::path(tag = "payers", params(PageQuery, PayerQuery),
    responses((status = 200, description = "A page of payers, oldest first", body = Page<Payer>)))]
#[get("/payers")]
pub async fn list_payers(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Payer, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<PayerQuery>,
) -> ApiResult<HttpResponse> {
    let filter = PayerFilter {
        payer_code: q.payer_code.clone(),
        active: q.active,
    };
    let page = page.params();
    let result = db::run(&state, move |c| payers::list(c, who.org, &filter, &page)).await?;
    Ok(db::json(&who, result))
}

/// Read a payer
#[utoipa::path(tag = "payers", params(("id" = Uuid, Path, description = "Payer id")),
    responses((status = 200, description = "The payer", body = Payer, headers(("ETag" = String)))))]
#[get("/payers/{id}")]
pub async fn get_payer(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Payer, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let payer = db::run(&state, move |c| payers::get(c, who.org, id)).await?;
    Ok(db::ok(&who, payer))
}

/// Replace a payer
///
/// Send the whole payer with `If-Match` set to the ETag you read; a stale ETag gets 412.
#[utoipa::path(tag = "payers", request_body = PayerInput,
    params(("id" = Uuid, Path, description = "Payer id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    responses((status = 200, description = "Updated", body = Payer, headers(("ETag" = String)))))]
#[put("/payers/{id}")]
pub async fn update_payer(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Payer, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<PayerInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let resolver = resolver(&who, &audit);
    let org = who.org;
    db::update(&state, &who, audit, move |c| {
        let p = payers::update(c, org, id, if_match.0, &body.value)?;
        resolve_named(c, org, resolver.as_ref(), &p)?;
        Ok(p)
    })
    .await
}

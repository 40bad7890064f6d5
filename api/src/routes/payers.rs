use actix_web::{HttpResponse, get, post, put, web};
use revcycle_core::access::{Action, Principal, Resource};
use revcycle_core::model::Page;
use revcycle_core::model::payer::{Payer, PayerFilter, PayerInput};
use revcycle_core::store::payers;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::connectors::payer;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::request_audit::context::AuditCtx;
use crate::routes::crud;
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
    let resolver = resolver(&who, &audit);
    crud::create_record(
        &state,
        &who,
        audit,
        "/v1/payers",
        key,
        body,
        move |c, _, org, input| {
            let p = payers::create(c, org, &input)?;
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

crud::list! {
    /// List payers
    #[utoipa::path(tag = "payers", params(PageQuery, PayerFilter),
        responses((status = 200, description = "A page of payers, oldest first", body = Page<Payer>)))]
    fn list_payers("/payers", res::Payer, PayerFilter)
        => |c, _keyring, org, filter, page| payers::list(c, org, filter, page)
}

crud::read! {
    /// Read a payer
    #[utoipa::path(tag = "payers", params(("id" = Uuid, Path, description = "Payer id")),
        responses((status = 200, description = "The payer", body = Payer, headers(("ETag" = String)))))]
    fn get_payer("/payers/{id}", res::Payer)
        => |c, _keyring, org, id| payers::get(c, org, id)
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
    let resolver = resolver(&who, &audit);
    let id = id.into_inner();
    crud::replace_record(
        &state,
        &who,
        audit,
        id,
        if_match,
        body,
        move |c, _, org, id, version, input| {
            let p = payers::update(c, org, id, version, &input)?;
            resolve_named(c, org, resolver.as_ref(), &p)?;
            Ok(p)
        },
    )
    .await
}

use actix_web::{HttpResponse, get, post, put, web};
use revcycle_core::codes::{Npi, ProviderRole};
use revcycle_core::model::Page;
use revcycle_core::model::provider::{Provider, ProviderInput};
use revcycle_core::store::providers::{self, ProviderFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_provider)
        .service(list_providers)
        .service(get_provider)
        .service(update_provider);
}

/// Create a provider
///
/// One NPI is one provider, with the set of claim slots it may fill in `roles`: `billing`
/// (the practice or group that is paid, 837P loop 2010AA), `rendering` (the clinician, loop
/// 2310B), `referring` (2310A), `supervising` (2310D). A solo practitioner who bills under
/// their own NPI is one provider with `["billing", "rendering"]`. A second provider with the
/// same NPI gets 409: add the role to the existing one (`PUT`). The NPI's check digit is
/// verified.
#[utoipa::path(tag = "providers", request_body = ProviderInput,
    responses((status = 201, description = "Created", body = Provider,
        headers(("Location" = String, description = "URL of the new provider"), ("ETag" = String)))))]
#[post("/providers")]
pub async fn create_provider(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Provider, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<ProviderInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    db::create(
        &state,
        &who,
        audit,
        "/v1/providers",
        key.0,
        body.hash,
        move |c| providers::create(c, org, &body.value),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProviderQuery {
    #[param(value_type = Option<String>, example = "1234567893")]
    pub npi: Option<Npi>,
    /// Only providers holding this role (among others).
    #[param(value_type = Option<String>, example = "billing")]
    pub role: Option<ProviderRole>,
    pub active: Option<bool>,
}

/// List providers
#[utoipa::path(tag = "providers", params(PageQuery, ProviderQuery),
    responses((status = 200, description = "A page of providers, oldest first", body = Page<Provider>)))]
#[get("/providers")]
pub async fn list_providers(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Provider, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<ProviderQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = ProviderFilter {
        npi: q.npi,
        role: q.role,
        active: q.active,
    };
    let page = page.params();
    let result = db::run(&state, move |c| providers::list(c, who.org, &filter, &page)).await?;
    Ok(db::json(&who, result))
}

/// Read a provider
#[utoipa::path(tag = "providers", params(("id" = Uuid, Path, description = "Provider id")),
    responses((status = 200, description = "The provider", body = Provider, headers(("ETag" = String)))))]
#[get("/providers/{id}")]
pub async fn get_provider(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Provider, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let provider = db::run(&state, move |c| providers::get(c, who.org, id)).await?;
    Ok(db::ok(&who, provider))
}

/// Replace a provider
///
/// Send the whole provider with `If-Match` set to the ETag you read; a stale ETag gets 412.
#[utoipa::path(tag = "providers", request_body = ProviderInput,
    params(("id" = Uuid, Path, description = "Provider id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    responses((status = 200, description = "Updated", body = Provider, headers(("ETag" = String)))))]
#[put("/providers/{id}")]
pub async fn update_provider(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Provider, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<ProviderInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db::update(&state, &who, audit, move |c| {
        providers::update(c, who.org, id, if_match.0, &body.value)
    })
    .await
}

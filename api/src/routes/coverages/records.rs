//! Coverages as records: create, list, search, read, update.

use actix_web::{HttpResponse, get, post, put, web};
use revcycle_core::access::{Mask, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::model::Page;
use revcycle_core::model::coverage::{Coverage, CoverageInput, CoverageSearch};
use revcycle_core::store::coverages::{self, CoverageFilter};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_coverage)
        .service(search_coverages)
        .service(list_coverages)
        .service(get_coverage)
        .service(update_coverage);
}

/// Add a coverage
///
/// A patient's insurance with one payer. Member id, group number and subscriber demographics
/// are encrypted per field.
#[utoipa::path(tag = "coverages", request_body = CoverageInput,
    responses((status = 201, description = "Created", body = Coverage,
        headers(("Location" = String, description = "URL of the new coverage"), ("ETag" = String)))))]
#[post("/coverages")]
pub async fn create_coverage(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Coverage, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<CoverageInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let keyring = state.keyring.clone();
    let mut input = body.value;
    db::create(
        &state,
        &who,
        audit,
        "/v1/coverages",
        key.0,
        body.hash,
        move |c| coverages::create(c, &keyring, org, &mut input),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    pub patient_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    pub active: Option<bool>,
}

/// List coverages
#[utoipa::path(tag = "coverages", params(PageQuery, CoverageQuery),
    responses((status = 200, description = "A page of coverages, oldest first", body = Page<Coverage>)))]
#[get("/coverages")]
pub async fn list_coverages(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Coverage, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<CoverageQuery>,
) -> ApiResult<HttpResponse> {
    let filter = CoverageFilter {
        patient_id: q.patient_id,
        payer_id: q.payer_id,
        active: q.active,
    };
    let page = page.params();
    let keyring = state.keyring.clone();
    let result = db::run(&state, move |c| {
        coverages::list(c, &keyring, who.org, &filter, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoverageSearchResult {
    pub items: Vec<Coverage>,
}

impl Mask for CoverageSearchResult {
    fn mask(&mut self, view: &View) {
        self.items.mask(view);
    }
}

impl Discloses for CoverageSearchResult {
    fn disclose(&self, d: &mut Disclosed) {
        self.items.disclose(d);
    }
}

/// Search coverages by member id
///
/// Exact match through a blind index; case, spaces and dashes do not matter.
#[utoipa::path(tag = "coverages", request_body = CoverageSearch,
    responses((status = 200, description = "Matching coverages", body = CoverageSearchResult)))]
#[post("/coverages/search")]
pub async fn search_coverages(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Coverage, act::Search>,
    body: JsonBody<CoverageSearch>,
) -> ApiResult<HttpResponse> {
    let keyring = state.keyring.clone();
    let items = db::run(&state, move |c| {
        coverages::search(c, &keyring, who.org, &body.value)
    })
    .await?;
    Ok(db::json(&who, CoverageSearchResult { items }))
}

/// Read a coverage
#[utoipa::path(tag = "coverages", params(("id" = Uuid, Path, description = "Coverage id")),
    responses((status = 200, description = "The coverage, decrypted", body = Coverage, headers(("ETag" = String)))))]
#[get("/coverages/{id}")]
pub async fn get_coverage(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Coverage, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let coverage = db::run(&state, move |c| coverages::get(c, &keyring, who.org, id)).await?;
    Ok(db::ok(&who, coverage))
}

/// Replace a coverage
///
/// Send the whole coverage with `If-Match` set to the ETag you read; a stale ETag gets 412.
#[utoipa::path(tag = "coverages", request_body = CoverageInput,
    params(("id" = Uuid, Path, description = "Coverage id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    responses((status = 200, description = "Updated", body = Coverage, headers(("ETag" = String)))))]
#[put("/coverages/{id}")]
pub async fn update_coverage(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Coverage, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<CoverageInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let mut input = body.value;
    db::update(&state, &who, audit, move |c| {
        coverages::update(c, &keyring, who.org, id, if_match.0, &mut input)
    })
    .await
}

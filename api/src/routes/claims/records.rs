//! Claims as records: create one from an encounter, list, read, recode a draft.

use actix_web::{HttpResponse, get, post, put, web};
use revcycle_core::model::Page;
use revcycle_core::model::claim::{Claim, ClaimInput, ClaimStatus, ClaimUpdate};
use revcycle_core::store::claims::{self, ClaimFilter};
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
    cfg.service(create_claim)
        .service(list_claims)
        .service(get_claim)
        .service(update_claim);
}

/// Create a claim from an encounter
///
/// Copies the encounter's diagnoses and service lines, takes the payer from its coverage,
/// assigns a unique patient control number (CLM01, 20 characters) and totals the charges.
/// The claim starts as `draft`. A replacement (frequency 7) or void (8) names the original
/// claim and the payer's claim control number for it.
#[utoipa::path(tag = "claims", request_body = ClaimInput,
    responses((status = 201, description = "Created", body = Claim,
        headers(("Location" = String, description = "URL of the new claim"), ("ETag" = String)))))]
#[post("/claims")]
pub async fn create_claim(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<ClaimInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    db::create(
        &state,
        &who,
        audit,
        "/v1/claims",
        key.0,
        body.hash,
        move |c| claims::create(c, org, &body.value),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimQuery {
    pub patient_id: Option<Uuid>,
    pub encounter_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    #[param(value_type = Option<String>, example = "draft")]
    pub status: Option<ClaimStatus>,
    pub patient_control_number: Option<String>,
}

/// List claims
#[utoipa::path(tag = "claims", params(PageQuery, ClaimQuery),
    responses((status = 200, description = "A page of claims, oldest first", body = Page<Claim>)))]
#[get("/claims")]
pub async fn list_claims(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<ClaimQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let filter = ClaimFilter {
        patient_id: q.patient_id,
        encounter_id: q.encounter_id,
        payer_id: q.payer_id,
        status: q.status,
        patient_control_number: q.patient_control_number,
    };
    let page = page.params();
    let result = db::run(&state, move |c| claims::list(c, who.org, &filter, &page)).await?;
    Ok(db::json(&who, result))
}

/// Read a claim
#[utoipa::path(tag = "claims", params(("id" = Uuid, Path, description = "Claim id")),
    responses((status = 200, description = "The claim with its lines", body = Claim, headers(("ETag" = String)))))]
#[get("/claims/{id}")]
pub async fn get_claim(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let claim = db::run(&state, move |c| claims::get(c, who.org, id)).await?;
    Ok(db::ok(&who, claim))
}

/// Recode a draft claim
///
/// Replace the coding of a claim still in `draft` (409 once it has moved on). Send
/// `If-Match` with the ETag you read; a stale ETag gets 412.
#[utoipa::path(tag = "claims", request_body = ClaimUpdate,
    params(("id" = Uuid, Path, description = "Claim id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    responses((status = 200, description = "Updated", body = Claim, headers(("ETag" = String)))))]
#[put("/claims/{id}")]
pub async fn update_claim(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<ClaimUpdate>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db::update(&state, &who, audit, move |c| {
        claims::update(c, who.org, id, if_match.0, &body.value)
    })
    .await
}

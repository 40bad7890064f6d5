use actix_web::{HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use revcycle_core::model::Page;
use revcycle_core::model::encounter::{Encounter, EncounterInput};
use revcycle_core::store::encounters::{self, EncounterFilter};
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
    cfg.service(create_encounter)
        .service(list_encounters)
        .service(get_encounter)
        .service(update_encounter);
}

/// Record a coded encounter
///
/// Diagnoses (ICD-10-CM, principal first) and service lines (CPT/HCPCS with up to four
/// modifiers, units, charge and one to four 1-based diagnosis pointers). The patient, coverage
/// and providers must exist in your organization, and the coverage must be the patient's.
#[utoipa::path(tag = "encounters", request_body = EncounterInput,
    responses((status = 201, description = "Created", body = Encounter,
        headers(("Location" = String, description = "URL of the new encounter"), ("ETag" = String)))))]
#[post("/encounters")]
pub async fn create_encounter(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Encounter, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<EncounterInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    db::create(
        &state,
        &who,
        audit,
        "/v1/encounters",
        key.0,
        body.hash,
        move |c| encounters::create(c, org, &body.value),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EncounterQuery {
    pub patient_id: Option<Uuid>,
    /// Encounters starting on or after this date.
    pub service_date_from: Option<NaiveDate>,
    /// Encounters starting on or before this date.
    pub service_date_to: Option<NaiveDate>,
}

/// List encounters
#[utoipa::path(tag = "encounters", params(PageQuery, EncounterQuery),
    responses((status = 200, description = "A page of encounters, oldest first", body = Page<Encounter>)))]
#[get("/encounters")]
pub async fn list_encounters(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Encounter, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<EncounterQuery>,
) -> ApiResult<HttpResponse> {
    let filter = EncounterFilter {
        patient_id: q.patient_id,
        service_date_from: q.service_date_from,
        service_date_to: q.service_date_to,
    };
    let page = page.params();
    let result = db::run(&state, move |c| {
        encounters::list(c, who.org, &filter, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

/// Read an encounter
#[utoipa::path(tag = "encounters", params(("id" = Uuid, Path, description = "Encounter id")),
    responses((status = 200, description = "The encounter", body = Encounter, headers(("ETag" = String)))))]
#[get("/encounters/{id}")]
pub async fn get_encounter(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Encounter, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let encounter = db::run(&state, move |c| encounters::get(c, who.org, id)).await?;
    Ok(db::ok(&who, encounter))
}

/// Replace an encounter
///
/// Send the whole encounter with `If-Match` set to the ETag you read; a stale ETag gets 412.
/// Claims already created from it keep their own copy of the coding.
#[utoipa::path(tag = "encounters", request_body = EncounterInput,
    params(("id" = Uuid, Path, description = "Encounter id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    responses((status = 200, description = "Updated", body = Encounter, headers(("ETag" = String)))))]
#[put("/encounters/{id}")]
pub async fn update_encounter(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Encounter, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<EncounterInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db::update(&state, &who, audit, move |c| {
        encounters::update(c, who.org, id, if_match.0, &body.value)
    })
    .await
}

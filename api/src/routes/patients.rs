use actix_web::{HttpResponse, get, post, put, web};
use revcycle_core::model::Page;
use revcycle_core::model::patient::{Patient, PatientInput, PatientSearch};
use revcycle_core::store::patients::{self, PatientFilter};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use super::PageQuery;
use crate::auth::{Auth, require};
use crate::db::{self, Versioned};
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::state::AppState;
use revcycle_core::access::{Action, Resource};

impl Versioned for Patient {
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i32 {
        self.version
    }
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_patient)
        .service(search_patients)
        .service(list_patients)
        .service(get_patient)
        .service(update_patient);
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Register a patient
///
/// Every direct identifier (MRN, names, birth date, address, phone, email, SSN, external ids)
/// is encrypted per field before it reaches the database. The MRN is unique per organization.
#[utoipa::path(tag = "patients", request_body = PatientInput,
    responses((status = 201, description = "Created", body = Patient,
        headers(("Location" = String, description = "URL of the new patient"), ("ETag" = String)))))]
#[post("/patients")]
pub async fn create_patient(
    state: web::Data<AppState>,
    Auth(who): Auth,
    key: IdempotencyKey,
    body: JsonBody<PatientInput>,
) -> ApiResult<HttpResponse> {
    require(&who, Resource::Patient, Action::Create)?;
    let org = who.org;
    let keyring = state.keyring.clone();
    let mut input = body.value;
    db::create(&state, org, "/v1/patients", key.0, body.hash, move |c| {
        patients::create(c, &keyring, org, &mut input, today())
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    pub active: Option<bool>,
}

/// List patients
///
/// To find a patient by an identifier use `POST /v1/patients/search`: identifiers never
/// travel in URLs, which end up in logs.
#[utoipa::path(tag = "patients", params(PageQuery, PatientQuery),
    responses((status = 200, description = "A page of patients, oldest first", body = Page<Patient>)))]
#[get("/patients")]
pub async fn list_patients(
    state: web::Data<AppState>,
    Auth(who): Auth,
    page: web::Query<PageQuery>,
    q: web::Query<PatientQuery>,
) -> ApiResult<HttpResponse> {
    require(&who, Resource::Patient, Action::Search)?;
    let filter = PatientFilter { active: q.active };
    let page = page.params();
    let keyring = state.keyring.clone();
    let result = db::run(&state, move |c| {
        patients::list(c, &keyring, who.org, &filter, &page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientSearchResult {
    pub items: Vec<Patient>,
}

/// Search patients by identifier
///
/// Exact match on the MRN, on family name with birth date, or on the last four digits of the
/// SSN, through blind indexes (keyed hashes of the normalised value), so the database never
/// sees the identifier. Case, spacing and punctuation in names and MRNs do not matter.
#[utoipa::path(tag = "patients", request_body = PatientSearch,
    responses((status = 200, description = "Matching patients", body = PatientSearchResult)))]
#[post("/patients/search")]
pub async fn search_patients(
    state: web::Data<AppState>,
    Auth(who): Auth,
    body: JsonBody<PatientSearch>,
) -> ApiResult<HttpResponse> {
    require(&who, Resource::Patient, Action::Search)?;
    let keyring = state.keyring.clone();
    let items = db::run(&state, move |c| {
        patients::search(c, &keyring, who.org, &body.value)
    })
    .await?;
    Ok(HttpResponse::Ok().json(PatientSearchResult { items }))
}

/// Read a patient
#[utoipa::path(tag = "patients", params(("id" = Uuid, Path, description = "Patient id")),
    responses((status = 200, description = "The patient, decrypted", body = Patient, headers(("ETag" = String)))))]
#[get("/patients/{id}")]
pub async fn get_patient(
    state: web::Data<AppState>,
    Auth(who): Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    require(&who, Resource::Patient, Action::Read)?;
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let patient = db::run(&state, move |c| patients::get(c, &keyring, who.org, id)).await?;
    Ok(db::ok(&patient))
}

/// Replace a patient
///
/// Send the whole patient with `If-Match` set to the ETag you read; a stale ETag gets 412.
/// Set `active` to false to deactivate (records are never deleted).
#[utoipa::path(tag = "patients", request_body = PatientInput,
    params(("id" = Uuid, Path, description = "Patient id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    responses((status = 200, description = "Updated", body = Patient, headers(("ETag" = String)))))]
#[put("/patients/{id}")]
pub async fn update_patient(
    state: web::Data<AppState>,
    Auth(who): Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<PatientInput>,
) -> ApiResult<HttpResponse> {
    require(&who, Resource::Patient, Action::Update)?;
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let mut input = body.value;
    let patient = db::run_tx(&state, move |c| {
        patients::update(c, &keyring, who.org, id, if_match.0, &mut input, today())
    })
    .await?;
    Ok(db::ok(&patient))
}

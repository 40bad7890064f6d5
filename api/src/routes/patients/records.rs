//! Patients as records: create, list, search, read (with break-glass), update.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use revcycle_core::access::{Action, Mask, Resource, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::model::Page;
use revcycle_core::model::patient::{Patient, PatientInput, PatientSearch};
use revcycle_core::store;
use revcycle_core::store::patients::{self, PatientFilter};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::principal::AuthBreakGlass;
use crate::auth::{BREAK_GLASS_RESPONSE_HEADER, require_or_break_glass};
use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::request_audit::context::{self as audit, BreakGlassSealed};
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

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
    Authorized { who, audit, .. }: Authorized<res::Patient, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<PatientInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let keyring = state.keyring.clone();
    let mut input = body.value;
    db::create(
        &state,
        &who,
        audit,
        "/v1/patients",
        key.0,
        body.hash,
        move |c| patients::create(c, &keyring, org, &mut input, today()),
    )
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
    Authorized { who, .. }: Authorized<res::Patient, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<PatientQuery>,
) -> ApiResult<HttpResponse> {
    let filter = PatientFilter { active: q.active };
    let page = page.params();
    let keyring = state.keyring.clone();
    let result = db::run(&state, move |c| {
        patients::list(c, &keyring, who.org, &filter, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientSearchResult {
    pub items: Vec<Patient>,
}

impl Mask for PatientSearchResult {
    fn mask(&mut self, view: &View) {
        self.items.mask(view);
    }
}

impl Discloses for PatientSearchResult {
    fn disclose(&self, d: &mut Disclosed) {
        self.items.disclose(d);
    }
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
    Authorized { who, .. }: Authorized<res::Patient, act::Search>,
    body: JsonBody<PatientSearch>,
) -> ApiResult<HttpResponse> {
    let keyring = state.keyring.clone();
    let items = db::run(&state, move |c| {
        patients::search(c, &keyring, who.org, &body.value)
    })
    .await?;
    Ok(db::json(&who, PatientSearchResult { items }))
}

/// Read a patient
///
/// Identifiers are masked to what the caller's roles need (e.g. SSN as its last four digits).
/// Break-glass: a caller holding `break_glass` may send `X-Break-Glass-Reason` to read this one
/// patient beyond their roles and scopes, unmasked; the access is recorded as a security event
/// and the response carries `X-Break-Glass: used`.
#[utoipa::path(tag = "patients", params(("id" = Uuid, Path, description = "Patient id"),
        ("X-Break-Glass-Reason" = Option<String>, Header, description = "Emergency access: why this record must be opened (1-500 characters); needs `break_glass`")),
    responses((status = 200, description = "The patient, decrypted and masked for the caller", body = Patient,
        headers(("ETag" = String), ("X-Break-Glass" = String, description = "`used` when break-glass opened the record")))))]
#[get("/patients/{id}")]
pub async fn get_patient(
    state: web::Data<AppState>,
    AuthBreakGlass(who): AuthBreakGlass,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    audit::note(&req, Action::Read.name(), Some(Resource::Patient.name()));
    require_or_break_glass(&who, Resource::Patient, Action::Read)?;
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let org = who.org;
    let reason = who.break_glass_reason.clone();
    let (patient, sealed) = db::run(&state, move |c| {
        let patient = patients::get(c, &keyring, org, id)?;
        // The reason goes into the audit event sealed under the org's key: free text may
        // name the patient.
        let sealed = match reason {
            None => None,
            Some(reason) => {
                let keys = keyring.keys(c, org)?;
                let event_id = Uuid::now_v7();
                Some(BreakGlassSealed {
                    event_id,
                    reason_ct: store::audit::seal_reason(&keys, org.0, event_id, &reason),
                })
            }
        };
        Ok((patient, sealed))
    })
    .await?;
    let mut resp = db::ok(&who, patient);
    if let Some(sealed) = sealed {
        // The audit middleware records the access, reason included, before this response
        // leaves; if it cannot, the caller gets 503 instead.
        tracing::warn!(org = %org.0, actor = %who.subject, patient_id = %id, "break-glass access");
        resp.extensions_mut().insert(sealed);
        resp.headers_mut().insert(
            HeaderName::from_static(BREAK_GLASS_RESPONSE_HEADER),
            HeaderValue::from_static("used"),
        );
    }
    Ok(resp)
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
    Authorized { who, audit, .. }: Authorized<res::Patient, act::Update>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<PatientInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let mut input = body.value;
    db::update(&state, &who, audit, move |c| {
        patients::update(c, &keyring, who.org, id, if_match.0, &mut input, today())
    })
    .await
}

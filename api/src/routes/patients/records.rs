//! Patients as records: create, list, search, read (with break-glass), update.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use revcycle_core::access::{Action, Resource};
use revcycle_core::model::Page;
use revcycle_core::model::patient::{Patient, PatientFilter, PatientInput, PatientSearch};
use revcycle_core::store;
use revcycle_core::store::patients;
use uuid::Uuid;

use crate::auth::principal::AuthBreakGlass;
use crate::auth::{BREAK_GLASS_RESPONSE_HEADER, require_or_break_glass};
use crate::authz::res;
use crate::db;
use crate::problem::ApiResult;
use crate::request_audit::context::{self as audit, BreakGlassSealed};
use crate::routes::crud;
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

crud::create! {
    /// Register a patient
    ///
    /// Every direct identifier (MRN, names, birth date, address, phone, email, SSN, external ids)
    /// is encrypted per field before it reaches the database. The MRN is unique per organization.
    #[utoipa::path(tag = "patients", request_body = PatientInput,
        responses((status = 201, description = "Created", body = Patient,
            headers(("Location" = String, description = "URL of the new patient"), ("ETag" = String)))))]
    fn create_patient("/patients", res::Patient, PatientInput)
        => |c, keyring, org, mut input| patients::create(c, keyring, org, &mut input, today())
}

crud::list! {
    /// List patients
    ///
    /// To find a patient by an identifier use `POST /v1/patients/search`: identifiers never
    /// travel in URLs, which end up in logs.
    #[utoipa::path(tag = "patients", params(PageQuery, PatientFilter),
        responses((status = 200, description = "A page of patients, oldest first", body = Page<Patient>)))]
    fn list_patients("/patients", res::Patient, PatientFilter)
        => patients::list
}

crud::search! {
    /// Search patients by identifier
    ///
    /// Exact match on the MRN, on family name with birth date, or on the last four digits of the
    /// SSN, through blind indexes (keyed hashes of the normalised value), so the database never
    /// sees the identifier. Case, spacing and punctuation in names and MRNs do not matter.
    #[utoipa::path(tag = "patients", request_body = PatientSearch,
        responses((status = 200, description = "Matching patients", body = PatientSearchResult)))]
    fn search_patients("/patients/search", res::Patient, PatientSearch) -> PatientSearchResult<Patient>
        => patients::search
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

crud::replace! {
    /// Replace a patient
    ///
    /// Send the whole patient with `If-Match` set to the ETag you read; a stale ETag gets 412.
    /// Set `active` to false to deactivate (records are never deleted).
    #[utoipa::path(tag = "patients", request_body = PatientInput,
        params(("id" = Uuid, Path, description = "Patient id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
        responses((status = 200, description = "Updated", body = Patient, headers(("ETag" = String)))))]
    fn update_patient("/patients/{id}", res::Patient, PatientInput)
        => |c, keyring, org, id, version, mut input| {
            patients::update(c, keyring, org, id, version, &mut input, today())
        }
}

//! The code sets shipped with the product: ICD-10-CM (with billable flags), CARC and RARC.
//! Reference data, no PHI; any authenticated caller may look codes up.

use actix_web::{HttpRequest, HttpResponse, get, web};
use revcycle_core::codes::{self, Icd10Code, Icd10Entry, icd10cm};
use revcycle_core::error::CoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::principal::Auth;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::note;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(search_icd10cm)
        .service(get_icd10cm)
        .service(get_adjustment_reason)
        .service(get_remark);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Icd10Query {
    /// Codes starting with this (dot optional), e.g. `E11` or `E11.6`: 1 to 7 letters or digits.
    #[param(pattern = r"^\.*[A-Za-z0-9](\.*[A-Za-z0-9]){0,6}\.*$")]
    pub prefix: String,
    /// At most this many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Icd10Results {
    /// The ICD-10-CM release shipped.
    pub release: &'static str,
    /// In code order.
    pub items: Vec<Icd10Entry>,
}

/// Search ICD-10-CM codes by prefix
///
/// Codes of the shipped ICD-10-CM release starting with `prefix`, in code order, each with
/// whether it is billable (a leaf code) or a header, and its descriptions.
#[utoipa::path(tag = "codes", params(Icd10Query),
    responses((status = 200, description = "Matching codes", body = Icd10Results)))]
#[get("/codes/icd10cm")]
pub async fn search_icd10cm(
    req: HttpRequest,
    Auth(_who): Auth,
    q: crate::extract::Query<Icd10Query>,
) -> ApiResult<HttpResponse> {
    note(&req, "search", Some("CodeSet"));
    let items = icd10cm::search(&q.prefix, q.limit)?;
    Ok(HttpResponse::Ok().json(Icd10Results {
        release: icd10cm::RELEASE,
        items,
    }))
}

/// Look up an ICD-10-CM code
///
/// The code (dot optional) in the shipped release: billable or header, and its descriptions;
/// 404 if the release does not have it.
#[utoipa::path(tag = "codes", params(("code" = String, Path, description = "ICD-10-CM code, e.g. E11.9",
        pattern = r"^[A-Za-z][A-Za-z0-9]{2}(\.?[A-Za-z0-9]{1,4})?$")),
    responses((status = 200, description = "The code", body = Icd10Entry)))]
#[get("/codes/icd10cm/{code}")]
pub async fn get_icd10cm(
    req: HttpRequest,
    Auth(_who): Auth,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    note(&req, "read", Some("CodeSet"));
    let code = Icd10Code::parse(&code).map_err(|e| CoreError::invalid("/code", e.message()))?;
    icd10cm::lookup(&code)
        .map(|entry| HttpResponse::Ok().json(entry))
        .ok_or(ApiError::Core(CoreError::NotFound {
            resource: "ICD-10-CM code",
        }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "45", "description": "Charge exceeds the fee schedule or maximum allowable amount"}))]
pub struct CodeDescription {
    pub code: String,
    /// Our own short wording.
    pub description: &'static str,
}

/// Look up a claim adjustment reason code (CARC)
#[utoipa::path(tag = "codes", params(("code" = String, Path, description = "CARC, e.g. 45 or B7")),
    responses((status = 200, description = "The reason", body = CodeDescription)))]
#[get("/codes/carc/{code}")]
pub async fn get_adjustment_reason(
    req: HttpRequest,
    Auth(_who): Auth,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    note(&req, "read", Some("CodeSet"));
    describe(
        code.trim().to_ascii_uppercase(),
        codes::carc_description,
        "CARC",
    )
}

/// Look up a remittance advice remark code (RARC)
#[utoipa::path(tag = "codes", params(("code" = String, Path, description = "RARC, e.g. N130 or MA130")),
    responses((status = 200, description = "The remark", body = CodeDescription)))]
#[get("/codes/rarc/{code}")]
pub async fn get_remark(
    req: HttpRequest,
    Auth(_who): Auth,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    note(&req, "read", Some("CodeSet"));
    describe(
        code.trim().to_ascii_uppercase(),
        codes::rarc_description,
        "RARC",
    )
}

fn describe(
    code: String,
    lookup: fn(&str) -> Option<&'static str>,
    resource: &'static str,
) -> ApiResult<HttpResponse> {
    match lookup(&code) {
        Some(description) => Ok(HttpResponse::Ok().json(CodeDescription { code, description })),
        None => Err(ApiError::Core(CoreError::NotFound { resource })),
    }
}

//! `/v1/admin/keys`: starting a data-key rotation and following its progress.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use revcycle_core::access::Capability;
use revcycle_core::store::rotation::{self, Rotation};

use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(rotate_keys).service(key_rotation);
}

/// Start a data-key rotation
///
/// Adds a data-key version for your organization, used for every new write, and re-encrypts
/// every stored identifier under it in the background, in small transactions, while the API
/// keeps serving (values under the old version stay readable throughout). If a rotation is
/// already running, it is returned instead of starting another. Follow progress at
/// `GET /v1/admin/keys/rotation`.
#[utoipa::path(tag = "admin",
    responses((status = 202, description = "Rotation started (or already running)", body = Rotation)))]
#[post("/admin/keys/rotate")]
pub async fn rotate_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "keys.rotate", Some("DataKey"));
    require_capability(&who, Capability::KeysRotate)?;
    let keyring = state.keyring.clone();
    let org = who.org;
    let started = crate::db::run(&state, move |c| rotation::begin(c, &keyring, org)).await?;
    crate::jobs::key_rotation::spawn(&state, started.clone());
    Ok(HttpResponse::Accepted().json(started))
}

/// Data-key rotation progress
///
/// The organization's latest rotation: state (`running`, `completed`), rows done and total.
#[utoipa::path(tag = "admin",
    responses((status = 200, description = "The latest rotation", body = Rotation),
        (status = 404, description = "No rotation has been started for your organization",
            body = crate::problem::Problem, content_type = "application/problem+json")))]
#[get("/admin/keys/rotation")]
pub async fn key_rotation(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "keys.rotation.read", Some("DataKey"));
    require_capability(&who, Capability::KeysRotate)?;
    let org = who.org;
    match crate::db::run(&state, move |c| rotation::latest(c, org)).await? {
        Some(r) => Ok(HttpResponse::Ok().json(r)),
        None => Err(ApiError::Core(revcycle_core::error::CoreError::NotFound {
            resource: "key rotation",
        })),
    }
}

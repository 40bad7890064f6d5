//! Querying the audit trail, a page at a time.

use actix_web::{HttpRequest, HttpResponse, get, web};
use revcycle_core::access::Capability;
use revcycle_core::audit::AuditRecord;
use revcycle_core::workflows::audit_trail;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::filters::{AuditQuery, RESOURCE};
use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_audit_events);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditPageQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// In sequence order.
    pub items: Vec<AuditRecord>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// Query the audit trail
///
/// Your organization's audit events, oldest first (by sequence), filtered by patient, actor,
/// action, resource type, outcome and time. Needs `audit.read` (compliance officers and
/// admins). Events name the PHI fields disclosed, never their values.
#[utoipa::path(tag = "audit", params(AuditQuery, AuditPageQuery),
    responses((status = 200, description = "A page of audit events", body = AuditPage)))]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    q: crate::extract::Query<AuditQuery>,
    page: crate::extract::Query<AuditPageQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "search", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let limit = audit_trail::page_limit(page.limit)?;
    let after = audit_trail::page_start(page.cursor.as_deref())?;
    let filter = q.filter();
    let org = who.org;
    let keyring = state.keyring.clone();
    let page = crate::db::run(&state, move |c| {
        audit_trail::page(c, &keyring, org, &filter, after, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

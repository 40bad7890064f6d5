//! A patient's accounting of disclosures (45 CFR 164.528).

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use revcycle_core::access::Capability;
use revcycle_core::audit::accounting::DisclosureEntry;
use revcycle_core::error::CoreError;
use revcycle_core::workflows::audit_trail;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(patient_disclosures);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisclosureQuery {
    /// Inclusive, RFC 3339 (default: six years ago, the period 164.528 covers).
    pub from: Option<DateTime<Utc>>,
    /// Exclusive, RFC 3339 (default: now).
    pub to: Option<DateTime<Utc>>,
    /// `all` also lists disclosures 164.528(a)(1) exempts (treatment, payment, operations,
    /// to the patient, to people involved in their care), flagged `exempt`.
    pub include: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureAccounting {
    pub patient_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Oldest first.
    pub items: Vec<DisclosureEntry>,
}

/// Accounting of disclosures
///
/// Every disclosure of this patient's PHI (45 CFR 164.528): date, recipient (user and client
/// application), purpose, and which fields. Disclosures for treatment, payment and operations,
/// to the patient, or to people involved in their care are left out unless `include=all`;
/// break-glass accesses and disclosures with no stated purpose are always listed. Needs
/// `audit.read`.
#[utoipa::path(tag = "audit", params(("id" = Uuid, Path, description = "Patient id"), DisclosureQuery),
    responses((status = 200, description = "The accounting", body = DisclosureAccounting)))]
#[get("/patients/{id}/disclosures")]
pub async fn patient_disclosures(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    id: web::Path<Uuid>,
    q: crate::extract::Query<DisclosureQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "disclosures", Some("Patient"));
    require_capability(&who, Capability::AuditRead)?;
    let include_all = match q.include.as_deref() {
        None | Some("") => false,
        Some("all") => true,
        Some(_) => return Err(CoreError::invalid("/include", "must be `all`").into()),
    };
    let (from, to) = audit_trail::accounting_period(q.from, q.to);
    let patient = id.into_inner();
    let org = who.org;
    let keyring = state.keyring.clone();
    let items = crate::db::run(&state, move |c| {
        audit_trail::accounting_of_disclosures(c, &keyring, org, patient, (from, to), include_all)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DisclosureAccounting {
        patient_id: patient,
        from,
        to,
        items,
    }))
}

//! Remittances (835) as records: store one, list, read.

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::model::Page;
use revcycle_core::model::remittance::{Remittance, RemittanceInput};
use revcycle_core::store::remittances::{self, RemittanceFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, JsonBody};
use crate::problem::ApiResult;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_remittance)
        .service(list_remittances)
        .service(get_remittance);
}

/// Store a remittance
///
/// The structured form of a payer's 835: payment header (trace number, date, method, total),
/// claim payments with CAS adjustments and service-line detail, and PLB provider
/// adjustments. It is kept exactly as received (a received document is never edited);
/// posting it to claims is a separate step. A second remittance with the same trace number
/// from the same payer is refused with 409.
#[utoipa::path(tag = "remittances", request_body = RemittanceInput,
    responses((status = 201, description = "Stored", body = Remittance,
        headers(("Location" = String, description = "URL of the stored remittance"), ("ETag" = String)))))]
#[post("/remittances")]
pub async fn create_remittance(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Remittance, act::Create>,
    key: IdempotencyKey,
    body: JsonBody<RemittanceInput>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    db::create(
        &state,
        &who,
        audit,
        "/v1/remittances",
        key.0,
        body.hash,
        move |c| remittances::create(c, org, &body.value),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemittanceQuery {
    pub payer_id: Option<Uuid>,
    pub trace_number: Option<String>,
}

/// List remittances
#[utoipa::path(tag = "remittances", params(PageQuery, RemittanceQuery),
    responses((status = 200, description = "A page of remittances, oldest first", body = Page<Remittance>)))]
#[get("/remittances")]
pub async fn list_remittances(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Search>,
    page: crate::extract::Query<PageQuery>,
    q: crate::extract::Query<RemittanceQuery>,
) -> ApiResult<HttpResponse> {
    let filter = RemittanceFilter {
        payer_id: q.payer_id,
        trace_number: q.trace_number.clone(),
    };
    let page = page.params();
    let result = db::run(&state, move |c| {
        remittances::list(c, who.org, &filter, &page)
    })
    .await?;
    Ok(db::json(&who, result))
}

/// Read a remittance
#[utoipa::path(tag = "remittances", params(("id" = Uuid, Path, description = "Remittance id")),
    responses((status = 200, description = "The remittance as received", body = Remittance, headers(("ETag" = String)))))]
#[get("/remittances/{id}")]
pub async fn get_remittance(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Remittance, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let remittance = db::run(&state, move |c| remittances::get(c, who.org, id)).await?;
    Ok(db::ok(&who, remittance))
}

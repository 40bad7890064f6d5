//! Connector plugins over HTTP: what is loaded, and importing an EHR feed through one.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use revcycle_core::access::{Action, Resource};
use revcycle_core::audit::Disclosed;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::principal::Auth;
use crate::auth::require;
use crate::connectors::ConnectorInfo;
use crate::connectors::ehr_feed::{self, ImportReport};
use crate::extract::FeedBody;
use crate::problem::ApiResult;
use crate::request_audit::context::{AuditCtx, note};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_connectors).service(import_feed);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    pub items: Vec<ConnectorInfo>,
}

/// List connector plugins
///
/// Every plugin named in the server's `connectors.toml`: loaded (version, kind, operations,
/// pinned SHA-256) or refused with the reason (a file whose hash differs, a wrong ABI version,
/// a missing entry symbol, a configuration the plugin refused). No PHI.
#[utoipa::path(tag = "connectors",
    responses((status = 200, description = "The configured connectors", body = ConnectorList)))]
#[get("/connectors")]
pub async fn list_connectors(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(_who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "read", Some("Connector"));
    Ok(HttpResponse::Ok().json(ConnectorList {
        items: state.connectors.info(),
    }))
}

/// Import an EHR feed
///
/// The body is the feed as the EHR produces it (a FHIR R4 Bundle or Bulk Data NDJSON for a
/// FHIR connector; HL7 v2 messages for an HL7 connector). The plugin translates it into
/// canonical records; each is then created or updated through the same rules as the REST
/// routes (validation, encryption, audit), in its own transaction, matched to earlier imports
/// by source system and external id: importing the same feed twice creates nothing
/// (`unchanged`). Coverages need their payer, and encounters their providers, set up first.
/// Needs create and update on patients, coverages and encounters.
#[utoipa::path(tag = "connectors", params(("name" = String, Path, description = "Connector name")),
    request_body(content = String, description = "The feed, as the EHR sends it",
        content_type = "application/octet-stream"),
    responses((status = 200, description = "What became of each record", body = ImportReport),
        (status = 502, description = "The connector failed (a contained panic) or did not answer in time",
            body = crate::problem::Problem, content_type = "application/problem+json")))]
#[post("/connectors/{name}/import")]
pub async fn import_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    name: web::Path<String>,
    body: FeedBody,
) -> ApiResult<HttpResponse> {
    note(&req, "import", Some("Connector"));
    for resource in [Resource::Patient, Resource::Coverage, Resource::Encounter] {
        require(&who, resource, Action::Create)?;
        require(&who, resource, Action::Update)?;
    }
    let audit = AuditCtx::new(&req, &who, "import", "Connector");
    let (report, disclosed) = ehr_feed::run_import(&state, &name, audit, who.org, body.0).await?;
    let mut resp = HttpResponse::Ok().json(&report);
    resp.extensions_mut().insert(Disclosed {
        patient_ids: disclosed.patient_ids,
        fields: Default::default(),
    });
    Ok(resp)
}

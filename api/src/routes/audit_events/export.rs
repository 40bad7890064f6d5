//! Exporting the audit trail (NDJSON, CSV, FHIR R4 AuditEvent bundles).

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use revcycle_core::access::Capability;
use revcycle_core::audit::{ExportFormat, Exporter};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit::{self as store_audit};
use revcycle_core::store::audit_intake::settle;
use revcycle_core::workflows::audit_trail;
use serde::Deserialize;
use utoipa::IntoParams;

use super::filters::{AuditQuery, RESOURCE};
use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export_audit_events);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `ndjson` (default), `csv` or `fhir` (a FHIR R4 Bundle of AuditEvent resources).
    pub format: Option<ExportFormat>,
}

/// Export the audit trail
///
/// Streams the matching events (all filters of the list apply) as NDJSON, RFC 4180 CSV with a
/// header row, or a FHIR R4 `Bundle` (type `collection`) of `AuditEvent` resources. The
/// export is written as it is read, never buffered whole; `X-Audit-Event-Count` gives the
/// number of events matching when it started.
#[utoipa::path(tag = "audit", params(AuditQuery, ExportQuery),
    responses((status = 200, description = "The export, streamed",
        content((String = "application/x-ndjson"), (String = "text/csv"), (String = "application/fhir+json")),
        headers(("X-Audit-Event-Count" = i64, description = "Events matching when the export began")))))]
#[get("/audit-events/export")]
pub async fn export_audit_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    q: crate::extract::Query<AuditQuery>,
    x: crate::extract::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "export", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let format = x.format.unwrap_or(ExportFormat::Ndjson);
    let org = who.org;
    // A snapshot: the chain as it stood when the export began, so the count is exact.
    let (filter, count) = {
        let mut filter = q.filter();
        // An export is evidence: a patient's events come from their own patient lists, not
        // from the index, so a deleted link cannot hide one.
        filter.patient_from_events = true;
        crate::db::run(&state, move |c| {
            settle(c, org.0)?;
            filter.up_to = Some(store_audit::last_sequence(c, org.0)?);
            let count = store_audit::count(c, org.0, &filter)?;
            Ok((filter, count))
        })
        .await?
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let pool = state.pool.clone();
    let keyring = state.keyring.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let send = |chunk: Vec<u8>| tx.blocking_send(Ok(Bytes::from(chunk))).is_ok();
        let result = (|| -> Result<(), CoreError> {
            let mut conn = pool
                .get()
                .map_err(|e| CoreError::Unavailable(e.to_string()))?;
            let mut exporter = Exporter::new(format, org.0);
            if !send(exporter.start()) {
                return Ok(());
            }
            let mut after = 0;
            loop {
                let batch = store_audit::list(&mut conn, org.0, &filter, after, 500)?;
                let Some(last) = batch.last() else { break };
                after = last.sequence;
                let done = batch.len() < 500;
                let mut chunk = Vec::new();
                for r in audit_trail::records(&mut conn, &keyring, org, batch)? {
                    chunk.extend(exporter.event(&r));
                }
                if !send(chunk) {
                    return Ok(()); // the client went away
                }
                if done {
                    break;
                }
            }
            send(exporter.finish());
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "audit export failed part way; the stream was cut");
            // Cut the stream: a truncated export must not look complete.
            let _ = tx.blocking_send(Err(std::io::Error::other("audit export failed")));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("X-Audit-Event-Count", count.to_string()))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"audit-events.{}\"",
                format.extension()
            ),
        ))
        .streaming(stream))
}

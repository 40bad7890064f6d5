//! The audit trail for compliance officers: query, verify, export, and a patient's accounting
//! of disclosures. Only holders of `audit.read` (compliance officers, admins) get in, and every
//! one of these requests is itself audited.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use revcycle_core::access::{Capability, OrgId};
use revcycle_core::audit::accounting::{self, DisclosureEntry};
use revcycle_core::audit::{AuditRecord, ExportFormat, Exporter, Outcome, Verification};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit::{self as store_audit, AuditFilter};
use revcycle_core::store::{DbConnection, KeyRing, patients};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::note;
use crate::auth::{Auth, require_capability};
use crate::problem::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_audit_events)
        .service(verify_audit_chain)
        .service(export_audit_events)
        .service(patient_disclosures);
}

const RESOURCE: &str = "AuditEvent";
const DEFAULT_PAGE: i64 = 100;

/// Filters shared by the list and the export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events that touched this patient (reads, searches that returned them, writes, refusals).
    pub patient_id: Option<Uuid>,
    /// The token subject (`sub`) who made the request; `-` for unidentified callers.
    pub actor: Option<String>,
    /// `read`, `search`, `create`, `update`, `void`, `export`, `post`, `submit`, or a named
    /// operation such as `keys.rotate`.
    pub action: Option<String>,
    /// `Patient`, `Coverage`, `Encounter`, `Claim`, `Remittance`, `Payer`, `Provider`,
    /// `AuditEvent`, `DataKey`.
    pub resource_type: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive, RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive, RFC 3339.
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            patient: self.patient_id,
            actor: self.actor.clone(),
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            outcome: self.outcome,
            from: self.from,
            to: self.to,
            up_to: None,
        }
    }
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

/// The records, with break-glass reasons opened for the reader.
fn records(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    events: Vec<revcycle_core::audit::ChainedEvent>,
) -> Result<Vec<AuditRecord>, CoreError> {
    let keys = if events.iter().any(|e| e.event.break_glass()) {
        Some(keyring.keys(conn, org)?)
    } else {
        None
    };
    events
        .into_iter()
        .map(|c| {
            let reason = match &keys {
                Some(k) => store_audit::open_reason(k, &c.event)?,
                None => None,
            };
            Ok(AuditRecord::new(c, reason))
        })
        .collect()
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
    q: web::Query<AuditQuery>,
    page: web::Query<AuditPageQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "search", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let limit = match page.limit {
        None => DEFAULT_PAGE,
        Some(l) if (1..=store_audit::MAX_PAGE).contains(&l) => l,
        Some(_) => {
            return Err(CoreError::invalid(
                "/limit",
                format!("must be between 1 and {}", store_audit::MAX_PAGE),
            )
            .into());
        }
    };
    let after = match &page.cursor {
        None => 0,
        Some(c) => store_audit::decode_cursor(c)?,
    };
    let filter = q.filter();
    let org = who.org;
    let keyring = state.keyring.clone();
    let (items, next_cursor) = crate::db::run(&state, move |c| {
        let mut events = store_audit::list(c, org.0, &filter, after, limit + 1)?;
        let more = events.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        events.truncate(usize::try_from(limit).unwrap_or(0));
        let next = if more {
            events
                .last()
                .map(|e| store_audit::encode_cursor(e.sequence))
        } else {
            None
        };
        Ok((records(c, &keyring, org, events)?, next))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AuditPage { items, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "broken", "checked": 41, "broken_at": 42,
    "reason": "the event's contents do not match its hash: it was altered"}))]
pub struct ChainReport {
    /// `ok` or `broken`.
    pub status: &'static str,
    /// Events verified before the first broken link (all of them when `ok`).
    pub checked: u64,
    /// Sequence number of the first broken link.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

impl ChainReport {
    pub fn of(v: Verification) -> ChainReport {
        match v {
            Verification::Intact { checked } => ChainReport {
                status: "ok",
                checked,
                broken_at: None,
                reason: None,
            },
            Verification::Broken {
                sequence,
                why,
                checked,
            } => ChainReport {
                status: "broken",
                checked,
                broken_at: Some(sequence),
                reason: Some(why.describe()),
            },
        }
    }
}

/// Verify the audit chain
///
/// Recomputes your organization's hash chain from its first event and reports the first
/// broken link (its sequence number and what it means) or `ok` with the number of events
/// checked. An edited, deleted, inserted or reordered event breaks the chain.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The verification result", body = ChainReport)))]
#[get("/audit-events/verify")]
pub async fn verify_audit_chain(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "verify", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    // A whole-chain walk: bounded by the database, not by the read timeout.
    let report =
        crate::db::run_long(&state, move |c| store_audit::verify_chain(c, org.0, |_| {})).await?;
    Ok(HttpResponse::Ok().json(ChainReport::of(report)))
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
    q: web::Query<AuditQuery>,
    x: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "export", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let format = x.format.unwrap_or(ExportFormat::Ndjson);
    let org = who.org;
    // A snapshot: the chain as it stood when the export began, so the count is exact.
    let (filter, count) = {
        let mut filter = q.filter();
        crate::db::run(&state, move |c| {
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
                for r in records(&mut conn, &keyring, org, batch)? {
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
    q: web::Query<DisclosureQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "disclosures", Some("Patient"));
    require_capability(&who, Capability::AuditRead)?;
    let include_all = match q.include.as_deref() {
        None => false,
        Some("all") => true,
        Some(_) => return Err(CoreError::invalid("/include", "must be `all`").into()),
    };
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q
        .from
        .unwrap_or_else(|| to - chrono::Duration::days(6 * 365 + 2));
    let patient = id.into_inner();
    let org = who.org;
    let keyring = state.keyring.clone();
    let items = crate::db::run(&state, move |c| {
        // 404 for a patient of another organization, as everywhere.
        patients::get(c, &keyring, org, patient)?;
        let filter = AuditFilter {
            patient: Some(patient),
            from: Some(from),
            to: Some(to),
            ..AuditFilter::default()
        };
        let mut items = Vec::new();
        store_audit::for_each(c, org.0, &filter, 1000, |e| {
            if accounting::discloses(&e.event, patient)
                && (include_all || accounting::must_be_accounted(&e.event))
            {
                items.push(DisclosureEntry::new(e.sequence, &e.event));
            }
            Ok(true)
        })?;
        Ok(items)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DisclosureAccounting {
        patient_id: patient,
        from,
        to,
        items,
    }))
}

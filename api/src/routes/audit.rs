//! The audit trail for compliance officers: query, verify, export, and a patient's accounting
//! of disclosures. Only holders of `audit.read` (compliance officers, admins) get in, and every
//! one of these requests is itself audited.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use revcycle_core::access::{Capability, OrgId};
use revcycle_core::audit::accounting::{self, DisclosureEntry};
use revcycle_core::audit::checkpoint::origin;
use revcycle_core::audit::merkle;
use revcycle_core::audit::{
    Anchor, AuditRecord, Disclosed, ExportFormat, Exporter, Outcome, Verification,
};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit::{self as store_audit, AuditFilter, ChainCheck, PurgeReport};
use revcycle_core::store::audit_intake::settle;
use revcycle_core::store::audit_links::LinkCheck;
use revcycle_core::store::audit_tree::TreeCheck;
use revcycle_core::store::audit_verification::{self, TrailCheck};
use revcycle_core::store::{DbConnection, KeyRing, patients};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{AuditCtx, AuditedInTx, note};
use crate::auth::{Auth, require_capability};
use crate::problem::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // The fixed paths before `/audit-events/{sequence}/proof`.
    cfg.service(audit_checkpoint)
        .service(make_audit_checkpoint)
        .service(audit_checkpoint_key)
        .service(audit_consistency_proof)
        .service(audit_inclusion_proof)
        .service(list_audit_events)
        .service(verify_audit_chain)
        .service(export_audit_events)
        .service(purge_audit_events)
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
            patient_from_events: false,
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
    q: crate::extract::Query<AuditQuery>,
    page: crate::extract::Query<AuditPageQuery>,
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
    let after = match page.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => store_audit::decode_cursor(c)?,
    };
    let filter = q.filter();
    let org = who.org;
    let keyring = state.keyring.clone();
    let (items, next_cursor) = crate::db::run(&state, move |c| {
        settle(c, org.0)?;
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
    /// Present once the chain has been purged: verification started from the anchor the
    /// latest purge left, not from genesis.
    pub anchor: Option<AnchorReport>,
    /// The trail against the latest checkpoint published outside the database (absent when
    /// none is published yet).
    pub checkpoint: Option<CheckpointReport>,
    /// The patient index recomputed from the events (absent from the chain-only report).
    pub patient_index: Option<PatientIndexReport>,
}

/// How the trail compares with the latest signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "events_missing", "size": 120, "first_missing": 101}))]
pub struct CheckpointReport {
    /// `ok` (the trail's first `size` events hash to the signed root), `events_missing` (the
    /// trail lacks events the checkpoint covers: the newest removed, or a hole),
    /// `root_mismatch` (events altered or replaced), or `refused` (the published checkpoint's
    /// signature or origin does not verify).
    pub status: &'static str,
    /// The checkpoint's tree size.
    pub size: Option<u64>,
    /// The first sequence number the checkpoint covers that the trail lacks.
    pub first_missing: Option<i64>,
    pub reason: Option<String>,
}

/// How the patient index compares with the events' own patient lists.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "broken", "indexed_through": 5120, "missing_links": 26,
    "first_missing_at": 17, "extra_links": 0, "first_extra_at": null}))]
pub struct PatientIndexReport {
    /// `ok` or `broken`. Missing links hide events from the patient filter until `revcycle
    /// audit reindex` restores them; the accounting of disclosures and exports read the
    /// events themselves and are unaffected. Extra links are ignored by every read.
    pub status: &'static str,
    /// The index covers the events up to this sequence; newer ones are matched by their own
    /// patient lists.
    pub indexed_through: i64,
    pub missing_links: i64,
    /// The first event whose links are missing.
    pub first_missing_at: Option<i64>,
    pub extra_links: i64,
    /// The first event with a link its own patient list does not call for.
    pub first_extra_at: Option<i64>,
}

impl PatientIndexReport {
    pub fn of(l: &LinkCheck) -> PatientIndexReport {
        PatientIndexReport {
            status: if l.is_intact() { "ok" } else { "broken" },
            indexed_through: l.indexed_through,
            missing_links: l.missing,
            first_missing_at: l.first_missing,
            extra_links: l.extra,
            first_extra_at: l.first_extra,
        }
    }
}

impl CheckpointReport {
    pub fn of(t: &TreeCheck) -> CheckpointReport {
        match *t {
            TreeCheck::Matches { size } => CheckpointReport {
                status: "ok",
                size: Some(size),
                first_missing: None,
                reason: None,
            },
            TreeCheck::Missing {
                first_missing,
                size,
            } => CheckpointReport {
                status: "events_missing",
                size: Some(size),
                first_missing: Some(first_missing),
                reason: Some(format!(
                    "the signed checkpoint covers {size} events; the first missing is sequence {first_missing}"
                )),
            },
            TreeCheck::RootMismatch { size } => CheckpointReport {
                status: "root_mismatch",
                size: Some(size),
                first_missing: None,
                reason: Some(format!(
                    "the trail's first {size} events do not hash to the signed root: events were altered or replaced"
                )),
            },
        }
    }

    fn refused(why: String) -> CheckpointReport {
        CheckpointReport {
            status: "refused",
            size: None,
            first_missing: None,
            reason: Some(why),
        }
    }
}

/// Where a purged chain starts: the events before it were removed by retention purges.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"through_sequence": 120, "events_purged": 120,
    "last_purge_events": 120, "cutoff": "2020-06-01T00:00:00Z",
    "purged_at": "2026-06-01T00:00:00.123456Z"}))]
pub struct AnchorReport {
    /// The last purged event: the chain goes on from its hash.
    pub through_sequence: i64,
    /// Events purged in all (every event up to `through_sequence`).
    pub events_purged: i64,
    /// Events the latest purge removed.
    pub last_purge_events: i64,
    /// Every purged event was older than this.
    pub cutoff: DateTime<Utc>,
    /// When the latest purge ran.
    pub purged_at: DateTime<Utc>,
}

impl AnchorReport {
    pub fn of(a: &Anchor) -> AnchorReport {
        AnchorReport {
            through_sequence: a.sequence,
            events_purged: a.sequence,
            last_purge_events: a.purged_count,
            cutoff: a.cutoff,
            purged_at: a.purged_at,
        }
    }
}

impl ChainReport {
    pub fn of(check: &ChainCheck) -> ChainReport {
        let anchor = check.anchor.as_ref().map(AnchorReport::of);
        match check.verification {
            Verification::Intact { checked } => ChainReport {
                status: "ok",
                checked,
                broken_at: None,
                reason: None,
                anchor,
                checkpoint: None,
                patient_index: None,
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
                anchor,
                checkpoint: None,
                patient_index: None,
            },
        }
    }
}

impl ChainReport {
    /// The whole trail's report: `status` is `ok` only when the chain, the checkpoint
    /// comparison and the patient index all are.
    pub fn of_trail(check: &TrailCheck, refused: Option<String>) -> ChainReport {
        let mut r = ChainReport::of(&check.chain);
        r.checkpoint = match (refused, &check.checkpoint) {
            (Some(why), _) => Some(CheckpointReport::refused(why)),
            (None, Some(t)) => Some(CheckpointReport::of(t)),
            (None, None) => None,
        };
        r.patient_index = Some(PatientIndexReport::of(&check.patient_index));
        let checkpoint_ok = r.checkpoint.as_ref().is_none_or(|c| c.status == "ok");
        if !check.is_intact() || !checkpoint_ok {
            r.status = "broken";
        }
        r
    }
}

/// Verify the audit trail
///
/// Recomputes your organization's hash chain from its first event and reports the first
/// broken link (its sequence number and what it means) or `ok` with the number of events
/// checked. An edited, deleted, inserted or reordered event breaks the chain. Once the chain
/// has been purged, verification starts from the latest purge's anchor (the last purged
/// event's sequence and hash), which the first remaining event must link to; the report
/// says how many events were purged, up to which sequence, and when.
///
/// It also recomputes the Merkle tree from the events and compares it with the latest signed
/// checkpoint published outside the database, which catches the removal of the newest events
/// (or of the whole trail) that the chain alone cannot; and recomputes the patient index from
/// the events' own patient lists, reporting links missing or extra. `status` is `broken` if
/// any part is.
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
    let cp = state.checkpoints.clone();
    let report = crate::db::run_long(&state, move |c| {
        settle(c, org.0)?;
        // The published checkpoint is held to the server's own key and this org's origin.
        let (checkpoint, refused) = match cp.publisher.latest(org.0)? {
            None => (None, None),
            Some(note) => match cp.verifier().verify(&note) {
                Err(e) => (None, Some(e.to_string())),
                Ok(c) if c.origin != origin(&cp.name, org.0) => (
                    None,
                    Some(format!("its origin {} is another log's", c.origin)),
                ),
                Ok(c) => (Some(c), None),
            },
        };
        let check = audit_verification::verify_trail(c, org.0, checkpoint.as_ref(), |_| {})?;
        Ok(ChainReport::of_trail(&check, refused))
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
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
pub struct PurgeQuery {
    /// Count what would be purged and delete nothing (default false).
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"dry_run": false, "retention": "72 months",
    "cutoff": "2020-06-01T00:00:00Z", "events_purged": 120, "patient_links_purged": 45,
    "through_sequence": 120, "recorded_as": 981, "anchor": {"through_sequence": 120,
    "events_purged": 120, "last_purge_events": 120, "cutoff": "2020-06-01T00:00:00Z",
    "purged_at": "2026-06-01T00:00:00.123456Z"}}))]
pub struct PurgeResult {
    /// Nothing was deleted: the counts say what a purge would remove.
    pub dry_run: bool,
    /// The configured retention period.
    pub retention: String,
    /// Events older than this were eligible.
    pub cutoff: DateTime<Utc>,
    /// Events removed (or that would be).
    pub events_purged: i64,
    /// Their links to patients removed (or that would be).
    pub patient_links_purged: i64,
    /// The last event removed (or that would be); absent when there is nothing to purge.
    pub through_sequence: Option<i64>,
    /// Sequence number of the `audit.purge` event that records this request.
    pub recorded_as: i64,
    /// The anchor the chain now verifies from (absent if it was never purged).
    pub anchor: Option<AnchorReport>,
    /// The size of the signed checkpoint published right after the purge (absent for a dry
    /// run): the trail after the purge, which proofs of the surviving events verify against.
    pub checkpoint_size: Option<u64>,
}

impl PurgeResult {
    pub fn of(r: &PurgeReport, retention: &revcycle_core::audit::Retention) -> PurgeResult {
        PurgeResult {
            dry_run: r.dry_run,
            retention: retention.describe(),
            cutoff: r.cutoff,
            events_purged: r.events,
            patient_links_purged: r.patient_links,
            through_sequence: r.through_sequence,
            recorded_as: r.recorded_as,
            anchor: r.anchor.as_ref().map(AnchorReport::of),
            checkpoint_size: None,
        }
    }
}

/// Purge audit events past retention
///
/// Removes the oldest events of your organization's chain that are older than the retention
/// period (six calendar years unless configured longer), with their patient links, in one
/// transaction: only a prefix of the chain, stopping at the first event that is not older, so
/// an old event recorded after a newer one stays. The chain then verifies from an anchor (the
/// last purged event's sequence and hash). The purge is itself recorded as an `audit.purge`
/// event (counts and cutoff) in the same chain. `dry_run=true` counts and deletes nothing.
/// Needs `audit.purge` (admins).
#[utoipa::path(tag = "audit", params(PurgeQuery),
    responses((status = 200, description = "What was purged (or would be)", body = PurgeResult)))]
#[post("/audit-events/purge")]
pub async fn purge_audit_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    q: crate::extract::Query<PurgeQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "audit.purge", Some(RESOURCE));
    require_capability(&who, Capability::AuditPurge)?;
    let dry_run = q.dry_run.unwrap_or(false);
    let retention = state.audit_retention;
    let cutoff = retention.cutoff(Utc::now());
    // The purge records its own event (with this request's details) in its transaction.
    let record = AuditCtx::new(&req, &who, "audit.purge", RESOURCE).event(
        Outcome::Success,
        200,
        &Disclosed::default(),
    );
    let org = who.org;
    // Bounded by the database, not by the read timeout: a first purge may be large.
    let cp = state.checkpoints.clone();
    let (report, checkpoint) = crate::db::run_long(&state, move |c| {
        settle(c, org.0)?;
        let report = store_audit::purge(c, org.0, cutoff, dry_run, record, |_, _| {})?;
        // Checkpointed at once, so the published trail shows the purge.
        let checkpoint = if dry_run {
            None
        } else {
            cp.checkpoint(c, org.0)?
        };
        Ok((report, checkpoint))
    })
    .await?;
    tracing::info!(
        org = %org.0,
        dry_run,
        events = report.events,
        through = report.through_sequence.unwrap_or(0),
        "audit purge"
    );
    let mut result = PurgeResult::of(&report, &retention);
    result.checkpoint_size = checkpoint.as_deref().and_then(crate::checkpoints::size_of);
    let mut resp = HttpResponse::Ok().json(result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
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
        settle(c, org.0)?;
        let filter = AuditFilter {
            patient: Some(patient),
            from: Some(from),
            to: Some(to),
            // The accounting reads the events' own patient lists (which their hashes cover),
            // never the index, so a deleted link cannot hide an access from it.
            patient_from_events: true,
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

/// The header that carries the checkpoints' verifier key.
pub const VERIFIER_KEY_HEADER: &str = "X-Checkpoint-Verifier-Key";

fn note_response(state: &AppState, note: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((VERIFIER_KEY_HEADER, state.checkpoints.signer.verifier_key()))
        .body(note)
}

/// The latest signed checkpoint
///
/// Your organization's latest published checkpoint of its audit trail's Merkle tree (RFC
/// 6962), as a C2SP signed note (`text/plain`): the origin line `<name>/audit/<org id>`, the
/// tree size, the base64 root hash, an empty line, and the Ed25519 signature line. The
/// verifier key is in the `X-Checkpoint-Verifier-Key` header and at
/// `/v1/audit-events/checkpoint/key`. The same files are published outside the database, in
/// the operator's checkpoint directory. When none has been published yet, one is made. Needs
/// `audit.read`.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The signed note", content_type = "text/plain", body = String,
        headers(("X-Checkpoint-Verifier-Key" = String, description = "The signed-note verifier key")))))]
#[get("/audit-events/checkpoint")]
pub async fn audit_checkpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "checkpoint.read", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    let cp = state.checkpoints.clone();
    let note = crate::db::run(&state, move |c| match cp.publisher.latest(org.0)? {
        Some(n) => Ok(Some(n)),
        None => cp.checkpoint(c, org.0),
    })
    .await?
    .ok_or(CoreError::NotFound {
        resource: "checkpoint",
    })?;
    Ok(note_response(&state, note))
}

/// Make a checkpoint now
///
/// Chains every event your organization has waiting, then signs and publishes a checkpoint of
/// the whole tree (or returns the published one of that size). Needs `audit.read`.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The signed note", content_type = "text/plain", body = String)))]
#[post("/audit-events/checkpoint")]
pub async fn make_audit_checkpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "checkpoint.create", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    let cp = state.checkpoints.clone();
    let note = crate::db::run(&state, move |c| cp.checkpoint(c, org.0))
        .await?
        .ok_or(CoreError::NotFound {
            resource: "checkpoint",
        })?;
    Ok(note_response(&state, note))
}

/// The checkpoints' verifier key
///
/// The Ed25519 public key that signs the checkpoints, as a signed-note verifier key:
/// `<name>+<key id, 8 hex digits>+<base64(0x01 || 32-byte public key)>`. Keep your own copy:
/// a checkpoint is only as good as the key you check it with. Needs `audit.read`.
#[utoipa::path(tag = "audit",
    responses((status = 200, description = "The verifier key", content_type = "text/plain", body = String)))]
#[get("/audit-events/checkpoint/key")]
pub async fn audit_checkpoint_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
) -> ApiResult<HttpResponse> {
    note(&req, "checkpoint.read", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", state.checkpoints.signer.verifier_key())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The tree size to prove against: a published checkpoint's (default: the latest
    /// published checkpoint's).
    #[param(minimum = 1)]
    pub checkpoint: Option<i64>,
}

/// An inclusion proof (RFC 6962 audit path).
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofReport {
    pub sequence: i64,
    /// `sequence - 1`.
    pub leaf_index: i64,
    pub tree_size: i64,
    /// Base64 of the event's canonical encoding; its leaf hash is
    /// `SHA-256(0x00 || canonical)`.
    pub event_canonical: String,
    /// Base64 of the leaf hash.
    pub leaf_hash: String,
    /// Base64 of each sibling hash, from the leaf up (RFC 9162 §2.1.3).
    pub proof: Vec<String>,
    /// Base64 of the tree's root at `tree_size`.
    pub root_hash: String,
    /// The published signed checkpoint of `tree_size`, when there is one.
    pub checkpoint: Option<String>,
}

/// A consistency proof (RFC 6962 §2.1.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofReport {
    pub from: i64,
    pub to: i64,
    /// Base64 of the roots at `from` and `to`.
    pub from_root: String,
    pub to_root: String,
    /// Base64 of each proof hash (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

fn b64(h: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// The tree size a proof is for: asked for, or the latest published checkpoint's; never past
/// the tree.
fn proof_size(
    c: &mut DbConnection,
    cp: &crate::checkpoints::Checkpointer,
    org: Uuid,
    asked: Option<i64>,
    pointer: &str,
) -> Result<i64, CoreError> {
    settle(c, org)?;
    revcycle_core::store::audit_tree::follow(c, org, None)?;
    let tree = revcycle_core::store::audit_tree::head(c, org)?.map_or(0, |f| f.size() as i64);
    let size = match asked {
        Some(s) => s,
        None => cp
            .publisher
            .latest(org)?
            .and_then(|n| crate::checkpoints::size_of(&n))
            .map_or(tree, |s| s as i64),
    };
    if size < 1 || size > tree {
        return Err(CoreError::invalid(
            pointer,
            format!("must be a tree size between 1 and {tree}"),
        ));
    }
    Ok(size)
}

/// Prove an event is in the trail
///
/// An RFC 6962 inclusion proof of the event at `sequence` in your organization's tree of
/// `checkpoint` events, with the event in canonical form (so its leaf hash can be recomputed)
/// and the signed checkpoint of that size when one was published. Check it with
/// `revcycle audit verify-proof` or any RFC 6962 verifier. Needs `audit.read`.
#[utoipa::path(tag = "audit", params(("sequence" = i64, Path, description = "The event's sequence number"), ProofQuery),
    responses((status = 200, description = "The proof", body = InclusionProofReport)))]
#[get("/audit-events/{sequence}/proof")]
pub async fn audit_inclusion_proof(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    sequence: web::Path<i64>,
    q: crate::extract::Query<ProofQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "proof", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let sequence = sequence.into_inner();
    let org = who.org;
    let cp = state.checkpoints.clone();
    let asked = q.checkpoint;
    let report = crate::db::run_long(&state, move |c| {
        let size = proof_size(c, &cp, org.0, asked, "/checkpoint")?;
        if sequence < 1 || sequence > size {
            return Err(CoreError::invalid(
                "/sequence",
                format!("must be between 1 and the tree size {size}"),
            ));
        }
        let event = store_audit::list(c, org.0, &AuditFilter::default(), sequence - 1, 1)?
            .into_iter()
            .find(|e| e.sequence == sequence)
            .ok_or(CoreError::NotFound {
                resource: "audit event",
            })?;
        let (proof, root) =
            revcycle_core::store::audit_tree::inclusion_proof(c, org.0, sequence, size)?
                .ok_or_else(|| CoreError::Internal("inclusion proof of a leaf in range".into()))?;
        let canonical = revcycle_core::audit::chain::canonical(sequence, &event.event);
        Ok(InclusionProofReport {
            sequence,
            leaf_index: sequence - 1,
            tree_size: size,
            leaf_hash: b64(&merkle::leaf_hash(&canonical)),
            event_canonical: b64(&canonical),
            proof: proof.iter().map(|h| b64(h)).collect(),
            root_hash: b64(&root),
            checkpoint: cp.publisher.at(org.0, size as u64)?,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    #[param(minimum = 1)]
    pub from: Option<i64>,
    /// The newer tree size (default: the latest published checkpoint's).
    #[param(minimum = 1)]
    pub to: Option<i64>,
}

/// Prove the trail only grew
///
/// An RFC 6962 consistency proof that your organization's tree of `from` events is a prefix
/// of its tree of `to` events: nothing covered by the older checkpoint was removed or changed.
/// Needs `audit.read`.
#[utoipa::path(tag = "audit", params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyProofReport)))]
#[get("/audit-events/consistency")]
pub async fn audit_consistency_proof(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(who): Auth,
    q: crate::extract::Query<ConsistencyQuery>,
) -> ApiResult<HttpResponse> {
    note(&req, "proof", Some(RESOURCE));
    require_capability(&who, Capability::AuditRead)?;
    let org = who.org;
    let cp = state.checkpoints.clone();
    let Some(from) = q.from else {
        return Err(CoreError::invalid("/from", "is required").into());
    };
    let asked = q.to;
    let report = crate::db::run_long(&state, move |c| {
        let to = proof_size(c, &cp, org.0, asked, "/to")?;
        if from < 1 || from > to {
            return Err(CoreError::invalid(
                "/from",
                format!("must be between 1 and `to` ({to})"),
            ));
        }
        let (proof, from_root, to_root) =
            revcycle_core::store::audit_tree::consistency_proof(c, org.0, from, to)?
                .ok_or_else(|| CoreError::Internal("consistency proof in range".into()))?;
        Ok(ConsistencyProofReport {
            from,
            to,
            from_root: b64(&from_root),
            to_root: b64(&to_root),
            proof: proof.iter().map(|h| b64(h)).collect(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

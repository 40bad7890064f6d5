//! Purging audit events past the retention period.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use revcycle_core::access::Capability;
use revcycle_core::audit::{Disclosed, Outcome};
use revcycle_core::store::audit::{self as store_audit, PurgeReport};
use revcycle_core::store::audit_intake::settle;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::filters::RESOURCE;
use super::verification::AnchorReport;
use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::{AuditCtx, AuditedInTx, note};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(purge_audit_events);
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
    result.checkpoint_size = checkpoint
        .as_deref()
        .and_then(crate::audit_checkpoints::size_of);
    let mut resp = HttpResponse::Ok().json(result);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

//! Verifying the audit trail: the hash chain, the patient index, the Merkle tree against the
//! published checkpoints, and the purge anchor.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use revcycle_core::access::Capability;
use revcycle_core::audit::checkpoint::origin;
use revcycle_core::audit::{Anchor, Verification};
use revcycle_core::store::audit::ChainCheck;
use revcycle_core::store::audit_intake::settle;
use revcycle_core::store::audit_links::LinkCheck;
use revcycle_core::store::audit_tree::TreeCheck;
use revcycle_core::store::audit_verification::{self, TrailCheck};
use serde::Serialize;
use utoipa::ToSchema;

use super::filters::RESOURCE;
use crate::auth::principal::Auth;
use crate::auth::require_capability;
use crate::problem::ApiResult;
use crate::request_audit::context::note;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(verify_audit_chain);
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

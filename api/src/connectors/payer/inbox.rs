//! The inbox transport: files from the payer or clearinghouse, polled from directories.

use std::path::Path;
use std::time::Duration;

use actix_web::web;
use revcycle_core::access::{OrgId, Principal, Role};
use revcycle_core::audit::Disclosed;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{self};
use uuid::Uuid;

use super::acknowledgments::{apply_277, apply_acks};
use super::envelope::read_envelope;
use super::link::payer_link;
use super::remit::import_835;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// How long an inbox file must have been unchanged before it is picked up.
pub(super) const SETTLE: Duration = Duration::from_millis(500);

pub(super) fn inbox_principal(org: OrgId) -> Principal {
    Principal {
        subject: "x12-inbox".into(),
        org,
        roles: vec![Role::Biller],
        client_id: Some("x12-inbox".into()),
        scopes: None,
        purpose_of_use: None,
        break_glass_reason: None,
    }
}

/// One pass over the inbox: every regular file not starting with `.` (and unchanged for a
/// moment) is claimed by renaming it into `processed/` (atomic: of two servers polling the
/// same inbox only one gets it), then applied; a file that fails moves on to `failed/` with
/// a `<name>.reason` file beside it. An 835 already posted is a recorded no-op and stays in
/// `processed/`.
pub async fn poll_once(
    state: &web::Data<AppState>,
    inbox: &Path,
    org: OrgId,
) -> std::io::Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(inbox)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // A file still being written (an upload that is not renamed into place) is left for
        // the next pass until it has been still for a moment.
        let settled = entry
            .metadata()?
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_none_or(|age| age >= SETTLE);
        if !settled {
            continue;
        }
        names.push(name);
    }
    names.sort();
    for name in names {
        let claimed = inbox.join("processed").join(&name);
        if std::fs::rename(inbox.join(&name), &claimed).is_err() {
            continue; // another instance took it
        }
        if let Err(e) = crate::files::make_private(&claimed) {
            tracing::warn!(error = %e.kind(), file = %name, "a claimed inbox file could not be made private");
        }
        let raw = match std::fs::read(&claimed) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e.kind(), "a claimed inbox file cannot be read");
                continue;
            }
        };
        let who = inbox_principal(org);
        let audit = AuditCtx::for_channel(
            state.audit.enabled(),
            &who,
            "x12.receive",
            "X12Exchange",
            Uuid::now_v7().to_string(),
            None,
        );
        let outcome = apply_file(state, &who, audit.clone(), raw.clone(), name.clone()).await;
        match outcome {
            Ok(done) => {
                tracing::info!(file = %name, kind = %done.kind, status = %done.status, "payer inbox file applied")
            }
            Err((received, reason)) => {
                // The reason names segments, rules and control numbers only (never values).
                tracing::warn!(file = %name, %reason, "payer inbox file failed; moved to failed/");
                let failed = inbox.join("failed");
                let _ = std::fs::rename(&claimed, failed.join(&name));
                let _ = crate::files::create_private(&failed.join(format!("{name}.reason")))
                    .and_then(|mut f| {
                        use std::io::Write;
                        f.write_all(format!("{reason}\n").as_bytes())
                    });
                if let Some(received) = received
                    && let Err(e) =
                        record_failed(state, org, audit, raw, name.clone(), received, reason).await
                {
                    tracing::warn!(file = %name, reason = %describe(e), "a failed inbox file could not be recorded");
                }
            }
        }
    }
    Ok(())
}

/// What applying an inbox file did.
pub(super) struct Applied {
    kind: String,
    status: String,
}

/// A reason free of values: validation errors by pointer and rule.
pub(super) fn describe(e: ApiError) -> String {
    match e {
        ApiError::Core(CoreError::Invalid(errors)) => errors
            .iter()
            .map(|f| format!("{} {}", f.pointer, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// What a received file is, as the plugin read its envelope: its transaction set (`835`,
/// `999`, `TA1`, `277`) and its ISA13 and GS06.
pub(super) struct Received {
    kind: String,
    control_numbers: (Option<String>, Option<String>),
}

/// Applies one inbox file; on failure, what it is (if it is X12) and why.
pub(super) async fn apply_file(
    state: &web::Data<AppState>,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
) -> Result<Applied, (Option<Received>, String)> {
    let not_x12 = || {
        (
            None,
            "not an X12 interchange with a transaction set".to_string(),
        )
    };
    let link = payer_link(state).map_err(|e| (None, describe(e)))?;
    let envelopes = read_envelope(state, &link, raw.clone())
        .await
        .map_err(|_| not_x12())?;
    let kind = envelopes
        .transaction_kind()
        .map(str::to_string)
        .ok_or_else(not_x12)?;
    let received = || Received {
        kind: kind.clone(),
        control_numbers: envelopes.control_numbers(),
    };
    let fail = |e: ApiError| (Some(received()), describe(e));
    let status = match kind.as_str() {
        "835" => {
            import_835(
                state,
                who.org,
                who.subject.clone(),
                audit,
                raw,
                Some(name),
                true,
                "inbox",
            )
            .await
            .map_err(fail)?
            .status
        }
        "999" | "TA1" => {
            apply_acks(state, who, audit, raw, name, &kind, "inbox")
                .await
                .map_err(fail)?;
            "processed".into()
        }
        "277" => {
            apply_277(state, who, audit, raw, name)
                .await
                .map_err(fail)?;
            "processed".into()
        }
        other => {
            return Err((
                Some(received()),
                format!("transaction set {other} is not handled"),
            ));
        }
    };
    Ok(Applied { kind, status })
}

/// Records an inbox file that could not be applied (status `failed`, with the reason).
pub(super) async fn record_failed(
    state: &AppState,
    org: OrgId,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    received: Received,
    reason: String,
) -> ApiResult<()> {
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    web::block(move || -> CoreResult<()> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let Received {
                kind,
                control_numbers: (icn, gcn),
            } = received;
            let e = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "in",
                    kind: if kind == "277" { "277CA".into() } else { kind },
                    file_name: Some(name),
                    interchange_control_number: icn,
                    group_control_number: gcn,
                    status: "failed".into(),
                    transport: Some("inbox".into()),
                    detail: Some(reason.chars().take(1000).collect()),
                    ..Default::default()
                },
                &raw,
            )?;
            audit.append_in_tx(c, 422, Some(e.id), &Disclosed::default())
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(())
}

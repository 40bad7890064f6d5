//! The outbox transport: an 837P file dropped into a directory a transfer agent sends.

use std::path::{Path, PathBuf};

use actix_web::web;
use revcycle_core::access::Principal;
use revcycle_core::audit::Disclosed;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::store::x12_exchanges::{self};
use revcycle_core::store::{self};
use revcycle_core::workflows::payer::submission::SubmittedClaim;
use uuid::Uuid;

use super::interchange::{
    Group, SubmittedExchange, allocate_control_number, build_837p, exchange_of, mark_submitted,
};
use super::link::PayerLink;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// Outbox: the file is written under a hidden temporary name (a transfer agent skips dot
/// files) and renamed into place only once its claims are recorded as submitted, so a failure
/// on either side never leaves a sent file for claims still `ready`.
pub(super) async fn send_to_outbox(
    state: &AppState,
    link: &PayerLink,
    who: &Principal,
    audit: &AuditCtx,
    group: Group,
    outbox: PathBuf,
) -> ApiResult<(SubmittedExchange, Vec<SubmittedClaim>)> {
    let org = who.org;
    let control = allocate_control_number(state, group.sender.clone()).await?;
    let (x12, envelopes) = build_837p(state, link, &group, control).await?;
    let icn = format!("{control:09}");
    let file_name = format!("837P-{icn}-{}.x12", Uuid::now_v7().simple());
    let path = outbox.join(&file_name);
    let tmp = outbox.join(format!(".{file_name}.tmp"));
    let bytes = x12.clone().into_bytes();
    let tmp2 = tmp.clone();
    web::block(move || -> std::io::Result<()> {
        // The 837P holds PHI: a private directory, a file only the server's user reads.
        crate::files::private_dir(tmp2.parent().unwrap_or(Path::new(".")))?;
        crate::files::write_private(&tmp2, &bytes)
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e.kind(), "writing an 837P into the outbox failed");
        ApiError::Core(CoreError::Unavailable(
            "the outbox cannot be written".into(),
        ))
    })?;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let actor = who.subject.clone();
    let mut input = exchange_of(&group, "outbox", &envelopes);
    input.file_name = Some(file_name.clone());
    let audit = audit.clone();
    let icn2 = icn.clone();
    let claim_ids = input.claim_ids.clone();
    let recorded = web::block(move || -> CoreResult<_> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let e = x12_exchanges::record(c, &keyring, org, &input, x12.as_bytes())?;
            audit.with("x12.send", "X12Exchange").append_in_tx(
                c,
                201,
                Some(e.id),
                &Disclosed::default(),
            )?;
            let submitted =
                mark_submitted(c, &keyring, org, &audit, &actor, &group.items, &icn2, e.id)?;
            Ok((e.id, submitted))
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    let (exchange_id, submitted) = match recorded {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    if let Err(e) = std::fs::rename(&tmp, &path) {
        // Recorded as submitted but not in place: say so loudly (no PHI in the message).
        tracing::error!(error = %e.kind(), file = %file_name, "moving an 837P into the outbox failed; the claims are recorded as submitted");
        return Err(ApiError::Core(CoreError::Unavailable(
            "the 837P was recorded but could not be moved into the outbox".into(),
        )));
    }
    Ok((
        SubmittedExchange {
            exchange_id,
            payer_id: group.payer_id,
            transport: "outbox".into(),
            file_name: Some(file_name),
            interchange_control_number: icn,
            status: "sent".into(),
            detail: None,
            claim_ids,
        },
        submitted,
    ))
}

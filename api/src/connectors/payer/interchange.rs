//! One payer's 837P interchange of a submission: its control number, the file the plugin
//! builds, and recording it (and its claims) as sent, whichever transport carries it.

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::OrgId;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::Claim;
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{self, DbConnection, KeyRing};
use revcycle_core::workflows::payer::submission::*;
use revcycle_core::workflows::payer::submission::{self};
use serde::Serialize;
use uuid::Uuid;

use super::link::{PayerLink, call_as};
use super::transport::Route;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// One 837P interchange of a submission: one per payer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmittedExchange {
    pub exchange_id: Uuid,
    pub payer_id: Uuid,
    /// `outbox` or `http`.
    pub transport: String,
    /// The file's name in the outbox (outbox transport).
    pub file_name: Option<String>,
    pub interchange_control_number: String,
    /// `sent`, or `failed` (nothing was delivered; its claims stay `ready`).
    pub status: String,
    /// Why it failed (HTTP status or unreachable), or what the clearinghouse's
    /// acknowledgment in the response said.
    pub detail: Option<String>,
    pub claim_ids: Vec<Uuid>,
}

/// A claim cleared for submission: the stored claim, its canonical submission, its patient.
pub(super) type ReadyClaim = (Claim, canonical::ClaimSubmission, Uuid);

/// One payer's claims and how they travel.
pub(super) struct Group {
    pub(super) payer_id: Uuid,
    pub(super) route: Route,
    /// ISA06: whose control number counter is used.
    pub(super) sender: String,
    pub(super) items: Vec<ReadyClaim>,
}

/// Takes the next interchange control number of `sender` in its own short write transaction
/// (committed before the file is built, so no lock is held across the plugin or the network).
pub(super) async fn allocate_control_number(state: &AppState, sender: String) -> ApiResult<u32> {
    let pool = state.pool.clone();
    web::block(move || -> CoreResult<u32> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            x12_exchanges::allocate_control_number(c, &sender)
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(ApiError::from)
}

/// The 837P of a group, built by the plugin with the payer's envelope ids.
pub(super) async fn build_837p(
    state: &AppState,
    link: &PayerLink,
    group: &Group,
    control: u32,
) -> ApiResult<(String, canonical::Envelopes)> {
    let request = canonical::SubmitClaimsInput {
        claims: group.items.iter().map(|(_, s, _)| s.clone()).collect(),
        envelope: canonical::EnvelopeOverrides {
            control_number: Some(control),
            sender_id: Some(group.sender.clone()),
            receiver_id: group.route.receiver_id.clone(),
            ..Default::default()
        },
        // Each claim names its payer's SBR09; the file's default stays the plugin's.
        claim_filing_indicator: None,
        receiver_name: group.route.receiver_name.clone(),
    };
    let out: canonical::SubmitClaimsOutput = call_as(
        state,
        link,
        "submit_claims",
        serde_json::to_vec(&request).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    if out.x12.is_empty() {
        return Err(ApiError::BadGateway(
            "the connector returned no 837P".into(),
        ));
    }
    Ok((out.x12, out.envelopes))
}

/// In the caller's transaction: moves a group's claims to `submitted` with their audit events
/// (see [`submission::mark_submitted`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn mark_submitted(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &AuditCtx,
    actor: &str,
    items: &[ReadyClaim],
    icn: &str,
    exchange_id: Uuid,
) -> CoreResult<Vec<SubmittedClaim>> {
    let sent = items.iter().map(|(claim, _, _)| claim);
    submission::mark_submitted(c, keyring, org, audit, actor, sent, icn, exchange_id)
}

/// The outbound exchange of a group's 837P, its ISA13, GS06 and ST02 as the plugin wrote them.
pub(super) fn exchange_of(
    group: &Group,
    transport: &str,
    sent: &canonical::Envelopes,
) -> ExchangeInput {
    let (icn, gcn) = sent.control_numbers();
    ExchangeInput {
        direction: "out",
        kind: "837".into(),
        file_name: None,
        interchange_control_number: icn,
        group_control_number: gcn,
        transaction_control_number: sent
            .interchanges
            .iter()
            .flat_map(|i| &i.groups)
            .flat_map(|g| &g.transactions)
            .map(|t| t.control_number.clone())
            .next(),
        claim_ids: group.items.iter().map(|(c, _, _)| c.id).collect(),
        status: "sent".into(),
        payer_id: Some(group.payer_id),
        transport: Some(transport.into()),
        answers: Vec::new(),
        detail: None,
    }
}

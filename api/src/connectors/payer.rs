//! The payer side of the connector plugins (X12): importing 835 remittances, submitting claims
//! as 837P files into the payer's outbox, and polling its inbox for 835s, 999/TA1
//! acknowledgments and 277CA claim acknowledgments.
//!
//! The plugin builds and parses X12; this module moves files and applies results through
//! `core` (encryption, lifecycle, posting) with each write's audit event in its transaction.
//! Raw X12 holds PHI: it is stored only encrypted (`x12_exchanges`) and never logged.
//!
//! Transports, from the payer plugin's `config` in `connectors.toml` (the README's "Payer
//! connector" section has a worked example). At the connector level, the default for every
//! payer: `outbox` (directory for 837P files) or `submit_url` (HTTP POST of the 837P to a
//! clearinghouse API), `clearinghouse_url` (real-time 270/276), `bearer_token_file` or
//! `bearer_token_env` (the token those URLs get; never the token itself), `inbox` (directory
//! polled for files from the payer), `poll_seconds` (default 5) and `org` (the organization
//! the inboxes belong to; defaults to the only one). Under `payers."<payer uuid or payer
//! code>"`, a payer's own `outbox` or `submit_url` (with its own token), `clearinghouse_url`,
//! `inbox`, `sender_id`, `receiver_id` and `receiver_name`.

mod acknowledgments;
mod claim_mapping;
mod envelope;
mod exchanges;
mod http;
mod inbox;
mod outbox;
mod real_time;
mod real_time_check;
mod remit;
mod remit_mapping;
mod submit;
mod transport;

use std::sync::Arc;

use revcycle_connector_abi::ffi::ConnectorKind;
use revcycle_connector_abi::host::ConnectorInstance;
use revcycle_core::error::CoreError;

use super::{State, invoke};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) use claim_mapping::{Str, subscriber_of};
pub use exchanges::{ClaimExchange, ClaimExchanges, ExchangeAck, claim_exchanges};
pub use inbox::{poll_once, spawn_inbox_poller};
pub use real_time::{EligibilityInput, RealTimeResult, check_eligibility, claim_status};
pub use remit::{
    ImportedRemittance, RemittanceImport, ResolveInput, Resolved, import_835, resolve_named,
    resolve_unidentified,
};
pub use submit::{
    Finding, SubmitInput, SubmitResult, SubmittedClaim, SubmittedExchange, submit_claims,
};
pub use transport::{Endpoint, Inbox, Route, Submission, TokenSource, Transport};

/// The loaded payer (X12) connector and its transport.
pub struct PayerLink {
    pub name: String,
    pub instance: Arc<ConnectorInstance>,
    pub transport: Transport,
}

/// The payer connector: the one named `x12`, else the first loaded payer connector that parses
/// remittances.
pub fn payer_link(state: &AppState) -> ApiResult<PayerLink> {
    let mut candidates: Vec<_> = state
        .connectors
        .list
        .iter()
        .filter_map(|c| match &c.state {
            State::Loaded {
                kind: ConnectorKind::Payer,
                operations,
                instance,
                ..
            } if operations.iter().any(|o| o == "parse_remittance") => {
                Some((c.name.clone(), instance.clone(), &c.config))
            }
            _ => None,
        })
        .collect();
    let chosen = match candidates.iter().position(|c| c.0 == "x12") {
        Some(i) => candidates.swap_remove(i),
        None => candidates.into_iter().next().ok_or_else(|| {
            ApiError::Core(CoreError::Unavailable(
                "no payer (X12) connector is loaded; see GET /v1/connectors".into(),
            ))
        })?,
    };
    let (name, instance, config) = chosen;
    let transport = Transport::of(config).map_err(|reason| {
        ApiError::Core(CoreError::Unavailable(format!(
            "the payer connector's transport configuration is refused: {reason}"
        )))
    })?;
    Ok(PayerLink {
        name,
        instance,
        transport,
    })
}

/// Calls the payer plugin's `op` and reads its output as the operation's typed output
/// (`canonical::SubmitClaimsOutput`...): an output of another shape is the connector's fault,
/// a 502 naming the operation.
async fn call_as<T: serde::de::DeserializeOwned>(
    state: &AppState,
    link: &PayerLink,
    op: &'static str,
    input: Vec<u8>,
) -> ApiResult<T> {
    let out = invoke(link.instance.clone(), op, input, state.connectors.timeout).await?;
    serde_json::from_slice(&out).map_err(|_| {
        ApiError::BadGateway(format!(
            "the connector's {op} output is not the shape this server reads"
        ))
    })
}

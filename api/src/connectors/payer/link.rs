//! The loaded payer (X12) connector, its transport, and calls into it.

use std::sync::Arc;

use revcycle_connector_abi::ffi::ConnectorKind;
use revcycle_connector_abi::host::ConnectorInstance;
use revcycle_core::error::CoreError;

use super::transport::Transport;
use crate::connectors::{State, invoke};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

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
pub(super) async fn call_as<T: serde::de::DeserializeOwned>(
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

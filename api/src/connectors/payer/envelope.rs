//! What a received X12 file is (its ISA, GS and ST headers), as the payer plugin reads it: the
//! host takes control numbers and the transaction set from the plugin, never from the bytes.

use revcycle_connector_abi::canonical::v1 as canonical;
use serde::Deserialize;
use serde_json::Value;

use super::{PayerLink, call};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The envelopes the plugin returned beside an operation's result (its `interchanges`).
pub(super) fn envelopes_of(out: &Value) -> canonical::Envelopes {
    canonical::Envelopes::deserialize(out).unwrap_or_default()
}

/// The envelopes of a received file, read by the plugin as far as the file is well formed.
pub(super) async fn read_envelope(
    state: &AppState,
    link: &PayerLink,
    raw: Vec<u8>,
) -> ApiResult<canonical::Envelopes> {
    let out = call(state, link, "read_envelope", raw).await?;
    canonical::Envelopes::deserialize(&out)
        .map_err(|_| ApiError::BadGateway("the connector's envelopes are not readable".into()))
}

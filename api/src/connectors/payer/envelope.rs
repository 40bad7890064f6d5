//! What a received X12 file is (its ISA, GS and ST headers), as the payer plugin reads it: the
//! host takes control numbers and the transaction set from the plugin, never from the bytes.

use revcycle_connector_abi::canonical::v1 as canonical;

use super::link::{PayerLink, call_as};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The envelopes of a received file, read by the plugin as far as the file is well formed.
pub(super) async fn read_envelope(
    state: &AppState,
    link: &PayerLink,
    raw: Vec<u8>,
) -> ApiResult<canonical::Envelopes> {
    call_as(state, link, "read_envelope", raw).await
}

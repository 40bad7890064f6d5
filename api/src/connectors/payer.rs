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
mod canonical_parts;
mod claim_mapping;
mod envelope;
mod exchanges;
mod http;
pub mod inbox;
mod interchange;
pub mod link;
mod outbox;
mod prior_payers;
mod real_time;
mod real_time_check;
mod remit;
mod remit_mapping;
mod submit;
mod transport;

pub use exchanges::{ClaimExchange, ClaimExchanges, ExchangeAck, claim_exchanges};
pub use inbox::poll_once;
pub use link::{PayerLink, payer_link};
pub use real_time::{EligibilityInput, RealTimeResult, check_eligibility, claim_status};
pub use remit::{
    ImportedRemittance, RemittanceImport, ResolveInput, Resolved, import_835, resolve_named,
    resolve_unidentified,
};
pub use submit::{
    Finding, SubmitInput, SubmitResult, SubmittedClaim, SubmittedExchange, submit_claims,
};
pub use transport::{Endpoint, Inbox, Route, Submission, TokenSource, Transport};

//! The audit trail's domain: what an audit event records, its canonical encoding, and the
//! per-organization hash chain that makes tampering evident.
//!
//! - `event`: the event (names of disclosed fields, never their values).
//! - `chain`: canonical encoding, chaining and verification.

pub mod chain;
pub mod event;

pub use chain::{ChainBreak, ChainedEvent, Verification, genesis, link_hash, verify};
pub use event::{AuditEvent, Outcome};

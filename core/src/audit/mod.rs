//! The audit trail's domain: what an audit event records, its canonical encoding, the
//! per-organization hash chain that makes tampering evident, what a response disclosed, and the
//! export formats. Storage is `store::audit`.
//!
//! - `event`: the event (names of disclosed fields, never their values).
//! - `chain`: canonical encoding, chaining and verification.
//! - `disclosure`: which patients and PHI fields a response body carries.
//! - `merkle`: the RFC 6962 Merkle tree over the events, its proofs and their checks.
//! - `export`: the API's record and the NDJSON, CSV and FHIR R4 formats.
//! - `accounting`: which events an accounting of disclosures (45 CFR 164.528) lists.
//! - `retention`: how long events are kept, and the anchor a purge leaves.

pub mod accounting;
pub mod chain;
pub mod checkpoint;
pub mod disclosure;
pub mod event;
pub mod export;
pub mod merkle;
pub mod retention;

pub use chain::{
    ChainBreak, ChainVerifier, ChainedEvent, Verification, genesis, link_hash, verify,
};
pub use disclosure::{Disclosed, Discloses};
pub use event::{AuditEvent, Outcome, SYSTEM_ORG};
pub use export::{AuditRecord, ExportFormat, Exporter};
pub use retention::{Anchor, Retention, RetentionTooShort};

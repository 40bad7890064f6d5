//! X12 5010 for Revcycle: a streaming reader and a writer for the interchange envelopes, and
//! the health-care transactions mapped to and from the canonical connector messages
//! (`revcycle_connector_abi::canonical::v1`):
//!
//! - 837P (005010X222A1) claims: [`x837p::write_837p`] from [`ClaimSubmission`]s, and
//!   [`x837p::read_837p`] back (round trips, tests);
//! - 835 (005010X221A1) remittances: [`x835::Reader835`] streams claims one at a time, and
//!   [`x835::parse_835`] collects [`Remittance`]s, balancing BPR02 against the claims and PLBs;
//! - 999 and TA1 acknowledgments: [`ack`], parse and generate;
//! - 270/271 eligibility and 276/277 claim status: [`eligibility`], [`status`].
//!
//! # Why our own X12 code and not the `x12-types` crate
//!
//! `x12-types` 0.12 (crates.io) was evaluated first. It has generated segment and transaction
//! types for 5010, including `_835` and `_837`, but it does not fit here:
//! - its parser hard-codes `~` and `*` (and the component separator) instead of taking the
//!   delimiters from the ISA, and it has no release-character handling;
//! - it parses a whole `&str` into an owned tree of `String`s: no streaming, so a 100 MB 835
//!   means holding the file and its tree in memory;
//! - its `_837` is the generic X12 837 loop layout (flat 2000 loops with no HL hierarchy and
//!   no 2320/2330/2430 for other payers), not the 837P implementation guide we must produce, and
//!   envelope counts/control numbers are not validated;
//! - numeric elements are exposed as `f64`, and it compiles 3.5 MB of generated code for five
//!   X12 versions, plus `nom`, `validator` and `chrono`.
//!
//! So this crate has its own small reader (a pull parser over `BufRead` that lends one segment at
//! a time and checks ISA/GS/ST envelopes on the fly) and writer, and maps the guides' loops by
//! hand. Money is `rust_decimal`, never floats. Errors ([`X12Error`]) name the segment number,
//! segment id and reason, never element values.

pub mod ack;
pub mod eligibility;
pub mod envelope;
mod error;
pub mod payer_id;
pub mod reader;
pub mod status;
mod util;
pub mod validate;
pub mod writer;
pub mod x835;
pub mod x837p;

pub use error::X12Error;
pub use reader::{Delimiters, Element, OwnedSegment, Segment, X12Reader, read_all};
pub use writer::{GroupHeader, InterchangeHeader, X12Writer};

pub use revcycle_connector_abi::canonical::v1::{ClaimSubmission, Remittance};

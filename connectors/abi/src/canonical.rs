//! Canonical messages exchanged as JSON between the host and connector plugins.
//!
//! The current schema is [`v1`] (re-exported here). Conventions:
//! - snake_case fields; unknown fields are ignored and missing ones take their default, so either
//!   side can add optional fields without breaking the other;
//! - dates are ISO 8601 strings (`"2024-03-01"`), money and units are decimal strings
//!   (`"125.00"`, `"1"`), never floats;
//! - top-level messages carry `schema_version` ([`v1::SCHEMA_VERSION`]).
//!
//! Many of these types carry PHI. Those print as `Type { .. }` under `{:?}`, so a stray debug log
//! cannot disclose names, dates of birth or identifiers.

pub use v1::*;

pub mod v1;

//! Revcycle domain core: types and rules of the revenue cycle, with no HTTP.
//!
//! - `codes`: value types that parse on the way in (NPI, ICD-10-CM, CPT/HCPCS, money, ...).
//! - `phi`: field encryption, key ring, blind indexes.
//! - `billing`: claim lifecycle, scrubber edits, ledger, remittance posting, aging.
//! - `model`: patients, coverage, encounters, claims, remittances, payers, providers.
//! - `store`: diesel schema and repositories over SQLite and PostgreSQL.
//! - `access`: the principal every repository call is made for.
//! - `audit`: audit events and their tamper-evident hash chain.

pub mod access;
pub mod audit;
pub mod billing;
pub mod codes;
pub mod error;
pub mod events;
pub mod model;
pub mod phi;
pub mod store;
pub mod validation;
pub mod workflows;

//! The billing resources as the API sees them: what callers send (`*Input`) and what they
//! get back. Inputs are made of parsed value types from `codes`, so a value that reaches a
//! repository is already known to be well-formed; `validate` adds the cross-field rules.

pub mod claim;
pub mod common;
pub mod coverage;
pub mod encounter;
pub mod identity;
pub mod patient;
pub mod payer;
pub mod provider;
pub mod remittance;

pub use common::{Address, ExternalId, Page};

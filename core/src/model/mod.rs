//! The billing resources as the API sees them: what callers send (`*Input`) and what they
//! get back. Inputs are made of parsed value types from `codes`, so a value that reaches a
//! repository is already known to be well-formed; `validate` adds the cross-field rules.

pub mod claim;
pub mod common;
pub mod coverage;
pub mod denial;
pub mod encounter;
pub mod event;
pub mod identity;
pub mod letter_template;
pub mod patient;
pub mod payer;
pub mod provider;
pub mod remittance;

pub use common::{Address, ExternalId, Page};

/// A stored resource with an id and an optimistic-concurrency version: it lives at
/// `{collection}/{id}`, and its version is its ETag.
pub trait Versioned: serde::Serialize {
    fn id(&self) -> uuid::Uuid;
    fn version(&self) -> i32;
}

/// [`Versioned`] for resources whose `id` and `version` fields are exactly that.
macro_rules! versioned {
    ($($ty:ty),* $(,)?) => {$(
        impl Versioned for $ty {
            fn id(&self) -> uuid::Uuid {
                self.id
            }
            fn version(&self) -> i32 {
                self.version
            }
        }
    )*};
}

versioned!(
    claim::Claim,
    coverage::Coverage,
    encounter::Encounter,
    patient::Patient,
    payer::Payer,
    provider::Provider,
    remittance::Remittance,
);

//! Denials as work items: which adjustments of a posted 835 are denials, the root cause each
//! CARC points to ([`categories`]), and how a denial is worked ([`status`]).

pub mod categories;
pub mod status;

pub use categories::{Classification, DenialCategory, classify, is_partial_denial};
pub use status::{DenialStatus, StatusRefused};

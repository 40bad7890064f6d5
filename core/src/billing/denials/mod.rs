//! Denials as work items: which adjustments of a posted 835 are denials, the root cause each
//! CARC points to ([`categories`]), how a denial is worked ([`status`]), what of it may be
//! written off ([`write_off`]) and when it may be appealed ([`appeals`]).

pub mod appeals;
pub mod categories;
pub mod status;
pub mod write_off;

pub use categories::{Classification, DenialCategory, classify, is_partial_denial};
pub use status::{DenialStatus, StatusRefused};

//! Who is calling and what they may do.
//!
//! - `principal`: the authenticated caller; every store call takes its `OrgId`, never an org
//!   from the request, so a caller cannot reach another tenant's rows.
//! - `permissions`: the one matrix of role x resource x action that every route consults.

pub mod permissions;
mod principal;

pub use permissions::{Action, Resource, allowed, permission_table_markdown};
pub use principal::{OrgId, Principal, Role};

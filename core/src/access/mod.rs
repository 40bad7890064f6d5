//! Who is calling and what they may do.
//!
//! - `principal`: the authenticated caller; every store call takes its `OrgId`, never an org
//!   from the request, so a caller cannot reach another tenant's rows.
//! - `permissions`: the one matrix of role x resource x action that every route consults.

//! - `scope`: SMART-style token scopes, which only narrow what roles allow.
//! - `masking`: minimum-necessary views of records, applied to every response on the way out.

pub mod masking;
pub mod permissions;
mod principal;
pub mod scope;

pub use masking::{Disclosure, Mask, View};
pub use permissions::{Action, Capability, Resource, allowed, granted, permission_table_markdown};
pub use principal::{OrgId, PURPOSES_OF_USE, Principal, Role};
pub use scope::Scopes;

//! Payer interchange use cases. What they need from outside core is handed in: what the payer
//! plugin read from a file, as core's own types (core never sees the plugin's messages), and
//! an [`AuditTrail`] that writes the request's audit events in the use case's transaction.

pub mod acknowledgments;

use uuid::Uuid;

use crate::audit::Disclosed;
use crate::error::CoreResult;
use crate::store::DbConnection;

/// How a use case writes audit events in its transaction; who asked, from where and in which
/// request stay with the caller.
pub trait AuditTrail {
    /// The request's own event.
    fn append(
        &self,
        conn: &mut DbConnection,
        status: u16,
        resource_id: Option<Uuid>,
        disclosed: &Disclosed,
    ) -> CoreResult<()>;

    /// Another event of the same request: `action` on a `resource_type`.
    fn append_other(
        &self,
        conn: &mut DbConnection,
        action: &'static str,
        resource_type: &'static str,
        status: u16,
        resource_id: Option<Uuid>,
        disclosed: &Disclosed,
    ) -> CoreResult<()>;
}

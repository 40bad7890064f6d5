//! Payer interchange use cases. What they need from outside core is handed in: what the payer
//! plugin read from a file, as core's own types (core never sees the plugin's messages), and
//! an [`AuditTrail`] that writes the request's audit events in the use case's transaction.

pub mod acknowledgments;
pub mod remittances;
pub mod submission;

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

/// A file received from a payer or clearinghouse, with the envelope ids the plugin read.
#[derive(Debug, Clone)]
pub struct ReceivedFile {
    pub raw: Vec<u8>,
    /// Its name in the inbox, or the one the API caller gave.
    pub name: Option<String>,
    /// `835`, `999`, `TA1`, `277CA`.
    pub kind: String,
    /// `inbox`, `http` or `api`.
    pub transport: &'static str,
    pub interchange_control_number: Option<String>,
    pub group_control_number: Option<String>,
}

/// Most characters of a file name kept with a received file.
pub const FILE_NAME_MAX: usize = 100;

impl ReceivedFile {
    /// A file name as an API caller gave it, as it is kept: printable ASCII only (no spaces,
    /// control characters or path tricks that would confuse whoever lists the exchanges), at
    /// most [`FILE_NAME_MAX`] characters.
    pub fn clean_name(given: &str) -> String {
        given
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(FILE_NAME_MAX)
            .collect()
    }

    /// The file as an inbound exchange to record, `processed` until its use case says more.
    pub fn exchange(&self) -> crate::store::x12_exchanges::ExchangeInput {
        crate::store::x12_exchanges::ExchangeInput {
            direction: "in",
            kind: self.kind.clone(),
            file_name: self.name.clone(),
            interchange_control_number: self.interchange_control_number.clone(),
            group_control_number: self.group_control_number.clone(),
            status: "processed".into(),
            transport: Some(self.transport.into()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_file_name_keeps_printable_ascii_up_to_its_limit() {
        assert_eq!(
            ReceivedFile::clean_name("era 2026\u{0}\n-01.835"),
            "era2026-01.835"
        );
        assert_eq!(
            ReceivedFile::clean_name("r\u{e9}mit\u{202e}.x12"),
            "rmit.x12"
        );
        assert_eq!(
            ReceivedFile::clean_name(&"a".repeat(150)).len(),
            FILE_NAME_MAX
        );
    }
}

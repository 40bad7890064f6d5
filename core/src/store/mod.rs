//! Storage: one diesel code path over SQLite and PostgreSQL. Every repository function takes
//! the caller's `OrgId` and filters by it, so no query can reach another tenant's rows.
//!
//! Lookups by key use `get_result`, not `first`: `first` binds `LIMIT ?`, and SQLite expires a
//! cached statement whose LIMIT parameter is rebound, re-parsing it on every call.

pub mod accounts;
pub mod adjudications;
pub mod audit;
pub mod audit_intake;
pub mod audit_links;
pub mod audit_tree;
pub mod audit_verification;
pub mod audit_writer;
pub mod billing;
pub mod charge_master;
pub mod claims;
pub mod cob;
pub mod connection;
pub mod coverages;
mod crypt;
pub mod denial_analytics;
pub mod denial_appeals;
pub mod denials;
pub mod encounters;
mod encrypted;
pub mod event_publishing;
pub mod events;
pub mod filing_deadlines;
pub mod idempotency;
pub mod import_links;
pub mod keyring;
pub mod ledger;
pub mod letter_templates;
pub mod org_documents;
pub mod orgs;
pub mod pagination;
pub mod patients;
pub mod payers;
pub mod payment_plans;
pub mod posting;
pub mod providers;
pub mod remittances;
pub mod report_queries;
pub mod rewrap;
pub mod rotation;
pub mod schema;
pub mod sql_types;
mod sqlite_write_gate;
pub mod statements;
mod transaction_locks;
pub mod unidentified;
pub mod unmatched;
pub mod unpaid_claims;
pub mod x12_exchanges;

pub use connection::{
    DbConnection, DbPool, Engine, build_pool, connect, run_migrations, write_transaction,
};
pub use keyring::KeyRing;
pub use pagination::ListParams;

use uuid::Uuid;

use crate::error::{CoreError, CoreResult};

/// The org's row of `$table` with this id, as a `$row`, or `NotFound` naming `$resource`: a
/// record is only ever looked up inside its caller's organization.
macro_rules! org_row {
    ($conn:expr, $table:ident, $row:ty, $org:expr, $id:expr, $resource:literal) => {
        $table::table
            .filter($table::org_id.eq($org.as_str()))
            .filter($table::id.eq($id.to_string()))
            .select(<$row>::as_select())
            .get_result::<$row>($conn)
            .optional()
            .map_err($crate::error::CoreError::from)
            .and_then(|row| {
                row.ok_or($crate::error::CoreError::NotFound {
                    resource: $resource,
                })
            })
    };
}
pub(crate) use org_row;

/// Ids bound per `IN (...)` list: far below SQLite's and PostgreSQL's bind-parameter limits,
/// whatever else the statement binds.
pub(crate) const IN_LIST_CHUNK: usize = 500;

/// New primary key: UUIDv7 sorts by creation time, which cursor pagination relies on.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

pub(crate) fn parse_id(s: &str) -> CoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| CoreError::Internal("stored id is not a UUID".into()))
}

pub(crate) fn opt_id(s: Option<String>) -> CoreResult<Option<Uuid>> {
    s.as_deref().map(parse_id).transpose()
}

/// A value type stored as its JSON string form (codes, enums).
pub(crate) fn to_db<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

pub(crate) fn from_db<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &'static str,
) -> CoreResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| CoreError::Internal(format!("stored {what} does not parse")))
}

/// A structured column stored as JSON text.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &'static str,
) -> CoreResult<T> {
    serde_json::from_str(s)
        .map_err(|_| CoreError::Internal(format!("stored {what} does not parse")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Turn the row count of a versioned update into the right error when nothing was updated.
pub(crate) fn check_versioned_update(
    updated: usize,
    current: Option<i32>,
    resource: &'static str,
) -> CoreResult<()> {
    match (updated, current) {
        (1, _) => Ok(()),
        (_, None) => Err(CoreError::NotFound { resource }),
        (_, Some(current)) => Err(CoreError::VersionMismatch { current }),
    }
}

/// Rows written by one bulk import after which the imported tables' statistics are refreshed.
pub const BULK_ANALYZE_ROWS: usize = 1000;

/// Refreshes PostgreSQL's planner statistics of the tables an EHR import writes, after a bulk
/// load: plans chosen from statistics that still call a table empty walk whole indexes once
/// it has grown (autovacuum may be off, or behind). SQLite needs nothing here.
pub fn refresh_import_statistics(conn: &mut DbConnection) -> CoreResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("ANALYZE patients, coverages, encounters, import_links")?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing;

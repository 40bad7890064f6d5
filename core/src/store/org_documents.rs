//! Documents an organization keeps one of (its statement profile, its appeal-letter template):
//! one row per org holding the document as JSON, with a version for compare-and-set writes.
//! The callers turn the JSON into their own types and validate their input first.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use super::DbConnection;
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::now;

/// Where one kind of document is kept. Names are constants of this crate, never input.
pub struct Kind {
    table: &'static str,
    column: &'static str,
    /// What errors call it.
    pub resource: &'static str,
}

pub const STATEMENT_PROFILE: Kind = Kind {
    table: "statement_profiles",
    column: "profile",
    resource: "statement profile",
};

pub const APPEAL_LETTER_TEMPLATE: Kind = Kind {
    table: "appeal_letter_templates",
    column: "template",
    resource: "appeal letter template",
};

/// A stored document.
pub struct Stored {
    pub json: String,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    doc: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
}

/// The org's document of `kind`, if it set one.
pub fn read(conn: &mut DbConnection, kind: &Kind, org: OrgId) -> CoreResult<Option<Stored>> {
    let sql = format!(
        "SELECT {} AS doc, version, updated_at FROM {} WHERE org_id = $1",
        kind.column, kind.table
    );
    let rows: Vec<Row> = match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(sql)
            .bind::<Text, _>(org.as_str())
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(org.as_str())
            .load(c)?,
    };
    Ok(rows.into_iter().next().map(|r| Stored {
        json: r.doc,
        version: r.version,
        updated_at: r.updated_at,
    }))
}

/// Stores `json` as the org's document of `kind`: created at version 1, or replacing the
/// stored one at its next version. With `if_match`, the stored one must exist at that version
/// (a document not set yet is 404, another version 412). Returns whether it was created.
pub fn write(
    conn: &mut DbConnection,
    kind: &Kind,
    org: OrgId,
    json: &str,
    if_match: Option<i32>,
) -> CoreResult<bool> {
    let at = now();
    let current = read(conn, kind, org)?.map(|s| s.version);
    let (sql, version, created) = match (current, if_match) {
        (None, Some(_)) => {
            return Err(CoreError::NotFound {
                resource: kind.resource,
            });
        }
        (Some(v), Some(expected)) if v != expected => {
            return Err(CoreError::VersionMismatch { current: v });
        }
        (None, None) => (
            format!(
                "INSERT INTO {} (org_id, {}, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4)",
                kind.table, kind.column
            ),
            1,
            true,
        ),
        (Some(v), _) => (
            format!(
                "UPDATE {} SET {} = $2, version = $3, updated_at = $4 \
                 WHERE org_id = $1 AND version = $3 - 1",
                kind.table, kind.column
            ),
            v + 1,
            false,
        ),
    };
    let n = match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(sql)
            .bind::<Text, _>(org.as_str())
            .bind::<Text, _>(json)
            .bind::<Integer, _>(version)
            .bind::<Timestamp, _>(at)
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(org.as_str())
            .bind::<Text, _>(json)
            .bind::<Integer, _>(version)
            .bind::<Timestamp, _>(at)
            .execute(c)?,
    };
    // Another writer got in between the read and this write: said as the version it left.
    super::check_versioned_update(n, current, kind.resource)?;
    Ok(created)
}

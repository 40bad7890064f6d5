//! PostgreSQL advisory locks held until the transaction ends: how servers sharing one database
//! take turns (an org's audit chain and tree, the events fan-out). SQLite's write transaction
//! holds the whole database already, so there every lock is granted at once.

use diesel::prelude::*;
use uuid::Uuid;

use super::DbConnection;
use crate::error::CoreResult;

/// The lock key of `org` in the namespace `class` (the high 32 bits). Any 32 bits of the org
/// id will do: a collision only makes two orgs take turns.
pub(crate) fn org_lock_key(class: i64, org: Uuid) -> i64 {
    let b = org.as_bytes();
    let low = i64::from(u32::from_be_bytes([b[12], b[13], b[14], b[15]]));
    (class << 32) | low
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    taken: bool,
}

/// Waits for the lock `key` and holds it for the rest of the transaction.
pub(crate) fn hold(conn: &mut DbConnection, key: i64) -> CoreResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// Takes the lock `key` for the rest of the transaction if no other transaction holds it;
/// `false` (at once) when one does.
pub(crate) fn try_hold(conn: &mut DbConnection, key: i64) -> CoreResult<bool> {
    let DbConnection::Postgresql(c) = conn else {
        return Ok(true);
    };
    Ok(
        diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS taken")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .get_result::<Taken>(c)?
            .taken,
    )
}

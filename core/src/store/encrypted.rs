//! What the repositories of tables with encrypted columns share: reading rows back (decrypted,
//! one, a list or a page) and data-key rotation (re-encrypting rows not under the active key).
//!
//! Each such table carries `key_version`, the data-key version its row was written under. A
//! table takes part in rotation by implementing [`EncryptedTable`] for its row type (the
//! queries come from [`rotation_queries!`]) and by being listed in `rotation::ENCRYPTED`.

use uuid::Uuid;

use super::DbConnection;
use super::pagination::finish_page;
use crate::access::OrgId;
use crate::error::CoreResult;
use crate::model::Page;
use crate::phi::OrgKeys;

/// A row read from a table with encrypted columns; decrypting it gives the resource.
pub(crate) trait SealedRow {
    type Plain;
    fn decrypt(self, keys: &OrgKeys, org: OrgId) -> CoreResult<Self::Plain>;
}

pub(crate) fn decrypt_all<R: SealedRow>(
    rows: Vec<R>,
    keys: &OrgKeys,
    org: OrgId,
) -> CoreResult<Vec<R::Plain>> {
    rows.into_iter().map(|r| r.decrypt(keys, org)).collect()
}

/// A page from `limit + 1` rows read in id order: `limit` of them decrypted, and the cursor
/// of the next page when there was one more.
pub(crate) fn decrypt_page<R: SealedRow>(
    rows: Vec<R>,
    keys: &OrgKeys,
    org: OrgId,
    limit: i64,
    id_of: impl Fn(&R::Plain) -> Uuid,
) -> CoreResult<Page<R::Plain>> {
    Ok(finish_page(decrypt_all(rows, keys, org)?, limit, id_of))
}

/// A table whose rows carry the data-key version they are encrypted under, implemented by the
/// row type rotation reads.
pub(crate) trait EncryptedTable: Sized {
    /// Up to `limit` of the org's rows not under data-key version `version`, in key order.
    fn not_under(
        conn: &mut DbConnection,
        org: OrgId,
        version: i32,
        limit: i64,
    ) -> CoreResult<Vec<Self>>;

    /// How many of the org's rows are not under data-key version `version`.
    fn count_not_under(conn: &mut DbConnection, org: OrgId, version: i32) -> CoreResult<i64>;

    /// Writes the row again under the active data key, with its blind indexes recomputed from
    /// the decrypted values; contents, versions and ETags stay as they are. The write is
    /// guarded by the row's key version (and content version where it has one): a row changed
    /// meanwhile is left as it now is, and picked up by the next batch if still under an old
    /// key. Returns the rows written (0 or 1).
    fn rewrite(self, conn: &mut DbConnection, keys: &OrgKeys, org: OrgId) -> CoreResult<usize>;
}

/// [`EncryptedTable::not_under`] and [`EncryptedTable::count_not_under`] for a table with
/// `org_id` and `key_version` columns, read in `$order` order as the row type `$row`.
macro_rules! rotation_queries {
    ($table:ident, $order:ident, $row:ty) => {
        fn not_under(
            conn: &mut $crate::store::DbConnection,
            org: $crate::access::OrgId,
            version: i32,
            limit: i64,
        ) -> $crate::error::CoreResult<Vec<$row>> {
            Ok($table::table
                .filter($table::org_id.eq(org.as_str()))
                .filter($table::key_version.ne(version))
                .order($table::$order)
                .limit(limit)
                .select(<$row>::as_select())
                .load(conn)?)
        }

        fn count_not_under(
            conn: &mut $crate::store::DbConnection,
            org: $crate::access::OrgId,
            version: i32,
        ) -> $crate::error::CoreResult<i64> {
            Ok($table::table
                .filter($table::org_id.eq(org.as_str()))
                .filter($table::key_version.ne(version))
                .count()
                .get_result(conn)?)
        }
    };
}
pub(crate) use rotation_queries;

/// One encrypted table's part in a rotation, as plain functions so that the tables can be
/// listed together.
#[derive(Clone, Copy)]
pub(crate) struct Rotated {
    /// Rewrites up to `limit` rows not under the active key; returns how many were written.
    pub batch: fn(&mut DbConnection, &OrgKeys, OrgId, i64) -> CoreResult<usize>,
    /// Counts the rows not under a version.
    pub count: fn(&mut DbConnection, OrgId, i32) -> CoreResult<i64>,
}

/// The rotation of the table whose rows are `T`.
pub(crate) const fn rotated<T: EncryptedTable>() -> Rotated {
    Rotated {
        batch: reencrypt_batch::<T>,
        count: T::count_not_under,
    }
}

/// Re-encrypts up to `limit` of the org's rows of one table that are not under the active
/// data key. Returns how many rows were rewritten.
fn reencrypt_batch<T: EncryptedTable>(
    conn: &mut DbConnection,
    keys: &OrgKeys,
    org: OrgId,
    limit: i64,
) -> CoreResult<usize> {
    let mut done = 0;
    for row in T::not_under(conn, org, keys.active_version(), limit)? {
        done += row.rewrite(conn, keys, org)?;
    }
    Ok(done)
}

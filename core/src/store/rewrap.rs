//! Master-key rotation: every organization's wrapped data and index keys are unwrapped with the
//! current master key and wrapped again with a new one, in one transaction. Field ciphertexts
//! do not change (the data keys stay the same), so this is quick whatever the data volume.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::org_keys;
use super::{DbConnection, parse_id, write_transaction};
use crate::error::{CoreError, CoreResult};
use crate::phi::{KeyKind, KeyWrapper, PhiError, wrap_aad};

/// What a re-wrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrapReport {
    pub orgs: usize,
    pub keys: usize,
    pub from: String,
    pub to: String,
}

#[derive(Queryable)]
struct Row {
    org_id: String,
    kind: String,
    version: i32,
    wrapped: Vec<u8>,
}

/// Re-wraps every stored key from `from` to `to`, all or nothing: on any failure (a key the
/// current master key cannot unwrap, KMS unreachable, a database error) nothing changes.
pub fn rewrap_all(
    conn: &mut DbConnection,
    from: &dyn KeyWrapper,
    to: &dyn KeyWrapper,
) -> CoreResult<RewrapReport> {
    let (from_id, to_id) = (from.id(), to.id());
    if from_id == to_id {
        return Err(PhiError::MasterKey(format!(
            "the new master key is the current one ({to_id}): nothing to re-wrap"
        ))
        .into());
    }
    write_transaction(conn, |conn| {
        if let DbConnection::Postgresql(pg) = conn {
            // Keys created meanwhile (a new org, a data-key rotation) would be wrapped by the
            // old master key and missed: hold writers off until commit; readers go on.
            pg.batch_execute("LOCK TABLE org_keys IN SHARE ROW EXCLUSIVE MODE")?;
        }
        let rows: Vec<Row> = org_keys::table
            .select((
                org_keys::org_id,
                org_keys::kind,
                org_keys::version,
                org_keys::wrapped,
            ))
            .order((org_keys::org_id, org_keys::kind, org_keys::version))
            .load(conn)?;
        let mut orgs = BTreeSet::new();
        for row in &rows {
            let org: Uuid = parse_id(&row.org_id)?;
            let kind: KeyKind = row.kind.parse()?;
            let aad = wrap_aad(org, kind, row.version);
            let label = |why: String| {
                PhiError::KeyUnwrap(format!("{kind} key v{} of org {org}: {why}", row.version))
            };
            let key = from
                .unwrap(&row.wrapped, &aad)
                .map_err(|e| label(e.to_string()))?;
            let rewrapped = to.wrap(&key, &aad).map_err(|e| label(e.to_string()))?;
            // Prove the new master key gives the key back before the old copy is replaced.
            let check = to
                .unwrap(&rewrapped, &aad)
                .map_err(|e| label(e.to_string()))?;
            if *check != *key {
                return Err(CoreError::Phi(label(
                    "the new master key does not give the key back".into(),
                )));
            }
            let updated = diesel::update(
                org_keys::table
                    .filter(org_keys::org_id.eq(&row.org_id))
                    .filter(org_keys::kind.eq(&row.kind))
                    .filter(org_keys::version.eq(row.version)),
            )
            .set((
                org_keys::wrapped.eq(&rewrapped),
                org_keys::wrapper_id.eq(&to_id),
            ))
            .execute(conn)?;
            if updated != 1 {
                return Err(CoreError::Internal(
                    "a key row changed during the re-wrap".into(),
                ));
            }
            orgs.insert(org);
        }
        Ok(RewrapReport {
            orgs: orgs.len(),
            keys: rows.len(),
            from: from_id.clone(),
            to: to_id.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::access::OrgId;
    use crate::phi::{FieldContext, LocalMasterKey};
    use crate::store::keyring::check_master_key;
    use crate::store::testing::{TestEngine, database, on_each_engine};
    use crate::store::{KeyRing, orgs};

    on_each_engine!(
        rewrap_moves_every_key_and_keeps_data_readable,
        a_failure_half_way_changes_nothing
    );

    fn wrapped_rows(conn: &mut DbConnection) -> Vec<(Vec<u8>, String)> {
        org_keys::table
            .select((org_keys::wrapped, org_keys::wrapper_id))
            .order((org_keys::org_id, org_keys::kind, org_keys::version))
            .load(conn)
            .unwrap()
    }

    fn rewrap_moves_every_key_and_keeps_data_readable(engine: TestEngine) {
        let (_db, mut conn) = database(engine);
        let old: Arc<LocalMasterKey> = Arc::new(LocalMasterKey::generate());
        let ring = KeyRing::new(old.clone());
        let a = orgs::create(&mut conn, &ring, "A").unwrap().id;
        let b = orgs::create(&mut conn, &ring, "B").unwrap().id;
        let ctx = FieldContext {
            org: a,
            table: "patients",
            column: "family_name",
            row: Uuid::now_v7(),
        };
        let ct = ring
            .keys(&mut conn, OrgId(a))
            .unwrap()
            .encrypt_field(&ctx, "Doe");
        let before = wrapped_rows(&mut conn);

        let new = LocalMasterKey::generate();
        let report = rewrap_all(&mut conn, old.as_ref(), &new).unwrap();
        assert_eq!((report.orgs, report.keys), (2, 4));
        assert_eq!(report.to, new.id());
        let after = wrapped_rows(&mut conn);
        for ((old_blob, _), (new_blob, id)) in before.iter().zip(&after) {
            assert_ne!(old_blob, new_blob);
            assert_eq!(id, &new.id());
        }
        // The new key reads old data; the old key is refused up front and unwraps nothing.
        let fresh = KeyRing::new(Arc::new(new));
        assert_eq!(
            fresh
                .keys(&mut conn, OrgId(a))
                .unwrap()
                .decrypt_field(&ctx, &ct)
                .unwrap(),
            "Doe"
        );
        fresh.keys(&mut conn, OrgId(b)).unwrap();
        check_master_key(&mut conn, fresh.wrapper()).unwrap();
        let err = check_master_key(&mut conn, old.as_ref()).unwrap_err();
        assert!(
            err.to_string().contains("did not wrap the stored keys"),
            "{err}"
        );
        assert!(KeyRing::new(old.clone()).keys(&mut conn, OrgId(a)).is_err());
    }

    /// Wraps with an inner key but fails from the `fail_at`-th call on (KMS going away).
    struct FailsAfter {
        inner: LocalMasterKey,
        calls: std::sync::atomic::AtomicUsize,
        fail_at: usize,
    }

    impl KeyWrapper for FailsAfter {
        fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>, PhiError> {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n + 1 >= self.fail_at {
                return Err(PhiError::Kms("unreachable".into()));
            }
            self.inner.wrap(key, aad)
        }
        fn unwrap(
            &self,
            wrapped: &[u8],
            aad: &[u8],
        ) -> Result<zeroize::Zeroizing<[u8; 32]>, PhiError> {
            self.inner.unwrap(wrapped, aad)
        }
        fn id(&self) -> String {
            "failing".into()
        }
    }

    fn a_failure_half_way_changes_nothing(engine: TestEngine) {
        let (_db, mut conn) = database(engine);
        let real = Arc::new(LocalMasterKey::generate());
        let ring = KeyRing::new(real.clone());
        orgs::create(&mut conn, &ring, "A").unwrap();
        orgs::create(&mut conn, &ring, "B").unwrap();
        let before = wrapped_rows(&mut conn);
        let failing = FailsAfter {
            inner: LocalMasterKey::generate(),
            calls: Default::default(),
            fail_at: 3,
        };
        let err = rewrap_all(&mut conn, real.as_ref(), &failing).unwrap_err();
        assert!(err.to_string().contains("unreachable"), "{err}");
        assert_eq!(wrapped_rows(&mut conn), before, "all or nothing");

        let wrong = LocalMasterKey::generate();
        let err = rewrap_all(&mut conn, &wrong, &LocalMasterKey::generate()).unwrap_err();
        assert!(err.to_string().contains("could not unwrap key"), "{err}");
        assert_eq!(wrapped_rows(&mut conn), before);
        let same = rewrap_all(&mut conn, real.as_ref(), real.as_ref()).unwrap_err();
        assert!(same.to_string().contains("nothing to re-wrap"), "{same}");
    }
}

//! Per-org data keys: stored wrapped in `org_keys`, unwrapped once per process and cached.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use uuid::Uuid;

use super::DbConnection;
use super::schema::org_keys;
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::now;
use crate::phi::{KeyKind, KeyWrapper, OrgKeys, WrappedKey};

pub struct KeyRing {
    wrapper: Arc<dyn KeyWrapper>,
    cache: RwLock<HashMap<Uuid, Arc<OrgKeys>>>,
}

#[derive(Queryable)]
struct KeyRow {
    kind: String,
    version: i32,
    wrapped: Vec<u8>,
}

impl KeyRing {
    pub fn new(wrapper: Arc<dyn KeyWrapper>) -> Self {
        KeyRing {
            wrapper,
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn wrapper(&self) -> &dyn KeyWrapper {
        self.wrapper.as_ref()
    }

    /// The org's keys, unwrapping them from the database on first use.
    pub fn keys(&self, conn: &mut DbConnection, org: OrgId) -> CoreResult<Arc<OrgKeys>> {
        if let Some(k) = self.cache.read().expect("key cache lock").get(&org.0) {
            return Ok(k.clone());
        }
        let rows: Vec<KeyRow> = org_keys::table
            .filter(org_keys::org_id.eq(org.as_str()))
            .select((org_keys::kind, org_keys::version, org_keys::wrapped))
            .load(conn)?;
        if rows.is_empty() {
            return Err(CoreError::NotFound {
                resource: "organization",
            });
        }
        let wrapped: Vec<WrappedKey> = rows
            .into_iter()
            .map(|r| WrappedKey {
                kind: if r.kind == "index" {
                    KeyKind::Index
                } else {
                    KeyKind::Data
                },
                version: r.version,
                wrapped: r.wrapped,
            })
            .collect();
        let keys = Arc::new(OrgKeys::from_wrapped(
            org.0,
            self.wrapper.as_ref(),
            &wrapped,
        )?);
        self.cache
            .write()
            .expect("key cache lock")
            .insert(org.0, keys.clone());
        Ok(keys)
    }

    /// Generate and store the first keys of a new org (inside the caller's transaction).
    pub fn create_org_keys(&self, conn: &mut DbConnection, org: OrgId) -> CoreResult<()> {
        let (keys, wrapped) = OrgKeys::generate(org.0, self.wrapper.as_ref())?;
        let created = now();
        for w in wrapped {
            diesel::insert_into(org_keys::table)
                .values((
                    org_keys::org_id.eq(org.as_str()),
                    org_keys::kind.eq(w.kind.as_str()),
                    org_keys::version.eq(w.version),
                    org_keys::wrapped.eq(&w.wrapped),
                    org_keys::wrapper_id.eq(self.wrapper.id()),
                    org_keys::created_at.eq(created),
                ))
                .execute(conn)?;
        }
        self.cache
            .write()
            .expect("key cache lock")
            .insert(org.0, Arc::new(keys));
        Ok(())
    }
}

/// Refuses to go on with a master key that did not wrap the stored keys, so a wrong key
/// fails at start-up with a clear message instead of on the first patient read.
pub fn check_master_key(conn: &mut DbConnection, wrapper: &dyn KeyWrapper) -> CoreResult<()> {
    let current = wrapper.id();
    let others: Vec<String> = org_keys::table
        .filter(org_keys::wrapper_id.ne(&current))
        .select(org_keys::wrapper_id)
        .distinct()
        .load(conn)?;
    if others.is_empty() {
        return Ok(());
    }
    Err(crate::phi::PhiError::MasterKey(format!(
        "the configured master key ({current}) did not wrap the stored keys (wrapped by {}); configure that master key, or move the keys with `revcycle keys rewrap` run with it",
        others.join(", ")
    ))
    .into())
}

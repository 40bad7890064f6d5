//! Per-org data keys: stored wrapped in `org_keys`, unwrapped once per process and cached.
//!
//! Another process (the CLI, another server) may add a data-key version. A cached entry older
//! than [`KEY_CHECK_SECS`] is checked against the newest stored version (one small query) and
//! reloaded if it is behind; a rotation waits [`ROTATION_PROPAGATION_SECS`] after adding a
//! version before rewriting any row, so every process can read new rows and writes new ones
//! under the new key by the time the rewrite starts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use uuid::Uuid;

use super::DbConnection;
use super::schema::org_keys;
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::now;
use crate::phi::{KeyKind, KeyWrapper, OrgKeys, WrappedKey};

/// How long a cached org key set is trusted before checking for a newer data-key version.
pub const KEY_CHECK_SECS: u64 = 2;
/// How long a rotation waits after adding a version (comfortably over `KEY_CHECK_SECS`).
pub const ROTATION_PROPAGATION_SECS: u64 = 3 * KEY_CHECK_SECS;

pub struct KeyRing {
    wrapper: Arc<dyn KeyWrapper>,
    cache: RwLock<HashMap<Uuid, (Arc<OrgKeys>, Instant)>>,
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

    /// The org's keys, unwrapping them from the database on first use, and again when another
    /// process has added a data-key version.
    pub fn keys(&self, conn: &mut DbConnection, org: OrgId) -> CoreResult<Arc<OrgKeys>> {
        let cached = self
            .cache
            .read()
            .expect("key cache lock")
            .get(&org.0)
            .cloned();
        if let Some((keys, checked)) = cached {
            if checked.elapsed() < Duration::from_secs(KEY_CHECK_SECS) {
                return Ok(keys);
            }
            let newest: Option<i32> = org_keys::table
                .filter(org_keys::org_id.eq(org.as_str()))
                .filter(org_keys::kind.eq("data"))
                .select(diesel::dsl::max(org_keys::version))
                .get_result(conn)?;
            if newest.is_none_or(|v| v <= keys.data_versions().max().unwrap_or(0)) {
                self.remember(org, keys.clone());
                return Ok(keys);
            }
        }
        self.load(conn, org)
    }

    fn remember(&self, org: OrgId, keys: Arc<OrgKeys>) {
        self.cache
            .write()
            .expect("key cache lock")
            .insert(org.0, (keys, Instant::now()));
    }

    fn load(&self, conn: &mut DbConnection, org: OrgId) -> CoreResult<Arc<OrgKeys>> {
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
        self.remember(org, keys.clone());
        Ok(keys)
    }

    /// Adds a data-key version (inside the caller's transaction), makes it active for this
    /// process at once, and returns it.
    pub fn add_data_version(&self, conn: &mut DbConnection, org: OrgId) -> CoreResult<i32> {
        let mut keys = (*self.load(conn, org)?).clone();
        let w = keys.add_data_version(self.wrapper.as_ref())?;
        self.store(conn, org, &w)?;
        self.remember(org, Arc::new(keys));
        Ok(w.version)
    }

    fn store(&self, conn: &mut DbConnection, org: OrgId, w: &WrappedKey) -> CoreResult<()> {
        diesel::insert_into(org_keys::table)
            .values((
                org_keys::org_id.eq(org.as_str()),
                org_keys::kind.eq(w.kind.as_str()),
                org_keys::version.eq(w.version),
                org_keys::wrapped.eq(&w.wrapped),
                org_keys::wrapper_id.eq(self.wrapper.id()),
                org_keys::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Generate and store the first keys of a new org (inside the caller's transaction).
    pub fn create_org_keys(&self, conn: &mut DbConnection, org: OrgId) -> CoreResult<()> {
        let (keys, wrapped) = OrgKeys::generate(org.0, self.wrapper.as_ref())?;
        for w in &wrapped {
            self.store(conn, org, w)?;
        }
        self.remember(org, Arc::new(keys));
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

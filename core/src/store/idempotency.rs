//! `Idempotency-Key` on POST: the first response for a key is stored in the same transaction
//! as the write it describes, so a retry replays it and a concurrent duplicate cannot write
//! twice (its insert of the key fails and its transaction rolls back). Stored responses can
//! hold PHI, so their bodies are encrypted like any other PHI column.

use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::encrypted::{EncryptedTable, Rotated, rotated, rotation_queries};
use super::schema::idempotency_keys;
use super::{DbConnection, KeyRing};
use crate::access::OrgId;
use crate::error::CoreResult;
use crate::model::common::now;
use crate::phi::OrgKeys;

const TABLE: &str = "idempotency_keys";

#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status_code: i32,
    pub response_body: String,
    pub resource_location: Option<String>,
}

/// Idempotency keys are client strings; the encryption context needs a row id, so derive one.
fn row_id(org: OrgId, key: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(org.0.as_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(b)
}

pub fn find(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    key: &str,
) -> CoreResult<Option<StoredResponse>> {
    let row: Option<(String, i32, Vec<u8>, Option<String>)> = idempotency_keys::table
        .filter(idempotency_keys::org_id.eq(org.as_str()))
        .filter(idempotency_keys::idem_key.eq(key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status_code,
            idempotency_keys::response_body,
            idempotency_keys::resource_location,
        ))
        .get_result(conn)
        .optional()?;
    let Some((request_hash, status_code, ct, resource_location)) = row else {
        return Ok(None);
    };
    let keys = keyring.keys(conn, org)?;
    let c = RowCrypt::new(&keys, org, TABLE, row_id(org, key));
    Ok(Some(StoredResponse {
        request_hash,
        status_code,
        response_body: c.dec("response_body", &ct)?,
        resource_location,
    }))
}

pub fn store(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    key: &str,
    resp: &StoredResponse,
) -> CoreResult<()> {
    let keys = keyring.keys(conn, org)?;
    let c = RowCrypt::new(&keys, org, TABLE, row_id(org, key));
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::org_id.eq(org.as_str()),
            idempotency_keys::idem_key.eq(key),
            idempotency_keys::request_hash.eq(&resp.request_hash),
            idempotency_keys::status_code.eq(resp.status_code),
            idempotency_keys::response_body.eq(c.enc("response_body", &resp.response_body)),
            idempotency_keys::resource_location.eq(&resp.resource_location),
            idempotency_keys::created_at.eq(now()),
            idempotency_keys::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A stored response as key rotation reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct SealedResponse {
    idem_key: String,
    response_body: Vec<u8>,
    key_version: i32,
}

/// Key rotation: stored response bodies are re-encrypted.
pub(crate) const ROTATION: Rotated = rotated::<SealedResponse>();

impl EncryptedTable for SealedResponse {
    rotation_queries!(idempotency_keys, idem_key, SealedResponse);

    fn rewrite(self, conn: &mut DbConnection, keys: &OrgKeys, org: OrgId) -> CoreResult<usize> {
        let c = RowCrypt::new(keys, org, TABLE, row_id(org, &self.idem_key));
        let body = c.reencrypted("response_body", self.response_body)?;
        Ok(diesel::update(
            idempotency_keys::table
                .filter(idempotency_keys::org_id.eq(org.as_str()))
                .filter(idempotency_keys::idem_key.eq(&self.idem_key))
                .filter(idempotency_keys::key_version.eq(self.key_version)),
        )
        .set((
            idempotency_keys::response_body.eq(body),
            idempotency_keys::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?)
    }
}

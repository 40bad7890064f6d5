//! Field encryption for one row: binds every ciphertext to org, table, column and row id.

use uuid::Uuid;

use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::phi::{FieldContext, OrgKeys};

pub(crate) struct RowCrypt<'a> {
    keys: &'a OrgKeys,
    org: OrgId,
    table: &'static str,
    row: Uuid,
}

impl<'a> RowCrypt<'a> {
    /// The fields of the row `row` of `table` in `org`.
    pub fn new(keys: &'a OrgKeys, org: OrgId, table: &'static str, row: Uuid) -> RowCrypt<'a> {
        RowCrypt {
            keys,
            org,
            table,
            row,
        }
    }

    fn ctx<'c>(&self, column: &'c str) -> FieldContext<'c>
    where
        'static: 'c,
    {
        FieldContext {
            org: self.org.0,
            table: self.table,
            column,
            row: self.row,
        }
    }

    pub fn enc(&self, column: &'static str, plaintext: &str) -> Vec<u8> {
        self.keys.encrypt_field(&self.ctx(column), plaintext)
    }

    pub fn enc_opt(&self, column: &'static str, plaintext: Option<&str>) -> Option<Vec<u8>> {
        plaintext.map(|p| self.enc(column, p))
    }

    pub fn enc_json<T: serde::Serialize>(&self, column: &'static str, value: &T) -> Vec<u8> {
        self.enc(column, &super::to_json(value))
    }

    /// For rotation: the value under the active key (re-encrypted, or as it was if it already
    /// is).
    pub fn reencrypted(&self, column: &'static str, ct: Vec<u8>) -> CoreResult<Vec<u8>> {
        Ok(self
            .keys
            .reencrypt_field(&self.ctx(column), &ct)?
            .unwrap_or(ct))
    }

    pub fn dec(&self, column: &'static str, ct: &[u8]) -> CoreResult<String> {
        Ok(self.keys.decrypt_field(&self.ctx(column), ct)?)
    }

    pub fn dec_opt(&self, column: &'static str, ct: Option<&[u8]>) -> CoreResult<Option<String>> {
        ct.map(|c| self.dec(column, c)).transpose()
    }

    pub fn dec_json<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
        ct: &[u8],
    ) -> CoreResult<T> {
        let text = self.dec(column, ct)?;
        serde_json::from_str(&text)
            .map_err(|_| CoreError::Internal(format!("decrypted {column} does not parse")))
    }
}

//! Per-organisation keys: versioned data keys for field encryption and one
//! index key for blind indexes, stored wrapped by the master key.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use super::envelope::{self, FieldContext, envelope_version, fill_random, put_lp};
use super::error::PhiError;
use super::master_key::KeyWrapper;

/// Version under which the (single) index key is wrapped.
pub const INDEX_KEY_VERSION: i32 = 1;

/// Domain separation tag at the start of every key-wrapping AAD.
const WRAP_AAD_DOMAIN: &[u8] = b"revcycle/key/v1";

/// What a stored key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    Data,
    Index,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Data => "data",
            KeyKind::Index => "index",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyKind {
    type Err = PhiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "data" => Ok(KeyKind::Data),
            "index" => Ok(KeyKind::Index),
            other => Err(PhiError::KeyUnwrap(format!("unknown key kind {other:?}"))),
        }
    }
}

/// Canonical AAD for wrapping a key: a wrapped key copied to another
/// organisation, kind or version fails to unwrap.
pub fn wrap_aad(org: Uuid, kind: KeyKind, version: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 * 3 + WRAP_AAD_DOMAIN.len() + 16 + 5 + 4);
    put_lp(&mut out, WRAP_AAD_DOMAIN);
    put_lp(&mut out, org.as_bytes());
    put_lp(&mut out, kind.as_str().as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out
}

/// A key as stored in the database (wrapped by the master key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kind: KeyKind,
    pub version: i32,
    pub wrapped: Vec<u8>,
}

fn random_key() -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    fill_random(&mut key[..]);
    key
}

/// One version of an organisation's AES-256-GCM field key.
#[derive(Clone)]
pub struct DataKey {
    version: i32,
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(v{}, [redacted])", self.version)
    }
}

impl DataKey {
    /// A fresh random key.
    ///
    /// # Panics
    /// If `version < 1` (versions start at 1).
    pub fn generate(version: i32) -> Self {
        assert!(version >= 1, "data key versions start at 1");
        DataKey {
            version,
            key: random_key(),
        }
    }

    pub(crate) fn from_bytes(version: i32, key: Zeroizing<[u8; 32]>) -> Self {
        DataKey { version, key }
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    /// Encrypts into the envelope format (see [`super::envelope`]).
    pub fn encrypt(&self, ctx: &FieldContext<'_>, plaintext: &[u8]) -> Vec<u8> {
        envelope::seal(&self.key, self.version, ctx, plaintext)
    }

    /// Decrypts an envelope written by this key for `ctx`. An envelope of
    /// another version gives [`PhiError::UnknownKeyVersion`].
    pub fn decrypt(
        &self,
        ctx: &FieldContext<'_>,
        ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PhiError> {
        envelope::open(&self.key, self.version, ctx, ct)
    }

    /// Wraps this key for storage.
    pub fn wrap(&self, org: Uuid, wrapper: &dyn KeyWrapper) -> Result<WrappedKey, PhiError> {
        Ok(WrappedKey {
            kind: KeyKind::Data,
            version: self.version,
            wrapped: wrapper.wrap(&self.key, &wrap_aad(org, KeyKind::Data, self.version))?,
        })
    }
}

/// What a blind index is computed for; part of the HMAC input so equal
/// inputs for different purposes give unrelated indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexPurpose {
    Mrn,
    FamilyNameDob,
    Ssn4,
    MemberId,
    /// A record's identity in a feeding system (source system, type, external id).
    ExternalRecord,
    /// The content of an imported record, to tell "unchanged" from "updated".
    ImportedContent,
}

impl IndexPurpose {
    /// Domain tag fed to the HMAC (never changes for a given purpose).
    pub fn tag(self) -> &'static str {
        match self {
            IndexPurpose::Mrn => "revcycle/bidx/v1/mrn",
            IndexPurpose::FamilyNameDob => "revcycle/bidx/v1/family_name_dob",
            IndexPurpose::Ssn4 => "revcycle/bidx/v1/ssn4",
            IndexPurpose::MemberId => "revcycle/bidx/v1/member_id",
            IndexPurpose::ExternalRecord => "revcycle/bidx/v1/external_record",
            IndexPurpose::ImportedContent => "revcycle/bidx/v1/imported_content",
        }
    }
}

/// HMAC-SHA256 key for blind indexes (exact-match search on encrypted
/// fields). Inputs must be normalized first (see [`super::normalize`]).
///
/// Low-entropy inputs (SSN last 4, DOB) are only as safe as this key: anyone
/// holding it can enumerate them.
#[derive(Clone)]
pub struct IndexKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexKey([redacted])")
    }
}

impl IndexKey {
    pub fn generate() -> Self {
        IndexKey(random_key())
    }

    pub(crate) fn from_bytes(key: Zeroizing<[u8; 32]>) -> Self {
        IndexKey(key)
    }

    /// Lowercase hex of HMAC-SHA256(key, purpose tag || 0x1f || normalized).
    pub fn blind_index(&self, purpose: IndexPurpose, normalized: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0[..])
            .expect("HMAC accepts keys of any length");
        mac.update(purpose.tag().as_bytes());
        mac.update(&[0x1f]);
        mac.update(normalized.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Wraps this key for storage (version [`INDEX_KEY_VERSION`]).
    pub fn wrap(&self, org: Uuid, wrapper: &dyn KeyWrapper) -> Result<WrappedKey, PhiError> {
        Ok(WrappedKey {
            kind: KeyKind::Index,
            version: INDEX_KEY_VERSION,
            wrapped: wrapper.wrap(&self.0, &wrap_aad(org, KeyKind::Index, INDEX_KEY_VERSION))?,
        })
    }
}

/// An organisation's unwrapped key ring.
#[derive(Clone)]
pub struct OrgKeys {
    org: Uuid,
    active: i32,
    data: BTreeMap<i32, DataKey>,
    index: IndexKey,
}

impl fmt::Debug for OrgKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgKeys")
            .field("org", &self.org)
            .field("active", &self.active)
            .field("data_versions", &self.data.keys().collect::<Vec<_>>())
            .field("keys", &"[redacted]")
            .finish()
    }
}

fn zeroizing_into_string(
    mut bytes: Zeroizing<Vec<u8>>,
    ctx: &FieldContext<'_>,
) -> Result<String, PhiError> {
    String::from_utf8(std::mem::take(&mut *bytes)).map_err(|e| {
        e.into_bytes().zeroize();
        PhiError::decrypt(ctx.table, ctx.column)
    })
}

impl OrgKeys {
    /// New key ring for `org`: data key version 1 and an index key. Store
    /// the returned wrapped rows before encrypting anything.
    pub fn generate(
        org: Uuid,
        wrapper: &dyn KeyWrapper,
    ) -> Result<(OrgKeys, Vec<WrappedKey>), PhiError> {
        let data = DataKey::generate(1);
        let index = IndexKey::generate();
        let rows = vec![data.wrap(org, wrapper)?, index.wrap(org, wrapper)?];
        let keys = OrgKeys {
            org,
            active: 1,
            data: BTreeMap::from([(1, data)]),
            index,
        };
        Ok((keys, rows))
    }

    /// Unwraps stored rows: one or more data keys (the highest version is
    /// active) and exactly one index key.
    pub fn from_wrapped(
        org: Uuid,
        wrapper: &dyn KeyWrapper,
        rows: &[WrappedKey],
    ) -> Result<OrgKeys, PhiError> {
        let mut data = BTreeMap::new();
        let mut index = None;
        for row in rows {
            let (kind, version) = (row.kind, row.version);
            if version < 1 {
                return Err(PhiError::KeyUnwrap(format!(
                    "{kind} key row for org {org} has invalid version {version}"
                )));
            }
            let key = wrapper
                .unwrap(&row.wrapped, &wrap_aad(org, kind, version))
                .map_err(|e| match e {
                    PhiError::KeyUnwrap(why) => {
                        PhiError::KeyUnwrap(format!("{kind} key v{version} for org {org}: {why}"))
                    }
                    other => other,
                })?;
            match kind {
                KeyKind::Data => {
                    if data
                        .insert(version, DataKey::from_bytes(version, key))
                        .is_some()
                    {
                        return Err(PhiError::KeyUnwrap(format!(
                            "duplicate data key v{version} for org {org}"
                        )));
                    }
                }
                KeyKind::Index => {
                    if index.replace(IndexKey::from_bytes(key)).is_some() {
                        return Err(PhiError::KeyUnwrap(format!(
                            "more than one index key for org {org}"
                        )));
                    }
                }
            }
        }
        let active = *data
            .keys()
            .next_back()
            .ok_or_else(|| PhiError::KeyUnwrap(format!("no data key stored for org {org}")))?;
        let index = index
            .ok_or_else(|| PhiError::KeyUnwrap(format!("no index key stored for org {org}")))?;
        Ok(OrgKeys {
            org,
            active,
            data,
            index,
        })
    }

    pub fn org(&self) -> Uuid {
        self.org
    }

    /// Version used for new encryptions.
    pub fn active_version(&self) -> i32 {
        self.active
    }

    /// Loaded data-key versions, ascending.
    pub fn data_versions(&self) -> impl Iterator<Item = i32> + '_ {
        self.data.keys().copied()
    }

    fn active_key(&self) -> &DataKey {
        &self.data[&self.active]
    }

    /// Encrypts under the active data key. `ctx.org` must be this org.
    pub fn encrypt_field(&self, ctx: &FieldContext<'_>, plaintext: &str) -> Vec<u8> {
        debug_assert_eq!(ctx.org, self.org, "field context is for another org");
        self.active_key().encrypt(ctx, plaintext.as_bytes())
    }

    /// Decrypts with the data key named in the envelope.
    pub fn decrypt_field(&self, ctx: &FieldContext<'_>, ct: &[u8]) -> Result<String, PhiError> {
        zeroizing_into_string(self.decrypt_bytes(ctx, ct)?, ctx)
    }

    fn decrypt_bytes(
        &self,
        ctx: &FieldContext<'_>,
        ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PhiError> {
        let version = envelope_version(ct)?;
        let key = self
            .data
            .get(&version)
            .ok_or(PhiError::UnknownKeyVersion(version))?;
        if ctx.org != self.org {
            return Err(PhiError::decrypt(ctx.table, ctx.column));
        }
        key.decrypt(ctx, ct)
    }

    pub fn encrypt_opt(&self, ctx: &FieldContext<'_>, plaintext: Option<&str>) -> Option<Vec<u8>> {
        plaintext.map(|p| self.encrypt_field(ctx, p))
    }

    pub fn decrypt_opt(
        &self,
        ctx: &FieldContext<'_>,
        ct: Option<&[u8]>,
    ) -> Result<Option<String>, PhiError> {
        ct.map(|c| self.decrypt_field(ctx, c)).transpose()
    }

    /// For rotation: `None` if `ct` is already under the active key,
    /// otherwise the value re-encrypted under it.
    pub fn reencrypt_field(
        &self,
        ctx: &FieldContext<'_>,
        ct: &[u8],
    ) -> Result<Option<Vec<u8>>, PhiError> {
        if envelope_version(ct)? == self.active {
            return Ok(None);
        }
        let plaintext = self.decrypt_bytes(ctx, ct)?;
        Ok(Some(self.active_key().encrypt(ctx, &plaintext)))
    }

    /// Blind index of an already-normalized value.
    pub fn index(&self, purpose: IndexPurpose, normalized: &str) -> String {
        self.index.blind_index(purpose, normalized)
    }

    /// Generates data key version max+1, makes it active and returns its
    /// wrapped form. Persist the row before storing values encrypted with it.
    pub fn add_data_version(&mut self, wrapper: &dyn KeyWrapper) -> Result<WrappedKey, PhiError> {
        let next = self
            .data
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| PhiError::KeyUnwrap("data key version overflow".into()))?;
        let key = DataKey::generate(next);
        let row = key.wrap(self.org, wrapper)?;
        self.data.insert(next, key);
        self.active = next;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::super::envelope::{HEADER_LEN, MIN_ENVELOPE_LEN, TAG_LEN};
    use super::super::master_key::LocalMasterKey;
    use super::*;

    fn ctx(org: Uuid, row: Uuid) -> FieldContext<'static> {
        FieldContext::new(org, "patients", "family_name", row)
    }

    fn setup() -> (LocalMasterKey, OrgKeys, Vec<WrappedKey>, Uuid) {
        let mk = LocalMasterKey::generate();
        let org = Uuid::now_v7();
        let (keys, rows) = OrgKeys::generate(org, &mk).unwrap();
        (mk, keys, rows, org)
    }

    #[test]
    fn round_trip() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        for pt in ["", "O'Brien", "Zoë Ñúñez 李", &"x".repeat(10_000)] {
            let ct = keys.encrypt_field(&c, pt);
            assert_eq!(ct.len(), HEADER_LEN + pt.len() + TAG_LEN);
            assert_eq!(keys.decrypt_field(&c, &ct).unwrap(), pt);
        }
    }

    #[test]
    fn data_key_round_trip() {
        let org = Uuid::now_v7();
        let c = ctx(org, Uuid::now_v7());
        let dk = DataKey::generate(3);
        assert_eq!(dk.version(), 3);
        let ct = dk.encrypt(&c, b"1985-02-03");
        assert_eq!(&dk.decrypt(&c, &ct).unwrap()[..], b"1985-02-03");
        assert!(matches!(
            DataKey::generate(4).decrypt(&c, &ct),
            Err(PhiError::UnknownKeyVersion(3))
        ));
        assert!(matches!(
            DataKey::generate(3).decrypt(&c, &ct),
            Err(PhiError::Decrypt { .. })
        ));
    }

    #[test]
    fn context_binding() {
        let (mk, keys, rows, org) = setup();
        let row = Uuid::now_v7();
        let c = ctx(org, row);
        let ct = keys.encrypt_field(&c, "Smith");

        let is_decrypt_err = |r: Result<String, PhiError>, t: &str, col: &str| match r {
            Err(PhiError::Decrypt { table, column }) => table == t && column == col,
            _ => false,
        };
        let other_row = FieldContext {
            row: Uuid::now_v7(),
            ..c
        };
        assert!(is_decrypt_err(
            keys.decrypt_field(&other_row, &ct),
            "patients",
            "family_name"
        ));
        let other_col = FieldContext {
            column: "given_name",
            ..c
        };
        assert!(is_decrypt_err(
            keys.decrypt_field(&other_col, &ct),
            "patients",
            "given_name"
        ));
        let other_table = FieldContext {
            table: "guarantors",
            ..c
        };
        assert!(is_decrypt_err(
            keys.decrypt_field(&other_table, &ct),
            "guarantors",
            "family_name"
        ));
        let other_org = FieldContext {
            org: Uuid::now_v7(),
            ..c
        };
        assert!(is_decrypt_err(
            keys.decrypt_field(&other_org, &ct),
            "patients",
            "family_name"
        ));

        // Another org's keys (even with a matching context) cannot decrypt.
        let org2 = Uuid::now_v7();
        let (keys2, _) = OrgKeys::generate(org2, &mk).unwrap();
        assert!(is_decrypt_err(
            keys2.decrypt_field(&ctx(org2, row), &ct),
            "patients",
            "family_name"
        ));

        // A reloaded key ring decrypts.
        let reloaded = OrgKeys::from_wrapped(org, &mk, &rows).unwrap();
        assert_eq!(reloaded.decrypt_field(&c, &ct).unwrap(), "Smith");
    }

    #[test]
    fn tampering_fails() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        let ct = keys.encrypt_field(&c, "123-45-6789");
        for i in 0..ct.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = ct.clone();
                t[i] ^= bit;
                let r = keys.decrypt_field(&c, &t);
                match i {
                    0 => assert!(matches!(r, Err(PhiError::BadEnvelope(_)))),
                    1..5 => assert!(
                        matches!(
                            r,
                            Err(PhiError::UnknownKeyVersion(_) | PhiError::BadEnvelope(_))
                        ),
                        "{r:?}"
                    ),
                    _ => assert!(matches!(r, Err(PhiError::Decrypt { .. })), "byte {i}"),
                }
            }
        }
    }

    #[test]
    fn wrong_format_byte() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        let mut ct = keys.encrypt_field(&c, "x");
        for b in [0x00u8, 0x02, 0xff] {
            ct[0] = b;
            assert!(matches!(
                keys.decrypt_field(&c, &ct),
                Err(PhiError::BadEnvelope(_))
            ));
            assert!(matches!(
                envelope_version(&ct),
                Err(PhiError::BadEnvelope(_))
            ));
        }
    }

    #[test]
    fn truncated_input_never_panics() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        let ct = keys.encrypt_field(&c, "abcdefghijklmnop");
        for len in 0..30 {
            let r = keys.decrypt_field(&c, &ct[..len]);
            if len < MIN_ENVELOPE_LEN {
                assert!(matches!(r, Err(PhiError::BadEnvelope(_))), "len {len}");
            } else {
                assert!(matches!(r, Err(PhiError::Decrypt { .. })), "len {len}");
            }
            let _ = envelope_version(&ct[..len]);
        }
        for len in 30..ct.len() {
            assert!(keys.decrypt_field(&c, &ct[..len]).is_err());
        }
    }

    #[test]
    fn envelope_version_reads_version() {
        let (mk, mut keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        assert_eq!(envelope_version(&keys.encrypt_field(&c, "a")).unwrap(), 1);
        keys.add_data_version(&mk).unwrap();
        assert_eq!(envelope_version(&keys.encrypt_field(&c, "a")).unwrap(), 2);
    }

    #[test]
    fn nonces_are_random() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        let a = keys.encrypt_field(&c, "same");
        let b = keys.encrypt_field(&c, "same");
        assert_ne!(a, b);
        assert_ne!(a[5..HEADER_LEN], b[5..HEADER_LEN]);
    }

    #[test]
    fn invalid_utf8_is_decrypt_error() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        let ct = keys.data[&1].encrypt(&c, &[0xff, 0xfe]);
        assert!(matches!(
            keys.decrypt_field(&c, &ct),
            Err(PhiError::Decrypt { .. })
        ));
    }

    #[test]
    fn optional_values() {
        let (_, keys, _, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        assert_eq!(keys.encrypt_opt(&c, None), None);
        assert_eq!(keys.decrypt_opt(&c, None).unwrap(), None);
        let ct = keys.encrypt_opt(&c, Some("555-0100")).unwrap();
        assert_eq!(
            keys.decrypt_opt(&c, Some(&ct)).unwrap().as_deref(),
            Some("555-0100")
        );
    }

    #[test]
    fn wrapped_keys_bound_to_org_kind_version() {
        let mk = LocalMasterKey::generate();
        let org = Uuid::now_v7();
        let key = [42u8; 32];
        let w = mk.wrap(&key, &wrap_aad(org, KeyKind::Data, 1)).unwrap();
        assert_eq!(
            *mk.unwrap(&w, &wrap_aad(org, KeyKind::Data, 1)).unwrap(),
            key
        );
        for aad in [
            wrap_aad(Uuid::now_v7(), KeyKind::Data, 1),
            wrap_aad(org, KeyKind::Index, 1),
            wrap_aad(org, KeyKind::Data, 2),
        ] {
            assert!(matches!(mk.unwrap(&w, &aad), Err(PhiError::KeyUnwrap(_))));
        }
    }

    #[test]
    fn from_wrapped_rejects_moved_rows() {
        let (mk, _, rows, org) = setup();
        // Rows of org A presented for org B.
        let err = OrgKeys::from_wrapped(Uuid::now_v7(), &mk, &rows).unwrap_err();
        assert!(matches!(err, PhiError::KeyUnwrap(_)));
        // Kind swapped.
        let mut swapped = rows.clone();
        swapped[0].kind = KeyKind::Index;
        swapped[1].kind = KeyKind::Data;
        assert!(matches!(
            OrgKeys::from_wrapped(org, &mk, &swapped),
            Err(PhiError::KeyUnwrap(_))
        ));
        // Version changed.
        let mut bumped = rows.clone();
        bumped[0].version = 2;
        assert!(matches!(
            OrgKeys::from_wrapped(org, &mk, &bumped),
            Err(PhiError::KeyUnwrap(_))
        ));
        // Wrong master key.
        let other = LocalMasterKey::generate();
        assert!(matches!(
            OrgKeys::from_wrapped(org, &other, &rows),
            Err(PhiError::KeyUnwrap(_))
        ));
        // Missing pieces / duplicates.
        assert!(OrgKeys::from_wrapped(org, &mk, &rows[..1]).is_err());
        assert!(OrgKeys::from_wrapped(org, &mk, &rows[1..]).is_err());
        let dup = [rows.clone(), rows[..1].to_vec()].concat();
        assert!(OrgKeys::from_wrapped(org, &mk, &dup).is_err());
        let mut zero = rows.clone();
        zero[0].version = 0;
        assert!(OrgKeys::from_wrapped(org, &mk, &zero).is_err());
    }

    #[test]
    fn blind_index_properties() {
        let (mk, keys, rows, org) = setup();
        let a = keys.index(IndexPurpose::Mrn, "A12345");
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(a, keys.index(IndexPurpose::Mrn, "A12345"));
        // Same key after reload.
        let reloaded = OrgKeys::from_wrapped(org, &mk, &rows).unwrap();
        assert_eq!(a, reloaded.index(IndexPurpose::Mrn, "A12345"));
        // Different key.
        let (other, _) = OrgKeys::generate(org, &mk).unwrap();
        assert_ne!(a, other.index(IndexPurpose::Mrn, "A12345"));
        // Different purposes.
        let all = [
            IndexPurpose::Mrn,
            IndexPurpose::FamilyNameDob,
            IndexPurpose::Ssn4,
            IndexPurpose::MemberId,
        ]
        .map(|p| keys.index(p, "1234"));
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
        // Different values.
        assert_ne!(a, keys.index(IndexPurpose::Mrn, "A12346"));
    }

    #[test]
    fn blind_index_known_answer() {
        let key = IndexKey::from_bytes(Zeroizing::new([0u8; 32]));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0u8; 32]).unwrap();
        mac.update(b"revcycle/bidx/v1/ssn4\x1f6789");
        assert_eq!(
            key.blind_index(IndexPurpose::Ssn4, "6789"),
            hex::encode(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn rotation_two_versions() {
        let (mk, mut keys, mut rows, org) = setup();
        let c = ctx(org, Uuid::now_v7());
        let old = keys.encrypt_field(&c, "old value");
        rows.push(keys.add_data_version(&mk).unwrap());
        assert_eq!(rows.last().unwrap().version, 2);
        assert_eq!(keys.active_version(), 2);
        let new = keys.encrypt_field(&c, "new value");
        assert_eq!(envelope_version(&new).unwrap(), 2);

        // Reload from storage: active = highest version, both readable.
        let ring = OrgKeys::from_wrapped(org, &mk, &rows).unwrap();
        assert_eq!(ring.active_version(), 2);
        assert_eq!(ring.data_versions().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(ring.decrypt_field(&c, &old).unwrap(), "old value");
        assert_eq!(ring.decrypt_field(&c, &new).unwrap(), "new value");
        assert_eq!(envelope_version(&ring.encrypt_field(&c, "x")).unwrap(), 2);

        // Rotation helper.
        let re = ring.reencrypt_field(&c, &old).unwrap().unwrap();
        assert_eq!(envelope_version(&re).unwrap(), 2);
        assert_eq!(ring.decrypt_field(&c, &re).unwrap(), "old value");
        assert_eq!(ring.reencrypt_field(&c, &new).unwrap(), None);

        // A ring missing version 2 reports it.
        let v1_only = OrgKeys::from_wrapped(org, &mk, &rows[..2]).unwrap();
        assert!(matches!(
            v1_only.decrypt_field(&c, &new),
            Err(PhiError::UnknownKeyVersion(2))
        ));
    }

    #[test]
    fn debug_has_no_key_bytes() {
        let raw = [0x3cu8; 32];
        let dk = DataKey::from_bytes(1, Zeroizing::new(raw));
        let ik = IndexKey::from_bytes(Zeroizing::new(raw));
        let ring = OrgKeys {
            org: Uuid::nil(),
            active: 1,
            data: BTreeMap::from([(1, dk.clone())]),
            index: ik.clone(),
        };
        for dbg in [
            format!("{dk:?}"),
            format!("{ik:?}"),
            format!("{ring:?}"),
            format!("{ring:#?}"),
        ] {
            assert!(dbg.contains("[redacted]"), "{dbg}");
            assert!(!dbg.contains(&hex::encode(raw)), "{dbg}");
            assert!(!dbg.contains("60, 60"), "{dbg}");
            assert!(!dbg.contains("3c3c"), "{dbg}");
        }
    }

    #[test]
    fn key_kind_strings() {
        assert_eq!(KeyKind::Data.as_str(), "data");
        assert_eq!(KeyKind::Index.as_str(), "index");
        assert_eq!("data".parse::<KeyKind>().unwrap(), KeyKind::Data);
        assert_eq!("index".parse::<KeyKind>().unwrap(), KeyKind::Index);
        assert!("other".parse::<KeyKind>().is_err());
    }

    #[test]
    #[should_panic(expected = "versions start at 1")]
    fn data_key_version_zero_panics() {
        DataKey::generate(0);
    }
}

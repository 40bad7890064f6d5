//! Field ciphertext envelope.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! [0x01 format][u32 key version][12-byte random nonce][ciphertext || 16-byte GCM tag]
//! ```
//!
//! The AES-GCM associated data is [`FieldContext::aad`] followed by the first
//! five header bytes (format and key version), so a ciphertext only decrypts
//! for the organisation, table, column and row it was written for, and the
//! header cannot be edited without detection.

use aes_gcm::aead::{AeadInOut, Key, Nonce, Tag};
use aes_gcm::{Aes256Gcm, KeyInit};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::error::PhiError;

/// Format byte of the current envelope layout.
pub const FORMAT_V1: u8 = 0x01;
/// AES-GCM nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Format byte + key version + nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// Shortest valid envelope (empty plaintext).
pub const MIN_ENVELOPE_LEN: usize = HEADER_LEN + TAG_LEN;

/// Domain separation tag at the start of every field AAD.
const FIELD_AAD_DOMAIN: &[u8] = b"revcycle/field/v1";

/// Where an encrypted value lives. Bound into the ciphertext as AAD, so a value
/// copied to another org, table, column or row no longer decrypts.
///
/// `table` and `column` are the logical names (stable across SQLite and
/// PostgreSQL); renaming them requires re-encrypting the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldContext<'a> {
    pub org: Uuid,
    pub table: &'a str,
    pub column: &'a str,
    pub row: Uuid,
}

impl<'a> FieldContext<'a> {
    pub fn new(org: Uuid, table: &'a str, column: &'a str, row: Uuid) -> Self {
        FieldContext {
            org,
            table,
            column,
            row,
        }
    }

    /// Canonical, unambiguous encoding: the domain tag, then org, table,
    /// column and row, each prefixed by its length as a u64 big-endian.
    pub fn aad(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            8 * 5 + FIELD_AAD_DOMAIN.len() + 16 + self.table.len() + self.column.len() + 16 + 5,
        );
        put_lp(&mut out, FIELD_AAD_DOMAIN);
        put_lp(&mut out, self.org.as_bytes());
        put_lp(&mut out, self.table.as_bytes());
        put_lp(&mut out, self.column.as_bytes());
        put_lp(&mut out, self.row.as_bytes());
        out
    }
}

/// Appends `bytes` prefixed with its length (u64 big-endian).
pub(crate) fn put_lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Fills `buf` from the operating system CSPRNG.
///
/// # Panics
/// If the OS random source fails; there is no safe way to continue
/// generating keys or nonces without it.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        panic!("operating system random number generator failed: {e}");
    }
}

/// Builds an AES-256-GCM instance without copying the key out of its
/// zeroizing container.
pub(crate) fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    let key: &Key<Aes256Gcm> = key.into();
    Aes256Gcm::new(key)
}

/// Parsed view of an envelope.
struct Parsed<'a> {
    version: i32,
    header: &'a [u8],
    nonce: &'a [u8],
    body: &'a [u8],
    tag: &'a [u8],
}

fn parse(ct: &[u8]) -> Result<Parsed<'_>, PhiError> {
    let Some(&format) = ct.first() else {
        return Err(PhiError::BadEnvelope("empty value"));
    };
    if format != FORMAT_V1 {
        return Err(PhiError::BadEnvelope("unsupported format byte"));
    }
    if ct.len() < MIN_ENVELOPE_LEN {
        return Err(PhiError::BadEnvelope("truncated value"));
    }
    let raw = u32::from_be_bytes([ct[1], ct[2], ct[3], ct[4]]);
    let version = match i32::try_from(raw) {
        Ok(v) if v >= 1 => v,
        _ => return Err(PhiError::BadEnvelope("key version out of range")),
    };
    let (body, tag) = ct[HEADER_LEN..].split_at(ct.len() - HEADER_LEN - TAG_LEN);
    Ok(Parsed {
        version,
        header: &ct[..5],
        nonce: &ct[5..HEADER_LEN],
        body,
        tag,
    })
}

/// Reads the data-key version of an envelope without decrypting it (used to
/// pick the key, and by rotation to find values still under an old key).
pub fn envelope_version(ct: &[u8]) -> Result<i32, PhiError> {
    parse(ct).map(|p| p.version)
}

fn sealed_aad(ctx: &FieldContext<'_>, header: &[u8]) -> Vec<u8> {
    let mut aad = ctx.aad();
    aad.extend_from_slice(header);
    aad
}

/// Encrypts `plaintext` for `ctx` under `key` (data-key `version`).
///
/// # Panics
/// If `version < 1`, or for plaintexts beyond AES-GCM's 64 GiB limit.
pub(crate) fn seal(
    key: &[u8; 32],
    version: i32,
    ctx: &FieldContext<'_>,
    plaintext: &[u8],
) -> Vec<u8> {
    let version = u32::try_from(version)
        .ok()
        .filter(|v| *v >= 1)
        .expect("data key versions start at 1");
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);

    // Capacity is reserved up front so the buffer never reallocates and no
    // stray copy of the plaintext is left in freed memory.
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);

    let aad = sealed_aad(ctx, &out[..5]);
    let tag = cipher(key)
        .encrypt_inout_detached(
            &Nonce::<Aes256Gcm>::from(nonce),
            &aad,
            (&mut out[HEADER_LEN..]).into(),
        )
        .expect("field value exceeds AES-GCM length limit");
    out.extend_from_slice(&tag);
    out
}

/// Decrypts an envelope for `ctx` under `key`; `version` is the version of
/// `key`, checked against the envelope header.
pub(crate) fn open(
    key: &[u8; 32],
    version: i32,
    ctx: &FieldContext<'_>,
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PhiError> {
    let p = parse(ct)?;
    if p.version != version {
        return Err(PhiError::UnknownKeyVersion(p.version));
    }
    let nonce: &Nonce<Aes256Gcm> = p
        .nonce
        .try_into()
        .map_err(|_| PhiError::BadEnvelope("bad nonce length"))?;
    let tag: &Tag<Aes256Gcm> = p
        .tag
        .try_into()
        .map_err(|_| PhiError::BadEnvelope("bad tag length"))?;
    let aad = sealed_aad(ctx, p.header);
    let mut buf = Zeroizing::new(p.body.to_vec());
    cipher(key)
        .decrypt_inout_detached(nonce, &aad, buf.as_mut_slice().into(), tag)
        .map_err(|_| PhiError::decrypt(ctx.table, ctx.column))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> [u8; 32] {
        let mut k = [0u8; 32];
        fill_random(&mut k);
        k
    }

    fn ctx() -> FieldContext<'static> {
        FieldContext::new(Uuid::now_v7(), "patients", "family_name", Uuid::now_v7())
    }

    #[test]
    fn round_trip_and_layout() {
        let (k, c) = (key(), ctx());
        let ct = seal(&k, 7, &c, b"O'Brien");
        assert_eq!(ct.len(), HEADER_LEN + 7 + TAG_LEN);
        assert_eq!(ct[0], FORMAT_V1);
        assert_eq!(&ct[1..5], &7u32.to_be_bytes());
        assert_eq!(envelope_version(&ct).unwrap(), 7);
        assert_eq!(&open(&k, 7, &c, &ct).unwrap()[..], b"O'Brien");
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let (k, c) = (key(), ctx());
        let ct = seal(&k, 1, &c, b"");
        assert_eq!(ct.len(), MIN_ENVELOPE_LEN);
        assert!(open(&k, 1, &c, &ct).unwrap().is_empty());
    }

    #[test]
    fn aad_is_unambiguous() {
        let org = Uuid::now_v7();
        let row = Uuid::now_v7();
        let a = FieldContext::new(org, "ab", "c", row).aad();
        let b = FieldContext::new(org, "a", "bc", row).aad();
        assert_ne!(a, b);
        assert!(a.starts_with(&(FIELD_AAD_DOMAIN.len() as u64).to_be_bytes()));
    }

    #[test]
    fn header_is_authenticated() {
        let (k, c) = (key(), ctx());
        let mut ct = seal(&k, 1, &c, b"x");
        // Changing the version is caught before decryption ...
        ct[4] = 2;
        assert!(matches!(
            open(&k, 1, &c, &ct),
            Err(PhiError::UnknownKeyVersion(2))
        ));
        // ... and even when the caller is fooled into using the same key.
        assert!(matches!(
            open(&k, 2, &c, &ct),
            Err(PhiError::Decrypt { .. })
        ));
    }

    #[test]
    fn bad_versions_rejected() {
        let (k, c) = (key(), ctx());
        let mut ct = seal(&k, 1, &c, b"x");
        ct[1..5].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            envelope_version(&ct),
            Err(PhiError::BadEnvelope(_))
        ));
        ct[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            envelope_version(&ct),
            Err(PhiError::BadEnvelope(_))
        ));
    }

    #[test]
    #[should_panic(expected = "versions start at 1")]
    fn seal_rejects_version_zero() {
        seal(&key(), 0, &ctx(), b"x");
    }
}

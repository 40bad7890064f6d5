//! Master key: wraps (encrypts) the per-organisation data and index keys
//! that are stored in the database.
//!
//! [`LocalMasterKey`] keeps the key in a file or environment variable;
//! [`super::AwsKms`] keeps it in AWS KMS, behind the same [`KeyWrapper`] trait.
//! Generate a key for the environment with e.g. `openssl rand -base64 32`.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::envelope::{NONCE_LEN, TAG_LEN, cipher, fill_random};
use super::error::PhiError;

/// Wraps and unwraps 32-byte data/index keys. `aad` binds a wrapped key to
/// where it belongs (see [`super::wrap_aad`]); unwrapping with a different
/// `aad` must fail.
pub trait KeyWrapper: Send + Sync {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>, PhiError>;
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>, PhiError>;
    /// Non-secret identifier of the wrapping key (logged, stored next to
    /// wrapped keys to detect a wrong master key early).
    fn id(&self) -> String;
}

/// Format byte of keys wrapped by [`LocalMasterKey`].
const WRAP_FORMAT_V1: u8 = 0x01;
/// `format || nonce || ciphertext(32) || tag`.
const WRAPPED_LEN: usize = 1 + NONCE_LEN + 32 + TAG_LEN;
/// Larger files are certainly not a master key file.
const MAX_FILE_LEN: usize = 1024;

/// A 256-bit AES-GCM master key held in process memory (wiped on drop).
pub struct LocalMasterKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for LocalMasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalMasterKey({}, [redacted])", self.id())
    }
}

impl LocalMasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        fill_random(&mut key[..]);
        LocalMasterKey { key }
    }

    /// Parses standard (padded) base64 of exactly 32 bytes. Surrounding
    /// whitespace is ignored. Errors never echo the input.
    pub fn from_base64(s: &str) -> Result<Self, PhiError> {
        parse_base64(s)
            .map(|key| LocalMasterKey { key })
            .map_err(|why| PhiError::MasterKey(format!("master key {why}")))
    }

    /// Reads the key from environment variable `var` (base64, see
    /// [`Self::from_base64`]).
    pub fn from_env(var: &str) -> Result<Self, PhiError> {
        let value = Zeroizing::new(std::env::var(var).map_err(|e| {
            PhiError::MasterKey(match e {
                std::env::VarError::NotPresent => format!("environment variable {var} is not set"),
                std::env::VarError::NotUnicode(_) => {
                    format!("environment variable {var} is not valid UTF-8")
                }
            })
        })?);
        parse_base64(&value)
            .map(|key| LocalMasterKey { key })
            .map_err(|why| PhiError::MasterKey(format!("environment variable {var} {why}")))
    }

    /// Loads an existing key file, refusing files readable or writable by
    /// group or others.
    pub fn load(path: &Path) -> Result<Self, PhiError> {
        let file = File::open(path).map_err(|e| {
            PhiError::MasterKey(if e.kind() == ErrorKind::NotFound {
                format!("master key file {} does not exist", path.display())
            } else {
                format!("cannot open master key file {}: {e}", path.display())
            })
        })?;
        Self::read_file(path, file)
    }

    /// Loads the key at `path`, or creates it (mode 0600, parent directory
    /// 0700 if missing) with a fresh random key. Returns `true` when created.
    ///
    /// Creation uses `O_CREAT|O_EXCL`, so two processes racing here end up
    /// with the same key, and the file is never group/world readable.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), PhiError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // No-op for an existing directory (its mode is left alone).
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| {
                    PhiError::MasterKey(format!(
                        "cannot create directory {} for the master key: {e}",
                        parent.display()
                    ))
                })?;
        }
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        let file = match created {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Self::load(path).map(|k| (k, false));
            }
            Err(e) => {
                return Err(PhiError::MasterKey(format!(
                    "cannot create master key file {}: {e}",
                    path.display()
                )));
            }
        };
        let key = Self::generate();
        if let Err(e) = key.write_to(file) {
            // Do not leave an empty or partial key file behind.
            let _ = std::fs::remove_file(path);
            return Err(PhiError::MasterKey(format!(
                "cannot write master key file {}: {e}",
                path.display()
            )));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Persist the directory entry; best effort.
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        Ok((key, true))
    }

    fn write_to(&self, mut file: File) -> std::io::Result<()> {
        // 44 base64 characters + '\n', in a buffer wiped on drop.
        let mut buf = Zeroizing::new([0u8; 45]);
        let n = STANDARD
            .encode_slice(&self.key[..], &mut buf[..44])
            .map_err(std::io::Error::other)?;
        debug_assert_eq!(n, 44);
        buf[44] = b'\n';
        file.write_all(&buf[..])?;
        file.sync_all()
    }

    fn read_file(path: &Path, file: File) -> Result<Self, PhiError> {
        let err =
            |why: String| PhiError::MasterKey(format!("master key file {}: {why}", path.display()));
        let meta = file.metadata().map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(err(format!(
                "is accessible by group or others (mode {mode:04o}); restrict it with `chmod 600`"
            )));
        }
        // Enough spare capacity that reading never reallocates (which would
        // leave an unwiped copy of the key behind).
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_FILE_LEN + 64));
        file.take(MAX_FILE_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err(e.to_string()))?;
        if buf.len() > MAX_FILE_LEN {
            return Err(err("too large to be a master key".into()));
        }
        let text = std::str::from_utf8(&buf).map_err(|_| err("is not valid UTF-8".into()))?;
        parse_base64(text)
            .map(|key| LocalMasterKey { key })
            .map_err(|why| err(why.into()))
    }
}

/// Decodes base64 of exactly 32 bytes into a wiped-on-drop array. The error
/// is a fixed phrase completing "master key ...", never the input.
fn parse_base64(s: &str) -> Result<Zeroizing<[u8; 32]>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is empty");
    }
    if s.len() > 64 {
        return Err("is too long: expected base64 of exactly 32 bytes");
    }
    let mut out = Zeroizing::new([0u8; 48]);
    let n = STANDARD
        .decode_slice(s, &mut out[..])
        .map_err(|_| "is not valid standard base64")?;
    if n != 32 {
        return Err("has the wrong length: expected base64 of exactly 32 bytes");
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    Ok(key)
}

fn wrap_gcm_aad(aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + aad.len());
    full.push(WRAP_FORMAT_V1);
    full.extend_from_slice(aad);
    full
}

impl KeyWrapper for LocalMasterKey {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>, PhiError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(key);
        let tag = cipher(&self.key)
            .encrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(nonce),
                &wrap_gcm_aad(aad),
                (&mut out[1 + NONCE_LEN..]).into(),
            )
            .map_err(|_| PhiError::KeyUnwrap("key wrapping failed".into()))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>, PhiError> {
        if wrapped.len() != WRAPPED_LEN {
            return Err(PhiError::KeyUnwrap(
                "wrapped key has the wrong length".into(),
            ));
        }
        if wrapped[0] != WRAP_FORMAT_V1 {
            return Err(PhiError::KeyUnwrap("unsupported wrapped key format".into()));
        }
        let nonce: &Nonce<Aes256Gcm> = wrapped[1..1 + NONCE_LEN]
            .try_into()
            .map_err(|_| PhiError::KeyUnwrap("bad nonce".into()))?;
        let tag: &Tag<Aes256Gcm> = wrapped[WRAPPED_LEN - TAG_LEN..]
            .try_into()
            .map_err(|_| PhiError::KeyUnwrap("bad tag".into()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&wrapped[1 + NONCE_LEN..WRAPPED_LEN - TAG_LEN]);
        cipher(&self.key)
            .decrypt_inout_detached(nonce, &wrap_gcm_aad(aad), (&mut key[..]).into(), tag)
            .map_err(|_| {
                PhiError::KeyUnwrap(
                    "authentication failed: wrong master key, or the wrapped key belongs to another organisation, kind or version".into(),
                )
            })?;
        Ok(key)
    }

    fn id(&self) -> String {
        let digest = Sha256::digest(&self.key[..]);
        format!("local:{}", hex::encode(&digest[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("phi-master-key-test-{}", uuid::Uuid::now_v7()))
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn wrap_round_trip_and_aad_binding() {
        let mk = LocalMasterKey::generate();
        let mut dk = [0u8; 32];
        fill_random(&mut dk);
        let w = mk.wrap(&dk, b"aad-1").unwrap();
        assert_eq!(w.len(), WRAPPED_LEN);
        assert_eq!(w[0], WRAP_FORMAT_V1);
        assert_eq!(*mk.unwrap(&w, b"aad-1").unwrap(), dk);
        assert!(matches!(
            mk.unwrap(&w, b"aad-2"),
            Err(PhiError::KeyUnwrap(_))
        ));
        // Random nonce: two wraps differ.
        assert_ne!(w, mk.wrap(&dk, b"aad-1").unwrap());
        // Another master key cannot unwrap.
        let other = LocalMasterKey::generate();
        assert!(matches!(
            other.unwrap(&w, b"aad-1"),
            Err(PhiError::KeyUnwrap(_))
        ));
    }

    #[test]
    fn unwrap_rejects_malformed_without_panic() {
        let mk = LocalMasterKey::generate();
        let w = mk.wrap(&[7u8; 32], b"a").unwrap();
        for len in 0..w.len() {
            assert!(mk.unwrap(&w[..len], b"a").is_err());
        }
        for i in 0..w.len() {
            let mut t = w.clone();
            t[i] ^= 0x01;
            assert!(matches!(mk.unwrap(&t, b"a"), Err(PhiError::KeyUnwrap(_))));
        }
    }

    #[test]
    fn base64_parsing() {
        let raw = [0xabu8; 32];
        let b64 = STANDARD.encode(raw);
        let mk = LocalMasterKey::from_base64(&format!("  {b64}\n")).unwrap();
        assert_eq!(*mk.key, raw);
        assert!(LocalMasterKey::from_base64("").is_err());
        assert!(LocalMasterKey::from_base64("not base64!!").is_err());
        assert!(LocalMasterKey::from_base64(&STANDARD.encode([1u8; 31])).is_err());
        assert!(LocalMasterKey::from_base64(&STANDARD.encode([1u8; 33])).is_err());
        assert!(LocalMasterKey::from_base64(&STANDARD.encode([1u8; 200])).is_err());
        // Error text never echoes the input.
        let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw";
        let msg = LocalMasterKey::from_base64(secret).unwrap_err().to_string();
        assert!(!msg.contains(secret), "{msg}");
    }

    #[test]
    fn id_is_stable_and_short() {
        let mk = LocalMasterKey::from_base64(&STANDARD.encode([5u8; 32])).unwrap();
        let id = mk.id();
        assert!(id.starts_with("local:"));
        assert_eq!(id.len(), "local:".len() + 8);
        assert_eq!(
            id,
            LocalMasterKey::from_base64(&STANDARD.encode([5u8; 32]))
                .unwrap()
                .id()
        );
        assert_ne!(id, LocalMasterKey::generate().id());
    }

    #[test]
    fn debug_has_no_key_material() {
        let raw = [0x5au8; 32];
        let mk = LocalMasterKey::from_base64(&STANDARD.encode(raw)).unwrap();
        let dbg = format!("{mk:?}");
        assert!(dbg.contains("[redacted]"));
        assert!(!dbg.contains(&hex::encode(raw)));
        assert!(!dbg.contains(&STANDARD.encode(raw)));
        assert!(!dbg.contains("90, 90"), "{dbg}");
    }

    #[test]
    fn load_or_create_creates_0600_and_reloads() {
        let dir = temp_dir();
        let path = dir.join("nested").join("master.key");
        let (k1, created) = LocalMasterKey::load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 45);
        assert!(text.ends_with('\n'));

        let (k2, created) = LocalMasterKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(*k1.key, *k2.key);
        assert_eq!(k1.id(), k2.id());
        let w = k1.wrap(&[9u8; 32], b"x").unwrap();
        assert_eq!(*k2.unwrap(&w, b"x").unwrap(), [9u8; 32]);
        assert_eq!(*LocalMasterKey::load(&path).unwrap().key, *k1.key);

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_refuses_group_or_world_accessible_file() {
        let dir = temp_dir();
        let path = dir.join("master.key");
        LocalMasterKey::load_or_create(&path).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
            let err = LocalMasterKey::load_or_create(&path).unwrap_err();
            assert!(matches!(err, PhiError::MasterKey(_)), "{err:?}");
            assert!(err.to_string().contains("group or others"), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(LocalMasterKey::load(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_errors_do_not_leak_contents() {
        let dir = temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let bogus = "definitely-not-a-key-but-secretish";
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        f.write_all(bogus.as_bytes()).unwrap();
        drop(f);
        let err = LocalMasterKey::load(&path).unwrap_err();
        assert!(matches!(err, PhiError::MasterKey(_)));
        assert!(!err.to_string().contains(bogus));
        assert!(!format!("{err:?}").contains(bogus));

        let missing = LocalMasterKey::load(&dir.join("absent.key")).unwrap_err();
        assert!(missing.to_string().contains("does not exist"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn from_env_reads_variable() {
        let missing = LocalMasterKey::from_env("REVCYCLE_PHI_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert!(missing.to_string().contains("is not set"));
    }
}

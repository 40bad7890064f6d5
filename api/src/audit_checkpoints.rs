//! Signed checkpoints of each org's audit tree, published outside the database.
//!
//! - The Ed25519 signing key lives in a key file (created 0600 in a 0700 directory on first
//!   run, refused when group/world accessible, like the master key), never in the database: an
//!   administrator who rewrites the trail cannot sign a checkpoint for the rewrite.
//! - Checkpoints are published to a directory the operator chooses (a mount, a synced folder a
//!   compliance officer copies): `<dir>/<org id>/<tree size, 20 digits>` once per checkpoint,
//!   never overwritten (a second checkpoint of one size with another root is refused as a
//!   fork), and `<dir>/<org id>/latest`, replaced atomically. Files 0600, directories 0700.
//! - A checkpoint is made after `every_events` new events or `every_secs` after the trail
//!   grew, by a background thread of `serve` (`jobs::audit_checkpoints`), and on demand (`POST
//!   /v1/audit-events/checkpoint`, `revcycle audit checkpoint`).
//!
//! Any number of servers may publish to one directory: a checkpoint's signed note depends only
//! on the tree (Ed25519 signatures are deterministic), so two servers write identical files.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use revcycle_core::access::OrgId;
use revcycle_core::audit::SYSTEM_ORG;
use revcycle_core::audit::checkpoint::{Checkpoint, NoteSigner, NoteVerifier, origin};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::event::{AuditCheckpoint, EventData};
use revcycle_core::store::{DbConnection, audit_intake, audit_tree};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::config::CheckpointConfig;

/// Loads the signing key at `path`, or creates it (0600, directory 0700). The file holds the
/// key as Go's signed-note tools write one: `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
pub fn load_or_create_key(path: &Path, name: &str) -> CoreResult<NoteSigner> {
    let err = |why: String| {
        CoreError::Unavailable(format!("audit checkpoint key {}: {why}", path.display()))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| err(e.to_string()))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            let seed = NoteSigner::generate_seed();
            let signer = NoteSigner::from_seed(name, &seed).map_err(|e| err(e.to_string()))?;
            let mut typed = Zeroizing::new(vec![1u8]);
            typed.extend_from_slice(&seed[..]);
            let vkey = signer.verifier_key();
            let id = vkey.split('+').nth(1).unwrap_or_default();
            let text = Zeroizing::new(format!(
                "PRIVATE+KEY+{name}+{id}+{}\n",
                STANDARD.encode(&typed[..])
            ));
            if let Err(e) = file
                .write_all(text.as_bytes())
                .and_then(|_| file.sync_all())
            {
                let _ = std::fs::remove_file(path);
                return Err(err(e.to_string()));
            }
            Ok(signer)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => load_key(path),
        Err(e) => Err(err(e.to_string())),
    }
}

/// Loads an existing signing key file; refuses one group/world can access.
pub fn load_key(path: &Path) -> CoreResult<NoteSigner> {
    let err = |why: String| {
        CoreError::Unavailable(format!("audit checkpoint key {}: {why}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let meta = file.metadata().map_err(|e| err(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if mode & 0o077 != 0 {
        return Err(err(format!(
            "is accessible by group or others (mode {mode:04o}); restrict it with `chmod 600`"
        )));
    }
    let mut text = Zeroizing::new(String::new());
    file.take(512)
        .read_to_string(&mut text)
        .map_err(|e| err(e.to_string()))?;
    let bad = || err("is not a signed-note Ed25519 private key".into());
    let parts: Vec<&str> = text.trim().splitn(5, '+').collect();
    let ["PRIVATE", "KEY", name, _id, key] = parts.as_slice() else {
        return Err(bad());
    };
    let typed = Zeroizing::new(STANDARD.decode(key).map_err(|_| bad())?);
    if typed.len() != 33 || typed[0] != 1 {
        return Err(bad());
    }
    let seed = Zeroizing::new(<[u8; 32]>::try_from(&typed[1..]).map_err(|_| bad())?);
    NoteSigner::from_seed(name, &seed).map_err(|e| err(e.to_string()))
}

/// The published checkpoints of every org, in one directory.
#[derive(Debug, Clone)]
pub struct Publisher {
    dir: PathBuf,
}

impl Publisher {
    pub fn new(dir: impl Into<PathBuf>) -> Publisher {
        Publisher { dir: dir.into() }
    }

    fn org_dir(&self, org: Uuid) -> PathBuf {
        self.dir.join(org.to_string())
    }

    /// Every org with a published checkpoint.
    pub fn orgs(&self) -> CoreResult<Vec<Uuid>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(CoreError::Unavailable(format!(
                    "reading the checkpoint directory: {e}"
                )));
            }
        };
        let mut orgs: Vec<Uuid> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| Uuid::parse_str(&e.file_name().to_string_lossy()).ok())
            .filter(|o| self.org_dir(*o).join("latest").exists())
            .collect();
        orgs.sort();
        Ok(orgs)
    }

    /// The org's latest published signed note, if any.
    pub fn latest(&self, org: Uuid) -> CoreResult<Option<String>> {
        read_optional(&self.org_dir(org).join("latest"))
    }

    /// The org's published signed note of `size` leaves, if any.
    pub fn at(&self, org: Uuid, size: u64) -> CoreResult<Option<String>> {
        read_optional(&self.org_dir(org).join(format!("{size:020}")))
    }

    /// Publishes a signed note: its own file first (never overwritten: an existing one must be
    /// identical, or it is a fork), then `latest`, unless `latest` is already larger. Returns
    /// whether this call published it (false: it was published already, identical).
    pub fn publish(&self, org: Uuid, size: u64, note: &str) -> CoreResult<bool> {
        let io =
            |e: std::io::Error| CoreError::Unavailable(format!("publishing a checkpoint: {e}"));
        let dir = self.org_dir(org);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io)?;
        let tmp = dir.join(format!(".tmp-{}", Uuid::now_v7()));
        let write_tmp = |text: &str| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        let file = dir.join(format!("{size:020}"));
        write_tmp(note).map_err(io)?;
        // A hard link creates the name only if it is free, with the whole content at once.
        let linked = std::fs::hard_link(&tmp, &file);
        let _ = std::fs::remove_file(&tmp);
        let published = match linked {
            Ok(()) => true,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if std::fs::read_to_string(&file).map_err(io)? != note {
                    return Err(CoreError::Internal(format!(
                        "a different checkpoint of size {size} is already published for org {org}: the trail forked"
                    )));
                }
                false
            }
            Err(e) => return Err(io(e)),
        };
        let newer = self
            .latest(org)?
            .and_then(|n| size_of(&n))
            .is_some_and(|s| s > size);
        if !newer {
            write_tmp(note).map_err(io)?;
            std::fs::rename(&tmp, dir.join("latest")).map_err(io)?;
        }
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(published)
    }
}

fn read_optional(path: &Path) -> CoreResult<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoreError::Unavailable(format!(
            "reading a published checkpoint: {e}"
        ))),
    }
}

/// The tree size a signed note states (its second line), unverified.
pub fn size_of(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

/// What makes and publishes checkpoints.
pub struct Checkpointer {
    pub signer: NoteSigner,
    pub publisher: Publisher,
    pub name: String,
}

impl Checkpointer {
    pub fn open(config: &CheckpointConfig) -> CoreResult<Checkpointer> {
        Ok(Checkpointer {
            signer: load_or_create_key(&config.key_file, &config.name)?,
            publisher: Publisher::new(&config.dir),
            name: config.name.clone(),
        })
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::parse(&self.signer.verifier_key()).expect("our own key parses")
    }

    /// Chains what the org has waiting and grows its tree over it, then signs and publishes a checkpoint of its whole
    /// tree (unless that size is published already); returns the signed note, `None` for an
    /// empty trail.
    pub fn checkpoint(&self, conn: &mut DbConnection, org: Uuid) -> CoreResult<Option<String>> {
        audit_intake::settle(conn, org)?;
        audit_tree::follow(conn, org, None)?;
        let Some(tree) = audit_tree::head(conn, org)? else {
            return Ok(None);
        };
        if tree.size() == 0 {
            return Ok(None);
        }
        if let Some(note) = self.publisher.at(org, tree.size())? {
            return Ok(Some(note));
        }
        let cp = Checkpoint {
            origin: origin(&self.name, org),
            size: tree.size(),
            root: tree.root(),
        };
        let note = self.signer.sign(&cp);
        let published = self.publisher.publish(org, cp.size, &note)?;
        if published {
            tracing::info!(%org, size = cp.size, "audit checkpoint published");
        }
        // After the note is on disk: a receiver told of it can fetch it at once. The system
        // chain has no organization to tell.
        if published && org != SYSTEM_ORG {
            revcycle_core::workflows::events::announce(
                conn,
                OrgId(org),
                &EventData::AuditCheckpoint(AuditCheckpoint {
                    size: cp.size,
                    root: STANDARD.encode(cp.root),
                }),
            )?;
        }
        Ok(Some(note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_private_reloads_and_is_refused_when_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        // Enough keys that some base64 holds a '+', the key file's own separator.
        for i in 0..20 {
            let path = dir.path().join(format!("keys/k{i}"));
            let created = load_or_create_key(&path, "revcycle").unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let reloaded = load_or_create_key(&path, "revcycle").unwrap();
            assert_eq!(reloaded.verifier_key(), created.verifier_key());
        }
        let path = dir.path().join("keys/k0");
        for bad in [0o640, 0o604, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
            let err = load_key(&path).err().unwrap().to_string();
            assert!(err.contains("accessible by group or others"), "{err}");
        }
    }

    #[test]
    fn a_published_size_is_never_overwritten_with_another_root() {
        let dir = tempfile::tempdir().unwrap();
        let p = Publisher::new(dir.path());
        let org = Uuid::now_v7();
        assert!(p.publish(org, 5, "o\n5\na\n").unwrap());
        assert!(p.publish(org, 7, "o\n7\nb\n").unwrap());
        // Republishing the same note is harmless; a different one of that size is a fork.
        assert!(!p.publish(org, 5, "o\n5\na\n").unwrap());
        assert!(p.publish(org, 5, "o\n5\nc\n").is_err());
        assert_eq!(p.at(org, 5).unwrap().as_deref(), Some("o\n5\na\n"));
        // An older checkpoint does not replace a newer latest.
        assert_eq!(p.latest(org).unwrap().as_deref(), Some("o\n7\nb\n"));
        assert_eq!(p.orgs().unwrap(), vec![org]);
    }
}

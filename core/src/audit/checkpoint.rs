//! Signed checkpoints of an org's Merkle tree, in the C2SP formats that transparency logs use
//! (Go's checksum database, Sigstore, Sigsum), so their tools and witnesses read ours:
//!
//! - the checkpoint body (c2sp.org/tlog-checkpoint) is three lines: the origin (which log),
//!   the tree size in decimal, and the standard base64 of the root hash, each ending in `\n`;
//! - the signed note (c2sp.org/signed-note) is the body, an empty line, and one line per
//!   signature: `— <key name> <base64(key id || signature)>\n`, where the signature is
//!   Ed25519 over the body's bytes and the key id is the first 4 bytes of
//!   `SHA-256(key name || "\n" || 0x01 || public key)`;
//! - the verifier key is written `<key name>+<key id, 8 hex digits>+<base64(0x01 || public key)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::merkle::Hash;

/// The signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log: `<prefix>/audit/<org id>`.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a checkpoint: {0}")]
    Malformed(&'static str),
    #[error("no signature by key {0} verifies")]
    BadSignature(String),
    #[error("signing key: {0}")]
    Key(String),
}

/// The log origin of an org's audit trail.
pub fn origin(prefix: &str, org: uuid::Uuid) -> String {
    format!("{prefix}/audit/{org}")
}

/// A key name may not contain spaces, `+` or control characters (signed-note rule).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '+')
}

impl Checkpoint {
    /// The note text that is signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = text.split_terminator('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(CheckpointError::Malformed("no origin line"))?;
        let size = lines
            .next()
            .filter(|s| {
                s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0'))
            })
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(CheckpointError::Malformed(
                "the tree size is not a decimal number",
            ))?;
        let root = lines
            .next()
            .and_then(|r| STANDARD.decode(r).ok())
            .and_then(|r| <Hash>::try_from(r.as_slice()).ok())
            .ok_or(CheckpointError::Malformed(
                "the root hash is not base64 of 32 bytes",
            ))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Signs checkpoints with an Ed25519 key held outside the database.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<NoteSigner, CheckpointError> {
        if !valid_name(name) {
            return Err(CheckpointError::Key(
                "the key name must be non-empty, without spaces or '+'".into(),
            ));
        }
        Ok(NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// A fresh random seed (wiped on drop).
    pub fn generate_seed() -> Zeroizing<[u8; 32]> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut seed[..]).expect("the operating system's random source");
        seed
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key, as a signed-note verifier key.
    pub fn verifier_key(&self) -> String {
        let public = self.key.verifying_key();
        let mut typed = vec![ALG_ED25519];
        typed.extend_from_slice(public.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(key_id(&self.name, &public)),
            STANDARD.encode(typed)
        )
    }

    /// The signed note of `checkpoint`.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let signature = self.key.sign(body.as_bytes());
        let mut blob = key_id(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{body}\n\u{2014} {} {}\n", self.name, STANDARD.encode(blob))
    }
}

/// Checks signed checkpoints against one verifier key.
#[derive(Debug, Clone)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<key id hex>+<base64(0x01 || public key)>`.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, CheckpointError> {
        let bad = || CheckpointError::Key("not a signed-note Ed25519 verifier key".into());
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let typed = STANDARD.decode(key).map_err(|_| bad())?;
        if typed.len() != 33 || typed[0] != ALG_ED25519 || !valid_name(name) {
            return Err(bad());
        }
        let key = VerifyingKey::from_bytes(&typed[1..].try_into().map_err(|_| bad())?)
            .map_err(|_| bad())?;
        let id = <[u8; 4]>::try_from(hex::decode(id).map_err(|_| bad())?.as_slice())
            .map_err(|_| bad())?;
        if id != key_id(name, &key) {
            return Err(CheckpointError::Key(
                "the verifier key's id does not match its name and key".into(),
            ));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// Verifies a signed note and returns its checkpoint: some signature line must be this
    /// key's (by name and key id) and verify over the body.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let split = note.find("\n\n").ok_or(CheckpointError::Malformed(
            "no empty line before the signatures",
        ))?;
        let (body, signatures) = (&note[..split + 1], &note[split + 2..]);
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CheckpointError::Malformed("control characters in the text"));
        }
        let checkpoint = Checkpoint::parse_body(body)?;
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(CheckpointError::Malformed(
                    "a signature line does not start with '— '",
                ));
            };
            let Some((name, blob)) = rest.split_once(' ') else {
                continue;
            };
            if name != self.name {
                continue;
            }
            let Ok(blob) = STANDARD.decode(blob) else {
                continue;
            };
            if blob.len() != 68 || blob[..4] != self.id {
                continue;
            }
            let Ok(signature) = ed25519_dalek::Signature::from_slice(&blob[4..]) else {
                continue;
            };
            if self.key.verify(body.as_bytes(), &signature).is_ok() {
                return Ok(checkpoint);
            }
        }
        Err(CheckpointError::BadSignature(self.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "revcycle/audit/0193a0a0-0000-7000-8000-000000000001".into(),
            size: 1234,
            root: [7; 32],
        }
    }

    #[test]
    fn a_signed_checkpoint_has_the_c2sp_layout_and_verifies() {
        let signer = NoteSigner::from_seed("revcycle", &[42; 32]).unwrap();
        let note = signer.sign(&checkpoint());
        let lines: Vec<&str> = note.split('\n').collect();
        assert_eq!(
            lines[0],
            "revcycle/audit/0193a0a0-0000-7000-8000-000000000001"
        );
        assert_eq!(lines[1], "1234");
        assert_eq!(lines[2], "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=");
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with("\u{2014} revcycle "));
        assert_eq!(lines[5], "");
        assert_eq!(lines.len(), 6);
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        assert_eq!(verifier.verify(&note).unwrap(), checkpoint());
    }

    #[test]
    fn altered_notes_and_other_keys_are_refused() {
        let signer = NoteSigner::from_seed("revcycle", &[42; 32]).unwrap();
        let note = signer.sign(&checkpoint());
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        let smaller = note.replacen("\n1234\n", "\n1233\n", 1);
        assert_eq!(
            verifier.verify(&smaller),
            Err(CheckpointError::BadSignature("revcycle".into()))
        );
        let other = NoteSigner::from_seed("revcycle", &[43; 32]).unwrap();
        assert!(
            NoteVerifier::parse(&other.verifier_key())
                .unwrap()
                .verify(&note)
                .is_err()
        );
        assert!(matches!(
            verifier.verify("revcycle/audit/x\n12\n"),
            Err(CheckpointError::Malformed(_))
        ));
        assert!(matches!(
            verifier.verify(&note.replacen("\n1234\n", "\n01234\n", 1)),
            Err(CheckpointError::Malformed(_))
        ));
        // A verifier key whose id does not match its key is refused.
        let vkey = signer.verifier_key();
        let mut parts: Vec<&str> = vkey.split('+').collect();
        parts[1] = "00000000";
        assert!(NoteVerifier::parse(&parts.join("+")).is_err());
        assert!(NoteSigner::from_seed("has space", &[1; 32]).is_err());
    }

    /// The example key of c2sp.org/signed-note ("PeterNeumann"), whose verifier key the spec
    /// publishes: our key-id derivation and encoding must reproduce it.
    #[test]
    fn the_verifier_key_encoding_matches_the_spec_example() {
        let public = STANDARD
            .decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap();
        let key = VerifyingKey::from_bytes(&public[1..].try_into().unwrap()).unwrap();
        assert_eq!(hex::encode(key_id("PeterNeumann", &key)), "c74f20a3");
        assert!(
            NoteVerifier::parse(
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_ok()
        );
    }
}

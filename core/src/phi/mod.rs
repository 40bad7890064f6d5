//! Field-level encryption of protected health information (PHI).
//!
//! # Why
//!
//! HIPAA's Security Rule (45 CFR 164.312(a)(2)(iv), (e)(2)(ii)) expects ePHI
//! to be encrypted at rest, and a breach of properly encrypted data is not a
//! reportable breach. Disk or database-level encryption does not protect
//! against SQL access, backups or dumps, so direct patient identifiers (names,
//! date of birth, address, phone, email, SSN, MRN, member ids, ...) are
//! encrypted per field by the application before they reach the database.
//!
//! # How
//!
//! - Each organisation has versioned AES-256-GCM **data keys** and one
//!   HMAC-SHA256 **index key** ([`OrgKeys`]). They are stored only wrapped
//!   by a master key ([`KeyWrapper`]: [`LocalMasterKey`] or [`AwsKms`]),
//!   with an AAD ([`wrap_aad`]) naming org, kind and version so a wrapped key
//!   copied elsewhere does not unwrap.
//! - A field ciphertext ([`envelope`]) is
//!   `[0x01][u32 key version][12-byte nonce][ciphertext||tag]`. Its AAD is the
//!   [`FieldContext`] (org, table, column, row), so a value moved to another
//!   row, column, table or organisation fails to decrypt instead of silently
//!   showing one patient's data on another's record.
//! - The key **version** in the envelope lets keys rotate: new values use the
//!   active (newest) version, old values stay readable until re-encrypted
//!   ([`OrgKeys::add_data_version`], [`OrgKeys::reencrypt_field`]).
//! - Exact-match search uses **blind indexes** ([`IndexKey::blind_index`]):
//!   an HMAC of a [`normalize`]d value, domain-separated by [`IndexPurpose`].
//!
//! Keys are wiped from memory on drop (`zeroize`); `Debug` never prints key
//! bytes and errors ([`PhiError`]) never carry plaintext or key material.
//! This module does no I/O besides reading/creating the local master key file and calling
//! AWS KMS when it holds the master key.

pub mod aws_kms;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod master_key;
pub mod normalize;
pub mod sigv4;

pub use aws_kms::{AwsKms, AwsKmsConfig};
pub use envelope::{FieldContext, envelope_version};
pub use error::PhiError;
pub use keys::{DataKey, IndexKey, IndexPurpose, KeyKind, OrgKeys, WrappedKey, wrap_aad};
pub use master_key::{KeyWrapper, LocalMasterKey};

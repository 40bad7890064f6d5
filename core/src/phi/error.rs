//! Errors of the PHI layer.
//!
//! No variant ever carries plaintext or key material: messages name the
//! table/column, a key version, a file path or a fixed reason, nothing else.

/// Error raised while encrypting, decrypting or handling keys.
#[derive(Debug, thiserror::Error)]
pub enum PhiError {
    /// AES-GCM authentication failed (or the plaintext was not UTF-8).
    #[error(
        "field {table}.{column} could not be decrypted: wrong key, or the value was moved from another row or column"
    )]
    Decrypt { table: String, column: String },

    /// The envelope names a data-key version this organisation does not have.
    #[error("no data key with version {0} is loaded for this organisation")]
    UnknownKeyVersion(i32),

    /// The stored bytes are not a well-formed field envelope.
    #[error("malformed field ciphertext: {0}")]
    BadEnvelope(&'static str),

    /// A wrapped data/index key could not be unwrapped (or a key row is invalid).
    #[error("could not unwrap key: {0}")]
    KeyUnwrap(String),

    /// The master key could not be read, parsed or created.
    #[error("master key: {0}")]
    MasterKey(String),

    /// AWS KMS could not be reached, refused a request or answered something unusable.
    #[error("AWS KMS: {0}")]
    Kms(String),

    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl PhiError {
    pub(crate) fn decrypt(table: &str, column: &str) -> Self {
        PhiError::Decrypt {
            table: table.to_owned(),
            column: column.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypt_message_names_field_only() {
        let e = PhiError::decrypt("patients", "family_name");
        assert_eq!(
            e.to_string(),
            "field patients.family_name could not be decrypted: wrong key, or the value was moved from another row or column"
        );
    }

    #[test]
    fn io_converts() {
        let e: PhiError = std::io::Error::other("boom").into();
        assert!(matches!(e, PhiError::Io(_)));
    }
}

//! Errors of the core, each one mapped to exactly one HTTP status by the API.
//! Messages never carry PHI values: they name fields and rules, not contents.

use crate::phi::PhiError;
use crate::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("version mismatch: the resource is at version {current}")]
    VersionMismatch { current: i32 },
    #[error("{0}")]
    Conflict(String),
    /// A claim lifecycle transition the table does not allow (409), with what would be.
    #[error("{message}")]
    TransitionRefused {
        message: String,
        allowed_next: Vec<&'static str>,
    },
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("protected health information could not be processed: {0}")]
    Phi(#[from] PhiError),
    #[error("database error")]
    Db(#[source] diesel::result::Error),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Stored data that does not parse: a bug or tampering, never the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn refused(e: &crate::billing::lifecycle::TransitionRefused) -> CoreError {
        CoreError::TransitionRefused {
            message: e.to_string(),
            allowed_next: e.allowed.iter().map(|s| s.as_str()).collect(),
        }
    }

    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> CoreError {
        CoreError::Invalid(vec![FieldError::new(pointer, message)])
    }

    /// A conflict told as what it means to the caller (the database's unique-key violation
    /// names neither the key nor the row); any other error as it is.
    pub fn conflict_means(self, message: impl Into<String>) -> CoreError {
        match self {
            CoreError::Conflict(_) => CoreError::Conflict(message.into()),
            other => other,
        }
    }
}

impl From<diesel::result::Error> for CoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => CoreError::NotFound {
                resource: "resource",
            },
            // The database's own message can quote the offending value; keep only the kind.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                CoreError::Conflict("a resource with the same unique identifier exists".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                CoreError::Conflict("a referenced resource does not exist".into())
            }
            // PostgreSQL cannot store U+0000 in text. Requests are refused before this by the
            // boundary rule for text (with a pointer); this keeps any other way in from
            // becoming a server error.
            Error::DatabaseError(_, info)
                if info.message().contains("invalid byte sequence")
                    && info.message().contains("0x00") =>
            {
                CoreError::invalid("", "text must not contain the NUL character (U+0000)")
            }
            other => CoreError::Db(other),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

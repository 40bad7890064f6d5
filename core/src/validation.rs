//! Field-level validation results: a JSON pointer into the request and a message without PHI.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// RFC 6901 JSON pointer to the offending field in the request body.
    #[schema(example = "/lines/0/diagnosis_pointers/1")]
    pub pointer: String,
    /// What rule the value broke (never the value itself).
    #[schema(example = "diagnosis pointer refers to a diagnosis that does not exist")]
    pub message: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Collects every failed rule of a request so the caller can fix them all at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Errors(Vec::new())
    }
    pub fn add(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(pointer, message));
    }
    pub fn check(&mut self, ok: bool, pointer: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.add(pointer, message);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn finish(self) -> Result<(), crate::error::CoreError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::CoreError::Invalid(self.0))
        }
    }
}

//! The structured error that crosses the boundary as JSON `{"code": ..., "message": ...}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An error reported by a connector. Both fields must be free of PHI and secrets: the host may
/// log them and return them to API clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorError {
    /// A stable, machine-readable code in snake_case (see the `CODE_*` constants).
    pub code: String,
    /// A human-readable explanation, without PHI.
    pub message: String,
    /// For refused input: each finding with a JSON pointer (RFC 6901) to what is wrong in the
    /// input (for X12: `/transactions/0/segments/9`, `/transactions/0/claims/2`). Absent from
    /// the JSON when empty, so plugins built before it still interoperate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<InputIssue>,
}

/// One finding of refused input: where (a JSON pointer) and what rule it breaks (no values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIssue {
    pub pointer: String,
    pub message: String,
}

impl ConnectorError {
    /// The plugin panicked; the call was abandoned.
    pub const CODE_PANIC: &'static str = "panic";
    /// The configuration given to `create` was refused.
    pub const CODE_INVALID_CONFIG: &'static str = "invalid_config";
    /// The input of an operation was refused.
    pub const CODE_INVALID_INPUT: &'static str = "invalid_input";
    /// The operation is not one the connector declared.
    pub const CODE_UNKNOWN_OPERATION: &'static str = "unknown_operation";
    /// A remote system (EHR, clearinghouse, payer) failed or was unreachable.
    pub const CODE_UPSTREAM: &'static str = "upstream";
    /// The caller broke the calling convention (null pointers, invalid UTF-8 operation name).
    pub const CODE_ABI_VIOLATION: &'static str = "abi_violation";
    /// Anything else.
    pub const CODE_INTERNAL: &'static str = "internal";

    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// Refused input with its findings, each located by a JSON pointer.
    pub fn invalid_input_at(message: impl Into<String>, errors: Vec<InputIssue>) -> Self {
        Self {
            errors,
            ..Self::invalid_input(message)
        }
    }

    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(Self::CODE_INVALID_CONFIG, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(Self::CODE_INVALID_INPUT, message)
    }

    pub fn unknown_operation(op: &str) -> Self {
        Self::new(
            Self::CODE_UNKNOWN_OPERATION,
            format!("unknown operation {op:?}"),
        )
    }

    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(Self::CODE_UPSTREAM, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Self::CODE_INTERNAL, message)
    }

    /// Serializes to the JSON sent across the boundary.
    pub fn to_json(&self) -> Vec<u8> {
        // Two strings always serialize; fall back to a fixed error just in case.
        serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"code":"internal","message":"error serialization failed"}"#.to_vec()
        })
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ConnectorError {}

impl From<serde_json::Error> for ConnectorError {
    /// Input that fails to parse. Only the position is kept: serde's messages can quote values.
    fn from(err: serde_json::Error) -> Self {
        Self::invalid_input(format!(
            "input is not valid JSON for this operation ({:?} error at line {} column {})",
            err.classify(),
            err.line(),
            err.column()
        ))
    }
}

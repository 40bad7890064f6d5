//! The one error type of this crate. It never carries element values (they may be PHI).

use std::fmt;

/// An error reading or writing X12, located by segment.
///
/// `segment_number` is the 1-based position of the segment in the input stream (for writers,
/// in the output); 0 when no segment applies. `segment_id` is the segment's identifier (`CLP`,
/// `SE`...), or `?` when the identifier itself is not a valid X12 segment id. `reason` says what
/// is wrong and names elements by position (`CLP04`), never by value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X12Error {
    pub segment_number: usize,
    pub segment_id: String,
    pub reason: String,
}

impl X12Error {
    /// Builds an error. `segment_id` is kept only when it looks like a segment identifier, so
    /// misaligned input cannot leak data through it.
    pub fn new(segment_number: usize, segment_id: &str, reason: impl Into<String>) -> Self {
        X12Error {
            segment_number,
            segment_id: safe_id(segment_id),
            reason: reason.into(),
        }
    }
}

/// A segment identifier when `id` is 2-3 upper-case letters or digits, else `?`.
pub(crate) fn safe_id(id: &str) -> String {
    if is_segment_id(id.as_bytes()) {
        id.to_string()
    } else {
        "?".to_string()
    }
}

pub(crate) fn is_segment_id(id: &[u8]) -> bool {
    (2..=3).contains(&id.len())
        && id[0].is_ascii_uppercase()
        && id
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl fmt::Display for X12Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segment_number == 0 {
            write!(f, "X12 {}: {}", self.segment_id, self.reason)
        } else {
            write!(
                f,
                "X12 segment {} ({}): {}",
                self.segment_number, self.segment_id, self.reason
            )
        }
    }
}

impl std::error::Error for X12Error {}

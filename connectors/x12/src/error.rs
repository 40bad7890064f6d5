//! The one error type of this crate. It never carries element values (they may be PHI).

use std::fmt;

/// An error reading, validating or writing X12, located by segment.
///
/// `segment_number` is the 1-based position of the segment in the input stream (for writers,
/// in the output); 0 when no segment applies. `segment_id` is the segment's identifier (`CLP`,
/// `SE`...), or `?` when the identifier itself is not a valid X12 segment id. `reason` says what
/// is wrong and names elements by position (`CLP04`), never by value.
///
/// Errors found inside a transaction set also carry [`X12Error::transaction`] (0-based index
/// of the ST/SE in the input) and [`X12Error::position`] (the segment's position in that
/// transaction set, ST = 1: the number a 999 IK3 or pyx12 reports). Validation errors carry
/// the [`X12Error::rule`] they break (a stable code such as `segment.required` or
/// `balance.claim`, see [`crate::validate`]) and may carry a JSON pointer of their own
/// (`/transactions/0/claims/2`); [`X12Error::pointer`] always answers one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X12Error {
    pub segment_number: usize,
    pub segment_id: String,
    pub reason: String,
    /// Boxed: most errors have none, and `Result<_, X12Error>` stays small.
    context: Option<Box<Context>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Context {
    transaction: Option<usize>,
    position: Option<usize>,
    rule: Option<String>,
    pointer: Option<String>,
}

impl X12Error {
    /// Builds an error. `segment_id` is kept only when it looks like a segment identifier, so
    /// misaligned input cannot leak data through it.
    pub fn new(segment_number: usize, segment_id: &str, reason: impl Into<String>) -> Self {
        X12Error {
            segment_number,
            segment_id: safe_id(segment_id),
            reason: reason.into(),
            context: None,
        }
    }

    fn context(&mut self) -> &mut Context {
        self.context.get_or_insert_with(Box::default)
    }

    /// The 0-based index of the transaction set in the input, when the error is in one.
    pub fn transaction(&self) -> Option<usize> {
        self.context.as_ref().and_then(|c| c.transaction)
    }

    /// The 1-based position of the segment in its transaction set (ST = 1).
    pub fn position(&self) -> Option<usize> {
        self.context.as_ref().and_then(|c| c.position)
    }

    /// The rule broken (`segment.required`, `balance.claim`...), for validation errors.
    pub fn rule(&self) -> Option<&str> {
        self.context.as_ref().and_then(|c| c.rule.as_deref())
    }

    /// Locates the error inside a transaction set (0-based index in the input, 1-based
    /// position of the segment in the set).
    pub fn in_transaction(mut self, transaction: usize, position: usize) -> Self {
        let c = self.context();
        c.transaction = Some(transaction);
        c.position = Some(position);
        self
    }

    /// Names the rule the input breaks.
    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.context().rule = Some(rule.into());
        self
    }

    /// Points at a part of the transaction (`/transactions/0/claims/2`) instead of a segment.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.context().pointer = Some(pointer.into());
        self
    }

    /// A JSON pointer (RFC 6901) to what is wrong, never empty: the one given with
    /// [`X12Error::with_pointer`], else `/transactions/{t}/segments/{position}` for a segment
    /// of a transaction set, else `/segments/{segment_number}` (position in the input), else
    /// `/segments` when no segment applies.
    pub fn pointer(&self) -> String {
        if let Some(p) = self.context.as_ref().and_then(|c| c.pointer.as_ref()) {
            return p.clone();
        }
        match (self.transaction(), self.position()) {
            (Some(t), Some(p)) => format!("/transactions/{t}/segments/{p}"),
            _ if self.segment_number > 0 => format!("/segments/{}", self.segment_number),
            _ => "/segments".to_string(),
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
            write!(f, "X12 {}: {}", self.segment_id, self.reason)?;
        } else {
            write!(
                f,
                "X12 segment {} ({})",
                self.segment_number, self.segment_id
            )?;
            if let (Some(t), Some(p)) = (self.transaction(), self.position()) {
                write!(f, ", segment {p} of transaction set {}", t + 1)?;
            }
            write!(f, ": {}", self.reason)?;
        }
        if let Some(rule) = self.rule() {
            write!(f, " [rule {rule}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for X12Error {}

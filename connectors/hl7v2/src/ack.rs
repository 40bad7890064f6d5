//! General acknowledgments (original mode ACK) for received messages.
//!
//! ```text
//! MSH|^~\&|<recv app>|<recv fac>|<send app>|<send fac>|<time>||ACK^<event>^ACK|ACK<ctrl>|<proc>|2.5.1
//! MSA|AA|<ctrl>
//! ERR||PID^1^3|101^Required field missing^HL70357|E
//! ```
//!
//! The ACK always uses the standard delimiters `|^~\&`; values from the original header are
//! decoded and re-escaped. Segments end with CR. ERR segments carry only locations and table 0357
//! codes and texts, never values from the message.

use revcycle_connector_abi::civil::UtcDateTime;
use serde::{Deserialize, Serialize};

use crate::map::{ErrorCode, MessageError, Severity};
use crate::parse::{Field, Separators};

/// MSA-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckCode {
    /// Application accept.
    Accept,
    /// Application error: the message was understood but its content is in error.
    Error,
    /// Application reject: the message cannot be processed (header, type, version).
    Reject,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
    }
}

/// One ERR segment: ERR-2 location, ERR-3 table 0357 code and its text, ERR-4 severity
/// (`E` or `W`), ERR-8 our rule text (never a value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckError {
    /// `SEG^occurrence^field` (or `SEG^occurrence`).
    pub location: String,
    pub code: u16,
    pub code_text: String,
    /// `E` or `W`.
    pub severity: String,
    pub text: String,
}

impl AckError {
    pub fn new(code: ErrorCode, severity: Severity, location: String, text: &str) -> Self {
        AckError {
            location,
            code: code.number(),
            code_text: code.text().to_owned(),
            severity: match severity {
                Severity::Error => "E",
                Severity::Warning => "W",
            }
            .to_owned(),
            text: text.to_owned(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == "E"
    }
}

impl From<&MessageError> for AckError {
    fn from(e: &MessageError) -> Self {
        AckError::new(e.code, e.severity, e.location.to_string(), e.detail)
    }
}

/// What the ACK echoes from the original header, already decoded (or re-encoded) for the
/// standard delimiters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckHeader {
    /// MSH-3 and MSH-4 of the ACK (normally MSH-5/MSH-6 of the original), encoded.
    pub sending_application: String,
    pub sending_facility: String,
    /// MSH-5 and MSH-6 of the ACK (MSH-3/MSH-4 of the original), encoded.
    pub receiving_application: String,
    pub receiving_facility: String,
    /// MSH-9.2 of the original, if any.
    pub trigger_event: Option<String>,
    /// MSH-10 of the original (plain text).
    pub control_id: Option<String>,
    /// MSH-11 of the original, encoded; `P` when absent.
    pub processing_id: String,
}

/// Re-writes the first repetition of a field (its components and subcomponents) for the
/// standard delimiters.
pub fn reencode(field: Option<&Field>, from: &Separators) -> String {
    let to = Separators::default();
    let Some(rep) = field.and_then(|f| f.repetitions.first()) else {
        return String::new();
    };
    let text = rep
        .components
        .iter()
        .map(|subs| {
            subs.iter()
                .map(|raw| to.encode(&from.decode(raw)))
                .collect::<Vec<_>>()
                .join("&")
        })
        .collect::<Vec<_>>()
        .join("^");
    text.trim_end_matches(['^', '&']).to_owned()
}

/// Builds the ACK message text (segments joined by CR, no trailing CR).
pub fn build(header: &AckHeader, code: AckCode, errors: &[AckError], timestamp: &str) -> String {
    let to = Separators::default();
    let control = header.control_id.as_deref().map(|c| to.encode(c));
    let message_type = match &header.trigger_event {
        Some(event) => format!("ACK^{}^ACK", to.encode(event)),
        None => "ACK".to_owned(),
    };
    let processing = if header.processing_id.is_empty() {
        "P"
    } else {
        &header.processing_id
    };
    let msh = [
        "MSH",
        "^~\\&",
        &header.sending_application,
        &header.sending_facility,
        &header.receiving_application,
        &header.receiving_facility,
        timestamp,
        "",
        &message_type,
        &format!("ACK{}", control.as_deref().unwrap_or_default()),
        processing,
        "2.5.1",
    ]
    .join("|");
    let mut segments = vec![
        msh,
        format!("MSA|{}|{}", code.as_str(), control.unwrap_or_default()),
    ];
    for err in errors {
        let mut segment = format!(
            "ERR||{}|{}^{}^HL70357|{}",
            err.location,
            err.code,
            to.encode(&err.code_text),
            err.severity,
        );
        if !err.text.is_empty() {
            segment.push_str("||||");
            segment.push_str(&to.encode(&err.text));
        }
        segments.push(segment);
    }
    segments.join("\r")
}

/// The current UTC time as an HL7 TS (`YYYYMMDDHHMMSS+0000`).
pub fn now_timestamp() -> String {
    timestamp(UtcDateTime::now())
}

/// Seconds since the Unix epoch as an HL7 TS in UTC.
pub fn timestamp_from_unix(secs: u64) -> String {
    timestamp(UtcDateTime::from_unix(secs))
}

fn timestamp(t: UtcDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}+0000",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_message;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp_from_unix(0), "19700101000000+0000");
        assert_eq!(timestamp_from_unix(951_782_400), "20000229000000+0000");
        assert_eq!(timestamp_from_unix(1_709_294_400), "20240301120000+0000");
        assert_eq!(now_timestamp().len(), 19);
    }

    #[test]
    fn reencodes_header_fields_for_standard_delimiters() {
        // '^' is plain text under these delimiters and must be escaped under the standard ones;
        // the escaped component separator decodes to a plain '$'.
        let msg = parse_message("MSH#$%!*#APP$1^2!S!3*X#FAC").unwrap();
        let msh = &msg.segments[0];
        assert_eq!(reencode(msh.field(3), &msg.separators), "APP^1\\S\\2$3&X");
        assert_eq!(reencode(msh.field(4), &msg.separators), "FAC");
        assert_eq!(reencode(msh.field(5), &msg.separators), "");
    }

    #[test]
    fn builds_exact_segments() {
        let header = AckHeader {
            sending_application: "REVCYCLE".into(),
            sending_facility: "BILLING".into(),
            receiving_application: "EPIC".into(),
            receiving_facility: "MAIN^1.2.3^ISO".into(),
            trigger_event: Some("A04".into()),
            control_id: Some("MSG|1".into()),
            processing_id: "T".into(),
        };
        let ack = build(
            &header,
            AckCode::Error,
            &[AckError::new(
                ErrorCode::RequiredFieldMissing,
                Severity::Error,
                "PID^1^3".into(),
                "patient identifier | list is missing",
            )],
            "20240301120000+0000",
        );
        assert_eq!(
            ack,
            "MSH|^~\\&|REVCYCLE|BILLING|EPIC|MAIN^1.2.3^ISO|20240301120000+0000||ACK^A04^ACK|ACKMSG\\F\\1|T|2.5.1\r\
             MSA|AE|MSG\\F\\1\r\
             ERR||PID^1^3|101^Required field missing^HL70357|E||||patient identifier \\F\\ list is missing"
        );
        let bare = build(
            &AckHeader::default(),
            AckCode::Reject,
            &[],
            "20240301120000+0000",
        );
        assert_eq!(
            bare,
            "MSH|^~\\&|||||20240301120000+0000||ACK|ACK|P|2.5.1\rMSA|AR|"
        );
    }
}

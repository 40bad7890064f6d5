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
///
/// A body some of whose fields did not parse (a wrong type, a missing member, a malformed
/// code) is still checked against every other rule: those fields hold stand-in values, are
/// listed as `unparsed`, and no rule is reported on them. A rule that relates two fields asks
/// [`Errors::known`] of the other one first, so a stand-in never causes an error elsewhere.
#[derive(Debug, Default)]
pub struct Errors {
    errors: Vec<FieldError>,
    unparsed: Vec<String>,
}

/// Whether `pointer` is `at` or a member (at any depth) of it.
fn within(pointer: &str, at: &str) -> bool {
    pointer == at
        || (pointer.len() > at.len()
            && pointer.starts_with(at)
            && pointer.as_bytes()[at.len()] == b'/')
}

impl Errors {
    pub fn new() -> Self {
        Errors::default()
    }
    /// Errors of a body whose fields at these pointers hold stand-ins for values that did not
    /// parse (already reported).
    pub fn with_unparsed(unparsed: Vec<String>) -> Self {
        Errors {
            errors: Vec::new(),
            unparsed,
        }
    }
    /// Whether the value at `pointer` is the client's own: neither it nor a field containing
    /// it is a stand-in. (Members of it may be: an array with one unparsed item still has the
    /// client's length.)
    pub fn known(&self, pointer: &str) -> bool {
        !self.unparsed.iter().any(|u| within(pointer, u))
    }
    pub fn add(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        let pointer = pointer.into();
        if self.known(&pointer) {
            self.errors.push(FieldError::new(pointer, message));
        }
    }
    pub fn check(&mut self, ok: bool, pointer: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.add(pointer, message);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
    /// The errors found, one per field (see [`one_per_field`]).
    pub fn into_errors(self) -> Vec<FieldError> {
        one_per_field(self.errors)
    }
    pub fn finish(self) -> Result<(), crate::error::CoreError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::error::CoreError::Invalid(self.into_errors()))
        }
    }
}

/// One entry per field, in the order fields were first reported: a field that breaks several
/// rules gets one entry naming each rule once.
pub fn one_per_field(errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = Vec::with_capacity(errors.len());
    for e in errors {
        match out.iter_mut().find(|o| o.pointer == e.pointer) {
            Some(o) => {
                if !o.message.split("; ").any(|m| m == e.message) {
                    o.message.push_str("; ");
                    o.message.push_str(&e.message);
                }
            }
            None => out.push(e),
        }
    }
    out
}

/// A request body's rules that need no stored data. The store checks them (with the rules
/// that do need it) before a write; the API also checks them when some fields of a body did
/// not parse, so one answer names every field to fix.
pub trait Rules {
    /// Adds every rule the body breaks to `e`.
    fn check(&self, e: &mut Errors);

    /// Every rule the body breaks, one entry per field, skipping the `unparsed` fields.
    fn rule_errors(&self, unparsed: &[String]) -> Vec<FieldError> {
        let mut e = Errors::with_unparsed(unparsed.to_vec());
        self.check(&mut e);
        e.into_errors()
    }
}

/// What a text value may contain, by the kind of field it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Names, identifiers, codes, addresses, filters: one line of printable text.
    Line,
    /// Free text a person writes over several lines (notes): tab and line breaks allowed.
    MultiLine,
}

/// Fields of a request body that hold multi-line free text; every other text is one line.
/// (`body`: an appeal-letter template's text.)
pub const MULTI_LINE_FIELDS: &[&str] = &["note", "notes", "comment", "description", "text", "body"];

/// The one boundary rule for text, the same whichever engine stores it: no NUL (PostgreSQL
/// cannot store it and SQLite would), no other C0 or C1 control characters (they corrupt
/// fixed-width and delimited interchange such as X12 and HL7, and logs), no bidirectional
/// formatting characters (they make an identifier display as something it is not).
/// Returns the rule broken, never the value.
pub fn text_problem(s: &str, kind: TextKind) -> Option<&'static str> {
    for c in s.chars() {
        match c {
            '\0' => return Some("must not contain the NUL character (U+0000)"),
            '\t' | '\n' | '\r' if kind == TextKind::MultiLine => {}
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {
                return Some("must not contain control characters");
            }
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => {
                return Some("must not contain bidirectional formatting characters");
            }
            _ => {}
        }
    }
    None
}

/// Every string of a JSON document that breaks [`text_problem`], as field errors whose
/// pointers are built from the document's member names. Callers pass documents whose shape
/// has already been checked against our schema, so the names are ours; a member name that is
/// not a plain identifier is not echoed (the error points at its parent).
pub fn json_text_errors(value: &serde_json::Value) -> Vec<FieldError> {
    fn walk(v: &serde_json::Value, at: &mut String, kind: TextKind, out: &mut Vec<FieldError>) {
        match v {
            serde_json::Value::String(s) => {
                if let Some(why) = text_problem(s, kind) {
                    out.push(FieldError::new(at.clone(), why));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&i.to_string());
                    walk(item, at, kind, out);
                    at.truncate(len);
                }
            }
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    let plain = !name.is_empty()
                        && name.len() <= 64
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    let len = at.len();
                    if plain {
                        at.push('/');
                        at.push_str(name);
                    }
                    let kind = if plain && MULTI_LINE_FIELDS.contains(&name.as_str()) {
                        TextKind::MultiLine
                    } else {
                        TextKind::Line
                    };
                    walk(member, at, kind, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), TextKind::Line, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rule_refuses_nul_controls_and_bidi_and_keeps_ordinary_text() {
        for ok in [
            "Jane O'Brien-Doe",
            "José Núñez",
            "北京",
            "MRN-000123",
            "",
            "a b",
        ] {
            assert_eq!(text_problem(ok, TextKind::Line), None, "{ok}");
        }
        for (bad, rule) in [
            ("a\0b", "NUL"),
            ("a\u{1}b", "control"),
            ("line\nbreak", "control"),
            ("tab\there", "control"),
            ("del\u{7f}", "control"),
            ("c1\u{85}", "control"),
            ("MRN\u{202e}321", "bidirectional"),
            ("\u{2066}x\u{2069}", "bidirectional"),
            ("\u{200f}", "bidirectional"),
        ] {
            let why = text_problem(bad, TextKind::Line).unwrap_or_default();
            assert!(why.contains(rule), "{bad:?}: {why}");
        }
        assert_eq!(
            text_problem("two\r\nlines\tand a tab", TextKind::MultiLine),
            None
        );
        assert!(text_problem("no\0nul", TextKind::MultiLine).is_some());
        assert!(text_problem("no\u{202e}bidi", TextKind::MultiLine).is_some());
    }

    #[test]
    fn unparsed_fields_hold_stand_ins_no_rule_is_reported_on() {
        let mut e = Errors::with_unparsed(vec!["/diagnoses/1".into(), "/address".into()]);
        assert!(e.known("/diagnoses"));
        assert!(!e.known("/diagnoses/1"));
        assert!(e.known("/diagnoses/10"));
        assert!(!e.known("/address/zip"));
        assert!(e.known("/addresses"));
        e.add("/address/zip", "x");
        e.add("/diagnoses/1", "x");
        e.add("/diagnoses/0", "is not a code");
        e.add("/payer_code", "must not be blank");
        e.add("/payer_code", "must contain only letters and digits");
        e.add("/payer_code", "must not be blank");
        assert_eq!(
            e.into_errors(),
            [
                FieldError::new("/diagnoses/0", "is not a code"),
                FieldError::new(
                    "/payer_code",
                    "must not be blank; must contain only letters and digits"
                ),
            ]
        );
    }

    #[test]
    fn json_text_errors_point_at_each_bad_field_and_never_echo_odd_names() {
        let doc = serde_json::json!({
            "family_name": "Do\u{0}e",
            "address": {"line1": "ok", "city": "Spring\u{202e}field"},
            "lines": [{"procedure_code": "99214"}, {"procedure_code": "9\u{1}"}],
            "note": "first line\nsecond line",
            "Weird\u{0}Name": "x\u{0}",
        });
        let errors = json_text_errors(&doc);
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "",
                "/address/city",
                "/family_name",
                "/lines/1/procedure_code"
            ]
        );
        assert!(errors.iter().all(|e| !e.message.contains("Weird")));
    }
}

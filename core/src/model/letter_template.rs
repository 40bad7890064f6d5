//! The practice's appeal-letter template: its own wording, with `{{name}}` placeholders for the
//! facts of the letter (the patient, the claim, the denial). No patient data is stored in it.
//!
//! The syntax is deliberately small, so that a template is checked completely when it is set
//! (an unknown or unclosed placeholder is refused with its position) and a stored template
//! always renders:
//! - `{{name}}` (spaces inside the braces allowed) is replaced by the fact `name` (see
//!   [`PLACEHOLDERS`]); there is no other markup, so the practice's text is printed as written.
//! - A blank line separates paragraphs; a line break inside a paragraph is kept.
//! - A line with placeholders that all have no value (`Prior authorization:
//!   {{prior_authorization}}` for a claim without one) is left out of the letter.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest heading, in characters.
pub const MAX_HEADING_LEN: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY_LEN: usize = 10_000;

/// The placeholders a template may use, with what each is replaced by. Dates print as
/// MM/DD/YYYY and amounts as `$1,234.50`.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("date", "the day the letter is dated (today)"),
    (
        "level",
        "the appeal level the letter asks for (1 for a first appeal)",
    ),
    (
        "appeal_deadline",
        "when the payer's appeal window closes, for a first appeal (empty for later levels, \
         whose window counts from the previous decision)",
    ),
    ("payer_name", "the payer's name"),
    ("provider_name", "the billing provider's name"),
    ("provider_npi", "the billing provider's NPI"),
    ("patient_name", "the patient's given and family name"),
    ("patient_birth_date", "the patient's date of birth"),
    (
        "member_id",
        "the member id of the claim's coverage (may be empty)",
    ),
    ("patient_control_number", "our claim number (CLM01)"),
    (
        "payer_claim_number",
        "the payer's claim control number (CLP07; may be empty)",
    ),
    ("service_date_from", "the first date of service"),
    ("service_date_to", "the last date of service"),
    (
        "service_dates",
        "the date of service, or `from to to` for several days",
    ),
    (
        "lines",
        "the denied line, or every line of a claim-level denial: one line each, \
         `procedure-modifiers, date, charge $amount`",
    ),
    ("group", "the adjustment group (CO, PR, OA, PI)"),
    ("carc", "the claim adjustment reason code (e.g. 197)"),
    (
        "carc_description",
        "what the reason code means (may be empty for a code our tables do not know)",
    ),
    ("adjustment", "group and reason together, e.g. CO-197"),
    (
        "rarcs",
        "the remark codes with their meaning, `M51 (meaning); N290 (meaning)` (may be empty)",
    ),
    ("amount", "the denied amount, e.g. $200.00"),
    (
        "prior_authorization",
        "the claim's prior authorization number (may be empty)",
    ),
];

/// What the practice sets: the letter's heading and its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "heading": "Request for reconsideration, level {{level}}",
    "body": "{{date}}\n\n{{payer_name}}\nAppeals department\n\nRe: {{patient_name}}, born {{patient_birth_date}}\nMember id: {{member_id}}\nClaim: {{patient_control_number}} (your number {{payer_claim_number}})\n\nWe ask you to reconsider the denial of {{amount}} ({{adjustment}}: {{carc_description}}) for:\n{{lines}}\n\nSincerely,\n{{provider_name}}, NPI {{provider_npi}}"
}))]
pub struct LetterTemplateInput {
    /// One line printed as the letter's title (1 to 200 characters; placeholders allowed).
    #[schema(min_length = 1, max_length = 200)]
    pub heading: String,
    /// The letter's text with `{{name}}` placeholders (1 to 10,000 characters): blank lines
    /// separate paragraphs, line breaks inside a paragraph are kept.
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
}

/// The template in force: the practice's, or the default (`version` 0) while none is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LetterTemplate {
    pub heading: String,
    pub body: String,
    /// Whether this is the documented default (no template set).
    #[serde(default)]
    pub is_default: bool,
    /// 0 for the default; the stored template's version otherwise (its `ETag`).
    #[serde(default)]
    pub version: i32,
    /// When the stored template was last set; absent for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The letter's heading when the practice has not set a template.
pub const DEFAULT_HEADING: &str = "Request for appeal, level {{level}}";
/// The letter's body when the practice has not set a template.
pub const DEFAULT_BODY: &str = "{{date}}

{{payer_name}}
Appeals department

Patient: {{patient_name}}
Date of birth: {{patient_birth_date}}
Member id: {{member_id}}
Claim number: {{patient_control_number}}
Payer claim number: {{payer_claim_number}}
Dates of service: {{service_dates}}
Prior authorization: {{prior_authorization}}
First appeal due by: {{appeal_deadline}}

To whom it may concern:

We ask you to reconsider your denial of {{amount}} under adjustment {{adjustment}}: {{carc_description}}
Remarks: {{rarcs}}

The services in question:
{{lines}}

Sincerely,

{{provider_name}}
NPI {{provider_npi}}";

impl LetterTemplate {
    /// The documented default.
    pub fn default_template() -> LetterTemplate {
        LetterTemplate {
            heading: DEFAULT_HEADING.to_string(),
            body: DEFAULT_BODY.to_string(),
            is_default: true,
            version: 0,
            updated_at: None,
        }
    }

    /// The template as stored from what the practice set (line ends as `\n`, outer blank
    /// space trimmed).
    pub fn from_input(i: &LetterTemplateInput) -> LetterTemplate {
        LetterTemplate {
            heading: i.heading.trim().to_string(),
            body: normalize_body(&i.body),
            is_default: false,
            version: 0,
            updated_at: None,
        }
    }
}

fn normalize_body(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

/// A piece of a template: text printed as written, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Field(&'static str),
}

/// The template text in pieces, or the (1-based) character position of the first `{{` that
/// does not open a known placeholder, with what is wrong with it.
pub fn parse(s: &str) -> Result<Vec<Piece<'_>>, (usize, &'static str)> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let position = s[..offset + open].chars().count() + 1;
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err((position, "is not closed with }}"));
        };
        let name = after[..close].trim();
        let Some((known, _)) = PLACEHOLDERS.iter().find(|(n, _)| *n == name) else {
            return Err((position, "is not a known placeholder"));
        };
        out.push(Piece::Field(known));
        let used = open + 2 + close + 2;
        offset += used;
        rest = &rest[used..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

fn check_text(e: &mut crate::validation::Errors, at: &str, s: &str, max: usize, multi_line: bool) {
    let n = s.trim().chars().count();
    e.check(
        (1..=max).contains(&n),
        at,
        format!("must be 1 to {max} characters"),
    );
    let bad_control = s
        .chars()
        .any(|c| c.is_control() && !(multi_line && matches!(c, '\n' | '\r' | '\t')));
    e.check(
        !bad_control,
        at,
        if multi_line {
            "must not contain control characters other than line breaks and tabs"
        } else {
            "must be one line without control characters"
        },
    );
    if let Err((position, what)) = parse(s) {
        e.add(
            at,
            format!(
                "the {{{{ at character {position} {what} (placeholders: {})",
                PLACEHOLDERS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

impl crate::validation::Rules for LetterTemplateInput {
    fn check(&self, e: &mut crate::validation::Errors) {
        check_text(e, "/heading", &self.heading, MAX_HEADING_LEN, false);
        check_text(e, "/body", &self.body, MAX_BODY_LEN, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::Rules;

    fn errors(heading: &str, body: &str) -> Vec<(String, String)> {
        LetterTemplateInput {
            heading: heading.into(),
            body: body.into(),
        }
        .rule_errors(&[])
        .into_iter()
        .map(|e| (e.pointer, e.message))
        .collect()
    }

    #[test]
    fn the_default_parses() {
        assert!(errors(DEFAULT_HEADING, DEFAULT_BODY).is_empty());
    }

    #[test]
    fn placeholders_are_found_with_spaces_inside() {
        assert_eq!(
            parse("Dear {{ payer_name }}, {{amount}}.").unwrap(),
            [
                Piece::Text("Dear "),
                Piece::Field("payer_name"),
                Piece::Text(", "),
                Piece::Field("amount"),
                Piece::Text("."),
            ]
        );
        assert_eq!(parse("no placeholders }} here").unwrap().len(), 1);
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_refused_with_their_position() {
        let e = errors("Appeal", "Née {{amount}} {{ssn}}");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "/body");
        assert!(
            e[0].1.starts_with(
                "the {{ at character 16 is not a known placeholder (placeholders: date, level,"
            ),
            "{}",
            e[0].1
        );
        let e = errors("Appeal {{level", "x");
        assert_eq!(e[0].0, "/heading");
        assert!(
            e[0].1
                .starts_with("the {{ at character 8 is not closed with }}")
        );
        let e = errors("two\nlines", "");
        assert_eq!(
            e,
            [
                (
                    "/heading".to_string(),
                    "must be one line without control characters".to_string()
                ),
                (
                    "/body".to_string(),
                    "must be 1 to 10000 characters".to_string()
                )
            ]
        );
    }
}

//! Normalizers applied before blind indexing, so that equal identifiers
//! typed differently produce the same index.
//!
//! These rules are part of the stored data: changing any of them silently
//! breaks search on existing rows until every blind index is recomputed.

use chrono::{Datelike, NaiveDate};

/// Medical record number: whitespace and `-` removed, uppercased
/// (`" a12-345 "` → `"A12345"`).
pub fn mrn(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// An MRN in its namespace, for the index that makes (system, MRN) unique. Without a system
/// this is [`mrn`] itself, so rows written before systems existed keep their index; with one,
/// the input starts with a tab, which [`mrn`] never leaves in a value, so the two kinds never
/// collide. The system is compared as given, trimmed (URIs and OIDs are case-sensitive).
pub fn mrn_in_system(system: Option<&str>, value: &str) -> String {
    match system.map(str::trim).filter(|s| !s.is_empty()) {
        None => mrn(value),
        Some(system) => format!("\t{}:{system}\t{}", system.len(), mrn(value)),
    }
}

/// Payer member id: same rule as [`mrn`].
pub fn member_id(s: &str) -> String {
    mrn(s)
}

fn apostrophe_or_hyphen(ch: char) -> Option<char> {
    match ch {
        // ASCII apostrophe, typographic quotes, modifier letter apostrophe,
        // grave/acute accents and prime, as typed on various keyboards.
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}' | '\u{2032}' => Some('\''),
        // ASCII hyphen-minus, Unicode hyphens and dashes, minus sign.
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
        _ => None,
    }
}

/// Family name:
///
/// - letters and digits are kept and uppercased (Unicode rules, so `ß` → `SS`);
/// - apostrophe look-alikes become `'`, hyphen/dash look-alikes become `-`;
/// - runs of whitespace become one space; spaces next to `'`/`-` and at
///   either end are removed, as are leading/trailing `'`/`-`;
/// - everything else (`.`, `,`, combining marks, ...) is dropped.
///
/// So `"O'Brien"`, `" o'brien "`, `"O’Brien"` and `"o' brien"` all give
/// `"O'BRIEN"`; `"Smith - Jones"` gives `"SMITH-JONES"`; `"St. John"` gives
/// `"ST JOHN"`. Input is expected in Unicode NFC (precomposed accents):
/// a decomposed `e` + U+0301 loses its accent while a precomposed `é` keeps it.
pub fn family_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut space = false;
    for ch in name.chars() {
        if ch.is_whitespace() {
            space = true;
        } else if let Some(p) = apostrophe_or_hyphen(ch) {
            // Drops any pending space before the punctuation.
            space = false;
            out.push(p);
        } else if ch.is_alphanumeric() {
            if space && !out.is_empty() && !out.ends_with(['\'', '-']) {
                out.push(' ');
            }
            space = false;
            out.extend(ch.to_uppercase());
        }
    }
    let trimmed = out.trim_matches(['\'', '-']);
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// `"FAMILY NAME|YYYY-MM-DD"` for the family-name + date-of-birth index.
pub fn family_name_dob(name: &str, dob: NaiveDate) -> String {
    format!(
        "{}|{:04}-{:02}-{:02}",
        family_name(name),
        dob.year(),
        dob.month(),
        dob.day()
    )
}

/// Last four digits of an SSN, if `ssn` is nine digits optionally separated
/// by `-` or whitespace (`"123-45-6789"` → `"6789"`). Anything else gives
/// `None`.
pub fn ssn_last4(ssn: &str) -> Option<String> {
    let digits = ssn_digits(ssn)?;
    (digits.len() == 9).then(|| digits[5..].to_owned())
}

/// For searches by "last 4 of SSN": accepts either exactly four digits or a
/// full SSN (see [`ssn_last4`]).
pub fn ssn_last4_query(s: &str) -> Option<String> {
    let digits = ssn_digits(s)?;
    match digits.len() {
        4 => Some(digits),
        9 => Some(digits[5..].to_owned()),
        _ => None,
    }
}

fn ssn_digits(s: &str) -> Option<String> {
    let mut digits = String::with_capacity(9);
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else if !(ch == '-' || ch.is_whitespace()) {
            return None;
        }
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrn_in_system_keeps_old_rows_and_separates_systems() {
        assert_eq!(mrn_in_system(None, " a12-345 "), mrn(" a12-345 "));
        assert_eq!(mrn_in_system(Some("  "), "12345"), "12345");
        let a = mrn_in_system(Some("urn:oid:1.2.36.146.595.217.0.1"), "12345");
        let b = mrn_in_system(Some("urn:oid:2.16.840.1.113883.19.5"), "12345");
        assert_ne!(a, b);
        assert_ne!(a, mrn("12345"));
        assert_eq!(
            a,
            mrn_in_system(Some(" urn:oid:1.2.36.146.595.217.0.1 "), "12-345")
        );
        // A bare value loses its whitespace, so it can never start like a qualified one.
        assert!(a.starts_with('\t') && !mrn("\t12345").starts_with('\t'));
    }

    #[test]
    fn mrn_and_member_id() {
        assert_eq!(mrn(" a12-345 "), "A12345");
        assert_eq!(mrn("A 12 - 345"), "A12345");
        assert_eq!(mrn("a\t12\n345"), "A12345");
        assert_eq!(mrn(""), "");
        assert_eq!(member_id("xyz-123 456-01"), "XYZ12345601");
        assert_eq!(member_id("W123456789"), mrn("w123-456-789"));
    }

    #[test]
    fn family_names() {
        let expected = "O'BRIEN";
        for s in [
            "O'Brien",
            " o'brien ",
            "O’Brien",
            "o' brien",
            "O 'Brien",
            "O\u{02BC}BRIEN",
        ] {
            assert_eq!(family_name(s), expected, "{s:?}");
        }
        assert_eq!(family_name("Smith - Jones"), "SMITH-JONES");
        assert_eq!(family_name("Smith–Jones"), "SMITH-JONES");
        assert_eq!(family_name("van   der\tBerg"), "VAN DER BERG");
        assert_eq!(family_name("St. John"), "ST JOHN");
        assert_eq!(family_name("Smith, Jr."), "SMITH JR");
        assert_eq!(family_name("Núñez"), "NÚÑEZ");
        assert_eq!(family_name("Straße"), "STRASSE");
        assert_eq!(family_name("-Smith'"), "SMITH");
        assert_eq!(family_name("  "), "");
        assert_eq!(family_name("李"), "李");
    }

    #[test]
    fn family_name_with_dob() {
        let dob = NaiveDate::from_ymd_opt(1985, 2, 3).unwrap();
        assert_eq!(family_name_dob(" o'brien ", dob), "O'BRIEN|1985-02-03");
        assert_eq!(
            family_name_dob("O'Brien", dob),
            family_name_dob(" o’brien", dob)
        );
        let early = NaiveDate::from_ymd_opt(901, 12, 31).unwrap();
        assert_eq!(family_name_dob("Lee", early), "LEE|0901-12-31");
    }

    #[test]
    fn ssn() {
        assert_eq!(ssn_last4("123-45-6789").as_deref(), Some("6789"));
        assert_eq!(ssn_last4("123456789").as_deref(), Some("6789"));
        assert_eq!(ssn_last4(" 123 45 6789 ").as_deref(), Some("6789"));
        assert_eq!(ssn_last4("12345678"), None);
        assert_eq!(ssn_last4("1234567890"), None);
        assert_eq!(ssn_last4("6789"), None);
        assert_eq!(ssn_last4("123-45-678X"), None);
        assert_eq!(ssn_last4("１２３４５６７８９"), None);
        assert_eq!(ssn_last4(""), None);
        assert_eq!(ssn_last4_query("6789").as_deref(), Some("6789"));
        assert_eq!(ssn_last4_query("123-45-6789").as_deref(), Some("6789"));
        assert_eq!(ssn_last4_query("789"), None);
    }
}

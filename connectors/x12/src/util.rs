//! Small shared conversions: amounts, dates, names.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::X12Error;
use crate::reader::Segment;

/// Parses an X12 `R` (decimal) value: optional minus, digits, optional fraction.
pub(crate) fn parse_decimal(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if body.len() > 28 {
        return None;
    }
    let v = if int.is_empty() {
        Decimal::from_str(&format!("0{body}")).ok()?
    } else {
        Decimal::from_str(body).ok()?
    };
    Some(if s.starts_with('-') { -v } else { v })
}

/// Money as a canonical decimal string with at least two decimals (`"80.00"`).
pub(crate) fn money(d: Decimal) -> String {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// A canonical amount written as an X12 `R` value: no trailing zeros (`"125.50"` -> `"125.5"`).
pub(crate) fn x12_amount(s: &str) -> Option<String> {
    let d = parse_decimal(s.trim())?;
    let n = d.normalize();
    Some(if n.is_zero() {
        "0".to_string()
    } else {
        n.to_string()
    })
}

/// Element `i` of `seg` as a required amount.
pub(crate) fn req_amount(seg: &Segment<'_>, i: usize) -> Result<Decimal, X12Error> {
    let e = seg.get(i);
    if e.is_empty() {
        return Err(seg.error(format!("{}{i:02} (amount) is missing", seg.id())));
    }
    parse_decimal(&e).ok_or_else(|| seg.error(format!("{}{i:02} is not a valid amount", seg.id())))
}

/// Element `i` of `seg` as an optional amount.
pub(crate) fn opt_amount(seg: &Segment<'_>, i: usize) -> Result<Option<Decimal>, X12Error> {
    if seg.element(i).is_empty() {
        return Ok(None);
    }
    req_amount(seg, i).map(Some)
}

/// Element `i` as an optional quantity (kept as written once checked numeric).
pub(crate) fn opt_quantity(seg: &Segment<'_>, i: usize) -> Result<Option<String>, X12Error> {
    let e = seg.get(i);
    if e.is_empty() {
        return Ok(None);
    }
    let d = parse_decimal(&e)
        .ok_or_else(|| seg.error(format!("{}{i:02} is not a valid quantity", seg.id())))?;
    Ok(Some(d.normalize().to_string()))
}

/// `CCYYMMDD` -> `CCYY-MM-DD`.
pub(crate) fn iso_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (m, d) = (&s[4..6], &s[6..8]);
    if !("01"..="12").contains(&m) || !("01"..="31").contains(&d) {
        return None;
    }
    Some(format!("{}-{}-{}", &s[..4], m, d))
}

/// Element `i` as a required `CCYYMMDD` date, in ISO form.
pub(crate) fn req_date(seg: &Segment<'_>, i: usize) -> Result<String, X12Error> {
    iso_date(&seg.get(i))
        .ok_or_else(|| seg.error(format!("{}{i:02} is not a CCYYMMDD date", seg.id())))
}

/// `CCYY-MM-DD` (or already `CCYYMMDD`) -> `CCYYMMDD`.
pub(crate) fn x12_date(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| *c != '-').collect();
    iso_date(&compact).map(|_| compact)
}

/// Free text made safe for an element: delimiters and control characters become spaces, runs
/// of spaces collapse.
pub(crate) fn text(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '*' | '~' | ':' | '^' | '>' | '|') || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Digits only (phone numbers, postal codes).
pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

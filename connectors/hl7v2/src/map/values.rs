//! Value helpers: where a record's values come from, and HL7 values in canonical form.

use super::*;

/// IN1 with the IN2 segments that follow it.
pub(super) fn in1_groups(msg: &Message) -> Vec<(&Segment, Vec<&Segment>)> {
    let mut groups: Vec<(&Segment, Vec<&Segment>)> = Vec::new();
    for seg in &msg.segments {
        match seg.id.as_str() {
            "IN1" => groups.push((seg, Vec::new())),
            "IN2" => {
                if let Some((_, in2)) = groups.last_mut() {
                    in2.push(seg);
                }
            }
            _ => {}
        }
    }
    groups
}

/// Where a patient's values come from (PID, from [`crate::mapping::MAPPING`]).
pub(super) fn patient_sources() -> Vec<(String, Location)> {
    crate::mapping::MAPPING
        .iter()
        .filter(|m| m.record == "patient")
        .flat_map(|m| {
            m.pointers
                .iter()
                .map(move |p| ((*p).to_owned(), loc(m.segment, 1, m.field)))
        })
        .collect()
}

/// Where coverage `seq`'s values come from: its IN1, or GT1 for a subscriber taken from
/// the guarantor.
pub(super) fn coverage_sources(
    seq: usize,
    in1: &Segment,
    guarantor: Option<&Segment>,
) -> Vec<(String, Location)> {
    let from_guarantor =
        in1.repetitions(16).first().is_none_or(|r| r.is_empty()) && guarantor.is_some();
    let mut out = vec![("/patient_external_id".to_owned(), loc("PID", 1, 3))];
    for m in crate::mapping::MAPPING
        .iter()
        .filter(|m| m.record == "coverage")
    {
        for p in m.pointers {
            let at = match (from_guarantor, m.field) {
                (true, 16) => loc("GT1", 1, 3),
                (true, 18) => loc("GT1", 1, 8),
                (true, 19) => loc("GT1", 1, 5),
                (true, 43) => loc("GT1", 1, 9),
                _ => loc(m.segment, seq, m.field),
            };
            out.push(((*p).to_owned(), at));
        }
    }
    out
}

/// What one FT1 is.
pub(super) enum Transaction {
    /// A charge (CG) and its FT1-19 diagnosis codes.
    Charge(Box<ServiceLine>, Vec<String>),
    /// A credit (CD): its transaction id (FT1-2) and filler order number (FT1-23).
    Credit((Option<String>, Option<String>)),
}

/// HL7 table 0205 (price type).
pub(super) const PRICE_TYPES: &[&str] = &["AP", "DC", "IC", "PF", "TF", "TP", "UP"];

/// Where an FT1's procedure code is: FT1-25, else FT1-7 (transaction code) when that is
/// coded in CPT or HCPCS (CE-3 `C4`, `CPT`, `CPT4`, `HCPCS`, `HCPT`).
pub(super) fn procedure_field(ft1: &Segment) -> usize {
    if ft1.presence(25) == Presence::Valued {
        return 25;
    }
    let system = ft1
        .repetitions(7)
        .first()
        .and_then(|rep| rep.raw(3, 1))
        .map(str::to_ascii_uppercase);
    match system.as_deref() {
        Some("C4" | "CPT" | "CPT4" | "HCPCS" | "HCPT" | "HC") => 7,
        _ => 25,
    }
}

/// `YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]` to `YYYY-MM-DD`, checking the calendar.
pub fn iso_date(value: &str) -> Option<String> {
    let digits = value.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = &value[8..];
    if !rest
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-'))
    {
        return None;
    }
    let year: u32 = digits[..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..8].parse().ok()?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1800 || day == 0 || day > days {
        return None;
    }
    Some(format!(
        "{}-{}-{}",
        &digits[..4],
        &digits[4..6],
        &digits[6..8]
    ))
}

/// HL7 table 0001 (administrative sex, v2.5.1) to canonical sex; `None` for a value outside
/// the table. Empty and null are unknown.
pub(super) fn sex(value: Option<&str>) -> Option<Sex> {
    match value.map(str::to_ascii_uppercase).as_deref() {
        Some("M") => Some(Sex::Male),
        Some("F") => Some(Sex::Female),
        Some("O") | Some("A") => Some(Sex::Other),
        None | Some("U") | Some("N") => Some(Sex::Unknown),
        Some(_) => None,
    }
}

/// HL7 table 0063 (and the X12 individual relationship codes some senders use).
pub(super) fn relationship(value: Option<&str>) -> SubscriberRelationship {
    match value.map(str::to_ascii_uppercase).as_deref() {
        None | Some("SEL") | Some("18") | Some("SELF") => SubscriberRelationship::SelfInsured,
        Some("SPO") | Some("DOM") | Some("01") => SubscriberRelationship::Spouse,
        Some("CHD") | Some("SCH") | Some("FCH") | Some("19") => SubscriberRelationship::Child,
        _ => SubscriberRelationship::Other,
    }
}

/// XAD-6 to ISO alpha-2; the US (absent in canonical form) and unknown values give `None`
/// for US and the value as sent otherwise.
pub(super) fn country(value: &str) -> Option<String> {
    let upper = value.to_ascii_uppercase();
    match upper.as_str() {
        "US" | "USA" => None,
        "CAN" => Some("CA".to_owned()),
        "MEX" => Some("MX".to_owned()),
        _ => Some(upper),
    }
}

/// Nine digits, written `123-45-6789`.
pub(super) fn normalize_ssn(value: &str) -> Option<String> {
    let digits: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{}-{}-{}", &digits[..3], &digits[3..5], &digits[5..]))
}

/// An HL7 NM value as a canonical decimal string: optional sign, digits, optional fraction.
pub(super) fn decimal(value: &str) -> Option<String> {
    let unsigned = value.strip_prefix('+').unwrap_or(value);
    let body = unsigned.strip_prefix('-').unwrap_or(unsigned);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if unsigned.starts_with('-') { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// A decimal with at least two fraction digits.
pub(super) fn money(value: String) -> String {
    match value.split_once('.') {
        None => format!("{value}.00"),
        Some((_, frac)) if frac.len() == 1 => format!("{value}0"),
        Some(_) => value,
    }
}

/// CPT (five digits, or four and `F`/`T` for categories II and III) or HCPCS level II (a
/// letter and four digits), upper-cased.
pub(super) fn procedure_code(value: &str) -> Option<String> {
    let code = value.trim().to_ascii_uppercase();
    let b = code.as_bytes();
    let ok = b.len() == 5
        && (b[..4].iter().all(u8::is_ascii_digit)
            && (b[4].is_ascii_digit() || matches!(b[4], b'F' | b'T'))
            || b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit));
    ok.then_some(code)
}

/// ICD-10-CM in its dotted form (`J06.9`), accepting the undotted form senders often use.
pub fn icd10cm(value: &str) -> Option<String> {
    let code: String = value.trim().to_ascii_uppercase().replace('.', "");
    let b = code.as_bytes();
    let ok = (3..=7).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2..].iter().all(u8::is_ascii_alphanumeric);
    if !ok {
        return None;
    }
    Some(if code.len() > 3 {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code
    })
}

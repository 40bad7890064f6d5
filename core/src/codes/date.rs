//! Calendar dates exactly as the OpenAPI document publishes them: `YYYY-MM-DD` (RFC 3339
//! `full-date`), four-digit years within a range a billing record can mean. chrono's own
//! parser also takes `2026-1-1` and `+002026-01-01`, which the document does not allow.

use chrono::NaiveDate;

use super::CodeError;

/// Earliest date accepted anywhere (birth dates of the oldest living patients are later).
pub const EARLIEST: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
/// Latest date accepted anywhere: a coverage may end decades ahead, nothing ends in 9999.
pub const LATEST: NaiveDate = NaiveDate::from_ymd_opt(2199, 12, 31).expect("valid date");

const SHAPE: &str = "must be a date written YYYY-MM-DD";
const RANGE: &str = "must be a date from 1900-01-01 to 2199-12-31";

/// Parses `YYYY-MM-DD` exactly: ten characters, ASCII digits, a real calendar day, in range.
pub fn parse_date(s: &str) -> Result<NaiveDate, CodeError> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(CodeError(SHAPE));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| CodeError(SHAPE))?;
    if !(EARLIEST..=LATEST).contains(&date) {
        return Err(CodeError(RANGE));
    }
    Ok(date)
}

/// `deserialize_with` for a date field.
pub fn de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse_date(&s).map_err(serde::de::Error::custom)
}

/// `deserialize_with` for an optional date field (with `default`, so it may be left out).
pub fn de_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let s = <Option<std::borrow::Cow<'de, str>> as serde::Deserialize>::deserialize(d)?;
    s.map(|s| parse_date(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_published_shape_and_range_are_dates() {
        assert_eq!(
            parse_date("2026-11-02").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
        );
        for bad in [
            "2026-1-1",
            "+002026-01-01",
            "2026-01-01T00:00:00Z",
            " 2026-01-01",
            "2026/01/01",
            "20260101",
            "2026-02-30",
            "２０２６-01-01",
        ] {
            assert_eq!(parse_date(bad).unwrap_err().0, SHAPE, "{bad}");
        }
        for far in ["9999-12-31", "1899-12-31", "0001-01-01"] {
            assert_eq!(parse_date(far).unwrap_err().0, RANGE, "{far}");
        }
    }

    #[test]
    fn fields_deserialize_strictly_and_optional_ones_may_be_absent_or_null() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "de")]
            at: NaiveDate,
            #[serde(default, deserialize_with = "de_opt")]
            until: Option<NaiveDate>,
        }
        let t: T = serde_json::from_str(r#"{"at": "2026-01-02"}"#).unwrap();
        assert_eq!((t.at.to_string(), t.until), ("2026-01-02".into(), None));
        let t: T = serde_json::from_str(r#"{"at": "2026-01-02", "until": null}"#).unwrap();
        assert_eq!(t.until, None);
        assert!(serde_json::from_str::<T>(r#"{"at": "2026-1-2"}"#).is_err());
        assert!(
            serde_json::from_str::<T>(r#"{"at": "2026-01-02", "until": "+2026-01-02"}"#).is_err()
        );
    }
}

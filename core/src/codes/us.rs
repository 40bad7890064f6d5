use super::{CodeError, string_value_type};

const STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "AA",
    "AE", "AP",
];

/// A USPS state, district, territory or military code (N402).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsState(&'static str);

impl UsState {
    pub fn parse(s: &str) -> Result<UsState, CodeError> {
        let up = s.trim().to_ascii_uppercase();
        STATES
            .iter()
            .find(|c| **c == up)
            .map(|c| UsState(c))
            .ok_or(CodeError("state must be a two-letter USPS state or territory code"))
    }
    pub fn as_str(&self) -> &str {
        self.0
    }
}

string_value_type!(UsState, "IL", "^[A-Za-z]{2}$", "USPS state or territory code");

/// A ZIP code: five or nine digits ("62701" or "62701-1234"), stored as digits only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZipCode(String);

impl ZipCode {
    pub fn parse(s: &str) -> Result<ZipCode, CodeError> {
        let s = s.trim();
        let digits: String = match s.split_once('-') {
            Some((a, b)) if a.len() == 5 && b.len() == 4 => format!("{a}{b}"),
            Some(_) => return Err(CodeError("ZIP code must be five digits or ZIP+4")),
            None => s.to_string(),
        };
        if !(digits.len() == 5 || digits.len() == 9) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError("ZIP code must be five digits or ZIP+4"));
        }
        Ok(ZipCode(digits))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(ZipCode, "62701", "^[0-9]{5}(-?[0-9]{4})?$", "ZIP or ZIP+4 code");

/// A Health Care Provider Taxonomy code (PRV03): ten characters ending in X.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Taxonomy(String);

impl Taxonomy {
    pub fn parse(s: &str) -> Result<Taxonomy, CodeError> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = b.len() == 10
            && b[..3].iter().all(u8::is_ascii_digit)
            && b[3..9].iter().all(u8::is_ascii_alphanumeric)
            && b[9] == b'X';
        if !ok {
            return Err(CodeError("taxonomy must be a ten-character provider taxonomy code ending in X"));
        }
        Ok(Taxonomy(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(Taxonomy, "207Q00000X", "^[0-9]{3}[0-9A-Za-z]{6}[Xx]$", "Health Care Provider Taxonomy code");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(UsState::parse("il").unwrap().as_str(), "IL");
        assert!(UsState::parse("ZZ").is_err());
        assert_eq!(ZipCode::parse("62701-1234").unwrap().as_str(), "627011234");
        assert_eq!(ZipCode::parse("62701").unwrap().as_str(), "62701");
        for bad in ["6270", "627011", "62701-12", "abcde"] {
            assert!(ZipCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Taxonomy::parse("207q00000x").unwrap().as_str(), "207Q00000X");
        assert!(Taxonomy::parse("207Q00000").is_err());
    }
}

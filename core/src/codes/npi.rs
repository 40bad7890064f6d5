use super::{CodeError, string_value_type};

/// National Provider Identifier: ten digits whose last is a Luhn check digit computed over the
/// card-issuer prefix 80840 and the first nine digits (45 CFR 162.406).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Npi(String);

impl Npi {
    pub fn parse(s: &str) -> Result<Npi, CodeError> {
        let s = s.trim();
        if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError("NPI must be exactly ten digits"));
        }
        if !luhn_ok(&format!("80840{s}")) {
            return Err(CodeError("NPI check digit is wrong"));
        }
        Ok(Npi(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum % 10 == 0
}

string_value_type!(Npi, "1234567893", "^[0-9]{10}$", "National Provider Identifier (10 digits, Luhn check digit)");

/// Federal tax identification number (EIN or SSN of a sole practitioner): nine digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tin(String);

impl Tin {
    pub fn parse(s: &str) -> Result<Tin, CodeError> {
        let s = s.trim();
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        let dashes_ok = s.chars().filter(|c| *c == '-').count() <= 2;
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) || !dashes_ok {
            return Err(CodeError("TIN must be nine digits (dashes allowed)"));
        }
        Ok(Tin(digits))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(Tin, "123456789", "^[0-9]{2}-?[0-9]{7}$|^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$", "Tax identification number (9 digits)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npi_check_digit() {
        assert!(Npi::parse("1234567893").is_ok());
        assert!(Npi::parse("1245319599").is_ok());
        assert_eq!(Npi::parse("1234567890"), Err(CodeError("NPI check digit is wrong")));
        assert!(Npi::parse("123456789").is_err());
        assert!(Npi::parse("12345678931").is_err());
        assert!(Npi::parse("12345a7893").is_err());
        assert_eq!(Npi::parse(" 1234567893 ").unwrap().as_str(), "1234567893");
    }

    #[test]
    fn npi_serde_and_error_never_echoes_input() {
        let n: Npi = serde_json::from_str("\"1234567893\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"1234567893\"");
        let e = serde_json::from_str::<Npi>("\"1234567890\"").unwrap_err().to_string();
        assert!(e.contains("check digit") && !e.contains("1234567890"), "{e}");
        assert!(serde_json::from_str::<Npi>("1234567893").is_err(), "numbers are not NPIs");
    }

    #[test]
    fn tin_forms() {
        assert_eq!(Tin::parse("12-3456789").unwrap().as_str(), "123456789");
        assert_eq!(Tin::parse("123456789").unwrap().as_str(), "123456789");
        assert!(Tin::parse("12-345678").is_err());
        assert!(Tin::parse("12-34a6789").is_err());
    }
}

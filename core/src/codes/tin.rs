use super::{CodeError, string_value_type};

/// Federal taxpayer identification number (an EIN, or the SSN of a sole practitioner): nine
/// digits. Accepted as `123456789`, in EIN form `12-3456789`, or in SSN form `123-45-6789`;
/// stored as the nine digits only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tin(String);

impl Tin {
    pub fn parse(s: &str) -> Result<Tin, CodeError> {
        const RULE: &str = "TIN must be nine digits, written 123456789, 12-3456789 or 123-45-6789";
        let s = s.trim();
        let b = s.as_bytes();
        let dashes_ok = match b.len() {
            9 => true,
            10 => b[2] == b'-',
            11 => b[3] == b'-' && b[6] == b'-',
            _ => false,
        };
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        if !dashes_ok || digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError(RULE));
        }
        Ok(Tin(digits))
    }

    /// The nine digits, without dashes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(
    Tin,
    example = "123456789",
    pattern = "^([0-9]{9}|[0-9]{2}-[0-9]{7}|[0-9]{3}-[0-9]{2}-[0-9]{4})$",
    description = "Federal taxpayer identification number (EIN or SSN): 9 digits, dashes optional; returned as 9 digits",
    expected = "TIN: nine digits",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    #[test]
    fn accepted_forms_store_digits() {
        for ok in ["12-3456789", "123456789", "123-45-6789", "  12-3456789 "] {
            assert_eq!(Tin::parse(ok).unwrap().as_str(), "123456789", "{ok}");
        }
    }

    #[test]
    fn rejected() {
        for bad in [
            "",
            "12-345678",
            "1234567890",
            "12-34a6789",
            "1-23456789",
            "12--3456789",
            "123456-789",
            "12 3456789",
            "-123456789",
            "123-456789",
        ] {
            assert!(Tin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde() {
        let t = Tin::parse("12-3456789").unwrap();
        round_trip(&t, "\"123456789\"");
        assert_eq!(serde_json::from_str::<Tin>("\"12-3456789\"").unwrap(), t);
        rejects_without_echo::<Tin>("\"98-76x4321\"", "nine digits", "76x");
        rejects_non_string::<Tin>("987654321", "nine digits", "987654321");
        string_schema_of::<Tin>();
    }
}

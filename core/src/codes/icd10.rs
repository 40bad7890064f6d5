use super::{CodeError, string_value_type};

/// An ICD-10-CM diagnosis code, by format: a letter, a digit, an alphanumeric, then up to four
/// more alphanumerics. Stored without the dot, upper case; whether the code exists and is
/// billable is a code-set question, not a format one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Icd10Code(String);

impl Icd10Code {
    pub fn parse(s: &str) -> Result<Icd10Code, CodeError> {
        const RULE: &str = "ICD-10-CM code must be a letter, a digit and an alphanumeric, then an optional dot and up to four alphanumerics";
        let s = s.trim().to_ascii_uppercase();
        let compact: String = match s.find('.') {
            Some(3) => s.replacen('.', "", 1),
            Some(_) => return Err(CodeError(RULE)),
            None => s,
        };
        let b = compact.as_bytes();
        let ok = (3..=7).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_digit()
            && b[2].is_ascii_alphanumeric()
            && b[3..].iter().all(u8::is_ascii_alphanumeric);
        if !ok {
            return Err(CodeError(RULE));
        }
        Ok(Icd10Code(compact))
    }

    /// The code without its dot, as 837P HI segments carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code with its dot after the category (E11.9).
    pub fn dotted(&self) -> String {
        if self.0.len() > 3 { format!("{}.{}", &self.0[..3], &self.0[3..]) } else { self.0.clone() }
    }
}

string_value_type!(Icd10Code, "E11.9", "^[A-Za-z][0-9][A-Za-z0-9](\\.?[A-Za-z0-9]{0,4})?$", "ICD-10-CM diagnosis code; the dot is optional");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(Icd10Code::parse("e11.9").unwrap().as_str(), "E119");
        assert_eq!(Icd10Code::parse("E119").unwrap().dotted(), "E11.9");
        assert_eq!(Icd10Code::parse("I10").unwrap().dotted(), "I10");
        assert_eq!(Icd10Code::parse("S72.001A").unwrap().as_str(), "S72001A");
        assert_eq!(Icd10Code::parse("U07.1").unwrap().as_str(), "U071");
        for bad in ["", "E1", "1NVALID", "E11.99999", "E1.19", "EE1.9", "E11-9", "E11.9."] {
            assert!(Icd10Code::parse(bad).is_err(), "{bad}");
        }
    }
}

use super::{CodeError, string_value_type};

/// An ICD-10-CM diagnosis code, by format only: a letter and two alphanumerics (the category;
/// the second character is a digit except in the QA0 category added in the April 2026 update),
/// then up to four more alphanumerics. The dot after the category is optional on
/// input; the code is stored without it, upper case, as 837 HI segments carry it. Whether the
/// code exists and is billable is a code-set question for another module.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Icd10Code(String);

const RULE: &str = "ICD-10-CM code must be a letter and two letters or digits, then an optional dot and up to four more letters or digits";

impl Icd10Code {
    pub fn parse(s: &str) -> Result<Icd10Code, CodeError> {
        let s = s.trim();
        let b = s.as_bytes();
        // Drop one dot, and only right after the three-character category with something after it.
        let compact: Vec<u8> = match s.find('.') {
            None => b.to_vec(),
            Some(3) if b.len() > 4 => [&b[..3], &b[4..]].concat(),
            Some(_) => return Err(CodeError(RULE)),
        };
        let ok = (3..=7).contains(&compact.len())
            && compact[0].is_ascii_alphabetic()
            && compact[1..].iter().all(u8::is_ascii_alphanumeric);
        if !ok {
            return Err(CodeError(RULE));
        }
        let mut code = String::from_utf8(compact).map_err(|_| CodeError(RULE))?;
        code.make_ascii_uppercase();
        Ok(Icd10Code(code))
    }

    /// A code known to be well-formed and normalized (from the shipped code set, checked when it
    /// was loaded).
    pub(super) fn from_valid(code: &str) -> Icd10Code {
        debug_assert_eq!(
            Icd10Code::parse(code).as_ref().map(Icd10Code::as_str),
            Ok(code)
        );
        Icd10Code(code.to_string())
    }

    /// The code without its dot ("E119"), as 837 HI segments carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-character category ("E11").
    pub fn category(&self) -> &str {
        &self.0[..3]
    }

    /// The code with the dot after the category ("E11.9"); a bare category has no dot ("I10").
    pub fn dotted(&self) -> String {
        if self.0.len() > 3 {
            format!("{}.{}", &self.0[..3], &self.0[3..])
        } else {
            self.0.clone()
        }
    }
}

string_value_type!(
    Icd10Code,
    example = "E11.9",
    pattern = "^[A-Za-z][A-Za-z0-9]{2}(\\.?[A-Za-z0-9]{1,4})?$",
    description = "ICD-10-CM diagnosis code (format only); the dot is optional on input and the code is returned without it",
    expected = "ICD-10-CM code such as E11.9",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    #[test]
    fn valid_and_normalized() {
        for (input, stored, dotted) in [
            ("E11.9", "E119", "E11.9"),
            ("e119", "E119", "E11.9"),
            ("I10", "I10", "I10"),
            ("S72.001A", "S72001A", "S72.001A"),
            ("s72001a", "S72001A", "S72.001A"),
            ("U07.1", "U071", "U07.1"),
            ("C4A.0", "C4A0", "C4A.0"),
            ("Z3A.20", "Z3A20", "Z3A.20"),
            ("QA0.0101", "QA00101", "QA0.0101"),
            ("qa0", "QA0", "QA0"),
            ("T36.0X1A", "T360X1A", "T36.0X1A"),
            ("  M54.50 ", "M5450", "M54.50"),
        ] {
            let c = Icd10Code::parse(input).unwrap();
            assert_eq!(
                (c.as_str(), c.dotted().as_str()),
                (stored, dotted),
                "{input}"
            );
            assert_eq!(c.category(), &stored[..3]);
        }
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "E1",
            "1NVALID",
            "E11.99999",
            "E1199999",
            "E1.19",
            "E11-9",
            "E11.9.",
            "E11.",
            ".E119",
            "E11..9",
            "E 11.9",
            "E11.9!",
            "É11.9",
            "E11.9 0",
        ] {
            assert_eq!(Icd10Code::parse(bad), Err(CodeError(RULE)), "{bad}");
        }
    }

    #[test]
    fn serde() {
        let c = Icd10Code::parse("e11.9").unwrap();
        round_trip(&c, "\"E119\"");
        assert_eq!(serde_json::from_str::<Icd10Code>("\"E11.9\"").unwrap(), c);
        rejects_without_echo::<Icd10Code>("\"F32.AZZZZ\"", "ICD-10-CM", "F32");
        rejects_non_string::<Icd10Code>("119", "ICD-10-CM", "119");
        string_schema_of::<Icd10Code>();
    }
}

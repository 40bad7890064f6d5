use super::{CodeError, string_value_type};

/// National Provider Identifier: ten digits whose last is a Luhn check digit computed over the
/// health-industry prefix 80840 and the first nine digits (45 CFR 162.406; CMS "Requirements for
/// the NPI check digit": the prefix is accounted for by adding the constant 24).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Npi(String);

impl Npi {
    pub fn parse(s: &str) -> Result<Npi, CodeError> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
            return Err(CodeError("NPI must be exactly ten digits"));
        }
        let digits: [u8; 9] = std::array::from_fn(|i| b[i] - b'0');
        if check_digit(&digits) != b[9] - b'0' {
            return Err(CodeError("NPI check digit is wrong"));
        }
        Ok(Npi(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The CMS algorithm: double every other digit of the first nine starting with the rightmost
/// (the 9th), add the digits of the products to the undoubled digits and to 24 (the contribution
/// of the 80840 prefix), and take the distance to the next multiple of ten.
fn check_digit(first_nine: &[u8; 9]) -> u8 {
    let sum: u32 = first_nine
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum::<u32>()
        + 24;
    ((10 - sum % 10) % 10) as u8
}

string_value_type!(
    Npi,
    example = "1234567893",
    pattern = "^[0-9]{10}$",
    description = "National Provider Identifier: 10 digits, the last a Luhn check digit over the 80840 prefix",
    expected = "NPI: ten digits",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    /// Plain Luhn over the full 15-digit card number 80840 + NPI, as an independent check.
    fn luhn_with_prefix(npi: &str) -> bool {
        let s = format!("80840{npi}");
        let sum: u32 = s
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    (d * 2) / 10 + (d * 2) % 10
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    #[test]
    fn valid_npis() {
        // 1234567893 is the CMS worked example; the others were computed by hand with the
        // CMS method (e.g. 100300012: doubled 2,0,0,0,1 -> 4+0+0+0+2, plus 0+3+0+1, plus 24 = 34 -> 6).
        for ok in [
            "1234567893",
            "1245319599",
            "1003000126",
            "1987654328",
            "2999999990",
            "1000000004",
        ] {
            assert!(luhn_with_prefix(ok), "{ok}");
            assert_eq!(Npi::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn wrong_check_digit() {
        assert_eq!(
            Npi::parse("1234567890"),
            Err(CodeError("NPI check digit is wrong"))
        );
        for last in 0..=9 {
            let s = format!("123456789{last}");
            assert_eq!(Npi::parse(&s).is_ok(), last == 3, "{s}");
            assert_eq!(Npi::parse(&s).is_ok(), luhn_with_prefix(&s), "{s}");
        }
        // A transposition of two adjacent digits is caught.
        assert!(Npi::parse("1234567839").is_err());
    }

    #[test]
    fn wrong_shape() {
        for bad in [
            "",
            "123456789",
            "12345678931",
            "12345a7893",
            "1234-567893",
            "１２３４５６７８９３",
            "+234567893",
        ] {
            assert_eq!(
                Npi::parse(bad),
                Err(CodeError("NPI must be exactly ten digits")),
                "{bad}"
            );
        }
    }

    #[test]
    fn trims_whitespace() {
        assert_eq!(Npi::parse(" 1234567893\n").unwrap().as_str(), "1234567893");
        assert_eq!(
            Npi::parse("\t1234567893").unwrap().to_string(),
            "1234567893"
        );
        assert_eq!(
            "1234567893".parse::<Npi>().unwrap(),
            Npi::parse("1234567893").unwrap()
        );
    }

    #[test]
    fn serde() {
        round_trip(&Npi::parse("1234567893").unwrap(), "\"1234567893\"");
        assert_eq!(
            serde_json::from_str::<Npi>("\" 1234567893 \"")
                .unwrap()
                .as_str(),
            "1234567893"
        );
        rejects_without_echo::<Npi>("\"1234567890\"", "check digit", "1234567890");
        rejects_non_string::<Npi>("1234567893", "ten digits", "1234567893");
        rejects_non_string::<Npi>("null", "ten digits", "1234567893");
        let v = string_schema_of::<Npi>();
        assert_eq!(v["pattern"], "^[0-9]{10}$");
    }
}

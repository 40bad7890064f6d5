use super::{CodeError, string_value_type};

/// USPS codes with their names: the 50 states, DC, the inhabited territories and the military
/// "states" (Armed Forces Americas, Europe, Pacific).
const STATES: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("AS", "American Samoa"),
    ("GU", "Guam"),
    ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
    ("AA", "Armed Forces Americas"),
    ("AE", "Armed Forces Europe"),
    ("AP", "Armed Forces Pacific"),
];

/// Other names in use for some of them.
const NAME_ALIASES: &[(&str, &str)] = &[
    ("VI", "Virgin Islands"),
    ("VI", "US Virgin Islands"),
    ("VI", "United States Virgin Islands"),
    ("VI", "Virgin Islands of the United States"),
    ("MP", "Commonwealth of the Northern Mariana Islands"),
    ("PR", "Commonwealth of Puerto Rico"),
    ("DC", "Washington DC"),
];

/// A name compared without case, dots, commas or extra spaces.
fn name_key(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A USPS state, district, territory or military code (837 N402), upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsState(&'static str, &'static str);

impl UsState {
    pub fn parse(s: &str) -> Result<UsState, CodeError> {
        let s = s.trim();
        STATES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(s))
            .map(|&(c, n)| UsState(c, n))
            .ok_or(CodeError(
                "state must be a two-letter USPS state, territory or military code",
            ))
    }

    pub fn as_str(&self) -> &str {
        self.0
    }

    /// A state by its USPS code or by its name as EHR exports write it ("Massachusetts",
    /// "new  york", "U.S. Virgin Islands", "District of Columbia"): case, dots and spacing do
    /// not matter.
    pub fn parse_code_or_name(s: &str) -> Result<UsState, CodeError> {
        if let Ok(state) = UsState::parse(s) {
            return Ok(state);
        }
        let key = name_key(s);
        STATES
            .iter()
            .map(|&(c, n)| (c, n, n))
            .chain(NAME_ALIASES.iter().map(|&(c, alias)| {
                let name = STATES
                    .iter()
                    .find(|(code, _)| *code == c)
                    .map_or("", |s| s.1);
                (c, name, alias)
            }))
            .find(|(_, _, n)| name_key(n) == key)
            .map(|(c, n, _)| UsState(c, n))
            .ok_or(CodeError(
                "state must be a USPS state, territory or military code, or the name of one",
            ))
    }

    /// The state's name ("Illinois").
    pub fn name(&self) -> &'static str {
        self.1
    }
}

string_value_type!(
    UsState,
    example = "IL",
    pattern = "^[A-Za-z]{2}$",
    description = "USPS two-letter state, DC, territory (PR, GU, VI, AS, MP) or military (AA, AE, AP) code; returned upper case",
    expected = "USPS state code",
);

/// A ZIP code: five digits or ZIP+4 ("62701", "627011234" or "62701-1234"), stored as the
/// digits only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZipCode(String);

impl ZipCode {
    pub fn parse(s: &str) -> Result<ZipCode, CodeError> {
        let s = s.trim();
        let b = s.as_bytes();
        let digits: String = match b.len() {
            5 | 9 => s.to_string(),
            10 if b[5] == b'-' => s.replacen('-', "", 1),
            _ => String::new(),
        };
        if !(digits.len() == 5 || digits.len() == 9) || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CodeError(
                "ZIP code must be five digits or ZIP+4 (nine digits, dash optional)",
            ));
        }
        Ok(ZipCode(digits))
    }

    /// A ZIP code as feeds write it: five digits, or ZIP+4 with a dash, a space or nothing
    /// between the parts ("02134-1234", "02134 1234", "021341234"). Stored as [`ZipCode::parse`]
    /// stores it, digits only.
    pub fn parse_lenient(s: &str) -> Result<ZipCode, CodeError> {
        let s = s.trim();
        match s.split_once([' ', '-']) {
            Some((zip5, plus4)) if zip5.len() == 5 && plus4.trim().len() == 4 => {
                ZipCode::parse(&format!("{zip5}{}", plus4.trim()))
            }
            _ => ZipCode::parse(s),
        }
    }

    /// The five or nine digits, without a dash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first five digits.
    pub fn zip5(&self) -> &str {
        &self.0[..5]
    }

    /// The four-digit add-on, when present.
    pub fn plus4(&self) -> Option<&str> {
        self.0.get(5..).filter(|s| !s.is_empty())
    }
}

string_value_type!(
    ZipCode,
    example = "62701",
    pattern = "^[0-9]{5}(-?[0-9]{4})?$",
    description = "ZIP code, five digits or ZIP+4 (dash optional); returned as digits only",
    expected = "ZIP code: five or nine digits",
);

/// A Health Care Provider Taxonomy code (837 PRV03): three digits, six letters or digits, and
/// X; upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Taxonomy(String);

impl Taxonomy {
    pub fn parse(s: &str) -> Result<Taxonomy, CodeError> {
        let s = s.trim();
        let b = s.as_bytes();
        let ok = b.len() == 10
            && b[..3].iter().all(u8::is_ascii_digit)
            && b[3..9].iter().all(u8::is_ascii_alphanumeric)
            && b[9].eq_ignore_ascii_case(&b'X');
        if !ok {
            return Err(CodeError(
                "taxonomy must be ten characters: three digits, six letters or digits, and a final X",
            ));
        }
        Ok(Taxonomy(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(
    Taxonomy,
    example = "207Q00000X",
    pattern = "^[0-9]{3}[0-9A-Za-z]{6}[Xx]$",
    description =
        "Health Care Provider Taxonomy code (10 characters ending in X); returned upper case",
    expected = "provider taxonomy code",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    #[test]
    fn states() {
        assert_eq!(UsState::parse("il").unwrap().as_str(), "IL");
        assert_eq!(UsState::parse(" Il ").unwrap().name(), "Illinois");
        for ok in [
            "DC", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP", "WY", "HI", "AK",
        ] {
            assert_eq!(UsState::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(STATES.len(), 50 + 1 + 5 + 3);
        for bad in [
            "", "ZZ", "I", "ILL", "Illinois", "XX", "FM", "PW", "MH", "CZ", "I1",
        ] {
            assert!(UsState::parse(bad).is_err(), "{bad}");
        }
        let mut codes: Vec<&str> = STATES.iter().map(|(c, _)| *c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), STATES.len());
    }

    #[test]
    fn states_by_name_as_feeds_write_them() {
        for (name, code) in [
            ("Massachusetts", "MA"),
            ("massachusetts", "MA"),
            ("  New   York ", "NY"),
            ("District of Columbia", "DC"),
            ("Puerto Rico", "PR"),
            ("U.S. Virgin Islands", "VI"),
            ("US Virgin Islands", "VI"),
            ("Virgin Islands", "VI"),
            ("Guam", "GU"),
            ("American Samoa", "AS"),
            ("Northern Mariana Islands", "MP"),
            ("Armed Forces Europe", "AE"),
            ("West Virginia", "WV"),
            ("ma", "MA"),
        ] {
            let s = UsState::parse_code_or_name(name).unwrap();
            assert_eq!(s.as_str(), code, "{name}");
        }
        assert_eq!(
            UsState::parse_code_or_name("Washington").unwrap().as_str(),
            "WA"
        );
        // Every name of the table reads back as its code.
        for (code, name) in STATES {
            assert_eq!(UsState::parse_code_or_name(name).unwrap().as_str(), *code);
        }
        for bad in ["", "Atlantis", "Mass.", "New", "Virginia West", "Ontario"] {
            let e = UsState::parse_code_or_name(bad).unwrap_err();
            assert!(!e.message().contains(bad) || bad.is_empty(), "{bad}");
        }
    }

    #[test]
    fn zip_plus_four_as_feeds_write_it() {
        for (input, stored) in [
            ("021341234", "021341234"),
            ("02134-1234", "021341234"),
            ("02134 1234", "021341234"),
            (" 02134 ", "02134"),
        ] {
            assert_eq!(ZipCode::parse_lenient(input).unwrap().as_str(), stored);
        }
        for bad in ["", "2134", "02134-12", "02134 12345", "0213a", "02134-"] {
            assert!(ZipCode::parse_lenient(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_serde() {
        round_trip(&UsState::parse("ny").unwrap(), "\"NY\"");
        rejects_without_echo::<UsState>("\"QQ\"", "USPS", "QQ");
        rejects_non_string::<UsState>("12", "USPS", "12");
        string_schema_of::<UsState>();
    }

    #[test]
    fn zips() {
        let z = ZipCode::parse("62701-1234").unwrap();
        assert_eq!(
            (z.as_str(), z.zip5(), z.plus4()),
            ("627011234", "62701", Some("1234"))
        );
        let z = ZipCode::parse(" 62701 ").unwrap();
        assert_eq!((z.as_str(), z.zip5(), z.plus4()), ("62701", "62701", None));
        assert_eq!(ZipCode::parse("627011234").unwrap().as_str(), "627011234");
        assert_eq!(ZipCode::parse("00501").unwrap().as_str(), "00501");
        for bad in [
            "",
            "6270",
            "627011",
            "62701-12",
            "62701-",
            "6270-11234",
            "abcde",
            "62701 1234",
            "62701--234",
            "627-011234",
        ] {
            assert!(ZipCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zip_serde() {
        round_trip(&ZipCode::parse("62701-1234").unwrap(), "\"627011234\"");
        assert_eq!(
            serde_json::from_str::<ZipCode>("\"62701-1234\"")
                .unwrap()
                .as_str(),
            "627011234"
        );
        rejects_without_echo::<ZipCode>("\"9021\"", "ZIP", "9021");
        rejects_non_string::<ZipCode>("90210", "five or nine digits", "90210");
        string_schema_of::<ZipCode>();
    }

    #[test]
    fn taxonomies() {
        assert_eq!(
            Taxonomy::parse("207q00000x").unwrap().as_str(),
            "207Q00000X"
        );
        for ok in [
            "207Q00000X",
            "363LF0000X",
            "2084P0800X",
            "122300000X",
            "261QP2300X",
        ] {
            assert_eq!(Taxonomy::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "207Q00000",
            "207Q00000XX",
            "20AQ00000X",
            "207Q00000Y",
            "207Q-0000X",
            "207Q 0000X",
        ] {
            assert!(Taxonomy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn taxonomy_serde() {
        round_trip(&Taxonomy::parse(" 363lf0000x").unwrap(), "\"363LF0000X\"");
        rejects_without_echo::<Taxonomy>("\"363LF0000\"", "taxonomy must be", "363LF");
        string_schema_of::<Taxonomy>();
    }
}

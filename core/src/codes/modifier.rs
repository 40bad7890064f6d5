use super::{CodeError, string_value_type};

/// A CPT/HCPCS procedure modifier (837P SV101-3..6): two letters or digits, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Modifier(String);

/// Short descriptions of common modifiers. Not a whitelist: any two alphanumerics parse.
const COMMON: &[(&str, &str)] = &[
    ("22", "increased procedural services"),
    (
        "24",
        "unrelated E/M service by the same physician during a postoperative period",
    ),
    (
        "25",
        "significant, separately identifiable E/M service on the same day as a procedure",
    ),
    ("26", "professional component"),
    ("33", "preventive service"),
    ("50", "bilateral procedure"),
    ("51", "multiple procedures"),
    ("52", "reduced services"),
    ("53", "discontinued procedure"),
    ("57", "decision for surgery"),
    (
        "58",
        "staged or related procedure during the postoperative period",
    ),
    ("59", "distinct procedural service"),
    ("76", "repeat procedure by the same physician"),
    ("77", "repeat procedure by another physician"),
    (
        "78",
        "unplanned return to the operating room during the postoperative period",
    ),
    ("79", "unrelated procedure during the postoperative period"),
    ("80", "assistant surgeon"),
    (
        "82",
        "assistant surgeon when a qualified resident is not available",
    ),
    ("91", "repeat clinical diagnostic laboratory test"),
    ("93", "synchronous telemedicine service via audio only"),
    (
        "95",
        "synchronous telemedicine service via real-time audio and video",
    ),
    (
        "AS",
        "assistant at surgery by a physician assistant, nurse practitioner or clinical nurse specialist",
    ),
    ("CR", "catastrophe or disaster related"),
    ("FS", "split or shared E/M visit"),
    (
        "GA",
        "waiver of liability statement issued as required by payer policy",
    ),
    (
        "GC",
        "performed in part by a resident under the direction of a teaching physician",
    ),
    (
        "GN",
        "services under an outpatient speech-language pathology plan of care",
    ),
    (
        "GO",
        "services under an outpatient occupational therapy plan of care",
    ),
    (
        "GP",
        "services under an outpatient physical therapy plan of care",
    ),
    (
        "GT",
        "via interactive audio and video telecommunication systems",
    ),
    (
        "GY",
        "item or service statutorily excluded or not a Medicare benefit",
    ),
    (
        "GZ",
        "item or service expected to be denied as not reasonable and necessary",
    ),
    ("JW", "drug amount discarded, not administered"),
    ("JZ", "zero drug amount discarded"),
    (
        "KX",
        "requirements specified in the medical policy have been met",
    ),
    ("LT", "left side"),
    ("QW", "CLIA-waived test"),
    ("RT", "right side"),
    ("TC", "technical component"),
    ("XE", "separate encounter"),
    ("XP", "separate practitioner"),
    ("XS", "separate structure"),
    ("XU", "unusual non-overlapping service"),
];

impl Modifier {
    pub fn parse(s: &str) -> Result<Modifier, CodeError> {
        let s = s.trim();
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CodeError("modifier must be exactly two letters or digits"));
        }
        Ok(Modifier(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short description for common modifiers; `None` for others (they are still valid).
    pub fn description(&self) -> Option<&'static str> {
        COMMON.iter().find(|(m, _)| *m == self.0).map(|(_, d)| *d)
    }
}

string_value_type!(
    Modifier,
    example = "25",
    pattern = "^[A-Za-z0-9]{2}$",
    description = "CPT/HCPCS procedure modifier: two letters or digits; returned upper case",
    expected = "procedure modifier: two letters or digits",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    #[test]
    fn valid_and_normalized() {
        assert_eq!(Modifier::parse("rt").unwrap().as_str(), "RT");
        assert_eq!(Modifier::parse(" 59 ").unwrap().as_str(), "59");
        assert_eq!(Modifier::parse("Xs").unwrap().as_str(), "XS");
        assert_eq!(Modifier::parse("ZZ").unwrap().description(), None);
    }

    #[test]
    fn invalid() {
        for bad in ["", "2", "255", "2-", " ", "R T", "é1"] {
            assert!(Modifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            Modifier::parse("26").unwrap().description(),
            Some("professional component")
        );
        assert_eq!(
            Modifier::parse("tc").unwrap().description(),
            Some("technical component")
        );
        for m in [
            "25", "26", "59", "TC", "50", "51", "76", "77", "91", "XE", "XS", "XP", "XU", "GT",
            "95", "GA", "GZ", "LT", "RT", "KX", "QW", "24", "57", "22", "52", "53", "78", "79",
            "80", "82", "AS", "GY", "GP", "GO", "GN", "CR",
        ] {
            assert!(Modifier::parse(m).unwrap().description().is_some(), "{m}");
        }
        // Every table entry is itself a valid modifier, listed once.
        for (i, (m, _)) in COMMON.iter().enumerate() {
            assert_eq!(Modifier::parse(m).unwrap().as_str(), *m);
            assert!(COMMON[i + 1..].iter().all(|(o, _)| o != m), "{m} twice");
        }
    }

    #[test]
    fn serde() {
        round_trip(&Modifier::parse("lt").unwrap(), "\"LT\"");
        rejects_without_echo::<Modifier>("\"QQQ\"", "two letters or digits", "QQQ");
        rejects_non_string::<Modifier>("59", "two letters or digits", "59");
        string_schema_of::<Modifier>();
    }
}

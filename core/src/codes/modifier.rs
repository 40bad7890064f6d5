use super::{CodeError, string_value_type};

/// A CPT/HCPCS procedure modifier: two alphanumerics, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Modifier(String);

const COMMON: &[(&str, &str)] = &[
    ("22", "increased procedural services"),
    ("24", "unrelated E/M service during a postoperative period"),
    ("25", "significant, separately identifiable E/M service on the same day"),
    ("26", "professional component"),
    ("50", "bilateral procedure"),
    ("51", "multiple procedures"),
    ("52", "reduced services"),
    ("53", "discontinued procedure"),
    ("57", "decision for surgery"),
    ("59", "distinct procedural service"),
    ("76", "repeat procedure by the same physician"),
    ("77", "repeat procedure by another physician"),
    ("78", "unplanned return to the operating room"),
    ("79", "unrelated procedure during the postoperative period"),
    ("80", "assistant surgeon"),
    ("82", "assistant surgeon when a qualified resident is not available"),
    ("91", "repeat clinical diagnostic laboratory test"),
    ("95", "synchronous telemedicine service"),
    ("AS", "assistant at surgery by a non-physician practitioner"),
    ("CR", "catastrophe or disaster related"),
    ("GA", "waiver of liability statement on file"),
    ("GN", "services under an outpatient speech-language pathology plan"),
    ("GO", "services under an outpatient occupational therapy plan"),
    ("GP", "services under an outpatient physical therapy plan"),
    ("GT", "via interactive audio and video telecommunication"),
    ("GY", "statutorily excluded item or service"),
    ("GZ", "item or service expected to be denied as not reasonable and necessary"),
    ("KX", "requirements in the medical policy have been met"),
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
        let s = s.trim().to_ascii_uppercase();
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CodeError("modifier must be two letters or digits"));
        }
        Ok(Modifier(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A short description for common modifiers.
    pub fn description(&self) -> Option<&'static str> {
        COMMON.iter().find(|(m, _)| *m == self.0).map(|(_, d)| *d)
    }
}

string_value_type!(Modifier, "25", "^[A-Za-z0-9]{2}$", "Procedure modifier (two characters)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers() {
        assert_eq!(Modifier::parse("rt").unwrap().as_str(), "RT");
        assert_eq!(Modifier::parse("25").unwrap().description(), Some("significant, separately identifiable E/M service on the same day"));
        assert!(Modifier::parse("ZZ").unwrap().description().is_none());
        for bad in ["", "2", "255", "2-"] {
            assert!(Modifier::parse(bad).is_err(), "{bad}");
        }
    }
}

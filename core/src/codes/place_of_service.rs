use super::{CodeError, string_value_type};

/// The CMS Place of Service code set: codes in use, with their CMS names. Unassigned codes
/// (00, 28-30, 35-40, 43-48, 59, 63-64, 67-70, 73-80, 82-98) are refused.
const CODES: &[(&str, &str)] = &[
    ("01", "Pharmacy"),
    ("02", "Telehealth Provided Other than in Patient's Home"),
    ("03", "School"),
    ("04", "Homeless Shelter"),
    ("05", "Indian Health Service Free-standing Facility"),
    ("06", "Indian Health Service Provider-based Facility"),
    ("07", "Tribal 638 Free-standing Facility"),
    ("08", "Tribal 638 Provider-based Facility"),
    ("09", "Prison/Correctional Facility"),
    ("10", "Telehealth Provided in Patient's Home"),
    ("11", "Office"),
    ("12", "Home"),
    ("13", "Assisted Living Facility"),
    ("14", "Group Home"),
    ("15", "Mobile Unit"),
    ("16", "Temporary Lodging"),
    ("17", "Walk-in Retail Health Clinic"),
    ("18", "Place of Employment-Worksite"),
    ("19", "Off Campus-Outpatient Hospital"),
    ("20", "Urgent Care Facility"),
    ("21", "Inpatient Hospital"),
    ("22", "On Campus-Outpatient Hospital"),
    ("23", "Emergency Room - Hospital"),
    ("24", "Ambulatory Surgical Center"),
    ("25", "Birthing Center"),
    ("26", "Military Treatment Facility"),
    ("27", "Outreach Site/Street"),
    ("31", "Skilled Nursing Facility"),
    ("32", "Nursing Facility"),
    ("33", "Custodial Care Facility"),
    ("34", "Hospice"),
    ("41", "Ambulance - Land"),
    ("42", "Ambulance - Air or Water"),
    ("49", "Independent Clinic"),
    ("50", "Federally Qualified Health Center"),
    ("51", "Inpatient Psychiatric Facility"),
    ("52", "Psychiatric Facility-Partial Hospitalization"),
    ("53", "Community Mental Health Center"),
    (
        "54",
        "Intermediate Care Facility/Individuals with Intellectual Disabilities",
    ),
    ("55", "Residential Substance Abuse Treatment Facility"),
    ("56", "Psychiatric Residential Treatment Center"),
    ("57", "Non-residential Substance Abuse Treatment Facility"),
    ("58", "Non-residential Opioid Treatment Facility"),
    ("60", "Mass Immunization Center"),
    ("61", "Comprehensive Inpatient Rehabilitation Facility"),
    ("62", "Comprehensive Outpatient Rehabilitation Facility"),
    ("65", "End-Stage Renal Disease Treatment Facility"),
    (
        "66",
        "Programs of All-Inclusive Care for the Elderly (PACE) Center",
    ),
    ("71", "Public Health Clinic"),
    ("72", "Rural Health Clinic"),
    ("81", "Independent Laboratory"),
    ("99", "Other Place of Service"),
];

/// A CMS place-of-service code in use (837P CLM05-1, SV105).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaceOfService(&'static str, &'static str);

impl PlaceOfService {
    pub fn parse(s: &str) -> Result<PlaceOfService, CodeError> {
        let s = s.trim();
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError("place of service must be two digits"));
        }
        CODES
            .iter()
            .find(|(c, _)| *c == s)
            .map(|&(c, n)| PlaceOfService(c, n))
            .ok_or(CodeError(
                "place of service must be a code in the CMS Place of Service code set",
            ))
    }

    pub fn as_str(&self) -> &str {
        self.0
    }

    /// The CMS name of the place ("Office").
    pub fn name(&self) -> &'static str {
        self.1
    }

    /// Every code in the set, in code order.
    pub fn all() -> impl Iterator<Item = PlaceOfService> {
        CODES.iter().map(|&(c, n)| PlaceOfService(c, n))
    }
}

string_value_type!(
    PlaceOfService,
    example = "11",
    pattern = "^[0-9]{2}$",
    description = "CMS Place of Service code (two digits, a code in use)",
    expected = "place of service: two digits",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    #[test]
    fn valid() {
        assert_eq!(PlaceOfService::parse("11").unwrap().name(), "Office");
        assert_eq!(PlaceOfService::parse(" 02 ").unwrap().as_str(), "02");
        assert_eq!(
            PlaceOfService::parse("23").unwrap().name(),
            "Emergency Room - Hospital"
        );
        assert_eq!(
            PlaceOfService::parse("66").unwrap().name(),
            "Programs of All-Inclusive Care for the Elderly (PACE) Center"
        );
    }

    #[test]
    fn exactly_the_codes_in_use() {
        let expected: Vec<u32> = (1..=27)
            .chain(31..=34)
            .chain([41, 42])
            .chain(49..=58)
            .chain(60..=62)
            .chain([65, 66, 71, 72, 81, 99])
            .collect();
        assert_eq!(expected.len(), 52);
        for n in 0..=99u32 {
            let code = format!("{n:02}");
            let r = PlaceOfService::parse(&code);
            assert_eq!(r.is_ok(), expected.contains(&n), "{code}");
            if let Ok(p) = r {
                assert!(!p.name().is_empty());
            }
        }
        let all: Vec<String> = PlaceOfService::all().map(|p| p.to_string()).collect();
        assert_eq!(all.len(), 52);
        assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    }

    #[test]
    fn invalid_shape() {
        for bad in ["", "1", "011", "AB", "1a", "+1", "100"] {
            assert_eq!(
                PlaceOfService::parse(bad),
                Err(CodeError("place of service must be two digits")),
                "{bad}"
            );
        }
        assert!(
            PlaceOfService::parse("30")
                .unwrap_err()
                .message()
                .contains("code set")
        );
    }

    #[test]
    fn serde() {
        round_trip(&PlaceOfService::parse("11").unwrap(), "\"11\"");
        round_trip(&PlaceOfService::parse("02").unwrap(), "\"02\"");
        rejects_without_echo::<PlaceOfService>("\"98\"", "code set", "98");
        rejects_non_string::<PlaceOfService>("11", "two digits", "11");
        string_schema_of::<PlaceOfService>();
    }
}

use super::{CodeError, string_value_type};

/// CMS place-of-service codes in use, with their names.
const CODES: &[(&str, &str)] = &[
    ("01", "Pharmacy"),
    ("02", "Telehealth provided other than in patient's home"),
    ("03", "School"),
    ("04", "Homeless shelter"),
    ("05", "Indian Health Service free-standing facility"),
    ("06", "Indian Health Service provider-based facility"),
    ("07", "Tribal 638 free-standing facility"),
    ("08", "Tribal 638 provider-based facility"),
    ("09", "Prison/correctional facility"),
    ("10", "Telehealth provided in patient's home"),
    ("11", "Office"),
    ("12", "Home"),
    ("13", "Assisted living facility"),
    ("14", "Group home"),
    ("15", "Mobile unit"),
    ("16", "Temporary lodging"),
    ("17", "Walk-in retail health clinic"),
    ("18", "Place of employment-worksite"),
    ("19", "Off campus-outpatient hospital"),
    ("20", "Urgent care facility"),
    ("21", "Inpatient hospital"),
    ("22", "On campus-outpatient hospital"),
    ("23", "Emergency room - hospital"),
    ("24", "Ambulatory surgical center"),
    ("25", "Birthing center"),
    ("26", "Military treatment facility"),
    ("27", "Outreach site/street"),
    ("31", "Skilled nursing facility"),
    ("32", "Nursing facility"),
    ("33", "Custodial care facility"),
    ("34", "Hospice"),
    ("41", "Ambulance - land"),
    ("42", "Ambulance - air or water"),
    ("49", "Independent clinic"),
    ("50", "Federally qualified health center"),
    ("51", "Inpatient psychiatric facility"),
    ("52", "Psychiatric facility-partial hospitalization"),
    ("53", "Community mental health center"),
    ("54", "Intermediate care facility/individuals with intellectual disabilities"),
    ("55", "Residential substance abuse treatment facility"),
    ("56", "Psychiatric residential treatment center"),
    ("57", "Non-residential substance abuse treatment facility"),
    ("58", "Non-residential opioid treatment facility"),
    ("60", "Mass immunization center"),
    ("61", "Comprehensive inpatient rehabilitation facility"),
    ("62", "Comprehensive outpatient rehabilitation facility"),
    ("65", "End-stage renal disease treatment facility"),
    ("66", "Programs of All-Inclusive Care for the Elderly (PACE) center"),
    ("71", "Public health clinic"),
    ("72", "Rural health clinic"),
    ("81", "Independent laboratory"),
    ("99", "Other place of service"),
];

/// A CMS place-of-service code (837P CLM05-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlaceOfService(&'static str);

impl PlaceOfService {
    pub fn parse(s: &str) -> Result<PlaceOfService, CodeError> {
        let s = s.trim();
        CODES
            .iter()
            .find(|(c, _)| *c == s)
            .map(|(c, _)| PlaceOfService(c))
            .ok_or(CodeError("place of service must be a two-digit CMS place-of-service code in use"))
    }
    pub fn as_str(&self) -> &str {
        self.0
    }
    pub fn name(&self) -> &'static str {
        CODES.iter().find(|(c, _)| *c == self.0).map(|(_, n)| *n).unwrap_or("")
    }
}

string_value_type!(PlaceOfService, "11", "^[0-9]{2}$", "CMS place-of-service code");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(PlaceOfService::parse("11").unwrap().name(), "Office");
        assert_eq!(PlaceOfService::parse("02").unwrap().as_str(), "02");
        for bad in ["00", "28", "30", "98", "1", "011", "AB"] {
            assert!(PlaceOfService::parse(bad).is_err(), "{bad}");
        }
    }
}

//! Small X12 code lists used on claims, as enums with their JSON form and X12 code.

use serde::{Deserialize, Serialize};

/// CLM05-3 claim frequency type code. JSON value is the code itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ClaimFrequency {
    /// Original claim.
    #[serde(rename = "1")]
    Original,
    /// Replacement of a prior claim.
    #[serde(rename = "7")]
    Replacement,
    /// Void/cancel of a prior claim.
    #[serde(rename = "8")]
    Void,
}

impl ClaimFrequency {
    pub fn code(&self) -> &'static str {
        match self {
            ClaimFrequency::Original => "1",
            ClaimFrequency::Replacement => "7",
            ClaimFrequency::Void => "8",
        }
    }
}

/// The patient's relationship to the subscriber (SBR02 / PAT01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberRelationship {
    /// The patient is the subscriber.
    #[serde(rename = "self")]
    SelfRelation,
    Spouse,
    Child,
    Other,
}

impl SubscriberRelationship {
    pub fn x12_code(&self) -> &'static str {
        match self {
            SubscriberRelationship::SelfRelation => "18",
            SubscriberRelationship::Spouse => "01",
            SubscriberRelationship::Child => "19",
            SubscriberRelationship::Other => "G8",
        }
    }
}

/// Order in which coverages pay (SBR01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoveragePriority {
    Primary,
    Secondary,
    Tertiary,
}

impl CoveragePriority {
    pub fn x12_code(&self) -> &'static str {
        match self {
            CoveragePriority::Primary => "P",
            CoveragePriority::Secondary => "S",
            CoveragePriority::Tertiary => "T",
        }
    }
}

/// SBR09 claim filing indicator. JSON value is the X12 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ClaimFilingIndicator {
    #[serde(rename = "11")]
    OtherNonFederal,
    #[serde(rename = "12")]
    Ppo,
    #[serde(rename = "13")]
    Pos,
    #[serde(rename = "14")]
    Epo,
    #[serde(rename = "15")]
    IndemnityInsurance,
    #[serde(rename = "16")]
    HmoMedicareRisk,
    #[serde(rename = "17")]
    DentalMaintenance,
    #[serde(rename = "AM")]
    AutomobileMedical,
    #[serde(rename = "BL")]
    BlueCrossBlueShield,
    #[serde(rename = "CH")]
    Champus,
    #[serde(rename = "CI")]
    CommercialInsurance,
    #[serde(rename = "DS")]
    Disability,
    #[serde(rename = "FI")]
    FederalEmployeesProgram,
    #[serde(rename = "HM")]
    Hmo,
    #[serde(rename = "LM")]
    LiabilityMedical,
    #[serde(rename = "MA")]
    MedicarePartA,
    #[serde(rename = "MB")]
    MedicarePartB,
    #[serde(rename = "MC")]
    Medicaid,
    #[serde(rename = "OF")]
    OtherFederalProgram,
    #[serde(rename = "TV")]
    TitleV,
    #[serde(rename = "VA")]
    VeteransAffairsPlan,
    #[serde(rename = "WC")]
    WorkersCompensation,
    #[serde(rename = "ZZ")]
    MutuallyDefined,
}

/// 837P DMG03 administrative sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AdministrativeSex {
    #[serde(rename = "F")]
    Female,
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "U")]
    Unknown,
}

impl AdministrativeSex {
    pub fn parse(s: &str) -> Option<AdministrativeSex> {
        match s {
            "F" => Some(AdministrativeSex::Female),
            "M" => Some(AdministrativeSex::Male),
            "U" => Some(AdministrativeSex::Unknown),
            _ => None,
        }
    }
}

/// Which claim slots a provider may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRole {
    /// Billing provider (loop 2010AA): the practice that is paid.
    Billing,
    /// Rendering provider (loop 2310B): the clinician who gave the service.
    Rendering,
    /// Both, e.g. a solo practitioner billing under their own NPI.
    Both,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_x12_codes() {
        assert_eq!(serde_json::to_string(&ClaimFrequency::Replacement).unwrap(), "\"7\"");
        assert_eq!(serde_json::from_str::<ClaimFilingIndicator>("\"MB\"").unwrap(), ClaimFilingIndicator::MedicarePartB);
        assert!(serde_json::from_str::<ClaimFilingIndicator>("\"XX\"").is_err());
        let rel: SubscriberRelationship = serde_json::from_str("\"self\"").unwrap();
        assert_eq!(rel.x12_code(), "18");
        assert_eq!(serde_json::to_string(&AdministrativeSex::Female).unwrap(), "\"F\"");
        assert_eq!(CoveragePriority::Secondary.x12_code(), "S");
    }
}

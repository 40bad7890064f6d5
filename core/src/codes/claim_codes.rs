//! Small X12 code lists used on claims, as enums with their JSON value and X12 code.
//!
//! Serde and the OpenAPI schema are implemented by hand from one table per enum so that a
//! refused value gets a fixed message listing the allowed values (serde's derived message would
//! quote the input back).

use super::CodeError;
use super::de::StrVisitor;

/// Declares a fieldless enum whose JSON form is a fixed string per variant, and implements
/// `ALL`, `as_str`, `parse`, `Display`, `FromStr`, string serde and an OpenAPI enum schema.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $json:tt ),+ $(,)?
        }
        rule = $rule:expr,
        description = $desc:expr $(,)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The JSON value.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $json),+
                }
            }

            /// Parses the JSON value (surrounding whitespace trimmed, case as listed).
            pub fn parse(s: &str) -> Result<$name, CodeError> {
                match s.trim() {
                    $($json => Ok($name::$variant),)+
                    _ => Err(CodeError($rule)),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = CodeError;
            fn from_str(s: &str) -> Result<$name, CodeError> {
                $name::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(StrVisitor::new($name::parse, $rule))
            }
        }

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .description(Some($desc))
                    .enum_values(Some($name::ALL.iter().map(|v| v.as_str())))
                    .examples([::serde_json::Value::String($name::ALL[0].as_str().to_string())])
                    .into()
            }
        }
        impl ::utoipa::ToSchema for $name {}
    };
}

code_enum! {
    /// CLM05-3 claim frequency type code. The JSON value is the X12 code itself.
    pub enum ClaimFrequency {
        /// Original claim.
        Original = "1",
        /// Corrected (replacement of a prior) claim.
        Replacement = "7",
        /// Void/cancel of a prior claim.
        Void = "8",
    }
    rule = "claim frequency must be \"1\" (original), \"7\" (replacement) or \"8\" (void)",
    description = "Claim frequency type code (CLM05-3): 1 original, 7 replacement, 8 void",
}

impl ClaimFrequency {
    /// The X12 code (CLM05-3).
    pub fn code(&self) -> &'static str {
        self.as_str()
    }

    /// Whether the claim refers to a prior claim (replacement or void), which then needs the
    /// payer's claim control number (REF*F8).
    pub fn refers_to_prior_claim(&self) -> bool {
        !matches!(self, ClaimFrequency::Original)
    }
}

code_enum! {
    /// The patient's relationship to the subscriber: individual relationship code of 837
    /// SBR02 (loop 2000B, "18" when the patient is the subscriber) and PAT01 (loop 2000C).
    pub enum SubscriberRelationship {
        /// The patient is the subscriber.
        SelfRelation = "self",
        Spouse = "spouse",
        Child = "child",
        /// Any other relationship (X12 G8).
        Other = "other",
    }
    rule = "relationship must be \"self\", \"spouse\", \"child\" or \"other\"",
    description = "Patient's relationship to the subscriber (X12 SBR02/PAT01: self 18, spouse 01, child 19, other G8)",
}

impl SubscriberRelationship {
    /// The X12 individual relationship code.
    pub fn x12_code(&self) -> &'static str {
        match self {
            SubscriberRelationship::SelfRelation => "18",
            SubscriberRelationship::Spouse => "01",
            SubscriberRelationship::Child => "19",
            SubscriberRelationship::Other => "G8",
        }
    }

    /// Same as [`Self::x12_code`].
    pub fn code(&self) -> &'static str {
        self.x12_code()
    }

    /// From the X12 individual relationship code 18, 01, 19 or G8.
    pub fn from_x12_code(code: &str) -> Result<SubscriberRelationship, CodeError> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.x12_code() == code.trim())
            .ok_or(CodeError("X12 relationship code must be 18, 01, 19 or G8"))
    }
}

code_enum! {
    /// Payer responsibility sequence (SBR01): the order in which coverages pay.
    pub enum CoveragePriority {
        Primary = "primary",
        Secondary = "secondary",
        Tertiary = "tertiary",
    }
    rule = "coverage priority must be \"primary\", \"secondary\" or \"tertiary\"",
    description = "Order in which the coverage pays (X12 SBR01: P, S, T)",
}

impl CoveragePriority {
    /// The X12 payer responsibility sequence code.
    pub fn x12_code(&self) -> &'static str {
        match self {
            CoveragePriority::Primary => "P",
            CoveragePriority::Secondary => "S",
            CoveragePriority::Tertiary => "T",
        }
    }

    /// Same as [`Self::x12_code`].
    pub fn code(&self) -> &'static str {
        self.x12_code()
    }

    /// From the X12 code P, S or T.
    pub fn from_x12_code(code: &str) -> Result<CoveragePriority, CodeError> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.x12_code() == code.trim())
            .ok_or(CodeError("X12 payer responsibility code must be P, S or T"))
    }
}

code_enum! {
    /// SBR09 claim filing indicator code. The JSON value is the X12 code.
    pub enum ClaimFilingIndicator {
        OtherNonFederal = "11",
        Ppo = "12",
        Pos = "13",
        Epo = "14",
        IndemnityInsurance = "15",
        HmoMedicareRisk = "16",
        DentalMaintenance = "17",
        AutomobileMedical = "AM",
        BlueCrossBlueShield = "BL",
        Champus = "CH",
        CommercialInsurance = "CI",
        Disability = "DS",
        FederalEmployeesProgram = "FI",
        Hmo = "HM",
        LiabilityMedical = "LM",
        MedicarePartA = "MA",
        MedicarePartB = "MB",
        Medicaid = "MC",
        OtherFederalProgram = "OF",
        TitleV = "TV",
        VeteransAffairsPlan = "VA",
        WorkersCompensation = "WC",
        MutuallyDefined = "ZZ",
    }
    rule = "claim filing indicator must be an X12 SBR09 code: 11-17, AM, BL, CH, CI, DS, FI, HM, LM, MA, MB, MC, OF, TV, VA, WC or ZZ",
    description = "Claim filing indicator (X12 SBR09), e.g. MB Medicare Part B, MC Medicaid, CI commercial",
}

impl ClaimFilingIndicator {
    /// The X12 code (SBR09).
    pub fn code(&self) -> &'static str {
        self.as_str()
    }

    /// The X12 name of the code.
    pub fn description(&self) -> &'static str {
        use ClaimFilingIndicator::*;
        match self {
            OtherNonFederal => "Other Non-Federal Programs",
            Ppo => "Preferred Provider Organization (PPO)",
            Pos => "Point of Service (POS)",
            Epo => "Exclusive Provider Organization (EPO)",
            IndemnityInsurance => "Indemnity Insurance",
            HmoMedicareRisk => "Health Maintenance Organization (HMO) Medicare Risk",
            DentalMaintenance => "Dental Maintenance Organization",
            AutomobileMedical => "Automobile Medical",
            BlueCrossBlueShield => "Blue Cross/Blue Shield",
            Champus => "CHAMPUS (TRICARE)",
            CommercialInsurance => "Commercial Insurance Co.",
            Disability => "Disability",
            FederalEmployeesProgram => "Federal Employees Program",
            Hmo => "Health Maintenance Organization",
            LiabilityMedical => "Liability Medical",
            MedicarePartA => "Medicare Part A",
            MedicarePartB => "Medicare Part B",
            Medicaid => "Medicaid",
            OtherFederalProgram => "Other Federal Program",
            TitleV => "Title V",
            VeteransAffairsPlan => "Veterans Affairs Plan",
            WorkersCompensation => "Workers' Compensation Health Claim",
            MutuallyDefined => "Mutually Defined",
        }
    }
}

code_enum! {
    /// Administrative sex as 837 DMG03 carries it. The JSON value is the X12 code.
    pub enum AdministrativeSex {
        Female = "F",
        Male = "M",
        Unknown = "U",
    }
    rule = "sex must be \"F\", \"M\" or \"U\"",
    description = "Administrative sex (X12 DMG03): F, M or U",
}

impl AdministrativeSex {
    /// The X12 code (DMG03).
    pub fn code(&self) -> &'static str {
        self.as_str()
    }
}

code_enum! {
    /// A claim slot a provider may fill. One NPI is one provider, holding any set of roles
    /// (a solo practitioner bills and renders under the same NPI).
    pub enum ProviderRole {
        /// Billing provider (837P loop 2010AA): the practice that is paid.
        Billing = "billing",
        /// Rendering provider (loop 2310B): the clinician who gave the service.
        Rendering = "rendering",
        /// Referring provider (loop 2310A).
        Referring = "referring",
        /// Supervising provider (loop 2310D).
        Supervising = "supervising",
    }
    rule = "provider role must be \"billing\", \"rendering\", \"referring\" or \"supervising\"",
    description = "A claim slot the provider may fill: billing, rendering, referring or supervising",
}

impl ProviderRole {
    /// A role set in canonical form: sorted (billing, rendering, referring, supervising) and
    /// without repeats.
    pub fn canonical_set(roles: &[ProviderRole]) -> Vec<ProviderRole> {
        let mut out = roles.to_vec();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;
    use std::str::FromStr;

    /// Every variant round-trips through JSON, `parse`, `FromStr` and `Display`, values are
    /// unique, and the schema lists exactly them.
    fn check_all<T>(
        all: &[T],
        as_str: fn(&T) -> &'static str,
        parse: fn(&str) -> Result<T, CodeError>,
    ) where
        T: Serialize
            + DeserializeOwned
            + PartialEq
            + Debug
            + FromStr<Err = CodeError>
            + std::fmt::Display
            + utoipa::ToSchema,
    {
        for v in all {
            let s = as_str(v);
            round_trip(v, &format!("\"{s}\""));
            assert_eq!(&parse(s).unwrap(), v);
            assert_eq!(&parse(&format!(" {s} ")).unwrap(), v);
            assert_eq!(&s.parse::<T>().unwrap(), v);
            assert_eq!(v.to_string(), s);
        }
        let mut seen: Vec<&str> = all.iter().map(as_str).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all.len(), "duplicate JSON values");
        let schema = serde_json::to_value(T::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, all.iter().map(as_str).collect::<Vec<_>>());
        assert_eq!(schema["type"], "string");
    }

    #[test]
    fn claim_frequency() {
        check_all(
            ClaimFrequency::ALL,
            ClaimFrequency::as_str,
            ClaimFrequency::parse,
        );
        assert_eq!(
            serde_json::to_string(&ClaimFrequency::Replacement).unwrap(),
            "\"7\""
        );
        assert_eq!(
            [
                ClaimFrequency::Original,
                ClaimFrequency::Replacement,
                ClaimFrequency::Void
            ]
            .map(|f| f.code()),
            ["1", "7", "8"]
        );
        assert!(
            ClaimFrequency::Void.refers_to_prior_claim()
                && !ClaimFrequency::Original.refers_to_prior_claim()
        );
        rejects_without_echo::<ClaimFrequency>("\"6\"", "claim frequency", "`6`");
        rejects_non_string::<ClaimFrequency>("1", "claim frequency", "`1`");
        assert!(ClaimFrequency::parse("original").is_err());
    }

    #[test]
    fn subscriber_relationship() {
        use SubscriberRelationship::*;
        check_all(
            SubscriberRelationship::ALL,
            SubscriberRelationship::as_str,
            SubscriberRelationship::parse,
        );
        assert_eq!(
            serde_json::from_str::<SubscriberRelationship>("\"self\"").unwrap(),
            SelfRelation
        );
        assert_eq!(
            [SelfRelation, Spouse, Child, Other].map(|r| r.x12_code()),
            ["18", "01", "19", "G8"]
        );
        assert_eq!(Child.code(), "19");
        for r in SubscriberRelationship::ALL {
            assert_eq!(
                SubscriberRelationship::from_x12_code(r.x12_code()).unwrap(),
                *r
            );
        }
        assert!(SubscriberRelationship::from_x12_code("20").is_err());
        rejects_without_echo::<SubscriberRelationship>(
            "\"Self\"",
            "relationship must be",
            "`Self`",
        );
        rejects_without_echo::<SubscriberRelationship>("\"18\"", "relationship must be", "`18`");
    }

    #[test]
    fn coverage_priority() {
        use CoveragePriority::*;
        check_all(
            CoveragePriority::ALL,
            CoveragePriority::as_str,
            CoveragePriority::parse,
        );
        assert_eq!(
            [Primary, Secondary, Tertiary].map(|p| p.x12_code()),
            ["P", "S", "T"]
        );
        assert_eq!(CoveragePriority::from_x12_code("S").unwrap(), Secondary);
        assert!(CoveragePriority::from_x12_code("A").is_err());
        assert_eq!(serde_json::to_string(&Tertiary).unwrap(), "\"tertiary\"");
        rejects_without_echo::<CoveragePriority>("\"P\"", "coverage priority", "`P`");
    }

    #[test]
    fn claim_filing_indicator() {
        check_all(
            ClaimFilingIndicator::ALL,
            ClaimFilingIndicator::as_str,
            ClaimFilingIndicator::parse,
        );
        let codes: Vec<&str> = ClaimFilingIndicator::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            [
                "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM",
                "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"
            ]
        );
        assert_eq!(
            serde_json::from_str::<ClaimFilingIndicator>("\"MB\"").unwrap(),
            ClaimFilingIndicator::MedicarePartB
        );
        assert_eq!(
            ClaimFilingIndicator::MedicarePartB.description(),
            "Medicare Part B"
        );
        assert_eq!(
            ClaimFilingIndicator::CommercialInsurance.description(),
            "Commercial Insurance Co."
        );
        assert!(
            ClaimFilingIndicator::ALL
                .iter()
                .all(|c| !c.description().is_empty())
        );
        rejects_without_echo::<ClaimFilingIndicator>("\"XX\"", "SBR09", "XX");
        rejects_non_string::<ClaimFilingIndicator>("11", "SBR09", "`11`");
    }

    #[test]
    fn administrative_sex() {
        check_all(
            AdministrativeSex::ALL,
            AdministrativeSex::as_str,
            AdministrativeSex::parse,
        );
        assert_eq!(
            serde_json::to_string(&AdministrativeSex::Female).unwrap(),
            "\"F\""
        );
        assert_eq!(
            AdministrativeSex::parse("F").unwrap(),
            AdministrativeSex::Female
        );
        assert_eq!(AdministrativeSex::Unknown.code(), "U");
        assert_eq!(
            AdministrativeSex::parse("X"),
            Err(CodeError("sex must be \"F\", \"M\" or \"U\""))
        );
        rejects_without_echo::<AdministrativeSex>("\"female\"", "sex must be", "female");
    }

    #[test]
    fn provider_role() {
        use ProviderRole::*;
        check_all(ProviderRole::ALL, ProviderRole::as_str, ProviderRole::parse);
        assert_eq!(
            serde_json::to_string(&Supervising).unwrap(),
            "\"supervising\""
        );
        // The retired combined value is not a role.
        assert!(ProviderRole::parse("both").is_err());
        assert_eq!(
            ProviderRole::canonical_set(&[Rendering, Billing, Rendering]),
            [Billing, Rendering]
        );
        rejects_without_echo::<ProviderRole>("\"Billing\"", "provider role", "`Billing`");
    }
}

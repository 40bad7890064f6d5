//! Focused serde models of the FHIR R4 (4.0.1) elements this connector reads.
//!
//! Every struct takes `#[serde(default)]` and ignores unknown fields: EHRs add extensions and
//! elements freely, and a field we do not read must never make a resource unreadable. Only the
//! shape of the fields we do read is checked (a string where an array belongs fails, naming the
//! path).

use serde::Deserialize;
use serde_json::value::RawValue;

/// A FHIR `decimal`, kept as the literal JSON number text so money never goes through `f64`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decimal(pub String);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        // A JSON number, or a string holding one (some servers quote decimals).
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        if is_plain_decimal(text) {
            Ok(Decimal(text.to_owned()))
        } else {
            Err(serde::de::Error::custom("expected a plain decimal number"))
        }
    }
}

/// `-?digits(.digits)?`: what FHIR decimals look like in practice (no exponent).
pub fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Extension {
    pub url: String,
    #[serde(rename = "valueCoding")]
    pub value_coding: Option<Coding>,
    #[serde(rename = "valueCodeableConcept")]
    pub value_codeable_concept: Option<CodeableConcept>,
    #[serde(rename = "valueCode")]
    pub value_code: Option<String>,
    #[serde(rename = "valueString")]
    pub value_string: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub extension: Vec<Extension>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
    pub extension: Vec<Extension>,
}

impl CodeableConcept {
    /// The first coding in `system` (any of `systems`) with a code.
    pub fn code_in(&self, systems: &[&str]) -> Option<&Coding> {
        self.coding.iter().find(|c| {
            c.code.as_deref().is_some_and(|v| !v.trim().is_empty())
                && c.system.as_deref().is_some_and(|s| systems.contains(&s))
        })
    }

    /// Whether some coding has `code`, in `system` when one is given.
    pub fn has(&self, system: Option<&str>, code: &str) -> bool {
        self.coding.iter().any(|c| {
            c.code.as_deref() == Some(code)
                && system.is_none_or(|s| c.system.as_deref().is_none_or(|cs| cs == s))
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub type_: Option<CodeableConcept>,
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Reference {
    pub reference: Option<String>,
    pub identifier: Option<Identifier>,
    pub display: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HumanName {
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub family: Option<String>,
    pub given: Vec<String>,
    pub prefix: Vec<String>,
    pub suffix: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Address {
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub line: Vec<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    #[serde(rename = "postalCode")]
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContactPoint {
    pub system: Option<String>,
    pub value: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Quantity {
    pub value: Option<Decimal>,
    pub code: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Money {
    pub value: Option<Decimal>,
    pub currency: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    pub source: Option<String>,
}

/// The elements every resource has that we read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Head {
    #[serde(rename = "resourceType")]
    pub resource_type: Option<String>,
    pub id: Option<String>,
    pub status: Option<String>,
}

// ----- resources ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Patient {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub identifier: Vec<Identifier>,
    pub name: Vec<HumanName>,
    pub gender: Option<String>,
    #[serde(rename = "birthDate")]
    pub birth_date: Option<String>,
    pub address: Vec<Address>,
    pub telecom: Vec<ContactPoint>,
}

/// Also used for RelatedPerson (a subscriber who is not a patient): the same fields.
pub type RelatedPerson = Patient;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Organization {
    pub identifier: Vec<Identifier>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Practitioner {
    pub identifier: Vec<Identifier>,
    pub name: Vec<HumanName>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PractitionerRole {
    pub identifier: Vec<Identifier>,
    pub practitioner: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Location {
    pub identifier: Vec<Identifier>,
    #[serde(rename = "type")]
    pub type_: Vec<CodeableConcept>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CoverageClass {
    #[serde(rename = "type")]
    pub type_: Option<CodeableConcept>,
    pub value: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Coverage {
    pub id: Option<String>,
    pub status: Option<String>,
    pub identifier: Vec<Identifier>,
    pub subscriber: Option<Reference>,
    #[serde(rename = "subscriberId")]
    pub subscriber_id: Option<String>,
    pub beneficiary: Option<Reference>,
    pub relationship: Option<CodeableConcept>,
    pub period: Option<Period>,
    pub payor: Vec<Reference>,
    pub class: Vec<CoverageClass>,
    pub order: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EncounterParticipant {
    #[serde(rename = "type")]
    pub type_: Vec<CodeableConcept>,
    pub individual: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EncounterDiagnosis {
    pub condition: Option<Reference>,
    pub rank: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EncounterLocation {
    pub location: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Encounter {
    pub id: Option<String>,
    pub status: Option<String>,
    pub class: Option<Coding>,
    pub subject: Option<Reference>,
    pub participant: Vec<EncounterParticipant>,
    pub period: Option<Period>,
    pub diagnosis: Vec<EncounterDiagnosis>,
    pub location: Vec<EncounterLocation>,
    #[serde(rename = "serviceProvider")]
    pub service_provider: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Condition {
    pub id: Option<String>,
    #[serde(rename = "verificationStatus")]
    pub verification_status: Option<CodeableConcept>,
    pub category: Vec<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    pub subject: Option<Reference>,
    pub encounter: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Performer {
    pub actor: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Procedure {
    pub id: Option<String>,
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub subject: Option<Reference>,
    pub encounter: Option<Reference>,
    #[serde(rename = "performedDateTime")]
    pub performed_date_time: Option<String>,
    #[serde(rename = "performedPeriod")]
    pub performed_period: Option<Period>,
    pub performer: Vec<Performer>,
    #[serde(rename = "reasonCode")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(rename = "reasonReference")]
    pub reason_reference: Vec<Reference>,
    pub extension: Vec<Extension>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChargeItem {
    pub id: Option<String>,
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub subject: Option<Reference>,
    pub context: Option<Reference>,
    #[serde(rename = "occurrenceDateTime")]
    pub occurrence_date_time: Option<String>,
    #[serde(rename = "occurrencePeriod")]
    pub occurrence_period: Option<Period>,
    pub performer: Vec<Performer>,
    pub quantity: Option<Quantity>,
    #[serde(rename = "priceOverride")]
    pub price_override: Option<Money>,
    pub reason: Vec<CodeableConcept>,
    pub service: Vec<Reference>,
    #[serde(rename = "productCodeableConcept")]
    pub product_codeable_concept: Option<CodeableConcept>,
    pub extension: Vec<Extension>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClaimCareTeam {
    pub sequence: Option<u32>,
    pub provider: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClaimDiagnosis {
    pub sequence: Option<u32>,
    #[serde(rename = "diagnosisCodeableConcept")]
    pub diagnosis_codeable_concept: Option<CodeableConcept>,
    #[serde(rename = "diagnosisReference")]
    pub diagnosis_reference: Option<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClaimItem {
    pub sequence: Option<u32>,
    #[serde(rename = "careTeamSequence")]
    pub care_team_sequence: Vec<u32>,
    #[serde(rename = "diagnosisSequence")]
    pub diagnosis_sequence: Vec<u32>,
    #[serde(rename = "productOrService")]
    pub product_or_service: Option<CodeableConcept>,
    pub modifier: Vec<CodeableConcept>,
    #[serde(rename = "servicedDate")]
    pub serviced_date: Option<String>,
    #[serde(rename = "servicedPeriod")]
    pub serviced_period: Option<Period>,
    #[serde(rename = "locationCodeableConcept")]
    pub location_codeable_concept: Option<CodeableConcept>,
    pub quantity: Option<Quantity>,
    #[serde(rename = "unitPrice")]
    pub unit_price: Option<Money>,
    pub net: Option<Money>,
    pub encounter: Vec<Reference>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Claim {
    pub id: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub patient: Option<Reference>,
    #[serde(rename = "billablePeriod")]
    pub billable_period: Option<Period>,
    #[serde(rename = "careTeam")]
    pub care_team: Vec<ClaimCareTeam>,
    pub diagnosis: Vec<ClaimDiagnosis>,
    pub item: Vec<ClaimItem>,
    pub contained: Vec<Box<RawValue>>,
    pub insurance: Vec<Insurance>,
}

/// `Claim.insurance` / `ExplanationOfBenefit.insurance`: only the coverage it names is read,
/// to say what becomes of it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Insurance {
    pub coverage: Option<Reference>,
}

/// An ExplanationOfBenefit is not imported; its insurance (often a contained Coverage, as
/// Synthea writes it) is read so that coverage is answered rather than dropped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExplanationOfBenefit {
    pub contained: Vec<Box<RawValue>>,
    pub insurance: Vec<Insurance>,
}

// ----- containers ----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BundleEntry {
    #[serde(rename = "fullUrl")]
    pub full_url: Option<String>,
    pub resource: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Bundle {
    #[serde(rename = "resourceType")]
    pub resource_type: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub entry: Vec<BundleEntry>,
    pub link: Vec<BundleLink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BundleLink {
    pub relation: Option<String>,
    pub url: Option<String>,
}

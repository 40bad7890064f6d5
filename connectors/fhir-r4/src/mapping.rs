//! The FHIR field mapping as data: FHIR R4 path -> canonical record field, with the rule
//! applied. README.md's table is this data (a test renders it and compares); code lists
//! (value sets, participant types, Bundle types) are taken from the constants the mapping uses,
//! so the table cannot drift from them.

use crate::import::input::BUNDLE_TYPES;
use crate::import::values::SYS_NPI;
use crate::import::{coverage::COVERAGE_STATUS, encounter::RENDERING_TYPES};

/// One row: where in FHIR, where in Revcycle, and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub fhir: String,
    pub revcycle: String,
    pub rule: String,
}

fn row(fhir: &str, revcycle: &str, rule: &str) -> Row {
    Row {
        fhir: fhir.to_owned(),
        revcycle: revcycle.to_owned(),
        rule: rule.to_owned(),
    }
}

fn codes(list: &[&str]) -> String {
    list.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mapping, in README order: input, Patient, Coverage, Encounter, service lines.
pub fn field_mapping() -> Vec<Row> {
    vec![
        row(
            "one resource, `Bundle`, or NDJSON",
            "the feed",
            &format!(
                "told apart by content; Bundle.type one of {}; a Bundle with no `entry.resource`, \
                 or input with no Patient, Coverage or Encounter, is refused (422)",
                codes(BUNDLE_TYPES)
            ),
        ),
        row(
            "`reference` (fullUrl, `Type/id`, `Type?identifier=`)",
            "links between records",
            "a reference the mapping reads must resolve in the feed, or the record is refused \
             (`unresolved_reference`, pointer to the reference); only `Patient/<id>` (imported \
             earlier) and a reference carrying its own NPI stand alone",
        ),
        row(
            "`Patient.id` (else the `urn:uuid:` fullUrl)",
            "patient `external_id`",
            "required; with the connector's `source_system`",
        ),
        row(
            "`Patient.identifier` typed `MR` (v2-0203)",
            "patient `mrn`",
            "",
        ),
        row(
            "`Patient.identifier` system us-ssn or typed `SS`",
            "patient `ssn`",
            "",
        ),
        row(
            "`Patient.name` (official, else usual, else current)",
            "patient `name` (family, given, prefix, suffix); the others `other_names`",
            "family required",
        ),
        row(
            "`Patient.gender`",
            "patient `sex`",
            "administrative-gender; any other value refuses the record (`invalid_code`)",
        ),
        row(
            "`Patient.birthDate`",
            "patient `birth_date`",
            "full dates only",
        ),
        row(
            "`Patient.address` (home, else current)",
            "patient `address`",
            "",
        ),
        row(
            "`Patient.telecom` phone / email (home or mobile first)",
            "patient `phone`, `email`",
            "",
        ),
        row(
            "`Coverage.status`",
            "(whether imported)",
            &format!(
                "one of {} (fm-status): only `active` is imported; `cancelled`, `draft`, \
                 `entered-in-error` are not (`skipped_status`); other or missing refuses",
                codes(COVERAGE_STATUS)
            ),
        ),
        row("`Coverage.id`", "coverage `external_id`", ""),
        row(
            "`Coverage.beneficiary`",
            "coverage `patient_external_id`",
            "required",
        ),
        row(
            "`Coverage.subscriberId`, else `Coverage.identifier` typed `MB` (US Core)",
            "coverage `member_id`",
            "required",
        ),
        row(
            "`Coverage.payor[0]` -> `Organization.name` (else `display`)",
            "coverage `payer.name`",
            "required; a person as payor (self-pay) is refused",
        ),
        row(
            "`Organization.identifier` typed `NIIP` (else not NPI/tax id), or `payor.identifier`",
            "coverage `payer.payer_id`",
            "",
        ),
        row(
            "`Coverage.order`",
            "coverage `priority`",
            "1 (or absent) primary, 2 secondary, 3 tertiary",
        ),
        row(
            "`Coverage.subscriber` (when not the beneficiary)",
            "coverage `subscriber` (name, birth date, sex, address)",
            "Patient or RelatedPerson",
        ),
        row(
            "`Coverage.relationship`",
            "coverage `relationship`",
            "`self`, `spouse`, `child`, else other",
        ),
        row(
            "`Coverage.class` typed `group` / `plan`",
            "coverage `group_number`, `group_name` / `plan_name`",
            "",
        ),
        row("`Coverage.period`", "coverage `period`", ""),
        row(
            "`Claim.insurance.coverage`, `ExplanationOfBenefit.insurance.coverage`",
            "none (issue)",
            "a Coverage entry of the feed is imported as its own record; a contained Coverage, \
             a display or a reference to nothing in the feed is answered with an issue naming \
             the rule (`missing_required` for no member id), never dropped",
        ),
        row(
            "`Encounter.id`",
            "encounter `external_id`",
            "`entered-in-error` / `cancelled` not imported",
        ),
        row(
            "`Encounter.subject`",
            "encounter `patient_external_id`",
            "required",
        ),
        row(
            "`Encounter.period.start`, else the earliest Claim `billablePeriod` / \
             `item.serviced[x]`, Procedure `performed[x]`, ChargeItem `occurrence[x]`",
            "encounter `date_of_service`",
            "required",
        ),
        row(
            "`Encounter.period.end`, else the latest of those dates",
            "encounter `end_date`",
            "",
        ),
        row(
            &format!(
                "`Encounter.participant` typed {} (else untyped) -> NPI",
                codes(RENDERING_TYPES)
            ),
            "encounter `rendering_provider_npi`",
            &format!(
                "NPI = identifier system `{SYS_NPI}` of the Practitioner, PractitionerRole, \
                 Organization or Location"
            ),
        ),
        row(
            "`Encounter.participant` typed `REF` -> NPI",
            "encounter `referring_provider_npi`",
            "",
        ),
        row(
            "`Encounter.serviceProvider` -> NPI",
            "encounter `billing_provider_npi`",
            "",
        ),
        row(
            "`Encounter.location` -> `Location.identifier` NPI / `Location.type` (CMS POS)",
            "encounter `service_facility_npi` / `place_of_service`",
            "",
        ),
        row(
            "`Encounter.class` (v3 ActCode)",
            "encounter `place_of_service` when no Location tells",
            "EMER 23, IMP/ACUTE/NONAC 21, OBSENC 22, HH 12, VR 02, AMB the configured \
             `default_place_of_service` (else 11)",
        ),
        row(
            "`Encounter.diagnosis.condition` (by rank), then Conditions whose `encounter` is it",
            "encounter `diagnoses`",
            "ICD-10-CM codings; refuted / entered-in-error skipped",
        ),
        row(
            "`Claim.item` (use `claim`, item.encounter = it)",
            "encounter `service_lines`",
            "productOrService CPT/HCPCS, modifier, quantity, net (else unitPrice x quantity), \
             diagnosisSequence, serviced[x], locationCodeableConcept, careTeamSequence",
        ),
        row(
            "`ChargeItem` (context = it), when no Claim",
            "encounter `service_lines`",
            "code, quantity, priceOverride, reason (else its Procedure's), occurrence[x], \
             performer, NDC product",
        ),
        row(
            "`Procedure` (encounter = it) no ChargeItem prices",
            "encounter `service_lines`",
            "code, reasonReference / reasonCode, performed[x], performer; units 1, charge 0.00",
        ),
    ]
}

/// The README table (Markdown).
pub fn markdown_table() -> String {
    let mut out = String::from("| FHIR R4 | Revcycle | Rule |\n|---|---|---|\n");
    for r in field_mapping() {
        out.push_str(&format!("| {} | {} | {} |\n", r.fhir, r.revcycle, r.rule));
    }
    out
}

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codes::{Icd10Code, Modifier, Money, PlaceOfService, ProcedureCode, Units};
use crate::validation::Errors;

/// An 837P claim carries at most 12 diagnosis codes (HI segments).
pub const MAX_DIAGNOSES: usize = 12;
/// An 837P claim carries at most 50 service lines (loop 2400).
pub const MAX_SERVICE_LINES: usize = 50;
/// SV1 carries at most four modifiers.
pub const MAX_MODIFIERS: usize = 4;
/// SV107 carries at most four diagnosis pointers.
pub const MAX_POINTERS: usize = 4;

/// One billed service (837P loop 2400).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"procedure_code": "99213", "modifiers": ["25"], "units": "1",
    "charge": "125.00", "diagnosis_pointers": [1, 2]}))]
pub struct ServiceLine {
    /// CPT or HCPCS Level II code.
    pub procedure_code: ProcedureCode,
    #[serde(default)]
    pub modifiers: Vec<Modifier>,
    pub units: Units,
    /// Billed charge for the line (all units), decimal string.
    pub charge: Money,
    /// 1-based positions in the encounter's `diagnoses`, most important first.
    pub diagnosis_pointers: Vec<u8>,
    /// Date of this service; defaults to the encounter's first date of service.
    #[serde(default, deserialize_with = "crate::codes::date::de_opt")]
    pub service_date: Option<NaiveDate>,
}

/// Checks shared by encounters and claims: diagnoses and service lines agree. `from` and
/// `to` are the dates of service (`None` when unknown: the line dates are then not compared).
pub fn validate_coding(
    diagnoses: &[Icd10Code],
    lines: &[ServiceLine],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    e: &mut Errors,
) {
    e.check(
        !diagnoses.is_empty(),
        "/diagnoses",
        "at least one diagnosis is required",
    );
    e.check(
        diagnoses.len() <= MAX_DIAGNOSES,
        "/diagnoses",
        format!("at most {MAX_DIAGNOSES} diagnoses"),
    );
    for (i, d) in diagnoses.iter().enumerate() {
        let twice = diagnoses[..i]
            .iter()
            .enumerate()
            .any(|(k, earlier)| earlier == d && e.known(&format!("/diagnoses/{k}")));
        if twice {
            e.add(format!("/diagnoses/{i}"), "diagnosis is listed twice");
            continue;
        }
        match crate::codes::icd10cm::lookup(d) {
            // Refused at the door rather than at scrub: a code that does not exist is a typo,
            // never billable.
            None => e.add(
                format!("/diagnoses/{i}"),
                "is not an ICD-10-CM code of the shipped code set",
            ),
            // A category or subcategory header can never be reported on a claim: the coder
            // must pick a code under it. (The scrubber checks again at submission, against
            // the code set in force on the date of service.)
            Some(entry) if !entry.billable => e.add(
                format!("/diagnoses/{i}"),
                "is an ICD-10-CM category or subcategory header, not a reportable code: report a more specific code",
            ),
            Some(_) => {}
        }
    }
    e.check(
        !lines.is_empty(),
        "/lines",
        "at least one service line is required",
    );
    e.check(
        lines.len() <= MAX_SERVICE_LINES,
        "/lines",
        format!("at most {MAX_SERVICE_LINES} service lines"),
    );
    let diagnoses_known = e.known("/diagnoses");
    for (i, l) in lines.iter().enumerate() {
        let at = format!("/lines/{i}");
        e.check(
            l.modifiers.len() <= MAX_MODIFIERS,
            format!("{at}/modifiers"),
            format!("at most {MAX_MODIFIERS} modifiers"),
        );
        for (j, m) in l.modifiers.iter().enumerate() {
            let twice = l.modifiers[..j]
                .iter()
                .enumerate()
                .any(|(k, earlier)| earlier == m && e.known(&format!("{at}/modifiers/{k}")));
            if twice {
                e.add(format!("{at}/modifiers/{j}"), "modifier is listed twice");
            }
        }
        e.check(
            !l.charge.is_zero(),
            format!("{at}/charge"),
            "must be greater than zero",
        );
        e.check(
            !l.diagnosis_pointers.is_empty(),
            format!("{at}/diagnosis_pointers"),
            "at least one diagnosis pointer is required",
        );
        e.check(
            l.diagnosis_pointers.len() <= MAX_POINTERS,
            format!("{at}/diagnosis_pointers"),
            format!("at most {MAX_POINTERS} diagnosis pointers"),
        );
        for (j, p) in l.diagnosis_pointers.iter().enumerate() {
            let p_at = format!("{at}/diagnosis_pointers/{j}");
            if *p == 0 || (diagnoses_known && usize::from(*p) > diagnoses.len()) {
                e.add(
                    p_at,
                    "diagnosis pointer refers to a diagnosis that does not exist",
                );
            } else if l.diagnosis_pointers[..j]
                .iter()
                .enumerate()
                .any(|(k, earlier)| {
                    earlier == p && e.known(&format!("{at}/diagnosis_pointers/{k}"))
                })
            {
                e.add(p_at, "diagnosis pointer is listed twice");
            }
        }
        if let (Some(d), Some(from), Some(to)) = (l.service_date, from, to) {
            e.check(
                from <= d && d <= to,
                format!("{at}/service_date"),
                "must fall within the encounter's dates of service",
            );
        }
    }
}

/// How far ahead of today a date of service may be recorded (scheduled visits coded early).
const MAX_DAYS_AHEAD: u64 = 366;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a01",
    "coverage_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a03",
    "billing_provider_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a04",
    "service_date_from": "2026-11-02", "place_of_service": "11",
    "diagnoses": ["E11.9", "I10"],
    "lines": [{"procedure_code": "99213", "modifiers": ["25"], "units": "1", "charge": "125.00",
               "diagnosis_pointers": [1, 2]}]}))]
pub struct EncounterInput {
    pub patient_id: Uuid,
    /// The coverage to bill; absent for self-pay.
    pub coverage_id: Option<Uuid>,
    pub billing_provider_id: Uuid,
    pub rendering_provider_id: Option<Uuid>,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub service_date_from: NaiveDate,
    /// Defaults to `service_date_from`.
    #[serde(default, deserialize_with = "crate::codes::date::de_opt")]
    pub service_date_to: Option<NaiveDate>,
    pub place_of_service: PlaceOfService,
    #[schema(max_length = 50)]
    pub prior_authorization: Option<String>,
    /// ICD-10-CM codes in order of importance (first is the principal diagnosis).
    pub diagnoses: Vec<Icd10Code>,
    pub lines: Vec<ServiceLine>,
}

impl EncounterInput {
    pub fn service_date_to(&self) -> NaiveDate {
        self.service_date_to.unwrap_or(self.service_date_from)
    }

    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        crate::validation::Rules::check(self, &mut e);
        e.finish()
    }
}

impl crate::validation::Rules for EncounterInput {
    fn check(&self, e: &mut Errors) {
        let to = self.service_date_to();
        let from_known = e.known("/service_date_from");
        let to_known = e.known("/service_date_to");
        if from_known {
            e.check(
                to >= self.service_date_from,
                "/service_date_to",
                "must not be before service_date_from",
            );
        }
        // Services are billed after they happen; the scrubber refuses any future date at
        // submission, and a date this far ahead is a typo, refused at the door.
        let latest = chrono::Utc::now().date_naive() + chrono::Days::new(MAX_DAYS_AHEAD);
        e.check(
            self.service_date_from <= latest,
            "/service_date_from",
            "must not be more than a year in the future",
        );
        e.check(
            self.service_date_to.is_none_or(|to| to <= latest),
            "/service_date_to",
            "must not be more than a year in the future",
        );
        super::common::opt_text(e, "/prior_authorization", &self.prior_authorization, 50);
        // Line dates are compared with the encounter's only when both ends are the client's.
        let known_to = if self.service_date_to.is_some() {
            to_known
        } else {
            from_known
        };
        validate_coding(
            &self.diagnoses,
            &self.lines,
            from_known.then_some(self.service_date_from),
            known_to.then_some(to),
            e,
        );
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Encounter {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub coverage_id: Option<Uuid>,
    pub billing_provider_id: Uuid,
    pub rendering_provider_id: Option<Uuid>,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub service_date_from: NaiveDate,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub service_date_to: NaiveDate,
    pub place_of_service: PlaceOfService,
    pub prior_authorization: Option<String>,
    pub diagnoses: Vec<Icd10Code>,
    pub lines: Vec<ServiceLine>,
    /// Sum of the line charges.
    pub total_charge: Money,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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
        super::common::opt_text(
            e,
            "/prior_authorization",
            &self.prior_authorization,
            super::common::MAX_REFERENCE_LEN,
        );
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

/// Where an imported service line came from: keyed hashes of the ids its sender gave the
/// charge (HL7 FT1-2 transaction id, FT1-23 filler order number), never the ids themselves.
/// Kept beside the encounter's lines, position for position, so a later message can credit
/// the charge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSource {
    pub transaction: Option<String>,
    pub order: Option<String>,
}

impl LineSource {
    /// The keys a credit of this line is remembered under.
    pub fn keys(&self) -> Vec<String> {
        self.transaction
            .iter()
            .chain(&self.order)
            .cloned()
            .collect()
    }
}

/// What a credit (a reversal of an earlier charge) does to an encounter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditEffect {
    /// Remove the line at this position.
    Reverse(usize),
    /// The charge was credited before: nothing to do (a resent credit).
    AlreadyCredited,
}

/// Why a credit cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditRefusal {
    /// No line of the encounter, and no earlier credit, carries the ids the credit names.
    NotFound,
    /// The charge is the encounter's only line: an encounter bills at least one line.
    LastLine,
    /// The encounter is on a claim (not voided): a claim is never changed behind the
    /// biller's back.
    OnClaim(String),
}

impl CreditRefusal {
    pub fn message(&self) -> String {
        match self {
            CreditRefusal::NotFound => {
                "the charge it reverses was not found: no charge of this visit \
                 has this transaction id (FT1-2) or filler order number (FT1-23)"
                    .into()
            }
            CreditRefusal::LastLine => "the charge it reverses is the visit's only charge, and an \
                 encounter bills at least one line: correct the encounter instead"
                .into(),
            CreditRefusal::OnClaim(status) => format!(
                "the charge it reverses is on a claim in status {status}: a claim is never \
                 changed silently. Void or correct the claim, then send the credit again"
            ),
        }
    }
}

/// Which line a credit reverses: the line with the same transaction id, else the same filler
/// order number. A credit whose ids were credited before changes nothing. `claim_status` is
/// the status of a claim (not voided) built from the encounter, if any.
pub fn credit_target(
    sources: &[LineSource],
    credited: &[String],
    credit: &LineSource,
    lines: usize,
    claim_status: Option<&str>,
) -> Result<CreditEffect, CreditRefusal> {
    let by = |key: &Option<String>, pick: fn(&LineSource) -> &Option<String>| {
        key.as_ref()
            .and_then(|k| sources.iter().position(|s| pick(s).as_ref() == Some(k)))
    };
    let found = by(&credit.transaction, |s| &s.transaction)
        .or_else(|| by(&credit.order, |s| &s.order))
        .filter(|&i| i < lines);
    match found {
        Some(i) => {
            if let Some(status) = claim_status {
                return Err(CreditRefusal::OnClaim(status.to_owned()));
            }
            if lines <= 1 {
                return Err(CreditRefusal::LastLine);
            }
            Ok(CreditEffect::Reverse(i))
        }
        None if credit.keys().iter().any(|k| credited.contains(k)) => {
            Ok(CreditEffect::AlreadyCredited)
        }
        None => Err(CreditRefusal::NotFound),
    }
}

/// Which encounters a list returns (its query string).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EncounterFilter {
    pub patient_id: Option<Uuid>,
    /// Encounters starting on or after this date.
    pub service_date_from: Option<NaiveDate>,
    /// Encounters starting on or before this date.
    pub service_date_to: Option<NaiveDate>,
}

#[cfg(test)]
mod credit_tests {
    use super::*;

    fn src(t: Option<&str>, o: Option<&str>) -> LineSource {
        LineSource {
            transaction: t.map(str::to_owned),
            order: o.map(str::to_owned),
        }
    }

    #[test]
    fn a_credit_reverses_the_line_with_its_transaction_id_else_its_order() {
        let sources = [src(Some("t1"), Some("o1")), src(Some("t2"), Some("o2"))];
        let credit = |t, o| credit_target(&sources, &[], &src(t, o), 2, None);
        assert_eq!(credit(Some("t2"), None), Ok(CreditEffect::Reverse(1)));
        assert_eq!(credit(Some("tx"), Some("o1")), Ok(CreditEffect::Reverse(0)));
        assert_eq!(credit(Some("t9"), Some("o9")), Err(CreditRefusal::NotFound));
        assert_eq!(credit(None, None), Err(CreditRefusal::NotFound));
    }

    #[test]
    fn a_resent_credit_changes_nothing_and_claims_and_last_lines_are_never_touched() {
        let sources = [src(Some("t1"), None)];
        let credited = ["t2".to_owned()];
        assert_eq!(
            credit_target(&sources, &credited, &src(Some("t2"), None), 1, None),
            Ok(CreditEffect::AlreadyCredited)
        );
        assert_eq!(
            credit_target(&sources, &credited, &src(Some("t1"), None), 1, None),
            Err(CreditRefusal::LastLine)
        );
        let two = [src(Some("t1"), None), src(Some("t3"), None)];
        assert_eq!(
            credit_target(&two, &[], &src(Some("t1"), None), 2, Some("submitted")),
            Err(CreditRefusal::OnClaim("submitted".into()))
        );
    }
}

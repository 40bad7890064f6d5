//! The claim scrubber: edits a claim must pass before it may move from draft to ready. Each
//! failed edit is a [`ScrubFinding`] with a stable id, a severity and a JSON pointer, so a
//! caller can fix every problem in one go. Errors block submission; warnings do not.
//!
//! Messages name codes (not PHI) but never patient or subscriber values: the scrubber is given
//! presence flags for subscriber data, not the data.
//!
//! Pointers address the claim (`/lines/0/diagnosis_pointers/1`); edits about related records
//! point under `/billing_provider`, `/rendering_provider` and `/coverage`; a duplicate claim is
//! the whole document (`""`).
//!
//! Codes are taken as text (not parsed types) so claims that came through a connector or an
//! older release can be scrubbed as stored.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::codes::{
    ClaimFrequency, Icd10Code, Modifier, Npi, PlaceOfService, ProcedureCode, ProcedureCodeKind,
    ProviderRole, SubscriberRelationship, Tin, icd10cm,
};
use crate::model::claim::{Claim, MAX_PATIENT_CONTROL_NUMBER_LEN};
use crate::model::coverage::Coverage;
use crate::model::encounter::{MAX_DIAGNOSES, MAX_MODIFIERS, MAX_POINTERS, MAX_SERVICE_LINES};
use crate::model::provider::Provider;

/// Days a payer allows from the date of service when it says nothing (Medicare's one year):
/// the payer default, as the scrubber counts it.
pub const DEFAULT_TIMELY_FILING_DAYS: u32 = crate::model::payer::DEFAULT_TIMELY_FILING_DAYS as u32;
/// A warning is raised this many days before the timely filing deadline.
pub const TIMELY_FILING_WARNING_DAYS: i64 = 30;

/// The last day a payer takes a claim: counted from the last date of service, as payers count
/// for a span of services.
pub fn filing_deadline(service_date_to: NaiveDate, limit_days: i64) -> NaiveDate {
    service_date_to + Duration::days(limit_days)
}

/// Whether a claim not yet filed is flagged: its deadline at most
/// [`TIMELY_FILING_WARNING_DAYS`] away (a passed deadline is flagged apart, as expired).
pub fn filing_due_soon(deadline: NaiveDate, today: NaiveDate) -> bool {
    today <= deadline && (deadline - today).num_days() <= TIMELY_FILING_WARNING_DAYS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks submission.
    Error,
    /// Worth a look; does not block.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScrubFinding {
    /// Stable id of the edit, e.g. "dx.not_billable".
    #[schema(example = "dx.not_billable")]
    pub edit: &'static str,
    pub severity: Severity,
    /// RFC 6901 pointer to what must change.
    #[schema(example = "/diagnoses/0")]
    pub pointer: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrubLine {
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    pub units: Decimal,
    pub charge: Decimal,
    /// 1-based positions in the claim's diagnoses.
    pub diagnosis_pointers: Vec<u8>,
    pub service_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrubClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub billing_provider_id: Uuid,
    pub patient_control_number: String,
    pub frequency: ClaimFrequency,
    /// The claim this one replaces or voids (frequency 7 or 8), to exclude from duplicates.
    pub original_claim_id: Option<Uuid>,
    /// The payer's claim control number of the original (REF*F8).
    pub original_reference: Option<String>,
    pub place_of_service: String,
    pub service_date_from: NaiveDate,
    pub service_date_to: NaiveDate,
    pub diagnoses: Vec<String>,
    pub lines: Vec<ScrubLine>,
}

impl ScrubClaim {
    pub fn from_claim(c: &Claim) -> ScrubClaim {
        ScrubClaim {
            claim_id: c.id,
            patient_id: c.patient_id,
            billing_provider_id: c.billing_provider_id,
            patient_control_number: c.patient_control_number.clone(),
            frequency: c.frequency_code,
            original_claim_id: c.original_claim_id,
            original_reference: c.original_reference.clone(),
            place_of_service: c.place_of_service.as_str().to_string(),
            service_date_from: c.service_date_from,
            service_date_to: c.service_date_to,
            diagnoses: c.diagnoses.iter().map(|d| d.as_str().to_string()).collect(),
            lines: c
                .lines
                .iter()
                .map(|l| ScrubLine {
                    procedure_code: l.line.procedure_code.as_str().to_string(),
                    modifiers: l
                        .line
                        .modifiers
                        .iter()
                        .map(|m| m.as_str().to_string())
                        .collect(),
                    units: l.line.units.as_decimal(),
                    charge: l.line.charge.as_decimal(),
                    diagnosis_pointers: l.line.diagnosis_pointers.clone(),
                    service_date: l.line.service_date,
                })
                .collect(),
        }
    }

    /// The key duplicate detection compares.
    pub fn duplicate_key(&self) -> DuplicateKey {
        let mut codes: Vec<String> = self
            .lines
            .iter()
            .map(|l| l.procedure_code.trim().to_ascii_uppercase())
            .collect();
        codes.sort();
        DuplicateKey {
            claim_id: self.claim_id,
            patient_id: self.patient_id,
            billing_provider_id: self.billing_provider_id,
            service_date: self.service_date_from,
            procedure_codes: codes,
        }
    }
}

/// What the scrubber needs of a provider: identifiers, not names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderFacts {
    pub npi: Option<String>,
    pub tin: Option<String>,
    pub has_taxonomy: bool,
    /// The claim slots the provider may fill (a set: one NPI, several roles).
    pub roles: Vec<ProviderRole>,
}

impl ProviderFacts {
    pub fn of(p: &Provider) -> ProviderFacts {
        ProviderFacts {
            npi: Some(p.npi.as_str().to_string()),
            tin: p.tin.as_ref().map(|t| t.as_str().to_string()),
            has_taxonomy: p.taxonomy.is_some(),
            roles: p.roles.clone(),
        }
    }
}

/// Which subscriber fields an 837P needs are present (loop 2010BA), without their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriberFacts {
    pub has_family_name: bool,
    pub has_given_name: bool,
    pub has_birth_date: bool,
    pub has_sex: bool,
    pub has_address: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageFacts {
    pub patient_id: Uuid,
    pub active: bool,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub has_member_id: bool,
    pub relationship: SubscriberRelationship,
    pub subscriber: Option<SubscriberFacts>,
}

impl CoverageFacts {
    pub fn of(c: &Coverage) -> CoverageFacts {
        CoverageFacts {
            patient_id: c.patient_id,
            active: c.active,
            effective_from: c.effective_from,
            effective_to: c.effective_to,
            has_member_id: !c.member_id.trim().is_empty(),
            relationship: c.relationship,
            subscriber: c.subscriber.as_ref().map(|s| SubscriberFacts {
                has_family_name: !s.family_name.trim().is_empty(),
                has_given_name: !s.given_name.trim().is_empty(),
                has_birth_date: true,
                has_sex: true,
                has_address: s.address.is_some(),
            }),
        }
    }

    fn covers(&self, d: NaiveDate) -> bool {
        self.effective_from <= d && self.effective_to.is_none_or(|to| d <= to)
    }
}

/// Patient, billing provider, first date of service and sorted procedure codes: two live claims
/// with the same key are the same claim sent twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub billing_provider_id: Uuid,
    pub service_date: NaiveDate,
    pub procedure_codes: Vec<String>,
}

impl DuplicateKey {
    fn same_claim_as(&self, other: &DuplicateKey) -> bool {
        self.patient_id == other.patient_id
            && self.billing_provider_id == other.billing_provider_id
            && self.service_date == other.service_date
            && self.procedure_codes == other.procedure_codes
    }
}

/// Everything the edits look at, gathered by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrubInput {
    pub claim: ScrubClaim,
    pub billing_provider: ProviderFacts,
    pub rendering_provider: Option<ProviderFacts>,
    /// `None`: the claim names no coverage (or it was not found).
    pub coverage: Option<CoverageFacts>,
    /// The payer's timely filing limit; [`DEFAULT_TIMELY_FILING_DAYS`] when `None`.
    pub timely_filing_days: Option<u32>,
    /// Keys of the patient's other live claims (not voided, not rejected).
    pub other_claims: Vec<DuplicateKey>,
    /// Whether no other claim of the organization has this patient control number.
    pub patient_control_number_unique: bool,
}

/// True when no finding is an error.
pub fn passes(findings: &[ScrubFinding]) -> bool {
    findings.iter().all(|f| f.severity == Severity::Warning)
}

struct Out(Vec<ScrubFinding>);

impl Out {
    fn error(
        &mut self,
        edit: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(edit, Severity::Error, pointer, message);
    }
    fn warning(
        &mut self,
        edit: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(edit, Severity::Warning, pointer, message);
    }
    fn push(
        &mut self,
        edit: &'static str,
        severity: Severity,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.push(ScrubFinding {
            edit,
            severity,
            pointer: pointer.into(),
            message: message.into(),
        });
    }
}

/// Runs every edit. `today` is the submission date: dates of service after it are refused and
/// timely filing counts up to it.
pub fn scrub(input: &ScrubInput, today: NaiveDate) -> Vec<ScrubFinding> {
    let mut out = Out(Vec::new());
    let c = &input.claim;
    dates(c, today, input.timely_filing_days, &mut out);
    diagnoses(c, &mut out);
    lines(c, &mut out);
    providers(input, &mut out);
    coverage(input, &mut out);
    if PlaceOfService::parse(&c.place_of_service).is_err() {
        out.error(
            "pos.invalid",
            "/place_of_service",
            "place of service is not a code in the CMS Place of Service code set",
        );
    }
    identity(input, &mut out);
    out.0
}

/// Every date of service on the claim with the pointer that names it.
fn service_dates(c: &ScrubClaim) -> Vec<(NaiveDate, String)> {
    let mut v = vec![
        (c.service_date_from, "/service_date_from".to_string()),
        (c.service_date_to, "/service_date_to".to_string()),
    ];
    for (i, l) in c.lines.iter().enumerate() {
        if let Some(d) = l.service_date {
            v.push((d, format!("/lines/{i}/service_date")));
        }
    }
    v
}

fn dates(c: &ScrubClaim, today: NaiveDate, limit: Option<u32>, out: &mut Out) {
    if c.service_date_to < c.service_date_from {
        out.error(
            "dos.order",
            "/service_date_to",
            "the last date of service is before the first",
        );
    }
    for (d, at) in service_dates(c) {
        if d > today {
            out.error("dos.future", at, "a date of service is in the future");
        }
    }
    for (i, l) in c.lines.iter().enumerate() {
        if let Some(d) = l.service_date
            && (d < c.service_date_from || d > c.service_date_to)
        {
            out.error(
                "line.service_date",
                format!("/lines/{i}/service_date"),
                "the line's date of service is outside the claim's dates of service",
            );
        }
    }
    let days = i64::from(limit.unwrap_or(DEFAULT_TIMELY_FILING_DAYS));
    let deadline = filing_deadline(c.service_date_to, days);
    if today > deadline {
        out.error(
            "timely_filing.expired",
            "/service_date_to",
            format!(
                "the payer's timely filing limit of {days} days from the date of service has passed"
            ),
        );
    } else if filing_due_soon(deadline, today) {
        out.warning(
            "timely_filing.near",
            "/service_date_to",
            format!(
                "{} days remain of the payer's timely filing limit",
                (deadline - today).num_days()
            ),
        );
    }
    // The shipped ICD-10-CM set is one fiscal-year release; a code valid then may not have
    // been valid on another date of service.
    let (fy_start, fy_end) = icd10cm::fiscal_year_dates();
    if c.service_date_from < fy_start || c.service_date_to > fy_end {
        out.warning(
            "dx.code_set_release",
            "/service_date_from",
            format!(
                "diagnoses were checked against ICD-10-CM {}; the dates of service fall outside that fiscal year",
                icd10cm::RELEASE
            ),
        );
    }
}

fn diagnoses(c: &ScrubClaim, out: &mut Out) {
    if c.diagnoses.is_empty() {
        out.error(
            "claim.no_diagnoses",
            "/diagnoses",
            "at least one diagnosis is required",
        );
    }
    if c.diagnoses.len() > MAX_DIAGNOSES {
        out.error(
            "claim.too_many_diagnoses",
            "/diagnoses",
            format!("an 837P claim carries at most {MAX_DIAGNOSES} diagnoses"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, d) in c.diagnoses.iter().enumerate() {
        let at = format!("/diagnoses/{i}");
        let Ok(code) = Icd10Code::parse(d) else {
            out.error("dx.format", at, "is not a well-formed ICD-10-CM code");
            continue;
        };
        if !seen.insert(code.as_str().to_string()) {
            out.error(
                "dx.duplicate",
                at,
                format!("{} is listed twice", code.dotted()),
            );
            continue;
        }
        match icd10cm::lookup(&code) {
            None => out.error(
                "dx.unknown",
                at,
                format!("{} is not in the ICD-10-CM code set", code.dotted()),
            ),
            Some(e) if !e.billable => out.error(
                "dx.not_billable",
                at,
                format!(
                    "{} is a category or subcategory header; report a more specific code",
                    code.dotted()
                ),
            ),
            Some(_) => {}
        }
    }
}

fn lines(c: &ScrubClaim, out: &mut Out) {
    if c.lines.is_empty() {
        out.error(
            "claim.no_lines",
            "/lines",
            "at least one service line is required",
        );
    }
    if c.lines.len() > MAX_SERVICE_LINES {
        out.error(
            "claim.too_many_lines",
            "/lines",
            format!("an 837P claim carries at most {MAX_SERVICE_LINES} service lines"),
        );
    }
    for (i, l) in c.lines.iter().enumerate() {
        let at = format!("/lines/{i}");
        let code = ProcedureCode::parse(&l.procedure_code);
        let category_ii = code
            .as_ref()
            .is_ok_and(|p| p.kind() == ProcedureCodeKind::CptCategoryII);
        match &code {
            Err(e) => out.error("proc.format", format!("{at}/procedure_code"), e.message()),
            // Category II codes report quality measures; payers expect them at $0.00 (or a
            // token cent) and pay nothing, so a real charge is most likely a mistake.
            Ok(p) if category_ii && l.charge > Decimal::ZERO => out.warning(
                "proc.category_ii_charged",
                format!("{at}/charge"),
                format!(
                    "{} is a CPT Category II tracking code; it is normally billed at 0.00",
                    p.as_str()
                ),
            ),
            Ok(_) => {}
        }
        // A Category II line may carry no charge; every other line must.
        let charge_ok = l.charge.normalize().scale() <= 2
            && (l.charge > Decimal::ZERO || (category_ii && l.charge.is_zero()));
        if !charge_ok {
            out.error(
                "line.charge",
                format!("{at}/charge"),
                "the charge must be greater than zero with at most two decimal places",
            );
        }
        if l.units <= Decimal::ZERO {
            out.error(
                "line.units",
                format!("{at}/units"),
                "units must be greater than zero",
            );
        }
        modifiers(&at, &l.modifiers, out);
        pointers(&at, &l.diagnosis_pointers, c.diagnoses.len(), out);
    }
}

fn modifiers(at: &str, mods: &[String], out: &mut Out) {
    if mods.len() > MAX_MODIFIERS {
        out.error(
            "line.modifier_count",
            format!("{at}/modifiers"),
            format!("a service line carries at most {MAX_MODIFIERS} modifiers"),
        );
    }
    let mut seen = BTreeSet::new();
    for (j, m) in mods.iter().enumerate() {
        let m_at = format!("{at}/modifiers/{j}");
        match Modifier::parse(m) {
            Err(e) => out.error("line.modifier_format", m_at, e.message()),
            Ok(m) if !seen.insert(m.as_str().to_string()) => out.error(
                "line.modifier_duplicate",
                m_at,
                format!("modifier {} is listed twice", m.as_str()),
            ),
            Ok(_) => {}
        }
    }
}

fn pointers(at: &str, ptrs: &[u8], diagnoses: usize, out: &mut Out) {
    let p_at = format!("{at}/diagnosis_pointers");
    if ptrs.is_empty() {
        out.error(
            "line.pointer_missing",
            p_at.clone(),
            "each line needs at least one diagnosis pointer",
        );
    }
    if ptrs.len() > MAX_POINTERS {
        out.error(
            "line.pointer_count",
            p_at.clone(),
            format!("a service line carries at most {MAX_POINTERS} diagnosis pointers"),
        );
    }
    for (j, &p) in ptrs.iter().enumerate() {
        if p == 0 || usize::from(p) > diagnoses {
            out.error(
                "line.pointer_invalid",
                format!("{p_at}/{j}"),
                format!("pointer {p} does not refer to one of the claim's {diagnoses} diagnoses"),
            );
        } else if ptrs[..j].contains(&p) {
            out.error(
                "line.pointer_duplicate",
                format!("{p_at}/{j}"),
                format!("pointer {p} is listed twice"),
            );
        }
    }
}

fn providers(input: &ScrubInput, out: &mut Out) {
    let b = &input.billing_provider;
    match b.npi.as_deref() {
        None => out.error(
            "billing_provider.npi_missing",
            "/billing_provider/npi",
            "the billing provider has no NPI",
        ),
        Some(n) => {
            if let Err(e) = Npi::parse(n) {
                out.error("billing_provider.npi", "/billing_provider/npi", e.message());
            }
        }
    }
    match b.tin.as_deref() {
        None => out.error(
            "billing_provider.tin_missing",
            "/billing_provider/tin",
            "the billing provider has no tax identification number (837P REF*EI)",
        ),
        Some(t) => {
            if let Err(e) = Tin::parse(t) {
                out.error("billing_provider.tin", "/billing_provider/tin", e.message());
            }
        }
    }
    // A provider whose roles changed after the encounter was coded: named in a slot it no
    // longer fills. (A provider not found has no NPI, reported above.)
    if b.npi.is_some() && !b.roles.contains(&ProviderRole::Billing) {
        out.error(
            "billing_provider.role",
            "/billing_provider/roles",
            "the billing provider does not have the billing role",
        );
    }
    if !b.has_taxonomy {
        out.warning(
            "billing_provider.taxonomy_missing",
            "/billing_provider/taxonomy",
            "many payers require the billing provider's taxonomy code (837P PRV)",
        );
    }
    if let Some(r) = &input.rendering_provider {
        match r.npi.as_deref() {
            None => out.error(
                "rendering_provider.npi_missing",
                "/rendering_provider/npi",
                "the rendering provider has no NPI",
            ),
            Some(n) => {
                if let Err(e) = Npi::parse(n) {
                    out.error(
                        "rendering_provider.npi",
                        "/rendering_provider/npi",
                        e.message(),
                    );
                }
                if !r.roles.contains(&ProviderRole::Rendering) {
                    out.error(
                        "rendering_provider.role",
                        "/rendering_provider/roles",
                        "the rendering provider does not have the rendering role",
                    );
                }
            }
        }
    }
}

fn coverage(input: &ScrubInput, out: &mut Out) {
    let c = &input.claim;
    let Some(cov) = &input.coverage else {
        out.error(
            "coverage.missing",
            "/coverage",
            "the claim names no insurance coverage to bill",
        );
        return;
    };
    if cov.patient_id != c.patient_id {
        out.error(
            "coverage.other_patient",
            "/coverage/patient_id",
            "the coverage belongs to another patient",
        );
    }
    if !cov.active {
        out.error(
            "coverage.inactive",
            "/coverage/active",
            "the coverage is inactive",
        );
    }
    let mut reported = BTreeSet::new();
    for (d, at) in service_dates(c) {
        if !cov.covers(d) && reported.insert(d) {
            out.error(
                "coverage.not_effective",
                at,
                "the coverage is not in effect on this date of service",
            );
        }
    }
    if !cov.has_member_id {
        out.error(
            "coverage.member_id_missing",
            "/coverage/member_id",
            "the coverage has no member id",
        );
    }
    if cov.relationship == SubscriberRelationship::SelfRelation {
        return;
    }
    let Some(s) = cov.subscriber else {
        out.error(
            "subscriber.missing",
            "/coverage/subscriber",
            "the patient is not the subscriber, so the subscriber's details are required",
        );
        return;
    };
    for (present, field) in [
        (s.has_family_name, "family_name"),
        (s.has_given_name, "given_name"),
        (s.has_birth_date, "birth_date"),
        (s.has_sex, "sex"),
        (s.has_address, "address"),
    ] {
        if !present {
            out.error(
                "subscriber.incomplete",
                format!("/coverage/subscriber/{field}"),
                format!("the subscriber's {} is required", field.replace('_', " ")),
            );
        }
    }
}

fn identity(input: &ScrubInput, out: &mut Out) {
    let c = &input.claim;
    let pcn = c.patient_control_number.trim();
    let pcn_ok = !pcn.is_empty()
        && pcn.len() <= MAX_PATIENT_CONTROL_NUMBER_LEN
        && pcn.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if !pcn_ok {
        out.error(
            "claim.pcn_format",
            "/patient_control_number",
            format!(
                "the patient control number must be 1 to {MAX_PATIENT_CONTROL_NUMBER_LEN} printable characters"
            ),
        );
    }
    if !input.patient_control_number_unique {
        out.error(
            "claim.pcn_not_unique",
            "/patient_control_number",
            "another claim has this patient control number; remittances could not be matched",
        );
    }
    if c.frequency.refers_to_prior_claim()
        && c.original_reference
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        out.error(
            "frequency.original_reference",
            "/original_reference",
            "a replacement (7) or void (8) claim needs the payer's claim number of the original",
        );
    }
    let key = c.duplicate_key();
    let dup = input.other_claims.iter().any(|o| {
        o.claim_id != c.claim_id && Some(o.claim_id) != c.original_claim_id && o.same_claim_as(&key)
    });
    if dup {
        out.error(
            "claim.duplicate",
            "",
            "another claim has the same patient, billing provider, date of service and procedures",
        );
    }
}

#[cfg(test)]
mod tests;

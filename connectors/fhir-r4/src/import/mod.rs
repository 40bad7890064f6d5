//! The `import` operation: one FHIR R4 resource, a Bundle or Bulk Data NDJSON in, canonical
//! records out.
//!
//! - [`input`]: which shape the input has and the resources it carries;
//! - [`refs`]: references between resources (literal, `urn:uuid:`, conditional), and the rule
//!   that a reference we read must resolve or the referring record is refused;
//! - [`patient`], [`coverage`], [`encounter`] and [`lines`]: each record's mapping;
//! - [`values`]: value helpers (code systems, dates, codes, names).
//!
//! Messages name the resource (type, logical id, entry index or line), the field as a JSON
//! pointer into the input and the rule, never a value: names, dates of birth, identifiers and
//! codes of a person stay out of issues and errors.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use revcycle_connector_abi::ConnectorError;
use revcycle_connector_abi::canonical as c;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::model as m;

pub(crate) mod coverage;
pub(crate) mod encounter;
pub mod input;
mod lines;
mod patient;
mod refs;
pub mod values;

use input::{Format, Source, split};
pub use values::{
    SYS_CONDITION_CATEGORY, SYS_CPT, SYS_HCPCS, SYS_ICD10CM, SYS_NDC, SYS_NPI,
    SYS_PARTICIPATION_TYPE, SYS_POS, SYS_SSN, SYS_V2_0203, full_date, icd10,
};
use values::{is_id, is_type_name};

/// Stable issue codes.
pub mod codes {
    /// An NDJSON line that is not JSON, or a resource whose fields have the wrong shape.
    pub const MALFORMED: &str = "malformed_resource";
    /// A field the record cannot do without is absent or empty.
    pub const MISSING_REQUIRED: &str = "missing_required";
    /// A reference that points at nothing in this input (and cannot stand on its own).
    pub const UNRESOLVED_REFERENCE: &str = "unresolved_reference";
    /// A value outside what we can translate (currency, order, modifier count...).
    pub const UNSUPPORTED_VALUE: &str = "unsupported_value";
    /// A coded value outside the value set FHIR binds the element to (e.g. a gender that is
    /// not administrative-gender): the record is refused, never coerced.
    pub const INVALID_CODE: &str = "invalid_code";
    /// A billing resource with no CPT/HCPCS (or a Condition with no ICD-10-CM) coding.
    pub const NO_BILLING_CODE: &str = "no_billing_code";
    /// A resource marked entered-in-error or cancelled (a Coverage also: draft): deliberately
    /// not imported.
    pub const SKIPPED_STATUS: &str = "skipped_status";
    /// A billing resource not attached to any encounter of this input.
    pub const NOT_LINKED: &str = "not_linked";
    /// The same `Type/id` twice; the first one is used.
    pub const DUPLICATE: &str = "duplicate_resource";
    /// Summary (position absent): resource types this connector does not import, with counts.
    pub const IGNORED_TYPES: &str = "ignored_resource_types";
}

/// Settings of an import.
#[derive(Clone, Debug)]
pub struct Options {
    pub source_system: String,
    /// CMS place-of-service code used when neither a Location nor the encounter class tells.
    pub default_place_of_service: Option<String>,
}

// ----- parsed resources --------------------------------------------------------------------

enum Res {
    Patient(m::Patient),
    RelatedPerson(m::RelatedPerson),
    Organization(m::Organization),
    Practitioner(m::Practitioner),
    PractitionerRole(m::PractitionerRole),
    Location(m::Location),
    Coverage(m::Coverage),
    Encounter(m::Encounter),
    Condition(m::Condition),
    Procedure(m::Procedure),
    ChargeItem(m::ChargeItem),
    Claim(m::Claim),
    /// Read only for the coverage its insurance names.
    ExplanationOfBenefit(m::ExplanationOfBenefit),
    /// Not imported (or unreadable: an issue was already written).
    Other,
}

struct Entry {
    position: u64,
    full_url: Option<String>,
    resource_type: String,
    id: Option<String>,
    status: Option<String>,
    res: Res,
}

/// Resource types that become canonical records.
const RECORD_TYPES: &[&str] = &["Patient", "Coverage", "Encounter"];

struct Ctx<'a> {
    opts: &'a Options,
    format: Format,
    entries: Vec<Entry>,
    /// fullUrl and `Type/id` -> entry index.
    index: HashMap<String, usize>,
    issues: RefCell<Vec<c::ImportIssue>>,
}

fn parse_typed<T: DeserializeOwned>(raw: &RawValue) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(de).map_err(|e| e.path().to_string())
}

/// Imports `input` (Bundle or NDJSON) into canonical records and issues.
pub fn import(input: &[u8], opts: &Options) -> Result<c::ImportResult, ConnectorError> {
    let mut issues = Vec::new();
    let (format, sources) = split(input, &mut issues)?;
    let mut ctx = Ctx {
        opts,
        format,
        entries: Vec::with_capacity(sources.len()),
        index: HashMap::new(),
        issues: RefCell::new(issues),
    };
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for source in sources {
        ctx.add(source, &mut ignored, &mut seen);
    }
    if !seen.is_empty() && !RECORD_TYPES.iter().any(|t| seen.contains_key(*t)) {
        let list: Vec<String> = seen.iter().map(|(t, n)| format!("{t} x{n}")).collect();
        return Err(ConnectorError::invalid_input(format!(
            "the input carries no Patient, Coverage or Encounter resource (found {}); \
             Conditions, Procedures, ChargeItems and Claims are imported with their Encounter",
            list.join(", ")
        )));
    }
    let mut result = c::ImportResult {
        schema_version: c::SCHEMA_VERSION,
        ..Default::default()
    };
    let mut used = HashSet::new();
    let mut patients = Vec::new();
    let mut coverages = Vec::new();
    let mut encounters = Vec::new();
    for i in 0..ctx.entries.len() {
        match &ctx.entries[i].res {
            Res::Patient(p) => {
                if let Some(p) = ctx.patient(i, p) {
                    patients.push(c::ImportRecord::Patient(p));
                }
            }
            Res::Coverage(cov) => {
                if let Some(cov) = ctx.coverage(i, cov) {
                    coverages.push(c::ImportRecord::Coverage(cov));
                }
            }
            Res::Encounter(e) => {
                if let Some(e) = ctx.encounter(i, e, &mut used) {
                    encounters.push(c::ImportRecord::Encounter(e));
                }
            }
            _ => {}
        }
    }
    ctx.report_unlinked(&used);
    ctx.report_insurance();
    result.records.extend(patients);
    result.records.extend(coverages);
    result.records.extend(encounters);
    if !ignored.is_empty() {
        let total: usize = ignored.values().sum();
        let list: Vec<String> = ignored.iter().map(|(t, n)| format!("{t} x{n}")).collect();
        ctx.issues.borrow_mut().push(c::ImportIssue {
            position: None,
            code: codes::IGNORED_TYPES.into(),
            message: format!(
                "ignored {total} resource(s) of types not imported: {}",
                list.join(", ")
            ),
        });
    }
    result.issues = ctx.issues.into_inner();
    Ok(result)
}

impl Ctx<'_> {
    fn add(
        &mut self,
        source: Source,
        ignored: &mut BTreeMap<String, usize>,
        seen: &mut BTreeMap<String, usize>,
    ) {
        let where_ = self.where_(source.position);
        let head: m::Head = match parse_typed(&source.raw) {
            Ok(h) => h,
            Err(_) => {
                self.issues.borrow_mut().push(c::ImportIssue {
                    position: Some(source.position),
                    code: codes::MALFORMED.into(),
                    message: format!("{where_}: not a FHIR resource (expected a JSON object)"),
                });
                return;
            }
        };
        let Some(resource_type) = head.resource_type.filter(|t| is_type_name(t)) else {
            self.issues.borrow_mut().push(c::ImportIssue {
                position: Some(source.position),
                code: codes::MALFORMED.into(),
                message: format!("{where_}: resourceType is missing or invalid"),
            });
            return;
        };
        *seen.entry(resource_type.clone()).or_default() += 1;
        let mut entry = Entry {
            position: source.position,
            full_url: source.full_url,
            resource_type,
            id: head.id.filter(|id| !id.trim().is_empty()),
            status: head.status,
            res: Res::Other,
        };
        let prefix = match self.format {
            Format::Bundle => format!("/entry/{}/resource", entry.position),
            Format::Ndjson | Format::Resource => String::new(),
        };
        if entry.id.as_deref().is_some_and(|id| !is_id(id)) {
            let detail = format!("{prefix}/id: id is not a valid FHIR id");
            self.push_issue(&entry, codes::MALFORMED, &detail);
            return;
        }
        let raw = &source.raw;
        let parsed: Result<Res, String> = match entry.resource_type.as_str() {
            "Patient" => parse_typed(raw).map(Res::Patient),
            "RelatedPerson" => parse_typed(raw).map(Res::RelatedPerson),
            "Organization" => parse_typed(raw).map(Res::Organization),
            "Practitioner" => parse_typed(raw).map(Res::Practitioner),
            "PractitionerRole" => parse_typed(raw).map(Res::PractitionerRole),
            "Location" => parse_typed(raw).map(Res::Location),
            "Coverage" => parse_typed(raw).map(Res::Coverage),
            "Encounter" => parse_typed(raw).map(Res::Encounter),
            "Condition" => parse_typed(raw).map(Res::Condition),
            "Procedure" => parse_typed(raw).map(Res::Procedure),
            "ChargeItem" => parse_typed(raw).map(Res::ChargeItem),
            "Claim" => parse_typed(raw).map(Res::Claim),
            // Not imported itself: one we cannot read stays in the ignored summary.
            "ExplanationOfBenefit" => Ok(parse_typed(raw)
                .map(Res::ExplanationOfBenefit)
                .unwrap_or_else(|_| {
                    *ignored
                        .entry("ExplanationOfBenefit".to_owned())
                        .or_default() += 1;
                    Res::Other
                })),
            other => {
                *ignored.entry(other.to_owned()).or_default() += 1;
                Ok(Res::Other)
            }
        };
        match parsed {
            Ok(res) => entry.res = res,
            Err(path) => {
                // serde's `identifier[0].value` as the pointer `/identifier/0/value`.
                let pointer: String = path
                    .split(['.', '['])
                    .filter(|p| !p.is_empty())
                    .map(|p| format!("/{}", p.trim_end_matches(']')))
                    .collect();
                let msg = format!("{prefix}{pointer}: the field has the wrong shape");
                self.push_issue(&entry, codes::MALFORMED, &msg);
                // Kept (as Other) so references to it are recognised as failed, not missing.
            }
        }
        let idx = self.entries.len();
        if let Some(id) = &entry.id {
            let key = format!("{}/{id}", entry.resource_type);
            if self.index.contains_key(&key) {
                self.push_issue(
                    &entry,
                    codes::DUPLICATE,
                    "the same Type/id appeared earlier; this copy is skipped",
                );
                return;
            }
            self.index.insert(key, idx);
        }
        if let Some(url) = &entry.full_url {
            self.index.entry(url.clone()).or_insert(idx);
        }
        self.entries.push(entry);
    }

    fn where_(&self, position: u64) -> String {
        match self.format {
            Format::Bundle => format!("entry {position}"),
            Format::Ndjson => format!("line {position}"),
            Format::Resource => "the posted resource".to_owned(),
        }
    }

    /// A JSON pointer (RFC 6901) into the input for `field` (itself a pointer relative to the
    /// resource, e.g. `/status`): inside a Bundle it starts at `/entry/N/resource`; for NDJSON
    /// it is relative to the line's resource (the position names the line).
    /// Text that does not start with `/` is returned as it is.
    fn pointer(&self, i: usize, field: &str) -> String {
        if !field.is_empty() && !field.starts_with('/') {
            return field.to_owned();
        }
        match self.format {
            Format::Bundle => format!("/entry/{}/resource{field}", self.entries[i].position),
            Format::Ndjson | Format::Resource => field.to_owned(),
        }
    }

    /// An issue about `field` of entry `i`: the message names the resource, the pointer and
    /// the rule.
    fn issue_at(&self, i: usize, code: &str, field: &str, rule: &str) {
        let detail = format!("{}: {rule}", self.pointer(i, field));
        self.issue(i, code, &detail);
    }

    fn label(&self, e: &Entry) -> String {
        let where_ = self.where_(e.position);
        match &e.id {
            Some(id) => format!("{}/{id} ({where_})", e.resource_type),
            None => format!("{} ({where_})", e.resource_type),
        }
    }

    fn push_issue(&self, e: &Entry, code: &str, detail: &str) {
        let message = format!("{}: {detail}", self.label(e));
        self.issues.borrow_mut().push(c::ImportIssue {
            position: Some(e.position),
            code: code.into(),
            message,
        });
    }

    fn issue(&self, i: usize, code: &str, detail: &str) {
        let message = format!("{}: {detail}", self.label(&self.entries[i]));
        self.issues.borrow_mut().push(c::ImportIssue {
            position: Some(self.entries[i].position),
            code: code.into(),
            message,
        });
    }

    /// Skips entered-in-error / cancelled resources with an issue; true when skipped.
    fn skipped_status(&self, i: usize) -> bool {
        let status = self.entries[i].status.as_deref();
        if matches!(status, Some("entered-in-error" | "cancelled")) {
            let detail = format!("status {} is not imported", status.unwrap_or_default());
            self.issue_at(i, codes::SKIPPED_STATUS, "/status", &detail);
            return true;
        }
        false
    }

    /// The coverage each Claim or ExplanationOfBenefit names in `insurance` is answered, never
    /// dropped: one that is a Coverage entry of this input is a record (or an issue) of its own;
    /// any other (a contained Coverage, a display, a reference to nothing here) cannot become a
    /// coverage record, and an issue says why, with the rule that refuses it.
    fn report_insurance(&self) {
        for j in 0..self.entries.len() {
            let (contained, insurance) = match &self.entries[j].res {
                Res::Claim(cl) => (&cl.contained, &cl.insurance),
                Res::ExplanationOfBenefit(eob) => (&eob.contained, &eob.insurance),
                _ => continue,
            };
            for (n, ins) in insurance.iter().enumerate() {
                let Some(r) = ins.coverage.as_ref() else {
                    continue;
                };
                self.insurance_coverage(j, contained, n, r);
            }
        }
    }

    fn insurance_coverage(
        &self,
        j: usize,
        contained: &[Box<RawValue>],
        n: usize,
        r: &m::Reference,
    ) {
        let field = format!("/insurance/{n}/coverage");
        let not_imported = "not imported as a coverage";
        match r.reference.as_deref().map(str::trim) {
            Some(local) if local.starts_with('#') => {
                let id = &local[1..];
                let found = contained.iter().enumerate().find_map(|(k, raw)| {
                    let head: m::Head = parse_typed(raw).ok()?;
                    (head.resource_type.as_deref() == Some("Coverage")
                        && head.id.as_deref() == Some(id))
                    .then_some(k)
                });
                let Some(k) = found else {
                    let rule = format!(
                        "the reference does not resolve to a contained Coverage; {not_imported}"
                    );
                    self.issue_at(
                        j,
                        codes::UNRESOLVED_REFERENCE,
                        &format!("{field}/reference"),
                        &rule,
                    );
                    return;
                };
                let cov: m::Coverage = match parse_typed(&contained[k]) {
                    Ok(cov) => cov,
                    Err(_) => {
                        let rule = format!(
                            "the Coverage contained here (named by insurance/{n}) has the wrong \
                             shape; {not_imported}"
                        );
                        let at = format!("/contained/{k}");
                        self.issue_at(j, codes::MALFORMED, &at, &rule);
                        return;
                    }
                };
                if coverage::member_id(&cov).is_none() {
                    let rule = format!(
                        "the Coverage contained here (named by insurance/{n}) has no \
                         subscriberId, and no identifier has type MB (member number); \
                         {not_imported}"
                    );
                    let at = format!("/contained/{k}/subscriberId");
                    self.issue_at(j, codes::MISSING_REQUIRED, &at, &rule);
                } else {
                    let rule = format!(
                        "a contained Coverage (named by insurance/{n}) is {not_imported}: send \
                         it as a Coverage resource of the feed"
                    );
                    let at = format!("/contained/{k}");
                    self.issue_at(j, codes::UNSUPPORTED_VALUE, &at, &rule);
                }
            }
            Some(_) => {
                if let Some(k) = self.resolve(r)
                    && matches!(self.entries[k].res, Res::Coverage(_))
                {
                    // A Coverage of this input: answered as its own record.
                    return;
                }
                let rule = format!(
                    "the reference does not resolve to a Coverage of this input; {not_imported}"
                );
                self.issue_at(
                    j,
                    codes::UNRESOLVED_REFERENCE,
                    &format!("{field}/reference"),
                    &rule,
                );
            }
            None => {
                let rule = format!(
                    "the coverage is named by display or identifier only (no Coverage \
                     resource, no member id); {not_imported}"
                );
                self.issue_at(j, codes::MISSING_REQUIRED, &field, &rule);
            }
        }
    }

    fn report_unlinked(&self, used: &HashSet<usize>) {
        for j in 0..self.entries.len() {
            if used.contains(&j) {
                continue;
            }
            let what = match &self.entries[j].res {
                Res::Procedure(_) => "encounter",
                Res::ChargeItem(_) => "context",
                Res::Claim(_) => "item.encounter",
                Res::Condition(cond) if cond.encounter.is_some() => "encounter",
                _ => continue,
            };
            let detail =
                format!("{what} does not resolve to an Encounter of this input; not imported");
            self.issue(j, codes::NOT_LINKED, &detail);
        }
    }
}

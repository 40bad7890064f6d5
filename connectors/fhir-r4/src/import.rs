//! The `import` operation: a FHIR R4 Bundle or Bulk Data NDJSON in, canonical records out.
//!
//! Messages name the resource (type, logical id, entry index or line) and the field, never a
//! value: names, dates of birth, identifiers and codes of a person stay out of issues and errors.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use revcycle_connector_abi::ConnectorError;
use revcycle_connector_abi::canonical as c;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::decimal;
use crate::model::{self as m, CodeableConcept, Coding, Reference};

// ----- code systems ------------------------------------------------------------------------

pub const SYS_V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
pub const SYS_SSN: &str = "http://hl7.org/fhir/sid/us-ssn";
pub const SYS_NPI: &str = "http://hl7.org/fhir/sid/us-npi";
pub const SYS_ICD10CM: &[&str] = &[
    "http://hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:2.16.840.1.113883.6.90",
];
pub const SYS_CPT: &[&str] = &[
    "http://www.ama-assn.org/go/cpt",
    "urn:oid:2.16.840.1.113883.6.12",
];
pub const SYS_HCPCS: &[&str] = &[
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "http://terminology.hl7.org/CodeSystem/HCPCS",
    "urn:oid:2.16.840.1.113883.6.285",
];
pub const SYS_POS: &str =
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";
pub const SYS_NDC: &str = "http://hl7.org/fhir/sid/ndc";
pub const SYS_CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub const SYS_PARTICIPATION_TYPE: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

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
    /// A resource marked entered-in-error or cancelled: deliberately skipped.
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

// ----- input splitting ---------------------------------------------------------------------

/// One resource of the input with where it came from.
struct Source {
    /// Bundle entry index (0-based) or NDJSON line number (1-based).
    position: u64,
    full_url: Option<String>,
    raw: Box<RawValue>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Bundle,
    Ndjson,
}

fn invalid(msg: impl Into<String>) -> ConnectorError {
    ConnectorError::invalid_input(msg)
}

/// Splits the input into resources: a Bundle (one JSON document whose `resourceType` is
/// `Bundle`) or NDJSON (one resource per line). Detection is by content.
fn split(
    input: &[u8],
    issues: &mut Vec<c::ImportIssue>,
) -> Result<(Format, Vec<Source>), ConnectorError> {
    let text = std::str::from_utf8(input)
        .map_err(|e| invalid(format!("input is not UTF-8 (byte {})", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(invalid("input is empty"));
    };
    let more_lines = lines.next().is_some();
    let first_is_whole = serde_json::from_str::<Box<RawValue>>(first.trim()).is_ok();

    if first_is_whole && more_lines {
        return Ok((Format::Ndjson, ndjson(text, issues)));
    }
    // One JSON document: a Bundle, or a lone resource.
    let head: m::Head = serde_json::from_str::<Box<RawValue>>(text)
        .map_err(ConnectorError::from)
        .and_then(|raw| {
            serde_json::from_str(raw.get()).map_err(|_| {
                invalid("input is neither a FHIR resource nor NDJSON (line 1 column 1)")
            })
        })?;
    if head.resource_type.as_deref() != Some("Bundle") {
        return Ok((Format::Ndjson, ndjson(text, issues)));
    }
    let bundle: m::Bundle = serde_json::from_str(text)?;
    match bundle.type_.as_deref() {
        Some("transaction" | "batch" | "collection" | "searchset") => {}
        Some(other)
            if other.len() <= 32
                && other
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            return Err(invalid(format!(
                "Bundle.type {other:?} is not imported (transaction, batch, collection or searchset)"
            )));
        }
        _ => {
            return Err(invalid(
                "Bundle.type is missing or not one of transaction, batch, collection, searchset",
            ));
        }
    }
    let sources = bundle
        .entry
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            Some(Source {
                position: i as u64,
                full_url: e.full_url,
                raw: e.resource?,
            })
        })
        .collect();
    Ok((Format::Bundle, sources))
}

fn ndjson(text: &str, issues: &mut Vec<c::ImportIssue>) -> Vec<Source> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let position = i as u64 + 1;
        match serde_json::from_str::<Box<RawValue>>(line) {
            Ok(raw) => out.push(Source {
                position,
                full_url: None,
                raw,
            }),
            Err(e) => issues.push(c::ImportIssue {
                position: Some(position),
                code: codes::MALFORMED.into(),
                message: format!(
                    "line {position} is not valid JSON ({:?} error at column {})",
                    e.classify(),
                    e.column()
                ),
            }),
        }
    }
    out
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
    for source in sources {
        ctx.add(source, &mut ignored);
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

/// Whether a string is a plausible resource type name (so it may appear in a message).
fn is_type_name(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Whether a logical id is FHIR-shaped (so it may appear in a message): `[A-Za-z0-9\-\.]{1,64}`.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl Ctx<'_> {
    fn add(&mut self, source: Source, ignored: &mut BTreeMap<String, usize>) {
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
        let mut entry = Entry {
            position: source.position,
            full_url: source.full_url,
            resource_type,
            id: head.id.filter(|id| !id.trim().is_empty()),
            status: head.status,
            res: Res::Other,
        };
        if entry.id.as_deref().is_some_and(|id| !is_id(id)) {
            self.push_issue(&entry, codes::MALFORMED, "id is not a valid FHIR id");
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
            other => {
                *ignored.entry(other.to_owned()).or_default() += 1;
                Ok(Res::Other)
            }
        };
        match parsed {
            Ok(res) => entry.res = res,
            Err(path) => {
                let msg = format!("field {path} has the wrong shape");
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
        }
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
            self.issue(i, codes::SKIPPED_STATUS, &detail);
            return true;
        }
        false
    }

    // ----- references ----------------------------------------------------------------------

    fn resolve(&self, r: &Reference) -> Option<usize> {
        let text = r.reference.as_deref()?.trim();
        if text.starts_with('#') {
            return None;
        }
        let text = text.split("/_history/").next().unwrap_or(text);
        if let Some(&i) = self.index.get(text) {
            return Some(i);
        }
        let relative = relative_part(text)?;
        self.index.get(&relative).copied()
    }

    /// The entry's external id: its logical id, else the uuid of a `urn:uuid:` fullUrl.
    fn external_id(&self, i: usize) -> Option<String> {
        let e = &self.entries[i];
        e.id.clone().or_else(|| {
            e.full_url
                .as_deref()
                .and_then(|u| u.strip_prefix("urn:uuid:"))
                .map(str::to_owned)
        })
    }

    /// The external id of the Patient a reference points at: resolved in this input, or taken
    /// from a relative/absolute `Patient/<id>` that stands on its own (imported earlier).
    fn patient_id(&self, r: &Reference) -> Option<String> {
        if let Some(i) = self.resolve(r) {
            return matches!(self.entries[i].res, Res::Patient(_)).then(|| self.external_id(i))?;
        }
        let relative = relative_part(r.reference.as_deref()?.trim())?;
        let (t, id) = relative.split_once('/')?;
        (t == "Patient" && is_id(id)).then(|| id.to_owned())
    }

    fn resolve_encounter(&self, r: Option<&Reference>) -> Option<usize> {
        let i = self.resolve(r?)?;
        matches!(self.entries[i].res, Res::Encounter(_)).then_some(i)
    }

    /// The NPI behind a reference to a Practitioner, PractitionerRole, Organization or Location
    /// (or the reference's own identifier).
    fn npi(&self, r: &Reference) -> Option<String> {
        if let Some(i) = self.resolve(r) {
            let found = match &self.entries[i].res {
                Res::Practitioner(p) => npi_of(&p.identifier),
                Res::Organization(o) => npi_of(&o.identifier),
                Res::Location(l) => npi_of(&l.identifier),
                Res::PractitionerRole(role) => npi_of(&role.identifier).or_else(|| {
                    role.practitioner.as_ref().and_then(|p| {
                        let j = self.resolve(p)?;
                        match &self.entries[j].res {
                            Res::Practitioner(p) => npi_of(&p.identifier),
                            _ => None,
                        }
                    })
                }),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
        r.identifier
            .as_ref()
            .filter(|id| id.system.as_deref() == Some(SYS_NPI))
            .and_then(|id| non_empty(id.value.as_deref()))
    }

    // ----- Patient -------------------------------------------------------------------------

    fn patient(&self, i: usize, p: &m::Patient) -> Option<c::Patient> {
        if self.skipped_status(i) {
            return None;
        }
        let Some(external_id) = self.external_id(i) else {
            self.issue(
                i,
                codes::MISSING_REQUIRED,
                "id is missing (and no urn:uuid fullUrl)",
            );
            return None;
        };
        let (name, other_names) = pick_names(&p.name);
        let Some(name) = name.filter(|n| !n.family.is_empty()) else {
            self.issue(
                i,
                codes::MISSING_REQUIRED,
                "name.family is missing (official or usual name)",
            );
            return None;
        };
        let Some(sex) = sex(p.gender.as_deref()) else {
            self.issue(i, codes::INVALID_CODE, GENDER_RULE);
            return None;
        };
        // The MRN with its namespace: Identifier.system says who assigned the value.
        let mr = p.identifier.iter().find(|id| {
            id.type_
                .as_ref()
                .is_some_and(|t| t.has(Some(SYS_V2_0203), "MR"))
        });
        let mrn = mr.and_then(|id| non_empty(id.value.as_deref()));
        let mrn_system = mr.and_then(|id| non_empty(id.system.as_deref()));
        let ssn = p
            .identifier
            .iter()
            .find(|id| {
                id.system.as_deref() == Some(SYS_SSN)
                    || id
                        .type_
                        .as_ref()
                        .is_some_and(|t| t.has(Some(SYS_V2_0203), "SS"))
            })
            .and_then(|id| non_empty(id.value.as_deref()));
        Some(c::Patient {
            source_system: self.opts.source_system.clone(),
            external_id,
            mrn,
            mrn_system,
            name,
            other_names,
            birth_date: p.birth_date.as_deref().and_then(full_date),
            sex,
            ssn,
            address: pick_address(&p.address),
            phone: pick_telecom(&p.telecom, "phone"),
            email: pick_telecom(&p.telecom, "email"),
        })
    }

    // ----- Coverage ------------------------------------------------------------------------

    fn coverage(&self, i: usize, cov: &m::Coverage) -> Option<c::Coverage> {
        if self.skipped_status(i) {
            return None;
        }
        let Some(beneficiary) = cov.beneficiary.as_ref() else {
            self.issue(i, codes::MISSING_REQUIRED, "beneficiary is missing");
            return None;
        };
        let Some(patient_external_id) = self.patient_id(beneficiary) else {
            self.issue(
                i,
                codes::UNRESOLVED_REFERENCE,
                "beneficiary does not resolve to a Patient",
            );
            return None;
        };
        let member_id = non_empty(cov.subscriber_id.as_deref()).or_else(|| {
            cov.identifier
                .iter()
                .find(|id| {
                    id.type_
                        .as_ref()
                        .is_some_and(|t| t.has(Some(SYS_V2_0203), "MB"))
                })
                .and_then(|id| non_empty(id.value.as_deref()))
        });
        let Some(member_id) = member_id else {
            self.issue(
                i,
                codes::MISSING_REQUIRED,
                "subscriberId (or a member identifier, type MB) is missing",
            );
            return None;
        };
        let Some(payor) = cov.payor.first() else {
            self.issue(i, codes::MISSING_REQUIRED, "payor is missing");
            return None;
        };
        let payer = match self.resolve(payor).map(|j| &self.entries[j].res) {
            Some(Res::Organization(o)) => c::PayerRef {
                name: non_empty(o.name.as_deref()).unwrap_or_default(),
                payer_id: payer_id_of(&o.identifier),
            },
            Some(Res::Patient(_) | Res::RelatedPerson(_)) => {
                self.issue(
                    i,
                    codes::UNSUPPORTED_VALUE,
                    "payor[0] is a person (self-pay is not a coverage here)",
                );
                return None;
            }
            _ => c::PayerRef {
                name: non_empty(payor.display.as_deref()).unwrap_or_default(),
                payer_id: payor
                    .identifier
                    .as_ref()
                    .and_then(|id| non_empty(id.value.as_deref())),
            },
        };
        if payer.name.is_empty() {
            self.issue(
                i,
                codes::UNRESOLVED_REFERENCE,
                "payor[0] resolves to no Organization with a name",
            );
            return None;
        }
        let priority = match cov.order {
            None | Some(1) => c::CoveragePriority::Primary,
            Some(2) => c::CoveragePriority::Secondary,
            Some(3) => c::CoveragePriority::Tertiary,
            Some(_) => {
                self.issue(i, codes::UNSUPPORTED_VALUE, "order is beyond 3 (tertiary)");
                return None;
            }
        };
        // The subscriber, when it is someone other than the beneficiary.
        let subscriber_entry = cov.subscriber.as_ref().and_then(|s| self.resolve(s));
        let beneficiary_entry = self.resolve(beneficiary);
        let subscriber = match subscriber_entry {
            Some(j) if Some(j) != beneficiary_entry => match &self.entries[j].res {
                Res::Patient(s) | Res::RelatedPerson(s) => {
                    let Some(sex) = sex(s.gender.as_deref()) else {
                        self.issue(
                            i,
                            codes::INVALID_CODE,
                            &format!("subscriber's {GENDER_RULE}"),
                        );
                        return None;
                    };
                    Some(c::Subscriber {
                        member_id: Some(member_id.clone()),
                        name: pick_names(&s.name).0.unwrap_or_default(),
                        birth_date: s.birth_date.as_deref().and_then(full_date),
                        sex,
                        address: pick_address(&s.address),
                    })
                }
                _ => None,
            },
            _ => None,
        };
        let relationship_code = cov
            .relationship
            .as_ref()
            .and_then(|r| r.coding.iter().find_map(|c| c.code.clone()));
        let relationship = match relationship_code.as_deref() {
            Some("self") => c::SubscriberRelationship::SelfInsured,
            Some("spouse") => c::SubscriberRelationship::Spouse,
            Some("child") => c::SubscriberRelationship::Child,
            Some(_) => c::SubscriberRelationship::Other,
            None if subscriber.is_some() => c::SubscriberRelationship::Other,
            None => c::SubscriberRelationship::SelfInsured,
        };
        let class = |code: &str| {
            cov.class.iter().find(|k| {
                k.type_.as_ref().is_some_and(|t| {
                    t.has(
                        Some("http://terminology.hl7.org/CodeSystem/coverage-class"),
                        code,
                    )
                })
            })
        };
        let group = class("group");
        let plan = class("plan");
        let period = cov.period.clone().unwrap_or_default();
        Some(c::Coverage {
            source_system: self.opts.source_system.clone(),
            external_id: self.external_id(i),
            patient_external_id,
            payer,
            member_id,
            group_number: group.and_then(|g| non_empty(g.value.as_deref())),
            group_name: group.and_then(|g| non_empty(g.name.as_deref())),
            plan_name: plan.and_then(|p| {
                non_empty(p.name.as_deref()).or_else(|| non_empty(p.value.as_deref()))
            }),
            relationship,
            subscriber,
            priority,
            period: c::Period {
                start: period.start.as_deref().and_then(full_date),
                end: period.end.as_deref().and_then(full_date),
            },
        })
    }

    // ----- Encounter -----------------------------------------------------------------------

    fn encounter(
        &self,
        i: usize,
        e: &m::Encounter,
        used: &mut HashSet<usize>,
    ) -> Option<c::Encounter> {
        // Everything pointing at this encounter is accounted for, whatever becomes of it.
        let linked = self.linked_to(i);
        used.extend(linked.iter().copied());
        if self.skipped_status(i) {
            return None;
        }
        let Some(external_id) = self.external_id(i) else {
            self.issue(
                i,
                codes::MISSING_REQUIRED,
                "id is missing (and no urn:uuid fullUrl)",
            );
            return None;
        };
        let Some(subject) = e.subject.as_ref() else {
            self.issue(i, codes::MISSING_REQUIRED, "subject is missing");
            return None;
        };
        let Some(patient_external_id) = self.patient_id(subject) else {
            self.issue(
                i,
                codes::UNRESOLVED_REFERENCE,
                "subject does not resolve to a Patient",
            );
            return None;
        };
        let period = e.period.clone().unwrap_or_default();
        let Some(date_of_service) = period.start.as_deref().and_then(full_date) else {
            self.issue(
                i,
                codes::MISSING_REQUIRED,
                "period.start is missing or not a full date",
            );
            return None;
        };
        let end_date = period.end.as_deref().and_then(full_date);

        // Providers.
        let participant = |codes_: &[&str]| {
            codes_.iter().find_map(|code| {
                e.participant.iter().find_map(|p| {
                    let typed = p
                        .type_
                        .iter()
                        .any(|t| t.has(Some(SYS_PARTICIPATION_TYPE), code));
                    if typed {
                        p.individual.as_ref().and_then(|r| self.npi(r))
                    } else {
                        None
                    }
                })
            })
        };
        let rendering = participant(&["PPRF", "ATND", "PRF"]).or_else(|| {
            e.participant
                .iter()
                .filter(|p| p.type_.is_empty())
                .find_map(|p| p.individual.as_ref().and_then(|r| self.npi(r)))
        });
        let referring = participant(&["REF"]);
        let billing = e.service_provider.as_ref().and_then(|r| self.npi(r));
        let mut facility = None;
        let mut location_pos = None;
        for loc in e.location.iter().filter_map(|l| l.location.as_ref()) {
            if let Some(j) = self.resolve(loc)
                && let Res::Location(l) = &self.entries[j].res
            {
                facility = facility.or_else(|| npi_of(&l.identifier));
                location_pos = location_pos.or_else(|| l.type_.iter().find_map(pos_code));
            }
        }
        let class_pos = e
            .class
            .as_ref()
            .and_then(|class| class_place_of_service(class, self.opts));
        let place_of_service = location_pos
            .or(class_pos)
            .or_else(|| self.opts.default_place_of_service.clone());

        // Diagnoses: Encounter.diagnosis by rank, then encounter-diagnosis Conditions in order.
        let mut diagnoses: Vec<String> = Vec::new();
        let mut ranked: Vec<(u32, usize)> = Vec::new();
        for (n, d) in e.diagnosis.iter().enumerate() {
            if let Some(j) = d.condition.as_ref().and_then(|r| self.resolve(r))
                && matches!(self.entries[j].res, Res::Condition(_))
            {
                ranked.push((d.rank.unwrap_or(u32::MAX), n));
                let _ = j;
            }
        }
        ranked.sort();
        let mut condition_entries: Vec<usize> = ranked
            .iter()
            .filter_map(|&(_, n)| {
                e.diagnosis[n]
                    .condition
                    .as_ref()
                    .and_then(|r| self.resolve(r))
            })
            .collect();
        for &j in &linked {
            if let Res::Condition(cond) = &self.entries[j].res
                && !condition_entries.contains(&j)
                && is_billing_condition(cond)
            {
                condition_entries.push(j);
            }
        }
        for j in condition_entries {
            if let Some(code) = self.condition_code(j) {
                push_unique(&mut diagnoses, code);
            }
        }

        // Service lines: the EHR's Claim when there is one, else ChargeItems, then Procedures
        // that no ChargeItem prices.
        let claims: Vec<usize> = linked
            .iter()
            .copied()
            .filter(|&j| match &self.entries[j].res {
                Res::Claim(claim) => is_billing_claim(claim),
                _ => false,
            })
            .collect();
        let mut lines: Vec<c::ServiceLine> = Vec::new();
        let enc_ctx = LineCtx {
            place_of_service: place_of_service.clone(),
            rendering: rendering.clone(),
        };
        if !claims.is_empty() {
            for j in claims {
                if self.skipped_status(j) {
                    continue;
                }
                let Res::Claim(claim) = &self.entries[j].res else {
                    continue;
                };
                let claim = claim.clone();
                for item in &claim.item {
                    if !item.encounter.is_empty()
                        && !item.encounter.iter().any(|r| self.resolve(r) == Some(i))
                    {
                        continue;
                    }
                    match self.claim_line(j, &claim, item, &enc_ctx, &mut diagnoses) {
                        Ok(line) => lines.push(line),
                        Err((code, detail)) => self.issue(j, code, &detail),
                    }
                }
            }
        } else {
            let mut priced_procedures = HashSet::new();
            for &j in &linked {
                let Res::ChargeItem(item) = &self.entries[j].res else {
                    continue;
                };
                let item = item.clone();
                for s in &item.service {
                    if let Some(k) = self.resolve(s) {
                        priced_procedures.insert(k);
                    }
                }
                if self.skipped_status(j)
                    || matches!(
                        self.entries[j].status.as_deref(),
                        Some("not-billable" | "aborted")
                    )
                {
                    continue;
                }
                match self.charge_item_line(j, &item, &enc_ctx, &mut diagnoses) {
                    Ok(line) => lines.push(line),
                    Err((code, detail)) => self.issue(j, code, &detail),
                }
            }
            for &j in &linked {
                let Res::Procedure(proc_) = &self.entries[j].res else {
                    continue;
                };
                if priced_procedures.contains(&j) {
                    continue;
                }
                if self.skipped_status(j)
                    || matches!(
                        self.entries[j].status.as_deref(),
                        Some("not-done" | "preparation")
                    )
                {
                    continue;
                }
                let proc_ = proc_.clone();
                match self.procedure_line(j, &proc_, &enc_ctx, &mut diagnoses) {
                    Ok(line) => lines.push(line),
                    Err((code, detail)) => self.issue(j, code, &detail),
                }
            }
        }
        for (n, line) in lines.iter_mut().enumerate() {
            line.line_number = Some(n as u32 + 1);
        }
        Some(c::Encounter {
            source_system: self.opts.source_system.clone(),
            external_id,
            patient_external_id,
            date_of_service,
            end_date,
            place_of_service,
            billing_provider_npi: billing,
            rendering_provider_npi: rendering,
            referring_provider_npi: referring,
            service_facility_npi: facility,
            diagnoses,
            service_lines: lines,
        })
    }

    /// Entries (Conditions, Procedures, ChargeItems, Claims) that point at encounter `i`.
    fn linked_to(&self, i: usize) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&j| {
                let refs: Vec<&Reference> = match &self.entries[j].res {
                    Res::Condition(c) => c.encounter.iter().collect(),
                    Res::Procedure(p) => p.encounter.iter().collect(),
                    Res::ChargeItem(ci) => ci.context.iter().collect(),
                    Res::Claim(cl) => cl.item.iter().flat_map(|it| it.encounter.iter()).collect(),
                    _ => Vec::new(),
                };
                refs.into_iter()
                    .any(|r| self.resolve_encounter(Some(r)) == Some(i))
            })
            .collect()
    }

    /// The ICD-10-CM code of Condition `j`; an issue when it has none.
    fn condition_code(&self, j: usize) -> Option<String> {
        let Res::Condition(cond) = &self.entries[j].res else {
            return None;
        };
        if cond
            .verification_status
            .as_ref()
            .is_some_and(|v| v.has(None, "entered-in-error") || v.has(None, "refuted"))
        {
            return None;
        }
        let code = cond
            .code
            .as_ref()
            .and_then(|cc| cc.code_in(SYS_ICD10CM))
            .and_then(|c| c.code.as_deref())
            .map(icd10);
        if code.is_none() {
            self.issue(j, codes::NO_BILLING_CODE, "code has no ICD-10-CM coding");
        }
        code
    }

    /// The ICD-10-CM codes a reference list / concept list names, as pointers into `diagnoses`
    /// (appending codes not yet listed).
    fn pointers(
        &self,
        refs: &[Reference],
        concepts: &[CodeableConcept],
        diagnoses: &mut Vec<String>,
    ) -> Result<Vec<u8>, (&'static str, String)> {
        let mut codes_ = Vec::new();
        for r in refs {
            if let Some(j) = self.resolve(r)
                && let Some(code) = self.condition_code(j)
            {
                codes_.push(code);
            }
        }
        for cc in concepts {
            if let Some(code) = cc.code_in(SYS_ICD10CM).and_then(|c| c.code.as_deref()) {
                codes_.push(icd10(code));
            }
        }
        let mut pointers = Vec::new();
        for code in codes_ {
            let p = pointer_for(diagnoses, code)?;
            if !pointers.contains(&p) {
                pointers.push(p);
            }
        }
        if pointers.len() > 4 {
            return Err((
                codes::UNSUPPORTED_VALUE,
                "more than four diagnosis pointers".into(),
            ));
        }
        Ok(pointers)
    }

    fn charge_item_line(
        &self,
        j: usize,
        item: &m::ChargeItem,
        enc: &LineCtx,
        diagnoses: &mut Vec<String>,
    ) -> Result<c::ServiceLine, (&'static str, String)> {
        let cc = item.code.clone().unwrap_or_default();
        let (procedure_code, modifiers) = procedure_code(&cc, &item.extension, "code")?;
        let units = units(item.quantity.as_ref(), "quantity")?;
        let charge = match &item.price_override {
            Some(money) => money_value(money, "priceOverride")?,
            None => "0.00".to_owned(),
        };
        // Diagnoses: the ChargeItem's reasons, else those of the Procedure it prices.
        let mut pointers = self.pointers(&[], &item.reason, diagnoses)?;
        let mut service_date = item
            .occurrence_date_time
            .as_deref()
            .or(item
                .occurrence_period
                .as_ref()
                .and_then(|p| p.start.as_deref()))
            .and_then(full_date);
        if pointers.is_empty() || service_date.is_none() {
            for s in &item.service {
                if let Some(k) = self.resolve(s)
                    && let Res::Procedure(p) = &self.entries[k].res
                {
                    let p = p.clone();
                    if pointers.is_empty() {
                        pointers = self.pointers(&p.reason_reference, &p.reason_code, diagnoses)?;
                    }
                    service_date = service_date.or_else(|| procedure_date(&p));
                }
            }
        }
        let rendering = item
            .performer
            .iter()
            .find_map(|p| p.actor.as_ref().and_then(|a| self.npi(a)));
        let ndc = item
            .product_codeable_concept
            .as_ref()
            .and_then(|p| p.code_in(&[SYS_NDC]))
            .and_then(|c| c.code.clone());
        Ok(c::ServiceLine {
            line_number: None,
            procedure_code,
            modifiers,
            units,
            charge,
            diagnosis_pointers: pointers,
            service_date,
            place_of_service: None,
            rendering_provider_npi: rendering.filter(|r| Some(r) != enc.rendering.as_ref()),
            ndc,
            line_control_number: self.external_id(j),
        })
    }

    fn procedure_line(
        &self,
        j: usize,
        p: &m::Procedure,
        enc: &LineCtx,
        diagnoses: &mut Vec<String>,
    ) -> Result<c::ServiceLine, (&'static str, String)> {
        let cc = p.code.clone().unwrap_or_default();
        let (procedure_code, modifiers) = procedure_code(&cc, &p.extension, "code")?;
        let pointers = self.pointers(&p.reason_reference, &p.reason_code, diagnoses)?;
        let rendering = p
            .performer
            .iter()
            .find_map(|x| x.actor.as_ref().and_then(|a| self.npi(a)));
        Ok(c::ServiceLine {
            line_number: None,
            procedure_code,
            modifiers,
            units: "1".into(),
            // A Procedure carries no price: 0.00 means "not priced by the EHR".
            charge: "0.00".into(),
            diagnosis_pointers: pointers,
            service_date: procedure_date(p),
            place_of_service: None,
            rendering_provider_npi: rendering.filter(|r| Some(r) != enc.rendering.as_ref()),
            ndc: None,
            line_control_number: self.external_id(j),
        })
    }

    fn claim_line(
        &self,
        _j: usize,
        claim: &m::Claim,
        item: &m::ClaimItem,
        enc: &LineCtx,
        diagnoses: &mut Vec<String>,
    ) -> Result<c::ServiceLine, (&'static str, String)> {
        let seq = item.sequence.unwrap_or(0);
        let at = |field: &str| format!("item (sequence {seq}).{field}");
        let cc = item.product_or_service.clone().unwrap_or_default();
        let (procedure_code, mut modifiers) = procedure_code(&cc, &[], &at("productOrService"))?;
        for m_ in &item.modifier {
            if let Some(code) = m_.coding.iter().find_map(|c| non_empty(c.code.as_deref())) {
                modifiers.push(code.to_ascii_uppercase());
            }
        }
        check_modifiers(&modifiers, &at("modifier"))?;
        let units = units(item.quantity.as_ref(), &at("quantity"))?;
        let charge = match (&item.net, &item.unit_price) {
            (Some(net), _) => money_value(net, &at("net"))?,
            (None, Some(price)) => {
                let unit = money_value(price, &at("unitPrice"))?;
                decimal::multiply_money(&unit, &units).ok_or((
                    codes::UNSUPPORTED_VALUE,
                    format!("{} x quantity cannot be computed", at("unitPrice")),
                ))?
            }
            (None, None) => "0.00".to_owned(),
        };
        // Pointers keep the order of diagnosisSequence: resolve one at a time.
        let mut pointers = Vec::new();
        for s in &item.diagnosis_sequence {
            let Some(d) = claim.diagnosis.iter().find(|d| d.sequence == Some(*s)) else {
                return Err((
                    codes::UNRESOLVED_REFERENCE,
                    format!("{} {s} matches no Claim.diagnosis", at("diagnosisSequence")),
                ));
            };
            let found = self.pointers(
                d.diagnosis_reference.as_slice(),
                d.diagnosis_codeable_concept.as_slice(),
                diagnoses,
            )?;
            if found.is_empty() {
                return Err((
                    codes::NO_BILLING_CODE,
                    format!("diagnosis (sequence {s}) has no ICD-10-CM code"),
                ));
            }
            for p in found {
                if !pointers.contains(&p) {
                    pointers.push(p);
                }
            }
        }
        if pointers.len() > 4 {
            return Err((
                codes::UNSUPPORTED_VALUE,
                format!("{} has more than four entries", at("diagnosisSequence")),
            ));
        }
        let rendering = item.care_team_sequence.iter().find_map(|s| {
            claim
                .care_team
                .iter()
                .find(|t| t.sequence == Some(*s))
                .and_then(|t| t.provider.as_ref())
                .and_then(|r| self.npi(r))
        });
        let pos = item.location_codeable_concept.as_ref().and_then(pos_code);
        let service_date = item
            .serviced_date
            .as_deref()
            .or(item
                .serviced_period
                .as_ref()
                .and_then(|p| p.start.as_deref()))
            .and_then(full_date);
        let claim_id = claim.id.clone().unwrap_or_default();
        Ok(c::ServiceLine {
            line_number: None,
            procedure_code,
            modifiers,
            units,
            charge,
            diagnosis_pointers: pointers,
            service_date,
            place_of_service: pos.filter(|p| Some(p) != enc.place_of_service.as_ref()),
            rendering_provider_npi: rendering.filter(|r| Some(r) != enc.rendering.as_ref()),
            ndc: None,
            line_control_number: (!claim_id.is_empty()).then(|| format!("{claim_id}-{seq}")),
        })
    }

    /// Billing resources that reached no encounter get an issue (they must not vanish).
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

struct LineCtx {
    place_of_service: Option<String>,
    rendering: Option<String>,
}

// ----- helpers -----------------------------------------------------------------------------

/// `Type/id` from a relative or absolute reference.
fn relative_part(text: &str) -> Option<String> {
    if text.starts_with("urn:") {
        return None;
    }
    let mut parts = text.rsplit('/');
    let id = parts.next()?;
    let t = parts.next()?;
    (is_type_name(t) && t.starts_with(|c: char| c.is_ascii_uppercase()) && is_id(id))
        .then(|| format!("{t}/{id}"))
}

fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn push_unique(list: &mut Vec<String>, code: String) {
    if !list.contains(&code) {
        list.push(code);
    }
}

fn pointer_for(diagnoses: &mut Vec<String>, code: String) -> Result<u8, (&'static str, String)> {
    let index = match diagnoses.iter().position(|d| *d == code) {
        Some(n) => n,
        None => {
            diagnoses.push(code);
            diagnoses.len() - 1
        }
    };
    u8::try_from(index + 1).map_err(|_| {
        (
            codes::UNSUPPORTED_VALUE,
            "too many diagnoses for a pointer".into(),
        )
    })
}

/// ICD-10-CM as printed: upper case, with the dot after the category (`e119` -> `E11.9`).
pub fn icd10(code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    if code.len() > 3 && !code.contains('.') && code.is_ascii() {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code
    }
}

/// `YYYY-MM-DD` from a FHIR date or dateTime; partial dates give `None`.
pub fn full_date(text: &str) -> Option<String> {
    let d = text.trim().get(..10)?;
    let b = d.as_bytes();
    let shape = b.iter().enumerate().all(|(n, c)| match n {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    (shape && text.trim().len() >= 10).then(|| d.to_owned())
}

/// FHIR administrative-gender (required binding); `None` for a value outside it, which must
/// refuse the record: coercing it to unknown would overwrite what we know with a guess.
fn sex(gender: Option<&str>) -> Option<c::Sex> {
    match gender {
        Some("male") => Some(c::Sex::Male),
        Some("female") => Some(c::Sex::Female),
        Some("other") => Some(c::Sex::Other),
        Some("unknown") | None => Some(c::Sex::Unknown),
        Some(_) => None,
    }
}

const GENDER_RULE: &str =
    "gender is not one of male, female, other, unknown (FHIR administrative-gender)";

fn person_name(n: &m::HumanName) -> c::PersonName {
    c::PersonName {
        family: n
            .family
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned(),
        given: n
            .given
            .iter()
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty())
            .collect(),
        prefix: n.prefix.first().and_then(|p| non_empty(Some(p))),
        suffix: n.suffix.first().and_then(|s| non_empty(Some(s))),
    }
}

/// The official (else usual, else first current) name, and the others.
fn pick_names(names: &[m::HumanName]) -> (Option<c::PersonName>, Vec<c::PersonName>) {
    let pick = ["official", "usual"]
        .iter()
        .find_map(|u| names.iter().position(|n| n.use_.as_deref() == Some(u)))
        .or_else(|| {
            names
                .iter()
                .position(|n| !matches!(n.use_.as_deref(), Some("old" | "maiden")))
        })
        .or(if names.is_empty() { None } else { Some(0) });
    let Some(pick) = pick else {
        return (None, Vec::new());
    };
    let others = names
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != pick)
        .map(|(_, n)| person_name(n))
        .filter(|n| !n.family.is_empty() || !n.given.is_empty())
        .collect();
    (Some(person_name(&names[pick])), others)
}

fn pick_address(addresses: &[m::Address]) -> Option<c::Address> {
    let a = addresses
        .iter()
        .find(|a| a.use_.as_deref() == Some("home"))
        .or_else(|| {
            addresses
                .iter()
                .find(|a| !matches!(a.use_.as_deref(), Some("old")))
        })?;
    let country =
        a.country
            .as_deref()
            .map(str::trim)
            .and_then(|c| match c.to_ascii_uppercase().as_str() {
                "" | "US" | "USA" | "UNITED STATES" => None,
                code if code.len() == 2 => Some(code.to_owned()),
                _ => Some(c.to_owned()),
            });
    Some(c::Address {
        lines: a.line.iter().filter_map(|l| non_empty(Some(l))).collect(),
        city: a.city.as_deref().unwrap_or_default().trim().to_owned(),
        state: a.state.as_deref().unwrap_or_default().trim().to_owned(),
        postal_code: a
            .postal_code
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        country,
    })
}

fn pick_telecom(points: &[m::ContactPoint], system: &str) -> Option<String> {
    let of_system = || {
        points
            .iter()
            .filter(|p| p.system.as_deref() == Some(system))
    };
    of_system()
        .find(|p| matches!(p.use_.as_deref(), Some("home" | "mobile")))
        .or_else(|| of_system().find(|p| p.use_.as_deref() != Some("old")))
        .and_then(|p| non_empty(p.value.as_deref()))
}

fn npi_of(ids: &[m::Identifier]) -> Option<String> {
    ids.iter()
        .find(|id| id.system.as_deref() == Some(SYS_NPI))
        .and_then(|id| non_empty(id.value.as_deref()))
}

/// A payer's id: a NIIP-typed identifier, else the first that is not an NPI or tax id.
fn payer_id_of(ids: &[m::Identifier]) -> Option<String> {
    ids.iter()
        .find(|id| {
            id.type_
                .as_ref()
                .is_some_and(|t| t.has(Some(SYS_V2_0203), "NIIP"))
        })
        .or_else(|| {
            ids.iter().find(|id| {
                id.system.as_deref() != Some(SYS_NPI)
                    && !id
                        .type_
                        .as_ref()
                        .is_some_and(|t| t.has(Some(SYS_V2_0203), "TAX"))
            })
        })
        .and_then(|id| non_empty(id.value.as_deref()))
}

fn pos_code(cc: &CodeableConcept) -> Option<String> {
    cc.code_in(&[SYS_POS])
        .and_then(|c| c.code.clone())
        .map(|c| c.trim().to_owned())
}

/// Place of service from `Encounter.class` (v3 ActCode), where the class says it.
fn class_place_of_service(class: &Coding, opts: &Options) -> Option<String> {
    let pos = match class.code.as_deref()? {
        "EMER" => "23",
        "IMP" | "ACUTE" | "NONAC" => "21",
        "OBSENC" => "22",
        "HH" => "12",
        "VR" => "02",
        // Ambulatory: an office unless the feed is configured otherwise.
        "AMB" => {
            return Some(
                opts.default_place_of_service
                    .clone()
                    .unwrap_or_else(|| "11".into()),
            );
        }
        _ => return None,
    };
    Some(pos.to_owned())
}

fn is_billing_condition(cond: &m::Condition) -> bool {
    cond.category.is_empty()
        || cond
            .category
            .iter()
            .any(|c| c.has(Some(SYS_CONDITION_CATEGORY), "encounter-diagnosis"))
}

fn is_billing_claim(claim: &m::Claim) -> bool {
    matches!(claim.use_.as_deref(), None | Some("claim"))
}

fn procedure_date(p: &m::Procedure) -> Option<String> {
    p.performed_date_time
        .as_deref()
        .or(p.performed_period.as_ref().and_then(|x| x.start.as_deref()))
        .and_then(full_date)
}

/// Modifier codes carried as extensions (any extension whose url ends in `modifier`).
fn extension_modifiers(exts: &[m::Extension]) -> Vec<String> {
    exts.iter()
        .filter(|x| x.url.to_ascii_lowercase().ends_with("modifier"))
        .filter_map(|x| {
            x.value_coding
                .as_ref()
                .and_then(|c| c.code.clone())
                .or_else(|| {
                    x.value_codeable_concept
                        .as_ref()
                        .and_then(|cc| cc.coding.iter().find_map(|c| c.code.clone()))
                })
                .or_else(|| x.value_code.clone())
                .or_else(|| x.value_string.clone())
        })
        .map(|m_| m_.trim().to_ascii_uppercase())
        .filter(|m_| !m_.is_empty())
        .collect()
}

/// The CPT/HCPCS code of a concept and its modifiers (from the coding, the concept and the
/// resource's extensions, in that order).
fn procedure_code(
    cc: &CodeableConcept,
    resource_ext: &[m::Extension],
    field: &str,
) -> Result<(String, Vec<String>), (&'static str, String)> {
    let systems: Vec<&str> = SYS_CPT.iter().chain(SYS_HCPCS).copied().collect();
    let Some(coding) = cc.code_in(&systems) else {
        return Err((
            codes::NO_BILLING_CODE,
            format!("{field} has no CPT or HCPCS coding"),
        ));
    };
    let code = coding
        .code
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    let mut modifiers = extension_modifiers(&coding.extension);
    for m_ in extension_modifiers(&cc.extension)
        .into_iter()
        .chain(extension_modifiers(resource_ext))
    {
        push_unique(&mut modifiers, m_);
    }
    check_modifiers(&modifiers, &format!("{field} modifier"))?;
    Ok((code, modifiers))
}

fn check_modifiers(modifiers: &[String], field: &str) -> Result<(), (&'static str, String)> {
    if modifiers.len() > 4 {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}: more than four modifiers"),
        ));
    }
    if modifiers
        .iter()
        .any(|m_| m_.len() != 2 || !m_.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}: a modifier is not two letters/digits"),
        ));
    }
    Ok(())
}

fn units(q: Option<&m::Quantity>, field: &str) -> Result<String, (&'static str, String)> {
    let Some(value) = q.and_then(|q| q.value.as_ref()) else {
        return Ok("1".into());
    };
    if !decimal::is_positive(&value.0) {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}.value is not positive"),
        ));
    }
    Ok(value.0.clone())
}

fn money_value(money: &m::Money, field: &str) -> Result<String, (&'static str, String)> {
    if money.currency.as_deref().is_some_and(|c| c != "USD") {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}.currency is not USD"),
        ));
    }
    let Some(value) = &money.value else {
        return Err((codes::MISSING_REQUIRED, format!("{field}.value is missing")));
    };
    if decimal::is_negative(&value.0) {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}.value is negative"),
        ));
    }
    decimal::money(&value.0).ok_or((
        codes::UNSUPPORTED_VALUE,
        format!("{field}.value is not a decimal"),
    ))
}

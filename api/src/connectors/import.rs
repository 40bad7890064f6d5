//! Applying an EHR plugin's canonical records through `core`: each record becomes the same
//! input a REST client would send (so the same parsing, validation, encryption and audit
//! apply), matched to what earlier imports created by (source system, type, external id).
//! A record whose content has not changed since the last import is left alone.

use revcycle_connector_abi::canonical::{self, ImportRecord};
use revcycle_core::access::OrgId;
use revcycle_core::audit::Disclosed;
use revcycle_core::codes::{Npi, ProviderRole, UsState, ZipCode};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::coverage::{CoverageInput, CoverageSearch};
use revcycle_core::model::encounter::{self, CreditEffect, EncounterInput, LineSource};
use revcycle_core::model::identity;
use revcycle_core::model::patient::PatientInput;
use revcycle_core::phi::OrgKeys;
use revcycle_core::store::import_links::{self, Link};
use revcycle_core::store::{
    DbConnection, KeyRing, ListParams, coverages, encounters, patients, payers, providers,
    write_transaction,
};
use revcycle_core::validation::{FieldError, Rules};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::extract::parse_json;
use crate::problem::ApiError;
use crate::request_audit::context::AuditCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// What became of one record of the feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordResult {
    /// The record's place in the plugin's output, from 0.
    pub index: usize,
    /// `patient`, `coverage` or `encounter`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub status: RecordStatus,
    /// Our record's id (absent when rejected).
    pub id: Option<Uuid>,
    /// Why it was rejected: the rule broken and where, never a value.
    pub reason: Option<String>,
    /// Optional values left out because they broke a rule (the rest of the record was kept).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
}

fn rejected(index: usize, record_type: &'static str, reason: String) -> RecordResult {
    RecordResult {
        index,
        record_type,
        status: RecordStatus::Rejected,
        id: None,
        reason: Some(reason),
        warnings: Vec::new(),
    }
}

/// A refusal reason fit to return: pointer and rule, never the value.
fn reason_of(e: &CoreError) -> String {
    match e {
        CoreError::Invalid(errors) => errors
            .iter()
            .map(|f| format!("{}: {}", f.pointer, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        CoreError::NotFound { resource } => format!("{resource} not found"),
        CoreError::Conflict(m) => m.clone(),
        _ => "could not be stored".into(),
    }
}

fn api_reason(e: ApiError) -> String {
    match e {
        ApiError::Core(c) => reason_of(&c),
        other => other.to_string(),
    }
}

/// Parses a REST input from JSON we built, with the API's safe error messages.
fn input<T: serde::de::DeserializeOwned + Rules>(v: &Value) -> Result<T, String> {
    parse_json(v.to_string().as_bytes()).map_err(api_reason)
}

/// Every problem of a record at once: values that do not parse, text that breaks the boundary
/// rule, and every rule of `T` that needs no stored data.
fn all_problems<T: serde::de::DeserializeOwned + Rules>(v: &Value) -> Result<T, Vec<FieldError>> {
    match parse_json::<T>(v.to_string().as_bytes()) {
        Ok(t) => {
            let errors = t.rule_errors(&[]);
            if errors.is_empty() {
                Ok(t)
            } else {
                Err(errors)
            }
        }
        Err(ApiError::Core(CoreError::Invalid(errors))) => Err(errors),
        Err(other) => Err(vec![FieldError::new("", other.to_string())]),
    }
}

/// Like [`input`], but invalid values in the `optional` members (EHRs send 7-digit phones,
/// placeholder SSNs, addresses without a ZIP code) are dropped rather than sinking the whole
/// record. All of a record's problems are found in one pass: if each lies in an optional
/// member, each member is dropped with a warning naming the field and the rule; if any lies
/// elsewhere (a required value, a code), the record is refused naming those fields.
/// An entry of `optional` is a member name or a path of them (`subscriber/address`).
fn input_dropping<T: serde::de::DeserializeOwned + Rules>(
    v: &Value,
    optional: &[&str],
    validate: impl Fn(&mut T) -> Result<(), CoreError>,
) -> Result<(T, Vec<String>), String> {
    let optional: Vec<String> = optional.iter().map(|o| format!("/{o}")).collect();
    let member_of = |pointer: &str| {
        optional
            .iter()
            .find(|o| {
                pointer == o.as_str()
                    || (pointer.starts_with(o.as_str())
                        && pointer.as_bytes().get(o.len()) == Some(&b'/'))
            })
            .cloned()
    };
    let mut record = v.clone();
    let mut warnings = Vec::new();
    // Dropping a member cannot make another one invalid, so a second pass finds nothing new;
    // one pass per optional member bounds it all the same.
    for _ in 0..=optional.len() {
        let errors = match all_problems::<T>(&record) {
            Ok(mut t) => {
                validate(&mut t).map_err(|e| reason_of(&e))?;
                return Ok((t, warnings));
            }
            Err(errors) => errors,
        };
        let refusing: Vec<FieldError> = errors
            .iter()
            .filter(|f| member_of(&f.pointer).is_none())
            .cloned()
            .collect();
        if !refusing.is_empty() {
            return Err(reason_of(&CoreError::Invalid(refusing)));
        }
        for f in &errors {
            let Some(member) = member_of(&f.pointer) else {
                continue;
            };
            if let Some(slot) = record.pointer_mut(&member) {
                *slot = Value::Null;
            }
            warnings.push(if f.pointer == member {
                format!("{member} dropped: {}", f.message)
            } else {
                format!("{member} dropped ({}: {})", f.pointer, f.message)
            });
        }
    }
    Err("the record could not be made valid by dropping optional values".into())
}

fn sex(s: canonical::Sex) -> &'static str {
    match s {
        canonical::Sex::Female => "F",
        canonical::Sex::Male => "M",
        canonical::Sex::Other | canonical::Sex::Unknown => "U",
    }
}

/// An address as the REST API takes it. Feeds write states by name and ZIP+4 in several
/// ways: both are normalised here (USPS code; ZIP digits as stored), and a blank part is
/// missing, so the rules say so.
fn address(a: &Option<canonical::Address>) -> Value {
    let present = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
    match a {
        None => Value::Null,
        Some(a) => json!({
            "line1": a.lines.first().and_then(|l| present(l)),
            "line2": a.lines.get(1).and_then(|l| present(l)),
            "city": present(&a.city),
            "state": present(&a.state).map(|s| UsState::parse_code_or_name(&s)
                .map_or(s, |state| state.as_str().to_string())),
            "zip": present(&a.postal_code).map(|z| ZipCode::parse_lenient(&z)
                .map_or(z, |zip| zip.as_str().to_string())),
        }),
    }
}

fn patient_json(p: &canonical::Patient) -> Value {
    json!({
        "mrn": p.mrn,
        "mrn_system": p.mrn_system,
        "family_name": p.name.family,
        "given_name": p.name.given.first().cloned().unwrap_or_default(),
        "middle_name": p.name.given.get(1),
        "birth_date": p.birth_date,
        "sex": sex(p.sex),
        "address": address(&p.address),
        "phone": p.phone,
        "email": p.email,
        "ssn": p.ssn,
        "external_ids": [{"system": p.source_system, "value": p.external_id}],
    })
}

/// Which record an upsert is about: its link (if imported before) and its content now.
struct Target {
    resource_type: &'static str,
    source_key: String,
    existing: Option<Link>,
    content_key: String,
}

/// Creates a record; returns its id and what it disclosed.
type CreateFn<'a> = dyn FnMut(&mut DbConnection) -> CoreResult<(Uuid, Disclosed)> + 'a;
/// Updates the record with this id; returns what it disclosed.
type UpdateFn<'a> = dyn FnMut(&mut DbConnection, Uuid) -> CoreResult<Disclosed> + 'a;

/// A record applied: its status, our id, its patient, and what was dropped from it.
type Applied = (RecordStatus, Uuid, Uuid, Vec<String>);

/// Applies every record, each in its own transaction with its audit event.
pub struct Importer<'a> {
    pub keyring: &'a KeyRing,
    /// The org's keys, for the keyed hashes of external ids and content (fetched once).
    pub keys: &'a OrgKeys,
    pub org: OrgId,
    pub audit: &'a AuditCtx,
    pub today: chrono::NaiveDate,
}

impl Importer<'_> {
    pub fn apply(
        &self,
        conn: &mut DbConnection,
        records: &[ImportRecord],
        disclosed: &mut Disclosed,
    ) -> Vec<RecordResult> {
        records
            .iter()
            .enumerate()
            .filter(|(_, r)| !matches!(r, ImportRecord::Unknown))
            .map(|(i, r)| {
                let (kind, result) = match r {
                    ImportRecord::Patient(p) => ("patient", self.patient(conn, p)),
                    ImportRecord::Coverage(c) => ("coverage", self.coverage(conn, c)),
                    ImportRecord::Encounter(e) => ("encounter", self.encounter(conn, e)),
                    ImportRecord::Unknown => unreachable!("filtered above"),
                };
                match result {
                    Ok((status, id, patient, warnings)) => {
                        disclosed.patient_ids.insert(patient);
                        RecordResult {
                            index: i,
                            record_type: kind,
                            status,
                            id: Some(id),
                            reason: None,
                            warnings,
                        }
                    }
                    Err(reason) => rejected(i, kind, reason),
                }
            })
            .collect()
    }

    fn link_of(
        &self,
        conn: &mut DbConnection,
        source: &str,
        resource_type: &str,
        external_id: &str,
    ) -> Result<(String, Option<Link>), String> {
        let key = import_links::source_key(self.keys, source, resource_type, external_id);
        let link = import_links::find(conn, self.org, &key).map_err(|e| reason_of(&e))?;
        Ok((key, link))
    }

    fn content(&self, v: &Value) -> String {
        import_links::content_key(self.keys, &v.to_string())
    }

    /// The patient an earlier record of this source created.
    fn patient_of(
        &self,
        conn: &mut DbConnection,
        source: &str,
        external_id: &str,
    ) -> Result<Uuid, String> {
        match self.link_of(conn, source, "Patient", external_id)? {
            (_, Some(link)) => Ok(link.record_id),
            (_, None) => Err("/patient_external_id: the patient has not been imported".into()),
        }
    }

    /// One record: find its link, skip it if unchanged, else create or update it and record
    /// the link and the audit event, all in one transaction.
    fn upsert(
        &self,
        conn: &mut DbConnection,
        target: Target,
        create: &mut CreateFn<'_>,
        update: &mut UpdateFn<'_>,
    ) -> Result<(RecordStatus, Uuid), String> {
        let Target {
            resource_type,
            source_key,
            existing,
            content_key,
        } = target;
        // Nothing changed since the last import: nothing to write, nothing to record.
        if let Some(link) = &existing
            && link.content_key == content_key
        {
            return Ok((RecordStatus::Unchanged, link.record_id));
        }
        write_transaction(conn, |conn| {
            let (status, id, disclosed) = match &existing {
                Some(link) => {
                    let d = update(conn, link.record_id)?;
                    (RecordStatus::Updated, link.record_id, d)
                }
                None => {
                    let (id, d) = create(conn)?;
                    (RecordStatus::Created, id, d)
                }
            };
            import_links::record(
                conn,
                self.org,
                &source_key,
                resource_type,
                &Link {
                    record_id: id,
                    content_key: content_key.clone(),
                },
            )?;
            let (action, code) = match status {
                RecordStatus::Created => ("import.create", 201),
                _ => ("import.update", 200),
            };
            self.audit.with(action, resource_type).append_in_tx(
                conn,
                code,
                Some(id),
                &disclosed,
            )?;
            Ok((status, id))
        })
        .map_err(|e| reason_of(&e))
    }

    fn patient(&self, conn: &mut DbConnection, p: &canonical::Patient) -> Result<Applied, String> {
        let v = patient_json(p);
        let today = self.today;
        let (parsed, warnings): (PatientInput, _) = input_dropping(
            &v,
            &["phone", "email", "ssn", "middle_name", "address"],
            |p: &mut PatientInput| p.validate(today),
        )?;
        let (key, mut link) = self.link_of(conn, &p.source_system, "Patient", &p.external_id)?;
        let content = self.content(&v);
        // Not imported from this record before: a patient already on file (registered by
        // hand or by another feed) with the same MRN *in the same system* is the same patient,
        // provided the identity data agrees. A bare MRN value never matches across systems.
        if link.is_none() {
            let found = patients::find_by_mrn(
                conn,
                self.keyring,
                self.org,
                parsed.mrn_system.as_deref(),
                &parsed.mrn,
            )
            .map_err(|e| reason_of(&e))?;
            if let Some(existing) = &found {
                let differ = identity::patient_differences(existing, &parsed);
                if !differ.is_empty() {
                    return Err(identity::conflict_reason(
                        &differ,
                        "the patient with this MRN and MRN system",
                    ));
                }
                link = Some(Link {
                    record_id: existing.id,
                    content_key: String::new(),
                });
            }
        }
        let (keyring, org, today) = (self.keyring, self.org, self.today);
        let mut create_input = parsed.clone();
        let r = self.upsert(
            conn,
            Target {
                resource_type: "Patient",
                source_key: key,
                existing: link,
                content_key: content,
            },
            &mut |c| {
                let created = patients::create(c, keyring, org, &mut create_input, today)?;
                Ok((created.id, Disclosed::of(&created)))
            },
            &mut |c, id| {
                let current = patients::get(c, keyring, org, id)?;
                // Other systems' ids for this patient are kept, not replaced.
                let mut input = parsed.clone();
                for x in current.external_ids.iter().rev() {
                    if !input.external_ids.contains(x) {
                        input.external_ids.insert(0, x.clone());
                    }
                }
                let updated =
                    patients::update(c, keyring, org, id, current.version, &mut input, today)?;
                Ok(Disclosed::of(&updated))
            },
        )?;
        Ok((r.0, r.1, r.1, warnings))
    }

    fn coverage(
        &self,
        conn: &mut DbConnection,
        c: &canonical::Coverage,
    ) -> Result<Applied, String> {
        let patient = self.patient_of(conn, &c.source_system, &c.patient_external_id)?;
        let code = c
            .payer
            .payer_id
            .clone()
            .ok_or("/payer/payer_id: the payer has no payer id")?;
        let payer = payers::list(
            conn,
            self.org,
            &payers::PayerFilter {
                payer_code: Some(code),
                active: None,
            },
            &ListParams::default(),
        )
        .map_err(|e| reason_of(&e))?
        .items
        .into_iter()
        .next()
        .ok_or("/payer/payer_id: no payer with this payer id is set up (POST /v1/payers)")?;
        let relationship = match c.relationship {
            canonical::SubscriberRelationship::SelfInsured => "self",
            canonical::SubscriberRelationship::Spouse => "spouse",
            canonical::SubscriberRelationship::Child => "child",
            canonical::SubscriberRelationship::Other => "other",
        };
        let subscriber = match (&c.subscriber, relationship) {
            (Some(s), r) if r != "self" => json!({
                "family_name": s.name.family,
                "given_name": s.name.given.first().cloned().unwrap_or_default(),
                "birth_date": s.birth_date,
                "sex": sex(s.sex),
                "address": address(&s.address),
            }),
            _ => Value::Null,
        };
        let priority = match c.priority {
            canonical::CoveragePriority::Primary => "primary",
            canonical::CoveragePriority::Secondary => "secondary",
            canonical::CoveragePriority::Tertiary => "tertiary",
        };
        let v = json!({
            "patient_id": patient,
            "payer_id": payer.id,
            "priority": priority,
            "member_id": c.member_id,
            "group_number": c.group_number,
            "plan_name": c.plan_name,
            "relationship": relationship,
            "subscriber": subscriber,
            "effective_from": c.period.start,
            "effective_to": c.period.end,
        });
        let (parsed, warnings): (CoverageInput, _) =
            input_dropping(&v, &["group_number", "plan_name"], CoverageInput::validate)?;
        // Feeds do not always identify coverages: the payer, member id and order stand in.
        let external = c.external_id.clone().unwrap_or_else(|| {
            format!(
                "{}|{}|{}|{priority}",
                c.patient_external_id, payer.payer_code, c.member_id
            )
        });
        let (key, mut link) = self.link_of(conn, &c.source_system, "Coverage", &external)?;
        let content = self.content(&v);
        // Not imported from this record before: this patient's coverage on file with the same
        // payer and member id (never the member id alone) is the same coverage, provided the
        // subscriber's identity agrees. Another patient's coverage under the same member id
        // (a family plan) is never taken over.
        if link.is_none() {
            let found = coverages::search(
                conn,
                self.keyring,
                self.org,
                &CoverageSearch {
                    member_id: parsed.member_id.clone(),
                    payer_id: Some(payer.id),
                    limit: Some(200),
                },
            )
            .map_err(|e| reason_of(&e))?;
            let same_patient = found
                .iter()
                .filter(|x| x.patient_id == patient)
                .min_by_key(|x| (x.priority != parsed.priority, x.id));
            if let Some(existing) = same_patient {
                let differ = identity::coverage_differences(existing, &parsed);
                if !differ.is_empty() {
                    return Err(identity::conflict_reason(
                        &differ,
                        "the patient's coverage with this payer and member id",
                    ));
                }
                link = Some(Link {
                    record_id: existing.id,
                    content_key: String::new(),
                });
            }
        }
        let (keyring, org) = (self.keyring, self.org);
        let mut create_input = parsed.clone();
        let mut update_input = parsed;
        let (status, id) = self.upsert(
            conn,
            Target {
                resource_type: "Coverage",
                source_key: key,
                existing: link,
                content_key: content,
            },
            &mut |conn| {
                let created = coverages::create(conn, keyring, org, &mut create_input)?;
                Ok((created.id, Disclosed::of(&created)))
            },
            &mut |conn, id| {
                let current = coverages::get(conn, keyring, org, id)?;
                let updated =
                    coverages::update(conn, keyring, org, id, current.version, &mut update_input)?;
                Ok(Disclosed::of(&updated))
            },
        )?;
        Ok((status, id, patient, warnings))
    }

    /// The provider with this NPI (one NPI is one provider), which must hold `role`.
    fn provider_by_npi(
        &self,
        conn: &mut DbConnection,
        npi: &Option<String>,
        role: ProviderRole,
        at: &str,
    ) -> Result<Option<Uuid>, String> {
        let Some(npi) = npi else { return Ok(None) };
        let npi = Npi::parse(npi).map_err(|e| format!("{at}: {}", e.message()))?;
        let found = providers::list(
            conn,
            self.org,
            &providers::ProviderFilter {
                npi: Some(npi),
                role: None,
                active: None,
            },
            &ListParams::default(),
        )
        .map_err(|e| reason_of(&e))?;
        match found.items.first() {
            Some(p) if p.has_role(role) => Ok(Some(p.id)),
            Some(p) => Err(format!(
                "{at}: the provider with this NPI does not have the {} role (its roles: {}); \
                 add it with PUT /v1/providers/{}",
                role.as_str(),
                p.roles
                    .iter()
                    .map(ProviderRole::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                p.id
            )),
            None => Err(format!(
                "{at}: no provider with this NPI is set up (POST /v1/providers)"
            )),
        }
    }

    fn encounter(
        &self,
        conn: &mut DbConnection,
        e: &canonical::Encounter,
    ) -> Result<Applied, String> {
        let patient = self.patient_of(conn, &e.source_system, &e.patient_external_id)?;
        // Credits alone (a message that only reverses earlier charges) touch the encounter on
        // file and nothing else.
        if e.service_lines.is_empty() && !e.credits.is_empty() {
            let (_, link) = self.link_of(conn, &e.source_system, "Encounter", &e.external_id)?;
            let Some(link) = link else {
                return Err(
                    "/external_id: the encounter the credits reverse has not been imported".into(),
                );
            };
            let on_file =
                encounters::get(conn, self.org, link.record_id).map_err(|e| reason_of(&e))?;
            let differ = identity::encounter_differences(on_file.patient_id, patient);
            if !differ.is_empty() {
                return Err(identity::conflict_reason(
                    &differ,
                    "the encounter with this visit number",
                ));
            }
            let status = self.credit(conn, e, link.record_id)?;
            return Ok((status, link.record_id, patient, Vec::new()));
        }
        let billing = self
            .provider_by_npi(
                conn,
                &e.billing_provider_npi,
                ProviderRole::Billing,
                "/billing_provider_npi",
            )?
            .ok_or("/billing_provider_npi: the encounter names no billing provider")?;
        let rendering = self.provider_by_npi(
            conn,
            &e.rendering_provider_npi,
            ProviderRole::Rendering,
            "/rendering_provider_npi",
        )?;
        // The patient's primary coverage in force on the date of service, if any.
        let coverage = coverages::list(
            conn,
            self.keyring,
            self.org,
            &coverages::CoverageFilter {
                patient_id: Some(patient),
                payer_id: None,
                active: Some(true),
            },
            &ListParams::default(),
        )
        .map_err(|e| reason_of(&e))?
        .items
        .into_iter()
        .filter(|c| c.priority == revcycle_core::codes::CoveragePriority::Primary)
        .find(|c| {
            chrono::NaiveDate::parse_from_str(&e.date_of_service, "%Y-%m-%d")
                .is_ok_and(|d| c.effective_from <= d && c.effective_to.is_none_or(|to| d <= to))
        })
        .map(|c| c.id);
        let lines: Vec<Value> = e
            .service_lines
            .iter()
            .map(|l| {
                json!({
                    "procedure_code": l.procedure_code,
                    "modifiers": l.modifiers,
                    "units": l.units,
                    "charge": l.charge,
                    "diagnosis_pointers": l.diagnosis_pointers,
                    "service_date": l.service_date,
                })
            })
            .collect();
        let v = json!({
            "patient_id": patient,
            "coverage_id": coverage,
            "billing_provider_id": billing,
            "rendering_provider_id": rendering,
            "service_date_from": e.date_of_service,
            "service_date_to": e.end_date,
            "place_of_service": e.place_of_service.clone().unwrap_or_else(|| "11".into()),
            "diagnoses": e.diagnoses,
            "lines": lines,
        });
        let parsed: EncounterInput = input(&v)?;
        // An encounter is matched on (source, visit number) only, and an import never moves
        // it to another patient.
        let (key, link) = self.link_of(conn, &e.source_system, "Encounter", &e.external_id)?;
        if let Some(l) = &link {
            let on_file =
                encounters::get(conn, self.org, l.record_id).map_err(|e| reason_of(&e))?;
            let differ = identity::encounter_differences(on_file.patient_id, patient);
            if !differ.is_empty() {
                return Err(identity::conflict_reason(
                    &differ,
                    "the encounter with this visit number",
                ));
            }
        }
        let line_sources: Vec<LineSource> = e
            .service_lines
            .iter()
            .map(|l| {
                self.line_source(
                    &e.source_system,
                    &e.external_id,
                    &l.line_control_number,
                    &l.filler_order_number,
                )
            })
            .collect();
        let credits = self.credit_keys(e);
        // The lines' feed ids and the credits are part of what was imported: a resend that
        // renumbers its charges, or credits another, is a change.
        let content = self
            .content(&json!({"encounter": v, "line_sources": line_sources, "credits": credits}));
        let org = self.org;
        let create_input = parsed.clone();
        let update_input = parsed;
        // The lines, where each came from (so a later message can credit it) and the
        // message's credits of earlier charges, in one transaction: all or nothing.
        let (status, id) = self.upsert(
            conn,
            Target {
                resource_type: "Encounter",
                source_key: key,
                existing: link,
                content_key: content,
            },
            &mut |conn| {
                let created = encounters::create(conn, org, &create_input)?;
                encounters::set_line_sources(conn, org, created.id, &line_sources)?;
                // A new visit has no earlier charge to credit: refused, nothing kept.
                self.apply_credits(conn, created.id, &credits, true)?;
                Ok((created.id, Disclosed::of(&created)))
            },
            &mut |conn, id| {
                // Credits name charges of the lines on file; the message's lines then replace
                // them.
                self.apply_credits(conn, id, &credits, true)?;
                let current = encounters::get(conn, org, id)?;
                let updated = encounters::update(conn, org, id, current.version, &update_input)?;
                encounters::set_line_sources(conn, org, id, &line_sources)?;
                Ok(Disclosed::of(&updated))
            },
        )?;
        Ok((status, id, patient, Vec::new()))
    }

    /// The keyed hashes a charge's feed ids are kept under (the ids are the sender's, not
    /// PHI, but are kept no more readable than the external ids they sit beside), scoped to
    /// the source and the visit.
    fn line_source(
        &self,
        source: &str,
        visit: &str,
        transaction: &Option<String>,
        order: &Option<String>,
    ) -> LineSource {
        let key = |kind: &str, v: &String| {
            import_links::source_key(
                self.keys,
                source,
                kind,
                &format!("{}:{visit}{v}", visit.len()),
            )
        };
        LineSource {
            transaction: transaction.as_ref().map(|t| key("ChargeTransaction", t)),
            order: order.as_ref().map(|o| key("ChargeOrder", o)),
        }
    }

    fn credit_keys(&self, e: &canonical::Encounter) -> Vec<LineSource> {
        e.credits
            .iter()
            .map(|c| {
                self.line_source(
                    &e.source_system,
                    &e.external_id,
                    &c.transaction_id,
                    &c.filler_order_number,
                )
            })
            .collect()
    }

    /// Reverses, on the encounter on file, the line each credit names (see
    /// [`encounter::credit_target`]); the caller's transaction makes it all or none. The
    /// encounter as last changed, if a line was removed; a refusal names each credit.
    /// `replacing`: the record's own lines replace the encounter's next, so a credit of its
    /// last line on file leaves lines to bill.
    fn apply_credits(
        &self,
        conn: &mut DbConnection,
        id: Uuid,
        credits: &[LineSource],
        replacing: bool,
    ) -> CoreResult<Option<revcycle_core::model::encounter::Encounter>> {
        let org = self.org;
        let mut refused = Vec::new();
        let mut last = None;
        for (k, credit) in credits.iter().enumerate() {
            let current = encounters::get(conn, org, id)?;
            let (sources, credited) = encounters::line_sources(conn, org, id)?;
            let claim = encounters::live_claim_status(conn, org, id)?;
            match encounter::credit_target(
                &sources,
                &credited,
                credit,
                current.lines.len() + usize::from(replacing),
                claim.as_deref(),
            ) {
                Ok(CreditEffect::Reverse(i)) => {
                    last = Some(encounters::remove_credited_line(
                        conn,
                        org,
                        id,
                        current.version,
                        i,
                    )?);
                }
                Ok(CreditEffect::AlreadyCredited) => {}
                Err(why) => refused.push(format!("/credits/{k}: {}", why.message())),
            }
        }
        if refused.is_empty() {
            Ok(last)
        } else {
            Err(CoreError::Conflict(refused.join("; ")))
        }
    }

    /// A record of credits alone: applied to the encounter on file in one transaction with
    /// its audit event. `Unchanged` when every credit was applied before (a resend).
    fn credit(
        &self,
        conn: &mut DbConnection,
        e: &canonical::Encounter,
        id: Uuid,
    ) -> Result<RecordStatus, String> {
        let credits = self.credit_keys(e);
        write_transaction(conn, |conn| {
            let Some(updated) = self.apply_credits(conn, id, &credits, false)? else {
                return Ok(RecordStatus::Unchanged);
            };
            self.audit.with("import.update", "Encounter").append_in_tx(
                conn,
                200,
                Some(id),
                &Disclosed::of(&updated),
            )?;
            Ok(RecordStatus::Updated)
        })
        .map_err(|e| reason_of(&e))
    }
}

/// Counts by status.
pub fn counts(results: &[RecordResult]) -> ImportCounts {
    let mut c = ImportCounts::default();
    for r in results {
        match r.status {
            RecordStatus::Created => c.created += 1,
            RecordStatus::Updated => c.updated += 1,
            RecordStatus::Unchanged => c.unchanged += 1,
            RecordStatus::Rejected => c.rejected += 1,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONAL: &[&str] = &["phone", "email", "ssn", "middle_name", "address"];

    fn patient(changes: Value) -> Value {
        let mut v = json!({"mrn": "MRN-1", "family_name": "Doe", "given_name": "Jane",
            "birth_date": "1980-04-02", "sex": "F", "phone": "6175550100",
            "ssn": "123-45-6789",
            "address": {"line1": "1 Elm St", "city": "Boston", "state": "MA", "zip": "02134"},
            "external_ids": [{"system": "urn:ehr", "value": "p1"}]});
        for (k, val) in changes.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    }

    fn drop_from(v: &Value) -> Result<(PatientInput, Vec<String>), String> {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        input_dropping(v, OPTIONAL, |p: &mut PatientInput| p.validate(today))
    }

    #[test]
    fn every_invalid_optional_value_is_dropped_in_one_pass() {
        // A Synthea-style record: no ZIP code, a placeholder SSN, a seven-digit phone.
        let v = patient(json!({"ssn": "999-12-3456", "phone": "5550100",
            "address": {"line1": "1 Elm St", "city": "Boston", "state": "MA", "zip": null}}));
        let (p, warnings) = drop_from(&v).unwrap();
        assert_eq!(
            warnings,
            [
                "/address dropped (/address/zip: required field is missing)",
                "/phone dropped: must be a ten-digit US phone number",
                "/ssn dropped: must be a valid nine-digit social security number",
            ]
        );
        assert_eq!((p.address, p.phone, p.ssn), (None, None, None));
        assert_eq!(p.mrn, "MRN-1");
        // Nothing wrong: nothing dropped, values normalised.
        let (p, warnings) = drop_from(&patient(json!({}))).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(p.ssn.as_deref(), Some("123456789"));
    }

    #[test]
    fn a_required_or_coded_value_refuses_the_record_naming_each_field() {
        let v = patient(json!({"mrn": null, "sex": "boy", "ssn": "999-12-3456",
            "birth_date": "1980-02-30"}));
        let reason = drop_from(&v).unwrap_err();
        assert_eq!(
            reason,
            "/birth_date: must be a date written YYYY-MM-DD; /mrn: required field is missing; \
             /sex: sex must be \"F\", \"M\" or \"U\""
        );
        assert!(!reason.contains("boy") && !reason.contains("999"));
    }

    #[test]
    fn feed_addresses_are_normalised_and_blank_parts_are_missing() {
        let a = |state: &str, zip: &str| {
            address(&Some(canonical::Address {
                lines: vec!["1 Elm St".into()],
                city: "Boston".into(),
                state: state.into(),
                postal_code: zip.into(),
                country: None,
            }))
        };
        let v = a("Massachusetts", "021341234");
        assert_eq!(
            (&v["state"], &v["zip"]),
            (&json!("MA"), &json!("021341234"))
        );
        let v = a("U.S. Virgin Islands", "00802 1234");
        assert_eq!(
            (&v["state"], &v["zip"]),
            (&json!("VI"), &json!("008021234"))
        );
        // Unknown names go through as sent, for the rules to name; blanks are missing.
        let v = a("Atlantis", " ");
        assert_eq!((&v["state"], &v["zip"]), (&json!("Atlantis"), &Value::Null));
    }
}

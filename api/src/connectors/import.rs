//! Applying an EHR plugin's canonical records through `core`: each record becomes the same
//! input a REST client would send (so the same parsing, validation, encryption and audit
//! apply), matched to what earlier imports created by (source system, type, external id).
//! A record whose content has not changed since the last import is left alone.

use revcycle_connector_abi::canonical::{self, ImportRecord};
use revcycle_core::access::OrgId;
use revcycle_core::audit::Disclosed;
use revcycle_core::codes::{Npi, ProviderRole};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::coverage::{CoverageInput, CoverageSearch};
use revcycle_core::model::encounter::EncounterInput;
use revcycle_core::model::identity;
use revcycle_core::model::patient::PatientInput;
use revcycle_core::phi::OrgKeys;
use revcycle_core::store::import_links::{self, Link};
use revcycle_core::store::{
    DbConnection, KeyRing, ListParams, coverages, encounters, patients, payers, providers,
    write_transaction,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::AuditCtx;
use crate::extract::parse_json;
use crate::problem::ApiError;

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
fn input<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    parse_json(v.to_string().as_bytes()).map_err(api_reason)
}

/// Like [`input`], but an invalid value in one of the `optional` members (EHRs send 7-digit
/// phones and placeholder SSNs) is dropped rather than sinking the whole record; each drop
/// is reported as a warning naming the member and the rule.
fn input_dropping<T: serde::de::DeserializeOwned>(
    v: &Value,
    optional: &[&str],
    validate: impl Fn(&mut T) -> Result<(), CoreError>,
) -> Result<(T, Vec<String>), String> {
    let checked = |v: &Value| -> Result<T, ApiError> {
        let mut t: T = parse_json(v.to_string().as_bytes())?;
        validate(&mut t)?;
        Ok(t)
    };
    match checked(v) {
        Ok(t) => Ok((t, Vec::new())),
        Err(ApiError::Core(CoreError::Invalid(errors))) => {
            let member = |pointer: &str| {
                pointer
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            if !errors
                .iter()
                .all(|f| optional.contains(&member(&f.pointer).as_str()))
            {
                return Err(reason_of(&CoreError::Invalid(errors)));
            }
            let mut trimmed = v.clone();
            let mut warnings = Vec::new();
            for f in &errors {
                trimmed[member(&f.pointer)] = Value::Null;
                warnings.push(format!("{} dropped: {}", f.pointer, f.message));
            }
            checked(&trimmed).map(|t| (t, warnings)).map_err(api_reason)
        }
        Err(e) => Err(api_reason(e)),
    }
}

fn sex(s: canonical::Sex) -> &'static str {
    match s {
        canonical::Sex::Female => "F",
        canonical::Sex::Male => "M",
        canonical::Sex::Other | canonical::Sex::Unknown => "U",
    }
}

fn address(a: &Option<canonical::Address>) -> Value {
    match a {
        None => Value::Null,
        Some(a) => json!({
            "line1": a.lines.first().cloned().unwrap_or_default(),
            "line2": a.lines.get(1),
            "city": a.city,
            "state": a.state,
            "zip": a.postal_code,
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
        let content = self.content(&v);
        let org = self.org;
        let create_input = parsed.clone();
        let update_input = parsed;
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
                Ok((created.id, Disclosed::of(&created)))
            },
            &mut |conn, id| {
                let current = encounters::get(conn, org, id)?;
                let updated = encounters::update(conn, org, id, current.version, &update_input)?;
                Ok(Disclosed::of(&updated))
            },
        )?;
        Ok((status, id, patient, Vec::new()))
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

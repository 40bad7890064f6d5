//! Applying an EHR plugin's canonical records through `core`: each record becomes the same
//! input a REST client would send (so the same parsing, validation, encryption and audit
//! apply), matched to what earlier imports created by (source system, type, external id).
//! A record whose content has not changed since the last import is left alone.

mod coverage_record;
mod encounter_record;
pub mod inputs;
pub mod results;
#[cfg(test)]
mod tests;

use revcycle_connector_abi::canonical::{self, ImportRecord};
use revcycle_core::access::OrgId;
use revcycle_core::audit::Disclosed;
use revcycle_core::error::CoreResult;
use revcycle_core::model::identity;
use revcycle_core::model::patient::PatientInput;
use revcycle_core::phi::OrgKeys;
use revcycle_core::store::import_links::{self, Link};
use revcycle_core::store::{DbConnection, KeyRing, patients, write_transaction};
use serde_json::Value;
use uuid::Uuid;

use crate::request_audit::context::AuditCtx;

use inputs::{input_dropping, patient_json};
pub use results::{ImportCounts, RecordResult, RecordStatus, counts};
use results::{reason_of, rejected};

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
}

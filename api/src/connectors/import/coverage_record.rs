//! Importing a coverage: its patient and payer found, its subscriber decrypted and compared.

use revcycle_connector_abi::canonical::{self};
use revcycle_core::audit::Disclosed;
use revcycle_core::model::coverage::{CoverageInput, CoverageSearch};
use revcycle_core::model::identity;
use revcycle_core::model::payer::PayerFilter;
use revcycle_core::store::import_links::Link;
use revcycle_core::store::{DbConnection, ListParams, coverages, payers};
use serde_json::{Value, json};

use super::inputs::*;
use super::results::*;
use super::{Applied, Importer, Target};

impl Importer<'_> {
    pub(super) fn coverage(
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
            &PayerFilter {
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
}

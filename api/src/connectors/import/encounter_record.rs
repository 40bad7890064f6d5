//! Importing an encounter: its providers found by NPI, its charges and credits applied to the
//! encounter on file.

use revcycle_connector_abi::canonical::{self};
use revcycle_core::audit::Disclosed;
use revcycle_core::codes::{Npi, ProviderRole};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::coverage::CoverageFilter;
use revcycle_core::model::encounter::{self, CreditEffect, EncounterInput, LineSource};
use revcycle_core::model::identity;
use revcycle_core::model::provider::ProviderFilter;
use revcycle_core::store::import_links::{self};
use revcycle_core::store::{
    DbConnection, ListParams, coverages, encounters, providers, write_transaction,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::inputs::*;
use super::results::*;
use super::{Applied, Importer, Target};

impl Importer<'_> {
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
            &ProviderFilter {
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

    pub(super) fn encounter(
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
            &CoverageFilter {
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
    pub(super) fn credit(
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

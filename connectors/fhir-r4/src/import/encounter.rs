//! Encounter -> canonical coded encounter: patient, service dates, providers, place of service
//! and diagnoses (the service lines come from [`super::lines`]).

use std::collections::HashSet;

use revcycle_connector_abi::canonical as c;

use super::lines::{LineCtx, is_billing_claim};
use super::refs::{Refused, Target};
use super::values::{
    SYS_CONDITION_CATEGORY, SYS_ICD10CM, SYS_PARTICIPATION_TYPE, full_date, icd10, npi_of,
    pointer_for, pos_code, push_unique,
};
use super::{Ctx, Options, Res, codes};
use crate::model::{self as m, CodeableConcept, Coding, Reference};

/// Participant types (v3 ParticipationType) read as the rendering provider, in preference order.
pub const RENDERING_TYPES: &[&str] = &["PPRF", "ATND", "PRF"];

impl Ctx<'_> {
    pub(super) fn encounter(
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
            self.issue_at(i, codes::MISSING_REQUIRED, "/subject", "subject is missing");
            return None;
        };
        let patient_external_id = self.patient_id(i, subject, "/subject")?;

        // Providers: every participant we read must resolve (or carry its NPI itself).
        let mut typed: Vec<(&str, Option<String>)> = Vec::new();
        let mut untyped: Vec<Option<String>> = Vec::new();
        for (n, p) in e.participant.iter().enumerate() {
            let Some(individual) = p.individual.as_ref() else {
                continue;
            };
            let kind = RENDERING_TYPES.iter().chain(&["REF"]).find(|code| {
                p.type_
                    .iter()
                    .any(|t| t.has(Some(SYS_PARTICIPATION_TYPE), code))
            });
            if kind.is_none() && !p.type_.is_empty() {
                continue;
            }
            let npi = self
                .npi(i, individual, &format!("/participant/{n}/individual"))
                .ok()?;
            match kind {
                Some(code) => typed.push((code, npi)),
                None => untyped.push(npi),
            }
        }
        let of_type = |code: &str| {
            typed
                .iter()
                .filter(|(c, _)| *c == code)
                .find_map(|(_, npi)| npi.clone())
        };
        let rendering = RENDERING_TYPES
            .iter()
            .find_map(|code| of_type(code))
            .or_else(|| untyped.iter().find_map(Clone::clone));
        let referring = of_type("REF");
        let billing = match &e.service_provider {
            Some(r) => self.npi(i, r, "/serviceProvider").ok()?,
            None => None,
        };
        let mut facility = None;
        let mut location_pos = None;
        for (n, l) in e.location.iter().enumerate() {
            let Some(loc) = l.location.as_ref() else {
                continue;
            };
            let field = format!("/location/{n}/location");
            match self.target(i, loc, &field, &["Location"], false) {
                Err(Refused) => return None,
                Ok(Target::None) => {}
                Ok(Target::Entry(j)) => {
                    if let Res::Location(l) = &self.entries[j].res {
                        facility = facility.or_else(|| npi_of(&l.identifier));
                        location_pos = location_pos.or_else(|| l.type_.iter().find_map(pos_code));
                    }
                }
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
        let mut ranked: Vec<(u32, usize, usize)> = Vec::new();
        for (n, d) in e.diagnosis.iter().enumerate() {
            let Some(r) = d.condition.as_ref() else {
                continue;
            };
            let field = format!("/diagnosis/{n}/condition");
            match self.target(i, r, &field, &["Condition"], false) {
                Err(Refused) => return None,
                Ok(Target::None) => {}
                Ok(Target::Entry(j)) => ranked.push((d.rank.unwrap_or(u32::MAX), n, j)),
            }
        }
        ranked.sort();
        let mut condition_entries: Vec<usize> = ranked.iter().map(|&(_, _, j)| j).collect();
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
                for (n, item) in claim.item.iter().enumerate() {
                    if !item.encounter.is_empty()
                        && !item.encounter.iter().any(|r| self.resolve(r) == Some(i))
                    {
                        continue;
                    }
                    match self.claim_line(&claim, n, item, &enc_ctx, &mut diagnoses) {
                        Ok(line) => lines.push(line),
                        Err((code, detail)) => self.issue(j, code, &self.pointer(j, &detail)),
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
                    Err((code, detail)) => self.issue(j, code, &self.pointer(j, &detail)),
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
                    Err((code, detail)) => self.issue(j, code, &self.pointer(j, &detail)),
                }
            }
        }
        for (n, line) in lines.iter_mut().enumerate() {
            line.line_number = Some(n as u32 + 1);
        }

        // Service dates: the encounter's period, else the dates of its Claims, Procedures and
        // ChargeItems (earliest start, latest end).
        let period = e.period.clone().unwrap_or_default();
        let (linked_start, linked_end) = self.linked_dates(i, &linked);
        let Some(date_of_service) = period.start.as_deref().and_then(full_date).or(linked_start)
        else {
            self.issue_at(
                i,
                codes::MISSING_REQUIRED,
                "/period/start",
                "period.start is missing or not a full date, and no Claim, Procedure or \
                 ChargeItem of the encounter has a service date",
            );
            return None;
        };
        let end_date = match period.start.as_deref().and_then(full_date) {
            Some(_) => period.end.as_deref().and_then(full_date),
            None => linked_end.filter(|end| *end != date_of_service),
        };
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
            credits: Vec::new(),
        })
    }

    /// The earliest and latest full dates of the Claims (billable period, items of this
    /// encounter), Procedures and ChargeItems linked to encounter `i`.
    fn linked_dates(&self, i: usize, linked: &[usize]) -> (Option<String>, Option<String>) {
        let mut dates: Vec<String> = Vec::new();
        let mut add = |d: Option<&str>| dates.extend(d.and_then(full_date));
        for &j in linked {
            match &self.entries[j].res {
                Res::Claim(claim) if is_billing_claim(claim) => {
                    if let Some(p) = &claim.billable_period {
                        add(p.start.as_deref());
                        add(p.end.as_deref());
                    }
                    for item in &claim.item {
                        if !item.encounter.is_empty()
                            && !item.encounter.iter().any(|r| self.resolve(r) == Some(i))
                        {
                            continue;
                        }
                        add(item.serviced_date.as_deref());
                        if let Some(p) = &item.serviced_period {
                            add(p.start.as_deref());
                            add(p.end.as_deref());
                        }
                    }
                }
                Res::Procedure(p) => {
                    add(p.performed_date_time.as_deref());
                    if let Some(p) = &p.performed_period {
                        add(p.start.as_deref());
                        add(p.end.as_deref());
                    }
                }
                Res::ChargeItem(ci) => {
                    add(ci.occurrence_date_time.as_deref());
                    if let Some(p) = &ci.occurrence_period {
                        add(p.start.as_deref());
                        add(p.end.as_deref());
                    }
                }
                _ => {}
            }
        }
        // ISO dates order as text.
        (dates.iter().min().cloned(), dates.iter().max().cloned())
    }

    /// The ICD-10-CM code of Condition `j`; an issue when it has none.
    pub(super) fn condition_code(&self, j: usize) -> Option<String> {
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
    /// `field` names the reference list (a pointer relative to its resource); a reference in
    /// it that does not resolve to a Condition of this input refuses the line.
    pub(super) fn pointers(
        &self,
        refs: &[Reference],
        field: &str,
        concepts: &[CodeableConcept],
        diagnoses: &mut Vec<String>,
    ) -> Result<Vec<u8>, (&'static str, String)> {
        let mut codes_ = Vec::new();
        for (n, r) in refs.iter().enumerate() {
            let at = if refs.len() == 1 && !field.ends_with('s') {
                field.to_owned()
            } else {
                format!("{field}/{n}")
            };
            match self.check_target(r, &at, &["Condition"], false) {
                Err(rule) => return Err((codes::UNRESOLVED_REFERENCE, rule)),
                Ok(Target::None) => {}
                Ok(Target::Entry(j)) => {
                    if let Some(code) = self.condition_code(j) {
                        codes_.push(code);
                    }
                }
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
}

/// Place of service from `Encounter.class` (v3 ActCode), where the class says it.
pub(super) fn class_place_of_service(class: &Coding, opts: &Options) -> Option<String> {
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

pub(super) fn is_billing_condition(cond: &m::Condition) -> bool {
    cond.category.is_empty()
        || cond
            .category
            .iter()
            .any(|c| c.has(Some(SYS_CONDITION_CATEGORY), "encounter-diagnosis"))
}

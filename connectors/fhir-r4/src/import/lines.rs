//! Service lines of an encounter: from the EHR's Claim items, else its ChargeItems and the
//! Procedures no ChargeItem prices; with their codes, modifiers, units, charges and diagnosis
//! pointers. A line that cannot be read is an issue on its Claim / ChargeItem / Procedure.
//!
//! Fields in messages are JSON pointers relative to that resource (`/item/0/net`).

use revcycle_connector_abi::canonical as c;

use super::refs::Target;
use super::values::{SYS_CPT, SYS_HCPCS, SYS_NDC, full_date, non_empty, pos_code, push_unique};
use super::{Ctx, Res, codes};
use crate::decimal;
use crate::model::{self as m, CodeableConcept};

type LineResult<T> = Result<T, (&'static str, String)>;

impl Ctx<'_> {
    pub(super) fn charge_item_line(
        &self,
        j: usize,
        item: &m::ChargeItem,
        enc: &LineCtx,
        diagnoses: &mut Vec<String>,
    ) -> LineResult<c::ServiceLine> {
        let cc = item.code.clone().unwrap_or_default();
        let (procedure_code, modifiers) = procedure_code(&cc, &item.extension, "/code")?;
        let units = units(item.quantity.as_ref(), "/quantity")?;
        let charge = match &item.price_override {
            Some(money) => money_value(money, "/priceOverride")?,
            None => "0.00".to_owned(),
        };
        // Diagnoses: the ChargeItem's reasons, else those of the Procedure it prices.
        let mut pointers = self.pointers(&[], "", &item.reason, diagnoses)?;
        let mut service_date = item
            .occurrence_date_time
            .as_deref()
            .or(item
                .occurrence_period
                .as_ref()
                .and_then(|p| p.start.as_deref()))
            .and_then(full_date);
        if pointers.is_empty() || service_date.is_none() {
            for (n, s) in item.service.iter().enumerate() {
                let field = format!("/service/{n}");
                let target = self
                    .check_target(s, &field, &["Procedure"], false)
                    .map_err(|rule| (codes::UNRESOLVED_REFERENCE, rule))?;
                if let Target::Entry(k) = target
                    && let Res::Procedure(p) = &self.entries[k].res
                {
                    let p = p.clone();
                    if pointers.is_empty() {
                        pointers = self.pointers(
                            &p.reason_reference,
                            &format!("{field} (the Procedure's reasonReference)"),
                            &p.reason_code,
                            diagnoses,
                        )?;
                    }
                    service_date = service_date.or_else(|| procedure_date(&p));
                }
            }
        }
        let rendering = self.performer_npi(
            item.performer.iter().map(|p| p.actor.as_ref()),
            "/performer",
        )?;
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
            filler_order_number: None,
        })
    }

    pub(super) fn procedure_line(
        &self,
        j: usize,
        p: &m::Procedure,
        enc: &LineCtx,
        diagnoses: &mut Vec<String>,
    ) -> LineResult<c::ServiceLine> {
        let cc = p.code.clone().unwrap_or_default();
        let (procedure_code, modifiers) = procedure_code(&cc, &p.extension, "/code")?;
        let pointers = self.pointers(
            &p.reason_reference,
            "/reasonReference",
            &p.reason_code,
            diagnoses,
        )?;
        let rendering =
            self.performer_npi(p.performer.iter().map(|x| x.actor.as_ref()), "/performer")?;
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
            filler_order_number: None,
        })
    }

    /// The first NPI among performers (each `list/N/actor` must resolve).
    fn performer_npi<'r>(
        &self,
        actors: impl Iterator<Item = Option<&'r m::Reference>>,
        list: &str,
    ) -> LineResult<Option<String>> {
        let mut found = None;
        for (n, actor) in actors.enumerate() {
            let Some(actor) = actor else {
                continue;
            };
            let npi = self
                .check_npi(actor, &format!("{list}/{n}/actor"))
                .map_err(|rule| (codes::UNRESOLVED_REFERENCE, rule))?;
            found = found.or(npi);
        }
        Ok(found)
    }

    pub(super) fn claim_line(
        &self,
        claim: &m::Claim,
        n: usize,
        item: &m::ClaimItem,
        enc: &LineCtx,
        diagnoses: &mut Vec<String>,
    ) -> LineResult<c::ServiceLine> {
        let seq = item.sequence.unwrap_or(0);
        let at = |field: &str| format!("/item/{n}/{field}");
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
            let Some(k) = claim.diagnosis.iter().position(|d| d.sequence == Some(*s)) else {
                return Err((
                    codes::UNRESOLVED_REFERENCE,
                    format!(
                        "{}: {s} matches no Claim.diagnosis",
                        at("diagnosisSequence")
                    ),
                ));
            };
            let d = &claim.diagnosis[k];
            let found = self.pointers(
                d.diagnosis_reference.as_slice(),
                &format!("/diagnosis/{k}/diagnosisReference"),
                d.diagnosis_codeable_concept.as_slice(),
                diagnoses,
            )?;
            if found.is_empty() {
                return Err((
                    codes::NO_BILLING_CODE,
                    format!("/diagnosis/{k}: the diagnosis has no ICD-10-CM code"),
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
        let mut rendering = None;
        for s in &item.care_team_sequence {
            let Some(k) = claim.care_team.iter().position(|t| t.sequence == Some(*s)) else {
                return Err((
                    codes::UNRESOLVED_REFERENCE,
                    format!("{}: {s} matches no Claim.careTeam", at("careTeamSequence")),
                ));
            };
            if let Some(r) = &claim.care_team[k].provider {
                let npi = self
                    .check_npi(r, &format!("/careTeam/{k}/provider"))
                    .map_err(|rule| (codes::UNRESOLVED_REFERENCE, rule))?;
                rendering = rendering.or(npi);
            }
        }
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
            filler_order_number: None,
        })
    }
}

/// What a line inherits from its encounter (a line repeats a value only where it differs).
pub(super) struct LineCtx {
    pub place_of_service: Option<String>,
    pub rendering: Option<String>,
}

/// A Claim whose use is `claim` (not a preauthorization or predetermination).
pub(super) fn is_billing_claim(claim: &m::Claim) -> bool {
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
) -> LineResult<(String, Vec<String>)> {
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
    check_modifiers(&modifiers, field)?;
    Ok((code, modifiers))
}

fn check_modifiers(modifiers: &[String], field: &str) -> LineResult<()> {
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

fn units(q: Option<&m::Quantity>, field: &str) -> LineResult<String> {
    let Some(value) = q.and_then(|q| q.value.as_ref()) else {
        return Ok("1".into());
    };
    if !decimal::is_positive(&value.0) {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}/value is not positive"),
        ));
    }
    Ok(value.0.clone())
}

fn money_value(money: &m::Money, field: &str) -> LineResult<String> {
    if money.currency.as_deref().is_some_and(|c| c != "USD") {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}/currency is not USD"),
        ));
    }
    let Some(value) = &money.value else {
        return Err((codes::MISSING_REQUIRED, format!("{field}/value is missing")));
    };
    if decimal::is_negative(&value.0) {
        return Err((
            codes::UNSUPPORTED_VALUE,
            format!("{field}/value is negative"),
        ));
    }
    decimal::money(&value.0).ok_or((
        codes::UNSUPPORTED_VALUE,
        format!("{field}/value is not a decimal"),
    ))
}

//! Coverage -> canonical coverage: status, member id, payer, subscriber, order, plan.

use revcycle_connector_abi::canonical as c;

use super::patient::{GENDER_RULE, pick_address, pick_names, sex};
use super::refs::{Refused, Target};
use super::values::{SYS_NPI, SYS_V2_0203, full_date, non_empty};
use super::{Ctx, Res, codes};
use crate::model as m;

/// FHIR R4 Coverage.status (value set fm-status, required binding).
pub const COVERAGE_STATUS: &[&str] = &["active", "cancelled", "draft", "entered-in-error"];

impl Ctx<'_> {
    pub(super) fn coverage(&self, i: usize, cov: &m::Coverage) -> Option<c::Coverage> {
        // Status: required, and only an active coverage is in force. A cancelled one is not
        // (it must not be billed), a draft not yet, and an entered-in-error one never was:
        // none of them is imported, each with an issue saying so.
        match cov.status.as_deref().map(str::trim) {
            Some("active") => {}
            Some(status @ ("cancelled" | "draft" | "entered-in-error")) => {
                let rule = format!(
                    "status {status}: the coverage is not in force and is not imported \
                     (a coverage imported earlier is left as it was)"
                );
                self.issue_at(i, codes::SKIPPED_STATUS, "/status", &rule);
                return None;
            }
            None | Some("") => {
                self.issue_at(i, codes::MISSING_REQUIRED, "/status", "status is missing");
                return None;
            }
            Some(_) => {
                let rule = format!(
                    "status is not one of {} (FHIR fm-status)",
                    COVERAGE_STATUS.join(", ")
                );
                self.issue_at(i, codes::INVALID_CODE, "/status", &rule);
                return None;
            }
        }
        let Some(beneficiary) = cov.beneficiary.as_ref() else {
            self.issue_at(
                i,
                codes::MISSING_REQUIRED,
                "/beneficiary",
                "beneficiary is missing",
            );
            return None;
        };
        let patient_external_id = self.patient_id(i, beneficiary, "/beneficiary")?;
        let Some(member_id) = member_id(cov) else {
            self.issue_at(
                i,
                codes::MISSING_REQUIRED,
                "/subscriberId",
                "subscriberId is missing, and no identifier has type MB (member number)",
            );
            return None;
        };
        let Some(payor) = cov.payor.first() else {
            self.issue_at(i, codes::MISSING_REQUIRED, "/payor", "payor is missing");
            return None;
        };
        let payer_types = ["Organization", "Patient", "RelatedPerson"];
        let payer = match self.target(i, payor, "/payor/0", &payer_types, false) {
            Err(Refused) => return None,
            Ok(Target::Entry(j)) => match &self.entries[j].res {
                Res::Organization(o) => c::PayerRef {
                    name: non_empty(o.name.as_deref())
                        .or_else(|| non_empty(payor.display.as_deref()))
                        .unwrap_or_default(),
                    payer_id: payer_id_of(&o.identifier),
                },
                _ => {
                    self.issue_at(
                        i,
                        codes::UNSUPPORTED_VALUE,
                        "/payor/0",
                        "payor[0] is a person (self-pay is not a coverage here)",
                    );
                    return None;
                }
            },
            Ok(Target::None) => c::PayerRef {
                name: non_empty(payor.display.as_deref()).unwrap_or_default(),
                payer_id: payor
                    .identifier
                    .as_ref()
                    .and_then(|id| non_empty(id.value.as_deref())),
            },
        };
        if payer.name.is_empty() {
            self.issue_at(
                i,
                codes::MISSING_REQUIRED,
                "/payor/0",
                "payor[0] names no payer (an Organization with a name, or a display)",
            );
            return None;
        }
        let priority = match cov.order {
            None | Some(1) => c::CoveragePriority::Primary,
            Some(2) => c::CoveragePriority::Secondary,
            Some(3) => c::CoveragePriority::Tertiary,
            Some(_) => {
                self.issue_at(
                    i,
                    codes::UNSUPPORTED_VALUE,
                    "/order",
                    "order is beyond 3 (tertiary)",
                );
                return None;
            }
        };
        // The subscriber, when it is someone other than the beneficiary.
        let beneficiary_entry = self.resolve(beneficiary);
        let subscriber_entry = match cov.subscriber.as_ref() {
            None => None,
            Some(s) => match self.target(i, s, "/subscriber", &["Patient", "RelatedPerson"], false)
            {
                Err(Refused) => return None,
                Ok(Target::Entry(j)) => Some(j),
                Ok(Target::None) => None,
            },
        };
        let subscriber = match subscriber_entry {
            Some(j) if Some(j) != beneficiary_entry => match &self.entries[j].res {
                Res::Patient(s) | Res::RelatedPerson(s) => {
                    let Some(sex) = sex(s.gender.as_deref()) else {
                        self.issue_at(
                            i,
                            codes::INVALID_CODE,
                            "/subscriber",
                            &format!("the subscriber's {GENDER_RULE}"),
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
}

/// The member id: `subscriberId`, else the identifier typed MB (v2-0203 member number), as
/// US Core Coverage carries it.
pub(super) fn member_id(cov: &m::Coverage) -> Option<String> {
    non_empty(cov.subscriber_id.as_deref()).or_else(|| {
        cov.identifier
            .iter()
            .find(|id| {
                id.type_
                    .as_ref()
                    .is_some_and(|t| t.has(Some(SYS_V2_0203), "MB"))
            })
            .and_then(|id| non_empty(id.value.as_deref()))
    })
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

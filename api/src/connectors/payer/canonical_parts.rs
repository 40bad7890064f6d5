//! Stored patients, coverages, subscribers, providers and payers as the canonical connector
//! messages' parts, shared by claim submissions, prior payers and real-time requests.

use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::codes::{CoveragePriority, SubscriberRelationship};

pub(super) fn person_name(
    family: &str,
    given: &str,
    middle: Option<&str>,
) -> canonical::PersonName {
    let mut g = vec![given.to_string()];
    if let Some(m) = middle.filter(|m| !m.is_empty()) {
        g.push(m.to_string());
    }
    canonical::PersonName {
        family: family.to_string(),
        given: g,
        ..Default::default()
    }
}

pub(super) fn address(a: &revcycle_core::model::common::Address) -> canonical::Address {
    let mut lines = vec![a.line1.clone()];
    if let Some(l2) = a.line2.as_ref().filter(|l| !l.is_empty()) {
        lines.push(l2.clone());
    }
    canonical::Address {
        lines,
        city: a.city.clone(),
        state: a.state.text(),
        postal_code: a.zip.text().replace('-', ""),
        country: None,
    }
}

/// Serialised code values as their text.
mod erased {
    pub trait Str {
        fn text(&self) -> String;
    }
    impl<T: serde::Serialize> Str for T {
        fn text(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            }
        }
    }
}
pub(crate) use erased::Str;

pub(super) fn sex(code: &str) -> canonical::Sex {
    match code {
        "F" => canonical::Sex::Female,
        "M" => canonical::Sex::Male,
        _ => canonical::Sex::Unknown,
    }
}

pub(super) fn provider_ref(p: &revcycle_core::model::provider::Provider) -> canonical::ProviderRef {
    canonical::ProviderRef {
        npi: p.npi.text(),
        name: p.organization_name.clone().or_else(|| p.last_name.clone()),
        first_name: if p.organization_name.is_some() {
            None
        } else {
            p.first_name.clone()
        },
        taxonomy_code: p.taxonomy.as_ref().map(Str::text),
    }
}

pub(super) fn demographics(
    patient: &revcycle_core::model::patient::Patient,
) -> canonical::Demographics {
    canonical::Demographics {
        name: person_name(
            &patient.family_name,
            &patient.given_name,
            patient.middle_name.as_deref(),
        ),
        birth_date: Some(patient.birth_date.to_string()),
        sex: sex(&patient.sex.text()),
        address: patient.address.as_ref().map(address),
    }
}

/// A payer as the connector names it (NM1*PR: name and payer id).
pub(super) fn payer_ref(payer: &revcycle_core::model::payer::Payer) -> canonical::PayerRef {
    canonical::PayerRef {
        name: payer.name.clone(),
        payer_id: Some(payer.payer_code.clone()),
    }
}

pub(super) fn priority(p: CoveragePriority) -> canonical::CoveragePriority {
    match p {
        CoveragePriority::Primary => canonical::CoveragePriority::Primary,
        CoveragePriority::Secondary => canonical::CoveragePriority::Secondary,
        CoveragePriority::Tertiary => canonical::CoveragePriority::Tertiary,
    }
}

pub(super) fn relationship_code(r: SubscriberRelationship) -> canonical::SubscriberRelationship {
    match r {
        SubscriberRelationship::SelfRelation => canonical::SubscriberRelationship::SelfInsured,
        SubscriberRelationship::Spouse => canonical::SubscriberRelationship::Spouse,
        SubscriberRelationship::Child => canonical::SubscriberRelationship::Child,
        SubscriberRelationship::Other => canonical::SubscriberRelationship::Other,
    }
}

/// The subscriber of a coverage (the patient when the relationship is `self`) and the
/// relationship code.
pub(crate) fn subscriber_of(
    coverage: &revcycle_core::model::coverage::Coverage,
    patient: &canonical::Demographics,
) -> (canonical::Subscriber, String) {
    let relationship = coverage.relationship.text();
    let subscriber = match (&coverage.subscriber, relationship.as_str()) {
        (Some(s), r) if r != "self" => canonical::Subscriber {
            member_id: Some(coverage.member_id.clone()),
            name: person_name(&s.family_name, &s.given_name, None),
            birth_date: Some(s.birth_date.to_string()),
            sex: sex(&s.sex.text()),
            address: s.address.as_ref().map(address),
        },
        _ => canonical::Subscriber {
            member_id: Some(coverage.member_id.clone()),
            name: patient.name.clone(),
            birth_date: patient.birth_date.clone(),
            sex: patient.sex,
            address: patient.address.clone(),
        },
    };
    (subscriber, relationship)
}

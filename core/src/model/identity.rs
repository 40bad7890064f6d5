//! Identity rules for records that arrive from outside (EHR feeds): when an incoming record is
//! matched to one already on file by its identifier rather than by its own earlier import,
//! the data that says *who* the record is about must agree. A feed may update a record's
//! other details; it never changes another source's record into someone else.
//!
//! - Patient: matched on (MRN system, MRN); identity is the family name, given name and birth
//!   date.
//! - Coverage: matched on (payer, member id) for the same patient; identity is the
//!   relationship to the subscriber and the subscriber's name and birth date.
//! - Encounter: matched on (source, visit number); identity is the patient.
//!
//! The functions here return the JSON pointers of the fields that differ, never values.

use uuid::Uuid;

use super::coverage::{Coverage, CoverageInput};
use super::patient::{Patient, PatientInput};

/// The rule broken when identity data would change: used as the reason's rule name.
pub const IDENTITY_CONFLICT: &str = "identity_conflict";

/// Names compare without regard to case, inner spacing or surrounding blanks.
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    norm(a) == norm(b)
}

/// Identity fields of a patient on file that an incoming patient would change.
pub fn patient_differences(on_file: &Patient, incoming: &PatientInput) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !same_name(&on_file.family_name, &incoming.family_name) {
        out.push("/family_name");
    }
    if !same_name(&on_file.given_name, &incoming.given_name) {
        out.push("/given_name");
    }
    if on_file.birth_date != incoming.birth_date {
        out.push("/birth_date");
    }
    out
}

/// Identity fields of a coverage on file that an incoming coverage would change.
pub fn coverage_differences(on_file: &Coverage, incoming: &CoverageInput) -> Vec<&'static str> {
    let mut out = Vec::new();
    if on_file.patient_id != incoming.patient_id {
        out.push("/patient_id");
    }
    if on_file.relationship != incoming.relationship {
        out.push("/relationship");
    }
    match (&on_file.subscriber, &incoming.subscriber) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            if !same_name(&a.family_name, &b.family_name) {
                out.push("/subscriber/family_name");
            }
            if !same_name(&a.given_name, &b.given_name) {
                out.push("/subscriber/given_name");
            }
            if a.birth_date != b.birth_date {
                out.push("/subscriber/birth_date");
            }
        }
        _ => out.push("/subscriber"),
    }
    out
}

/// Identity fields of an encounter on file (its patient) that an incoming one would change.
pub fn encounter_differences(on_file_patient: Uuid, incoming_patient: Uuid) -> Vec<&'static str> {
    if on_file_patient == incoming_patient {
        Vec::new()
    } else {
        vec!["/patient_id"]
    }
}

/// The refusal a caller sees: the rule and the fields, never a value.
pub fn conflict_reason(fields: &[&str], what: &str) -> String {
    format!(
        "{}: {IDENTITY_CONFLICT}: {what} on file differs in {}; an import never changes the \
         identity data of a record it did not create: nothing was changed, review the two \
         records",
        fields.join(", "),
        fields
            .iter()
            .map(|f| f.trim_start_matches('/'))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};

    use super::*;
    use crate::codes::{AdministrativeSex, CoveragePriority, SubscriberRelationship};
    use crate::model::coverage::Subscriber;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn on_file() -> Patient {
        Patient {
            id: Uuid::from_u128(1),
            mrn: "12345".into(),
            mrn_system: Some("urn:oid:1.2.36.146.595.217.0.1".into()),
            family_name: "Chalmers".into(),
            given_name: "Peter".into(),
            middle_name: Some("James".into()),
            birth_date: date(1974, 12, 25),
            sex: AdministrativeSex::Male,
            address: None,
            phone: None,
            email: None,
            ssn: None,
            external_ids: vec![],
            active: true,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn incoming(family: &str, given: &str, birth: NaiveDate) -> PatientInput {
        PatientInput {
            mrn: "12345".into(),
            mrn_system: Some("urn:oid:1.2.36.146.595.217.0.1".into()),
            family_name: family.into(),
            given_name: given.into(),
            middle_name: None,
            birth_date: birth,
            sex: AdministrativeSex::Male,
            address: None,
            phone: Some("2175550100".into()),
            email: None,
            ssn: None,
            external_ids: vec![],
            active: None,
        }
    }

    #[test]
    fn patient_identity_is_name_and_birth_date() {
        let p = on_file();
        // Case and spacing are not identity; contact details are not either.
        assert!(
            patient_differences(&p, &incoming(" CHALMERS ", "peter", date(1974, 12, 25)))
                .is_empty()
        );
        assert_eq!(
            patient_differences(&p, &incoming("Levin", "Henry", date(1932, 9, 24))),
            ["/family_name", "/given_name", "/birth_date"]
        );
        assert_eq!(
            patient_differences(&p, &incoming("Chalmers", "Peter", date(1974, 12, 24))),
            ["/birth_date"]
        );
    }

    fn coverage(patient: u128, subscriber: Option<Subscriber>) -> CoverageInput {
        CoverageInput {
            patient_id: Uuid::from_u128(patient),
            payer_id: Uuid::from_u128(9),
            priority: CoveragePriority::Primary,
            member_id: "W1".into(),
            group_number: None,
            plan_name: None,
            relationship: if subscriber.is_some() {
                SubscriberRelationship::Spouse
            } else {
                SubscriberRelationship::SelfRelation
            },
            subscriber,
            effective_from: date(2024, 1, 1),
            effective_to: None,
            active: None,
        }
    }

    fn subscriber(family: &str, birth: NaiveDate) -> Subscriber {
        Subscriber {
            family_name: family.into(),
            given_name: "Ann".into(),
            birth_date: birth,
            sex: AdministrativeSex::Female,
            address: None,
        }
    }

    fn filed(input: &CoverageInput) -> Coverage {
        Coverage {
            id: Uuid::from_u128(7),
            patient_id: input.patient_id,
            payer_id: input.payer_id,
            priority: input.priority,
            member_id: input.member_id.clone(),
            group_number: None,
            plan_name: None,
            relationship: input.relationship,
            subscriber: input.subscriber.clone(),
            effective_from: input.effective_from,
            effective_to: None,
            active: true,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn coverage_identity_is_patient_relationship_and_subscriber() {
        let on = filed(&coverage(1, Some(subscriber("Roe", date(1970, 1, 1)))));
        let mut same = coverage(1, Some(subscriber("roe", date(1970, 1, 1))));
        same.plan_name = Some("Gold".into());
        assert!(coverage_differences(&on, &same).is_empty());
        assert_eq!(
            coverage_differences(&on, &coverage(1, Some(subscriber("Roe", date(1971, 1, 1))))),
            ["/subscriber/birth_date"]
        );
        assert_eq!(
            coverage_differences(&on, &coverage(2, None)),
            ["/patient_id", "/relationship", "/subscriber"]
        );
    }

    #[test]
    fn encounter_identity_is_its_patient_and_reasons_name_fields_only() {
        assert!(encounter_differences(Uuid::from_u128(1), Uuid::from_u128(1)).is_empty());
        let fields = encounter_differences(Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(fields, ["/patient_id"]);
        let reason = conflict_reason(&["/family_name", "/birth_date"], "the patient");
        assert!(
            reason.starts_with("/family_name, /birth_date: identity_conflict: the patient"),
            "{reason}"
        );
        assert!(
            reason.contains("differs in family_name, birth_date"),
            "{reason}"
        );
    }
}

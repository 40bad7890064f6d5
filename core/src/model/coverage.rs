use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Address;
use super::common::{MAX_FIRST_NAME_LEN, MAX_NAME_LEN, MAX_REFERENCE_LEN, opt_text, text};
use crate::codes::{AdministrativeSex, CoveragePriority, SubscriberRelationship};
use crate::validation::Errors;

const MAX_MEMBER_ID_LEN: usize = 80;

/// The insured person when that is not the patient (837P loop 2010BA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    #[schema(max_length = 60)]
    pub family_name: String,
    #[schema(max_length = 35)]
    pub given_name: String,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub birth_date: NaiveDate,
    pub sex: AdministrativeSex,
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a01",
    "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "priority": "primary",
    "member_id": "XJH123456789", "group_number": "GRP-100", "relationship": "self",
    "effective_from": "2026-01-01"}))]
pub struct CoverageInput {
    pub patient_id: Uuid,
    pub payer_id: Uuid,
    pub priority: CoveragePriority,
    #[schema(max_length = 80)]
    pub member_id: String,
    #[schema(max_length = 50)]
    pub group_number: Option<String>,
    #[schema(max_length = 60)]
    pub plan_name: Option<String>,
    /// The patient's relationship to the subscriber.
    pub relationship: SubscriberRelationship,
    /// Required unless `relationship` is `self`.
    pub subscriber: Option<Subscriber>,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub effective_from: NaiveDate,
    /// Last day covered; open-ended when absent.
    #[serde(default, deserialize_with = "crate::codes::date::de_opt")]
    pub effective_to: Option<NaiveDate>,
    pub active: Option<bool>,
}

impl CoverageInput {
    pub fn validate(&mut self) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        crate::validation::Rules::check(self, &mut e);
        e.finish()?;
        self.member_id = self.member_id.trim().to_string();
        Ok(())
    }
}

impl crate::validation::Rules for CoverageInput {
    fn check(&self, e: &mut Errors) {
        text(e, "/member_id", &self.member_id, MAX_MEMBER_ID_LEN);
        opt_text(e, "/group_number", &self.group_number, MAX_REFERENCE_LEN);
        opt_text(e, "/plan_name", &self.plan_name, MAX_NAME_LEN);
        if let Some(to) = self.effective_to
            && e.known("/effective_from")
        {
            e.check(
                to >= self.effective_from,
                "/effective_to",
                "must not be before effective_from",
            );
        }
        let relationship = e.known("/relationship").then_some(self.relationship);
        let is_self = relationship == Some(SubscriberRelationship::SelfRelation);
        match (&self.subscriber, e.known("/subscriber")) {
            (Some(_), true) if is_self => e.add(
                "/subscriber",
                "must be absent when the patient is the subscriber",
            ),
            (None, true) if relationship.is_some() && !is_self => e.add(
                "/subscriber",
                "is required when the patient is not the subscriber",
            ),
            (Some(s), _) if !is_self => {
                text(e, "/subscriber/family_name", &s.family_name, MAX_NAME_LEN);
                text(
                    e,
                    "/subscriber/given_name",
                    &s.given_name,
                    MAX_FIRST_NAME_LEN,
                );
                if let Some(a) = &s.address {
                    a.validate("/subscriber/address", e);
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coverage {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub payer_id: Uuid,
    pub priority: CoveragePriority,
    pub member_id: String,
    pub group_number: Option<String>,
    pub plan_name: Option<String>,
    pub relationship: SubscriberRelationship,
    pub subscriber: Option<Subscriber>,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub effective_from: NaiveDate,
    #[serde(default, deserialize_with = "crate::codes::date::de_opt")]
    pub effective_to: Option<NaiveDate>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Coverage {
    /// Whether this coverage is in force on `date`.
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        self.active && self.effective_from <= date && self.effective_to.is_none_or(|to| date <= to)
    }
}

/// Exact-match search by member id (blind index), optionally within one payer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": "XJH123456789"}))]
pub struct CoverageSearch {
    pub member_id: String,
    pub payer_id: Option<Uuid>,
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl crate::validation::Rules for CoverageSearch {
    fn check(&self, e: &mut Errors) {
        e.check(
            !self.member_id.trim().is_empty(),
            "/member_id",
            "must not be blank",
        );
    }
}

/// Which coverages a list returns (its query string).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageFilter {
    pub patient_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    pub active: Option<bool>,
}

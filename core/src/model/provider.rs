use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Address;
use super::common::{MAX_FIRST_NAME_LEN, MAX_NAME_LEN, opt_text};
use crate::codes::{Npi, ProviderRole, Taxonomy, Tin};
use crate::validation::Errors;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"roles": ["billing", "rendering"], "npi": "1234567893",
    "tin": "123456789", "last_name": "Osler", "first_name": "William", "taxonomy": "207Q00000X",
    "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}}))]
pub struct ProviderInput {
    /// The claim slots this NPI may fill: a solo practitioner who bills under their own NPI
    /// and sees the patients is `["billing", "rendering"]`. At least one; order and repeats do
    /// not matter.
    #[schema(min_items = 1, max_items = 4)]
    pub roles: Vec<ProviderRole>,
    pub npi: Npi,
    /// Federal tax id; required of a billing provider before its claims can be submitted.
    pub tin: Option<Tin>,
    /// For an organization; give either this or `last_name`.
    #[schema(max_length = 60)]
    pub organization_name: Option<String>,
    /// For an individual practitioner.
    #[schema(max_length = 60)]
    pub last_name: Option<String>,
    #[schema(max_length = 35)]
    pub first_name: Option<String>,
    pub taxonomy: Option<Taxonomy>,
    pub address: Address,
    pub active: Option<bool>,
}

impl ProviderInput {
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        crate::validation::Rules::check(self, &mut e);
        e.finish()
    }
}

impl crate::validation::Rules for ProviderInput {
    fn check(&self, e: &mut Errors) {
        e.check(!self.roles.is_empty(), "/roles", "give at least one role");
        e.check(
            self.roles.len() <= ProviderRole::ALL.len(),
            "/roles",
            "at most four roles",
        );
        opt_text(
            e,
            "/organization_name",
            &self.organization_name,
            MAX_NAME_LEN,
        );
        opt_text(e, "/last_name", &self.last_name, MAX_NAME_LEN);
        opt_text(e, "/first_name", &self.first_name, MAX_FIRST_NAME_LEN);
        if e.known("/organization_name") && e.known("/last_name") {
            match (&self.organization_name, &self.last_name) {
                (Some(_), Some(_)) => e.add(
                    "/last_name",
                    "give organization_name or last_name, not both",
                ),
                (None, None) => e.add(
                    "/organization_name",
                    "organization_name or last_name is required",
                ),
                _ => {}
            }
        }
        if self.organization_name.is_some()
            && self.first_name.is_some()
            && e.known("/organization_name")
        {
            e.add("/first_name", "an organization has no first name");
        }
        self.address.validate("/address", e);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provider {
    pub id: Uuid,
    /// The claim slots this NPI may fill, sorted.
    pub roles: Vec<ProviderRole>,
    pub npi: Npi,
    pub tin: Option<Tin>,
    pub organization_name: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub taxonomy: Option<Taxonomy>,
    pub address: Address,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Provider {
    /// Whether this provider may fill the claim slot `role`.
    pub fn has_role(&self, role: ProviderRole) -> bool {
        self.roles.contains(&role)
    }
}

/// Which providers a list returns (its query string).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProviderFilter {
    #[param(value_type = Option<String>, example = "1234567893")]
    pub npi: Option<Npi>,
    /// Only providers holding this role (among others).
    #[param(value_type = Option<String>, example = "billing")]
    pub role: Option<ProviderRole>,
    pub active: Option<bool>,
}

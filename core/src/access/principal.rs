//! Who is calling: the principal every repository call is made for.
//!
//! Every store function takes an `OrgId` taken from the principal, never from the request
//! body or path, so a caller cannot reach another tenant's rows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::scope::Scopes;

/// The tenant a principal acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub Uuid);

impl OrgId {
    pub fn as_str(&self) -> String {
        self.0.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    FrontDesk,
    Coder,
    Biller,
    ComplianceOfficer,
    EhrIntegration,
    BillingApp,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::FrontDesk,
        Role::Coder,
        Role::Biller,
        Role::ComplianceOfficer,
        Role::EhrIntegration,
        Role::BillingApp,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::FrontDesk => "front_desk",
            Role::Coder => "coder",
            Role::Biller => "biller",
            Role::ComplianceOfficer => "compliance_officer",
            Role::EhrIntegration => "ehr_integration",
            Role::BillingApp => "billing_app",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// HL7 v3 PurposeOfUse codes a token may state (`purpose_of_use` claim): why data is being
/// accessed, recorded with every audited access.
pub const PURPOSES_OF_USE: &[&str] = &[
    "TREAT",
    "ETREAT",
    "HPAYMT",
    "HOPERAT",
    "CAREMGT",
    "HSYSADMIN",
    "HRESCH",
    "PUBHLTH",
    "HLEGAL",
    "HMARKT",
    "PATRQT",
    "FAMRQT",
    "COC",
    "HCOMPL",
    "HACCRED",
    "HQUALIMP",
];

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub org: OrgId,
    pub roles: Vec<Role>,
    pub client_id: Option<String>,
    /// The token's scopes; `None` when it carried no `scope` claim (roles alone decide).
    pub scopes: Option<Scopes>,
    pub purpose_of_use: Option<String>,
    /// Set for one request when the caller invoked break-glass (`X-Break-Glass-Reason`) and
    /// holds the capability. Never logged: free text may name a patient.
    pub break_glass_reason: Option<String>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

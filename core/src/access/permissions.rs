//! The permission matrix: which role may do which action on which resource. Routes ask
//! `Principal::require`; the README's table is generated from `permission_table_markdown`,
//! so the documentation and the code cannot disagree.

use super::principal::{Principal, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Payer,
    Provider,
    Patient,
    Coverage,
    Encounter,
    Claim,
    Remittance,
}

impl Resource {
    pub const ALL: [Resource; 7] = [
        Resource::Payer,
        Resource::Provider,
        Resource::Patient,
        Resource::Coverage,
        Resource::Encounter,
        Resource::Claim,
        Resource::Remittance,
    ];

    /// The FHIR-style name used in scopes and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Resource::Payer => "Payer",
            Resource::Provider => "Provider",
            Resource::Patient => "Patient",
            Resource::Coverage => "Coverage",
            Resource::Encounter => "Encounter",
            Resource::Claim => "Claim",
            Resource::Remittance => "Remittance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Search,
    Create,
    Update,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Search, Action::Create, Action::Update];

    pub fn name(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Search => "search",
            Action::Create => "create",
            Action::Update => "update",
        }
    }
}

/// Whether `role` may perform `action` on `resource`.
pub fn allowed(role: Role, resource: Resource, action: Action) -> bool {
    use Action::*;
    use Resource::*;
    let reads = matches!(action, Read | Search);
    match role {
        Role::Admin => true,
        // Registers patients and their insurance; sees the rest to answer questions at the desk.
        Role::FrontDesk => match resource {
            Patient | Coverage => true,
            Payer | Provider | Encounter | Claim => reads,
            Remittance => false,
        },
        // Codes visits and fixes coding on draft claims; never touches payments.
        Role::Coder => match resource {
            Encounter | Claim => true,
            Patient | Coverage | Payer | Provider => reads,
            Remittance => false,
        },
        // Works claims and payments end to end.
        Role::Biller => match resource {
            Payer | Provider | Claim | Remittance => true,
            Coverage => true,
            Patient | Encounter => reads,
        },
        // Audits access; reads no clinical or demographic data through these routes.
        Role::ComplianceOfficer => false,
        // An EHR feeding registrations and coded visits.
        Role::EhrIntegration => match resource {
            Patient | Coverage | Encounter => true,
            Payer | Provider => reads,
            Claim | Remittance => false,
        },
        // A third-party billing application: claims and remittances, reading what they need.
        Role::BillingApp => match resource {
            Claim | Remittance => true,
            Patient | Coverage | Encounter | Payer | Provider => reads,
        },
    }
}

impl Principal {
    /// Whether any of the principal's roles allows the action.
    pub fn may(&self, resource: Resource, action: Action) -> bool {
        self.roles.iter().any(|r| allowed(*r, resource, action))
    }
}

/// The matrix as a Markdown table (one row per role, one column per resource; each cell lists
/// the allowed actions).
pub fn permission_table_markdown() -> String {
    let mut out = String::from("| role |");
    for r in Resource::ALL {
        out.push_str(&format!(" {} |", r.name()));
    }
    out.push_str("\n|---|");
    for _ in Resource::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for role in Role::ALL {
        out.push_str(&format!("| `{}` |", role.as_str()));
        for r in Resource::ALL {
            let acts: Vec<&str> = Action::ALL
                .iter()
                .filter(|a| allowed(role, r, **a))
                .map(|a| a.name())
                .collect();
            out.push_str(&format!(
                " {} |",
                if acts.is_empty() {
                    "—".to_string()
                } else {
                    acts.join(", ")
                }
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything_and_compliance_sees_no_records() {
        for r in Resource::ALL {
            for a in Action::ALL {
                assert!(allowed(Role::Admin, r, a));
                assert!(!allowed(Role::ComplianceOfficer, r, a));
            }
        }
    }

    #[test]
    fn the_readme_table_is_generated_from_the_matrix() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        assert!(
            readme.contains(&permission_table_markdown()),
            "README's permission table is stale; paste the output of permission_table_markdown():\n{}",
            permission_table_markdown()
        );
    }
}

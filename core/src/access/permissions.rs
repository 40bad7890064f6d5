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
    /// A denial work item (created by posting; read and worked, never created by hand).
    Denial,
    /// The practice's charge master: its descriptions and prices per procedure code.
    ChargeMaster,
}

impl Resource {
    pub const ALL: [Resource; 9] = [
        Resource::Payer,
        Resource::Provider,
        Resource::Patient,
        Resource::Coverage,
        Resource::Encounter,
        Resource::Claim,
        Resource::Remittance,
        Resource::Denial,
        Resource::ChargeMaster,
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
            Resource::Denial => "Denial",
            Resource::ChargeMaster => "ChargeMaster",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Search,
    Create,
    Update,
    /// Cancel a record without deleting it (a voided claim, an encounter entered in error).
    Void,
    /// Bulk export out of the system (files, feeds).
    Export,
    /// Post a remittance's payments and adjustments to the ledger.
    Post,
    /// Send a claim to a payer.
    Submit,
    /// Give up collecting a denied balance (a ledger adjustment that lowers the A/R): a
    /// decision about money, kept apart from working the queue.
    WriteOff,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Read,
        Action::Search,
        Action::Create,
        Action::Update,
        Action::Void,
        Action::Export,
        Action::Post,
        Action::Submit,
        Action::WriteOff,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Search => "search",
            Action::Create => "create",
            Action::Update => "update",
            Action::Void => "void",
            Action::Export => "export",
            Action::Post => "post",
            Action::Submit => "submit",
            Action::WriteOff => "write_off",
        }
    }

    /// Whether the action means anything for the resource: only claims are submitted, only
    /// remittances posted; reference data (payers, providers) is deactivated, not voided.
    pub fn applies_to(&self, resource: Resource) -> bool {
        match self {
            Action::Post => resource == Resource::Remittance,
            // Denials come from postings only, and leave the queue by a status, not a void.
            Action::Create => resource != Resource::Denial,
            // A price list is reference data, not records to export.
            Action::Export => !matches!(resource, Resource::Denial | Resource::ChargeMaster),
            Action::Submit => resource == Resource::Claim,
            Action::WriteOff => resource == Resource::Denial,
            // A charge master entry is removed (DELETE); statements keep what they printed.
            Action::Void => matches!(
                resource,
                Resource::Encounter
                    | Resource::Claim
                    | Resource::Remittance
                    | Resource::ChargeMaster
            ),
            _ => true,
        }
    }

    /// The SMART v2 scope letters (`c r u d s`) an action needs: a token scoped
    /// `system/Claim.rs` may read and search claims and nothing else. Void is the non-destructive
    /// delete; posting and submitting change a record's state, so they are updates; an export
    /// reads many records at once.
    pub fn scope_letters(&self) -> &'static str {
        match self {
            Action::Read => "r",
            Action::Search => "s",
            Action::Create => "c",
            Action::Update | Action::Post | Action::Submit | Action::WriteOff => "u",
            Action::Void => "d",
            Action::Export => "rs",
        }
    }
}

/// Organization-wide permissions that are not about one kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Read and export the audit trail.
    AuditRead,
    /// Purge audit events older than the retention period (admins only: compliance officers
    /// read the trail, they do not shorten it).
    AuditPurge,
    /// Rotate data keys and re-encrypt.
    KeysRotate,
    /// Load, configure and run connector plugins.
    ConnectorsManage,
    /// Read one patient beyond normal scope in an emergency, with a stated reason.
    BreakGlass,
    /// Manage webhook subscriptions (where the organization's events are pushed, and their
    /// signing secrets).
    EventsManage,
    /// Set what the practice prints on patient statements (its name, addresses, how to pay).
    PracticeManage,
}

impl Capability {
    pub const ALL: [Capability; 7] = [
        Capability::AuditRead,
        Capability::AuditPurge,
        Capability::KeysRotate,
        Capability::ConnectorsManage,
        Capability::BreakGlass,
        Capability::EventsManage,
        Capability::PracticeManage,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Capability::AuditRead => "audit.read",
            Capability::AuditPurge => "audit.purge",
            Capability::KeysRotate => "keys.rotate",
            Capability::ConnectorsManage => "connectors.manage",
            Capability::BreakGlass => "break_glass",
            Capability::EventsManage => "events.manage",
            Capability::PracticeManage => "practice.manage",
        }
    }
}

/// Whether `role` may perform `action` on `resource`.
pub fn allowed(role: Role, resource: Resource, action: Action) -> bool {
    action.applies_to(resource) && role_allows(role, resource, action)
}

fn role_allows(role: Role, resource: Resource, action: Action) -> bool {
    use Action::*;
    use Resource::*;
    let reads = matches!(action, Read | Search);
    let edits = matches!(action, Read | Search | Create | Update);
    match role {
        Role::Admin => true,
        // Registers patients and their insurance; sees the rest to answer questions at the desk.
        Role::FrontDesk => match resource {
            Patient | Coverage => edits,
            Payer | Provider | Encounter | Claim | ChargeMaster => reads,
            Remittance | Denial => false,
        },
        // Codes visits and fixes coding on claims; never touches payments or submission.
        Role::Coder => match resource {
            Encounter => edits || action == Void,
            Claim => edits,
            // Sees the coding denials it has to fix; billers work the queue.
            Patient | Coverage | Payer | Provider | Denial | ChargeMaster => reads,
            Remittance => false,
        },
        // Works claims and payments end to end.
        Role::Biller => match resource {
            Claim => true,
            Remittance => edits || matches!(action, Post | Export),
            Denial => edits || action == WriteOff,
            Payer | Provider | Coverage => edits,
            // Keeps the practice's descriptions and prices.
            ChargeMaster => edits || action == Void,
            Patient | Encounter => reads,
        },
        // Audits access; reads no clinical or demographic data through these routes.
        Role::ComplianceOfficer => false,
        // An EHR feeding registrations and coded visits.
        Role::EhrIntegration => match resource {
            Patient | Coverage | Encounter => edits,
            Payer | Provider | ChargeMaster => reads,
            Claim | Remittance | Denial => false,
        },
        // A third-party billing application: claims and remittances, reading what they need.
        Role::BillingApp => match resource {
            Claim => edits || matches!(action, Submit | Export),
            Remittance => edits || action == Post,
            // Works denials as the practice's billers do, but never writes money off.
            Denial => edits,
            Patient | Coverage | Encounter | Payer | Provider | ChargeMaster => reads,
        },
    }
}

/// Whether `role` holds an organization-wide capability.
pub fn granted(role: Role, capability: Capability) -> bool {
    use Capability::*;
    match role {
        Role::Admin => true,
        Role::ComplianceOfficer => capability == AuditRead,
        // People at the practice who may face an emergency; machine clients never may.
        Role::FrontDesk | Role::Coder | Role::Biller => capability == BreakGlass,
        // A billing app follows the claims it works by webhook.
        Role::BillingApp => capability == EventsManage,
        Role::EhrIntegration => false,
    }
}

impl Principal {
    /// Whether any of the principal's roles allows the action and the token's scopes (if any)
    /// do not narrow it away.
    pub fn may(&self, resource: Resource, action: Action) -> bool {
        self.roles.iter().any(|r| allowed(*r, resource, action))
            && self
                .scopes
                .as_ref()
                .is_none_or(|s| s.permits(resource, action))
    }

    /// Whether the principal holds a capability (roles, narrowed by scopes).
    pub fn can(&self, capability: Capability) -> bool {
        self.roles.iter().any(|r| granted(*r, capability))
            && self
                .scopes
                .as_ref()
                .is_none_or(|s| s.permits_capability(capability))
    }
}

/// The matrix as Markdown: one table of role x resource (each cell lists the allowed actions)
/// and one of role x capability.
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
            out.push_str(&format!(" {} |", cell(&acts)));
        }
        out.push('\n');
    }
    out.push_str("\n| role | capabilities |\n|---|---|\n");
    for role in Role::ALL {
        let caps: Vec<&str> = Capability::ALL
            .iter()
            .filter(|c| granted(role, **c))
            .map(|c| c.name())
            .collect();
        out.push_str(&format!("| `{}` | {} |\n", role.as_str(), cell(&caps)));
    }
    out
}

fn cell(names: &[&str]) -> String {
    if names.is_empty() {
        "—".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything_and_compliance_sees_no_records() {
        for r in Resource::ALL {
            for a in Action::ALL {
                assert_eq!(allowed(Role::Admin, r, a), a.applies_to(r));
                assert!(!allowed(Role::ComplianceOfficer, r, a));
            }
        }
        assert!(granted(Role::ComplianceOfficer, Capability::AuditRead));
        assert!(!granted(Role::ComplianceOfficer, Capability::BreakGlass));
        for role in Role::ALL {
            assert_eq!(
                granted(role, Capability::AuditPurge),
                role == Role::Admin,
                "only admins purge the audit trail ({role:?})"
            );
        }
        assert!(!granted(Role::BillingApp, Capability::BreakGlass));
    }

    #[test]
    fn only_billers_and_apps_post_and_submit() {
        for role in Role::ALL {
            let posts = allowed(role, Resource::Remittance, Action::Post);
            let submits = allowed(role, Resource::Claim, Action::Submit);
            let expected = matches!(role, Role::Admin | Role::Biller | Role::BillingApp);
            assert_eq!(posts, expected, "{role:?} post");
            assert_eq!(submits, expected, "{role:?} submit");
        }
        assert!(!allowed(Role::Coder, Resource::Claim, Action::Void));
    }

    #[test]
    fn billers_and_apps_work_denials_coders_read_them() {
        for role in Role::ALL {
            let works = allowed(role, Resource::Denial, Action::Update);
            let reads = allowed(role, Resource::Denial, Action::Search)
                && allowed(role, Resource::Denial, Action::Read);
            assert_eq!(
                works,
                matches!(role, Role::Admin | Role::Biller | Role::BillingApp),
                "{role:?} works denials"
            );
            assert_eq!(
                reads,
                matches!(
                    role,
                    Role::Admin | Role::Biller | Role::BillingApp | Role::Coder
                ),
                "{role:?} reads denials"
            );
            // Only postings create denials; none is voided.
            for a in [Action::Create, Action::Void, Action::Post, Action::Export] {
                assert!(!allowed(role, Resource::Denial, a), "{role:?} {a:?}");
            }
        }
    }

    #[test]
    fn only_admins_and_billers_write_denials_off() {
        for role in Role::ALL {
            assert_eq!(
                allowed(role, Resource::Denial, Action::WriteOff),
                matches!(role, Role::Admin | Role::Biller),
                "{role:?}"
            );
        }
        for r in Resource::ALL {
            assert_eq!(Action::WriteOff.applies_to(r), r == Resource::Denial);
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

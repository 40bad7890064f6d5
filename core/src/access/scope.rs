//! SMART on FHIR style scopes carried by a token. Scopes only ever narrow what the roles
//! allow: a token with no `scope` claim is limited by its roles alone; a token with one may do
//! only what both its roles and its scopes permit.
//!
//! Understood forms (anything else grants nothing, so an IdP's `openid profile` is harmless):
//! - `system/Claim.cruds`, `user/Patient.rs`: SMART v2 letters `c r u d s`, in that order;
//! - `system/Claim.read`, `user/*.write`, `system/*.*`: SMART v1 forms;
//! - `revcycle/audit.read`, `revcycle/audit.purge`, `revcycle/keys.rotate`,
//!   `revcycle/connectors.manage`, `revcycle/break_glass`, `revcycle/events.manage`: the
//!   organization-wide capabilities.
//!
//! `patient/` scopes are launch-context scopes (one patient chosen at launch), which this API
//! has no notion of, so they grant nothing. Scopes with `?` parameters grant nothing either.

use std::collections::{HashMap, HashSet};

use super::permissions::{Action, Capability, Resource};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// Letters granted per resource; `None` key is the `*` wildcard.
    letters: HashMap<Option<Resource>, HashSet<char>>,
    capabilities: HashSet<Capability>,
}

impl Scopes {
    /// Parses a space-separated `scope` claim.
    pub fn parse(claim: &str) -> Scopes {
        let mut out = Scopes::default();
        for entry in claim.split_whitespace() {
            if let Some(cap) = entry.strip_prefix("revcycle/") {
                if let Some(c) = Capability::ALL.into_iter().find(|c| c.name() == cap) {
                    out.capabilities.insert(c);
                }
                continue;
            }
            let Some(rest) = entry
                .strip_prefix("system/")
                .or_else(|| entry.strip_prefix("user/"))
            else {
                continue;
            };
            let Some((resource, perms)) = rest.split_once('.') else {
                continue;
            };
            let resource = if resource == "*" {
                None
            } else {
                match Resource::ALL.into_iter().find(|r| r.name() == resource) {
                    Some(r) => Some(r),
                    None => continue,
                }
            };
            let Some(letters) = letters(perms) else {
                continue;
            };
            out.letters.entry(resource).or_default().extend(letters);
        }
        out
    }

    pub fn permits(&self, resource: Resource, action: Action) -> bool {
        let granted = |c: char| {
            [Some(resource), None]
                .iter()
                .any(|k| self.letters.get(k).is_some_and(|l| l.contains(&c)))
        };
        action.scope_letters().chars().all(granted)
    }

    pub fn permits_capability(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

/// SMART v2 letters (a non-empty ordered subset of `cruds`) or the v1 words.
fn letters(perms: &str) -> Option<Vec<char>> {
    match perms {
        "read" => return Some(vec!['r', 's']),
        "write" => return Some(vec!['c', 'u', 'd']),
        "*" => return Some("cruds".chars().collect()),
        _ => {}
    }
    if perms.is_empty() {
        return None;
    }
    let mut order = "cruds".chars();
    for c in perms.chars() {
        // Each letter must come later in `cruds` than the previous one.
        order.by_ref().find(|o| *o == c)?;
    }
    Some(perms.chars().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_letters_grant_exactly_those_actions() {
        let s = Scopes::parse("openid system/Claim.rs user/Patient.cu");
        assert!(s.permits(Resource::Claim, Action::Read));
        assert!(s.permits(Resource::Claim, Action::Search));
        assert!(
            s.permits(Resource::Claim, Action::Export),
            "export is read + search"
        );
        assert!(!s.permits(Resource::Claim, Action::Update));
        assert!(!s.permits(Resource::Claim, Action::Submit));
        assert!(s.permits(Resource::Patient, Action::Create));
        assert!(!s.permits(Resource::Patient, Action::Read));
        assert!(!s.permits(Resource::Coverage, Action::Read));
    }

    #[test]
    fn v1_words_and_wildcards() {
        let s = Scopes::parse("system/*.read user/Remittance.write");
        for r in Resource::ALL {
            assert!(s.permits(r, Action::Read));
            assert!(!s.permits(r, Action::Create) || r == Resource::Remittance);
        }
        assert!(s.permits(Resource::Remittance, Action::Post));
        assert!(Scopes::parse("system/*.*").permits(Resource::Payer, Action::Void));
    }

    #[test]
    fn malformed_and_patient_context_scopes_grant_nothing() {
        for claim in [
            "patient/Patient.r",
            "system/Claim.sr",
            "system/Claim.rr",
            "system/Claim.x",
            "system/Claim.",
            "system/Unknown.cruds",
            "Claim.cruds",
            "system/Claim.rs?status=draft",
            "revcycle/keys.everything",
        ] {
            let s = Scopes::parse(claim);
            for r in Resource::ALL {
                for a in Action::ALL {
                    assert!(!s.permits(r, a), "{claim} must not permit {a:?} on {r:?}");
                }
            }
            for c in Capability::ALL {
                assert!(!s.permits_capability(c), "{claim}");
            }
        }
    }

    #[test]
    fn capabilities_need_their_own_scope() {
        let s = Scopes::parse("system/*.cruds revcycle/audit.read");
        assert!(s.permits_capability(Capability::AuditRead));
        assert!(!s.permits_capability(Capability::KeysRotate));
        assert!(!s.permits_capability(Capability::BreakGlass));
    }
}

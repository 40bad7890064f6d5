//! Patient -> canonical patient (also the demographics of a RelatedPerson subscriber).

use revcycle_connector_abi::canonical as c;

use super::values::{SYS_SSN, SYS_V2_0203, full_date, non_empty};
use super::{Ctx, codes};
use crate::model as m;

impl Ctx<'_> {
    pub(super) fn patient(&self, i: usize, p: &m::Patient) -> Option<c::Patient> {
        if self.skipped_status(i) {
            return None;
        }
        let Some(external_id) = self.external_id(i) else {
            self.issue(
                i,
                codes::MISSING_REQUIRED,
                "id is missing (and no urn:uuid fullUrl)",
            );
            return None;
        };
        let (name, other_names) = pick_names(&p.name);
        let Some(name) = name.filter(|n| !n.family.is_empty()) else {
            self.issue_at(
                i,
                codes::MISSING_REQUIRED,
                "/name",
                "name.family is missing (official or usual name)",
            );
            return None;
        };
        let Some(sex) = sex(p.gender.as_deref()) else {
            self.issue_at(i, codes::INVALID_CODE, "/gender", GENDER_RULE);
            return None;
        };
        // The MRN with its namespace: Identifier.system says who assigned the value.
        let mr = p.identifier.iter().find(|id| {
            id.type_
                .as_ref()
                .is_some_and(|t| t.has(Some(SYS_V2_0203), "MR"))
        });
        let mrn = mr.and_then(|id| non_empty(id.value.as_deref()));
        let mrn_system = mr.and_then(|id| non_empty(id.system.as_deref()));
        let ssn = p
            .identifier
            .iter()
            .find(|id| {
                id.system.as_deref() == Some(SYS_SSN)
                    || id
                        .type_
                        .as_ref()
                        .is_some_and(|t| t.has(Some(SYS_V2_0203), "SS"))
            })
            .and_then(|id| non_empty(id.value.as_deref()));
        Some(c::Patient {
            source_system: self.opts.source_system.clone(),
            external_id,
            mrn,
            mrn_system,
            name,
            other_names,
            birth_date: p.birth_date.as_deref().and_then(full_date),
            sex,
            ssn,
            address: pick_address(&p.address),
            phone: pick_telecom(&p.telecom, "phone"),
            email: pick_telecom(&p.telecom, "email"),
        })
    }
}

/// FHIR administrative-gender (required binding); `None` for a value outside it, which must
/// refuse the record: coercing it to unknown would overwrite what we know with a guess.
pub(super) fn sex(gender: Option<&str>) -> Option<c::Sex> {
    match gender {
        Some("male") => Some(c::Sex::Male),
        Some("female") => Some(c::Sex::Female),
        Some("other") => Some(c::Sex::Other),
        Some("unknown") | None => Some(c::Sex::Unknown),
        Some(_) => None,
    }
}

pub(super) const GENDER_RULE: &str =
    "gender is not one of male, female, other, unknown (FHIR administrative-gender)";

fn person_name(n: &m::HumanName) -> c::PersonName {
    c::PersonName {
        family: n
            .family
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned(),
        given: n
            .given
            .iter()
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty())
            .collect(),
        prefix: n.prefix.first().and_then(|p| non_empty(Some(p))),
        suffix: n.suffix.first().and_then(|s| non_empty(Some(s))),
    }
}

/// The official (else usual, else first current) name, and the others.
pub(super) fn pick_names(names: &[m::HumanName]) -> (Option<c::PersonName>, Vec<c::PersonName>) {
    let pick = ["official", "usual"]
        .iter()
        .find_map(|u| names.iter().position(|n| n.use_.as_deref() == Some(u)))
        .or_else(|| {
            names
                .iter()
                .position(|n| !matches!(n.use_.as_deref(), Some("old" | "maiden")))
        })
        .or(if names.is_empty() { None } else { Some(0) });
    let Some(pick) = pick else {
        return (None, Vec::new());
    };
    let others = names
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != pick)
        .map(|(_, n)| person_name(n))
        .filter(|n| !n.family.is_empty() || !n.given.is_empty())
        .collect();
    (Some(person_name(&names[pick])), others)
}

pub(super) fn pick_address(addresses: &[m::Address]) -> Option<c::Address> {
    let a = addresses
        .iter()
        .find(|a| a.use_.as_deref() == Some("home"))
        .or_else(|| {
            addresses
                .iter()
                .find(|a| !matches!(a.use_.as_deref(), Some("old")))
        })?;
    let country =
        a.country
            .as_deref()
            .map(str::trim)
            .and_then(|c| match c.to_ascii_uppercase().as_str() {
                "" | "US" | "USA" | "UNITED STATES" => None,
                code if code.len() == 2 => Some(code.to_owned()),
                _ => Some(c.to_owned()),
            });
    Some(c::Address {
        lines: a.line.iter().filter_map(|l| non_empty(Some(l))).collect(),
        city: a.city.as_deref().unwrap_or_default().trim().to_owned(),
        state: a.state.as_deref().unwrap_or_default().trim().to_owned(),
        postal_code: a
            .postal_code
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        country,
    })
}

fn pick_telecom(points: &[m::ContactPoint], system: &str) -> Option<String> {
    let of_system = || {
        points
            .iter()
            .filter(|p| p.system.as_deref() == Some(system))
    };
    of_system()
        .find(|p| matches!(p.use_.as_deref(), Some("home" | "mobile")))
        .or_else(|| of_system().find(|p| p.use_.as_deref() != Some("old")))
        .and_then(|p| non_empty(p.value.as_deref()))
}

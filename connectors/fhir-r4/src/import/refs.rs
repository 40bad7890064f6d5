//! References between the resources of one input.
//!
//! A reference resolves by the entry's `fullUrl` (`urn:uuid:...` or absolute), by `Type/id`
//! (relative, or the tail of an absolute URL, `_history` ignored), or, for a conditional
//! reference `Type?identifier=system|value`, by an entry of that type carrying that identifier.
//!
//! The rule: a literal reference the mapping reads (a diagnosis, a provider, a location, a
//! payer, a subscriber) must resolve to a resource of this input of a type that fits, or the
//! referring record is refused with an `unresolved_reference` issue whose pointer names the
//! reference. Only two kinds stand on their own: a relative `Patient/<id>` (that patient came in
//! an earlier feed; the host refuses the record if it did not), and a reference whose own
//! `identifier` (or conditional search) carries what we need, such as an NPI.

use super::values::{SYS_NPI, is_id, is_type_name, non_empty, npi_of};
use super::{Ctx, Res, codes};
use crate::model::{Identifier, Reference};

/// What a reference read by a mapping came to.
pub(super) enum Target {
    /// No literal reference (absent, contained `#id`, or identifier/display only).
    None,
    /// The entry it resolves to.
    Entry(usize),
}

/// The record is refused (the issue is already written).
pub(super) struct Refused;

impl Ctx<'_> {
    pub(super) fn resolve(&self, r: &Reference) -> Option<usize> {
        let text = r.reference.as_deref()?.trim();
        if text.starts_with('#') {
            return None;
        }
        if let Some((t, query)) = text.split_once('?') {
            return self.resolve_conditional(t, query);
        }
        let text = text.split("/_history/").next().unwrap_or(text);
        if let Some(&i) = self.index.get(text) {
            return Some(i);
        }
        let relative = relative_part(text)?;
        self.index.get(&relative).copied()
    }

    /// `Type?identifier=system|value`: the entry of that type with that identifier.
    fn resolve_conditional(&self, t: &str, query: &str) -> Option<usize> {
        let (system, value) = conditional_identifier(query)?;
        self.entries.iter().position(|e| {
            e.resource_type == t
                && identifiers(&e.res).iter().any(|id| {
                    id.value.as_deref() == Some(value.as_str())
                        && system
                            .as_deref()
                            .is_none_or(|s| id.system.as_deref() == Some(s))
                })
        })
    }

    /// Checks a reference the mapping reads: `Target::Entry` when it resolves to an entry whose
    /// type is one of `types`; `Target::None` when there is no literal reference; otherwise an
    /// `unresolved_reference` issue on record `i` with the pointer `field/reference`.
    /// `stands_alone` accepts an unresolved reference that carries what we need by itself.
    pub(super) fn target(
        &self,
        i: usize,
        r: &Reference,
        field: &str,
        types: &[&str],
        stands_alone: bool,
    ) -> Result<Target, Refused> {
        self.check_target(r, field, types, stands_alone)
            .map_err(|rule| {
                self.issue(i, codes::UNRESOLVED_REFERENCE, &self.pointer(i, &rule));
                Refused
            })
    }

    /// [`Ctx::target`] without writing the issue: `Err` is the rule broken, starting with the
    /// resource-relative pointer of the reference.
    pub(super) fn check_target(
        &self,
        r: &Reference,
        field: &str,
        types: &[&str],
        stands_alone: bool,
    ) -> Result<Target, String> {
        let Some(text) = r.reference.as_deref().map(str::trim) else {
            return Ok(Target::None);
        };
        if text.starts_with('#') {
            return Ok(Target::None);
        }
        match self.resolve(r) {
            Some(j) if types.contains(&self.entries[j].resource_type.as_str()) => {
                Ok(Target::Entry(j))
            }
            Some(_) => Err(format!(
                "{field}/reference: the reference is not to {}",
                or_list(types)
            )),
            None if stands_alone => Ok(Target::None),
            None => Err(format!(
                "{field}/reference: the reference does not resolve to {} of this input",
                or_list(types)
            )),
        }
    }

    /// The entry's external id: its logical id, else the uuid of a `urn:uuid:` fullUrl.
    pub(super) fn external_id(&self, i: usize) -> Option<String> {
        let e = &self.entries[i];
        e.id.clone().or_else(|| {
            e.full_url
                .as_deref()
                .and_then(|u| u.strip_prefix("urn:uuid:"))
                .map(str::to_owned)
        })
    }

    /// The external id of the Patient a reference of record `i` at `field` points at: resolved
    /// in this input, or a relative/absolute `Patient/<id>` that stands on its own (imported
    /// earlier). Otherwise an issue with the pointer, and `None`.
    pub(super) fn patient_id(&self, i: usize, r: &Reference, field: &str) -> Option<String> {
        match self.target(i, r, field, &["Patient"], true) {
            Err(Refused) => None,
            Ok(Target::Entry(j)) => {
                let id = self.external_id(j);
                if id.is_none() {
                    let rule = format!("{field}/reference: the Patient has no id");
                    self.issue(i, codes::UNRESOLVED_REFERENCE, &self.pointer(i, &rule));
                }
                id
            }
            Ok(Target::None) => {
                let standalone = r
                    .reference
                    .as_deref()
                    .and_then(|t| relative_part(t.trim()))
                    .and_then(|rel| {
                        let (t, id) = rel.split_once('/')?;
                        (t == "Patient" && is_id(id)).then(|| id.to_owned())
                    });
                if standalone.is_none() {
                    let rule = format!(
                        "{field}/reference: the reference does not resolve to a Patient of this \
                         input (nor is it a Patient/<id> imported earlier)"
                    );
                    self.issue(i, codes::UNRESOLVED_REFERENCE, &self.pointer(i, &rule));
                }
                standalone
            }
        }
    }

    pub(super) fn resolve_encounter(&self, r: Option<&Reference>) -> Option<usize> {
        let i = self.resolve(r?)?;
        matches!(self.entries[i].res, Res::Encounter(_)).then_some(i)
    }

    /// The NPI behind a reference of record `i` at `field` to a Practitioner, PractitionerRole,
    /// Organization or Location (or the reference's own NPI identifier, or the NPI of a
    /// conditional reference). `Err` when the reference does not resolve (issue written).
    pub(super) fn npi(
        &self,
        i: usize,
        r: &Reference,
        field: &str,
    ) -> Result<Option<String>, Refused> {
        self.check_npi(r, field).map_err(|rule| {
            self.issue(i, codes::UNRESOLVED_REFERENCE, &self.pointer(i, &rule));
            Refused
        })
    }

    /// [`Ctx::npi`] without writing the issue (`Err` is the rule broken).
    pub(super) fn check_npi(&self, r: &Reference, field: &str) -> Result<Option<String>, String> {
        let own = r
            .identifier
            .as_ref()
            .filter(|id| id.system.as_deref() == Some(SYS_NPI))
            .and_then(|id| non_empty(id.value.as_deref()))
            .or_else(|| {
                let (_, query) = r.reference.as_deref()?.split_once('?')?;
                let (system, value) = conditional_identifier(query)?;
                (system.as_deref() == Some(SYS_NPI)).then_some(value)
            });
        let types = [
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "Location",
        ];
        let j = match self.check_target(r, field, &types, own.is_some())? {
            Target::Entry(j) => j,
            Target::None => return Ok(own),
        };
        let found = match &self.entries[j].res {
            Res::Practitioner(p) => npi_of(&p.identifier),
            Res::Organization(o) => npi_of(&o.identifier),
            Res::Location(l) => npi_of(&l.identifier),
            Res::PractitionerRole(role) => npi_of(&role.identifier).or_else(|| {
                role.practitioner.as_ref().and_then(|p| {
                    let k = self.resolve(p)?;
                    match &self.entries[k].res {
                        Res::Practitioner(p) => npi_of(&p.identifier),
                        _ => None,
                    }
                })
            }),
            _ => None,
        };
        Ok(found.or(own))
    }

    /// Entries (Conditions, Procedures, ChargeItems, Claims) that point at encounter `i`.
    pub(super) fn linked_to(&self, i: usize) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&j| {
                let refs: Vec<&Reference> = match &self.entries[j].res {
                    Res::Condition(c) => c.encounter.iter().collect(),
                    Res::Procedure(p) => p.encounter.iter().collect(),
                    Res::ChargeItem(ci) => ci.context.iter().collect(),
                    Res::Claim(cl) => cl.item.iter().flat_map(|it| it.encounter.iter()).collect(),
                    _ => Vec::new(),
                };
                refs.into_iter()
                    .any(|r| self.resolve_encounter(Some(r)) == Some(i))
            })
            .collect()
    }
}

fn identifiers(res: &Res) -> &[Identifier] {
    match res {
        Res::Patient(p) | Res::RelatedPerson(p) => &p.identifier,
        Res::Organization(o) => &o.identifier,
        Res::Practitioner(p) => &p.identifier,
        Res::PractitionerRole(r) => &r.identifier,
        Res::Location(l) => &l.identifier,
        Res::Coverage(c) => &c.identifier,
        _ => &[],
    }
}

/// `identifier=system|value` (or `identifier=value`) of a conditional reference's query.
fn conditional_identifier(query: &str) -> Option<(Option<String>, String)> {
    let param = query
        .split('&')
        .find_map(|p| p.strip_prefix("identifier="))?;
    let param = param.replace("%7C", "|").replace("%7c", "|");
    match param.split_once('|') {
        Some((system, value)) if !value.is_empty() => Some((
            (!system.is_empty()).then(|| system.to_owned()),
            value.to_owned(),
        )),
        Some(_) => None,
        None => (!param.is_empty()).then_some((None, param)),
    }
}

/// "a Patient", "an Organization", "a Practitioner, PractitionerRole or Location".
fn or_list(types: &[&str]) -> String {
    let article = match types.first() {
        Some(t) if t.starts_with(['A', 'E', 'I', 'O', 'U']) => "an",
        _ => "a",
    };
    let list = match types {
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => String::new(),
    };
    format!("{article} {list}")
}

/// `Type/id` from a relative or absolute reference.
pub(super) fn relative_part(text: &str) -> Option<String> {
    if text.starts_with("urn:") {
        return None;
    }
    let mut parts = text.rsplit('/');
    let id = parts.next()?;
    let t = parts.next()?;
    (is_type_name(t) && t.starts_with(|c: char| c.is_ascii_uppercase()) && is_id(id))
        .then(|| format!("{t}/{id}"))
}

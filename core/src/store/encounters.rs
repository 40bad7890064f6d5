use diesel::prelude::*;
use uuid::Uuid;

use super::pagination::page_of;
use super::schema::{coverages, encounters, providers};
use super::{
    DbConnection, ListParams, check_versioned_update, from_db, from_json, new_id, opt_id, org_row,
    parse_id, to_db, to_json,
};
use crate::access::OrgId;
use crate::codes::{Money, ProviderRole};
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::encounter::{
    Encounter, EncounterFilter, EncounterInput, LineSource, ServiceLine,
};
use crate::validation::Errors;

#[derive(Queryable, Selectable)]
#[diesel(table_name = encounters)]
struct EncounterRow {
    id: String,
    patient_id: String,
    coverage_id: Option<String>,
    billing_provider_id: String,
    rendering_provider_id: Option<String>,
    service_date_from: chrono::NaiveDate,
    service_date_to: chrono::NaiveDate,
    place_of_service: String,
    prior_authorization: Option<String>,
    diagnoses: String,
    lines: String,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl EncounterRow {
    fn into_model(self) -> CoreResult<Encounter> {
        let lines: Vec<ServiceLine> = from_json(&self.lines, "service lines")?;
        Ok(Encounter {
            id: parse_id(&self.id)?,
            patient_id: parse_id(&self.patient_id)?,
            coverage_id: opt_id(self.coverage_id)?,
            billing_provider_id: parse_id(&self.billing_provider_id)?,
            rendering_provider_id: opt_id(self.rendering_provider_id)?,
            service_date_from: self.service_date_from,
            service_date_to: self.service_date_to,
            place_of_service: from_db(&self.place_of_service, "place of service")?,
            prior_authorization: self.prior_authorization,
            diagnoses: from_json(&self.diagnoses, "diagnoses")?,
            total_charge: lines.iter().map(|l| l.charge).sum::<Money>(),
            lines,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// Whether the provider may fill a claim slot: None if there is no such provider, else the
/// role check and the roles it has (for the message).
fn provider_role_ok(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    wanted: ProviderRole,
) -> CoreResult<Option<(bool, String)>> {
    let roles: Option<String> = providers::table
        .filter(providers::org_id.eq(org.as_str()))
        .filter(providers::id.eq(id.to_string()))
        .select(providers::roles)
        .get_result(conn)
        .optional()?;
    Ok(roles.map(|r| {
        let ok = r.split(',').any(|x| x == wanted.as_str());
        (ok, r.replace(',', ", "))
    }))
}

/// The 422 message for a provider named in a slot its roles do not include.
fn lacks_role(wanted: ProviderRole, has: &str) -> String {
    format!(
        "provider does not have the {wanted} role (its roles: {has}); add it with PUT /v1/providers/{{id}}",
        wanted = wanted.as_str()
    )
}

/// Every id an encounter names must exist in the caller's org, and fit together.
fn check_references(
    conn: &mut DbConnection,
    org: OrgId,
    input: &EncounterInput,
    e: &mut Errors,
) -> CoreResult<()> {
    e.check(
        super::patients::exists(conn, org, input.patient_id)?,
        "/patient_id",
        "no such patient",
    );
    if let Some(cov) = input.coverage_id {
        let owner: Option<String> = coverages::table
            .filter(coverages::org_id.eq(org.as_str()))
            .filter(coverages::id.eq(cov.to_string()))
            .select(coverages::patient_id)
            .get_result(conn)
            .optional()?;
        match owner {
            None => e.add("/coverage_id", "no such coverage"),
            Some(p) if p != input.patient_id.to_string() => {
                e.add("/coverage_id", "coverage belongs to another patient")
            }
            Some(_) => {}
        }
    }
    match provider_role_ok(conn, org, input.billing_provider_id, ProviderRole::Billing)? {
        None => e.add("/billing_provider_id", "no such provider"),
        Some((false, has)) => e.add(
            "/billing_provider_id",
            lacks_role(ProviderRole::Billing, &has),
        ),
        Some((true, _)) => {}
    }
    if let Some(r) = input.rendering_provider_id {
        match provider_role_ok(conn, org, r, ProviderRole::Rendering)? {
            None => e.add("/rendering_provider_id", "no such provider"),
            Some((false, has)) => e.add(
                "/rendering_provider_id",
                lacks_role(ProviderRole::Rendering, &has),
            ),
            Some((true, _)) => {}
        }
    }
    Ok(())
}

/// Lines with their service date filled in from the encounter.
fn dated_lines(input: &EncounterInput) -> Vec<ServiceLine> {
    input
        .lines
        .iter()
        .map(|l| ServiceLine {
            service_date: Some(l.service_date.unwrap_or(input.service_date_from)),
            ..l.clone()
        })
        .collect()
}

pub fn create(
    conn: &mut DbConnection,
    org: OrgId,
    input: &EncounterInput,
) -> CoreResult<Encounter> {
    // The rules and the references, all in one answer.
    let mut e = Errors::new();
    crate::validation::Rules::check(input, &mut e);
    check_references(conn, org, input, &mut e)?;
    e.finish()?;
    let id = new_id();
    let t = now();
    diesel::insert_into(encounters::table)
        .values((
            encounters::id.eq(id.to_string()),
            encounters::org_id.eq(org.as_str()),
            encounters::patient_id.eq(input.patient_id.to_string()),
            encounters::coverage_id.eq(input.coverage_id.map(|c| c.to_string())),
            encounters::billing_provider_id.eq(input.billing_provider_id.to_string()),
            encounters::rendering_provider_id
                .eq(input.rendering_provider_id.map(|c| c.to_string())),
            encounters::service_date_from.eq(input.service_date_from),
            encounters::service_date_to.eq(input.service_date_to()),
            encounters::place_of_service.eq(to_db(&input.place_of_service)),
            encounters::prior_authorization.eq(input.prior_authorization.clone()),
            encounters::diagnoses.eq(to_json(&input.diagnoses)),
            encounters::lines.eq(to_json(&dated_lines(input))),
            (
                encounters::status.eq("open"),
                encounters::version.eq(1),
                encounters::created_at.eq(t),
                encounters::updated_at.eq(t),
            ),
        ))
        .execute(conn)?;
    get(conn, org, id)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Encounter> {
    org_row!(conn, encounters, EncounterRow, org, id, "encounter")?.into_model()
}

pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &EncounterInput,
) -> CoreResult<Encounter> {
    let mut e = Errors::new();
    crate::validation::Rules::check(input, &mut e);
    if !e.is_empty() {
        // An invalid body is 422 whether or not the id exists, with every field named.
        check_references(conn, org, input, &mut e)?;
        std::mem::take(&mut e).finish()?;
    }
    let current = get(conn, org, id)?;
    check_references(conn, org, input, &mut e)?;
    e.finish()?;
    let updated = diesel::update(
        encounters::table
            .filter(encounters::org_id.eq(org.as_str()))
            .filter(encounters::id.eq(id.to_string()))
            .filter(encounters::version.eq(expected_version)),
    )
    .set((
        encounters::patient_id.eq(input.patient_id.to_string()),
        encounters::coverage_id.eq(input.coverage_id.map(|c| c.to_string())),
        encounters::billing_provider_id.eq(input.billing_provider_id.to_string()),
        encounters::rendering_provider_id.eq(input.rendering_provider_id.map(|c| c.to_string())),
        encounters::service_date_from.eq(input.service_date_from),
        encounters::service_date_to.eq(input.service_date_to()),
        encounters::place_of_service.eq(to_db(&input.place_of_service)),
        encounters::prior_authorization.eq(input.prior_authorization.clone()),
        encounters::diagnoses.eq(to_json(&input.diagnoses)),
        encounters::lines.eq(to_json(&dated_lines(input))),
        // New lines lose the link to the feed's charge ids (an import sets it again).
        encounters::line_sources.eq("[]"),
        encounters::version.eq(expected_version + 1),
        encounters::updated_at.eq(now()),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "encounter")?;
    get(conn, org, id)
}

/// The feed ids of each line (parallel to `lines`) and the keys of the charges credited.
pub fn line_sources(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
) -> CoreResult<(Vec<LineSource>, Vec<String>)> {
    let (sources, credited): (String, String) = encounters::table
        .filter(encounters::org_id.eq(org.as_str()))
        .filter(encounters::id.eq(id.to_string()))
        .select((encounters::line_sources, encounters::credited_sources))
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "encounter",
        })?;
    Ok((
        from_json(&sources, "line sources")?,
        from_json(&credited, "credited sources")?,
    ))
}

/// Records where the encounter's lines came from (after an import wrote them).
pub fn set_line_sources(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    sources: &[LineSource],
) -> CoreResult<()> {
    diesel::update(
        encounters::table
            .filter(encounters::org_id.eq(org.as_str()))
            .filter(encounters::id.eq(id.to_string())),
    )
    .set(encounters::line_sources.eq(to_json(&sources)))
    .execute(conn)?;
    Ok(())
}

/// Removes the line at `index` (a credited charge) and remembers the keys it was credited
/// under, as a new version of the encounter.
pub fn remove_credited_line(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    index: usize,
) -> CoreResult<Encounter> {
    let current = get(conn, org, id)?;
    let (mut sources, mut credited) = line_sources(conn, org, id)?;
    let mut lines = current.lines.clone();
    if index >= lines.len() {
        return Err(CoreError::NotFound {
            resource: "service line",
        });
    }
    lines.remove(index);
    if index < sources.len() {
        let gone = sources.remove(index);
        credited.extend(gone.keys());
    }
    let updated = diesel::update(
        encounters::table
            .filter(encounters::org_id.eq(org.as_str()))
            .filter(encounters::id.eq(id.to_string()))
            .filter(encounters::version.eq(expected_version)),
    )
    .set((
        encounters::lines.eq(to_json(&lines)),
        encounters::line_sources.eq(to_json(&sources)),
        encounters::credited_sources.eq(to_json(&credited)),
        encounters::version.eq(expected_version + 1),
        encounters::updated_at.eq(now()),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "encounter")?;
    get(conn, org, id)
}

/// The status of a claim built from the encounter that is not voided, if any.
pub fn live_claim_status(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
) -> CoreResult<Option<String>> {
    use super::schema::claims;
    Ok(claims::table
        .filter(claims::org_id.eq(org.as_str()))
        .filter(claims::encounter_id.eq(id.to_string()))
        .filter(claims::status.ne("voided"))
        .select(claims::status)
        .first::<String>(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &EncounterFilter,
    page: &ListParams,
) -> CoreResult<Page<Encounter>> {
    let limit = page.limit()?;
    let mut q = encounters::table
        .filter(encounters::org_id.eq(org.as_str()))
        .filter(encounters::id.gt(page.after()?))
        .into_boxed();
    if let Some(p) = filter.patient_id {
        q = q.filter(encounters::patient_id.eq(p.to_string()));
    }
    if let Some(d) = filter.service_date_from {
        q = q.filter(encounters::service_date_from.ge(d));
    }
    if let Some(d) = filter.service_date_to {
        q = q.filter(encounters::service_date_from.le(d));
    }
    let rows: Vec<EncounterRow> = q
        .order(encounters::id.asc())
        .limit(limit + 1)
        .select(EncounterRow::as_select())
        .load(conn)?;
    page_of(rows, limit, EncounterRow::into_model)
}

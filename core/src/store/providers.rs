use diesel::prelude::*;
use uuid::Uuid;

use super::pagination::finish_page;
use super::schema::providers;
use super::{DbConnection, ListParams, check_versioned_update, from_db, new_id, parse_id, to_db};
use crate::access::OrgId;
use crate::codes::{Npi, ProviderRole};
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};
use crate::model::provider::{Provider, ProviderInput};
use crate::model::{Address, Page};

#[derive(Queryable, Selectable)]
#[diesel(table_name = providers)]
struct ProviderRow {
    id: String,
    role: String,
    npi: String,
    tin: Option<String>,
    organization_name: Option<String>,
    last_name: Option<String>,
    first_name: Option<String>,
    taxonomy: Option<String>,
    address_line1: String,
    address_line2: Option<String>,
    city: String,
    state: String,
    zip: String,
    active: bool,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl ProviderRow {
    fn into_model(self) -> CoreResult<Provider> {
        Ok(Provider {
            id: parse_id(&self.id)?,
            role: from_db(&self.role, "provider role")?,
            npi: from_db(&self.npi, "NPI")?,
            tin: self.tin.as_deref().map(|t| from_db(t, "TIN")).transpose()?,
            organization_name: self.organization_name,
            last_name: self.last_name,
            first_name: self.first_name,
            taxonomy: self
                .taxonomy
                .as_deref()
                .map(|t| from_db(t, "taxonomy"))
                .transpose()?,
            address: Address {
                line1: self.address_line1,
                line2: self.address_line2,
                city: self.city,
                state: from_db(&self.state, "state")?,
                zip: from_db(&self.zip, "ZIP code")?,
            },
            active: self.active,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct ProviderFilter {
    pub npi: Option<Npi>,
    pub role: Option<ProviderRole>,
    pub active: Option<bool>,
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|v| v.trim().to_string())
}

pub fn create(conn: &mut DbConnection, org: OrgId, input: &ProviderInput) -> CoreResult<Provider> {
    input.validate()?;
    let id = new_id();
    let t = now();
    let a = &input.address;
    let inserted = diesel::insert_into(providers::table)
        .values((
            providers::id.eq(id.to_string()),
            providers::org_id.eq(org.as_str()),
            providers::role.eq(to_db(&input.role)),
            providers::npi.eq(input.npi.as_str()),
            providers::tin.eq(input.tin.as_ref().map(|t| t.as_str().to_string())),
            providers::organization_name.eq(trimmed(&input.organization_name)),
            providers::last_name.eq(trimmed(&input.last_name)),
            providers::first_name.eq(trimmed(&input.first_name)),
            providers::taxonomy.eq(input.taxonomy.as_ref().map(|t| t.as_str().to_string())),
            providers::address_line1.eq(a.line1.trim()),
            providers::address_line2.eq(trimmed(&a.line2)),
            providers::city.eq(a.city.trim()),
            providers::state.eq(to_db(&a.state)),
            providers::zip.eq(to_db(&a.zip)),
            (
                providers::active.eq(input.active.unwrap_or(true)),
                providers::version.eq(1),
                providers::created_at.eq(t),
                providers::updated_at.eq(t),
            ),
        ))
        .execute(conn);
    match inserted.map_err(CoreError::from) {
        Err(CoreError::Conflict(_)) => {
            return Err(CoreError::Conflict(
                "a provider with this NPI exists".into(),
            ));
        }
        other => other?,
    };
    get(conn, org, id)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Provider> {
    providers::table
        .filter(providers::org_id.eq(org.as_str()))
        .filter(providers::id.eq(id.to_string()))
        .select(ProviderRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "provider",
        })?
        .into_model()
}

pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &ProviderInput,
) -> CoreResult<Provider> {
    input.validate()?;
    let current = get(conn, org, id)?;
    let a = &input.address;
    let updated = diesel::update(
        providers::table
            .filter(providers::org_id.eq(org.as_str()))
            .filter(providers::id.eq(id.to_string()))
            .filter(providers::version.eq(expected_version)),
    )
    .set((
        providers::role.eq(to_db(&input.role)),
        providers::npi.eq(input.npi.as_str()),
        providers::tin.eq(input.tin.as_ref().map(|t| t.as_str().to_string())),
        providers::organization_name.eq(trimmed(&input.organization_name)),
        providers::last_name.eq(trimmed(&input.last_name)),
        providers::first_name.eq(trimmed(&input.first_name)),
        providers::taxonomy.eq(input.taxonomy.as_ref().map(|t| t.as_str().to_string())),
        providers::address_line1.eq(a.line1.trim()),
        providers::address_line2.eq(trimmed(&a.line2)),
        providers::city.eq(a.city.trim()),
        providers::state.eq(to_db(&a.state)),
        providers::zip.eq(to_db(&a.zip)),
        (
            providers::active.eq(input.active.unwrap_or(current.active)),
            providers::version.eq(expected_version + 1),
            providers::updated_at.eq(now()),
        ),
    ))
    .execute(conn)
    .map_err(|e| match CoreError::from(e) {
        CoreError::Conflict(_) => CoreError::Conflict("a provider with this NPI exists".into()),
        other => other,
    })?;
    check_versioned_update(updated, Some(current.version), "provider")?;
    get(conn, org, id)
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &ProviderFilter,
    page: &ListParams,
) -> CoreResult<Page<Provider>> {
    let limit = page.limit()?;
    let mut q = providers::table
        .filter(providers::org_id.eq(org.as_str()))
        .filter(providers::id.gt(page.after()?))
        .into_boxed();
    if let Some(npi) = &filter.npi {
        q = q.filter(providers::npi.eq(npi.as_str().to_string()));
    }
    if let Some(role) = &filter.role {
        q = q.filter(providers::role.eq(to_db(role)));
    }
    if let Some(active) = filter.active {
        q = q.filter(providers::active.eq(active));
    }
    let rows: Vec<ProviderRow> = q
        .order(providers::id.asc())
        .limit(limit + 1)
        .select(ProviderRow::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(ProviderRow::into_model)
        .collect::<CoreResult<Vec<_>>>()?;
    let (items, next_cursor) = finish_page(items, limit, |p| p.id);
    Ok(Page { items, next_cursor })
}

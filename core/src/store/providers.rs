use diesel::prelude::*;
use uuid::Uuid;

use super::pagination::page_of;
use super::schema::providers;
use super::{
    DbConnection, ListParams, check_versioned_update, from_db, new_id, org_row, parse_id, to_db,
};
use crate::access::OrgId;
use crate::codes::ProviderRole;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};
use crate::model::provider::{Provider, ProviderFilter, ProviderInput};
use crate::model::{Address, Page};

#[derive(Queryable, Selectable)]
#[diesel(table_name = providers)]
struct ProviderRow {
    id: String,
    roles: String,
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
            roles: roles_from_db(&self.roles)?,
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

/// Roles as stored: canonical order, comma-separated (`billing,rendering`).
fn roles_to_db(roles: &[ProviderRole]) -> String {
    ProviderRole::canonical_set(roles)
        .iter()
        .map(ProviderRole::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn roles_from_db(s: &str) -> CoreResult<Vec<ProviderRole>> {
    s.split(',').map(|r| from_db(r, "provider role")).collect()
}

/// One NPI is one provider (a unique key of the table).
const NPI_TAKEN: &str = "a provider with this NPI exists";

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|v| v.trim().to_string())
}

pub fn create(conn: &mut DbConnection, org: OrgId, input: &ProviderInput) -> CoreResult<Provider> {
    input.validate()?;
    let id = new_id();
    let t = now();
    let a = &input.address;
    diesel::insert_into(providers::table)
        .values((
            providers::id.eq(id.to_string()),
            providers::org_id.eq(org.as_str()),
            providers::roles.eq(roles_to_db(&input.roles)),
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
        .execute(conn)
        .map_err(|e| CoreError::from(e).conflict_means(NPI_TAKEN))?;
    get(conn, org, id)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Provider> {
    org_row!(conn, providers, ProviderRow, org, id, "provider")?.into_model()
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
        providers::roles.eq(roles_to_db(&input.roles)),
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
    .map_err(|e| CoreError::from(e).conflict_means(NPI_TAKEN))?;
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
    if let Some(role) = filter.role {
        // The whole set, or one of its comma-separated items (no role name contains another).
        let r = role.as_str();
        q = q.filter(
            providers::roles
                .eq(r.to_string())
                .or(providers::roles.like(format!("{r},%")))
                .or(providers::roles.like(format!("%,{r}")))
                .or(providers::roles.like(format!("%,{r},%"))),
        );
    }
    if let Some(active) = filter.active {
        q = q.filter(providers::active.eq(active));
    }
    let rows: Vec<ProviderRow> = q
        .order(providers::id.asc())
        .limit(limit + 1)
        .select(ProviderRow::as_select())
        .load(conn)?;
    page_of(rows, limit, ProviderRow::into_model)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;

    use super::*;
    use crate::store::connection::SQLITE_MIGRATIONS;
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};
    use crate::store::{connect, run_migrations};

    on_each_engine!(one_npi_holds_a_set_of_roles);

    fn solo(roles: &[ProviderRole], npi: &str) -> ProviderInput {
        serde_json::from_value(serde_json::json!({
            "roles": roles, "npi": npi, "tin": "123456789", "last_name": "Osler",
            "first_name": "William",
            "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
        }))
        .unwrap()
    }

    fn with_role(conn: &mut DbConnection, org: OrgId, role: ProviderRole) -> Vec<Uuid> {
        let filter = ProviderFilter {
            role: Some(role),
            ..Default::default()
        };
        list(conn, org, &filter, &ListParams::default())
            .unwrap()
            .items
            .iter()
            .map(|p| p.id)
            .collect()
    }

    fn one_npi_holds_a_set_of_roles(engine: TestEngine) {
        use ProviderRole::*;
        let (_db, mut conn, _, org) = setup_on(engine);
        // Repeats and order do not matter; the set comes back sorted.
        let p = create(
            &mut conn,
            org,
            &solo(&[Rendering, Billing, Rendering], "1234567893"),
        )
        .unwrap();
        assert_eq!(p.roles, [Billing, Rendering]);
        assert!(p.has_role(Billing) && p.has_role(Rendering) && !p.has_role(Referring));
        let r = create(
            &mut conn,
            org,
            &solo(&[Supervising, Referring], "1245319599"),
        )
        .unwrap();
        assert_eq!(
            get(&mut conn, org, r.id).unwrap().roles,
            [Referring, Supervising]
        );
        // The same NPI again is still one provider.
        let err = create(&mut conn, org, &solo(&[Referring], "1234567893")).unwrap_err();
        assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
        // No roles at all: refused with a pointer.
        let err = create(&mut conn, org, &solo(&[], "1679576722")).unwrap_err();
        match err {
            CoreError::Invalid(e) => assert_eq!(e[0].pointer, "/roles"),
            other => panic!("{other:?}"),
        }
        assert_eq!(with_role(&mut conn, org, Billing), [p.id]);
        assert_eq!(with_role(&mut conn, org, Rendering), [p.id]);
        assert_eq!(with_role(&mut conn, org, Referring), [r.id]);
        assert_eq!(with_role(&mut conn, org, Supervising), [r.id]);
        // Adding a role is an update of the same provider.
        let mut more = solo(&[Billing, Rendering, Supervising], "1234567893");
        more.active = Some(true);
        let p2 = update(&mut conn, org, p.id, p.version, &more).unwrap();
        assert_eq!(p2.roles, [Billing, Rendering, Supervising]);
        assert_eq!(with_role(&mut conn, org, Supervising), [p.id, r.id]);
    }

    const ORG: &str = "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a00";

    #[test]
    fn single_roles_of_earlier_versions_become_sets() {
        let mut conn = connect(":memory:").unwrap();
        let DbConnection::Sqlite(c) = &mut conn else {
            panic!("sqlite")
        };
        // Every migration before the one that made roles a set.
        while !c
            .applied_migrations()
            .unwrap()
            .iter()
            .any(|v| v.to_string().ends_with("000012"))
        {
            c.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        let row = |id: &str, role: &str, npi: &str| {
            format!(
                "INSERT INTO providers (id, org_id, role, npi, last_name, address_line1, city, \
                 state, zip, active, version, created_at, updated_at) VALUES ('{id}', '{ORG}', \
                 '{role}', '{npi}', 'X', '1 Main', 'Springfield', 'IL', '62701', 1, 1, \
                 '2026-01-01 00:00:00', '2026-01-01 00:00:00');"
            )
        };
        conn.batch_execute(&format!(
            "INSERT INTO orgs (id, name, created_at) VALUES ('{ORG}', 'O', '2026-01-01 00:00:00');{}{}{}",
            row("0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a01", "both", "1234567893"),
            row("0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "billing", "1245319599"),
            row("0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a03", "rendering", "1679576722"),
        ))
        .unwrap();
        run_migrations(&mut conn).unwrap();
        let org = OrgId(ORG.parse().unwrap());
        let roles: Vec<Vec<ProviderRole>> = list(
            &mut conn,
            org,
            &ProviderFilter::default(),
            &ListParams::default(),
        )
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.roles)
        .collect();
        use ProviderRole::*;
        assert_eq!(
            roles,
            [vec![Billing, Rendering], vec![Billing], vec![Rendering]]
        );
    }
}

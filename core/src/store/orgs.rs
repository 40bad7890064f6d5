//! Organizations (tenants). Created by an admin command, never through the tenant API.

use diesel::prelude::*;
use uuid::Uuid;

use super::schema::orgs;
use super::{DbConnection, KeyRing, new_id, parse_id};
use crate::access::OrgId;
use crate::error::CoreResult;
use crate::model::common::now;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// False once deactivated: its data is kept, but no token naming it is accepted.
    pub active: bool,
}

pub fn create(conn: &mut DbConnection, keyring: &KeyRing, name: &str) -> CoreResult<Org> {
    conn.transaction(|conn| {
        let id = new_id();
        diesel::insert_into(orgs::table)
            .values((
                orgs::id.eq(id.to_string()),
                orgs::name.eq(name),
                orgs::created_at.eq(now()),
            ))
            .execute(conn)?;
        keyring.create_org_keys(conn, OrgId(id))?;
        Ok(Org {
            id,
            name: name.to_string(),
            active: true,
        })
    })
}

type OrgRow = (String, String, Option<chrono::NaiveDateTime>);

fn from_row((id, name, deactivated_at): OrgRow) -> CoreResult<Org> {
    Ok(Org {
        id: parse_id(&id)?,
        name,
        active: deactivated_at.is_none(),
    })
}

pub fn list(conn: &mut DbConnection) -> CoreResult<Vec<Org>> {
    let rows: Vec<OrgRow> = orgs::table
        .select((orgs::id, orgs::name, orgs::deactivated_at))
        .order(orgs::id.asc())
        .load(conn)?;
    rows.into_iter().map(from_row).collect()
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> CoreResult<Option<Org>> {
    let row: Option<OrgRow> = orgs::table
        .filter(orgs::id.eq(id.to_string()))
        .select((orgs::id, orgs::name, orgs::deactivated_at))
        .get_result(conn)
        .optional()?;
    row.map(from_row).transpose()
}

/// Deactivates (`active` false) or reactivates an organization; its data is kept either way.
/// Returns false when there is no such organization.
pub fn set_active(conn: &mut DbConnection, id: Uuid, active: bool) -> CoreResult<bool> {
    let deactivated_at = (!active).then(now);
    let changed = diesel::update(orgs::table.filter(orgs::id.eq(id.to_string())))
        .set(orgs::deactivated_at.eq(deactivated_at))
        .execute(conn)?;
    Ok(changed == 1)
}

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
        })
    })
}

pub fn list(conn: &mut DbConnection) -> CoreResult<Vec<Org>> {
    let rows: Vec<(String, String)> = orgs::table
        .select((orgs::id, orgs::name))
        .order(orgs::id.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name)| {
            Ok(Org {
                id: parse_id(&id)?,
                name,
            })
        })
        .collect()
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> CoreResult<Option<Org>> {
    let row: Option<(String, String)> = orgs::table
        .filter(orgs::id.eq(id.to_string()))
        .select((orgs::id, orgs::name))
        .get_result(conn)
        .optional()?;
    row.map(|(id, name)| {
        Ok(Org {
            id: parse_id(&id)?,
            name,
        })
    })
    .transpose()
}

//! The practice's charge master: per procedure code (and modifier), the description printed on
//! patient statements and the default price. CPT descriptors are licensed, so the practice
//! supplies its own words; a code without an entry prints as its code.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::cents;
use super::schema::charge_master;
use super::sql_types::DbDecimal;
use super::{DbConnection, new_id, parse_id};
use crate::access::OrgId;
use crate::codes::{Modifier, Money, ProcedureCode};
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};

/// Longest description: fits one statement line at the printed font size.
pub const MAX_DESCRIPTION_LEN: usize = 80;

/// A code and optional modifier, written `99214` or `99214-25` in URLs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChargeKey {
    pub code: String,
    /// Empty when the entry is for the code without a modifier.
    pub modifier: String,
}

impl ChargeKey {
    /// Parses `CODE` or `CODE-MODIFIER` (any case); errors point at `pointer`.
    pub fn parse(s: &str, pointer: &str) -> CoreResult<ChargeKey> {
        let (code, modifier) = match s.split_once('-') {
            Some((c, m)) => (c, Some(m)),
            None => (s, None),
        };
        let code = ProcedureCode::parse(&code.to_ascii_uppercase())
            .map_err(|e| CoreError::invalid(pointer, e.to_string()))?;
        let modifier = match modifier {
            Some(m) => Modifier::parse(&m.to_ascii_uppercase())
                .map_err(|e| CoreError::invalid(pointer, e.to_string()))?
                .as_str()
                .to_string(),
            None => String::new(),
        };
        Ok(ChargeKey {
            code: code.as_str().to_string(),
            modifier,
        })
    }
}

/// What a charge master entry says.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"description": "Office visit, established patient, moderate", "price": "150.00"}))]
pub struct ChargeMasterInput {
    /// The practice's own description, printed on statements (1 to 80 characters).
    #[schema(min_length = 1, max_length = 80)]
    pub description: String,
    /// The practice's default price (zero or more).
    pub price: Money,
}

impl crate::validation::Rules for ChargeMasterInput {
    fn check(&self, e: &mut crate::validation::Errors) {
        let n = self.description.trim().chars().count();
        e.check(
            (1..=MAX_DESCRIPTION_LEN).contains(&n),
            "/description",
            format!("must be 1 to {MAX_DESCRIPTION_LEN} characters"),
        );
        e.check(
            !self.description.chars().any(char::is_control),
            "/description",
            "must not contain control characters",
        );
        e.check(
            !self.price.as_decimal().is_sign_negative(),
            "/price",
            "must not be negative",
        );
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChargeMasterEntry {
    pub id: Uuid,
    #[schema(example = "99214")]
    pub code: String,
    /// Absent for the entry of the code without a modifier.
    #[schema(example = "25")]
    pub modifier: Option<String>,
    /// `code` or `code-modifier`: the entry's address under `/v1/charge-master/`.
    #[schema(example = "99214-25")]
    pub key: String,
    pub description: String,
    #[schema(value_type = String, example = "150.00")]
    pub price: Decimal,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::model::Versioned for ChargeMasterEntry {
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i32 {
        self.version
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = charge_master)]
struct Row {
    id: String,
    code: String,
    modifier: String,
    description: String,
    price: DbDecimal,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl Row {
    fn into_model(self) -> CoreResult<ChargeMasterEntry> {
        let key = if self.modifier.is_empty() {
            self.code.clone()
        } else {
            format!("{}-{}", self.code, self.modifier)
        };
        Ok(ChargeMasterEntry {
            id: parse_id(&self.id)?,
            code: self.code,
            modifier: (!self.modifier.is_empty()).then_some(self.modifier),
            key,
            description: self.description,
            price: cents(self.price.0),
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

fn find(conn: &mut DbConnection, org: OrgId, key: &ChargeKey) -> CoreResult<Option<Row>> {
    Ok(charge_master::table
        .filter(charge_master::org_id.eq(org.as_str()))
        .filter(charge_master::code.eq(&key.code))
        .filter(charge_master::modifier.eq(&key.modifier))
        .select(Row::as_select())
        .get_result(conn)
        .optional()?)
}

/// Whether [`put`] created the entry or replaced it.
pub enum Put {
    Created(ChargeMasterEntry),
    Updated(ChargeMasterEntry),
}

/// Creates or replaces the entry for `key`. With `if_match`, the entry must exist at that
/// version (412 otherwise).
pub fn put(
    conn: &mut DbConnection,
    org: OrgId,
    key: &ChargeKey,
    input: &ChargeMasterInput,
    if_match: Option<i32>,
) -> CoreResult<Put> {
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    e.finish()?;
    let description = input.description.trim().to_string();
    let price = DbDecimal(cents(input.price.as_decimal()));
    let t = now();
    match (find(conn, org, key)?, if_match) {
        (None, Some(_)) => Err(CoreError::NotFound {
            resource: "charge master entry",
        }),
        (None, None) => {
            let id = new_id();
            diesel::insert_into(charge_master::table)
                .values((
                    charge_master::id.eq(id.to_string()),
                    charge_master::org_id.eq(org.as_str()),
                    charge_master::code.eq(&key.code),
                    charge_master::modifier.eq(&key.modifier),
                    charge_master::description.eq(&description),
                    charge_master::price.eq(price),
                    charge_master::version.eq(1),
                    charge_master::created_at.eq(t),
                    charge_master::updated_at.eq(t),
                ))
                .execute(conn)?;
            let row = find(conn, org, key)?
                .ok_or_else(|| CoreError::Internal("the new entry was not found".into()))?;
            Ok(Put::Created(row.into_model()?))
        }
        (Some(row), expected) => {
            if expected.is_some_and(|v| v != row.version) {
                return Err(CoreError::VersionMismatch {
                    current: row.version,
                });
            }
            let n = diesel::update(
                charge_master::table
                    .filter(charge_master::id.eq(&row.id))
                    .filter(charge_master::version.eq(row.version)),
            )
            .set((
                charge_master::description.eq(&description),
                charge_master::price.eq(price),
                charge_master::version.eq(row.version + 1),
                charge_master::updated_at.eq(t),
            ))
            .execute(conn)?;
            super::check_versioned_update(n, Some(row.version), "charge master entry")?;
            let row = find(conn, org, key)?
                .ok_or_else(|| CoreError::Internal("the entry was not found".into()))?;
            Ok(Put::Updated(row.into_model()?))
        }
    }
}

/// Every entry of the org, by code then modifier.
pub fn list(conn: &mut DbConnection, org: OrgId) -> CoreResult<Vec<ChargeMasterEntry>> {
    let rows: Vec<Row> = charge_master::table
        .filter(charge_master::org_id.eq(org.as_str()))
        .order((charge_master::code.asc(), charge_master::modifier.asc()))
        .select(Row::as_select())
        .load(conn)?;
    rows.into_iter().map(Row::into_model).collect()
}

pub fn get(conn: &mut DbConnection, org: OrgId, key: &ChargeKey) -> CoreResult<ChargeMasterEntry> {
    find(conn, org, key)?
        .ok_or(CoreError::NotFound {
            resource: "charge master entry",
        })?
        .into_model()
}

/// Removes the entry (statements already issued keep the description they were printed with).
pub fn delete(
    conn: &mut DbConnection,
    org: OrgId,
    key: &ChargeKey,
    if_match: Option<i32>,
) -> CoreResult<ChargeMasterEntry> {
    let row = find(conn, org, key)?.ok_or(CoreError::NotFound {
        resource: "charge master entry",
    })?;
    if if_match.is_some_and(|v| v != row.version) {
        return Err(CoreError::VersionMismatch {
            current: row.version,
        });
    }
    let entry = row.into_model()?;
    diesel::delete(charge_master::table.filter(charge_master::id.eq(entry.id.to_string())))
        .execute(conn)?;
    Ok(entry)
}

/// Descriptions by (code, modifier) for the lookups of one statement: an entry for the code
/// with the line's first modifier wins over the code's own entry.
pub struct Descriptions(BTreeMap<(String, String), String>);

impl Descriptions {
    pub fn load(conn: &mut DbConnection, org: OrgId) -> CoreResult<Descriptions> {
        let rows: Vec<(String, String, String)> = charge_master::table
            .filter(charge_master::org_id.eq(org.as_str()))
            .select((
                charge_master::code,
                charge_master::modifier,
                charge_master::description,
            ))
            .load(conn)?;
        Ok(Descriptions(
            rows.into_iter().map(|(c, m, d)| ((c, m), d)).collect(),
        ))
    }

    /// The practice's description of a line, if it has one.
    pub fn of(&self, code: &str, modifiers: &[String]) -> Option<&str> {
        modifiers
            .iter()
            .find_map(|m| self.0.get(&(code.to_string(), m.clone())))
            .or_else(|| self.0.get(&(code.to_string(), String::new())))
            .map(String::as_str)
    }
}

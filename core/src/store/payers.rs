use diesel::prelude::*;
use uuid::Uuid;

use super::pagination::finish_page;
use super::schema::payers;
use super::{DbConnection, ListParams, check_versioned_update, from_db, new_id, parse_id, to_db};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::payer::{DEFAULT_TIMELY_FILING_DAYS, Payer, PayerInput};

#[derive(Queryable, Selectable)]
#[diesel(table_name = payers)]
struct PayerRow {
    id: String,
    name: String,
    payer_code: String,
    claim_filing_indicator: String,
    timely_filing_days: i32,
    active: bool,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl PayerRow {
    fn into_model(self) -> CoreResult<Payer> {
        Ok(Payer {
            id: parse_id(&self.id)?,
            name: self.name,
            payer_code: self.payer_code,
            claim_filing_indicator: from_db(
                &self.claim_filing_indicator,
                "claim filing indicator",
            )?,
            timely_filing_days: self.timely_filing_days,
            active: self.active,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct PayerFilter {
    pub payer_code: Option<String>,
    pub active: Option<bool>,
}

pub fn create(conn: &mut DbConnection, org: OrgId, input: &PayerInput) -> CoreResult<Payer> {
    input.validate()?;
    let id = new_id();
    let t = now();
    let inserted = diesel::insert_into(payers::table)
        .values((
            payers::id.eq(id.to_string()),
            payers::org_id.eq(org.as_str()),
            payers::name.eq(input.name.trim()),
            payers::payer_code.eq(input.payer_code.trim()),
            payers::claim_filing_indicator.eq(to_db(&input.claim_filing_indicator)),
            payers::timely_filing_days.eq(input
                .timely_filing_days
                .unwrap_or(DEFAULT_TIMELY_FILING_DAYS)),
            payers::active.eq(input.active.unwrap_or(true)),
            payers::version.eq(1),
            payers::created_at.eq(t),
            payers::updated_at.eq(t),
        ))
        .execute(conn);
    match inserted.map_err(CoreError::from) {
        Err(CoreError::Conflict(_)) => {
            return Err(CoreError::Conflict(
                "a payer with this payer_code exists".into(),
            ));
        }
        other => other?,
    };
    get(conn, org, id)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Payer> {
    payers::table
        .filter(payers::org_id.eq(org.as_str()))
        .filter(payers::id.eq(id.to_string()))
        .select(PayerRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound { resource: "payer" })?
        .into_model()
}

pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &PayerInput,
) -> CoreResult<Payer> {
    input.validate()?;
    let current = get(conn, org, id)?;
    let updated = diesel::update(
        payers::table
            .filter(payers::org_id.eq(org.as_str()))
            .filter(payers::id.eq(id.to_string()))
            .filter(payers::version.eq(expected_version)),
    )
    .set((
        payers::name.eq(input.name.trim()),
        payers::payer_code.eq(input.payer_code.trim()),
        payers::claim_filing_indicator.eq(to_db(&input.claim_filing_indicator)),
        payers::timely_filing_days.eq(input
            .timely_filing_days
            .unwrap_or(current.timely_filing_days)),
        payers::active.eq(input.active.unwrap_or(current.active)),
        payers::version.eq(expected_version + 1),
        payers::updated_at.eq(now()),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "payer")?;
    get(conn, org, id)
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &PayerFilter,
    page: &ListParams,
) -> CoreResult<Page<Payer>> {
    let limit = page.limit()?;
    let mut q = payers::table
        .filter(payers::org_id.eq(org.as_str()))
        .filter(payers::id.gt(page.after()?))
        .into_boxed();
    if let Some(code) = &filter.payer_code {
        q = q.filter(payers::payer_code.eq(code.clone()));
    }
    if let Some(active) = filter.active {
        q = q.filter(payers::active.eq(active));
    }
    let rows: Vec<PayerRow> = q
        .order(payers::id.asc())
        .limit(limit + 1)
        .select(PayerRow::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(PayerRow::into_model)
        .collect::<CoreResult<Vec<_>>>()?;
    let (items, next_cursor) = finish_page(items, limit, |p| p.id);
    Ok(Page { items, next_cursor })
}

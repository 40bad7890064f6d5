use crate::model::event::{EventData, RemittanceReceived};
use diesel::prelude::*;
use uuid::Uuid;

use super::pagination::page_of;
use super::schema::{payers, remittances};
use super::sql_types::DbDecimal;
use super::{
    DbConnection, ListParams, from_db, from_json, new_id, opt_id, org_row, parse_id, to_json,
};
use crate::access::OrgId;
use crate::codes::Money;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::remittance::{
    Remittance, RemittanceBody, RemittanceFilter, RemittanceInput, SignedMoney,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = remittances)]
struct RemittanceRow {
    id: String,
    payer_id: String,
    trace_number: String,
    payment_date: chrono::NaiveDate,
    payment_method: String,
    total_paid: DbDecimal,
    body: String,
    status: String,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    exchange_id: Option<String>,
    file_name: Option<String>,
}

impl RemittanceRow {
    fn into_model(self) -> CoreResult<Remittance> {
        let body: RemittanceBody = from_json(&self.body, "remittance")?;
        Ok(Remittance {
            id: parse_id(&self.id)?,
            payer_id: parse_id(&self.payer_id)?,
            trace_number: self.trace_number,
            payment_date: self.payment_date,
            payment_method: from_db(&self.payment_method, "payment method")?,
            total_paid: SignedMoney(
                Money::from_decimal(self.total_paid.0)
                    .map_err(|_| CoreError::Internal("stored amount is out of range".into()))?,
            ),
            claims: body.claims,
            provider_adjustments: body.provider_adjustments,
            status: self.status,
            exchange_id: opt_id(self.exchange_id)?,
            file_name: self.file_name,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// Store a remittance as received. The same trace number from the same payer is a duplicate.
pub fn create(
    conn: &mut DbConnection,
    org: OrgId,
    input: &RemittanceInput,
) -> CoreResult<Remittance> {
    create_from_file(conn, org, input, None, None)
}

/// Store a remittance read from a file: the file's exchange and name are kept with it, so
/// whichever call posts it links the file to the claims it touched.
pub fn create_from_file(
    conn: &mut DbConnection,
    org: OrgId,
    input: &RemittanceInput,
    exchange_id: Option<Uuid>,
    file_name: Option<&str>,
) -> CoreResult<Remittance> {
    // The rules and the reference, all in one answer.
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    let payer: i64 = payers::table
        .filter(payers::org_id.eq(org.as_str()))
        .filter(payers::id.eq(input.payer_id.to_string()))
        .count()
        .get_result(conn)?;
    e.check(payer > 0, "/payer_id", "no such payer");
    e.finish()?;
    let id = new_id();
    let t = now();
    let body = RemittanceBody {
        claims: input.claims.clone(),
        provider_adjustments: input.provider_adjustments.clone(),
    };
    diesel::insert_into(remittances::table)
        .values((
            remittances::id.eq(id.to_string()),
            remittances::org_id.eq(org.as_str()),
            remittances::payer_id.eq(input.payer_id.to_string()),
            remittances::trace_number.eq(input.trace_number.trim()),
            remittances::payment_date.eq(input.payment_date),
            remittances::payment_method.eq(input.payment_method.as_str()),
            remittances::total_paid.eq(DbDecimal(input.total_paid.0.as_decimal())),
            remittances::body.eq(to_json(&body)),
            remittances::status.eq("received"),
            remittances::version.eq(1),
            remittances::created_at.eq(t),
            remittances::updated_at.eq(t),
            remittances::exchange_id.eq(exchange_id.map(|e| e.to_string())),
            remittances::file_name.eq(file_name),
        ))
        .execute(conn)
        .map_err(|e| {
            CoreError::from(e)
                .conflict_means("a remittance with this trace number from this payer exists")
        })?;
    let stored = get(conn, org, id)?;
    // Whether entered by hand or read from an 835, a stored remittance is told once.
    super::events::emit(
        conn,
        org,
        &EventData::RemittanceReceived(RemittanceReceived {
            remittance_id: stored.id,
            payer_id: stored.payer_id,
            exchange_id,
            payment_date: stored.payment_date,
            total_paid: stored.total_paid.0.as_decimal(),
            claim_count: stored.claims.len(),
        }),
    )?;
    Ok(stored)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Remittance> {
    org_row!(conn, remittances, RemittanceRow, org, id, "remittance")?.into_model()
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &RemittanceFilter,
    page: &ListParams,
) -> CoreResult<Page<Remittance>> {
    let limit = page.limit()?;
    let mut q = remittances::table
        .filter(remittances::org_id.eq(org.as_str()))
        .filter(remittances::id.gt(page.after()?))
        .into_boxed();
    if let Some(p) = filter.payer_id {
        q = q.filter(remittances::payer_id.eq(p.to_string()));
    }
    if let Some(t) = &filter.trace_number {
        q = q.filter(remittances::trace_number.eq(t.clone()));
    }
    let rows: Vec<RemittanceRow> = q
        .order(remittances::id.asc())
        .limit(limit + 1)
        .select(RemittanceRow::as_select())
        .load(conn)?;
    page_of(rows, limit, RemittanceRow::into_model)
}

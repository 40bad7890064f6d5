//! The work queue of remittances whose payer is not known: an 835 whose payer ids (TRN03,
//! N1*PR, 1000A REF) name no payer of the organization, or name two. The remittance is kept
//! as it would have been stored (amounts, codes, control numbers; never names or member ids)
//! with the ids found, until a payer is linked and it is stored, and posted when its import
//! asked for that.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::pagination::finish_page;
use super::schema::unidentified_remittances as q;
use super::sql_types::DbDecimal;
use super::{DbConnection, ListParams, from_json, new_id, opt_id, parse_id, to_json};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::payer::FoundPayerId;
use crate::model::remittance::RemittanceInput;

/// One remittance waiting for its payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0b01",
    "exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09", "file_name": "era-20261120.835",
    "index": 0, "payer_name": "ACME HEALTH PLAN",
    "identifiers": [{"qualifier": "ein", "value": "512345678", "source": "TRN03"}],
    "reason": "unknown_payer", "trace_number": "EFT0001", "payment_date": "2026-11-20",
    "total_paid": "96.00", "claims": 1, "post": true, "state": "open", "payer_id": null,
    "remittance_id": null, "resolved_at": null, "version": 1,
    "created_at": "2026-11-20T12:00:00Z"}))]
pub struct UnidentifiedRemittance {
    pub id: Uuid,
    /// The recorded 835 file it came in.
    pub exchange_id: Option<Uuid>,
    pub file_name: Option<String>,
    /// Position of the remittance (ST/SE, or TRN) in the file.
    pub index: usize,
    /// N1*PR N102 as the payer wrote it.
    pub payer_name: String,
    /// Every id the remittance gave its payer by.
    pub identifiers: Vec<FoundPayerId>,
    /// `unknown_payer` (no id names a payer) or `ambiguous_payer` (the ids name several).
    pub reason: String,
    /// TRN02.
    pub trace_number: String,
    pub payment_date: NaiveDate,
    /// BPR02.
    #[schema(value_type = String, example = "96.00")]
    pub total_paid: rust_decimal::Decimal,
    /// Number of claim payments (CLP) in it.
    pub claims: usize,
    /// Whether it is posted once stored (its import asked for posting).
    pub post: bool,
    /// `open`, or `resolved` once a payer is linked.
    pub state: String,
    /// The payer it was linked to.
    pub payer_id: Option<Uuid>,
    /// The remittance stored when it was resolved.
    pub remittance_id: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A remittance to queue: its body is the remittance as stored, without a payer.
#[derive(Debug, Clone)]
pub struct UnidentifiedInput {
    pub exchange_id: Option<Uuid>,
    pub file_name: Option<String>,
    pub index: usize,
    pub payer_name: String,
    pub identifiers: Vec<FoundPayerId>,
    pub reason: &'static str,
    pub trace_number: String,
    pub payment_date: NaiveDate,
    pub total_paid: rust_decimal::Decimal,
    /// The remittance input as JSON, with no `payer_id`.
    pub body: Value,
    pub post: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = q)]
struct Row {
    id: String,
    exchange_id: Option<String>,
    file_name: Option<String>,
    remittance_index: i32,
    payer_name: String,
    identifiers: String,
    reason: String,
    trace_number: String,
    payment_date: NaiveDate,
    total_paid: DbDecimal,
    body: String,
    post: bool,
    state: String,
    payer_id: Option<String>,
    remittance_id: Option<String>,
    resolved_at: Option<chrono::NaiveDateTime>,
    version: i32,
    created_at: chrono::NaiveDateTime,
}

impl Row {
    fn into_model(self) -> CoreResult<(UnidentifiedRemittance, Value)> {
        let body: Value = from_json(&self.body, "unidentified remittance")?;
        let claims = body
            .get("claims")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Ok((
            UnidentifiedRemittance {
                id: parse_id(&self.id)?,
                exchange_id: opt_id(self.exchange_id)?,
                file_name: self.file_name,
                index: usize::try_from(self.remittance_index).unwrap_or(0),
                payer_name: self.payer_name,
                identifiers: from_json(&self.identifiers, "payer identifiers")?,
                reason: self.reason,
                trace_number: self.trace_number,
                payment_date: self.payment_date,
                total_paid: self.total_paid.0,
                claims,
                post: self.post,
                state: self.state,
                payer_id: opt_id(self.payer_id)?,
                remittance_id: opt_id(self.remittance_id)?,
                resolved_at: self.resolved_at.map(utc),
                version: self.version,
                created_at: utc(self.created_at),
            },
            body,
        ))
    }
}

/// The remittance input of a queued body, for `payer`; the body is checked as a remittance
/// when it is queued, so an error here is the store's, not the caller's.
pub fn input_for(body: &Value, payer: Uuid) -> CoreResult<RemittanceInput> {
    let mut body = body.clone();
    let obj = body
        .as_object_mut()
        .ok_or_else(|| CoreError::Internal("a queued remittance is not an object".into()))?;
    obj.insert("payer_id".into(), Value::String(payer.to_string()));
    serde_json::from_value(body)
        .map_err(|_| CoreError::Internal("a queued remittance does not read back".into()))
}

/// Queues a remittance. Its body must read as a remittance (checked here).
pub fn enqueue(
    conn: &mut DbConnection,
    org: OrgId,
    input: &UnidentifiedInput,
) -> CoreResult<UnidentifiedRemittance> {
    input_for(&input.body, Uuid::nil())
        .map_err(|_| CoreError::invalid("", "the remittance cannot be stored"))?
        .validate()?;
    let id = new_id();
    let t = now();
    diesel::insert_into(q::table)
        .values((
            q::id.eq(id.to_string()),
            q::org_id.eq(org.as_str()),
            q::exchange_id.eq(input.exchange_id.map(|e| e.to_string())),
            q::file_name.eq(input.file_name.as_deref()),
            q::remittance_index.eq(i32::try_from(input.index).unwrap_or(i32::MAX)),
            q::payer_name.eq(&input.payer_name),
            q::identifiers.eq(to_json(&input.identifiers)),
            q::reason.eq(input.reason),
            q::trace_number.eq(input.trace_number.trim()),
            q::payment_date.eq(input.payment_date),
            q::total_paid.eq(DbDecimal(input.total_paid)),
            q::body.eq(to_json(&input.body)),
            q::post.eq(input.post),
            q::state.eq("open"),
            q::version.eq(1),
            q::created_at.eq(t),
        ))
        .execute(conn)?;
    Ok(get(conn, org, id)?.0)
}

/// One queued remittance and its body.
pub fn get(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
) -> CoreResult<(UnidentifiedRemittance, Value)> {
    q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::id.eq(id.to_string()))
        .select(Row::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "unidentified remittance",
        })?
        .into_model()
}

/// The open items, oldest first.
pub fn open(
    conn: &mut DbConnection,
    org: OrgId,
    page: &ListParams,
) -> CoreResult<Page<UnidentifiedRemittance>> {
    let limit = page.limit()?;
    let rows: Vec<Row> = q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::state.eq("open"))
        .filter(q::id.gt(page.after()?))
        .order(q::id.asc())
        .limit(limit + 1)
        .select(Row::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| r.into_model().map(|(m, _)| m))
        .collect::<CoreResult<Vec<_>>>()?;
    let (items, next_cursor) = finish_page(items, limit, |x| x.id);
    Ok(Page { items, next_cursor })
}

/// Every open item, with its body (to find those a payer's ids now name).
pub fn all_open(
    conn: &mut DbConnection,
    org: OrgId,
) -> CoreResult<Vec<(UnidentifiedRemittance, Value)>> {
    q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::state.eq("open"))
        .order(q::id.asc())
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(Row::into_model)
        .collect()
}

/// Marks an open item resolved; a conflict when it is no longer open (resolved meanwhile).
pub fn resolve(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    payer: Uuid,
    remittance: Uuid,
    actor: &str,
) -> CoreResult<UnidentifiedRemittance> {
    let n = diesel::update(
        q::table
            .filter(q::org_id.eq(org.as_str()))
            .filter(q::id.eq(id.to_string()))
            .filter(q::state.eq("open")),
    )
    .set((
        q::state.eq("resolved"),
        q::payer_id.eq(Some(payer.to_string())),
        q::remittance_id.eq(Some(remittance.to_string())),
        q::resolved_by.eq(Some(actor)),
        q::resolved_at.eq(Some(now())),
        q::version.eq(q::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(CoreError::Conflict(
            "the remittance was already resolved".into(),
        ));
    }
    Ok(get(conn, org, id)?.0)
}

/// The item queued earlier for the same remittance (same trace number, same payer ids),
/// whatever its state: a file sent again is not queued twice.
pub fn find(
    conn: &mut DbConnection,
    org: OrgId,
    trace_number: &str,
    identifiers: &[FoundPayerId],
) -> CoreResult<Option<UnidentifiedRemittance>> {
    let ids = to_json(&identifiers);
    let row: Option<Row> = q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::trace_number.eq(trace_number))
        .filter(q::identifiers.eq(ids))
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| r.into_model().map(|(m, _)| m)).transpose()
}

/// How many items of one file still wait for their payer.
pub fn open_of_exchange(conn: &mut DbConnection, org: OrgId, exchange: Uuid) -> CoreResult<i64> {
    Ok(q::table
        .filter(q::org_id.eq(org.as_str()))
        .filter(q::exchange_id.eq(exchange.to_string()))
        .filter(q::state.eq("open"))
        .count()
        .get_result(conn)?)
}

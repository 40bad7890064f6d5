//! The work queue of remittances whose payer is not known: an 835 whose payer ids (TRN03,
//! N1*PR, 1000A REF) name no payer of the organization, or name two. The remittance is kept
//! as it would have been stored (amounts, codes, control numbers; never names or member ids)
//! with the ids found, until a payer is linked and it is stored, and posted when its import
//! asked for that.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
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
use crate::model::remittance::{
    ClaimPayment, PaymentMethod, ProviderAdjustment, RemittanceInput, SignedMoney,
};

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

/// A queued remittance as its `body` column keeps it: the remittance input without a payer.
/// The members and their JSON are those of [`RemittanceInput`], so a body is read the same
/// way whether this type wrote it or the importer wrote it before this type existed (the
/// canonical remittance re-keyed into those members, amounts as the file gave them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuedRemittance {
    pub trace_number: String,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub payment_date: NaiveDate,
    pub payment_method: PaymentMethod,
    pub total_paid: SignedMoney,
    pub claims: Vec<ClaimPayment>,
    #[serde(default)]
    pub provider_adjustments: Vec<ProviderAdjustment>,
}

impl QueuedRemittance {
    /// The remittance without its payer (`payer_id` is not kept).
    pub fn of(input: &RemittanceInput) -> QueuedRemittance {
        QueuedRemittance {
            trace_number: input.trace_number.clone(),
            payment_date: input.payment_date,
            payment_method: input.payment_method,
            total_paid: input.total_paid,
            claims: input.claims.clone(),
            provider_adjustments: input.provider_adjustments.clone(),
        }
    }

    /// The remittance input for `payer`.
    pub fn for_payer(self, payer: Uuid) -> RemittanceInput {
        RemittanceInput {
            payer_id: payer,
            trace_number: self.trace_number,
            payment_date: self.payment_date,
            payment_method: self.payment_method,
            total_paid: self.total_paid,
            claims: self.claims,
            provider_adjustments: self.provider_adjustments,
        }
    }
}

/// A remittance to queue.
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
    /// The remittance as it will be stored (its `payer_id` is not kept).
    pub remittance: RemittanceInput,
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
    fn into_model(self) -> CoreResult<(UnidentifiedRemittance, QueuedRemittance)> {
        let body: QueuedRemittance = from_json(&self.body, "unidentified remittance")?;
        let claims = body.claims.len();
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

/// Queues a remittance. It must be valid as a remittance (checked here).
pub fn enqueue(
    conn: &mut DbConnection,
    org: OrgId,
    input: &UnidentifiedInput,
) -> CoreResult<UnidentifiedRemittance> {
    input.remittance.validate()?;
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
            q::body.eq(to_json(&QueuedRemittance::of(&input.remittance))),
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
) -> CoreResult<(UnidentifiedRemittance, QueuedRemittance)> {
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
    Ok(finish_page(items, limit, |x| x.id))
}

/// Every open item, with its body (to find those a payer's ids now name).
pub fn all_open(
    conn: &mut DbConnection,
    org: OrgId,
) -> CoreResult<Vec<(UnidentifiedRemittance, QueuedRemittance)>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A body as the importer wrote it before the queue stored [`QueuedRemittance`]: the
    /// canonical remittance re-keyed member by member, amounts as the 835 gave them, absent
    /// values as nulls.
    const EARLIER_BODY: &str = r#"{"trace_number": "EFT0001", "payment_date": "2026-11-20",
        "payment_method": "ACH", "total_paid": "96",
        "claims": [{"patient_control_number": "C01JD4Q8W3M5XK2P9RTA", "status_code": "1",
            "total_charge": "200", "paid": "96.00", "patient_responsibility": "24",
            "payer_claim_number": null,
            "adjustments": [{"group": "CO", "reason": "45", "amount": "80", "quantity": null}],
            "lines": [{"line_control_number": null, "procedure_code": "99214",
                "modifiers": ["25"], "charge": "200.00", "paid": "96", "units": "1",
                "service_date": null,
                "adjustments": [{"group": "PR", "reason": "2", "amount": "24.00",
                    "quantity": null}],
                "remarks": ["N130"]}]}],
        "provider_adjustments": [{"reason": "L6", "reference": null, "amount": "-1.50"}]}"#;

    #[test]
    fn earlier_bodies_read_and_new_ones_read_back_the_same() {
        let earlier: QueuedRemittance = from_json(EARLIER_BODY, "body").unwrap();
        assert_eq!(earlier.total_paid.0.to_string(), "96.00");
        assert_eq!(earlier.claims[0].lines[0].remarks, ["N130"]);
        assert_eq!(
            earlier.provider_adjustments[0].amount.0.to_string(),
            "-1.50"
        );
        let payer = Uuid::now_v7();
        let input = earlier.clone().for_payer(payer);
        assert_eq!(input.payer_id, payer);
        input.validate().unwrap();
        // What the queue writes now reads back as what it was given.
        let written = to_json(&QueuedRemittance::of(&input));
        assert!(!written.contains("payer_id"), "{written}");
        let back: QueuedRemittance = from_json(&written, "body").unwrap();
        assert_eq!(back, earlier);
        assert_eq!(back.for_payer(payer), input);
    }
}

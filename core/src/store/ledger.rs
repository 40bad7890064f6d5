//! The ledger table: entries are appended and read, never updated or deleted (the database
//! refuses both with triggers). Balances are folds over what is read here
//! (`billing::ledger::Balances::fold`); each claim's running balance (`claim_balances`, what
//! the receivables reports read) is added to as its entries are appended.

use chrono::{DateTime, Utc};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;
use diesel::upsert::excluded;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::schema::claim_balances as cb;
use super::schema::ledger_entries;
use super::sql_types::DbDecimal;
use super::{DbConnection, from_db, from_json, new_id, opt_id, parse_id, to_db, to_json};
use crate::access::OrgId;
use crate::billing::ledger::{LedgerEntry, NewLedgerEntry};
use crate::error::CoreResult;
use crate::model::common::utc;

/// An amount with exactly two decimal places (`0.00`, never `-0.00`), as money is shown.
pub fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
struct EntryRow {
    id: String,
    kind: String,
    side: String,
    claim_id: Option<String>,
    claim_line_id: Option<String>,
    patient_id: Option<String>,
    payer_id: Option<String>,
    amount: DbDecimal,
    adjustment_group: Option<String>,
    carc: Option<String>,
    remarks: String,
    provider_adjustment_reason: Option<String>,
    reference: Option<String>,
    remittance_id: Option<String>,
    trace_number: Option<String>,
    reverses: Option<String>,
    posted_at: chrono::NaiveDateTime,
}

impl EntryRow {
    fn into_model(self) -> CoreResult<LedgerEntry> {
        let entry = NewLedgerEntry {
            kind: from_db(&self.kind, "ledger entry kind")?,
            side: from_db(&self.side, "ledger side")?,
            claim_id: opt_id(self.claim_id)?,
            claim_line_id: opt_id(self.claim_line_id)?,
            patient_id: opt_id(self.patient_id)?,
            payer_id: opt_id(self.payer_id)?,
            amount: cents(self.amount.0),
            group: self
                .adjustment_group
                .as_deref()
                .map(|g| from_db(g, "adjustment group"))
                .transpose()?,
            carc: self.carc,
            remarks: from_json(&self.remarks, "remarks")?,
            provider_adjustment_reason: self.provider_adjustment_reason,
            reference: self.reference,
            remittance_id: opt_id(self.remittance_id)?,
            trace_number: self.trace_number,
            reverses: opt_id(self.reverses)?,
        };
        Ok(entry.post(parse_id(&self.id)?, utc(self.posted_at)))
    }
}

/// Append entries in the caller's transaction; they get ids in order (UUIDv7) and one time.
pub fn append(
    conn: &mut DbConnection,
    org: OrgId,
    entries: &[NewLedgerEntry],
    at: chrono::NaiveDateTime,
) -> CoreResult<Vec<LedgerEntry>> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let id = new_id();
        let s = |u: Option<Uuid>| u.map(|u| u.to_string());
        diesel::insert_into(ledger_entries::table)
            .values((
                (
                    ledger_entries::id.eq(id.to_string()),
                    ledger_entries::org_id.eq(org.as_str()),
                    ledger_entries::kind.eq(to_db(&e.kind)),
                    ledger_entries::side.eq(to_db(&e.side)),
                    ledger_entries::claim_id.eq(s(e.claim_id)),
                    ledger_entries::claim_line_id.eq(s(e.claim_line_id)),
                    ledger_entries::patient_id.eq(s(e.patient_id)),
                    ledger_entries::payer_id.eq(s(e.payer_id)),
                    ledger_entries::amount.eq(DbDecimal(cents(e.amount))),
                ),
                (
                    ledger_entries::adjustment_group.eq(e.group.as_ref().map(to_db)),
                    ledger_entries::carc.eq(e.carc.clone()),
                    ledger_entries::remarks.eq(to_json(&e.remarks)),
                    ledger_entries::provider_adjustment_reason
                        .eq(e.provider_adjustment_reason.clone()),
                    ledger_entries::reference.eq(e.reference.clone()),
                    ledger_entries::remittance_id.eq(s(e.remittance_id)),
                    ledger_entries::trace_number.eq(e.trace_number.clone()),
                    ledger_entries::reverses.eq(s(e.reverses)),
                    ledger_entries::posted_at.eq(at),
                ),
            ))
            .execute(conn)?;
        let mut stored = e.clone();
        stored.amount = cents(e.amount);
        out.push(stored.post(id, utc(at)));
    }
    add_to_balances(conn, org, entries, at)?;
    Ok(out)
}

/// What entries move on one claim's running balance, in cents.
#[derive(Default)]
struct Movement {
    insurance: i64,
    patient: i64,
}

/// Adds the entries to their claims' running balances (`claim_balances`), in the caller's
/// transaction, one row per claim: what the A/R reports read instead of summing every entry.
/// An upsert that adds is safe under concurrent appends to one claim (PostgreSQL locks the row
/// it updates and adds to its latest version; SQLite has one writer).
fn add_to_balances(
    conn: &mut DbConnection,
    org: OrgId,
    entries: &[NewLedgerEntry],
    at: chrono::NaiveDateTime,
) -> CoreResult<()> {
    let mut moved: std::collections::BTreeMap<Uuid, Movement> = Default::default();
    for e in entries {
        let Some(claim) = e.claim_id else { continue };
        let (insurance, patient, _) = e.effect();
        let m = moved.entry(claim).or_default();
        m.insurance += in_cents(insurance)?;
        m.patient += in_cents(patient)?;
    }
    for (claim, m) in moved {
        let claim = claim.to_string();
        let insert = diesel::insert_into(cb::table).values((
            cb::claim_id.eq(&claim),
            cb::org_id.eq(org.as_str()),
            cb::insurance_cents.eq(m.insurance),
            cb::patient_cents.eq(m.patient),
            cb::last_posted_at.eq(at),
        ));
        // The latest posting time only moves forward: a transaction that took its time earlier
        // may commit after one that took a later time.
        let later = case_when::<_, _, Timestamp>(
            excluded(cb::last_posted_at).gt(cb::last_posted_at),
            excluded(cb::last_posted_at),
        )
        .otherwise(cb::last_posted_at);
        let add = (
            cb::insurance_cents.eq(cb::insurance_cents + excluded(cb::insurance_cents)),
            cb::patient_cents.eq(cb::patient_cents + excluded(cb::patient_cents)),
            cb::last_posted_at.eq(later),
        );
        match conn {
            DbConnection::Postgresql(c) => insert
                .on_conflict(cb::claim_id)
                .do_update()
                .set(add)
                .execute(c)?,
            DbConnection::Sqlite(c) => insert
                .on_conflict(cb::claim_id)
                .do_update()
                .set(add)
                .execute(c)?,
        };
    }
    Ok(())
}

/// An amount as whole cents, as stored (two places).
fn in_cents(amount: Decimal) -> CoreResult<i64> {
    let c = cents(amount);
    i64::try_from(c.mantissa())
        .map_err(|_| crate::error::CoreError::Internal("ledger amount out of range".into()))
}

fn load(
    conn: &mut DbConnection,
    q: ledger_entries::BoxedQuery<'_, super::connection::MultiBackend>,
) -> CoreResult<Vec<LedgerEntry>> {
    q.order(ledger_entries::id.asc())
        .select(EntryRow::as_select())
        .load::<EntryRow>(conn)?
        .into_iter()
        .map(EntryRow::into_model)
        .collect()
}

/// A claim's entries, oldest first.
pub fn for_claim(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<Vec<LedgerEntry>> {
    let q = ledger_entries::table
        .filter(ledger_entries::org_id.eq(org.as_str()))
        .filter(ledger_entries::claim_id.eq(claim_id.to_string()))
        .into_boxed();
    load(conn, q)
}

/// The entries of several claims, oldest first.
pub fn for_claims(
    conn: &mut DbConnection,
    org: OrgId,
    claim_ids: &[Uuid],
) -> CoreResult<Vec<LedgerEntry>> {
    let ids: Vec<String> = claim_ids.iter().map(Uuid::to_string).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(super::IN_LIST_CHUNK) {
        let q = ledger_entries::table
            .filter(ledger_entries::org_id.eq(org.as_str()))
            .filter(ledger_entries::claim_id.eq_any(chunk.to_vec()))
            .into_boxed();
        out.extend(load(conn, q)?);
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

/// Every entry that names the patient (their claims and their account), oldest first.
pub fn for_patient(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<Vec<LedgerEntry>> {
    let q = ledger_entries::table
        .filter(ledger_entries::org_id.eq(org.as_str()))
        .filter(ledger_entries::patient_id.eq(patient_id.to_string()))
        .into_boxed();
    load(conn, q)
}

/// Every entry of the organization posted up to `until` (inclusive), oldest first: the
/// reports' input.
pub fn all_until(
    conn: &mut DbConnection,
    org: OrgId,
    until: Option<DateTime<Utc>>,
) -> CoreResult<Vec<LedgerEntry>> {
    let mut q = ledger_entries::table
        .filter(ledger_entries::org_id.eq(org.as_str()))
        .into_boxed();
    if let Some(t) = until {
        q = q.filter(ledger_entries::posted_at.le(t.naive_utc()));
    }
    load(conn, q)
}

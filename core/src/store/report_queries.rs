//! The receivables reports' aggregations, done by the database (GROUP BY on both engines)
//! instead of loading every ledger entry and transition: the A/R aging's open claims and the
//! KPIs' counts and sums. Money is summed in whole cents (each amount has two places), never
//! as floats.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};
use rust_decimal::Decimal;

use super::DbConnection;
use crate::access::OrgId;
use crate::billing::aging::OpenClaim;
use crate::billing::ledger::Split;
use crate::error::CoreResult;

/// A ledger amount (alias `l`) as whole cents.
const CENTS: &str = "CAST(ROUND(l.amount * 100) AS BIGINT)";

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// Runs `sql` (PostgreSQL placeholders `$n`; SQLite takes them as `?n`) with binds $1 the org,
/// $2 and $3 two times.
fn load<R>(
    conn: &mut DbConnection,
    sql: &str,
    org: OrgId,
    a: NaiveDateTime,
    b: NaiveDateTime,
) -> CoreResult<Vec<R>>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let org = org.as_str();
    Ok(match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(sql)
            .bind::<Text, _>(&org)
            .bind::<Timestamp, _>(a)
            .bind::<Timestamp, _>(b)
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(&org)
            .bind::<Timestamp, _>(a)
            .bind::<Timestamp, _>(b)
            .load(c)?,
    })
}

#[derive(QueryableByName)]
struct OpenRow {
    #[diesel(sql_type = Text)]
    claim_id: String,
    #[diesel(sql_type = Text)]
    patient_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    payer_id: Option<String>,
    #[diesel(sql_type = Date)]
    service_date_from: NaiveDate,
    #[diesel(sql_type = Nullable<Timestamp>)]
    submitted_at: Option<NaiveDateTime>,
    #[diesel(sql_type = BigInt)]
    insurance: i64,
    #[diesel(sql_type = BigInt)]
    patient: i64,
}

/// The claims with an insurance or patient balance above zero from the entries posted until
/// `until`, with their first submission until then: what the aging ages.
pub fn open_claims(
    conn: &mut DbConnection,
    org: OrgId,
    until: NaiveDateTime,
) -> CoreResult<Vec<OpenClaim>> {
    // A transfer moves its amount from the insurance part to the patient part. The first
    // submission is looked up per open claim (index claim_transitions_claim) rather than
    // joined as an aggregate of every claim's transitions: a planner that misjudges the row
    // counts (statistics not yet gathered after a bulk load) would rescan that aggregate once
    // per open claim, which took PostgreSQL 10 s at 5,000 claims.
    let sql = format!(
        "SELECT c.id AS claim_id, c.patient_id AS patient_id, c.payer_id AS payer_id, \
           c.service_date_from AS service_date_from, \
           (SELECT MIN(t.at) FROM claim_transitions t WHERE t.org_id = $1 \
             AND t.claim_id = c.id AND t.to_status = 'submitted' AND t.at <= $3) AS submitted_at, \
           b.insurance AS insurance, b.patient AS patient \
         FROM (SELECT l.claim_id AS claim_id, \
             CAST(SUM(CASE l.side WHEN 'insurance' THEN {CENTS} \
               WHEN 'insurance_to_patient' THEN -{CENTS} ELSE 0 END) AS BIGINT) AS insurance, \
             CAST(SUM(CASE l.side WHEN 'patient' THEN {CENTS} \
               WHEN 'insurance_to_patient' THEN {CENTS} ELSE 0 END) AS BIGINT) AS patient \
           FROM ledger_entries l \
           WHERE l.org_id = $1 AND l.claim_id IS NOT NULL AND l.posted_at <= $2 \
           GROUP BY l.claim_id) b \
         JOIN claims c ON c.org_id = $1 AND c.id = b.claim_id \
         WHERE b.insurance > 0 OR b.patient > 0"
    );
    load::<OpenRow>(conn, &sql, org, until, until)?
        .into_iter()
        .map(|r| {
            Ok(OpenClaim {
                claim_id: super::parse_id(&r.claim_id)?,
                patient_id: super::parse_id(&r.patient_id)?,
                payer_id: super::opt_id(r.payer_id)?,
                service_date: r.service_date_from,
                submitted_on: r.submitted_at.map(|t| t.date()),
                balance: Split {
                    insurance: money(r.insurance),
                    patient: money(r.patient),
                },
            })
        })
        .collect()
}

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
}

/// Of the claims first submitted in `start..=end`: how many, and how many were never rejected
/// nor denied until `end`.
pub fn clean_claims(
    conn: &mut DbConnection,
    org: OrgId,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> CoreResult<(i64, i64)> {
    let sql = "SELECT COUNT(*) AS a, \
          CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM claim_transitions x \
            WHERE x.org_id = $1 AND x.claim_id = f.claim_id \
            AND x.to_status IN ('rejected', 'denied') AND x.at <= $3) THEN 0 ELSE 1 END), 0) AS BIGINT) AS b \
        FROM (SELECT t.claim_id AS claim_id, MIN(t.at) AS first_at FROM claim_transitions t \
          WHERE t.org_id = $1 AND t.to_status = 'submitted' GROUP BY t.claim_id) f \
        WHERE f.first_at >= $2 AND f.first_at <= $3";
    let r = load::<Counts>(conn, sql, org, start, end)?;
    Ok(r.first().map_or((0, 0), |c| (c.a, c.b)))
}

/// Of the claims adjudicated in `start..=end` (moved to paid, partially_paid or denied): how
/// many, and how many were denied in the period.
pub fn adjudicated_claims(
    conn: &mut DbConnection,
    org: OrgId,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> CoreResult<(i64, i64)> {
    let sql = "SELECT COUNT(DISTINCT t.claim_id) AS a, \
          COUNT(DISTINCT CASE WHEN t.to_status = 'denied' THEN t.claim_id END) AS b \
        FROM claim_transitions t \
        WHERE t.org_id = $1 AND t.at >= $2 AND t.at <= $3 \
        AND t.to_status IN ('paid', 'partially_paid', 'denied')";
    let r = load::<Counts>(conn, sql, org, start, end)?;
    Ok(r.first().map_or((0, 0), |c| (c.a, c.b)))
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    a: i64,
}

/// The A/R at `end`: the positive claim balances, insurance and patient parts together, of
/// the entries posted until then.
pub fn receivables(conn: &mut DbConnection, org: OrgId, end: NaiveDateTime) -> CoreResult<Decimal> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN b.total > 0 THEN b.total ELSE 0 END), 0) AS BIGINT) AS a \
         FROM (SELECT CAST(SUM({CENTS}) AS BIGINT) AS total FROM ledger_entries l \
           WHERE l.org_id = $1 AND l.claim_id IS NOT NULL AND l.posted_at <= $3 \
           AND l.side IN ('insurance', 'patient') GROUP BY l.claim_id) b"
    );
    let r = load::<Total>(conn, &sql, org, end, end)?;
    Ok(r.first().map_or(Decimal::ZERO, |s| money(s.a)))
}

/// What the KPIs sum from a period's ledger entries, each reversal counting as the kind it
/// reverses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collections {
    /// Payments posted in the period (insurance and patient, net of refunds and reversals;
    /// positive).
    pub payments: Decimal,
    /// Charges posted in the period.
    pub charges: Decimal,
    /// Contractual adjustments posted in the period (positive).
    pub contractual: Decimal,
    /// Charges posted after the window's start until the period's end.
    pub window_charges: Decimal,
}

#[derive(QueryableByName)]
struct CollectionRow {
    #[diesel(sql_type = BigInt)]
    payments: i64,
    #[diesel(sql_type = BigInt)]
    charges: i64,
    #[diesel(sql_type = BigInt)]
    contractual: i64,
    #[diesel(sql_type = BigInt)]
    window_charges: i64,
}

/// The period `start..=end`'s payments, charges and contractual adjustments, and the charges
/// posted after `window_start` until `end`, in one pass over the entries posted in either.
/// The reversed entry is looked up only for reversals.
pub fn collections(
    conn: &mut DbConnection,
    org: OrgId,
    start: NaiveDateTime,
    end: NaiveDateTime,
    window_start: NaiveDateTime,
) -> CoreResult<Collections> {
    let sql = format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN x.posted_at >= $2 \
             AND x.k IN ('insurance_payment', 'patient_payment', 'refund') \
             THEN -x.cents ELSE 0 END), 0) AS BIGINT) AS payments, \
           CAST(COALESCE(SUM(CASE WHEN x.posted_at >= $2 AND x.k = 'charge' \
             THEN x.cents ELSE 0 END), 0) AS BIGINT) AS charges, \
           CAST(COALESCE(SUM(CASE WHEN x.posted_at >= $2 AND x.k = 'contractual_adjustment' \
             THEN -x.cents ELSE 0 END), 0) AS BIGINT) AS contractual, \
           CAST(COALESCE(SUM(CASE WHEN x.posted_at > $4 AND x.k = 'charge' \
             THEN x.cents ELSE 0 END), 0) AS BIGINT) AS window_charges \
         FROM (SELECT l.posted_at AS posted_at, {CENTS} AS cents, \
             CASE WHEN l.kind = 'reversal' THEN COALESCE((SELECT o.kind FROM ledger_entries o \
               WHERE o.org_id = l.org_id AND o.id = l.reverses), l.kind) ELSE l.kind END AS k \
           FROM ledger_entries l \
           WHERE l.org_id = $1 AND l.posted_at >= $5 AND l.posted_at <= $3) x"
    );
    // One range for the index: from the earlier of the period's and the window's start.
    let lower = start.min(window_start);
    let org = org.as_str();
    let rows: Vec<CollectionRow> = match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(sql)
            .bind::<Text, _>(&org)
            .bind::<Timestamp, _>(start)
            .bind::<Timestamp, _>(end)
            .bind::<Timestamp, _>(window_start)
            .bind::<Timestamp, _>(lower)
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(&org)
            .bind::<Timestamp, _>(start)
            .bind::<Timestamp, _>(end)
            .bind::<Timestamp, _>(window_start)
            .bind::<Timestamp, _>(lower)
            .load(c)?,
    };
    let r = rows.first();
    Ok(Collections {
        payments: money(r.map_or(0, |r| r.payments)),
        charges: money(r.map_or(0, |r| r.charges)),
        contractual: money(r.map_or(0, |r| r.contractual)),
        window_charges: money(r.map_or(0, |r| r.window_charges)),
    })
}

#[derive(QueryableByName)]
struct DenialGroupRow {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    claims: i64,
    #[diesel(sql_type = BigInt)]
    denials: i64,
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// Denials the denials report counts, grouped by `key` (an expression over the denial `d`), or
/// the totals (one row, `key` None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialCount {
    pub key: String,
    /// Distinct claims.
    pub claims: i64,
    pub denials: i64,
    pub amount: Decimal,
}

/// What the denials report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKey {
    /// Adjustment group and CARC, `CO-29`.
    Carc,
    /// The remittance's payer id.
    Payer,
    /// The line's procedure code, `claim` for a claim-level denial.
    ProcedureCode,
}

/// The outright denials (not the partial ones of paid lines) of the remittances posted in
/// `start..=end`, by `key` (the largest amount first, then the key in byte order, at most
/// `limit`), or their totals when `key` is None.
pub fn posted_denials(
    conn: &mut DbConnection,
    org: OrgId,
    start: NaiveDateTime,
    end: NaiveDateTime,
    key: Option<DenialKey>,
    limit: i64,
) -> CoreResult<Vec<DenialCount>> {
    let measures = "COUNT(DISTINCT d.claim_id) AS claims, COUNT(*) AS denials, \
        CAST(COALESCE(SUM(d.amount_cents), 0) AS BIGINT) AS cents";
    // The posting's time is the period's clock: a denial belongs to the posting that found it.
    let from = "denials d JOIN remittance_postings rp ON rp.id = d.posting_id \
        WHERE d.org_id = $1 AND rp.org_id = $1 AND NOT d.partial \
        AND rp.posted_at >= $2 AND rp.posted_at <= $3";
    let expr = match key {
        None => "''",
        Some(DenialKey::Carc) => "d.group_code || '-' || d.carc",
        Some(DenialKey::Payer) => "d.payer_id",
        Some(DenialKey::ProcedureCode) => "COALESCE(d.procedure_code, 'claim')",
    };
    let sql = match key {
        None => format!("SELECT {expr} AS grp, {measures} FROM {from}"),
        // Keys compare as bytes on both engines (PostgreSQL's default collation would not).
        Some(_) => format!(
            "SELECT g.grp AS grp, g.claims AS claims, g.denials AS denials, g.cents AS cents \
             FROM (SELECT {expr} AS grp, {measures} FROM {from} GROUP BY {expr}) g \
             ORDER BY g.cents DESC, g.grp COLLATE_BYTES ASC LIMIT {limit}"
        ),
    };
    let sql = match conn {
        DbConnection::Postgresql(_) => sql.replace("COLLATE_BYTES", "COLLATE \"C\""),
        DbConnection::Sqlite(_) => sql.replace("COLLATE_BYTES", "COLLATE BINARY"),
    };
    Ok(load::<DenialGroupRow>(conn, &sql, org, start, end)?
        .into_iter()
        .map(|r| DenialCount {
            key: r.grp,
            claims: r.claims,
            denials: r.denials,
            amount: money(r.cents),
        })
        .collect())
}

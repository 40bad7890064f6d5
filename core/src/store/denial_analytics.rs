//! Denial analytics, aggregated in the database (GROUP BY on both engines) rather than folded
//! from loaded rows: the report stays fast at hundreds of thousands of claims.
//!
//! Definitions (the period is on the denial's creation date, `from` 00:00 to `to` 23:59:59 UTC;
//! the payer filter is the denial's payer, and the claim's payer for adjudicated claims):
//!
//! - **Denial rate** is per claim: claims with at least one denial (line or claim level) found
//!   in the period, over claims adjudicated in the period (moved to paid, partially_paid or
//!   denied, each claim once). By payer and by provider the denominator is that payer's or
//!   provider's adjudicated claims; by category and by CARC it is all adjudicated claims (the
//!   share of adjudicated claims denied for that reason).
//! - **Provider** is the claim's rendering provider, or its billing provider when the claim
//!   names no rendering provider.
//! - **Appeals** are those of the period's denials; the overturn rate is (overturned +
//!   partially overturned) over decided appeals (each level counts once).
//! - **Days to resolve**: for the period's closed denials (resolved or written off), calendar
//!   days (UTC) from the denial's creation to its last status move (a closed denial moves no
//!   more). Counted per day in the database; the average and the exact median come from those
//!   counts.
//! - **Recovered**: insurance payments (net of their reversals) posted after the claim's first
//!   denial of the period on the denied claim or on a claim made from the denial (corrected
//!   claim). Payments of the remittance that denied are earlier than the denial, so they do not
//!   count.
//! - **Written off**: write-off ledger entries booked against the period's denials.
//!
//! Money is summed as whole cents (integers), never floats: `amount_cents` on denials, and each
//! ledger amount rounded to cents before the sum.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::DbConnection;
use super::accounts::Rate;
use crate::access::OrgId;
use crate::error::CoreResult;

/// Groups returned per list when the caller gives no limit.
pub const DEFAULT_GROUP_LIMIT: i64 = 20;
/// The largest group limit.
pub const MAX_GROUP_LIMIT: i64 = 500;

/// The denial actions that move a denial's status (see `workflows::denials`): the last of them
/// on a closed denial is when it closed.
const STATUS_MOVES: &str = "'status_changed', 'appealed', 'appeal_decided', \
    'resolved_by_payment', 'written_off', 'corrected_claim_created', 'void_claim_created'";

/// What the report is asked for.
#[derive(Debug, Clone)]
pub struct AnalyticsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub payer_id: Option<Uuid>,
    /// Groups per list, largest first.
    pub limit: i64,
}

/// One group of denials with its denial rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DenialRateGroup {
    /// The payer id, category, `GROUP-CARC` (e.g. `CO-197`) or provider id.
    #[schema(example = "authorization")]
    pub key: String,
    /// Distinct claims with a denial in this group.
    #[schema(example = 3)]
    pub denied_claims: i64,
    /// Denials (line and claim level) in this group.
    #[schema(example = 4)]
    pub denials: i64,
    /// Their denied amount.
    #[schema(value_type = String, example = "600.00")]
    pub amount: Decimal,
    /// denied_claims over the adjudicated claims it is measured against.
    pub rate: Rate,
}

/// The period's appeals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AppealStats {
    /// Appeals sent (every level).
    #[schema(example = 2)]
    pub sent: i64,
    /// Appeals with an outcome.
    #[schema(example = 2)]
    pub decided: i64,
    #[schema(example = 1)]
    pub overturned: i64,
    #[schema(example = 0)]
    pub partially_overturned: i64,
    #[schema(example = 1)]
    pub upheld: i64,
    /// (overturned + partially_overturned) / decided.
    pub overturn_rate: Rate,
}

/// How long the period's closed denials took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResolutionStats {
    /// Denials closed (resolved or written off).
    #[schema(example = 2)]
    pub closed: i64,
    /// Average days from creation to closing, to two places; null when none closed.
    #[schema(value_type = Option<String>, example = "6.50")]
    pub average_days: Option<Decimal>,
    /// Median days (the mean of the two middle values for an even count); null when none
    /// closed.
    #[schema(value_type = Option<String>, example = "6.5")]
    pub median_days: Option<Decimal>,
}

/// The denial analytics report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DenialAnalytics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub payer_id: Option<Uuid>,
    /// Claims with a denial found in the period over claims adjudicated in the period.
    pub denial_rate: Rate,
    /// Denials found in the period.
    #[schema(example = 4)]
    pub denials: i64,
    #[schema(value_type = String, example = "600.00")]
    pub denied_amount: Decimal,
    /// By payer id, most denied claims first (then amount, then key).
    pub by_payer: Vec<DenialRateGroup>,
    /// By denial category.
    pub by_category: Vec<DenialRateGroup>,
    /// By adjustment group and CARC (`CO-197`).
    pub by_carc: Vec<DenialRateGroup>,
    /// By the claim's rendering provider id (its billing provider when none).
    pub by_provider: Vec<DenialRateGroup>,
    pub appeals: AppealStats,
    pub days_to_resolve: ResolutionStats,
    /// Insurance payments after a denial on the denied claim or its corrected claim.
    #[schema(value_type = String, example = "160.00")]
    pub recovered: Decimal,
    /// Written off against the period's denials.
    #[schema(value_type = String, example = "200.00")]
    pub written_off: Decimal,
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    claims: i64,
    #[diesel(sql_type = BigInt)]
    denials: i64,
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

#[derive(QueryableByName)]
struct AppealRow {
    #[diesel(sql_type = BigInt)]
    sent: i64,
    #[diesel(sql_type = BigInt)]
    decided: i64,
    #[diesel(sql_type = BigInt)]
    overturned: i64,
    #[diesel(sql_type = BigInt)]
    partially: i64,
    #[diesel(sql_type = BigInt)]
    upheld: i64,
}

#[derive(QueryableByName)]
struct DaysRow {
    #[diesel(sql_type = BigInt)]
    days: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct CentsRow {
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// The bound parameters every query shares: $1 org, $2 start, $3 end, $4 payer (or null).
struct Params {
    org: String,
    start: NaiveDateTime,
    end: NaiveDateTime,
    payer: Option<String>,
}

/// The period's denials (alias `d`), optionally of one payer.
const DENIALS_IN_PERIOD: &str = "d.org_id = $1 AND d.created_at >= $2 AND d.created_at <= $3 \
    AND ($4 IS NULL OR d.payer_id = $4)";

/// A ledger amount as whole cents (exact: each amount has two places).
const LEDGER_CENTS: &str = "CAST(ROUND(l.amount * 100) AS BIGINT)";

/// Runs `sql` (PostgreSQL placeholders `$n`; SQLite takes them as `?n`) with the shared binds.
fn load<R>(conn: &mut DbConnection, sql: &str, p: &Params) -> CoreResult<Vec<R>>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let rows = match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(sql)
            .bind::<Text, _>(&p.org)
            .bind::<Timestamp, _>(p.start)
            .bind::<Timestamp, _>(p.end)
            .bind::<Nullable<Text>, _>(p.payer.as_deref())
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(&p.org)
            .bind::<Timestamp, _>(p.start)
            .bind::<Timestamp, _>(p.end)
            .bind::<Nullable<Text>, _>(p.payer.as_deref())
            .load(c)?,
    };
    Ok(rows)
}

fn cents_to_money(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// Denials of the period grouped by `key` (an expression over `d` and the claim `c`), the
/// largest `limit` first.
/// `None` for the totals (one row).
fn denial_groups(
    conn: &mut DbConnection,
    p: &Params,
    key: Option<&str>,
    limit: i64,
) -> CoreResult<Vec<GroupRow>> {
    let measures = "COUNT(DISTINCT d.claim_id) AS claims, COUNT(*) AS denials, \
         CAST(COALESCE(SUM(d.amount_cents), 0) AS BIGINT) AS cents";
    // The claim is read only when the key needs it (the provider).
    let from = match key {
        Some(k) if k.contains("c.") => {
            "denials d JOIN claims c ON c.org_id = d.org_id AND c.id = d.claim_id"
        }
        _ => "denials d",
    };
    let sql = match key {
        Some(k) => format!(
            "SELECT {k} AS grp, {measures} FROM {from} WHERE {DENIALS_IN_PERIOD} \
             GROUP BY {k} ORDER BY claims DESC, cents DESC, grp ASC LIMIT {limit}"
        ),
        None => format!("SELECT '' AS grp, {measures} FROM {from} WHERE {DENIALS_IN_PERIOD}"),
    };
    load(conn, &sql, p)
}

#[derive(QueryableByName)]
struct AdjudicatedRow {
    #[diesel(sql_type = Text)]
    payer: String,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Claims adjudicated in the period (each once), by payer and by provider, and in all.
struct Adjudicated {
    total: i64,
    by_payer: BTreeMap<String, i64>,
    by_provider: BTreeMap<String, i64>,
}

/// Counts the period's adjudicated claims in one pass, grouped by (payer, provider): a claim
/// has one payer and one provider, so summing the pairs gives each payer's, each provider's
/// and the total count of distinct claims.
fn adjudicated(conn: &mut DbConnection, p: &Params) -> CoreResult<Adjudicated> {
    let sql = "SELECT COALESCE(c.payer_id, '') AS payer, \
           COALESCE(c.rendering_provider_id, c.billing_provider_id) AS provider, \
           COUNT(DISTINCT t.claim_id) AS n \
         FROM claim_transitions t JOIN claims c ON c.org_id = t.org_id AND c.id = t.claim_id \
         WHERE t.org_id = $1 AND t.at >= $2 AND t.at <= $3 \
         AND t.to_status IN ('paid', 'partially_paid', 'denied') \
         AND ($4 IS NULL OR c.payer_id = $4) \
         GROUP BY COALESCE(c.payer_id, ''), COALESCE(c.rendering_provider_id, c.billing_provider_id)";
    let mut out = Adjudicated {
        total: 0,
        by_payer: BTreeMap::new(),
        by_provider: BTreeMap::new(),
    };
    for r in load::<AdjudicatedRow>(conn, sql, p)? {
        out.total += r.n;
        *out.by_payer.entry(r.payer).or_default() += r.n;
        *out.by_provider.entry(r.provider).or_default() += r.n;
    }
    Ok(out)
}

fn rate(numerator: i64, denominator: i64) -> Rate {
    Rate::of(Decimal::from(numerator), Decimal::from(denominator))
}

fn with_rates(rows: Vec<GroupRow>, denominator: impl Fn(&str) -> i64) -> Vec<DenialRateGroup> {
    rows.into_iter()
        .map(|r| DenialRateGroup {
            rate: rate(r.claims, denominator(&r.grp)),
            key: r.grp,
            denied_claims: r.claims,
            denials: r.denials,
            amount: cents_to_money(r.cents),
        })
        .collect()
}

/// The average (to two places) and the median of a day histogram (days ascending).
fn average_and_median(hist: &[(i64, i64)]) -> (i64, Option<Decimal>, Option<Decimal>) {
    let n: i64 = hist.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return (0, None, None);
    }
    let total: i64 = hist.iter().map(|(d, c)| d * c).sum();
    let mut average = (Decimal::from(total) / Decimal::from(n)).round_dp(2);
    average.rescale(2);
    // The values at 0-based positions (n-1)/2 and n/2 of the sorted list.
    let at = |pos: i64| {
        let mut seen = 0;
        for (d, c) in hist {
            seen += c;
            if pos < seen {
                return *d;
            }
        }
        hist.last().map(|(d, _)| *d).unwrap_or_default()
    };
    let median = (Decimal::from(at((n - 1) / 2)) + Decimal::from(at(n / 2))) / Decimal::TWO;
    (n, Some(average), Some(median.normalize()))
}

/// The denial analytics of `q`'s period, each figure aggregated by the database.
pub fn denial_analytics(
    conn: &mut DbConnection,
    org: OrgId,
    q: &AnalyticsQuery,
) -> CoreResult<DenialAnalytics> {
    let p = Params {
        org: org.as_str().to_string(),
        start: q.from.and_hms_opt(0, 0, 0).unwrap_or_default(),
        end: q
            .to
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap_or_default(),
        payer: q.payer_id.map(|u| u.to_string()),
    };
    let provider = "COALESCE(c.rendering_provider_id, c.billing_provider_id)";

    // Totals: every denial of the period in one group.
    let total = denial_groups(conn, &p, None, 1)?.into_iter().next();
    let (denied_claims, denials, denied_cents) =
        total.map_or((0, 0, 0), |t| (t.claims, t.denials, t.cents));
    let Adjudicated {
        total: adjudicated_all,
        by_payer: by_payer_adj,
        by_provider: by_provider_adj,
    } = adjudicated(conn, &p)?;

    let by_payer = with_rates(denial_groups(conn, &p, Some("d.payer_id"), q.limit)?, |k| {
        by_payer_adj.get(k).copied().unwrap_or(0)
    });
    let by_category = with_rates(
        denial_groups(conn, &p, Some("d.category"), q.limit)?,
        |_| adjudicated_all,
    );
    let by_carc = with_rates(
        denial_groups(conn, &p, Some("d.group_code || '-' || d.carc"), q.limit)?,
        |_| adjudicated_all,
    );
    let by_provider = with_rates(denial_groups(conn, &p, Some(provider), q.limit)?, |k| {
        by_provider_adj.get(k).copied().unwrap_or(0)
    });

    let appeals = load::<AppealRow>(
        conn,
        &format!(
            "SELECT COUNT(*) AS sent, COUNT(a.outcome) AS decided, \
             CAST(COALESCE(SUM(CASE WHEN a.outcome = 'overturned' THEN 1 ELSE 0 END), 0) AS BIGINT) AS overturned, \
             CAST(COALESCE(SUM(CASE WHEN a.outcome = 'partially' THEN 1 ELSE 0 END), 0) AS BIGINT) AS partially, \
             CAST(COALESCE(SUM(CASE WHEN a.outcome = 'upheld' THEN 1 ELSE 0 END), 0) AS BIGINT) AS upheld \
             FROM denial_appeals a JOIN denials d ON d.org_id = a.org_id AND d.id = a.denial_id \
             WHERE a.org_id = $1 AND {DENIALS_IN_PERIOD}"
        ),
        &p,
    )?
    .into_iter()
    .next()
    .map_or(
        AppealStats {
            sent: 0,
            decided: 0,
            overturned: 0,
            partially_overturned: 0,
            upheld: 0,
            overturn_rate: rate(0, 0),
        },
        |a| AppealStats {
            sent: a.sent,
            decided: a.decided,
            overturned: a.overturned,
            partially_overturned: a.partially,
            upheld: a.upheld,
            overturn_rate: rate(a.overturned + a.partially, a.decided),
        },
    );

    // Whole calendar days between two timestamps: the one expression the engines spell
    // differently.
    let days = match conn {
        DbConnection::Postgresql(_) => {
            "CAST(CAST(x.closed_at AS DATE) - CAST(x.created_at AS DATE) AS BIGINT)"
        }
        DbConnection::Sqlite(_) => {
            "CAST(julianday(date(x.closed_at)) - julianday(date(x.created_at)) AS BIGINT)"
        }
    };
    let hist: Vec<(i64, i64)> = load::<DaysRow>(
        conn,
        &format!(
            "SELECT {days} AS days, COUNT(*) AS n FROM ( \
               SELECT d.id AS id, d.created_at AS created_at, MAX(e.at) AS closed_at \
               FROM denials d JOIN denial_events e ON e.org_id = d.org_id AND e.denial_id = d.id \
               WHERE {DENIALS_IN_PERIOD} AND d.status IN ('resolved', 'written_off') \
               AND e.action IN ({STATUS_MOVES}) \
               GROUP BY d.id, d.created_at) x \
             GROUP BY 1 ORDER BY 1"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.days, r.n))
    .collect();
    let (closed, average_days, median_days) = average_and_median(&hist);

    let recovered = load::<CentsRow>(
        conn,
        &format!(
            "WITH denied AS ( \
               SELECT d.claim_id AS claim_id, d.created_at AS created_at FROM denials d \
               WHERE {DENIALS_IN_PERIOD} \
               UNION ALL \
               SELECT d.resubmission_claim_id AS claim_id, d.created_at AS created_at FROM denials d \
               WHERE {DENIALS_IN_PERIOD} AND d.resubmission_claim_id IS NOT NULL), \
             firsts AS (SELECT claim_id, MIN(created_at) AS first_at FROM denied GROUP BY claim_id) \
             SELECT CAST(COALESCE(SUM({LEDGER_CENTS}), 0) AS BIGINT) AS cents \
             FROM firsts f \
             JOIN ledger_entries l ON l.org_id = $1 AND l.claim_id = f.claim_id AND l.posted_at > f.first_at \
             LEFT JOIN ledger_entries o ON o.org_id = l.org_id AND o.id = l.reverses \
             WHERE l.kind = 'insurance_payment' OR (l.kind = 'reversal' AND o.kind = 'insurance_payment')"
        ),
        &p,
    )?
    .into_iter()
    .next()
    .map_or(0, |r| r.cents);

    let written_off = load::<CentsRow>(
        conn,
        &format!(
            // Driven from the write-offs (few), each looking up its denial by key: as a join,
            // SQLite may scan every write-off once per denial of the period (13 s at 25,000).
            "SELECT CAST(COALESCE(SUM({LEDGER_CENTS}), 0) AS BIGINT) AS cents \
             FROM ledger_entries l \
             WHERE l.org_id = $1 AND l.kind = 'write_off' AND l.reference LIKE 'denial:%' \
             AND EXISTS (SELECT 1 FROM denials d WHERE d.id = SUBSTR(l.reference, 8) \
               AND {DENIALS_IN_PERIOD})"
        ),
        &p,
    )?
    .into_iter()
    .next()
    .map_or(0, |r| r.cents);

    Ok(DenialAnalytics {
        from: q.from,
        to: q.to,
        payer_id: q.payer_id,
        denial_rate: rate(denied_claims, adjudicated_all),
        denials,
        denied_amount: cents_to_money(denied_cents),
        by_payer,
        by_category,
        by_carc,
        by_provider,
        appeals,
        days_to_resolve: ResolutionStats {
            closed,
            average_days,
            median_days,
        },
        // Payments and write-offs are negative on the ledger.
        recovered: cents_to_money(-recovered),
        written_off: cents_to_money(-written_off),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_average_of_a_histogram() {
        assert_eq!(average_and_median(&[]), (0, None, None));
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        // 3, 10: average 6.50, median 6.5.
        assert_eq!(
            average_and_median(&[(3, 1), (10, 1)]),
            (2, Some(d("6.50")), Some(d("6.5")))
        );
        // 0, 0, 1, 5, 5, 5, 9: median 5, average 25/7.
        assert_eq!(
            average_and_median(&[(0, 2), (1, 1), (5, 3), (9, 1)]),
            (7, Some(d("3.57")), Some(d("5")))
        );
        // 2, 4, 4, 8: median 4.
        assert_eq!(
            average_and_median(&[(2, 1), (4, 2), (8, 1)]),
            (4, Some(d("4.50")), Some(d("4")))
        );
    }
}

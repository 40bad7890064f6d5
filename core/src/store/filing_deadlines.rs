//! The timely filing queue: claims not yet accepted for filing by their payer (`draft`,
//! `ready`, or `rejected` and to be sent again) with the last day the payer takes them, the
//! most urgent first. The deadline is the claim's last date of service plus the payer's
//! `timely_filing_days`, computed by the database so that the order and the page boundaries
//! hold across payers.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::pagination::finish_page;
use super::sql_types::{DbDecimal, Dec};
use super::{DbConnection, ListParams, parse_id};
use crate::access::OrgId;
use crate::billing::scrub::filing_due_soon;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;

/// One claim still to be filed, with its deadline.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UnfiledClaim {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub patient_control_number: String,
    pub payer_id: Uuid,
    pub payer_name: String,
    /// `draft`, `ready`, or `rejected` (to be corrected and sent again).
    pub status: String,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Decimal,
    pub service_date_to: NaiveDate,
    /// The payer's timely filing limit, in days from the last date of service.
    pub timely_filing_days: i32,
    /// The last day the payer takes the claim.
    pub filing_deadline: NaiveDate,
    /// Days from the queue's `as_of` to the deadline; negative once it has passed.
    pub days_left: i64,
    /// The deadline is 30 days away or less (and not passed).
    pub filing_due_soon: bool,
    /// The deadline has passed: the payer will deny the claim as late (CARC 29) unless the
    /// practice has proof of timely filing.
    pub past_deadline: bool,
}

/// Which claims the queue returns.
#[derive(Debug, Clone)]
pub struct FilingFilter {
    /// The day the queue is seen from (today unless asked).
    pub as_of: NaiveDate,
    /// Only claims whose deadline is on or before this day.
    pub deadline_by: Option<NaiveDate>,
    pub payer_id: Option<Uuid>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    patient_id: String,
    #[diesel(sql_type = Text)]
    patient_control_number: String,
    #[diesel(sql_type = Text)]
    payer_id: String,
    #[diesel(sql_type = Text)]
    payer_name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Dec)]
    total_charge: DbDecimal,
    #[diesel(sql_type = Date)]
    service_date_to: NaiveDate,
    #[diesel(sql_type = Integer)]
    timely_filing_days: i32,
    #[diesel(sql_type = Date)]
    filing_deadline: NaiveDate,
}

#[derive(QueryableByName)]
struct Deadline {
    #[diesel(sql_type = Date)]
    filing_deadline: NaiveDate,
}

/// The deadline as each engine adds days to a date.
fn deadline_sql(conn: &DbConnection) -> &'static str {
    if conn.is_postgres() {
        "(c.service_date_to + p.timely_filing_days)"
    } else {
        "date(c.service_date_to, '+' || p.timely_filing_days || ' days')"
    }
}

/// Runs `sql` (PostgreSQL's numbered parameters, as SQLite's `?N` there) with its binds on
/// whichever engine `conn` is.
macro_rules! load_rows {
    ($conn:expr, $sql:expr, $(($ty:ty, $val:expr)),* $(,)?) => {
        match $conn {
            DbConnection::Postgresql(c) => diesel::sql_query($sql)$(.bind::<$ty, _>($val))*.load(c)?,
            DbConnection::Sqlite(c) => {
                let sql = (1..=9)
                    .rev()
                    .fold($sql, |s: String, n| s.replace(&format!("${n}"), &format!("?{n}")));
                diesel::sql_query(sql)$(.bind::<$ty, _>($val))*.load(c)?
            }
        }
    };
}

/// A page of the org's claims still to be filed, earliest deadline first (then by claim).
pub fn queue(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &FilingFilter,
    page: &ListParams,
) -> CoreResult<Page<UnfiledClaim>> {
    let limit = page.limit()?;
    let after = page.after()?;
    let dl = deadline_sql(conn);
    let joined = "FROM claims c JOIN payers p ON p.id = c.payer_id AND p.org_id = c.org_id \
                  WHERE c.org_id = $1";
    // The page starts after the cursor's claim: its deadline first, then its id.
    let start: Option<NaiveDate> = if after.is_empty() {
        None
    } else {
        let sql = format!("SELECT {dl} AS filing_deadline {joined} AND c.id = $2");
        let rows: Vec<Deadline> =
            load_rows!(conn, sql, (Text, org.as_str()), (Text, after.clone()));
        Some(
            rows.first()
                .ok_or_else(|| CoreError::invalid("/cursor", "is not a cursor this API returned"))?
                .filing_deadline,
        )
    };
    let sql = format!(
        "SELECT c.id, c.patient_id, c.patient_control_number, c.payer_id, p.name AS payer_name, \
             c.status, c.total_charge, c.service_date_to, p.timely_filing_days, {dl} AS filing_deadline \
             {joined} AND c.status IN ('draft', 'ready', 'rejected') \
             AND ($2 IS NULL OR c.payer_id = $2) \
             AND ($3 IS NULL OR {dl} <= $3) \
             AND ($4 IS NULL OR {dl} > $4 OR ({dl} = $4 AND c.id > $5)) \
             ORDER BY filing_deadline, c.id LIMIT $6"
    );
    let payer = filter.payer_id.map(|p| p.to_string());
    let rows: Vec<Row> = load_rows!(
        conn,
        sql,
        (Text, org.as_str()),
        (Nullable<Text>, payer),
        (Nullable<Date>, filter.deadline_by),
        (Nullable<Date>, start),
        (Text, after),
        (BigInt, limit + 1),
    );
    let items = rows
        .into_iter()
        .map(|r| {
            let days_left = (r.filing_deadline - filter.as_of).num_days();
            Ok(UnfiledClaim {
                claim_id: parse_id(&r.id)?,
                patient_id: parse_id(&r.patient_id)?,
                patient_control_number: r.patient_control_number,
                payer_id: parse_id(&r.payer_id)?,
                payer_name: r.payer_name,
                status: r.status,
                total_charge: r.total_charge.0,
                service_date_to: r.service_date_to,
                timely_filing_days: r.timely_filing_days,
                filing_deadline: r.filing_deadline,
                days_left,
                filing_due_soon: filing_due_soon(r.filing_deadline, filter.as_of),
                past_deadline: days_left < 0,
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
    Ok(finish_page(items, limit, |c| c.claim_id))
}

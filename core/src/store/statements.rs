//! The practice's statement profile and the statements it issued: rows only (the statement
//! itself is built in `workflows::statements`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::cents;
use super::schema::{statement_counters, statements};
use super::sql_types::DbDecimal;
use super::{DbConnection, from_json, org_documents, parse_id, to_json};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{Address, now, utc};

/// Days a statement gives the patient to pay, when the profile does not say.
pub const DEFAULT_DUE_DAYS: i32 = 30;
/// Days between two statements of one patient in a statement run, when the profile does not
/// say.
pub const DEFAULT_CYCLE_DAYS: i32 = 30;

const MAX_NAME_LEN: usize = 60;
const MAX_URL_LEN: usize = 200;
const MAX_MESSAGE_LEN: usize = 300;

/// What the practice prints on its statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "practice_name": "Springfield Family Medicine",
    "practice_address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
    "practice_phone": "2175550100",
    "remit_to_name": "Springfield Family Medicine",
    "remit_to_address": {"line1": "PO Box 4000", "city": "Springfield", "state": "IL", "zip": "62704"},
    "payment_url": "https://pay.example.com/sfm",
    "payment_phone": "2175550199",
    "due_days": 30,
    "cycle_days": 30,
    "message": "Questions about your bill? Call us Monday to Friday, 8 to 5."
}))]
pub struct StatementProfileInput {
    /// Printed at the top of every statement (1 to 60 characters).
    #[schema(min_length = 1, max_length = 60)]
    pub practice_name: String,
    pub practice_address: Address,
    /// Ten-digit US phone number for billing questions; punctuation is ignored.
    #[schema(example = "2175550100")]
    pub practice_phone: Option<String>,
    /// Who checks are made out to (default: the practice name).
    #[schema(max_length = 60)]
    pub remit_to_name: Option<String>,
    /// Where payments are mailed (a lockbox, often not the practice's street address).
    pub remit_to_address: Address,
    /// Where the patient can pay online (an `https://` address).
    #[schema(max_length = 200, example = "https://pay.example.com/sfm")]
    pub payment_url: Option<String>,
    /// Ten-digit US phone number taking card payments; punctuation is ignored.
    pub payment_phone: Option<String>,
    /// Days from the statement date to its due date, 1 to 90 (default 30).
    #[schema(minimum = 1, maximum = 90)]
    pub due_days: Option<i32>,
    /// Days a statement run waits after a patient's last statement before the next, 7 to 90
    /// (default 30).
    #[schema(minimum = 7, maximum = 90)]
    pub cycle_days: Option<i32>,
    /// Printed on every statement (at most 300 characters).
    #[schema(max_length = 300)]
    pub message: Option<String>,
}

fn phone_digits(s: &str) -> Option<String> {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    let ok = d.len() == 10
        && s.chars()
            .all(|c| c.is_ascii_digit() || " ()-.+".contains(c));
    ok.then_some(d)
}

fn plain(e: &mut crate::validation::Errors, at: &str, s: &str, min: usize, max: usize) {
    let n = s.trim().chars().count();
    e.check(
        (min..=max).contains(&n),
        at,
        format!("must be {min} to {max} characters"),
    );
    e.check(
        !s.chars().any(char::is_control),
        at,
        "must not contain control characters",
    );
}

impl crate::validation::Rules for StatementProfileInput {
    fn check(&self, e: &mut crate::validation::Errors) {
        plain(e, "/practice_name", &self.practice_name, 1, MAX_NAME_LEN);
        self.practice_address.validate("/practice_address", e);
        self.remit_to_address.validate("/remit_to_address", e);
        if let Some(n) = &self.remit_to_name {
            plain(e, "/remit_to_name", n, 1, MAX_NAME_LEN);
        }
        for (at, p) in [
            ("/practice_phone", &self.practice_phone),
            ("/payment_phone", &self.payment_phone),
        ] {
            if let Some(p) = p {
                e.check(
                    phone_digits(p).is_some(),
                    at,
                    "must be a ten-digit US phone number",
                );
            }
        }
        if let Some(u) = &self.payment_url {
            let host = u.strip_prefix("https://").unwrap_or("");
            e.check(
                u.len() <= MAX_URL_LEN
                    && !host.is_empty()
                    && !host.starts_with('/')
                    && u.chars().all(|c| c.is_ascii_graphic()),
                "/payment_url",
                format!("must be an https:// address of at most {MAX_URL_LEN} characters"),
            );
        }
        if let Some(d) = self.due_days {
            e.check((1..=90).contains(&d), "/due_days", "must be 1 to 90");
        }
        if let Some(d) = self.cycle_days {
            e.check((7..=90).contains(&d), "/cycle_days", "must be 7 to 90");
        }
        if let Some(m) = &self.message {
            e.check(
                m.chars().count() <= MAX_MESSAGE_LEN,
                "/message",
                format!("must be at most {MAX_MESSAGE_LEN} characters"),
            );
            e.check(
                !m.chars().any(|c| c.is_control() && c != '\n'),
                "/message",
                "must not contain control characters other than line breaks",
            );
        }
    }
}

/// The statement profile as stored: defaults filled in, phones as digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementProfile {
    pub practice_name: String,
    pub practice_address: Address,
    pub practice_phone: Option<String>,
    pub remit_to_name: String,
    pub remit_to_address: Address,
    pub payment_url: Option<String>,
    pub payment_phone: Option<String>,
    pub due_days: i32,
    pub cycle_days: i32,
    pub message: Option<String>,
    #[serde(default)]
    pub version: i32,
    #[serde(default = "epoch")]
    pub updated_at: DateTime<Utc>,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl StatementProfile {
    fn from_input(i: &StatementProfileInput) -> StatementProfile {
        let trim = |s: &str| s.trim().to_string();
        StatementProfile {
            practice_name: trim(&i.practice_name),
            practice_address: i.practice_address.clone(),
            practice_phone: i.practice_phone.as_deref().and_then(phone_digits),
            remit_to_name: i
                .remit_to_name
                .as_deref()
                .map(trim)
                .unwrap_or_else(|| trim(&i.practice_name)),
            remit_to_address: i.remit_to_address.clone(),
            payment_url: i.payment_url.clone(),
            payment_phone: i.payment_phone.as_deref().and_then(phone_digits),
            due_days: i.due_days.unwrap_or(DEFAULT_DUE_DAYS),
            cycle_days: i.cycle_days.unwrap_or(DEFAULT_CYCLE_DAYS),
            message: i
                .message
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            version: 0,
            updated_at: epoch(),
        }
    }
}

/// The org's statement profile, if set.
pub fn profile(conn: &mut DbConnection, org: OrgId) -> CoreResult<Option<StatementProfile>> {
    let kind = &org_documents::STATEMENT_PROFILE;
    org_documents::read(conn, kind, org)?
        .map(|doc| {
            let mut p: StatementProfile = from_json(&doc.json, kind.resource)?;
            p.version = doc.version;
            p.updated_at = utc(doc.updated_at);
            Ok(p)
        })
        .transpose()
}

/// Sets the org's statement profile; with `if_match`, the stored one must be at that version.
/// Returns the profile and whether it was created.
pub fn set_profile(
    conn: &mut DbConnection,
    org: OrgId,
    input: &StatementProfileInput,
    if_match: Option<i32>,
) -> CoreResult<(StatementProfile, bool)> {
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    e.finish()?;
    let json = to_json(&StatementProfile::from_input(input));
    let created = org_documents::write(
        conn,
        &org_documents::STATEMENT_PROFILE,
        org,
        &json,
        if_match,
    )?;
    let stored = profile(conn, org)?
        .ok_or_else(|| CoreError::Internal("the statement profile was not stored".into()))?;
    Ok((stored, created))
}

/// Takes the org's statement counter row for this transaction (creating it at zero), so that
/// concurrent issuers (a run and a single issue, or two server processes) wait for each other:
/// the second sees what the first issued.
pub fn lock_counter(conn: &mut DbConnection, org: OrgId) -> CoreResult<()> {
    use diesel::sql_types::Text;
    let (pg, lite) = (
        "INSERT INTO statement_counters (org_id, last_value) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        "INSERT INTO statement_counters (org_id, last_value) VALUES (?, 0) ON CONFLICT DO NOTHING",
    );
    match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(pg)
            .bind::<Text, _>(org.as_str())
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(lite)
            .bind::<Text, _>(org.as_str())
            .execute(c)?,
    };
    diesel::update(statement_counters::table.filter(statement_counters::org_id.eq(org.as_str())))
        .set(statement_counters::last_value.eq(statement_counters::last_value))
        .execute(conn)?;
    Ok(())
}

/// The next statement number of the org. Call after [`lock_counter`] in the issuing
/// transaction.
pub fn next_number(conn: &mut DbConnection, org: OrgId) -> CoreResult<i64> {
    let n = diesel::update(
        statement_counters::table.filter(statement_counters::org_id.eq(org.as_str())),
    )
    .set(statement_counters::last_value.eq(statement_counters::last_value + 1))
    .execute(conn)?;
    if n != 1 {
        return Err(CoreError::Internal(
            "the statement counter is missing".into(),
        ));
    }
    Ok(statement_counters::table
        .filter(statement_counters::org_id.eq(org.as_str()))
        .select(statement_counters::last_value)
        .get_result(conn)?)
}

/// An issued statement as stored: its document carries no name or address.
pub struct StoredStatement {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub number: i64,
    pub statement_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount_due: Decimal,
    pub run_id: Option<Uuid>,
    pub document: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewStatement<'a> {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub number: i64,
    pub statement_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount_due: Decimal,
    pub run_id: Option<Uuid>,
    pub document: String,
    pub actor: &'a str,
}

pub fn insert(conn: &mut DbConnection, org: OrgId, s: &NewStatement) -> CoreResult<()> {
    diesel::insert_into(statements::table)
        .values((
            statements::id.eq(s.id.to_string()),
            statements::org_id.eq(org.as_str()),
            statements::patient_id.eq(s.patient_id.to_string()),
            statements::number.eq(s.number),
            statements::statement_date.eq(s.statement_date),
            statements::due_date.eq(s.due_date),
            statements::amount_due.eq(DbDecimal(cents(s.amount_due))),
            statements::run_id.eq(s.run_id.map(|r| r.to_string())),
            statements::document.eq(&s.document),
            statements::created_at.eq(now()),
            statements::actor.eq(s.actor),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = statements)]
struct Row {
    id: String,
    patient_id: String,
    number: i64,
    statement_date: NaiveDate,
    due_date: NaiveDate,
    amount_due: DbDecimal,
    run_id: Option<String>,
    document: String,
    created_at: chrono::NaiveDateTime,
}

impl Row {
    fn into_stored(self) -> CoreResult<StoredStatement> {
        Ok(StoredStatement {
            id: parse_id(&self.id)?,
            patient_id: parse_id(&self.patient_id)?,
            number: self.number,
            statement_date: self.statement_date,
            due_date: self.due_date,
            amount_due: cents(self.amount_due.0),
            run_id: super::opt_id(self.run_id)?,
            document: self.document,
            created_at: utc(self.created_at),
        })
    }
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<StoredStatement> {
    super::org_row!(conn, statements, Row, org, id, "statement")?.into_stored()
}

/// The date of the patient's latest statement, if any.
pub fn last_issued(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<Option<NaiveDate>> {
    Ok(statements::table
        .filter(statements::org_id.eq(org.as_str()))
        .filter(statements::patient_id.eq(patient_id.to_string()))
        .select(diesel::dsl::max(statements::statement_date))
        .get_result(conn)?)
}

/// A patient's statements, newest first.
pub fn for_patient(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<Vec<StoredStatement>> {
    let rows: Vec<Row> = statements::table
        .filter(statements::org_id.eq(org.as_str()))
        .filter(statements::patient_id.eq(patient_id.to_string()))
        .order(statements::number.desc())
        .select(Row::as_select())
        .load(conn)?;
    rows.into_iter().map(Row::into_stored).collect()
}

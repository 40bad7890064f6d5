//! Appeals of denials: one row per level sent, with its deadline and, once the payer decided,
//! the outcome. Repositories only: deadlines and what an outcome does are decided in
//! `billing::denials::appeals`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::denial_appeals;
use super::{DbConnection, new_id, opt_id, parse_id};
use crate::access::OrgId;
use crate::billing::denials::appeals::AppealOutcome;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};
use crate::model::denial::DenialAppeal;

#[derive(Queryable, Selectable)]
#[diesel(table_name = denial_appeals)]
struct AppealRow {
    id: String,
    denial_id: String,
    claim_id: String,
    level: i32,
    sent_on: NaiveDate,
    deadline: NaiveDate,
    late_note_id: Option<String>,
    outcome: Option<String>,
    decided_on: Option<NaiveDate>,
    decided_by: Option<String>,
    actor: String,
    version: i32,
    created_at: NaiveDateTime,
}

impl AppealRow {
    fn into_model(self) -> CoreResult<DenialAppeal> {
        Ok(DenialAppeal {
            id: parse_id(&self.id)?,
            denial_id: parse_id(&self.denial_id)?,
            claim_id: parse_id(&self.claim_id)?,
            level: self.level,
            sent_on: self.sent_on,
            deadline: self.deadline,
            late: self.sent_on > self.deadline,
            late_note_id: opt_id(self.late_note_id)?,
            outcome: self
                .outcome
                .map(|o| {
                    AppealOutcome::parse(&o).ok_or_else(|| {
                        CoreError::Internal("stored appeal outcome does not parse".into())
                    })
                })
                .transpose()?,
            decided_on: self.decided_on,
            decided_by: self.decided_by,
            actor: self.actor,
            version: self.version,
            created_at: utc(self.created_at),
        })
    }
}

/// An appeal as the workflow sends it.
#[derive(Debug, Clone)]
pub struct NewAppeal {
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    pub level: i32,
    pub sent_on: NaiveDate,
    pub deadline: NaiveDate,
    pub late_note_id: Option<Uuid>,
}

/// Stores an appeal in the caller's transaction (one per denial and level).
pub fn insert(
    conn: &mut DbConnection,
    org: OrgId,
    a: &NewAppeal,
    actor: &str,
) -> CoreResult<DenialAppeal> {
    let id = new_id();
    let at = now();
    diesel::insert_into(denial_appeals::table)
        .values((
            denial_appeals::id.eq(id.to_string()),
            denial_appeals::org_id.eq(org.as_str()),
            denial_appeals::denial_id.eq(a.denial_id.to_string()),
            denial_appeals::claim_id.eq(a.claim_id.to_string()),
            denial_appeals::level.eq(a.level),
            denial_appeals::sent_on.eq(a.sent_on),
            denial_appeals::deadline.eq(a.deadline),
            denial_appeals::late_note_id.eq(a.late_note_id.map(|n| n.to_string())),
            denial_appeals::actor.eq(actor),
            denial_appeals::version.eq(1),
            denial_appeals::created_at.eq(at),
            denial_appeals::updated_at.eq(at),
        ))
        .execute(conn)
        .map_err(|e| CoreError::from(e).conflict_means("this level of appeal was sent already"))?;
    get(conn, org, id)
}

fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<DenialAppeal> {
    denial_appeals::table
        .filter(denial_appeals::org_id.eq(org.as_str()))
        .filter(denial_appeals::id.eq(id.to_string()))
        .select(AppealRow::as_select())
        .first::<AppealRow>(conn)
        .optional()?
        .ok_or(CoreError::NotFound { resource: "appeal" })?
        .into_model()
}

/// A denial's appeals, first level first.
pub fn of_denial(
    conn: &mut DbConnection,
    org: OrgId,
    denial_id: Uuid,
) -> CoreResult<Vec<DenialAppeal>> {
    denial_appeals::table
        .filter(denial_appeals::org_id.eq(org.as_str()))
        .filter(denial_appeals::denial_id.eq(denial_id.to_string()))
        .order(denial_appeals::level.asc())
        .select(AppealRow::as_select())
        .load::<AppealRow>(conn)?
        .into_iter()
        .map(AppealRow::into_model)
        .collect()
}

/// The denial's appeal still waiting for a decision, if any.
pub fn pending(
    conn: &mut DbConnection,
    org: OrgId,
    denial_id: Uuid,
) -> CoreResult<Option<DenialAppeal>> {
    Ok(of_denial(conn, org, denial_id)?
        .into_iter()
        .rev()
        .find(|a| a.outcome.is_none()))
}

/// Records the payer's decision on a pending appeal (compare-and-set on its version).
pub fn decide(
    conn: &mut DbConnection,
    org: OrgId,
    appeal: &DenialAppeal,
    outcome: AppealOutcome,
    on: NaiveDate,
    by: &str,
) -> CoreResult<DenialAppeal> {
    let n = diesel::update(
        denial_appeals::table
            .filter(denial_appeals::org_id.eq(org.as_str()))
            .filter(denial_appeals::id.eq(appeal.id.to_string()))
            .filter(denial_appeals::version.eq(appeal.version))
            .filter(denial_appeals::outcome.is_null()),
    )
    .set((
        denial_appeals::outcome.eq(outcome.as_str()),
        denial_appeals::decided_on.eq(on),
        denial_appeals::decided_by.eq(by),
        denial_appeals::version.eq(appeal.version + 1),
        denial_appeals::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(CoreError::Conflict(
            "the appeal was decided while this request ran; read the denial again".into(),
        ));
    }
    get(conn, org, appeal.id)
}

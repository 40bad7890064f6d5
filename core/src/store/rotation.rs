//! Data-key rotation: a new data-key version becomes active for new writes, then every
//! encrypted value of the organization is re-encrypted under it (and its blind indexes
//! recomputed) in small transactions, while the API keeps serving. Progress is stored, so an
//! interrupted rotation resumes where it stopped. Old key versions stay in the key ring, so a
//! value is readable at every moment, whichever version it is under.
//!
//! The blind-index key is not rotated here: searches must keep finding rows throughout, and a
//! rotated index key would hide every row not yet rewritten.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::encrypted::Rotated;
use super::keyring::ROTATION_PROPAGATION_SECS;
use super::schema::key_rotations;
use super::{
    DbConnection, KeyRing, coverages, denials, events, idempotency, patients, write_transaction,
    x12_exchanges,
};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};

pub const DEFAULT_BATCH: i64 = 500;

/// Every table with encrypted columns: a rotation moves each of them to the new key.
const ENCRYPTED: [Rotated; 6] = [
    patients::ROTATION,
    coverages::ROTATION,
    idempotency::ROTATION,
    x12_exchanges::ROTATION,
    denials::ROTATION,
    events::ROTATION,
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Rotation {
    pub id: Uuid,
    pub org: Uuid,
    /// The data-key version values are moved to.
    pub to_version: i32,
    /// `running` or `completed`.
    pub state: String,
    pub rows_total: i64,
    pub rows_done: i64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = key_rotations)]
struct RotationRow {
    id: String,
    org_id: String,
    to_version: i32,
    state: String,
    rows_total: i64,
    rows_done: i64,
    started_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
}

impl RotationRow {
    fn into_rotation(self) -> CoreResult<Rotation> {
        let parse = |s: &str| {
            Uuid::parse_str(s).map_err(|_| CoreError::Internal("bad id in key_rotations".into()))
        };
        Ok(Rotation {
            id: parse(&self.id)?,
            org: parse(&self.org_id)?,
            to_version: self.to_version,
            state: self.state,
            rows_total: self.rows_total,
            rows_done: self.rows_done,
            started_at: utc(self.started_at),
            updated_at: utc(self.updated_at),
            finished_at: self.finished_at.map(utc),
        })
    }
}

const RUNNING: &str = "running";
const COMPLETED: &str = "completed";

/// The org's newest rotation, if any.
pub fn latest(conn: &mut DbConnection, org: OrgId) -> CoreResult<Option<Rotation>> {
    key_rotations::table
        .filter(key_rotations::org_id.eq(org.as_str()))
        .order(key_rotations::started_at.desc())
        .select(RotationRow::as_select())
        .limit(1)
        .load(conn)?
        .into_iter()
        .next()
        .map(RotationRow::into_rotation)
        .transpose()
}

/// Rotations that were interrupted (any org).
pub fn unfinished(conn: &mut DbConnection) -> CoreResult<Vec<Rotation>> {
    key_rotations::table
        .filter(key_rotations::state.eq(RUNNING))
        .select(RotationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(RotationRow::into_rotation)
        .collect()
}

fn remaining(conn: &mut DbConnection, org: OrgId, version: i32) -> CoreResult<i64> {
    ENCRYPTED
        .iter()
        .try_fold(0, |n, t| Ok(n + (t.count)(conn, org, version)?))
}

/// Starts a rotation for the org (new data-key version, progress row), or returns the one
/// already running, so that starting twice resumes instead of piling up versions.
pub fn begin(conn: &mut DbConnection, keyring: &KeyRing, org: OrgId) -> CoreResult<Rotation> {
    write_transaction(conn, |conn| {
        if let Some(r) = latest(conn, org)?
            && r.state == RUNNING
        {
            return Ok(r);
        }
        let version = keyring.add_data_version(conn, org)?;
        let total = remaining(conn, org, version)?;
        let t = now();
        let id = Uuid::now_v7();
        diesel::insert_into(key_rotations::table)
            .values((
                key_rotations::id.eq(id.to_string()),
                key_rotations::org_id.eq(org.as_str()),
                key_rotations::to_version.eq(version),
                key_rotations::state.eq(RUNNING),
                key_rotations::rows_total.eq(total),
                key_rotations::rows_done.eq(0i64),
                key_rotations::started_at.eq(t),
                key_rotations::updated_at.eq(t),
            ))
            .execute(conn)?;
        tracing::info!(org = %org.0, version, rows = total, "data-key rotation started");
        latest(conn, org)?.ok_or(CoreError::Internal("rotation row vanished".into()))
    })
}

/// Rewrites one batch per table; marks the rotation completed when nothing is left.
pub fn step(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    rotation: &Rotation,
    batch: i64,
) -> CoreResult<Rotation> {
    let org = OrgId(rotation.org);
    write_transaction(conn, |conn| {
        let keys = keyring.keys(conn, org)?;
        if keys.active_version() != rotation.to_version {
            return Err(CoreError::Conflict(
                "a newer data-key version exists; this rotation was superseded".into(),
            ));
        }
        let mut done = 0;
        for table in &ENCRYPTED {
            done += (table.batch)(conn, &keys, org, batch)?;
        }
        let left = remaining(conn, org, rotation.to_version)?;
        let t = now();
        let finished = left == 0;
        diesel::update(key_rotations::table.filter(key_rotations::id.eq(rotation.id.to_string())))
            .set((
                key_rotations::rows_done.eq(key_rotations::rows_done + done as i64),
                // New rows written under an old key by a process that had not yet seen the
                // new version are counted in, so done/total stays honest.
                key_rotations::rows_total.eq(key_rotations::rows_done + done as i64 + left),
                key_rotations::updated_at.eq(t),
                key_rotations::state.eq(if finished { COMPLETED } else { RUNNING }),
                key_rotations::finished_at.eq(finished.then_some(t)),
            ))
            .execute(conn)?;
        latest(conn, org)?.ok_or(CoreError::Internal("rotation row vanished".into()))
    })
}

/// Runs a rotation to the end: waits for other processes to see the new key version, then
/// steps until done, reporting progress after each step. `pause` slows each step (tests use
/// it to interrupt a rotation halfway).
pub fn run(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    rotation: Rotation,
    batch: i64,
    pause: Duration,
    mut progress: impl FnMut(&Rotation),
) -> CoreResult<Rotation> {
    let mut r = rotation;
    progress(&r);
    if r.state == COMPLETED {
        return Ok(r);
    }
    std::thread::sleep(Duration::from_secs(ROTATION_PROPAGATION_SECS));
    loop {
        r = step(conn, keyring, &r, batch.max(1))?;
        progress(&r);
        if r.state == COMPLETED {
            tracing::info!(org = %r.org, version = r.to_version, rows = r.rows_done, "data-key rotation completed");
            return Ok(r);
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::patient::{PatientInput, PatientSearch};
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};

    on_each_engine!(batches_move_every_row_to_the_new_version_and_a_second_begin_resumes);

    fn patient(n: usize) -> PatientInput {
        serde_json::from_value(serde_json::json!({
            "mrn": format!("RT-{n}"), "family_name": format!("Fam{n}"), "given_name": "Al",
            "birth_date": "1970-01-01", "sex": "U", "ssn": "219-09-8761"
        }))
        .unwrap()
    }

    fn batches_move_every_row_to_the_new_version_and_a_second_begin_resumes(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for n in 0..7 {
            patients::create(&mut conn, &keyring, org, &mut patient(n), today).unwrap();
        }
        let r = begin(&mut conn, &keyring, org).unwrap();
        assert_eq!((r.to_version, r.rows_total, r.rows_done), (2, 7, 0));
        assert_eq!(
            begin(&mut conn, &keyring, org).unwrap().id,
            r.id,
            "resumes, no new version"
        );
        let r = step(&mut conn, &keyring, &r, 3).unwrap();
        assert_eq!((r.rows_done, r.state.as_str()), (3, RUNNING));
        // Halfway, rows under both versions read back.
        let all = patients::list(
            &mut conn,
            &keyring,
            org,
            &Default::default(),
            &crate::store::ListParams::default(),
        )
        .unwrap();
        assert_eq!(all.items.len(), 7);
        let r = step(&mut conn, &keyring, &r, 3).unwrap();
        let r = step(&mut conn, &keyring, &r, 3).unwrap();
        assert_eq!(
            (r.rows_done, r.rows_total, r.state.as_str()),
            (7, 7, COMPLETED)
        );
        assert!(r.finished_at.is_some());
        assert_eq!(remaining(&mut conn, org, 2).unwrap(), 0);
        let search: PatientSearch =
            serde_json::from_value(serde_json::json!({"mrn": "RT-5"})).unwrap();
        let found = patients::search(&mut conn, &keyring, org, &search).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].family_name, "Fam5");
        // After completion, a new rotation takes the next version.
        assert_eq!(begin(&mut conn, &keyring, org).unwrap().to_version, 3);
    }
}

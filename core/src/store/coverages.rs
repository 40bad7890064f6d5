use diesel::prelude::*;
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::pagination::finish_page;
use super::schema::{coverages, payers};
use super::{
    DbConnection, KeyRing, ListParams, check_versioned_update, from_db, new_id, parse_id, to_db,
};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::coverage::{Coverage, CoverageInput, CoverageSearch, Subscriber};
use crate::phi::{IndexPurpose, OrgKeys, normalize};
use crate::validation::Errors;

pub const TABLE: &str = "coverages";

#[derive(Queryable, Selectable)]
#[diesel(table_name = coverages)]
struct CoverageRow {
    id: String,
    patient_id: String,
    payer_id: String,
    priority: String,
    member_id_ct: Vec<u8>,
    group_number_ct: Option<Vec<u8>>,
    plan_name: Option<String>,
    relationship: String,
    subscriber_ct: Option<Vec<u8>>,
    effective_from: chrono::NaiveDate,
    effective_to: Option<chrono::NaiveDate>,
    active: bool,
    version: i32,
    key_version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl CoverageRow {
    fn decrypt(self, keys: &OrgKeys, org: OrgId) -> CoreResult<Coverage> {
        let id = parse_id(&self.id)?;
        let c = RowCrypt {
            keys,
            org,
            table: TABLE,
            row: id,
        };
        Ok(Coverage {
            id,
            patient_id: parse_id(&self.patient_id)?,
            payer_id: parse_id(&self.payer_id)?,
            priority: from_db(&self.priority, "coverage priority")?,
            member_id: c.dec("member_id_ct", &self.member_id_ct)?,
            group_number: c.dec_opt("group_number_ct", self.group_number_ct.as_deref())?,
            plan_name: self.plan_name,
            relationship: from_db(&self.relationship, "relationship")?,
            subscriber: self
                .subscriber_ct
                .as_deref()
                .map(|ct| c.dec_json::<Subscriber>("subscriber_ct", ct))
                .transpose()?,
            effective_from: self.effective_from,
            effective_to: self.effective_to,
            active: self.active,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// The patient and payer a coverage names must exist in the caller's org.
fn check_references(
    conn: &mut DbConnection,
    org: OrgId,
    input: &CoverageInput,
    e: &mut Errors,
) -> CoreResult<()> {
    e.check(
        super::patients::exists(conn, org, input.patient_id)?,
        "/patient_id",
        "no such patient",
    );
    let payer: i64 = payers::table
        .filter(payers::org_id.eq(org.as_str()))
        .filter(payers::id.eq(input.payer_id.to_string()))
        .count()
        .get_result(conn)?;
    e.check(payer > 0, "/payer_id", "no such payer");
    Ok(())
}

pub fn create(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    input: &mut CoverageInput,
) -> CoreResult<Coverage> {
    // The rules and the references, all in one answer.
    let mut e = Errors::new();
    crate::validation::Rules::check(&*input, &mut e);
    check_references(conn, org, input, &mut e)?;
    e.finish()?;
    input.validate()?;
    let keys = keyring.keys(conn, org)?;
    let id = new_id();
    let c = RowCrypt {
        keys: &keys,
        org,
        table: TABLE,
        row: id,
    };
    let t = now();
    diesel::insert_into(coverages::table)
        .values((
            (
                coverages::id.eq(id.to_string()),
                coverages::org_id.eq(org.as_str()),
                coverages::patient_id.eq(input.patient_id.to_string()),
                coverages::payer_id.eq(input.payer_id.to_string()),
                coverages::priority.eq(to_db(&input.priority)),
                coverages::member_id_ct.eq(c.enc("member_id_ct", &input.member_id)),
                coverages::group_number_ct
                    .eq(c.enc_opt("group_number_ct", input.group_number.as_deref())),
                coverages::plan_name.eq(input.plan_name.clone()),
                coverages::relationship.eq(to_db(&input.relationship)),
                coverages::subscriber_ct.eq(input
                    .subscriber
                    .as_ref()
                    .map(|s| c.enc_json("subscriber_ct", s))),
            ),
            (
                coverages::effective_from.eq(input.effective_from),
                coverages::effective_to.eq(input.effective_to),
                coverages::member_id_bidx.eq(keys.index(
                    IndexPurpose::MemberId,
                    &normalize::member_id(&input.member_id),
                )),
                coverages::key_version.eq(keys.active_version()),
                coverages::active.eq(input.active.unwrap_or(true)),
                coverages::version.eq(1),
                coverages::created_at.eq(t),
                coverages::updated_at.eq(t),
            ),
        ))
        .execute(conn)?;
    get_with(conn, &keys, org, id)
}

fn get_with(conn: &mut DbConnection, keys: &OrgKeys, org: OrgId, id: Uuid) -> CoreResult<Coverage> {
    coverages::table
        .filter(coverages::org_id.eq(org.as_str()))
        .filter(coverages::id.eq(id.to_string()))
        .select(CoverageRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "coverage",
        })?
        .decrypt(keys, org)
}

pub fn get(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
) -> CoreResult<Coverage> {
    let keys = keyring.keys(conn, org)?;
    get_with(conn, &keys, org, id)
}

pub fn update(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &mut CoverageInput,
) -> CoreResult<Coverage> {
    let mut e = Errors::new();
    crate::validation::Rules::check(&*input, &mut e);
    if !e.is_empty() {
        // An invalid body is 422 whether or not the id exists, with every field named.
        check_references(conn, org, input, &mut e)?;
        std::mem::take(&mut e).finish()?;
    }
    input.validate()?;
    let keys = keyring.keys(conn, org)?;
    let current = get_with(conn, &keys, org, id)?;
    check_references(conn, org, input, &mut e)?;
    e.finish()?;
    let c = RowCrypt {
        keys: &keys,
        org,
        table: TABLE,
        row: id,
    };
    let updated = diesel::update(
        coverages::table
            .filter(coverages::org_id.eq(org.as_str()))
            .filter(coverages::id.eq(id.to_string()))
            .filter(coverages::version.eq(expected_version)),
    )
    .set((
        (
            coverages::patient_id.eq(input.patient_id.to_string()),
            coverages::payer_id.eq(input.payer_id.to_string()),
            coverages::priority.eq(to_db(&input.priority)),
            coverages::member_id_ct.eq(c.enc("member_id_ct", &input.member_id)),
            coverages::group_number_ct
                .eq(c.enc_opt("group_number_ct", input.group_number.as_deref())),
            coverages::plan_name.eq(input.plan_name.clone()),
            coverages::relationship.eq(to_db(&input.relationship)),
            coverages::subscriber_ct.eq(input
                .subscriber
                .as_ref()
                .map(|s| c.enc_json("subscriber_ct", s))),
        ),
        (
            coverages::effective_from.eq(input.effective_from),
            coverages::effective_to.eq(input.effective_to),
            coverages::member_id_bidx.eq(keys.index(
                IndexPurpose::MemberId,
                &normalize::member_id(&input.member_id),
            )),
            coverages::key_version.eq(keys.active_version()),
            coverages::active.eq(input.active.unwrap_or(current.active)),
            coverages::version.eq(expected_version + 1),
            coverages::updated_at.eq(now()),
        ),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "coverage")?;
    get_with(conn, &keys, org, id)
}

#[derive(Debug, Default, Clone)]
pub struct CoverageFilter {
    pub patient_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    pub active: Option<bool>,
}

pub fn list(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    filter: &CoverageFilter,
    page: &ListParams,
) -> CoreResult<Page<Coverage>> {
    let keys = keyring.keys(conn, org)?;
    let limit = page.limit()?;
    let mut q = coverages::table
        .filter(coverages::org_id.eq(org.as_str()))
        .filter(coverages::id.gt(page.after()?))
        .into_boxed();
    if let Some(p) = filter.patient_id {
        q = q.filter(coverages::patient_id.eq(p.to_string()));
    }
    if let Some(p) = filter.payer_id {
        q = q.filter(coverages::payer_id.eq(p.to_string()));
    }
    if let Some(a) = filter.active {
        q = q.filter(coverages::active.eq(a));
    }
    let rows: Vec<CoverageRow> = q
        .order(coverages::id.asc())
        .limit(limit + 1)
        .select(CoverageRow::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| r.decrypt(&keys, org))
        .collect::<CoreResult<Vec<_>>>()?;
    let (items, next_cursor) = finish_page(items, limit, |c| c.id);
    Ok(Page { items, next_cursor })
}

pub fn search(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    s: &CoverageSearch,
) -> CoreResult<Vec<Coverage>> {
    let keys = keyring.keys(conn, org)?;
    let limit = ListParams {
        limit: s.limit,
        cursor: None,
    }
    .limit()?;
    if s.member_id.trim().is_empty() {
        return Err(CoreError::invalid("/member_id", "must not be blank"));
    }
    let bidx = keys.index(IndexPurpose::MemberId, &normalize::member_id(&s.member_id));
    let mut q = coverages::table
        .filter(coverages::org_id.eq(org.as_str()))
        .filter(coverages::member_id_bidx.eq(bidx))
        .into_boxed();
    if let Some(p) = s.payer_id {
        q = q.filter(coverages::payer_id.eq(p.to_string()));
    }
    let rows: Vec<CoverageRow> = q
        .order(coverages::id.asc())
        .limit(limit)
        .select(CoverageRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|r| r.decrypt(&keys, org)).collect()
}

/// Key rotation: re-encrypts up to `limit` of the org's coverages not under the active data
/// key and recomputes the member id's blind index. Returns how many rows were rewritten.
pub(crate) fn rotate_batch(
    conn: &mut DbConnection,
    keys: &OrgKeys,
    org: OrgId,
    limit: i64,
) -> CoreResult<usize> {
    let rows: Vec<CoverageRow> = coverages::table
        .filter(coverages::org_id.eq(org.as_str()))
        .filter(coverages::key_version.ne(keys.active_version()))
        .order(coverages::id)
        .limit(limit)
        .select(CoverageRow::as_select())
        .load(conn)?;
    let mut done = 0;
    for row in rows {
        let id = parse_id(&row.id)?;
        let c = RowCrypt {
            keys,
            org,
            table: TABLE,
            row: id,
        };
        let member_id = c.dec("member_id_ct", &row.member_id_ct)?;
        let member_ct = c
            .reenc("member_id_ct", &row.member_id_ct)?
            .unwrap_or(row.member_id_ct);
        let group_ct = c.reenc_opt("group_number_ct", row.group_number_ct)?;
        let subscriber_ct = c.reenc_opt("subscriber_ct", row.subscriber_ct)?;
        done += diesel::update(
            coverages::table
                .filter(coverages::org_id.eq(org.as_str()))
                .filter(coverages::id.eq(&row.id))
                .filter(coverages::key_version.eq(row.key_version))
                .filter(coverages::version.eq(row.version)),
        )
        .set((
            coverages::member_id_ct.eq(member_ct),
            coverages::group_number_ct.eq(group_ct),
            coverages::subscriber_ct.eq(subscriber_ct),
            coverages::member_id_bidx
                .eq(keys.index(IndexPurpose::MemberId, &normalize::member_id(&member_id))),
            coverages::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?;
    }
    Ok(done)
}

/// Coverages of the org not yet under data-key version `version`.
pub(crate) fn count_not_under(
    conn: &mut DbConnection,
    org: OrgId,
    version: i32,
) -> CoreResult<i64> {
    Ok(coverages::table
        .filter(coverages::org_id.eq(org.as_str()))
        .filter(coverages::key_version.ne(version))
        .count()
        .get_result(conn)?)
}

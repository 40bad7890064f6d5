use diesel::prelude::*;
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::encrypted::{
    EncryptedTable, Rotated, SealedRow, decrypt_all, decrypt_page, rotated, rotation_queries,
};
use super::pagination::search_limit;
use super::schema::{coverages, payers};
use super::{
    DbConnection, KeyRing, ListParams, check_versioned_update, from_db, new_id, org_row, parse_id,
    to_db,
};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::coverage::{Coverage, CoverageFilter, CoverageInput, CoverageSearch, Subscriber};
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

impl SealedRow for CoverageRow {
    type Plain = Coverage;

    fn decrypt(self, keys: &OrgKeys, org: OrgId) -> CoreResult<Coverage> {
        let id = parse_id(&self.id)?;
        let c = RowCrypt::new(keys, org, TABLE, id);
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

/// Encrypted columns and the blind index of one coverage, ready to write. A cleared optional
/// field is written as NULL on update too.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = coverages, treat_none_as_null = true)]
struct Sealed {
    member_id_ct: Vec<u8>,
    group_number_ct: Option<Vec<u8>>,
    subscriber_ct: Option<Vec<u8>>,
    member_id_bidx: String,
    key_version: i32,
}

fn seal(
    keys: &OrgKeys,
    org: OrgId,
    id: Uuid,
    member_id: &str,
    group_number: Option<&str>,
    subscriber: Option<&Subscriber>,
) -> Sealed {
    let c = RowCrypt::new(keys, org, TABLE, id);
    Sealed {
        member_id_ct: c.enc("member_id_ct", member_id),
        group_number_ct: c.enc_opt("group_number_ct", group_number),
        subscriber_ct: subscriber.map(|s| c.enc_json("subscriber_ct", s)),
        member_id_bidx: keys.index(IndexPurpose::MemberId, &normalize::member_id(member_id)),
        key_version: keys.active_version(),
    }
}

fn seal_input(keys: &OrgKeys, org: OrgId, id: Uuid, input: &CoverageInput) -> Sealed {
    seal(
        keys,
        org,
        id,
        &input.member_id,
        input.group_number.as_deref(),
        input.subscriber.as_ref(),
    )
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
    let s = seal_input(&keys, org, id, input);
    let t = now();
    diesel::insert_into(coverages::table)
        .values((
            &s,
            (
                coverages::id.eq(id.to_string()),
                coverages::org_id.eq(org.as_str()),
                coverages::patient_id.eq(input.patient_id.to_string()),
                coverages::payer_id.eq(input.payer_id.to_string()),
                coverages::priority.eq(to_db(&input.priority)),
                coverages::plan_name.eq(input.plan_name.clone()),
                coverages::relationship.eq(to_db(&input.relationship)),
            ),
            (
                coverages::effective_from.eq(input.effective_from),
                coverages::effective_to.eq(input.effective_to),
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
    org_row!(conn, coverages, CoverageRow, org, id, "coverage")?.decrypt(keys, org)
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
    let s = seal_input(&keys, org, id, input);
    let updated = diesel::update(
        coverages::table
            .filter(coverages::org_id.eq(org.as_str()))
            .filter(coverages::id.eq(id.to_string()))
            .filter(coverages::version.eq(expected_version)),
    )
    .set((
        &s,
        (
            coverages::patient_id.eq(input.patient_id.to_string()),
            coverages::payer_id.eq(input.payer_id.to_string()),
            coverages::priority.eq(to_db(&input.priority)),
            coverages::plan_name.eq(input.plan_name.clone()),
            coverages::relationship.eq(to_db(&input.relationship)),
        ),
        (
            coverages::effective_from.eq(input.effective_from),
            coverages::effective_to.eq(input.effective_to),
            coverages::active.eq(input.active.unwrap_or(current.active)),
            coverages::version.eq(expected_version + 1),
            coverages::updated_at.eq(now()),
        ),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "coverage")?;
    get_with(conn, &keys, org, id)
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
    decrypt_page(rows, &keys, org, limit, |c| c.id)
}

pub fn search(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    s: &CoverageSearch,
) -> CoreResult<Vec<Coverage>> {
    let keys = keyring.keys(conn, org)?;
    let limit = search_limit(s.limit)?;
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
    decrypt_all(rows, &keys, org)
}

/// Key rotation: coverages are sealed again from their decrypted values.
pub(crate) const ROTATION: Rotated = rotated::<CoverageRow>();

impl EncryptedTable for CoverageRow {
    rotation_queries!(coverages, id, CoverageRow);

    fn rewrite(self, conn: &mut DbConnection, keys: &OrgKeys, org: OrgId) -> CoreResult<usize> {
        let (old, version) = (self.key_version, self.version);
        let c = self.decrypt(keys, org)?;
        let s = seal(
            keys,
            org,
            c.id,
            &c.member_id,
            c.group_number.as_deref(),
            c.subscriber.as_ref(),
        );
        Ok(diesel::update(
            coverages::table
                .filter(coverages::org_id.eq(org.as_str()))
                .filter(coverages::id.eq(c.id.to_string()))
                .filter(coverages::key_version.eq(old))
                .filter(coverages::version.eq(version)),
        )
        .set(&s)
        .execute(conn)?)
    }
}

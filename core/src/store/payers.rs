use diesel::prelude::*;
use uuid::Uuid;

use super::pagination::page_of;
use super::schema::{payer_identifiers, payers};
use super::{
    DbConnection, ListParams, check_versioned_update, from_db, new_id, org_row, parse_id, to_db,
};
use crate::access::OrgId;
use crate::billing::denials::appeals::default_appeal_days;
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::payer::{
    DEFAULT_FOLLOW_UP_DAYS, DEFAULT_TIMELY_FILING_DAYS, FoundPayerId, Payer, PayerFilter,
    PayerIdQualifier, PayerIdentifier, PayerInput,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = payers)]
struct PayerRow {
    id: String,
    name: String,
    payer_code: String,
    claim_filing_indicator: String,
    timely_filing_days: i32,
    appeal_limit_days: i32,
    follow_up_days: i32,
    active: bool,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl PayerRow {
    fn into_model(self) -> CoreResult<Payer> {
        Ok(Payer {
            id: parse_id(&self.id)?,
            name: self.name,
            payer_code: self.payer_code,
            claim_filing_indicator: from_db(
                &self.claim_filing_indicator,
                "claim filing indicator",
            )?,
            timely_filing_days: self.timely_filing_days,
            appeal_limit_days: self.appeal_limit_days,
            follow_up_days: self.follow_up_days,
            active: self.active,
            identifiers: Vec::new(),
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

pub fn create(conn: &mut DbConnection, org: OrgId, input: &PayerInput) -> CoreResult<Payer> {
    input.validate()?;
    let id = new_id();
    let t = now();
    diesel::insert_into(payers::table)
        .values((
            payers::id.eq(id.to_string()),
            payers::org_id.eq(org.as_str()),
            payers::name.eq(input.name.trim()),
            payers::payer_code.eq(input.payer_code.trim()),
            payers::claim_filing_indicator.eq(to_db(&input.claim_filing_indicator)),
            payers::timely_filing_days.eq(input
                .timely_filing_days
                .unwrap_or(DEFAULT_TIMELY_FILING_DAYS)),
            payers::appeal_limit_days.eq(input
                .appeal_limit_days
                .unwrap_or_else(|| default_appeal_days(input.claim_filing_indicator))),
            payers::follow_up_days.eq(input.follow_up_days.unwrap_or(DEFAULT_FOLLOW_UP_DAYS)),
            payers::active.eq(input.active.unwrap_or(true)),
            payers::version.eq(1),
            payers::created_at.eq(t),
            payers::updated_at.eq(t),
        ))
        .execute(conn)
        .map_err(|e| CoreError::from(e).conflict_means("a payer with this payer_code exists"))?;
    if let Some(ids) = &input.identifiers {
        replace_identifiers(conn, org, id, ids)?;
    }
    get(conn, org, id)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Payer> {
    org_row!(conn, payers, PayerRow, org, id, "payer")?
        .into_model()
        .and_then(|p| with_identifiers(conn, org, vec![p]))
        .map(|mut v| v.remove(0))
}

/// Fills in the payers' identifiers (one query).
fn with_identifiers(
    conn: &mut DbConnection,
    org: OrgId,
    mut list: Vec<Payer>,
) -> CoreResult<Vec<Payer>> {
    let ids: Vec<String> = list.iter().map(|p| p.id.to_string()).collect();
    let rows: Vec<(String, String, String)> = payer_identifiers::table
        .filter(payer_identifiers::org_id.eq(org.as_str()))
        .filter(payer_identifiers::payer_id.eq_any(ids))
        .select((
            payer_identifiers::payer_id,
            payer_identifiers::qualifier,
            payer_identifiers::value,
        ))
        .load(conn)?;
    for (payer, qualifier, value) in rows {
        let qualifier = PayerIdQualifier::parse(&qualifier)
            .ok_or_else(|| CoreError::Internal("stored payer id qualifier is unknown".into()))?;
        if let Some(p) = list.iter_mut().find(|p| p.id.to_string() == payer) {
            p.identifiers.push(PayerIdentifier { qualifier, value });
        }
    }
    for p in &mut list {
        p.identifiers.sort();
    }
    Ok(list)
}

/// Replaces a payer's identifiers. An id another payer of the org already has is a conflict
/// naming its place in the list.
pub fn replace_identifiers(
    conn: &mut DbConnection,
    org: OrgId,
    payer: Uuid,
    ids: &[PayerIdentifier],
) -> CoreResult<()> {
    diesel::delete(
        payer_identifiers::table
            .filter(payer_identifiers::org_id.eq(org.as_str()))
            .filter(payer_identifiers::payer_id.eq(payer.to_string())),
    )
    .execute(conn)?;
    for (i, id) in ids.iter().enumerate() {
        add_identifier(conn, org, payer, id).map_err(|e| {
            e.conflict_means(format!(
                "identifiers/{i}: another payer is known by this identifier"
            ))
        })?;
    }
    Ok(())
}

const IDENTIFIER_TAKEN: &str = "another payer is known by this identifier";

/// Adds one identifier to a payer; nothing when the payer has it already; a conflict when
/// another payer of the org has it.
pub fn add_identifier(
    conn: &mut DbConnection,
    org: OrgId,
    payer: Uuid,
    id: &PayerIdentifier,
) -> CoreResult<()> {
    let id = id.normalized();
    let owner: Option<String> = payer_identifiers::table
        .filter(payer_identifiers::org_id.eq(org.as_str()))
        .filter(payer_identifiers::qualifier.eq(id.qualifier.as_str()))
        .filter(payer_identifiers::value.eq(&id.value))
        .select(payer_identifiers::payer_id)
        .first(conn)
        .optional()?;
    match owner {
        Some(p) if p == payer.to_string() => return Ok(()),
        Some(_) => return Err(CoreError::Conflict(IDENTIFIER_TAKEN.into())),
        None => {}
    }
    diesel::insert_into(payer_identifiers::table)
        .values((
            payer_identifiers::id.eq(new_id().to_string()),
            payer_identifiers::org_id.eq(org.as_str()),
            payer_identifiers::payer_id.eq(payer.to_string()),
            payer_identifiers::qualifier.eq(id.qualifier.as_str()),
            payer_identifiers::value.eq(&id.value),
            payer_identifiers::created_at.eq(now()),
        ))
        .execute(conn)
        .map_err(|e| CoreError::from(e).conflict_means(IDENTIFIER_TAKEN))?;
    Ok(())
}

/// Which payer a remittance names, from every id it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identified {
    /// Every id that names a payer names this one.
    Payer(Uuid),
    /// No id names a payer of the organization.
    Unknown,
    /// The ids name different payers: nothing is posted to either.
    Ambiguous(Vec<Uuid>),
}

/// Finds the payer a remittance names: each found id is looked up among the payers'
/// identifiers of its kind, and a `payer_id` or `cms_plan_id` also among the payers'
/// `payer_code`s. Ids that match no payer are ignored (a payer has ids we do not know).
pub fn identify(
    conn: &mut DbConnection,
    org: OrgId,
    found: &[FoundPayerId],
) -> CoreResult<Identified> {
    let mut hits = std::collections::BTreeSet::new();
    for f in found {
        let value = f.value.trim().to_ascii_uppercase();
        if value.is_empty() {
            continue;
        }
        let by_alias: Vec<String> = payer_identifiers::table
            .filter(payer_identifiers::org_id.eq(org.as_str()))
            .filter(payer_identifiers::qualifier.eq(f.qualifier.as_str()))
            .filter(payer_identifiers::value.eq(&value))
            .select(payer_identifiers::payer_id)
            .load(conn)?;
        hits.extend(by_alias);
        if f.qualifier.matches_payer_code() {
            let by_code: Vec<String> = payers::table
                .filter(payers::org_id.eq(org.as_str()))
                .filter(payers::payer_code.eq(f.value.trim()))
                .select(payers::id)
                .load(conn)?;
            hits.extend(by_code);
        }
    }
    let ids = hits
        .iter()
        .map(|s| parse_id(s))
        .collect::<CoreResult<Vec<_>>>()?;
    Ok(match ids.as_slice() {
        [] => Identified::Unknown,
        [one] => Identified::Payer(*one),
        _ => Identified::Ambiguous(ids),
    })
}

pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &PayerInput,
) -> CoreResult<Payer> {
    input.validate()?;
    let current = get(conn, org, id)?;
    let updated = diesel::update(
        payers::table
            .filter(payers::org_id.eq(org.as_str()))
            .filter(payers::id.eq(id.to_string()))
            .filter(payers::version.eq(expected_version)),
    )
    .set((
        payers::name.eq(input.name.trim()),
        payers::payer_code.eq(input.payer_code.trim()),
        payers::claim_filing_indicator.eq(to_db(&input.claim_filing_indicator)),
        payers::timely_filing_days.eq(input
            .timely_filing_days
            .unwrap_or(current.timely_filing_days)),
        payers::appeal_limit_days.eq(input.appeal_limit_days.unwrap_or(current.appeal_limit_days)),
        payers::follow_up_days.eq(input.follow_up_days.unwrap_or(current.follow_up_days)),
        payers::active.eq(input.active.unwrap_or(current.active)),
        payers::version.eq(expected_version + 1),
        payers::updated_at.eq(now()),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "payer")?;
    if let Some(ids) = &input.identifiers {
        replace_identifiers(conn, org, id, ids)?;
    }
    get(conn, org, id)
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &PayerFilter,
    page: &ListParams,
) -> CoreResult<Page<Payer>> {
    let limit = page.limit()?;
    let mut q = payers::table
        .filter(payers::org_id.eq(org.as_str()))
        .filter(payers::id.gt(page.after()?))
        .into_boxed();
    if let Some(code) = &filter.payer_code {
        q = q.filter(payers::payer_code.eq(code.clone()));
    }
    if let Some(active) = filter.active {
        q = q.filter(payers::active.eq(active));
    }
    let rows: Vec<PayerRow> = q
        .order(payers::id.asc())
        .limit(limit + 1)
        .select(PayerRow::as_select())
        .load(conn)?;
    let mut page = page_of(rows, limit, PayerRow::into_model)?;
    page.items = with_identifiers(conn, org, page.items)?;
    Ok(page)
}

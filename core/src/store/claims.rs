use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::pagination::finish_page;
use super::schema::{claim_lines, claims, coverages};
use super::sql_types::DbDecimal;
use super::{
    DbConnection, ListParams, check_versioned_update, from_db, from_json, new_id, opt_id, org_row,
    parse_id, to_db, to_json,
};
use crate::access::OrgId;
use crate::codes::{Money, Units};
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::claim::{
    Claim, ClaimFilter, ClaimInput, ClaimLine, ClaimStatus, ClaimUpdate,
    MAX_PATIENT_CONTROL_NUMBER_LEN,
};
use crate::model::common::{now, utc};
use crate::model::encounter::ServiceLine;

#[derive(Queryable, Selectable)]
#[diesel(table_name = claims)]
struct ClaimRow {
    id: String,
    encounter_id: String,
    patient_id: String,
    coverage_id: Option<String>,
    payer_id: Option<String>,
    billing_provider_id: String,
    rendering_provider_id: Option<String>,
    patient_control_number: String,
    frequency_code: String,
    original_claim_id: Option<String>,
    original_reference: Option<String>,
    status: String,
    place_of_service: String,
    service_date_from: chrono::NaiveDate,
    service_date_to: chrono::NaiveDate,
    prior_authorization: Option<String>,
    diagnoses: String,
    total_charge: DbDecimal,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = claim_lines)]
struct LineRow {
    id: String,
    claim_id: String,
    line_number: i32,
    procedure_code: String,
    modifiers: String,
    units: DbDecimal,
    charge: DbDecimal,
    diagnosis_pointers: String,
    service_date: chrono::NaiveDate,
}

fn money(d: DbDecimal) -> CoreResult<Money> {
    Money::from_decimal(d.0)
        .map_err(|_| CoreError::Internal("stored amount is out of range".into()))
}

impl LineRow {
    fn into_model(self) -> CoreResult<ClaimLine> {
        Ok(ClaimLine {
            id: parse_id(&self.id)?,
            line_number: self.line_number,
            line: ServiceLine {
                procedure_code: from_db(&self.procedure_code, "procedure code")?,
                modifiers: from_json(&self.modifiers, "modifiers")?,
                units: Units::parse(&self.units.0.normalize().to_string())
                    .map_err(|_| CoreError::Internal("stored units do not parse".into()))?,
                charge: money(self.charge)?,
                diagnosis_pointers: from_json(&self.diagnosis_pointers, "diagnosis pointers")?,
                service_date: Some(self.service_date),
            },
        })
    }
}

impl ClaimRow {
    fn into_model(self, lines: Vec<ClaimLine>) -> CoreResult<Claim> {
        Ok(Claim {
            id: parse_id(&self.id)?,
            encounter_id: parse_id(&self.encounter_id)?,
            patient_id: parse_id(&self.patient_id)?,
            coverage_id: opt_id(self.coverage_id)?,
            payer_id: opt_id(self.payer_id)?,
            billing_provider_id: parse_id(&self.billing_provider_id)?,
            rendering_provider_id: opt_id(self.rendering_provider_id)?,
            patient_control_number: self.patient_control_number,
            frequency_code: from_db(&self.frequency_code, "frequency code")?,
            original_claim_id: opt_id(self.original_claim_id)?,
            original_reference: self.original_reference,
            status: ClaimStatus::parse(&self.status)
                .ok_or_else(|| CoreError::Internal("stored claim status does not parse".into()))?,
            place_of_service: from_db(&self.place_of_service, "place of service")?,
            service_date_from: self.service_date_from,
            service_date_to: self.service_date_to,
            prior_authorization: self.prior_authorization,
            diagnoses: from_json(&self.diagnoses, "diagnoses")?,
            lines,
            total_charge: money(self.total_charge)?,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A patient control number (CLM01, at most 20 characters) that is unique without a shared
/// counter, so several API instances can create claims at once: the claim id's 48-bit
/// millisecond timestamp and 48 of its random bits, in Crockford base32 (20 characters).
pub fn patient_control_number(claim_id: Uuid) -> String {
    let b = claim_id.as_bytes();
    let mut bits: u128 = 0;
    for &x in b[..6].iter().chain(&b[10..16]) {
        bits = (bits << 8) | u128::from(x);
    }
    let mut out = [0u8; MAX_PATIENT_CONTROL_NUMBER_LEN];
    for slot in out.iter_mut().rev() {
        *slot = CROCKFORD[(bits & 31) as usize];
        bits >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn insert_lines(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
    lines: &[ServiceLine],
    default_date: chrono::NaiveDate,
) -> CoreResult<()> {
    for (i, l) in lines.iter().enumerate() {
        diesel::insert_into(claim_lines::table)
            .values((
                claim_lines::id.eq(new_id().to_string()),
                claim_lines::org_id.eq(org.as_str()),
                claim_lines::claim_id.eq(claim_id.to_string()),
                claim_lines::line_number.eq(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                claim_lines::procedure_code.eq(l.procedure_code.as_str()),
                claim_lines::modifiers.eq(to_json(&l.modifiers)),
                claim_lines::units.eq(DbDecimal(l.units.as_decimal())),
                claim_lines::charge.eq(DbDecimal(l.charge.as_decimal())),
                claim_lines::diagnosis_pointers.eq(to_json(&l.diagnosis_pointers)),
                claim_lines::service_date.eq(l.service_date.unwrap_or(default_date)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn total(lines: &[ServiceLine]) -> Decimal {
    lines.iter().map(|l| l.charge).sum::<Money>().as_decimal()
}

/// Create a claim from a coded encounter: copy its coding, pick the payer from its coverage,
/// assign a patient control number and total the charges. Run inside a transaction.
pub fn create(conn: &mut DbConnection, org: OrgId, input: &ClaimInput) -> CoreResult<Claim> {
    // The rules and the references, all in one answer.
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    let enc = match super::encounters::get(conn, org, input.encounter_id) {
        Ok(enc) => Some(enc),
        Err(CoreError::NotFound { .. }) => {
            e.add("/encounter_id", "no such encounter");
            None
        }
        Err(other) => return Err(other),
    };
    if let Some(orig) = input.original_claim_id {
        match get(conn, org, orig) {
            Ok(original) => e.check(
                enc.as_ref()
                    .is_none_or(|enc| original.patient_id == enc.patient_id),
                "/original_claim_id",
                "the original claim is for another patient",
            ),
            Err(CoreError::NotFound { .. }) => e.add("/original_claim_id", "no such claim"),
            Err(other) => return Err(other),
        }
    }
    e.finish()?;
    let enc = enc.ok_or(CoreError::NotFound {
        resource: "encounter",
    })?;
    let payer_id: Option<String> = match enc.coverage_id {
        None => None,
        Some(c) => coverages::table
            .filter(coverages::org_id.eq(org.as_str()))
            .filter(coverages::id.eq(c.to_string()))
            .select(coverages::payer_id)
            .get_result(conn)
            .optional()?,
    };
    let id = new_id();
    let t = now();
    diesel::insert_into(claims::table)
        .values((
            (
                claims::id.eq(id.to_string()),
                claims::org_id.eq(org.as_str()),
                claims::encounter_id.eq(enc.id.to_string()),
                claims::patient_id.eq(enc.patient_id.to_string()),
                claims::coverage_id.eq(enc.coverage_id.map(|c| c.to_string())),
                claims::payer_id.eq(payer_id),
                claims::billing_provider_id.eq(enc.billing_provider_id.to_string()),
                claims::rendering_provider_id.eq(enc.rendering_provider_id.map(|c| c.to_string())),
                claims::patient_control_number.eq(patient_control_number(id)),
                claims::frequency_code.eq(to_db(&input.frequency())),
                claims::original_claim_id.eq(input.original_claim_id.map(|c| c.to_string())),
            ),
            (
                claims::original_reference.eq(input
                    .original_reference
                    .as_ref()
                    .map(|r| r.trim().to_string())),
                claims::status.eq(ClaimStatus::Draft.as_str()),
                claims::place_of_service.eq(to_db(&enc.place_of_service)),
                claims::service_date_from.eq(enc.service_date_from),
                claims::service_date_to.eq(enc.service_date_to),
                claims::prior_authorization.eq(enc.prior_authorization.clone()),
                claims::diagnoses.eq(to_json(&enc.diagnoses)),
                claims::total_charge.eq(DbDecimal(total(&enc.lines))),
                claims::version.eq(1),
                claims::created_at.eq(t),
                claims::updated_at.eq(t),
            ),
        ))
        .execute(conn)?;
    insert_lines(conn, org, id, &enc.lines, enc.service_date_from)?;
    get(conn, org, id)
}

fn load_lines(
    conn: &mut DbConnection,
    org: OrgId,
    claim_ids: &[String],
) -> CoreResult<Vec<LineRow>> {
    Ok(claim_lines::table
        .filter(claim_lines::org_id.eq(org.as_str()))
        .filter(claim_lines::claim_id.eq_any(claim_ids))
        .order((claim_lines::claim_id.asc(), claim_lines::line_number.asc()))
        .select(LineRow::as_select())
        .load(conn)?)
}

/// Locks the claim's row until the caller's transaction ends, so that a check of its status
/// and what follows are not interleaved with another transaction's (PostgreSQL; SQLite's
/// write transactions are serialised already).
pub fn lock_for_update(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT id FROM claims WHERE org_id = $1 AND id = $2 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(org.as_str())
            .bind::<diesel::sql_types::Text, _>(id.to_string())
            .execute(c)?;
    }
    Ok(())
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Claim> {
    let row = org_row!(conn, claims, ClaimRow, org, id, "claim")?;
    let lines = load_lines(conn, org, std::slice::from_ref(&row.id))?
        .into_iter()
        .map(LineRow::into_model)
        .collect::<CoreResult<Vec<_>>>()?;
    row.into_model(lines)
}

/// Recode a draft claim. Anything past draft is changed through the billing lifecycle instead.
pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &ClaimUpdate,
) -> CoreResult<Claim> {
    let current = get(conn, org, id)?;
    input.validate(current.service_date_from, current.service_date_to)?;
    if current.status != ClaimStatus::Draft {
        return Err(CoreError::Conflict(format!(
            "only a draft claim can be recoded; this claim is {}",
            current.status.as_str()
        )));
    }
    let updated = diesel::update(
        claims::table
            .filter(claims::org_id.eq(org.as_str()))
            .filter(claims::id.eq(id.to_string()))
            .filter(claims::version.eq(expected_version)),
    )
    .set((
        claims::place_of_service.eq(to_db(&input.place_of_service)),
        claims::prior_authorization.eq(input.prior_authorization.clone()),
        claims::diagnoses.eq(to_json(&input.diagnoses)),
        claims::total_charge.eq(DbDecimal(total(&input.lines))),
        claims::version.eq(expected_version + 1),
        claims::updated_at.eq(now()),
    ))
    .execute(conn)?;
    check_versioned_update(updated, Some(current.version), "claim")?;
    // A draft's lines were never billed, so replacing them loses no billing history.
    diesel::delete(
        claim_lines::table
            .filter(claim_lines::org_id.eq(org.as_str()))
            .filter(claim_lines::claim_id.eq(id.to_string())),
    )
    .execute(conn)?;
    insert_lines(conn, org, id, &input.lines, current.service_date_from)?;
    get(conn, org, id)
}

/// Every claim of a patient with its lines (for duplicate detection and statements).
pub fn for_patient(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<Vec<Claim>> {
    let rows: Vec<ClaimRow> = claims::table
        .filter(claims::org_id.eq(org.as_str()))
        .filter(claims::patient_id.eq(patient_id.to_string()))
        .order(claims::id.asc())
        .select(ClaimRow::as_select())
        .load(conn)?;
    with_lines(conn, org, rows)
}

/// The claims with these ids (in the org), with their lines; unknown ids are skipped.
pub fn get_many(conn: &mut DbConnection, org: OrgId, ids: &[Uuid]) -> CoreResult<Vec<Claim>> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(super::IN_LIST_CHUNK) {
        let rows: Vec<ClaimRow> = claims::table
            .filter(claims::org_id.eq(org.as_str()))
            .filter(claims::id.eq_any(chunk.to_vec()))
            .order(claims::id.asc())
            .select(ClaimRow::as_select())
            .load(conn)?;
        out.extend(with_lines(conn, org, rows)?);
    }
    Ok(out)
}

/// Claims whose patient control number is one of `pcns` (case-insensitive matching is the
/// planner's; control numbers are stored upper case).
pub fn by_control_numbers(
    conn: &mut DbConnection,
    org: OrgId,
    pcns: &[String],
) -> CoreResult<Vec<Claim>> {
    let mut wanted: Vec<String> = pcns.iter().map(|p| p.trim().to_ascii_uppercase()).collect();
    wanted.sort();
    wanted.dedup();
    let mut out = Vec::new();
    for chunk in wanted.chunks(super::IN_LIST_CHUNK) {
        let rows: Vec<ClaimRow> = claims::table
            .filter(claims::org_id.eq(org.as_str()))
            .filter(claims::patient_control_number.eq_any(chunk.to_vec()))
            .select(ClaimRow::as_select())
            .load(conn)?;
        out.extend(with_lines(conn, org, rows)?);
    }
    Ok(out)
}

fn with_lines(conn: &mut DbConnection, org: OrgId, rows: Vec<ClaimRow>) -> CoreResult<Vec<Claim>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut by_claim: std::collections::HashMap<String, Vec<ClaimLine>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(super::IN_LIST_CHUNK) {
        for l in load_lines(conn, org, chunk)? {
            by_claim
                .entry(l.claim_id.clone())
                .or_default()
                .push(l.into_model()?);
        }
    }
    rows.into_iter()
        .map(|r| {
            let ls = by_claim.remove(&r.id).unwrap_or_default();
            r.into_model(ls)
        })
        .collect()
}

/// Move a claim from `from` to `to` (the caller checked the edge), bumping its version. A
/// concurrent change of status is a conflict.
pub(crate) fn set_status(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    from: ClaimStatus,
    to: ClaimStatus,
    at: NaiveDateTime,
) -> CoreResult<()> {
    let id = id.to_string();
    let target = || {
        claims::table
            .filter(claims::org_id.eq(org.as_str()))
            .filter(claims::id.eq(id.as_str()))
            .filter(claims::status.eq(from.as_str()))
    };
    let (status, version, updated_at) = (
        claims::status.eq(to.as_str()),
        claims::version.eq(claims::version + 1),
        claims::updated_at.eq(now()),
    );
    let n = if to == ClaimStatus::Submitted {
        // The earliest submission, kept for the reports (the KPIs' clean-claim count, the
        // aging by submission date) so they need not group every claim's transitions; set in
        // the same statement, so the row gets one new version, not two.
        let earliest = case_when::<_, _, Nullable<Timestamp>>(
            claims::first_submitted_at
                .is_null()
                .or(claims::first_submitted_at.gt(at)),
            at,
        )
        .otherwise(claims::first_submitted_at);
        diesel::update(target())
            .set((
                status,
                version,
                updated_at,
                claims::first_submitted_at.eq(earliest),
            ))
            .execute(conn)?
    } else {
        diesel::update(target())
            .set((status, version, updated_at))
            .execute(conn)?
    };
    if n != 1 {
        return Err(CoreError::Conflict(
            "the claim's status changed while this request ran; read it again".into(),
        ));
    }
    Ok(())
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &ClaimFilter,
    page: &ListParams,
) -> CoreResult<Page<Claim>> {
    let limit = page.limit()?;
    let mut q = claims::table
        .filter(claims::org_id.eq(org.as_str()))
        .filter(claims::id.gt(page.after()?))
        .into_boxed();
    if let Some(p) = filter.patient_id {
        q = q.filter(claims::patient_id.eq(p.to_string()));
    }
    if let Some(p) = filter.encounter_id {
        q = q.filter(claims::encounter_id.eq(p.to_string()));
    }
    if let Some(p) = filter.payer_id {
        q = q.filter(claims::payer_id.eq(p.to_string()));
    }
    if let Some(s) = filter.status {
        q = q.filter(claims::status.eq(s.as_str()));
    }
    if let Some(pcn) = &filter.patient_control_number {
        q = q.filter(claims::patient_control_number.eq(pcn.clone()));
    }
    let rows: Vec<ClaimRow> = q
        .order(claims::id.asc())
        .limit(limit + 1)
        .select(ClaimRow::as_select())
        .load(conn)?;
    Ok(finish_page(with_lines(conn, org, rows)?, limit, |c| c.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_numbers_are_twenty_chars_and_distinct() {
        let a = patient_control_number(Uuid::now_v7());
        let b = patient_control_number(Uuid::now_v7());
        assert_eq!(a.len(), 20);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}

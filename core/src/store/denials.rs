//! The denial work queue's storage: denials (created by a posting), their notes (encrypted)
//! and the steps taken on them (the claim's history). Repositories only: which adjustments are
//! denials and which status may follow which are decided in `billing::denials`.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::encrypted::{EncryptedTable, Rotated, rotated, rotation_queries};
use super::ledger::cents;
use super::pagination::{finish_page, page_of};
use super::schema::{denial_events, denial_notes, denials};
use super::sql_types::DbDecimal;
use super::{
    DbConnection, KeyRing, ListParams, check_versioned_update, from_db, from_json, new_id, opt_id,
    org_row, parse_id, to_db, to_json,
};
use crate::access::OrgId;
use crate::billing::denials::appeals::due_soon;
use crate::billing::denials::{DenialCategory, DenialStatus};
use crate::error::{CoreError, CoreResult};
use crate::model::Page;
use crate::model::common::{now, utc};
use crate::model::denial::{Denial, DenialEvent, DenialNote};
use crate::model::event::{DenialResolved, EventData};
use crate::model::remittance::AdjustmentGroup;
use crate::phi::OrgKeys;

const NOTES: &str = "denial_notes";

/// A denial as a posting creates it.
#[derive(Debug, Clone)]
pub struct NewDenial {
    pub claim_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub payer_id: Uuid,
    pub remittance_id: Uuid,
    pub posting_id: Uuid,
    /// Its place among the posting's denials (with the posting, what makes it unique).
    pub position: usize,
    pub procedure_code: Option<String>,
    pub group: AdjustmentGroup,
    pub carc: String,
    pub rarcs: Vec<String>,
    pub amount: Decimal,
    pub category: DenialCategory,
    pub avoidable: bool,
    pub partial: bool,
    /// The last day to appeal (the remittance date plus the payer's window).
    pub appeal_deadline: NaiveDate,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = denials)]
struct DenialRow {
    id: String,
    claim_id: String,
    claim_line_id: Option<String>,
    patient_id: String,
    payer_id: String,
    remittance_id: String,
    procedure_code: Option<String>,
    group_code: String,
    carc: String,
    rarcs: String,
    amount: DbDecimal,
    category: String,
    avoidable: bool,
    partial: bool,
    status: String,
    assignee: Option<String>,
    follow_up_on: Option<NaiveDate>,
    resubmission_claim_id: Option<String>,
    appeal_deadline: Option<NaiveDate>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl DenialRow {
    fn into_model(self) -> CoreResult<Denial> {
        let claim_line_id = opt_id(self.claim_line_id)?;
        let status = status(&self.status)?;
        let appeal_deadline = self
            .appeal_deadline
            .ok_or_else(|| CoreError::Internal("a denial has no appeal deadline".into()))?;
        Ok(Denial {
            id: parse_id(&self.id)?,
            claim_id: parse_id(&self.claim_id)?,
            level: if claim_line_id.is_some() {
                "line"
            } else {
                "claim"
            }
            .into(),
            claim_line_id,
            patient_id: parse_id(&self.patient_id)?,
            payer_id: parse_id(&self.payer_id)?,
            remittance_id: parse_id(&self.remittance_id)?,
            procedure_code: self.procedure_code,
            group: from_db(&self.group_code, "adjustment group")?,
            carc: self.carc,
            rarcs: from_json(&self.rarcs, "remark codes")?,
            amount: cents(self.amount.0),
            category: DenialCategory::parse(&self.category).ok_or_else(|| {
                CoreError::Internal("stored denial category does not parse".into())
            })?,
            avoidable: self.avoidable,
            partial: self.partial,
            status,
            assignee: self.assignee,
            follow_up_on: self.follow_up_on,
            resubmission_claim_id: opt_id(self.resubmission_claim_id)?,
            appeal_deadline,
            appeal_due_soon: due_soon(status, appeal_deadline, chrono::Utc::now().date_naive()),
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

fn status(s: &str) -> CoreResult<DenialStatus> {
    DenialStatus::parse(s)
        .ok_or_else(|| CoreError::Internal("stored denial status does not parse".into()))
}

/// An amount in whole cents (the queue's amount filter).
pub fn amount_cents(amount: Decimal) -> i64 {
    let c = (cents(amount) * Decimal::ONE_HUNDRED).trunc();
    i64::try_from(c).unwrap_or(i64::MAX)
}

/// Stores a new open denial in the caller's transaction.
pub fn insert(conn: &mut DbConnection, org: OrgId, d: &NewDenial) -> CoreResult<Denial> {
    let id = new_id();
    let at = now();
    diesel::insert_into(denials::table)
        .values((
            denials::id.eq(id.to_string()),
            denials::org_id.eq(org.as_str()),
            denials::claim_id.eq(d.claim_id.to_string()),
            denials::claim_line_id.eq(d.claim_line_id.map(|l| l.to_string())),
            denials::patient_id.eq(d.patient_id.to_string()),
            denials::payer_id.eq(d.payer_id.to_string()),
            denials::remittance_id.eq(d.remittance_id.to_string()),
            denials::posting_id.eq(d.posting_id.to_string()),
            denials::position.eq(i32::try_from(d.position).unwrap_or(i32::MAX)),
            denials::procedure_code.eq(d.procedure_code.clone()),
            denials::group_code.eq(to_db(&d.group)),
            denials::carc.eq(d.carc.trim()),
            denials::rarcs.eq(to_json(&d.rarcs)),
            denials::amount.eq(DbDecimal(cents(d.amount))),
            denials::amount_cents.eq(amount_cents(d.amount)),
            denials::category.eq(d.category.as_str()),
            denials::avoidable.eq(d.avoidable),
            denials::partial.eq(d.partial),
            denials::status.eq(DenialStatus::Open.as_str()),
            denials::appeal_deadline.eq(Some(d.appeal_deadline)),
            denials::version.eq(1),
            denials::created_at.eq(at),
            denials::updated_at.eq(at),
        ))
        .execute(conn)?;
    get(conn, org, id)
}

/// The position the next denial of a posting takes: a claim payment posted by hand later
/// (from the unmatched queue) adds its denials after those the posting found.
pub fn next_position(conn: &mut DbConnection, org: OrgId, posting_id: Uuid) -> CoreResult<usize> {
    let n: i64 = denials::table
        .filter(denials::org_id.eq(org.as_str()))
        .filter(denials::posting_id.eq(posting_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Denial> {
    org_row!(conn, denials, DenialRow, org, id, "denial")?.into_model()
}

/// The queue's filters; each one given narrows the list.
#[derive(Debug, Clone, Default)]
pub struct DenialFilter {
    pub payer_id: Option<Uuid>,
    pub claim_id: Option<Uuid>,
    pub category: Option<DenialCategory>,
    pub carc: Option<String>,
    pub status: Option<DenialStatus>,
    /// Exact subject.
    pub assignee: Option<String>,
    /// Only denials nobody is assigned to.
    pub unassigned: bool,
    /// Found at or before this time (the minimum age).
    pub created_before: Option<NaiveDateTime>,
    /// Found at or after this time (the maximum age).
    pub created_after: Option<NaiveDateTime>,
    pub min_amount_cents: Option<i64>,
    pub max_amount_cents: Option<i64>,
    /// A follow-up date on or before this day.
    pub follow_up_by: Option<NaiveDate>,
    /// An appeal deadline on or before this day.
    pub appeal_deadline_by: Option<NaiveDate>,
    pub order: DenialOrder,
}

/// The order of the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DenialOrder {
    /// Oldest first (as the postings found them).
    #[default]
    Found,
    /// Nearest appeal deadline first (then oldest first).
    AppealDeadline,
}

/// A deadline-ordered page's cursor: the last row's deadline (days from the common era) and id.
fn deadline_cursor(deadline: NaiveDate, id: Uuid) -> String {
    use base64::Engine as _;
    let mut bytes = deadline.num_days_from_ce().to_be_bytes().to_vec();
    bytes.extend_from_slice(id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn parse_deadline_cursor(c: &str) -> CoreResult<(NaiveDate, Uuid)> {
    use base64::Engine as _;
    let bad = || CoreError::invalid("/cursor", "is not a cursor this API returned");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    if bytes.len() != 20 {
        return Err(bad());
    }
    let days = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let day = NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(bad)?;
    Ok((day, Uuid::from_slice(&bytes[4..]).map_err(|_| bad())?))
}

/// A page of the org's denials matching `f`, in `f.order`.
pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    f: &DenialFilter,
    page: &ListParams,
) -> CoreResult<Page<Denial>> {
    let limit = page.limit()?;
    let mut q = denials::table
        .filter(denials::org_id.eq(org.as_str()))
        .into_boxed();
    q = match (f.order, &page.cursor) {
        (DenialOrder::Found, _) => q.filter(denials::id.gt(page.after()?)),
        (DenialOrder::AppealDeadline, None) => q,
        (DenialOrder::AppealDeadline, Some(c)) => {
            let (day, id) = parse_deadline_cursor(c)?;
            q.filter(
                denials::appeal_deadline.gt(day).or(denials::appeal_deadline
                    .eq(day)
                    .and(denials::id.gt(id.to_string()))),
            )
        }
    };
    if let Some(p) = f.payer_id {
        q = q.filter(denials::payer_id.eq(p.to_string()));
    }
    if let Some(c) = f.claim_id {
        q = q.filter(denials::claim_id.eq(c.to_string()));
    }
    if let Some(c) = f.category {
        q = q.filter(denials::category.eq(c.as_str()));
    }
    if let Some(c) = &f.carc {
        q = q.filter(denials::carc.eq(c.trim().to_string()));
    }
    if let Some(s) = f.status {
        q = q.filter(denials::status.eq(s.as_str()));
    }
    if let Some(a) = &f.assignee {
        q = q.filter(denials::assignee.eq(a.clone()));
    }
    if f.unassigned {
        q = q.filter(denials::assignee.is_null());
    }
    if let Some(t) = f.created_before {
        q = q.filter(denials::created_at.le(t));
    }
    if let Some(t) = f.created_after {
        q = q.filter(denials::created_at.ge(t));
    }
    if let Some(c) = f.min_amount_cents {
        q = q.filter(denials::amount_cents.ge(c));
    }
    if let Some(c) = f.max_amount_cents {
        q = q.filter(denials::amount_cents.le(c));
    }
    if let Some(d) = f.follow_up_by {
        q = q.filter(denials::follow_up_on.le(d));
    }
    if let Some(d) = f.appeal_deadline_by {
        q = q.filter(denials::appeal_deadline.le(d));
    }
    q = match f.order {
        DenialOrder::Found => q.order(denials::id.asc()),
        DenialOrder::AppealDeadline => q.order((denials::appeal_deadline.asc(), denials::id.asc())),
    };
    let rows: Vec<DenialRow> = q
        .limit(limit + 1)
        .select(DenialRow::as_select())
        .load(conn)?;
    match f.order {
        DenialOrder::Found => page_of(rows, limit, DenialRow::into_model),
        DenialOrder::AppealDeadline => {
            let items = rows
                .into_iter()
                .map(DenialRow::into_model)
                .collect::<CoreResult<Vec<_>>>()?;
            let mut p = finish_page(items, limit, |d| d.id);
            if p.next_cursor.is_some() {
                p.next_cursor = p
                    .items
                    .last()
                    .map(|d| deadline_cursor(d.appeal_deadline, d.id));
            }
            Ok(p)
        }
    }
}

/// The open denials a payment of `claim_id` in full settles: those whose resubmitted claim it
/// is, and those of the claim itself under appeal.
pub fn settled_by(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<Vec<Denial>> {
    let c = claim_id.to_string();
    denials::table
        .filter(denials::org_id.eq(org.as_str()))
        .filter(
            denials::resubmission_claim_id.eq(&c).or(denials::claim_id
                .eq(&c)
                .and(denials::status.eq(DenialStatus::Appealed.as_str()))),
        )
        .filter(denials::status.ne(DenialStatus::Resolved.as_str()))
        .filter(denials::status.ne(DenialStatus::WrittenOff.as_str()))
        .order(denials::id.asc())
        .select(DenialRow::as_select())
        .load::<DenialRow>(conn)?
        .into_iter()
        .map(DenialRow::into_model)
        .collect()
}

/// What one step changes on a denial.
#[derive(Debug, Clone)]
pub enum Change {
    Assignee(Option<String>),
    FollowUp(Option<NaiveDate>),
    /// A status; the same status again only moves the version (the denial changed otherwise,
    /// e.g. a partial write-off).
    Status(DenialStatus),
    /// A corrected or void claim was made from it.
    Resubmitted {
        claim_id: Uuid,
        status: DenialStatus,
    },
}

/// Applies a change when the denial is still at `version` (compare-and-set); a denial changed
/// meanwhile is a version mismatch.
pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    version: i32,
    change: &Change,
) -> CoreResult<Denial> {
    let target = denials::table
        .filter(denials::org_id.eq(org.as_str()))
        .filter(denials::id.eq(id.to_string()))
        .filter(denials::version.eq(version));
    let bump = (
        denials::version.eq(version + 1),
        denials::updated_at.eq(now()),
    );
    let updated = match change {
        Change::Assignee(a) => diesel::update(target)
            .set((denials::assignee.eq(a.clone()), bump))
            .execute(conn)?,
        Change::FollowUp(d) => diesel::update(target)
            .set((denials::follow_up_on.eq(*d), bump))
            .execute(conn)?,
        Change::Status(s) => diesel::update(target)
            .set((denials::status.eq(s.as_str()), bump))
            .execute(conn)?,
        Change::Resubmitted { claim_id, status } => diesel::update(target)
            .set((
                denials::resubmission_claim_id.eq(Some(claim_id.to_string())),
                denials::status.eq(status.as_str()),
                bump,
            ))
            .execute(conn)?,
    };
    let current = denials::table
        .filter(denials::org_id.eq(org.as_str()))
        .filter(denials::id.eq(id.to_string()))
        .select(denials::version)
        .first::<i32>(conn)
        .optional()?;
    check_versioned_update(updated, current, "denial")?;
    let d = get(conn, org, id)?;
    // Every status change passes here (a step, an appeal, a write-off, a payment): the one
    // that closes the denial is told, in its transaction. A closed denial moves no more.
    let moved = matches!(change, Change::Status(_) | Change::Resubmitted { .. });
    if moved && d.status.is_closed() {
        super::events::emit(
            conn,
            org,
            &EventData::DenialResolved(DenialResolved {
                denial_id: d.id,
                claim_id: d.claim_id,
                status: d.status,
                amount: d.amount,
            }),
        )?;
    }
    Ok(d)
}

/// Records a step in the claim's history, in the caller's transaction.
pub fn record_event(
    conn: &mut DbConnection,
    org: OrgId,
    denial: &Denial,
    action: &str,
    actor: &str,
    detail: serde_json::Value,
) -> CoreResult<DenialEvent> {
    let id = new_id();
    let at = now();
    diesel::insert_into(denial_events::table)
        .values((
            denial_events::id.eq(id.to_string()),
            denial_events::org_id.eq(org.as_str()),
            denial_events::denial_id.eq(denial.id.to_string()),
            denial_events::claim_id.eq(denial.claim_id.to_string()),
            denial_events::action.eq(action),
            denial_events::actor.eq(actor),
            denial_events::detail.eq(detail.to_string()),
            denial_events::at.eq(at),
        ))
        .execute(conn)?;
    Ok(DenialEvent {
        id,
        denial_id: denial.id,
        claim_id: denial.claim_id,
        action: action.into(),
        actor: actor.into(),
        detail,
        at: utc(at),
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = denial_events)]
struct EventRow {
    id: String,
    denial_id: String,
    claim_id: String,
    action: String,
    actor: String,
    detail: String,
    at: NaiveDateTime,
}

impl EventRow {
    fn into_model(self) -> CoreResult<DenialEvent> {
        Ok(DenialEvent {
            id: parse_id(&self.id)?,
            denial_id: parse_id(&self.denial_id)?,
            claim_id: parse_id(&self.claim_id)?,
            action: self.action,
            actor: self.actor,
            detail: from_json(&self.detail, "denial event")?,
            at: utc(self.at),
        })
    }
}

/// Whose steps to read.
#[derive(Debug, Clone, Copy)]
pub enum StepsOf {
    /// One denial's.
    Denial(Uuid),
    /// Every denial's of a claim (the claim's history).
    Claim(Uuid),
}

/// The steps taken on a denial, or on every denial of a claim, oldest first.
pub fn events(conn: &mut DbConnection, org: OrgId, of: StepsOf) -> CoreResult<Vec<DenialEvent>> {
    let q = denial_events::table
        .filter(denial_events::org_id.eq(org.as_str()))
        .order(denial_events::id.asc())
        .select(EventRow::as_select())
        .into_boxed();
    let q = match of {
        StepsOf::Denial(id) => q.filter(denial_events::denial_id.eq(id.to_string())),
        StepsOf::Claim(id) => q.filter(denial_events::claim_id.eq(id.to_string())),
    };
    q.load::<EventRow>(conn)?
        .into_iter()
        .map(EventRow::into_model)
        .collect()
}

/// Adds a note, its text encrypted with the org's data key.
pub fn add_note(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    denial_id: Uuid,
    author: &str,
    text: &str,
) -> CoreResult<DenialNote> {
    let keys = keyring.keys(conn, org)?;
    let id = new_id();
    let at = now();
    let ct = RowCrypt::new(&keys, org, NOTES, id).enc("text_ct", text);
    diesel::insert_into(denial_notes::table)
        .values((
            denial_notes::id.eq(id.to_string()),
            denial_notes::org_id.eq(org.as_str()),
            denial_notes::denial_id.eq(denial_id.to_string()),
            denial_notes::author.eq(author),
            denial_notes::text_ct.eq(ct),
            denial_notes::key_version.eq(keys.active_version()),
            denial_notes::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(DenialNote {
        id,
        patient_id: Uuid::nil(),
        denial_id,
        author: author.into(),
        text: text.into(),
        created_at: utc(at),
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = denial_notes)]
struct NoteRow {
    id: String,
    denial_id: String,
    author: String,
    text_ct: Vec<u8>,
    key_version: i32,
    created_at: NaiveDateTime,
}

impl NoteRow {
    fn decrypt(self, keys: &OrgKeys, org: OrgId) -> CoreResult<DenialNote> {
        let id = parse_id(&self.id)?;
        Ok(DenialNote {
            text: RowCrypt::new(keys, org, NOTES, id).dec("text_ct", &self.text_ct)?,
            id,
            patient_id: Uuid::nil(),
            denial_id: parse_id(&self.denial_id)?,
            author: self.author,
            created_at: utc(self.created_at),
        })
    }
}

/// A denial's notes, decrypted, oldest first.
pub fn notes(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    denial_id: Uuid,
) -> CoreResult<Vec<DenialNote>> {
    let keys = keyring.keys(conn, org)?;
    denial_notes::table
        .filter(denial_notes::org_id.eq(org.as_str()))
        .filter(denial_notes::denial_id.eq(denial_id.to_string()))
        .order(denial_notes::id.asc())
        .select(NoteRow::as_select())
        .load::<NoteRow>(conn)?
        .into_iter()
        .map(|r| r.decrypt(&keys, org))
        .collect()
}

/// Key rotation: notes are re-encrypted.
pub(crate) const ROTATION: Rotated = rotated::<NoteRow>();

impl EncryptedTable for NoteRow {
    rotation_queries!(denial_notes, id, NoteRow);

    fn rewrite(self, conn: &mut DbConnection, keys: &OrgKeys, org: OrgId) -> CoreResult<usize> {
        let c = RowCrypt::new(keys, org, NOTES, parse_id(&self.id)?);
        let text = c.reencrypted("text_ct", self.text_ct)?;
        Ok(diesel::update(
            denial_notes::table
                .filter(denial_notes::org_id.eq(org.as_str()))
                .filter(denial_notes::id.eq(&self.id))
                .filter(denial_notes::key_version.eq(self.key_version)),
        )
        .set((
            denial_notes::text_ct.eq(text),
            denial_notes::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rotation;
    use crate::store::testing::{TestEngine, on_each_engine, setup_on, without_references};

    on_each_engine!(
        the_queue_filters_pages_and_updates_by_version,
        notes_are_encrypted_read_back_and_rotated,
        the_queue_sorts_and_pages_by_appeal_deadline
    );

    fn new(payer: Uuid, claim: Uuid, position: usize, carc: &str, amount: &str) -> NewDenial {
        let class = crate::billing::denials::classify(carc);
        NewDenial {
            claim_id: claim,
            claim_line_id: position.is_multiple_of(2).then(Uuid::now_v7),
            patient_id: Uuid::now_v7(),
            payer_id: payer,
            remittance_id: Uuid::now_v7(),
            posting_id: Uuid::nil(),
            position,
            procedure_code: Some("99213".into()),
            group: AdjustmentGroup::CO,
            carc: carc.into(),
            rarcs: vec!["M51".into()],
            amount: amount.parse().unwrap(),
            category: class.category,
            avoidable: class.avoidable,
            partial: false,
            appeal_deadline: NaiveDate::from_ymd_opt(2027, 5, 19).unwrap(),
        }
    }

    fn the_queue_filters_pages_and_updates_by_version(engine: TestEngine) {
        let (_db, mut conn, _keyring, org) = setup_on(engine);
        without_references(&mut conn);
        let (acme, beacon) = (Uuid::now_v7(), Uuid::now_v7());
        let claim = Uuid::now_v7();
        let a = insert(&mut conn, org, &new(acme, claim, 0, "16", "125.50")).unwrap();
        let b = insert(&mut conn, org, &new(acme, claim, 1, "197", "80.00")).unwrap();
        let c = insert(
            &mut conn,
            org,
            &new(beacon, Uuid::now_v7(), 2, "50", "9.99"),
        )
        .unwrap();
        assert_eq!(
            (a.amount.to_string(), a.level.as_str(), a.status),
            ("125.50".into(), "line", DenialStatus::Open)
        );
        assert_eq!(
            (b.level.as_str(), b.rarcs.clone()),
            ("claim", vec!["M51".to_string()])
        );
        assert_eq!(
            (b.category, b.avoidable),
            (DenialCategory::Authorization, true)
        );
        let ids = |conn: &mut DbConnection, f: &DenialFilter| -> Vec<Uuid> {
            list(conn, org, f, &ListParams::default())
                .unwrap()
                .items
                .iter()
                .map(|d| d.id)
                .collect()
        };
        assert_eq!(ids(&mut conn, &DenialFilter::default()), [a.id, b.id, c.id]);
        let f = DenialFilter {
            payer_id: Some(acme),
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [a.id, b.id]);
        let f = DenialFilter {
            category: Some(DenialCategory::MedicalNecessity),
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [c.id]);
        let f = DenialFilter {
            carc: Some("197".into()),
            claim_id: Some(claim),
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [b.id]);
        // Amounts compare as money on both engines (SQLite keeps them as text).
        let f = DenialFilter {
            min_amount_cents: Some(amount_cents("80.00".parse().unwrap())),
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [a.id, b.id]);
        let f = DenialFilter {
            max_amount_cents: Some(999),
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [c.id]);
        let f = DenialFilter {
            created_before: Some(now() - chrono::Duration::days(1)),
            ..Default::default()
        };
        assert!(ids(&mut conn, &f).is_empty(), "nothing is a day old");

        // Pages of two, then the rest.
        let first = list(
            &mut conn,
            org,
            &DenialFilter::default(),
            &ListParams {
                limit: Some(2),
                cursor: None,
            },
        )
        .unwrap();
        assert_eq!(first.items.len(), 2);
        let rest = list(
            &mut conn,
            org,
            &DenialFilter::default(),
            &ListParams {
                limit: Some(2),
                cursor: first.next_cursor,
            },
        )
        .unwrap();
        assert_eq!(rest.items.iter().map(|d| d.id).collect::<Vec<_>>(), [c.id]);
        assert_eq!(rest.next_cursor, None);

        // Updates are compare-and-set on the version.
        let a2 = update(
            &mut conn,
            org,
            a.id,
            1,
            &Change::Assignee(Some("biller-7".into())),
        )
        .unwrap();
        assert_eq!((a2.version, a2.assignee.as_deref()), (2, Some("biller-7")));
        let stale = update(
            &mut conn,
            org,
            a.id,
            1,
            &Change::Status(DenialStatus::InProgress),
        );
        assert!(
            matches!(stale, Err(CoreError::VersionMismatch { current: 2 })),
            "{stale:?}"
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
        update(&mut conn, org, a.id, 2, &Change::FollowUp(Some(day))).unwrap();
        let f = DenialFilter {
            assignee: Some("biller-7".into()),
            follow_up_by: Some(day),
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [a.id]);
        let f = DenialFilter {
            unassigned: true,
            ..Default::default()
        };
        assert_eq!(ids(&mut conn, &f), [b.id, c.id]);
        let gone = update(&mut conn, org, Uuid::now_v7(), 1, &Change::Assignee(None));
        assert!(matches!(gone, Err(CoreError::NotFound { .. })));

        // The claim's history lists the steps of its denials only.
        record_event(
            &mut conn,
            org,
            &a2,
            "assigned",
            "u1",
            serde_json::json!({"assignee": "biller-7"}),
        )
        .unwrap();
        record_event(&mut conn, org, &c, "created", "u1", serde_json::json!({})).unwrap();
        let h = events(&mut conn, org, StepsOf::Claim(claim)).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].denial_id, h[0].action.as_str()), (a.id, "assigned"));
        assert_eq!(
            events(&mut conn, org, StepsOf::Denial(c.id)).unwrap().len(),
            1
        );
    }

    fn the_queue_sorts_and_pages_by_appeal_deadline(engine: TestEngine) {
        let (_db, mut conn, _keyring, org) = setup_on(engine);
        without_references(&mut conn);
        let day = |d: u32| NaiveDate::from_ymd_opt(2027, 5, d).unwrap();
        let payer = Uuid::now_v7();
        // Found in this order, due in another; two share a deadline (then oldest first).
        let mut made = Vec::new();
        for (position, due) in [19, 2, 19, 10].into_iter().enumerate() {
            let mut n = new(payer, Uuid::now_v7(), position, "197", "10.00");
            n.appeal_deadline = day(due);
            made.push(insert(&mut conn, org, &n).unwrap().id);
        }
        let f = DenialFilter {
            order: DenialOrder::AppealDeadline,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = list(
                &mut conn,
                org,
                &f,
                &ListParams {
                    limit: Some(1),
                    cursor: cursor.clone(),
                },
            )
            .unwrap();
            seen.extend(p.items.iter().map(|d| (d.id, d.appeal_deadline)));
            cursor = p.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(
            seen,
            [
                (made[1], day(2)),
                (made[3], day(10)),
                (made[0], day(19)),
                (made[2], day(19))
            ]
        );
        let f = DenialFilter {
            order: DenialOrder::AppealDeadline,
            appeal_deadline_by: Some(day(10)),
            ..Default::default()
        };
        let due: Vec<Uuid> = list(&mut conn, org, &f, &ListParams::default())
            .unwrap()
            .items
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due, [made[1], made[3]]);
        let bad = list(
            &mut conn,
            org,
            &DenialFilter {
                order: DenialOrder::AppealDeadline,
                ..Default::default()
            },
            &ListParams {
                limit: None,
                cursor: Some(crate::store::pagination::encode_cursor(made[0])),
            },
        );
        assert!(matches!(bad, Err(CoreError::Invalid(_))), "{bad:?}");
    }

    fn notes_are_encrypted_read_back_and_rotated(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        without_references(&mut conn);
        let d = insert(
            &mut conn,
            org,
            &new(Uuid::now_v7(), Uuid::now_v7(), 0, "50", "40.00"),
        )
        .unwrap();
        let text = "Spoke to ZEBULONOVICH's plan: records requested";
        let note = add_note(&mut conn, &keyring, org, d.id, "biller-7", text).unwrap();
        let raw: Vec<Vec<u8>> = denial_notes::table
            .select(denial_notes::text_ct)
            .load(&mut conn)
            .unwrap();
        assert_eq!(raw.len(), 1);
        assert!(
            !raw[0].windows(12).any(|w| w == b"ZEBULONOVICH"),
            "the note is stored encrypted"
        );
        let read = notes(&mut conn, &keyring, org, d.id).unwrap();
        assert_eq!((read[0].id, read[0].text.as_str()), (note.id, text));

        let r = rotation::begin(&mut conn, &keyring, org).unwrap();
        assert_eq!(r.rows_total, 1, "rotation counts the note");
        let r = rotation::step(&mut conn, &keyring, &r, 10).unwrap();
        assert_eq!(r.rows_done, 1);
        let versions: Vec<i32> = denial_notes::table
            .select(denial_notes::key_version)
            .load(&mut conn)
            .unwrap();
        assert_eq!(versions, [r.to_version]);
        let after: Vec<Vec<u8>> = denial_notes::table
            .select(denial_notes::text_ct)
            .load(&mut conn)
            .unwrap();
        assert_ne!(after, raw, "re-encrypted under the new key");
        assert_eq!(notes(&mut conn, &keyring, org, d.id).unwrap()[0].text, text);
    }
}

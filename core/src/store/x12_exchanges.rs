//! X12 files exchanged with payers: what was sent or received, when, under which control
//! numbers and for which claims. The raw file is PHI and is stored only encrypted.

use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::encrypted::{EncryptedTable, Rotated, rotated, rotation_queries};
use super::schema::{x12_exchanges, x12_sender_control_numbers};
use super::{DbConnection, KeyRing, new_id, opt_id, parse_id};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};

const TABLE: &str = "x12_exchanges";

/// What to record about one file.
#[derive(Debug, Clone, Default)]
pub struct ExchangeInput {
    /// `in` or `out`.
    pub direction: &'static str,
    /// `837`, `835`, `999`, `TA1`, `277CA`, `270`, `271`, `276`, `277`.
    pub kind: String,
    pub file_name: Option<String>,
    pub interchange_control_number: Option<String>,
    pub group_control_number: Option<String>,
    pub transaction_control_number: Option<String>,
    pub claim_ids: Vec<Uuid>,
    /// `sending`, `sent`, `processed`, `duplicate` or `failed`.
    pub status: String,
    /// The payer an outbound file went to.
    pub payer_id: Option<Uuid>,
    /// `outbox`, `http`, `inbox` or `api`.
    pub transport: Option<String>,
    /// The outbound exchanges an acknowledgment answers.
    pub answers: Vec<Uuid>,
    /// Why a file failed or was a duplicate, or what an acknowledgment said: rules, codes and
    /// control numbers only, never file content.
    pub detail: Option<String>,
}

/// A recorded exchange, without its content.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Exchange {
    pub id: Uuid,
    pub direction: String,
    pub kind: String,
    pub file_name: Option<String>,
    pub interchange_control_number: Option<String>,
    pub group_control_number: Option<String>,
    pub transaction_control_number: Option<String>,
    pub claim_ids: Vec<Uuid>,
    pub status: String,
    pub payer_id: Option<Uuid>,
    pub transport: Option<String>,
    pub answers: Vec<Uuid>,
    pub detail: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = x12_exchanges)]
struct ExchangeRow {
    id: String,
    direction: String,
    kind: String,
    file_name: Option<String>,
    interchange_control_number: Option<String>,
    group_control_number: Option<String>,
    transaction_control_number: Option<String>,
    claim_ids: String,
    status: String,
    created_at: chrono::NaiveDateTime,
    payer_id: Option<String>,
    transport: Option<String>,
    answers: String,
    detail: Option<String>,
}

impl ExchangeRow {
    fn into_model(self) -> CoreResult<Exchange> {
        let claim_ids: Vec<Uuid> = serde_json::from_str(&self.claim_ids)
            .map_err(|_| CoreError::Internal("stored claim ids do not parse".into()))?;
        let answers: Vec<Uuid> = serde_json::from_str(&self.answers)
            .map_err(|_| CoreError::Internal("stored exchange links do not parse".into()))?;
        Ok(Exchange {
            id: parse_id(&self.id)?,
            direction: self.direction,
            kind: self.kind,
            file_name: self.file_name,
            interchange_control_number: self.interchange_control_number,
            group_control_number: self.group_control_number,
            transaction_control_number: self.transaction_control_number,
            claim_ids,
            status: self.status,
            payer_id: opt_id(self.payer_id)?,
            transport: self.transport,
            answers,
            detail: self.detail,
            created_at: utc(self.created_at),
        })
    }
}

/// Records a file; `raw` is encrypted with the org's data key before it is stored.
pub fn record(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    input: &ExchangeInput,
    raw: &[u8],
) -> CoreResult<Exchange> {
    let keys = keyring.keys(conn, org)?;
    let id = new_id();
    let c = RowCrypt::new(&keys, org, TABLE, id);
    let raw_ct = c.enc("raw_ct", &String::from_utf8_lossy(raw));
    let claim_ids = serde_json::to_string(&input.claim_ids)
        .map_err(|_| CoreError::Internal("claim ids do not serialise".into()))?;
    let answers = serde_json::to_string(&input.answers)
        .map_err(|_| CoreError::Internal("exchange links do not serialise".into()))?;
    diesel::insert_into(x12_exchanges::table)
        .values((
            x12_exchanges::id.eq(id.to_string()),
            x12_exchanges::org_id.eq(org.as_str()),
            x12_exchanges::direction.eq(input.direction),
            x12_exchanges::kind.eq(&input.kind),
            x12_exchanges::file_name.eq(input.file_name.as_deref()),
            x12_exchanges::interchange_control_number
                .eq(input.interchange_control_number.as_deref()),
            x12_exchanges::group_control_number.eq(input.group_control_number.as_deref()),
            x12_exchanges::transaction_control_number
                .eq(input.transaction_control_number.as_deref()),
            x12_exchanges::claim_ids.eq(claim_ids),
            x12_exchanges::status.eq(&input.status),
            x12_exchanges::raw_ct.eq(raw_ct),
            x12_exchanges::key_version.eq(keys.active_version()),
            x12_exchanges::created_at.eq(now()),
            x12_exchanges::payer_id.eq(input.payer_id.map(|p| p.to_string())),
            x12_exchanges::transport.eq(input.transport.as_deref()),
            x12_exchanges::answers.eq(answers),
            x12_exchanges::detail.eq(input.detail.as_deref()),
        ))
        .execute(conn)?;
    get(conn, org, id)
}

/// Sets the outcome of a recorded exchange (a `sending` submission that was sent or failed).
pub fn set_status(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    status: &str,
    detail: Option<&str>,
) -> CoreResult<Exchange> {
    let n = diesel::update(
        x12_exchanges::table
            .filter(x12_exchanges::org_id.eq(org.as_str()))
            .filter(x12_exchanges::id.eq(id.to_string())),
    )
    .set((
        x12_exchanges::status.eq(status),
        x12_exchanges::detail.eq(detail),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(CoreError::NotFound {
            resource: "x12 exchange",
        });
    }
    get(conn, org, id)
}

/// Adds claims to those an exchange names (a remittance file posted after its import, by
/// whichever call); claims it names already are kept once.
pub fn link_claims(
    conn: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    claims: &[Uuid],
) -> CoreResult<Exchange> {
    let current = get(conn, org, id)?;
    let mut all = current.claim_ids.clone();
    for c in claims {
        if !all.contains(c) {
            all.push(*c);
        }
    }
    if all.len() == current.claim_ids.len() {
        return Ok(current);
    }
    let text = serde_json::to_string(&all)
        .map_err(|_| CoreError::Internal("claim ids do not serialise".into()))?;
    diesel::update(
        x12_exchanges::table
            .filter(x12_exchanges::org_id.eq(org.as_str()))
            .filter(x12_exchanges::id.eq(id.to_string())),
    )
    .set(x12_exchanges::claim_ids.eq(text))
    .execute(conn)?;
    get(conn, org, id)
}

/// Every exchange that names the claim (submissions, acknowledgments, remittances, status
/// requests), oldest first, at most `limit`.
pub fn of_claim(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
    limit: i64,
) -> CoreResult<Vec<Exchange>> {
    // claim_ids is a JSON list of UUIDs: a UUID has no LIKE wildcard in it.
    x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::claim_ids.like(format!("%\"{claim_id}\"%")))
        .order(x12_exchanges::id.asc())
        .limit(limit)
        .select(ExchangeRow::as_select())
        .load::<ExchangeRow>(conn)?
        .into_iter()
        .map(ExchangeRow::into_model)
        .collect()
}

/// Outbound submissions (837) that are `sending`: their claims are being transmitted.
pub fn sending_with_claim(conn: &mut DbConnection, org: OrgId, claim_id: Uuid) -> CoreResult<bool> {
    let n: i64 = x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::status.eq("sending"))
        .filter(x12_exchanges::claim_ids.like(format!("%\"{claim_id}\"%")))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn get(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Exchange> {
    x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::id.eq(id.to_string()))
        .select(ExchangeRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "x12 exchange",
        })?
        .into_model()
}

/// The decrypted file.
pub fn raw(conn: &mut DbConnection, keyring: &KeyRing, org: OrgId, id: Uuid) -> CoreResult<String> {
    let keys = keyring.keys(conn, org)?;
    let ct: Vec<u8> = x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::id.eq(id.to_string()))
        .select(x12_exchanges::raw_ct)
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound {
            resource: "x12 exchange",
        })?;
    RowCrypt::new(&keys, org, TABLE, id).dec("raw_ct", &ct)
}

/// The org's exchanges, newest first (at most `limit`).
pub fn recent(conn: &mut DbConnection, org: OrgId, limit: i64) -> CoreResult<Vec<Exchange>> {
    x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .order(x12_exchanges::id.desc())
        .limit(limit)
        .select(ExchangeRow::as_select())
        .load::<ExchangeRow>(conn)?
        .into_iter()
        .map(ExchangeRow::into_model)
        .collect()
}

/// Highest interchange control number any organization's recorded outbound files carry (what
/// numbering went by before a sender's counter existed).
fn highest_sent(conn: &mut DbConnection) -> CoreResult<i64> {
    let used: Vec<Option<String>> = x12_exchanges::table
        .filter(x12_exchanges::direction.eq("out"))
        .select(x12_exchanges::interchange_control_number)
        .load(conn)?;
    Ok(used
        .iter()
        .flatten()
        .filter_map(|s| s.parse::<i64>().ok())
        .filter(|n| (1..=MAX_CONTROL_NUMBER).contains(n))
        .max()
        .unwrap_or(0))
}

/// The largest interchange control number (ISA13 has nine digits); the next one is 1.
pub const MAX_CONTROL_NUMBER: i64 = 999_999_999;

/// Takes the next interchange control number of `sender` (ISA06). The counter is per sender,
/// whatever the organization: organizations that submit under one sender id share its
/// numbering, so a clearinghouse never sees an ISA13 twice from one submitter. Call it inside a
/// write transaction (its own, short one: the number is taken when it commits): the counter
/// row is incremented in place, so concurrent transactions (and other server processes on the
/// database) wait for each other's increment and never get the same number. After 999999999
/// comes 1. A number taken by a submission that then fails is not reused (gaps are harmless;
/// repeats are not).
pub fn allocate_control_number(conn: &mut DbConnection, sender: &str) -> CoreResult<u32> {
    let bump = |conn: &mut DbConnection| -> CoreResult<usize> {
        Ok(diesel::update(
            x12_sender_control_numbers::table
                .filter(x12_sender_control_numbers::sender_id.eq(sender)),
        )
        .set((
            x12_sender_control_numbers::last_value.eq(x12_sender_control_numbers::last_value + 1),
            x12_sender_control_numbers::updated_at.eq(now()),
        ))
        .execute(conn)?)
    };
    if bump(conn)? == 0 {
        // First use by this sender: start after what was already sent. Two first uses race on
        // the insert; the loser's insert does nothing and its bump waits for the row.
        let seed = highest_sent(conn)?;
        insert_counter(conn, sender, seed)?;
        if bump(conn)? == 0 {
            return Err(CoreError::Internal(
                "the control number counter cannot be created".into(),
            ));
        }
    }
    let value: i64 = x12_sender_control_numbers::table
        .filter(x12_sender_control_numbers::sender_id.eq(sender))
        .select(x12_sender_control_numbers::last_value)
        .get_result(conn)?;
    if (1..=MAX_CONTROL_NUMBER).contains(&value) {
        return Ok(value as u32);
    }
    // Past 999999999 (the row is still locked by this transaction): wrap to 1.
    diesel::update(
        x12_sender_control_numbers::table.filter(x12_sender_control_numbers::sender_id.eq(sender)),
    )
    .set(x12_sender_control_numbers::last_value.eq(1i64))
    .execute(conn)?;
    Ok(1)
}

fn insert_counter(conn: &mut DbConnection, sender: &str, seed: i64) -> CoreResult<()> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    let (pg, lite) = (
        "INSERT INTO x12_sender_control_numbers (sender_id, last_value, updated_at) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        "INSERT INTO x12_sender_control_numbers (sender_id, last_value, updated_at) \
         VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    );
    macro_rules! run {
        ($c:expr, $sql:expr) => {
            diesel::sql_query($sql)
                .bind::<Text, _>(sender)
                .bind::<BigInt, _>(seed)
                .bind::<Timestamp, _>(now())
                .execute($c)?
        };
    }
    match conn {
        DbConnection::Postgresql(c) => run!(c, pg),
        DbConnection::Sqlite(c) => run!(c, lite),
    };
    Ok(())
}

/// Sets a sender's counter (tests of the wrap-around; an operator aligning numbering with a
/// clearinghouse). Call inside a write transaction.
pub fn set_control_number(
    conn: &mut DbConnection,
    sender: &str,
    last_value: i64,
) -> CoreResult<()> {
    insert_counter(conn, sender, last_value)?;
    diesel::update(
        x12_sender_control_numbers::table.filter(x12_sender_control_numbers::sender_id.eq(sender)),
    )
    .set(x12_sender_control_numbers::last_value.eq(last_value))
    .execute(conn)?;
    Ok(())
}

/// A file as key rotation reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = x12_exchanges)]
struct SealedFile {
    id: String,
    raw_ct: Vec<u8>,
    key_version: i32,
}

/// Key rotation: stored files are re-encrypted.
pub(crate) const ROTATION: Rotated = rotated::<SealedFile>();

impl EncryptedTable for SealedFile {
    rotation_queries!(x12_exchanges, id, SealedFile);

    fn rewrite(
        self,
        conn: &mut DbConnection,
        keys: &crate::phi::OrgKeys,
        org: OrgId,
    ) -> CoreResult<usize> {
        let c = RowCrypt::new(keys, org, TABLE, parse_id(&self.id)?);
        let raw = c.reencrypted("raw_ct", self.raw_ct)?;
        Ok(diesel::update(
            x12_exchanges::table
                .filter(x12_exchanges::org_id.eq(org.as_str()))
                .filter(x12_exchanges::id.eq(&self.id))
                .filter(x12_exchanges::key_version.eq(self.key_version)),
        )
        .set((
            x12_exchanges::raw_ct.eq(raw),
            x12_exchanges::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};

    on_each_engine!(
        raw_files_are_encrypted_read_back_and_rotated,
        control_numbers_wrap_after_nine_digits,
        a_claims_exchanges_and_links_are_read_back
    );

    fn raw_files_are_encrypted_read_back_and_rotated(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let input = ExchangeInput {
            direction: "out",
            kind: "837".into(),
            interchange_control_number: Some("000000007".into()),
            status: "sent".into(),
            ..Default::default()
        };
        let file = b"ISA*00*...NM1*QC*1*ZEBULONOVICH~";
        let e = record(&mut conn, &keyring, org, &input, file).unwrap();
        assert_eq!(
            raw(&mut conn, &keyring, org, e.id).unwrap().as_bytes(),
            file
        );
        let ct: Vec<u8> = x12_exchanges::table
            .select(x12_exchanges::raw_ct)
            .get_result(&mut conn)
            .unwrap();
        assert!(!String::from_utf8_lossy(&ct).contains("ZEBULONOVICH"));
        // The counter starts after what was already sent, per sender.
        assert_eq!(allocate_control_number(&mut conn, "REVCYCLE").unwrap(), 8);
        assert_eq!(allocate_control_number(&mut conn, "REVCYCLE").unwrap(), 9);
        assert_eq!(allocate_control_number(&mut conn, "OTHER").unwrap(), 8);
        let r = crate::store::rotation::begin(&mut conn, &keyring, org).unwrap();
        assert_eq!((ROTATION.count)(&mut conn, org, r.to_version).unwrap(), 1);
        let keys = keyring.keys(&mut conn, org).unwrap();
        assert_eq!((ROTATION.batch)(&mut conn, &keys, org, 10).unwrap(), 1);
        assert_eq!((ROTATION.count)(&mut conn, org, r.to_version).unwrap(), 0);
        assert_eq!(
            raw(&mut conn, &keyring, org, e.id).unwrap().as_bytes(),
            file
        );
    }

    fn control_numbers_wrap_after_nine_digits(engine: TestEngine) {
        let (_db, mut conn, _, _) = setup_on(engine);
        assert_eq!(allocate_control_number(&mut conn, "S").unwrap(), 1);
        set_control_number(&mut conn, "S", MAX_CONTROL_NUMBER - 1).unwrap();
        assert_eq!(
            allocate_control_number(&mut conn, "S").unwrap(),
            999_999_999
        );
        assert_eq!(allocate_control_number(&mut conn, "S").unwrap(), 1);
        assert_eq!(allocate_control_number(&mut conn, "S").unwrap(), 2);
    }

    fn a_claims_exchanges_and_links_are_read_back(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let claim = Uuid::now_v7();
        let other = Uuid::now_v7();
        let sent = record(
            &mut conn,
            &keyring,
            org,
            &ExchangeInput {
                direction: "out",
                kind: "837".into(),
                claim_ids: vec![claim, other],
                status: "sending".into(),
                transport: Some("http".into()),
                ..Default::default()
            },
            b"ISA",
        )
        .unwrap();
        record(
            &mut conn,
            &keyring,
            org,
            &ExchangeInput {
                direction: "out",
                kind: "837".into(),
                claim_ids: vec![other],
                status: "sent".into(),
                ..Default::default()
            },
            b"ISA",
        )
        .unwrap();
        assert!(sending_with_claim(&mut conn, org, claim).unwrap());
        let sent = set_status(&mut conn, org, sent.id, "sent", None).unwrap();
        assert!(!sending_with_claim(&mut conn, org, claim).unwrap());
        let ack = record(
            &mut conn,
            &keyring,
            org,
            &ExchangeInput {
                direction: "in",
                kind: "999".into(),
                claim_ids: vec![claim],
                answers: vec![sent.id],
                status: "processed".into(),
                detail: Some("999 accepted group 7".into()),
                ..Default::default()
            },
            b"ISA",
        )
        .unwrap();
        let history = of_claim(&mut conn, org, claim, 100).unwrap();
        assert_eq!(
            history.iter().map(|e| e.id).collect::<Vec<_>>(),
            [sent.id, ack.id]
        );
        assert_eq!(history[0].transport.as_deref(), Some("http"));
        assert_eq!(history[1].answers, [sent.id]);
        assert_eq!(of_claim(&mut conn, org, other, 100).unwrap().len(), 2);
    }
}

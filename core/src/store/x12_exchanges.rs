//! X12 files exchanged with payers: what was sent or received, when, under which control
//! numbers and for which claims. The raw file is PHI and is stored only encrypted.

use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::schema::x12_exchanges;
use super::{DbConnection, KeyRing, new_id, parse_id};
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
    /// `sent`, `processed` or `failed`.
    pub status: String,
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
}

impl ExchangeRow {
    fn into_model(self) -> CoreResult<Exchange> {
        let claim_ids: Vec<Uuid> = serde_json::from_str(&self.claim_ids)
            .map_err(|_| CoreError::Internal("stored claim ids do not parse".into()))?;
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
    let c = RowCrypt {
        keys: &keys,
        org,
        table: TABLE,
        row: id,
    };
    let raw_ct = c.enc("raw_ct", &String::from_utf8_lossy(raw));
    let claim_ids = serde_json::to_string(&input.claim_ids)
        .map_err(|_| CoreError::Internal("claim ids do not serialise".into()))?;
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
        ))
        .execute(conn)?;
    get(conn, org, id)
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
    RowCrypt {
        keys: &keys,
        org,
        table: TABLE,
        row: id,
    }
    .dec("raw_ct", &ct)
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

/// The next outbound interchange control number for the org (1 more than the highest sent;
/// call it in the transaction that records the file).
pub fn next_control_number(conn: &mut DbConnection, org: OrgId) -> CoreResult<u32> {
    let used: Vec<Option<String>> = x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::direction.eq("out"))
        .select(x12_exchanges::interchange_control_number)
        .load(conn)?;
    let max = used
        .iter()
        .flatten()
        .filter_map(|s| s.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    Ok(if max >= 999_999_999 { 1 } else { max + 1 })
}

/// Key rotation: re-encrypts up to `limit` files not under the active data-key version.
pub(crate) fn rotate_batch(
    conn: &mut DbConnection,
    keys: &crate::phi::OrgKeys,
    org: OrgId,
    limit: i64,
) -> CoreResult<usize> {
    let rows: Vec<(String, Vec<u8>, i32)> = x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::key_version.ne(keys.active_version()))
        .order(x12_exchanges::id)
        .limit(limit)
        .select((
            x12_exchanges::id,
            x12_exchanges::raw_ct,
            x12_exchanges::key_version,
        ))
        .load(conn)?;
    let mut done = 0;
    for (id, ct, old) in rows {
        let c = RowCrypt {
            keys,
            org,
            table: TABLE,
            row: parse_id(&id)?,
        };
        let ct = c.reenc("raw_ct", &ct)?.unwrap_or(ct);
        done += diesel::update(
            x12_exchanges::table
                .filter(x12_exchanges::org_id.eq(org.as_str()))
                .filter(x12_exchanges::id.eq(&id))
                .filter(x12_exchanges::key_version.eq(old)),
        )
        .set((
            x12_exchanges::raw_ct.eq(ct),
            x12_exchanges::key_version.eq(keys.active_version()),
        ))
        .execute(conn)?;
    }
    Ok(done)
}

pub(crate) fn count_not_under(
    conn: &mut DbConnection,
    org: OrgId,
    version: i32,
) -> CoreResult<i64> {
    Ok(x12_exchanges::table
        .filter(x12_exchanges::org_id.eq(org.as_str()))
        .filter(x12_exchanges::key_version.ne(version))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::setup;

    #[test]
    fn raw_files_are_encrypted_read_back_and_rotated() {
        let (mut conn, keyring, org) = setup();
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
        assert_eq!(next_control_number(&mut conn, org).unwrap(), 8);
        let r = crate::store::rotation::begin(&mut conn, &keyring, org).unwrap();
        assert_eq!(count_not_under(&mut conn, org, r.to_version).unwrap(), 1);
        let keys = keyring.keys(&mut conn, org).unwrap();
        assert_eq!(rotate_batch(&mut conn, &keys, org, 10).unwrap(), 1);
        assert_eq!(count_not_under(&mut conn, org, r.to_version).unwrap(), 0);
        assert_eq!(
            raw(&mut conn, &keyring, org, e.id).unwrap().as_bytes(),
            file
        );
    }
}

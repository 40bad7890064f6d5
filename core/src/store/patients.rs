use chrono::NaiveDate;
use diesel::prelude::*;
use uuid::Uuid;

use super::crypt::RowCrypt;
use super::encrypted::{
    EncryptedTable, Rotated, SealedRow, decrypt_all, decrypt_page, rotated, rotation_queries,
};
use super::pagination::search_limit;
use super::schema::patients;
use super::{
    DbConnection, KeyRing, ListParams, check_versioned_update, from_db, new_id, org_row, parse_id,
    to_db,
};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};
use crate::model::patient::{Patient, PatientFilter, PatientInput, PatientSearch};
use crate::model::{Address, ExternalId, Page};
use crate::phi::{IndexPurpose, OrgKeys, normalize};

pub const TABLE: &str = "patients";

#[derive(Queryable, Selectable)]
#[diesel(table_name = patients)]
struct PatientRow {
    id: String,
    mrn_ct: Vec<u8>,
    family_name_ct: Vec<u8>,
    given_name_ct: Vec<u8>,
    middle_name_ct: Option<Vec<u8>>,
    birth_date_ct: Vec<u8>,
    sex: String,
    address_ct: Option<Vec<u8>>,
    phone_ct: Option<Vec<u8>>,
    email_ct: Option<Vec<u8>>,
    ssn_ct: Option<Vec<u8>>,
    external_ids_ct: Option<Vec<u8>>,
    mrn_system_ct: Option<Vec<u8>>,
    active: bool,
    version: i32,
    key_version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl SealedRow for PatientRow {
    type Plain = Patient;

    fn decrypt(self, keys: &OrgKeys, org: OrgId) -> CoreResult<Patient> {
        let id = parse_id(&self.id)?;
        let c = RowCrypt::new(keys, org, TABLE, id);
        let birth = c.dec("birth_date_ct", &self.birth_date_ct)?;
        Ok(Patient {
            id,
            mrn: c.dec("mrn_ct", &self.mrn_ct)?,
            mrn_system: c.dec_opt("mrn_system_ct", self.mrn_system_ct.as_deref())?,
            family_name: c.dec("family_name_ct", &self.family_name_ct)?,
            given_name: c.dec("given_name_ct", &self.given_name_ct)?,
            middle_name: c.dec_opt("middle_name_ct", self.middle_name_ct.as_deref())?,
            birth_date: NaiveDate::parse_from_str(&birth, "%Y-%m-%d")
                .map_err(|_| CoreError::Internal("decrypted birth date does not parse".into()))?,
            sex: from_db(&self.sex, "sex")?,
            address: self
                .address_ct
                .as_deref()
                .map(|ct| c.dec_json::<Address>("address_ct", ct))
                .transpose()?,
            phone: c.dec_opt("phone_ct", self.phone_ct.as_deref())?,
            email: c.dec_opt("email_ct", self.email_ct.as_deref())?,
            ssn: c.dec_opt("ssn_ct", self.ssn_ct.as_deref())?,
            external_ids: self
                .external_ids_ct
                .as_deref()
                .map(|ct| c.dec_json::<Vec<ExternalId>>("external_ids_ct", ct))
                .transpose()?
                .unwrap_or_default(),
            active: self.active,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// Encrypted columns and blind indexes of one patient, ready to write. A cleared optional
/// field is written as NULL on update too.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = patients, treat_none_as_null = true)]
struct Sealed {
    mrn_ct: Vec<u8>,
    family_name_ct: Vec<u8>,
    given_name_ct: Vec<u8>,
    middle_name_ct: Option<Vec<u8>>,
    birth_date_ct: Vec<u8>,
    address_ct: Option<Vec<u8>>,
    phone_ct: Option<Vec<u8>>,
    email_ct: Option<Vec<u8>>,
    ssn_ct: Option<Vec<u8>>,
    external_ids_ct: Option<Vec<u8>>,
    mrn_system_ct: Option<Vec<u8>>,
    /// (system, MRN): unique in the org.
    mrn_bidx: String,
    /// The MRN alone, for searches.
    mrn_value_bidx: String,
    name_dob_bidx: String,
    ssn4_bidx: Option<String>,
    key_version: i32,
}

fn seal(keys: &OrgKeys, org: OrgId, id: Uuid, p: &PatientInput) -> Sealed {
    let c = RowCrypt::new(keys, org, TABLE, id);
    Sealed {
        mrn_ct: c.enc("mrn_ct", &p.mrn),
        family_name_ct: c.enc("family_name_ct", &p.family_name),
        given_name_ct: c.enc("given_name_ct", &p.given_name),
        middle_name_ct: c.enc_opt("middle_name_ct", p.middle_name.as_deref()),
        birth_date_ct: c.enc(
            "birth_date_ct",
            &p.birth_date.format("%Y-%m-%d").to_string(),
        ),
        address_ct: p.address.as_ref().map(|a| c.enc_json("address_ct", a)),
        phone_ct: c.enc_opt("phone_ct", p.phone.as_deref()),
        email_ct: c.enc_opt("email_ct", p.email.as_deref()),
        ssn_ct: c.enc_opt("ssn_ct", p.ssn.as_deref()),
        external_ids_ct: (!p.external_ids.is_empty())
            .then(|| c.enc_json("external_ids_ct", &p.external_ids)),
        mrn_system_ct: c.enc_opt("mrn_system_ct", p.mrn_system.as_deref()),
        mrn_bidx: keys.index(
            IndexPurpose::Mrn,
            &normalize::mrn_in_system(p.mrn_system.as_deref(), &p.mrn),
        ),
        mrn_value_bidx: keys.index(IndexPurpose::Mrn, &normalize::mrn(&p.mrn)),
        name_dob_bidx: keys.index(
            IndexPurpose::FamilyNameDob,
            &normalize::family_name_dob(&p.family_name, p.birth_date),
        ),
        ssn4_bidx: p
            .ssn
            .as_deref()
            .and_then(normalize::ssn_last4)
            .map(|l4| keys.index(IndexPurpose::Ssn4, &l4)),
        key_version: keys.active_version(),
    }
}

fn duplicate_mrn(e: diesel::result::Error) -> CoreError {
    CoreError::from(e)
        .conflict_means("a patient with this MRN and MRN system (assigning authority) exists")
}

pub fn create(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    input: &mut PatientInput,
    today: NaiveDate,
) -> CoreResult<Patient> {
    input.validate(today)?;
    let keys = keyring.keys(conn, org)?;
    let id = new_id();
    let s = seal(&keys, org, id, input);
    let t = now();
    diesel::insert_into(patients::table)
        .values((
            &s,
            (
                patients::id.eq(id.to_string()),
                patients::org_id.eq(org.as_str()),
                patients::sex.eq(to_db(&input.sex)),
                patients::active.eq(input.active.unwrap_or(true)),
                patients::version.eq(1),
                patients::created_at.eq(t),
                patients::updated_at.eq(t),
            ),
        ))
        .execute(conn)
        .map_err(duplicate_mrn)?;
    get_with(conn, &keys, org, id)
}

fn get_with(conn: &mut DbConnection, keys: &OrgKeys, org: OrgId, id: Uuid) -> CoreResult<Patient> {
    org_row!(conn, patients, PatientRow, org, id, "patient")?.decrypt(keys, org)
}

pub fn get(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
) -> CoreResult<Patient> {
    let keys = keyring.keys(conn, org)?;
    get_with(conn, &keys, org, id)
}

/// Whether a patient id exists in the org (for references), without decrypting anything.
pub fn exists(conn: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<bool> {
    let n: i64 = patients::table
        .filter(patients::org_id.eq(org.as_str()))
        .filter(patients::id.eq(id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn update(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    expected_version: i32,
    input: &mut PatientInput,
    today: NaiveDate,
) -> CoreResult<Patient> {
    input.validate(today)?;
    let keys = keyring.keys(conn, org)?;
    let current = get_with(conn, &keys, org, id)?;
    let s = seal(&keys, org, id, input);
    let updated = diesel::update(
        patients::table
            .filter(patients::org_id.eq(org.as_str()))
            .filter(patients::id.eq(id.to_string()))
            .filter(patients::version.eq(expected_version)),
    )
    .set((
        &s,
        (
            patients::sex.eq(to_db(&input.sex)),
            patients::active.eq(input.active.unwrap_or(current.active)),
            patients::version.eq(expected_version + 1),
            patients::updated_at.eq(now()),
        ),
    ))
    .execute(conn)
    .map_err(duplicate_mrn)?;
    check_versioned_update(updated, Some(current.version), "patient")?;
    get_with(conn, &keys, org, id)
}

pub fn list(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    filter: &PatientFilter,
    page: &ListParams,
) -> CoreResult<Page<Patient>> {
    let keys = keyring.keys(conn, org)?;
    let limit = page.limit()?;
    let mut q = patients::table
        .filter(patients::org_id.eq(org.as_str()))
        .filter(patients::id.gt(page.after()?))
        .into_boxed();
    if let Some(active) = filter.active {
        q = q.filter(patients::active.eq(active));
    }
    let rows: Vec<PatientRow> = q
        .order(patients::id.asc())
        .limit(limit + 1)
        .select(PatientRow::as_select())
        .load(conn)?;
    decrypt_page(rows, &keys, org, limit, |p| p.id)
}

/// Exact-match search through the blind indexes; no plaintext ever reaches the database.
pub fn search(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    search: &PatientSearch,
) -> CoreResult<Vec<Patient>> {
    let keys = keyring.keys(conn, org)?;
    let limit = search_limit(search.limit)?;
    let mut q = patients::table
        .filter(patients::org_id.eq(org.as_str()))
        .into_boxed();
    // Every rule of the search at once; the arms below refuse nothing more.
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(search, &mut e);
    e.finish()?;
    match (
        &search.mrn,
        &search.family_name,
        &search.birth_date,
        &search.ssn_last4,
    ) {
        (Some(mrn), None, None, None) => match &search.mrn_system {
            // In one namespace: at most one patient.
            Some(system) => {
                let input = normalize::mrn_in_system(Some(system), mrn);
                q = q.filter(patients::mrn_bidx.eq(keys.index(IndexPurpose::Mrn, &input)));
            }
            // The value under every system (and none).
            None => {
                let input = normalize::mrn(mrn);
                q = q.filter(patients::mrn_value_bidx.eq(keys.index(IndexPurpose::Mrn, &input)));
            }
        },
        (None, Some(name), Some(dob), None) => {
            let bidx = keys.index(
                IndexPurpose::FamilyNameDob,
                &normalize::family_name_dob(name, *dob),
            );
            q = q.filter(patients::name_dob_bidx.eq(bidx));
        }
        (None, None, None, Some(l4)) => {
            if l4.len() != 4 || !l4.chars().all(|c| c.is_ascii_digit()) {
                return Err(CoreError::invalid(
                    "/ssn_last4",
                    "must be exactly four digits",
                ));
            }
            q = q.filter(patients::ssn4_bidx.eq(keys.index(IndexPurpose::Ssn4, l4)));
        }
        (None, Some(_), None, None) => {
            return Err(CoreError::invalid(
                "/birth_date",
                "is required with family_name",
            ));
        }
        (None, None, Some(_), None) => {
            return Err(CoreError::invalid(
                "/family_name",
                "is required with birth_date",
            ));
        }
        _ => {
            return Err(CoreError::invalid(
                "",
                "give exactly one of: mrn; family_name with birth_date; ssn_last4",
            ));
        }
    }
    let rows: Vec<PatientRow> = q
        .order(patients::id.asc())
        .limit(limit)
        .select(PatientRow::as_select())
        .load(conn)?;
    decrypt_all(rows, &keys, org)
}

/// The patient whose MRN is `mrn` in the namespace `system` (None: the practice's own numbers,
/// recorded without a system), if any: (system, MRN) is unique, so at most one. Never a match
/// on the bare value under another system.
pub fn find_by_mrn(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    system: Option<&str>,
    mrn: &str,
) -> CoreResult<Option<Patient>> {
    let keys = keyring.keys(conn, org)?;
    let bidx = keys.index(IndexPurpose::Mrn, &normalize::mrn_in_system(system, mrn));
    patients::table
        .filter(patients::org_id.eq(org.as_str()))
        .filter(patients::mrn_bidx.eq(bidx))
        .select(PatientRow::as_select())
        .get_result(conn)
        .optional()?
        .map(|r| r.decrypt(&keys, org))
        .transpose()
}

/// Key rotation: patients are sealed again from their decrypted values.
pub(crate) const ROTATION: Rotated = rotated::<PatientRow>();

impl EncryptedTable for PatientRow {
    rotation_queries!(patients, id, PatientRow);

    fn rewrite(self, conn: &mut DbConnection, keys: &OrgKeys, org: OrgId) -> CoreResult<usize> {
        let (old, version) = (self.key_version, self.version);
        let p = self.decrypt(keys, org)?;
        let input = PatientInput {
            mrn: p.mrn,
            mrn_system: p.mrn_system,
            family_name: p.family_name,
            given_name: p.given_name,
            middle_name: p.middle_name,
            birth_date: p.birth_date,
            sex: p.sex,
            address: p.address,
            phone: p.phone,
            email: p.email,
            ssn: p.ssn,
            external_ids: p.external_ids,
            active: Some(p.active),
        };
        let s = seal(keys, org, p.id, &input);
        Ok(diesel::update(
            patients::table
                .filter(patients::org_id.eq(org.as_str()))
                .filter(patients::id.eq(p.id.to_string()))
                .filter(patients::key_version.eq(old))
                .filter(patients::version.eq(version)),
        )
        .set(&s)
        .execute(conn)?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::codes::AdministrativeSex;
    use crate::phi::PhiError;
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};

    on_each_engine!(
        moved_ciphertext_fails_with_a_clear_error_naming_the_field,
        one_mrn_under_two_systems_is_two_patients,
        search_finds_by_mrn_and_by_name_and_birth_date
    );

    fn input(mrn: &str, family: &str) -> PatientInput {
        PatientInput {
            mrn: mrn.into(),
            mrn_system: None,
            family_name: family.into(),
            given_name: "Ann".into(),
            middle_name: None,
            birth_date: NaiveDate::from_ymd_opt(1990, 5, 17).unwrap(),
            sex: AdministrativeSex::parse("F").unwrap(),
            address: None,
            phone: None,
            email: None,
            ssn: Some("123-45-6789".into()),
            external_ids: vec![],
            active: None,
        }
    }

    fn moved_ciphertext_fails_with_a_clear_error_naming_the_field(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let a = create(&mut conn, &keyring, org, &mut input("A-1", "Alpha"), today).unwrap();
        let b = create(&mut conn, &keyring, org, &mut input("B-1", "Bravo"), today).unwrap();
        conn.batch_execute(&format!(
            "UPDATE patients SET family_name_ct = (SELECT family_name_ct FROM patients WHERE id = '{}') WHERE id = '{}'",
            a.id, b.id
        ))
        .unwrap();
        let err = get(&mut conn, &keyring, org, b.id).unwrap_err();
        match &err {
            CoreError::Phi(PhiError::Decrypt { table, column }) => {
                assert_eq!(
                    (table.as_str(), column.as_str()),
                    ("patients", "family_name_ct")
                );
            }
            other => panic!("expected a decrypt error, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("patients.family_name_ct")
                && !msg.contains("Alpha")
                && !msg.contains("Bravo"),
            "{msg}"
        );
        assert_eq!(
            get(&mut conn, &keyring, org, a.id).unwrap().family_name,
            "Alpha"
        );
    }

    fn one_mrn_under_two_systems_is_two_patients(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let in_system = |system: Option<&str>, family: &str| {
            let mut p = input("12345", family);
            p.mrn_system = system.map(str::to_string);
            p
        };
        let acme = Some("urn:oid:1.2.36.146.595.217.0.1");
        let other = Some("urn:oid:2.16.840.1.113883.19.5");
        let a = create(
            &mut conn,
            &keyring,
            org,
            &mut in_system(acme, "Alpha"),
            today,
        )
        .unwrap();
        let b = create(
            &mut conn,
            &keyring,
            org,
            &mut in_system(other, "Bravo"),
            today,
        )
        .unwrap();
        let c = create(
            &mut conn,
            &keyring,
            org,
            &mut in_system(None, "Charlie"),
            today,
        )
        .unwrap();
        assert_eq!(a.mrn_system.as_deref(), acme);
        assert_eq!(
            get(&mut conn, &keyring, org, b.id)
                .unwrap()
                .mrn_system
                .as_deref(),
            other
        );
        assert_eq!(c.mrn_system, None);
        // The same (system, MRN) twice is refused, naming no value.
        let err = create(
            &mut conn,
            &keyring,
            org,
            &mut in_system(acme, "Delta"),
            today,
        )
        .unwrap_err();
        assert!(
            matches!(&err, CoreError::Conflict(m) if !m.contains("12345")),
            "{err:?}"
        );
        let search_in = |conn: &mut DbConnection, system: Option<&str>| {
            let s = PatientSearch {
                mrn: Some("12345".into()),
                mrn_system: system.map(str::to_string),
                family_name: None,
                birth_date: None,
                ssn_last4: None,
                limit: None,
            };
            search(conn, &keyring, org, &s)
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        };
        // By the bare value: every system; in a system: that patient only.
        assert_eq!(search_in(&mut conn, None), vec![a.id, b.id, c.id]);
        assert_eq!(search_in(&mut conn, acme), vec![a.id]);
        assert_eq!(search_in(&mut conn, other), vec![b.id]);
        assert!(search_in(&mut conn, Some("urn:oid:9.9")).is_empty());
        // Finding one patient by its identifier: in its namespace only.
        let find = |conn: &mut DbConnection, system: Option<&str>| {
            find_by_mrn(conn, &keyring, org, system, "12-345")
                .unwrap()
                .map(|p| p.id)
        };
        assert_eq!(find(&mut conn, acme), Some(a.id));
        assert_eq!(find(&mut conn, other), Some(b.id));
        assert_eq!(find(&mut conn, None), Some(c.id));
        assert_eq!(find(&mut conn, Some("urn:oid:9.9")), None);
    }

    fn search_finds_by_mrn_and_by_name_and_birth_date(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let a = create(
            &mut conn,
            &keyring,
            org,
            &mut input("A-1", "O'Brien"),
            today,
        )
        .unwrap();
        create(&mut conn, &keyring, org, &mut input("B-1", "Bravo"), today).unwrap();
        let by_mrn = PatientSearch {
            mrn: Some(" a-1 ".into()),
            mrn_system: None,
            family_name: None,
            birth_date: None,
            ssn_last4: None,
            limit: None,
        };
        assert_eq!(
            search(&mut conn, &keyring, org, &by_mrn)
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect::<Vec<_>>(),
            vec![a.id]
        );
        let by_name = PatientSearch {
            mrn: None,
            mrn_system: None,
            family_name: Some("o'brien".into()),
            birth_date: Some(NaiveDate::from_ymd_opt(1990, 5, 17).unwrap()),
            ssn_last4: None,
            limit: None,
        };
        assert_eq!(search(&mut conn, &keyring, org, &by_name).unwrap().len(), 1);
        // Another org's keys give other indexes: nothing found across tenants.
        let other = crate::store::orgs::create(&mut conn, &keyring, "Other").unwrap();
        assert!(
            search(&mut conn, &keyring, OrgId(other.id), &by_mrn)
                .unwrap()
                .is_empty()
        );
    }
}

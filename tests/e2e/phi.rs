//! Field encryption seen from the database: no plaintext identifier in any raw row, values
//! bound to their row and column, and exact search through blind indexes.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Binary, Text};
use revcycle_e2e::{Engine, Server};
use serde_json::json;

use crate::fixtures::{self, practice};
use crate::on_both_engines;

/// Every identifier a fixture sent, in the forms a careless store might keep.
pub fn identifiers() -> Vec<String> {
    [
        fixtures::FAMILY,
        fixtures::GIVEN,
        fixtures::MRN,
        fixtures::SSN,
        "219098761",
        fixtures::PHONE,
        fixtures::EMAIL,
        fixtures::STREET,
        fixtures::MEMBER_ID,
        fixtures::GROUP,
        fixtures::SUBSCRIBER_FAMILY,
        "EHR-ZQX-1",
        "1980-04-02",
        "1978-09-30",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[derive(QueryableByName)]
struct Col {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = diesel::sql_types::Nullable<Binary>)]
    v: Option<Vec<u8>>,
}

/// Every cell of every table as raw bytes, decoded lossily: plaintext inside a blob shows.
pub fn dump_database(url: &str) -> String {
    let mut conn = revcycle_core::store::connect(url).expect("connect");
    let pg = conn.is_postgres();
    let tables = [
        "orgs",
        "org_keys",
        "payers",
        "providers",
        "patients",
        "coverages",
        "encounters",
        "claims",
        "claim_lines",
        "remittances",
        "idempotency_keys",
        "audit_events",
        "audit_event_patients",
        "x12_exchanges",
    ];
    let mut out = String::new();
    for table in tables {
        let cols_sql = if pg {
            format!(
                "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns WHERE table_name = '{table}'"
            )
        } else {
            format!("SELECT name, type AS kind FROM pragma_table_info('{table}')")
        };
        let cols: Vec<Col> = diesel::sql_query(cols_sql)
            .load(&mut conn)
            .expect("columns");
        assert!(!cols.is_empty(), "table {table} exists");
        for c in cols {
            let expr = match (pg, c.kind.as_str()) {
                (true, "bytea") => c.name.clone(),
                (true, _) => format!("convert_to({}::text, 'UTF8')", c.name),
                (false, _) => format!("CAST({} AS BLOB)", c.name),
            };
            let cells: Vec<Cell> = diesel::sql_query(format!("SELECT {expr} AS v FROM {table}"))
                .load(&mut conn)
                .expect("cells");
            for cell in cells.into_iter().flat_map(|c| c.v) {
                out.push_str(&String::from_utf8_lossy(&cell));
                out.push('\n');
            }
        }
    }
    out
}

async fn no_plaintext_identifiers_in_the_database(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    s.create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    // An idempotent create stores its response: that copy must be encrypted too.
    let mut other = fixtures::patient_body();
    other["mrn"] = json!("MRN-IDEM-1");
    let t = s.token.clone();
    assert_eq!(
        s.call(
            "POST",
            "/v1/patients",
            Some(&t),
            Some(&other),
            &[("idempotency-key", "phi-k1")]
        )
        .await
        .status,
        201
    );

    let dump = dump_database(&s.db.url);
    assert!(
        dump.contains("Acme Health Plan"),
        "the dump reads real rows (sanity check)"
    );
    assert!(
        dump.contains("99214"),
        "codes stay in the clear for billing queries"
    );
    for id in identifiers() {
        assert!(
            !dump.contains(&id),
            "plaintext identifier found in the database: {id}"
        );
        assert!(
            !dump.to_uppercase().contains(&id.to_uppercase()),
            "normalised identifier found: {id}"
        );
    }
    for id in identifiers() {
        assert!(!s.log().contains(&id), "identifier in the server log: {id}");
    }
}
on_both_engines!(no_plaintext_identifiers_in_the_database);

async fn ciphertext_is_bound_to_its_row_and_column(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let mut second = fixtures::patient_body();
    second["mrn"] = json!("MRN-SECOND");
    second["family_name"] = json!("Otherfamily");
    let q = s.create("/v1/patients", &second).await;
    let a = p.patient["id"].as_str().unwrap();
    let b = q["id"].as_str().unwrap();

    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    // Copy patient A's encrypted family name onto patient B (another row).
    conn.batch_execute(&format!(
        "UPDATE patients SET family_name_ct = (SELECT family_name_ct FROM patients WHERE id = '{a}') WHERE id = '{b}'"
    ))
    .unwrap();
    let r = s.get(&format!("/v1/patients/{b}")).await;
    r.assert_problem(500);
    assert!(!r.text.contains(fixtures::FAMILY) && !r.text.contains("Otherfamily"));
    assert!(
        s.log_shows("field patients.family_name_ct could not be decrypted")
            .await,
        "the server log names the field that failed, without its value"
    );
    // Copy patient A's given name into A's own family name column (another column).
    conn.batch_execute(&format!(
        "UPDATE patients SET family_name_ct = given_name_ct WHERE id = '{a}'"
    ))
    .unwrap();
    s.get(&format!("/v1/patients/{a}"))
        .await
        .assert_problem(500);
    // Other patients are unaffected.
    let listed = s
        .get(&format!(
            "/v1/coverages/{}",
            p.coverage["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["member_id"], fixtures::MEMBER_ID);
}
on_both_engines!(ciphertext_is_bound_to_its_row_and_column);

async fn exact_search_through_blind_indexes(engine: Engine) {
    let s = Server::start(engine).await;
    let p = practice(&s).await;
    let mut twin = fixtures::patient_body();
    twin["mrn"] = json!("MRN-TWIN");
    twin["given_name"] = json!("Other");
    twin["birth_date"] = json!("1980-04-03");
    twin["ssn"] = json!("219-09-1111");
    let twin = s.create("/v1/patients", &twin).await;

    let found = |r: &revcycle_e2e::Resp| -> Vec<String> {
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let me = p.patient["id"].as_str().unwrap().to_string();
    // MRN: case, spaces and dashes do not matter.
    assert_eq!(
        found(
            &s.post("/v1/patients/search", &json!({"mrn": "mrn zqx 99812"}))
                .await
        ),
        vec![me.clone()]
    );
    // Family name + DOB picks the right one of two namesakes.
    let r = s
        .post(
            "/v1/patients/search",
            &json!({"family_name": "  zebulonovich ", "birth_date": "1980-04-02"}),
        )
        .await;
    assert_eq!(found(&r), vec![me.clone()]);
    let r = s
        .post(
            "/v1/patients/search",
            &json!({"family_name": "Zebulonovich", "birth_date": "1980-04-03"}),
        )
        .await;
    assert_eq!(found(&r), vec![twin["id"].as_str().unwrap().to_string()]);
    assert_eq!(
        found(
            &s.post("/v1/patients/search", &json!({"ssn_last4": "8761"}))
                .await
        ),
        vec![me.clone()]
    );
    assert!(
        found(
            &s.post("/v1/patients/search", &json!({"mrn": "MRN-NOBODY"}))
                .await
        )
        .is_empty()
    );
    // Ambiguous or incomplete searches are refused with a pointer.
    s.post(
        "/v1/patients/search",
        &json!({"family_name": "Zebulonovich"}),
    )
    .await
    .assert_problem(422);
    s.post(
        "/v1/patients/search",
        &json!({"mrn": "x", "ssn_last4": "8761"}),
    )
    .await
    .assert_problem(422);
    s.post("/v1/patients/search", &json!({"ssn_last4": "87"}))
        .await
        .assert_problem(422);
    // Coverage by member id.
    let r = s
        .post(
            "/v1/coverages/search",
            &json!({"member_id": "xqz-7781234509"}),
        )
        .await;
    assert_eq!(
        found(&r),
        vec![p.coverage["id"].as_str().unwrap().to_string()]
    );
    // An MRN change moves the index with it.
    let path = format!("/v1/patients/{me}");
    let mut body = fixtures::patient_body();
    body["mrn"] = json!("MRN-NEW-1");
    assert_eq!(s.put(&path, "\"1\"", &body).await.status, 200);
    assert!(
        found(
            &s.post("/v1/patients/search", &json!({"mrn": fixtures::MRN}))
                .await
        )
        .is_empty()
    );
    assert_eq!(
        found(
            &s.post("/v1/patients/search", &json!({"mrn": "MRN-NEW-1"}))
                .await
        ),
        vec![me]
    );
}
on_both_engines!(exact_search_through_blind_indexes);

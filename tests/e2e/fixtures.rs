//! A practice's worth of records, with distinctive identifiers so tests can grep for leaks.

use revcycle_e2e::Server;
use serde_json::{Value, json};

/// Values that must never appear in plaintext in the database, logs or audit rows.
pub const FAMILY: &str = "Zebulonovich";
pub const GIVEN: &str = "Quillonette";
pub const MRN: &str = "MRN-ZQX-99812";
pub const SSN: &str = "219-09-8761";
pub const PHONE: &str = "2175550123";
pub const EMAIL: &str = "quillonette@example.org";
pub const STREET: &str = "4471 Wistful Vista";
pub const MEMBER_ID: &str = "XQZ7781234509";
pub const GROUP: &str = "GRP-TULIPWOOD";
pub const SUBSCRIBER_FAMILY: &str = "Marchbanksworth";

/// A record's id.
pub fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

/// The development organization (the first one created).
pub fn org_of(s: &Server) -> String {
    s.admin(&["org", "list"])
        .lines()
        .next()
        .and_then(|l| l.split('\t').next())
        .expect("an org")
        .to_string()
}

/// A development token for `sub` in `org` with `roles`, plus any `revcycle token` flags.
pub fn token(s: &Server, org: &str, sub: &str, roles: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["token", "--org", org, "--sub", sub];
    for r in roles {
        args.extend(["--role", r]);
    }
    args.extend(extra);
    s.admin(&args)
}

pub const BILLING_NPI: &str = "1234567893";
pub const RENDERING_NPI: &str = "1245319599";

pub struct Practice {
    pub payer: Value,
    pub billing: Value,
    pub rendering: Value,
    pub patient: Value,
    pub coverage: Value,
    pub encounter: Value,
}

pub fn patient_body() -> Value {
    json!({
        "mrn": MRN, "family_name": FAMILY, "given_name": GIVEN, "birth_date": "1980-04-02",
        "sex": "F", "phone": PHONE, "email": EMAIL, "ssn": SSN,
        "address": {"line1": STREET, "city": "Springfield", "state": "IL", "zip": "62704"},
        "external_ids": [{"system": "urn:oid:1.2.3.4", "value": "EHR-ZQX-1"}]
    })
}

pub fn encounter_body(
    patient: &Value,
    coverage: &Value,
    billing: &Value,
    rendering: &Value,
) -> Value {
    json!({
        "patient_id": patient["id"], "coverage_id": coverage["id"],
        "billing_provider_id": billing["id"], "rendering_provider_id": rendering["id"],
        "service_date_from": "2026-11-02", "place_of_service": "11",
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]},
            {"procedure_code": "83036", "units": "1", "charge": "50.10", "diagnosis_pointers": [1]},
            {"procedure_code": "J3420", "units": "2", "charge": "0.45", "diagnosis_pointers": [1]}
        ]
    })
}

pub async fn practice(s: &Server) -> Practice {
    let payer = s
        // The longest filing limit allowed: the fixed dates of service here must not become
        // a timely-filing error as the calendar moves on.
        .create("/v1/payers", &json!({"name": "Acme Health Plan", "payer_code": "60054", "claim_filing_indicator": "CI", "timely_filing_days": 3650}))
        .await;
    let billing = s
        .create(
            "/v1/providers",
            &json!({"roles": ["billing"], "npi": BILLING_NPI, "tin": "12-3456789",
                "organization_name": "Springfield Family Practice", "taxonomy": "207Q00000X",
                "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701-1234"}}),
        )
        .await;
    let rendering = s
        .create(
            "/v1/providers",
            &json!({"roles": ["rendering"], "npi": RENDERING_NPI, "last_name": "Osler", "first_name": "William",
                "taxonomy": "207R00000X",
                "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}}),
        )
        .await;
    let patient = s.create("/v1/patients", &patient_body()).await;
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": patient["id"], "payer_id": payer["id"], "priority": "primary",
                "member_id": MEMBER_ID, "group_number": GROUP, "plan_name": "Acme PPO",
                "relationship": "spouse", "effective_from": "2026-01-01",
                "subscriber": {"family_name": SUBSCRIBER_FAMILY, "given_name": "Horace",
                    "birth_date": "1978-09-30", "sex": "M"}}),
        )
        .await;
    let encounter = s
        .create(
            "/v1/encounters",
            &encounter_body(&patient, &coverage, &billing, &rendering),
        )
        .await;
    Practice {
        payer,
        billing,
        rendering,
        patient,
        coverage,
        encounter,
    }
}

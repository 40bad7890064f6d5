//! Snapshots of the documents clients integrate against, as the real server answers them:
//! representative success bodies and RFC 9457 problem documents, each with its status and
//! content type. Both engines compare against the same file (`snapshots/`), so a difference
//! between SQLite and PostgreSQL fails like any other change.
//!
//! What differs between runs is redacted: ids are replaced by the name of the record they
//! point at (`[patient]`, `[claim]`; `[id]` for others), wherever they appear, so the links
//! between documents stay visible; timestamps, cursors, control numbers, hashes and
//! signatures by insta redactions that first check the value has the expected form. Dates of
//! service are fixed, with a payer timely filing limit long enough that the scrubber's answer
//! does not change with the day the tests run.
//!
//! A changed document fails the test with a diff. To accept it, see "Test it" in the README.

use insta::internals::{Content, Redaction};
use revcycle_e2e::{Engine, Resp, Server};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::fixtures::{self, id, org_of, token};
use crate::on_both_engines;

/// What a snapshot holds of a response: status, the headers a client acts on, the body.
#[derive(Serialize)]
struct Doc {
    status: u16,
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    www_authenticate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow: Option<String>,
    body: Value,
}

/// The ids a test created, named, and the snapshot assertion that uses them.
#[derive(Default)]
struct Names(Vec<(String, String)>);

impl Names {
    fn name(&mut self, label: &str, uuid: &str) {
        assert!(uuid::Uuid::try_parse(uuid).is_ok(), "{label}: {uuid}");
        self.0.push((uuid.to_string(), format!("[{label}]")));
    }

    fn record(&mut self, label: &str, v: &Value) {
        self.name(label, id(v));
    }

    /// Every UUID in `s` replaced by its name, or `[id]` when the test did not name it.
    fn text(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = find_uuid(rest) {
            let found = &rest[at..at + 36];
            let name = self
                .0
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(found))
                .map_or("[id]", |(_, n)| n.as_str());
            out.push_str(&rest[..at]);
            out.push_str(name);
            rest = &rest[at + 36..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (self.text(&k), self.value(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other,
        }
    }

    fn doc(&self, r: &Resp) -> Doc {
        let header = |name: &str| r.header(name).map(|h| self.text(&h));
        let body = if r.body.is_null() && !r.text.is_empty() {
            // Not JSON (a signed checkpoint is text): its lines.
            Value::Array(r.text.split('\n').map(|l| json!(l)).collect())
        } else {
            r.body.clone()
        };
        Doc {
            status: r.status,
            content_type: header("content-type"),
            cache_control: header("cache-control"),
            etag: header("etag"),
            location: header("location"),
            www_authenticate: header("www-authenticate"),
            allow: header("allow"),
            body: self.value(body),
        }
    }

    /// Asserts `r` matches the snapshot `name`, after the redactions every document gets
    /// (timestamps) and `extra`.
    fn assert(&self, name: &str, request: &str, r: &Resp, extra: Vec<(&str, Redaction)>) {
        let doc = self.doc(r);
        let mut settings = insta::Settings::clone_current();
        settings.set_description(request);
        settings.set_omit_expression(true);
        for key in [
            "created_at",
            "updated_at",
            "occurred_at",
            "at",
            "received_at",
            "posted_at",
            "sent_at",
        ] {
            settings.add_redaction(&format!(".**.{key}"), timestamp());
        }
        // Identifiers of a patient or subscriber never stand in a snapshot, not even the
        // fixture's made-up ones: the snapshot keeps which fields came back, and a masked SSN
        // its masked form.
        for key in PHI_FIELDS {
            settings.add_redaction(&format!(".**.{key}"), phi());
        }
        settings.add_redaction(".**.external_ids[].value", phi());
        settings.add_redaction(".**.ssn", ssn());
        for (selector, redaction) in extra {
            settings.add_redaction(selector, redaction);
        }
        settings.bind(|| insta::assert_json_snapshot!(name, doc));
    }
}

/// Where the first UUID (8-4-4-4-12 hex digits) in `s` starts.
fn find_uuid(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(35)).find(|&i| {
        b[i..i + 36].iter().enumerate().all(|(j, ch)| match j {
            8 | 13 | 18 | 23 => *ch == b'-',
            _ => ch.is_ascii_hexdigit(),
        })
    })
}

/// An RFC 3339 UTC timestamp (or null), as `[timestamp]`.
fn timestamp() -> Redaction {
    insta::dynamic_redaction(|v: Content, path| {
        if v.is_nil() {
            return v;
        }
        let s = v.as_str().unwrap_or_else(|| panic!("{path}: not a string"));
        assert!(
            s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            "{path}: {s} is not an RFC 3339 UTC timestamp"
        );
        Content::from("[timestamp]")
    })
}

/// Fields of a response that identify a patient or a subscriber.
const PHI_FIELDS: &[&str] = &[
    "family_name",
    "given_name",
    "middle_name",
    "birth_date",
    "email",
    "phone",
    "mrn",
    "line1",
    "line2",
    "member_id",
    "group_number",
];

/// A patient's identifier, as `[phi]`; null stays null.
fn phi() -> Redaction {
    insta::dynamic_redaction(|v: Content, _| {
        if v.is_nil() {
            return v;
        }
        Content::from("[phi]")
    })
}

/// An SSN: in full as `[ssn]`, masked (`***-**-1234`) as the mask with its last four hidden.
fn ssn() -> Redaction {
    insta::dynamic_redaction(|v: Content, path| {
        if v.is_nil() {
            return v;
        }
        let s = v.as_str().unwrap_or_else(|| panic!("{path}: not a string"));
        let digits = |t: &str| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit());
        match s.strip_prefix("***-**-") {
            Some(last4) if digits(last4) => Content::from("***-**-[last 4]"),
            _ if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) => Content::from("[ssn]"),
            _ => panic!("{path}: neither an SSN nor a masked one"),
        }
    })
}

/// A string that `check` accepts, as `label`; null stays null.
fn checked(label: &'static str, check: fn(&str) -> bool) -> Redaction {
    insta::dynamic_redaction(move |v: Content, path| {
        if v.is_nil() {
            return v;
        }
        let s = v.as_str().unwrap_or_else(|| panic!("{path}: not a string"));
        assert!(check(s), "{path}: unexpected {label}: {s}");
        Content::from(label)
    })
}

/// A number, as `label` (sizes and sequence numbers that depend on what came before).
fn number(label: &'static str) -> Redaction {
    insta::dynamic_redaction(move |v: Content, path| {
        assert!(v.as_u64().is_some(), "{path}: not a number");
        Content::from(label)
    })
}

fn hex_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn base64ish(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
}

/// Outbox file names: `837P-<ISA13>-<random hex>.x12`.
fn x12_file_name(s: &str) -> bool {
    s.starts_with("837P-") && s.ends_with(".x12")
}

/// Patient control numbers (CLM01): 20 letters and digits.
fn control_number(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Inside the fiscal year of the shipped ICD-10-CM release (FY2026: 2025-10-01 to
/// 2026-09-30), so the scrubber does not warn that the codes were checked against another
/// year's set.
const DATE_OF_SERVICE: &str = "2026-06-15";

const NO_RATE_LIMIT: &[(&str, &str)] = &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")];

/// The billing records of one synthetic practice (the fixtures' made-up names), each named.
struct Records {
    payer: Value,
    billing: Value,
    rendering: Value,
    patient: Value,
    coverage: Value,
}

/// Creates and names a payer, the billing and rendering providers, a patient and their
/// coverage; returns them with the patient's and the coverage's create responses. The payer's
/// timely filing limit (the longest allowed) keeps the fixed dates of service fileable for
/// years, so the scrubber's findings do not depend on the day the tests run.
async fn records(s: &Server, names: &mut Names) -> (Records, Resp, Resp) {
    let payer = s
        .create(
            "/v1/payers",
            &json!({"name": "Acme Health Plan", "payer_code": "60054",
                "claim_filing_indicator": "CI", "timely_filing_days": 3650}),
        )
        .await;
    names.record("payer", &payer);
    let billing = s
        .create(
            "/v1/providers",
            &json!({"roles": ["billing"], "npi": fixtures::BILLING_NPI, "tin": "12-3456789",
                "organization_name": "Springfield Family Practice", "taxonomy": "207Q00000X",
                "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701-1234"}}),
        )
        .await;
    names.record("billing provider", &billing);
    let rendering = s
        .create(
            "/v1/providers",
            &json!({"roles": ["rendering"], "npi": fixtures::RENDERING_NPI, "last_name": "Osler",
                "first_name": "William", "taxonomy": "207R00000X",
                "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}}),
        )
        .await;
    names.record("rendering provider", &rendering);
    let created = s.post("/v1/patients", &fixtures::patient_body()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let patient = created.body.clone();
    names.record("patient", &patient);
    let cov = s
        .post(
            "/v1/coverages",
            &json!({"patient_id": patient["id"], "payer_id": payer["id"], "priority": "primary",
                "member_id": fixtures::MEMBER_ID, "group_number": fixtures::GROUP,
                "plan_name": "Acme PPO", "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    assert_eq!(cov.status, 201, "{}", cov.text);
    let coverage = cov.body.clone();
    names.record("coverage", &coverage);
    (
        Records {
            payer,
            billing,
            rendering,
            patient,
            coverage,
        },
        created,
        cov,
    )
}

/// A coded encounter of two lines (200.00) on `date` for `coverage`.
fn encounter_body(r: &Records, coverage: &Value, date: &str) -> Value {
    json!({
        "patient_id": r.patient["id"], "coverage_id": coverage["id"],
        "billing_provider_id": r.billing["id"], "rendering_provider_id": r.rendering["id"],
        "service_date_from": date, "place_of_service": "11",
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]},
            {"procedure_code": "83036", "units": "1", "charge": "50.00", "diagnosis_pointers": [1]}
        ]
    })
}

/// The payer's 835 as the API takes it: the claim billed at 200.00 paid 96.00 (CO-45 80.00,
/// PR-2 24.00, by line), and a claim the practice never sent, which posting cannot apply.
fn remittance(payer: &Value, pcn: &str) -> Value {
    let ours = json!({
        "patient_control_number": pcn, "status_code": "1",
        "total_charge": "200.00", "paid": "96.00", "patient_responsibility": "24.00",
        "payer_claim_number": "ICN-SNAP-1",
        "lines": [
            {"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00", "paid": "72.00", "units": "1",
             "adjustments": [{"group": "CO", "reason": "45", "amount": "60.00"},
                             {"group": "PR", "reason": "2", "amount": "18.00"}],
             "remarks": ["N130"]},
            {"procedure_code": "83036", "charge": "50.00", "paid": "24.00", "units": "1",
             "adjustments": [{"group": "CO", "reason": "45", "amount": "20.00"},
                             {"group": "PR", "reason": "2", "amount": "6.00"}]}
        ]
    });
    let stranger = json!({
        "patient_control_number": "NOSUCHCLAIM000000001", "status_code": "1",
        "total_charge": "120.00", "paid": "100.00", "payer_claim_number": "ICN-SNAP-2",
        "adjustments": [{"group": "CO", "reason": "45", "amount": "20.00"}]
    });
    json!({
        "payer_id": payer["id"], "trace_number": "EFT-SNAP-0001", "payment_date": "2026-11-20",
        "payment_method": "ACH", "total_paid": "196.00",
        "claims": [ours, stranger]
    })
}

/// The records a client creates, as created and as read back (masked for a coder), and a
/// page of a list with its cursor.
async fn record_snapshots(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let mut names = Names::default();
    let org = org_of(&s);
    names.name("org", &org);
    let (r, patient, coverage) = records(&s, &mut names).await;
    names.assert(
        "patient_created",
        "POST /v1/patients as admin (sees every identifier)",
        &patient,
        vec![],
    );
    let coder = token(&s, &org, "snap-coder", &["coder"], &[]);
    let read = s
        .call(
            "GET",
            &format!("/v1/patients/{}", id(&r.patient)),
            Some(&coder),
            None,
            &[],
        )
        .await;
    names.assert(
        "patient_read_by_coder",
        "GET /v1/patients/{patient} as coder (SSN last 4, no contact or address)",
        &read,
        vec![],
    );
    names.assert(
        "coverage_created",
        "POST /v1/coverages as admin",
        &coverage,
        vec![],
    );
    let encounter = s
        .post(
            "/v1/encounters",
            &encounter_body(&r, &r.coverage, DATE_OF_SERVICE),
        )
        .await;
    assert_eq!(encounter.status, 201, "{}", encounter.text);
    names.record("encounter", &encounter.body);
    names.assert(
        "encounter_created",
        "POST /v1/encounters as admin",
        &encounter,
        vec![],
    );
    let claim = s
        .post("/v1/claims", &json!({"encounter_id": encounter.body["id"]}))
        .await;
    assert_eq!(claim.status, 201, "{}", claim.text);
    names.record("claim", &claim.body);
    names.assert(
        "claim_created",
        "POST /v1/claims from the encounter, as admin",
        &claim,
        vec![(
            ".body.patient_control_number",
            checked("[patient control number]", control_number),
        )],
    );

    // A page of a list: two payers of three, with the cursor to the next page.
    for (label, name, code) in [
        ("second payer", "Beacon Mutual", "87726"),
        ("third payer", "Cedar Health", "11223"),
    ] {
        let p = s
            .create(
                "/v1/payers",
                &json!({"name": name, "payer_code": code, "claim_filing_indicator": "CI"}),
            )
            .await;
        names.record(label, &p);
    }
    let page = s.get("/v1/payers?limit=2").await;
    names.assert(
        "payers_first_page",
        "GET /v1/payers?limit=2 (three payers)",
        &page,
        vec![(".body.next_cursor", checked("[cursor]", base64ish))],
    );
    let next = page.body["next_cursor"].as_str().expect("a next page");
    let last = s.get(&format!("/v1/payers?limit=2&cursor={next}")).await;
    names.assert(
        "payers_last_page",
        "GET /v1/payers?limit=2&cursor={next_cursor}",
        &last,
        vec![],
    );
}
on_both_engines!(record_snapshots);

/// The billing cycle: scrub (clean and with findings), submission as 837P, the 835 stored and
/// posted, and the work queue of what posting could not apply.
async fn billing_snapshots(engine: Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = crate::payer::payer_server(engine, dir.path()).await;
    let mut names = Names::default();
    names.name("org", &org_of(&s));
    let (r, _, _) = records(&s, &mut names).await;

    let enc = s
        .create(
            "/v1/encounters",
            &encounter_body(&r, &r.coverage, DATE_OF_SERVICE),
        )
        .await;
    names.record("encounter", &enc);
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    names.record("claim", &claim);
    let pcn = claim["patient_control_number"]
        .as_str()
        .unwrap()
        .to_string();
    let pcn_redaction = || checked("[patient control number]", control_number);
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    names.assert(
        "claim_scrubbed_clean",
        "POST /v1/claims/{claim}/scrub: no findings, draft -> ready",
        &scrub,
        vec![],
    );

    // Control numbers (ISA13, GS06) count from 1 in each new database: shown as they are.
    let submitted = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    names.name(
        "837P exchange",
        submitted.body["exchange_id"].as_str().expect("sent"),
    );
    names.assert(
        "claims_submitted",
        "POST /v1/claims/submit: the 837P interchange written to the payer's outbox",
        &submitted,
        vec![
            (
                ".body.**.file_name",
                checked("[837P file name]", x12_file_name),
            ),
            (".body.**.patient_control_number", pcn_redaction()),
        ],
    );

    // The payer's 835 as the API takes it, then posted.
    let remit = remittance(&r.payer, &pcn);
    let stored = s.post("/v1/remittances", &remit).await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    names.record("remittance", &stored.body);
    names.assert(
        "remittance_stored",
        "POST /v1/remittances: an 835 with one matched and one unknown claim",
        &stored,
        vec![(".body.claims[0].patient_control_number", pcn_redaction())],
    );
    let posted = s
        .post(
            &format!("/v1/remittances/{}/post", id(&stored.body)),
            &json!({}),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    names.name(
        "posting",
        posted.body["posting_id"].as_str().expect("posted"),
    );
    names.assert(
        "remittance_posted",
        "POST /v1/remittances/{remittance}/post",
        &posted,
        vec![(".body.claims[].patient_control_number", pcn_redaction())],
    );
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&claim))).await;
    names.assert(
        "claim_ledger",
        "GET /v1/claims/{claim}/ledger after posting",
        &ledger,
        vec![],
    );
    let queue = s.get("/v1/work-queues/unmatched-remittances").await;
    names.assert(
        "unmatched_remittances_page",
        "GET /v1/work-queues/unmatched-remittances",
        &queue,
        vec![],
    );
    let exchanges = s.get(&format!("/v1/claims/{}/exchanges", id(&claim))).await;
    names.assert(
        "claim_exchanges",
        "GET /v1/claims/{claim}/exchanges",
        &exchanges,
        vec![(
            ".body.**.file_name",
            checked("[837P file name]", x12_file_name),
        )],
    );

    // An 835 file that breaks its implementation guide: refused with the segment named, no
    // values quoted.
    let bad = crate::payer::answer_835(&pcn, "EFT-SNAP-0002")
        .replace(&format!("CLP*{pcn}*1*"), &format!("CLP*{pcn}*X*"));
    let refused = s
        .client
        .post(s.url("/v1/remittances/import?post=true"))
        .bearer_auth(&s.token)
        .header("content-type", "application/octet-stream")
        .body(bad)
        .send()
        .await
        .expect("request");
    names.assert(
        "problem_422_x12",
        "POST /v1/remittances/import?post=true with an 835 whose CLP02 is not a claim status code",
        &Resp::from_response(refused).await,
        vec![],
    );

    // A coverage that ended before the date of service: the scrubber names it.
    let lapsed = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": r.patient["id"], "payer_id": r.payer["id"], "priority": "secondary",
                "member_id": "LAPSED0001", "relationship": "self",
                "effective_from": "2025-01-01", "effective_to": "2025-12-31"}),
        )
        .await;
    names.record("lapsed coverage", &lapsed);
    let enc2 = s
        .create("/v1/encounters", &encounter_body(&r, &lapsed, "2026-06-16"))
        .await;
    names.record("second encounter", &enc2);
    let claim2 = s
        .create("/v1/claims", &json!({"encounter_id": enc2["id"]}))
        .await;
    names.record("second claim", &claim2);
    let found = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim2)), &json!({}))
        .await;
    names.assert(
        "claim_scrub_findings",
        "POST /v1/claims/{second claim}/scrub: its coverage ended before the date of service",
        &found,
        vec![],
    );
}
on_both_engines!(billing_snapshots);

/// The audit trail as a compliance officer reads it: a page of events with its cursor, and
/// the signed checkpoint an outside auditor keeps.
async fn audit_snapshots(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let mut names = Names::default();
    let org = org_of(&s);
    names.name("org", &org);
    let patient = s.create("/v1/patients", &fixtures::patient_body()).await;
    names.record("patient", &patient);
    let biller = token(
        &s,
        &org,
        "snap-biller",
        &["biller"],
        &["--client-id", "billing-ui", "--purpose-of-use", "HPAYMT"],
    );
    let auditor = token(&s, &org, "snap-auditor", &["compliance_officer"], &[]);
    let path = format!("/v1/patients/{}", id(&patient));
    for (n, (method, path)) in [
        ("GET", path.as_str()),
        ("GET", path.as_str()),
        ("GET", "/v1/audit-events"),
    ]
    .into_iter()
    .enumerate()
    {
        let rid = format!("snap-request-{}", n + 1);
        s.call(
            method,
            path,
            Some(&biller),
            None,
            &[("x-request-id", &rid), ("user-agent", "snapshot-test/1.0")],
        )
        .await;
    }
    let query = "/v1/audit-events?actor=snap-biller&limit=2";
    let page = s.call("GET", query, Some(&auditor), None, &[]).await;
    let sequence_redactions = || {
        vec![
            (".body.items[].sequence", number("[sequence]")),
            (".body.items[].prev_hash", checked("[hash]", hex_sha256)),
            (".body.items[].hash", checked("[hash]", hex_sha256)),
        ]
    };
    let mut redactions = sequence_redactions();
    redactions.push((".body.next_cursor", checked("[cursor]", base64ish)));
    names.assert(
        "audit_events_page",
        "GET /v1/audit-events?actor=snap-biller&limit=2 as compliance officer (two reads of a patient, then a denied audit read)",
        &page,
        redactions,
    );
    let next = page.body["next_cursor"].as_str().expect("a next page");
    let rest = s
        .call(
            "GET",
            &format!("{query}&cursor={next}"),
            Some(&auditor),
            None,
            &[],
        )
        .await;
    names.assert(
        "audit_events_last_page",
        "GET /v1/audit-events?actor=snap-biller&limit=2&cursor={next_cursor}",
        &rest,
        sequence_redactions(),
    );

    let checkpoint = s
        .call(
            "POST",
            "/v1/audit-events/checkpoint",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    names.assert(
        "audit_checkpoint",
        "POST /v1/audit-events/checkpoint as compliance officer: a signed note (C2SP)",
        &checkpoint,
        vec![
            (
                ".body[1]",
                checked("[tree size]", |s| s.parse::<u64>().is_ok()),
            ),
            (".body[2]", checked("[root hash]", base64ish)),
            (
                ".body[4]",
                checked("\u{2014} revcycle [signature]", |s| {
                    s.strip_prefix("\u{2014} revcycle ").is_some_and(base64ish)
                }),
            ),
        ],
    );
}
on_both_engines!(audit_snapshots);

/// Problem documents (RFC 9457, `application/problem+json`), one per kind a client handles.
async fn problem_snapshots(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let mut names = Names::default();
    let org = org_of(&s);
    names.name("org", &org);
    let (r, _, _) = records(&s, &mut names).await;
    let patient_path = format!("/v1/patients/{}", id(&r.patient));

    let raw = |content_type: &'static str, body: String| {
        let req = s
            .client
            .post(s.url("/v1/payers"))
            .bearer_auth(&s.token)
            .header("content-type", content_type)
            .body(body);
        async move { Resp::from_response(req.send().await.expect("request")).await }
    };
    names.assert(
        "problem_400_malformed_json",
        "POST /v1/payers with a body that is not JSON",
        &raw("application/json", "{\"name\":".into()).await,
        vec![],
    );
    let invalid = s
        .post(
            "/v1/providers",
            &json!({"roles": ["billing"], "npi": "1234567890", "organization_name": "Invalid Clinic",
                "address": {"line1": "1 Test St", "city": "Springfield", "state": "ZZ"}}),
        )
        .await;
    names.assert(
        "problem_422_validation",
        "POST /v1/providers with a wrong NPI check digit, an unknown state and no ZIP",
        &invalid,
        vec![],
    );
    names.assert(
        "problem_422_query",
        "GET /v1/payers?limit=0",
        &s.get("/v1/payers?limit=0").await,
        vec![],
    );
    names.assert(
        "problem_401_missing_token",
        "GET /v1/patients without a token",
        &s.call("GET", "/v1/patients", None, None, &[]).await,
        vec![],
    );
    names.assert(
        "problem_401_invalid_token",
        "GET /v1/patients with a token that is not a JWT",
        &s.call("GET", "/v1/patients", Some("not.a.jwt"), None, &[])
            .await,
        vec![],
    );
    let auditor = token(&s, &org, "snap-auditor", &["compliance_officer"], &[]);
    names.assert(
        "problem_403_wrong_role",
        "GET /v1/patients/{patient} as compliance officer",
        &s.call("GET", &patient_path, Some(&auditor), None, &[])
            .await,
        vec![],
    );
    let (_, other) = s.new_org("Other practice");
    names.assert(
        "problem_404_other_tenant",
        "GET /v1/patients/{patient} with another organization's token",
        &s.call("GET", &patient_path, Some(&other), None, &[]).await,
        vec![],
    );
    names.assert(
        "problem_404_no_route",
        "GET /v1/nothing-here",
        &s.get("/v1/nothing-here").await,
        vec![],
    );
    names.assert(
        "problem_405_method",
        "DELETE /v1/patients/{patient} (records are never deleted)",
        &s.call("DELETE", &patient_path, Some(&s.token), None, &[])
            .await,
        vec![],
    );
    names.assert(
        "problem_409_duplicate",
        "POST /v1/payers with a payer code already in use",
        &s.post(
            "/v1/payers",
            &json!({"name": "Duplicate", "payer_code": "60054", "claim_filing_indicator": "CI"}),
        )
        .await,
        vec![],
    );
    let enc = s
        .create(
            "/v1/encounters",
            &encounter_body(&r, &r.coverage, DATE_OF_SERVICE),
        )
        .await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    names.record("claim", &claim);
    names.assert(
        "problem_409_transition",
        "POST /v1/claims/{claim}/transition to paid from draft",
        &s.post(
            &format!("/v1/claims/{}/transition", id(&claim)),
            &json!({"to": "paid"}),
        )
        .await,
        vec![],
    );
    let mut body = fixtures::patient_body();
    body["given_name"] = json!("Quilla");
    let updated = s.put(&patient_path, "\"1\"", &body).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    names.assert(
        "problem_412_stale_etag",
        "PUT /v1/patients/{patient} with If-Match \"1\" after the patient moved to version 2",
        &s.put(&patient_path, "\"1\"", &body).await,
        vec![],
    );
    names.assert(
        "problem_428_no_if_match",
        "PUT /v1/patients/{patient} without If-Match",
        &s.call("PUT", &patient_path, Some(&s.token), Some(&body), &[])
            .await,
        vec![],
    );
    names.assert(
        "problem_413_too_large",
        "POST /v1/payers with a 5 MiB body",
        &raw(
            "application/json",
            format!("{{\"name\": \"{}\"}}", "A".repeat(5 * 1024 * 1024)),
        )
        .await,
        vec![],
    );
    names.assert(
        "problem_415_media_type",
        "POST /v1/payers with Content-Type text/plain",
        &raw("text/plain", "{}".into()).await,
        vec![],
    );
}
on_both_engines!(problem_snapshots);

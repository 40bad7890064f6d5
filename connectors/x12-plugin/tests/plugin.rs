//! Loads the built plugin through the host loader (SHA-256 pinned) and runs every operation.
//!
//! `cargo test` does not build the `.so`; `revcycle_test_build` builds it once, into the same
//! target directory as this test binary.

use std::path::{Path, PathBuf};

use revcycle_connector_abi::canonical::v1::{Remittance, SubmissionReceipt};
use revcycle_connector_abi::host::{ConnectorInstance, InvokeError, PluginSpec, load, sha256_hex};
use revcycle_connector_abi::{ConnectorKind, serde_json};
use serde_json::{Value, json};

fn plugin_path() -> PathBuf {
    revcycle_test_build::plugin_library(&["revcycle-connector-x12"], "revcycle-connector-x12")
}

fn spec(config: Value) -> PluginSpec {
    let path = plugin_path();
    PluginSpec {
        name: "x12".into(),
        sha256: sha256_hex(&std::fs::read(&path).expect("read plugin")),
        path,
        config,
    }
}

fn instance(config: Value) -> ConnectorInstance {
    let path = plugin_path();
    let spec = PluginSpec {
        name: "x12".into(),
        sha256: sha256_hex(&std::fs::read(&path).expect("read plugin")),
        path,
        config,
    };
    let loaded = load(&spec).expect("load plugin");
    assert_eq!(loaded.name(), "x12");
    assert_eq!(loaded.kind(), ConnectorKind::Payer);
    for op in [
        "submit_claims",
        "parse_remittance",
        "check_eligibility",
        "claim_status",
        "parse_ack",
    ] {
        assert!(loaded.operations().iter().any(|o| o == op), "{op} declared");
    }
    loaded.create().expect("create")
}

fn x12() -> ConnectorInstance {
    instance(config())
}

/// A complete configuration: the submitter, its contact and ISA15 are required.
fn config() -> Value {
    json!({
        "sender_id": "REVCYCLE", "receiver_id": "CLEARINGHOUSE",
        "submitter_name": "Family Clinic Billing", "contact_name": "Dana Reyes",
        "contact_phone": "217-555-0142", "contact_email": "billing@familyclinic.example",
        "production": true, "outbox": "/nonexistent/out"
    })
}

#[test]
fn the_submitter_contact_and_usage_indicator_are_required() {
    for key in [
        "submitter_name",
        "contact_name",
        "contact_phone",
        "production",
    ] {
        let mut c = config();
        c.as_object_mut().unwrap().remove(key);
        let loaded = load(&spec(c)).expect("load plugin");
        let Err(err) = loaded.create() else {
            panic!("created without {key}");
        };
        let msg = err.to_string();
        assert!(msg.contains(&format!("config.{key} is required")), "{msg}");
    }
    // `production` must be a boolean, a name a non-empty string.
    let mut c = config();
    c["production"] = json!("yes");
    let msg = load(&spec(c)).unwrap().create().err().unwrap().to_string();
    assert!(msg.contains("config.production is required"), "{msg}");
    let mut c = config();
    c["contact_name"] = json!("  ");
    let msg = load(&spec(c)).unwrap().create().err().unwrap().to_string();
    assert!(msg.contains("config.contact_name is required"), "{msg}");
    // No configuration at all is refused too (no placeholder submitter).
    let msg = load(&spec(Value::Null))
        .unwrap()
        .create()
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("config.submitter_name is required"), "{msg}");
}

fn claim() -> Value {
    json!({
        "claim_control_number": "PCN-0001",
        "frequency_code": "1",
        "billing_provider": {
            "name": "Family Clinic", "npi": "1234567893", "tin": "123456789",
            "address": {"lines": ["1 Main St"], "city": "Springfield", "state": "IL",
                        "postal_code": "627011234"}
        },
        "payer": {"name": "Acme Health Plan", "payer_id": "ACME1"},
        "priority": "primary",
        "subscriber": {
            "member_id": "MEM001", "name": {"family": "Doe", "given": ["Jane"]},
            "birth_date": "1980-02-29", "sex": "female",
            "address": {"lines": ["12 Elm St"], "city": "Springfield", "state": "IL",
                        "postal_code": "62704"}
        },
        "relationship": "self",
        "place_of_service": "11",
        "total_charge": "200.00",
        "diagnoses": ["J06.9"],
        "lines": [
            {"line_number": 1, "procedure_code": "99213", "units": "1", "charge": "150.00",
             "diagnosis_pointers": [1], "service_date": "2024-03-01"},
            {"line_number": 2, "procedure_code": "81002", "units": "1", "charge": "50.00",
             "diagnosis_pointers": [1], "service_date": "2024-03-01"}
        ]
    })
}

fn invoke(i: &ConnectorInstance, op: &str, input: &[u8]) -> Value {
    serde_json::from_slice(&i.invoke(op, input).expect(op)).expect("JSON output")
}

fn invalid_input(i: &ConnectorInstance, op: &str, input: &[u8]) -> String {
    match i.invoke(op, input) {
        Err(e) => {
            let ce = e.connector_error().expect("a connector error").clone();
            assert_eq!(ce.code, "invalid_input");
            ce.message
        }
        Ok(_) => panic!("{op} accepted bad input"),
    }
}

#[test]
fn submit_claims_writes_an_837p_and_a_receipt() {
    let i = x12();
    let input =
        json!({"claims": [claim()], "control_number": 42, "date": "20240320", "time": "1015"});
    let out = invoke(&i, "submit_claims", input.to_string().as_bytes());
    let text = out["x12"].as_str().unwrap();
    assert!(text.starts_with("ISA*00*"));
    assert!(
        text.contains("*000000042*0*P*:~"),
        "ISA15 from production: {text}"
    );
    assert!(
        text.contains(
            "\nNM1*41*2*Family Clinic Billing*****46*REVCYCLE~\n\
             PER*IC*Dana Reyes*TE*2175550142*EM*billing@familyclinic.example~\n"
        ),
        "{text}"
    );
    let test_files = instance(json!({"submitter_name": "Family Clinic Billing",
        "contact_name": "Dana Reyes", "contact_phone": "2175550142", "production": false}));
    let out_t = invoke(&test_files, "submit_claims", input.to_string().as_bytes());
    assert!(
        out_t["x12"].as_str().unwrap().contains("*000000042*0*T*:~"),
        "{}",
        out_t["x12"]
    );
    assert!(text.contains("\nCLM*PCN-0001*200*"), "{text}");
    assert!(
        text.contains("NM1*85*2*Family Clinic*****XX*1234567893~"),
        "{text}"
    );
    assert!(text.contains("SV1*HC:99213*150*UN*1"), "{text}");
    let receipt: SubmissionReceipt = serde_json::from_value(out["receipt"].clone()).unwrap();
    assert_eq!(
        receipt.interchange_control_number.as_deref(),
        Some("000000042")
    );
    assert_eq!(receipt.claim_control_numbers, ["PCN-0001"]);

    // A claim the writer cannot express is invalid input naming the segment, not a value.
    let mut bad = claim();
    bad["billing_provider"]["npi"] = json!("12");
    let input = json!({"claims": [bad], "control_number": 43});
    let msg = invalid_input(&i, "submit_claims", input.to_string().as_bytes());
    assert!(msg.contains("segment") && msg.contains("NM1"), "{msg}");
    let msg = invalid_input(
        &i,
        "submit_claims",
        br#"{"claims": [], "control_number": 1}"#,
    );
    assert!(msg.contains("claims"), "{msg}");
}

#[test]
fn parse_remittance_takes_raw_835_or_json_and_names_the_bad_segment() {
    let i = x12();
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../x12/tests/fixtures/835/claims_paid_partial_denied.835"),
    )
    .unwrap();
    let out = invoke(&i, "parse_remittance", &raw);
    let rem: Vec<Remittance> = serde_json::from_value(out["remittances"].clone()).unwrap();
    assert_eq!(rem.len(), 1);
    assert_eq!(rem[0].payment_amount, "320.00");
    assert_eq!(rem[0].claims[0].claim_control_number, "CLM-A1");
    let wrapped = json!({"x12": String::from_utf8(raw.clone()).unwrap()});
    assert_eq!(
        invoke(&i, "parse_remittance", wrapped.to_string().as_bytes()),
        out
    );

    // Break CLP04 of the first claim: segment 17 of the file.
    let text = String::from_utf8(raw)
        .unwrap()
        .replace("CLP*CLM-A1*1*200*140*", "CLP*CLM-A1*1*200*ABC*");
    let msg = invalid_input(&i, "parse_remittance", text.as_bytes());
    assert!(msg.contains("segment 17 (CLP)"), "{msg}");
    assert!(
        !msg.contains("ABC") && !msg.contains("CLM-A1"),
        "no values: {msg}"
    );
    let msg = invalid_input(&i, "parse_remittance", b"hello");
    assert!(msg.contains("ISA"), "{msg}");
}

/// The refusal's findings as (pointer, message), as they cross the ABI.
fn refusal(i: &ConnectorInstance, op: &str, input: &[u8]) -> Vec<(String, String)> {
    match i.invoke(op, input) {
        Err(e) => {
            let ce = e.connector_error().expect("a connector error").clone();
            assert_eq!(ce.code, "invalid_input");
            ce.errors
                .into_iter()
                .map(|x| (x.pointer, x.message))
                .collect()
        }
        Ok(_) => panic!("{op} accepted bad input"),
    }
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../x12/tests/corpus")
            .join(name),
    )
    .unwrap()
}

#[test]
fn parse_remittance_refuses_what_the_guide_refuses_with_a_pointer_per_finding() {
    let i = x12();
    // The TR3's ERA sample posts (132.00 on one dental claim).
    let out = invoke(
        &i,
        "parse_remittance",
        &corpus("badx12-0.2.2/X221-era-sample.edi"),
    );
    assert_eq!(out["remittances"][0]["payment_amount"], "132.00");

    // Without the required 1000A PER*BL: refused at the loop, as pyx12 refuses it.
    let found = refusal(
        &i,
        "parse_remittance",
        &corpus("derived/era-sample-without-per-bl.835"),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "/transactions/0/segments/5");
    assert_eq!(
        found[0].1,
        "X12 segment 7 (N1), segment 5 of transaction set 1: loop 1000A (Payer Identification) \
         has no PER*BL (Payer Technical Contact Information): the segment is required by \
         005010X221A1 [rule segment.required]"
    );

    // One claim that does not balance: the CLP by position, expected against found.
    let found = refusal(
        &i,
        "parse_remittance",
        &corpus("derived/era-sample-claim-unbalanced.835"),
    );
    assert_eq!(
        found,
        [(
            "/transactions/0/claims/0".to_string(),
            "X12 segment 13 (CLP), segment 11 of transaction set 1: CLP at segment 11 (claim 1) \
             does not balance: CLP03 less the CAS amounts of the claim and its service lines is \
             132.00, CLP04 is 140.00 [rule balance.claim]"
                .to_string()
        )]
    );
    let found = refusal(
        &i,
        "parse_remittance",
        &corpus("derived/era-sample-service-line-unbalanced.835"),
    );
    assert_eq!(found[0].0, "/transactions/0/claims/0/service_lines/1");
    assert!(found[0].1.contains("is 14.00, SVC03 is 15.00"), "{found:?}");

    // Not X12 at all, and a bad element: pointers too.
    assert_eq!(
        refusal(&i, "parse_remittance", b"hello")[0].0,
        "/segments/1"
    );
    let text = String::from_utf8(corpus("badx12-0.2.2/X221-era-sample.edi"))
        .unwrap()
        .replace("CLP*7722337*1*226*132*", "CLP*7722337*1*226*ABC*");
    let found = refusal(&i, "parse_remittance", text.as_bytes());
    assert_eq!(found[0].0, "/transactions/0/segments/11/CLP04");
    assert!(
        found
            .iter()
            .all(|(_, m)| !m.contains("7722337") && !m.contains("ABC"))
    );
}

#[test]
fn parse_ack_reads_999() {
    let i = x12();
    let out = invoke(&i, "parse_ack", ACK_999.as_bytes());
    let a = &out["ack999"][0];
    assert_eq!(a["status"], "P");
    assert_eq!(a["transactions"][0]["accepted"], true);
    assert_eq!(a["transactions"][1]["accepted"], false);
    assert_eq!(a["transactions"][1]["control_number"], "0002");
    assert_eq!(out["ta1"], json!([]));
}

/// `parse_ack` answers in the ABI's `Acknowledgments` shape, member for member (the host reads
/// it typed); IK404, the bad value, is never carried.
#[test]
fn parse_ack_output_is_the_abi_acknowledgments() {
    let i = x12();
    let out = invoke(&i, "parse_ack", ACK_999.as_bytes());
    assert_eq!(
        out["ack999"],
        json!([{
            "functional_id": "HC", "group_control_number": "1", "version": "005010X222A1",
            "status": "P", "accepted": true, "included": 2, "received": 2, "accepted_count": 1,
            "codes": [],
            "transactions": [
                {"transaction_id": "837", "control_number": "0001",
                 "implementation": "005010X222A1", "status": "A", "accepted": true,
                 "codes": [], "errors": []},
                {"transaction_id": "837", "control_number": "0002",
                 "implementation": "005010X222A1", "status": "R", "accepted": false,
                 "codes": ["5"],
                 "errors": [
                    {"segment_id": "NM1", "position": 8, "loop_id": "2010", "code": "8",
                     "elements": [{"position": 9, "component": null,
                        "element_reference": "67", "code": "7"}]},
                    {"segment_id": "DMG", "position": 12, "loop_id": null, "code": "8",
                     "elements": [{"position": 2, "component": 1,
                        "element_reference": "1251", "code": "8"}]}
                 ]}
            ]
        }])
    );
    assert!(!out.to_string().contains("BADVALUE"));
    let typed: revcycle_connector_abi::canonical::Acknowledgments =
        serde_json::from_value(out.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), out);
}

/// The envelope facts come from the plugin, with every parse result and on their own.
#[test]
fn envelopes_are_reported_with_results_and_on_request() {
    let i = x12();
    let expected = json!([{
        "sender_qualifier": "ZZ", "sender_id": "CLEARINGHOUSE", "receiver_qualifier": "ZZ",
        "receiver_id": "REVCYCLE", "control_number": "000000777", "usage_indicator": "P",
        "ta1": false,
        "groups": [{"functional_id": "FA", "sender_code": "CLEARINGHOUSE",
            "receiver_code": "REVCYCLE", "control_number": "777", "version": "005010X231A1",
            "transactions": [{"id": "999", "control_number": "0001",
                "implementation": "005010X231A1"}]}]
    }]);
    let out = invoke(&i, "read_envelope", ACK_999.as_bytes());
    assert_eq!(out["interchanges"], expected);
    let out = invoke(&i, "parse_ack", ACK_999.as_bytes());
    assert_eq!(out["interchanges"], expected);
}

#[test]
fn claim_status_writes_276_and_reads_277() {
    let i = x12();
    let out = invoke(
        &i,
        "claim_status",
        json!({"x12": RESPONSE_277}).to_string().as_bytes(),
    );
    assert_eq!(out["responses"][0]["claim_control_number"], "CLM-1001");
    assert_eq!(out["responses"][0]["statuses"][0]["category_code"], "F1");
    let req = json!({
        "requests": [{
            "payer": {"name": "Acme Health Plan", "payer_id": "ACME1"},
            "provider": {"npi": "1234567893", "name": "Family Clinic"},
            "subscriber": {"member_id": "MEM001", "name": {"family": "Doe", "given": ["Jane"]}},
            "claim_control_number": "CLM-1001", "total_charge": "200.00",
            "service_period": {"start": "2024-03-01", "end": "2024-03-01"}
        }],
        "control_number": 7
    });
    let out = invoke(&i, "claim_status", req.to_string().as_bytes());
    assert!(out["x12"].as_str().unwrap().contains("ST*276*"));
}

#[test]
fn check_eligibility_writes_270() {
    let i = x12();
    let req = json!({
        "requests": [{
            "trace_number": "ELIG-1",
            "payer": {"name": "Acme Health Plan", "payer_id": "ACME1"},
            "provider": {"npi": "1234567893", "name": "Family Clinic"},
            "subscriber": {"member_id": "MEM001", "name": {"family": "Doe", "given": ["Jane"]},
                           "birth_date": "1980-02-29", "sex": "female"},
            "service_type_codes": ["30"]
        }],
        "control_number": 8
    });
    let out = invoke(&i, "check_eligibility", req.to_string().as_bytes());
    assert!(out["x12"].as_str().unwrap().contains("ST*270*"));
    assert!(matches!(
        i.invoke("nope", b"{}"),
        Err(InvokeError::UnknownOperation { .. })
    ));
}

const RESPONSE_277: &str = "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *240321*0900*^*00501*000000041*0*P*:~
GS*HN*ACMEPAYER*REVCYCLE*20240321*0900*41*X*005010X212~
ST*277*0001*005010X212~
BHT*0010*08*0001*20240321*0900*DG~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*ACME1~
HL*2*1*21*1~
NM1*41*2*FAMILY CLINIC BILLING*****46*SUB12345~
HL*3*2*19*1~
NM1*1P*2*FAMILY CLINIC*****XX*1234567893~
HL*4*3*22*0~
NM1*IL*1*DOE*JANE****MI*MEM001~
TRN*2*STAT-1~
STC*F1:65*20240315**200*140*20240315*ACH*20240315*EFT0001~
REF*1K*PCN-A1~
REF*EJ*CLM-1001~
DTP*472*D8*20240301~
HL*5*3*22*0~
NM1*IL*1*ROE*RICHARD****MI*MEM100~
TRN*2*STAT-2~
STC*A7:562:85*20240321**300*0~
STC*F2:88*20240321~
REF*EJ*CLM-1002~
DTP*472*RD8*20240305-20240306~
SE*23*0001~
GE*1*41~
IEA*1*000000041~
";

const ACK_999: &str = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *240320*1100*^*00501*000000777*0*P*:~
GS*FA*CLEARINGHOUSE*REVCYCLE*20240320*1100*777*X*005010X231A1~
ST*999*0001*005010X231A1~
AK1*HC*1*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*A~
AK2*837*0002*005010X222A1~
IK3*NM1*8*2010*8~
CTX*CLM01:CLM-1001~
IK4*9*67*7*BADVALUE~
IK3*DMG*12**8~
IK4*2:1*1251*8~
IK5*R*5~
AK9*P*2*2*1~
SE*13*0001~
GE*1*777~
IEA*1*000000777~
";

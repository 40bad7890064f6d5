//! The built plugin, loaded through the host loader, imports every fixture into exactly the
//! expected canonical output (`fixtures/<name>.expected.json`, ACKs included).
//!
//! To rewrite the expected files after a deliberate change: `HL7V2_BLESS=1 cargo test ...`,
//! then review the diff.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use revcycle_connector_abi::ConnectorKind;
use revcycle_connector_abi::host::{InvokeError, LoadedConnector, PluginSpec, load, sha256_hex};
use serde_json::{Value, json};

const TIMESTAMP: &str = "20240308120000+0000";

/// Builds the cdylib once (cargo test does not) and loads it, pinned by its SHA-256.
fn plugin() -> &'static LoadedConnector {
    static PLUGIN: OnceLock<LoadedConnector> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let path = revcycle_test_build::plugin_library(
            &["revcycle-connector-hl7v2"],
            "revcycle-connector-hl7v2",
        );
        let sha256 = sha256_hex(&std::fs::read(&path).expect("built plugin"));
        load(&PluginSpec {
            name: "hl7v2".into(),
            path,
            sha256,
            config: json!({"source_system": "northvalley-ehr"}),
        })
        .expect("load the plugin")
    })
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn import(hl7: &str) -> Result<Value, InvokeError> {
    let instance = plugin().create().expect("create");
    instance.invoke_json("import", &json!({"hl7": hl7, "ack_timestamp": TIMESTAMP}))
}

fn check(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("{name}.hl7"))).unwrap();
    let mut output = import(&text).expect("import succeeds");
    // The ACK context is opaque (for the acknowledge operation); the unit tests cover it.
    assert!(output["ack_context"]["messages"].is_array());
    output.as_object_mut().unwrap().remove("ack_context");
    let expected_path = fixture(&format!("{name}.expected.json"));
    if std::env::var_os("HL7V2_BLESS").is_some() {
        let pretty = serde_json::to_string_pretty(&output).unwrap() + "\n";
        std::fs::write(&expected_path, pretty).unwrap();
    }
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    assert_eq!(
        output, expected,
        "{name}: output differs from the expected file"
    );
    output
}

fn acks(output: &Value) -> Vec<(String, String)> {
    output["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["acknowledgment_code"].as_str().unwrap().to_owned(),
                a["ack"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn plugin_table() {
    let plugin = plugin();
    assert_eq!(plugin.name(), "hl7v2");
    assert_eq!(plugin.kind(), ConnectorKind::Ehr);
    assert_eq!(plugin.operations(), ["import", "acknowledge"]);
}

#[test]
fn adt_a04() {
    let out = check("adt_a04");
    assert_eq!(
        acks(&out),
        [(
            "AA".to_owned(),
            "MSH|^~\\&|REVCYCLE|BILLING|EPICADT|NORTHVALLEY^2.16.840.1.113883.3.1234^ISO|\
             20240308120000+0000||ACK^A04^ACK|ACKMSG00001|P|2.5.1\rMSA|AA|MSG00001"
                .to_owned()
        )]
    );
}

#[test]
fn adt_a08() {
    check("adt_a08");
}

#[test]
fn adt_a28() {
    check("adt_a28");
}

#[test]
fn adt_a31() {
    check("adt_a31");
}

#[test]
fn dft_p03() {
    check("dft_p03");
}

#[test]
fn batch() {
    let out = check("batch");
    assert_eq!(out["acks"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_msh_is_rejected() {
    let out = check("bad_msh");
    assert_eq!(
        acks(&out),
        [(
            "AR".to_owned(),
            "MSH|^~\\&|REVCYCLE|BILLING|EPICADT|NORTHVALLEY|20240308120000+0000||ACK|ACKMSG00900|P|2.5.1\r\
             MSA|AR|MSG00900\r\
             ERR||MSH^1^2|102^Data type error^HL70357|E||||field separator or encoding characters are invalid"
                .to_owned()
        )]
    );
}

#[test]
fn missing_pid3_mr_is_an_application_error() {
    let out = check("missing_pid3_mr");
    let (code, ack) = &acks(&out)[0];
    assert_eq!(code, "AE");
    assert!(
        ack.ends_with("\rMSA|AE|MSG00901\rERR||PID^1^3|101^Required field missing^HL70357|E||||patient identifier list has no identifier of type MR"),
        "{ack}"
    );
    assert_eq!(out["records"], json!([]));
}

#[test]
fn unsupported_type_is_rejected() {
    let out = check("unsupported_type");
    let (code, ack) = &acks(&out)[0];
    assert_eq!(code, "AR");
    assert!(
        ack.ends_with("\rMSA|AR|MSG00902\rERR||MSH^1^9|200^Unsupported message type^HL70357|E||||message type is not supported (ADT, DFT)"),
        "{ack}"
    );
}

#[test]
fn dft_procedure_from_the_transaction_code_when_ft1_25_is_empty() {
    // FT1-25 is empty in the first charge; its FT1-7 is coded in CPT (`C4`), so it is billed.
    let out = check("dft_missing_procedure");
    let (code, ack) = &acks(&out)[0];
    assert_eq!(code, "AA", "{ack}");
    let lines = out["records"][1]["service_lines"].as_array().unwrap();
    assert_eq!(lines[0]["procedure_code"], "99213");
    assert_eq!(lines[1]["procedure_code"], "36415");
}

#[test]
fn errors_never_quote_phi() {
    // Every value of every fixture that could be PHI is absent from issues and ACKs.
    for name in [
        "missing_pid3_mr",
        "bad_msh",
        "unsupported_type",
        "dft_missing_procedure",
    ] {
        let text = std::fs::read_to_string(fixture(&format!("{name}.hl7"))).unwrap();
        let out = import(&text).unwrap();
        let issues = out["issues"].to_string();
        let ack_text = out["acks"].to_string();
        for phi in [
            "Testmissing",
            "Testbad",
            "Testpatient",
            "55512",
            "19900101",
            "MRN100",
        ] {
            assert!(!issues.contains(phi), "{name}: issue quotes a value");
            assert!(!ack_text.contains(phi), "{name}: ACK quotes a value");
        }
    }
}

#[test]
fn refuses_input_without_a_message() {
    match import("PID|1||X^^^^MR") {
        Err(InvokeError::Connector { error, .. }) => assert_eq!(error.code, "invalid_input"),
        other => panic!("expected invalid_input, got {other:?}"),
    }
    let instance = plugin().create().unwrap();
    match instance.invoke("import", b"not json") {
        Err(InvokeError::Connector { error, .. }) => assert_eq!(error.code, "invalid_input"),
        other => panic!("expected invalid_input, got {other:?}"),
    }
}

//! Loads the built plugin through the host loader (SHA-256 pinned) and imports the fixtures.
//!
//! `cargo test` does not build the `.so`; `revcycle_test_build` builds it once, into the same
//! target directory as this test binary.

use std::path::{Path, PathBuf};

use revcycle_connector_abi::canonical::{ImportRecord, ImportResult};
use revcycle_connector_abi::host::{InvokeError, PluginSpec, load, sha256_hex};
use revcycle_connector_abi::{ConnectorKind, serde_json};
use serde_json::{Value, json};

fn plugin_path() -> PathBuf {
    revcycle_test_build::plugin_library(
        &["revcycle-connector-fhir-r4"],
        "revcycle-connector-fhir-r4",
    )
}

fn spec(config: Value) -> PluginSpec {
    let path = plugin_path();
    PluginSpec {
        name: "fhir-r4".into(),
        sha256: sha256_hex(&std::fs::read(&path).expect("read plugin")),
        path,
        config,
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("read fixture")
}

fn import(input: &[u8]) -> (Value, ImportResult) {
    let loaded = load(&spec(json!({"source_system": "ehr-test"}))).expect("load plugin");
    let instance = loaded.create().expect("create");
    let out = instance.invoke("import", input).expect("import");
    let value: Value = serde_json::from_slice(&out).expect("output is JSON");
    let typed: ImportResult = serde_json::from_slice(&out).expect("output is an ImportResult");
    (value, typed)
}

fn check_fixture_output(value: &Value, typed: &ImportResult, line_or_entry: &str) {
    let expected: Value = serde_json::from_slice(&fixture("expected_records.json")).unwrap();
    assert_eq!(value["schema_version"], 1);
    assert_eq!(
        value["records"], expected,
        "records differ from expected_records.json"
    );

    let kinds: Vec<&str> = typed
        .records
        .iter()
        .map(|r| match r {
            ImportRecord::Patient(_) => "patient",
            ImportRecord::Coverage(_) => "coverage",
            ImportRecord::Encounter(_) => "encounter",
            ImportRecord::Unknown => "unknown",
        })
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "patient").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "coverage").count(), 4);
    assert_eq!(kinds.iter().filter(|k| **k == "encounter").count(), 3);

    let encounters: Vec<_> = typed
        .records
        .iter()
        .filter_map(|r| match r {
            ImportRecord::Encounter(e) => Some(e),
            _ => None,
        })
        .collect();
    // Encounter 1: ranks put R05.9 first; ChargeItem lines with an extension modifier.
    let e1 = encounters[0];
    assert_eq!(e1.diagnoses, ["R05.9", "J06.9", "E11.9"]);
    assert_eq!(e1.place_of_service.as_deref(), Some("11"));
    assert_eq!(e1.rendering_provider_npi.as_deref(), Some("1234567893"));
    let l = &e1.service_lines;
    assert_eq!(l.len(), 3);
    assert_eq!(
        (l[0].procedure_code.as_str(), l[0].modifiers.clone()),
        ("99213", vec!["25".to_owned()])
    );
    assert_eq!(
        (l[0].charge.as_str(), l[0].diagnosis_pointers.clone()),
        ("125.00", vec![1, 2])
    );
    assert_eq!(
        (l[1].procedure_code.as_str(), l[1].charge.as_str()),
        ("87880", "35.50")
    );
    assert_eq!(
        l[1].diagnosis_pointers,
        [2],
        "from the priced Procedure's reason"
    );
    assert_eq!(
        (
            l[2].procedure_code.as_str(),
            l[2].units.as_str(),
            l[2].charge.as_str()
        ),
        ("J1100", "4", "24.00")
    );
    // Encounter 2: the Claim's items, modifiers and diagnosisSequence pointers.
    let e2 = encounters[1];
    assert_eq!(e2.diagnoses, ["I10", "E78.5", "Z00.00"]);
    let l = &e2.service_lines;
    assert_eq!(l.len(), 3);
    assert_eq!(l[1].modifiers, ["59", "GT"]);
    assert_eq!(l[2].procedure_code, "G0444");
    assert_eq!((l[2].units.as_str(), l[2].charge.as_str()), ("2", "25.00"));
    assert_eq!(l[2].diagnosis_pointers, [3, 1]);
    assert_eq!(l[2].place_of_service.as_deref(), Some("02"));
    // Encounter 3: emergency class, Procedure lines only.
    let e3 = encounters[2];
    assert_eq!(e3.place_of_service.as_deref(), Some("23"));
    assert_eq!(e3.service_lines.len(), 1);
    assert_eq!(e3.service_lines[0].modifiers, ["XS"]);

    let issues: Vec<(Option<u64>, &str)> = typed
        .issues
        .iter()
        .map(|i| (i.position, i.code.as_str()))
        .collect();
    assert_eq!(issues.len(), 2, "{:?}", typed.issues);
    assert_eq!(issues[0].1, "no_billing_code");
    assert!(
        typed.issues[0].message.contains(line_or_entry),
        "{}",
        typed.issues[0].message
    );
    assert_eq!(issues[1], (None, "ignored_resource_types"));
    assert!(typed.issues[1].message.contains("Observation x1"));
}

#[test]
fn imports_the_transaction_bundle_through_the_host_loader() {
    let loaded = load(&spec(json!({"source_system": "ehr-test"}))).expect("load plugin");
    assert_eq!(loaded.name(), "fhir-r4");
    assert_eq!(loaded.kind(), ConnectorKind::Ehr);
    assert_eq!(loaded.operations(), ["import"]);
    let (value, typed) = import(&fixture("bundle.json"));
    check_fixture_output(&value, &typed, "(entry 30)");
    assert_eq!(typed.issues[0].position, Some(30));
}

#[test]
fn imports_the_ndjson_export_to_the_same_records() {
    let (value, typed) = import(&fixture("export.ndjson"));
    check_fixture_output(&value, &typed, "(line 27)");
    assert_eq!(typed.issues[0].position, Some(27));
}

#[test]
fn refuses_bad_config_and_malformed_input_without_quoting_it() {
    let loaded = load(&spec(json!({"source_system": "ehr-test"}))).expect("load plugin");
    let err = loaded.create_with(&json!({})).unwrap_err().to_string();
    assert!(err.contains("source_system"), "{err}");
    let err = loaded
        .create_with(&json!({"source_system": "x", "default_place_of_service": "office"}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("default_place_of_service") && !err.contains("office\""),
        "{err}"
    );

    let instance = loaded.create().unwrap();
    let input = br#"{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"name": "999-01-0001" "#;
    match instance.invoke("import", input) {
        Err(InvokeError::Connector { error, .. }) => {
            assert_eq!(error.code, "invalid_input");
            assert!(error.message.contains("line 1 column"), "{}", error.message);
            assert!(!error.message.contains("999"), "{}", error.message);
        }
        other => panic!("expected invalid_input, got {other:?}"),
    }
}

//! End-to-end tests of the host loader against real plugin shared libraries.
//!
//! `cargo test` does not build `cdylib` files, so `revcycle_test_build` builds the fixtures once,
//! into the same target directory as this test binary.

use std::path::PathBuf;
use std::sync::Arc;

use revcycle_connector_abi::host::{
    ConnectorsConfig, CreateError, InvokeError, LoadError, PluginSpec, load, sha256_hex,
};
use revcycle_connector_abi::{ABI_VERSION, ConnectorKind};
use serde_json::json;

const FIXTURES: &[&str] = &[
    "revcycle-connector-echo",
    "revcycle-connector-wrong-abi",
    "revcycle-connector-no-symbol",
];

/// A fixture plugin's shared library (all of [`FIXTURES`] are built once per test process).
fn plugin_path(package: &str) -> PathBuf {
    revcycle_test_build::plugin_library(FIXTURES, package)
}

fn spec_for(name: &str, path: PathBuf) -> PluginSpec {
    let sha256 = sha256_hex(&std::fs::read(&path).unwrap());
    PluginSpec {
        name: name.to_owned(),
        path,
        sha256,
        config: json!({}),
    }
}

fn echo_spec() -> PluginSpec {
    spec_for("echo", plugin_path("revcycle-connector-echo"))
}

fn load_err(spec: &PluginSpec) -> LoadError {
    match load(spec) {
        Ok(loaded) => panic!("expected a refusal, loaded {loaded:?}"),
        Err(err) => err,
    }
}

fn connector_error(err: InvokeError) -> revcycle_connector_abi::ConnectorError {
    match err {
        InvokeError::Connector { error, .. } => error,
        other => panic!("expected a connector error, got {other:?}"),
    }
}

#[test]
fn echo_round_trips_bytes() {
    let loaded = load(&echo_spec()).unwrap();
    assert_eq!(loaded.name(), "echo");
    assert_eq!(loaded.version(), "0.1.0");
    assert_eq!(loaded.kind(), ConnectorKind::Ehr);
    assert_eq!(loaded.operations(), ["echo", "fail", "panic", "import"]);
    let instance = loaded.create().unwrap();

    let input = br#"{"hello":"world","n":[1,2,3]}"#;
    assert_eq!(instance.invoke("echo", input).unwrap(), input);
    assert_eq!(instance.invoke("echo", b"").unwrap(), b"");
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(instance.invoke("echo", &big).unwrap(), big);

    let value: serde_json::Value = instance.invoke_json("echo", &json!({"a": "b"})).unwrap();
    assert_eq!(value, json!({"a": "b"}));
}

#[test]
fn config_reaches_the_plugin() {
    let loaded = load(&echo_spec()).unwrap();
    let instance = loaded.create_with(&json!({"prefix": ">"})).unwrap();
    assert_eq!(instance.invoke("echo", b"x").unwrap(), b">x");

    match loaded.create_with(&json!({"refuse": true})) {
        Err(CreateError::Connector { error, .. }) => assert_eq!(error.code, "invalid_config"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn fail_returns_a_structured_error() {
    let instance = load(&echo_spec()).unwrap().create().unwrap();
    let err = connector_error(instance.invoke("fail", b"{}").unwrap_err());
    assert_eq!(err.code, "echo_failed");
    assert_eq!(err.message, "failed as asked");
}

#[test]
fn panic_becomes_an_error_and_the_instance_survives() {
    let instance = load(&echo_spec()).unwrap().create().unwrap();
    let err = connector_error(instance.invoke("panic", b"{}").unwrap_err());
    assert_eq!(err.code, "panic");
    assert!(!err.message.contains("as asked"), "payload leaked: {err:?}");
    // Same instance, still usable.
    assert_eq!(instance.invoke("echo", b"after").unwrap(), b"after");
    let err = connector_error(instance.invoke("panic", b"").unwrap_err());
    assert_eq!(err.code, "panic");
    assert_eq!(instance.invoke("echo", b"again").unwrap(), b"again");
}

#[test]
fn unknown_operation_is_refused_by_the_host() {
    let instance = load(&echo_spec()).unwrap().create().unwrap();
    match instance.invoke("delete_everything", b"{}") {
        Err(InvokeError::UnknownOperation { op, .. }) => assert_eq!(op, "delete_everything"),
        other => panic!("expected UnknownOperation, got {other:?}"),
    }
}

#[test]
fn instances_outlive_the_loaded_connector_and_work_across_threads() {
    let instance = {
        let loaded = load(&echo_spec()).unwrap();
        Arc::new(loaded.create().unwrap())
    };
    // The LoadedConnector is gone; the instance keeps the library mapped.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let instance = Arc::clone(&instance);
            std::thread::spawn(move || {
                for i in 0..200 {
                    let input = format!("{{\"t\":{t},\"i\":{i}}}");
                    let out = instance.invoke("echo", input.as_bytes()).unwrap();
                    assert_eq!(out, input.as_bytes());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn wrong_hash_is_refused_before_loading() {
    // A private copy, so the test can tell whether the dynamic loader ever mapped it.
    let dir = std::env::temp_dir().join(format!("revcycle-abi-hash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("librevcycle_connector_echo_copy.so");
    std::fs::copy(plugin_path("revcycle-connector-echo"), &copy).unwrap();
    let mut spec = spec_for("echo", copy.clone());
    let right = spec.sha256.clone();
    spec.sha256 = sha256_hex(b"something else");

    match load_err(&spec) {
        LoadError::HashMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, spec.sha256);
            assert_eq!(actual, right);
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    #[cfg(target_os = "linux")]
    {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(
            !maps.contains("librevcycle_connector_echo_copy"),
            "the refused file was mapped"
        );
    }

    // A file the loader would choke on is refused on its hash, not by the loader.
    let garbage = dir.join("garbage.so");
    std::fs::write(&garbage, b"not a shared library").unwrap();
    let mut spec = spec_for("echo", garbage.clone());
    assert!(matches!(load_err(&spec), LoadError::Open { .. }));
    spec.sha256 = right;
    assert!(matches!(load_err(&spec), LoadError::HashMismatch { .. }));

    spec.sha256 = "not hex".into();
    assert!(matches!(load_err(&spec), LoadError::InvalidHash { .. }));
    spec.path = dir.join("missing.so");
    spec.sha256 = sha256_hex(b"");
    assert!(matches!(load_err(&spec), LoadError::Read { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_abi_version_is_refused() {
    let spec = spec_for("echo", plugin_path("revcycle-connector-wrong-abi"));
    match load_err(&spec) {
        LoadError::AbiVersion {
            found, expected, ..
        } => {
            assert_eq!(found, 999);
            assert_eq!(expected, ABI_VERSION);
        }
        other => panic!("expected AbiVersion, got {other:?}"),
    }
}

#[test]
fn missing_symbol_is_refused() {
    let spec = spec_for("echo", plugin_path("revcycle-connector-no-symbol"));
    match load_err(&spec) {
        LoadError::MissingSymbol { symbol, .. } => assert_eq!(symbol, "revcycle_connector_v1"),
        other => panic!("expected MissingSymbol, got {other:?}"),
    }
}

#[test]
fn name_mismatch_is_refused() {
    let mut spec = echo_spec();
    spec.name = "fhir-r4".into();
    match load_err(&spec) {
        LoadError::NameMismatch { configured, found } => {
            assert_eq!(configured, "fhir-r4");
            assert_eq!(found, "echo");
        }
        other => panic!("expected NameMismatch, got {other:?}"),
    }
}

#[test]
fn loads_from_connectors_toml() {
    let path = plugin_path("revcycle-connector-echo");
    let sha256 = sha256_hex(&std::fs::read(&path).unwrap());
    let text = format!(
        "[[connector]]\nname = \"echo\"\npath = {:?}\nsha256 = \"{sha256}\"\nconfig = {{ prefix = \"cfg:\" }}\n",
        path.to_str().unwrap()
    );
    let config = ConnectorsConfig::from_toml_str(&text).unwrap();
    let loaded = revcycle_connector_abi::host::load_all(&config).unwrap();
    assert_eq!(loaded.len(), 1);
    let instance = loaded[0].create().unwrap();
    assert_eq!(instance.invoke("echo", b"x").unwrap(), b"cfg:x");
}

//! A payer connector's configuration must say who submits and whether files are production
//! or test files: `revcycle serve` refuses to start without each key, naming it.

use std::process::Command;

use revcycle_connector_abi::host::sha256_hex;
use revcycle_e2e::{plugin_library, revcycle_bin};

/// Starts `revcycle serve` with an x12 connector whose config is `config` (inline TOML
/// table entries); it must refuse to start. Returns stderr.
fn refused_with(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin_library("revcycle-connector-x12");
    let sha = sha256_hex(&std::fs::read(&plugin).unwrap());
    let toml = dir.path().join("connectors.toml");
    std::fs::write(
        &toml,
        format!(
            "[[connector]]\nname = \"x12\"\npath = \"{}\"\nsha256 = \"{sha}\"\n\
             config = {{ outbox = \"outbox\", {config} }}\n",
            plugin.display()
        ),
    )
    .unwrap();
    let out = Command::new(revcycle_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--insecure-http"])
        .env("REVCYCLE_DATA_DIR", dir.path().join("data"))
        .env("REVCYCLE_DATABASE_URL", dir.path().join("t.db"))
        .env("REVCYCLE_CONNECTORS", &toml)
        .env("REVCYCLE_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REVCYCLE_MASTER_KEY")
        .output()
        .expect("run revcycle");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "started with {config}: {stderr}");
    stderr
}

#[test]
fn a_payer_connector_without_submitter_or_usage_indicator_does_not_start() {
    let keys = [
        ("submitter_name", "submitter_name = \"Springfield Billing\""),
        ("contact_name", "contact_name = \"Dana Reyes\""),
        ("contact_phone", "contact_phone = \"217-555-0142\""),
        ("production", "production = true"),
    ];
    for (missing, _) in keys {
        let config: Vec<&str> = keys
            .iter()
            .filter(|(k, _)| *k != missing)
            .map(|(_, v)| *v)
            .collect();
        let stderr = refused_with(&config.join(", "));
        assert!(
            stderr.contains(&format!(
                "connector \"x12\": config.{missing} is required for a payer connector"
            )),
            "{missing}: {stderr}"
        );
    }
    // A usage indicator that is not a boolean is refused, and the value is not echoed.
    let stderr = refused_with(
        "submitter_name = \"Springfield Billing\", contact_name = \"Dana Reyes\", \
         contact_phone = \"217-555-0142\", production = \"PRODVALUE\"",
    );
    assert!(
        stderr.contains("config.production is required for a payer connector (true or false"),
        "{stderr}"
    );
    assert!(!stderr.contains("PRODVALUE"), "{stderr}");
}

//! The files tests run: the `revcycle` binary and the connector plugins' shared libraries,
//! built on demand (see `revcycle_test_build`).

use std::path::PathBuf;
use std::sync::OnceLock;

use revcycle_test_build::{cargo_build, profile_dir};

/// Path of the `revcycle` binary, built once per test process.
pub fn revcycle_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The load generator's audit comparison needs the build that can switch auditing off.
        let features = std::env::var("REVCYCLE_E2E_BIN_FEATURES").ok();
        let mut extra = vec!["--bin", "revcycle"];
        if let Some(f) = &features {
            extra.extend(["--features", f.as_str()]);
        }
        cargo_build(&["revcycle-api"], &extra);
        profile_dir().join("revcycle")
    })
    .clone()
}

/// The connector plugins the tests load, as real shared libraries.
pub const PLUGINS: &[&str] = &[
    "revcycle-connector-fhir-r4",
    "revcycle-connector-hl7v2",
    "revcycle-connector-echo",
    "revcycle-connector-wrong-abi",
    "revcycle-connector-x12",
];

/// Path of a plugin's shared library (all of [`PLUGINS`] are built once per test process).
pub fn plugin_library(package: &str) -> PathBuf {
    revcycle_test_build::plugin_library(PLUGINS, package)
}

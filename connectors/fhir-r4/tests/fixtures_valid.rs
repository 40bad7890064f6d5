//! The fixtures are valid FHIR R4 (4.0.1): checked by `fhir.resources` 6.4.0 (pydantic 1) in a
//! venv under `<target>/py/fhir-r4`, created on first use (needs python3 with venv and PyPI).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Requirements of the validator venv. fhir.resources 6.x needs pydantic 1 but does not say so.
const PACKAGES: &[&str] = &["fhir.resources==6.4.0", "pydantic>=1.10,<2"];

/// The venv's bin directory.
fn venv_bin() -> PathBuf {
    revcycle_pytools::python_tool("fhir-r4", PACKAGES)
}

fn here(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn fixtures_are_valid_fhir_r4_with_valid_npis() {
    let python = venv_bin().join("python");
    let out = Command::new(python)
        .arg(here("tests/validate_fixtures.py"))
        .arg(here("tests/fixtures/bundle.json"))
        .arg(here("tests/fixtures/export.ndjson"))
        .output()
        .expect("run the fixture validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fixture validation failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

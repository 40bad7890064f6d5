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

/// Every file of the conformance corpus is valid R4 for `fhir.resources` (the official examples
/// and the Synthea bundles alike, each Bundle with its Patient). The only problems are our own
/// NPI check on the Synthea bundles: Synthea 2.x practitioner "NPIs" are sequence numbers, and
/// the Synthea 3.x sample names its practitioners by conditional references to 10-digit NPIs
/// (9999962229, 9999999559) that fail the check digit. The plugin passes NPIs as sent and the
/// host refuses encounters naming a bad one, so the files are tolerated here and their
/// encounters answered downstream (`tests/e2e/fhir.rs`, the Synthea tests).
#[test]
fn corpus_files_are_valid_fhir_r4_and_only_the_synthea_npis_fail_the_check_digit() {
    let python = venv_bin().join("python");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(here("tests/corpus")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).unwrap() {
                files.push(f.unwrap().path());
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 27, "{files:?}");
    let out = Command::new(python)
        .arg(here("tests/validate_fixtures.py"))
        .args(&files)
        .output()
        .expect("run the fixture validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let corpus = here("tests/corpus").display().to_string();
    let lines: Vec<String> = stdout
        .lines()
        .map(|l| l.replace(&corpus, "corpus"))
        .collect();
    assert_eq!(
        lines,
        [
            "corpus/fhiry-5.2.2/afhir.json: NPI 290 fails the Luhn check",
            "corpus/fhiry-5.2.2/afhir.json: NPI 46290 fails the Luhn check",
            "corpus/synthea-3/sample_complete_patient.json: NPI 9999962229 fails the Luhn check",
            "corpus/synthea-3/sample_complete_patient.json: NPI 9999999559 fails the Luhn check",
            "47 passed, 4 failed",
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

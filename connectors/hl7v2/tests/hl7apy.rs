//! The good fixtures are valid HL7 v2.5.1 according to an independent implementation: hl7apy
//! (strict parsing plus message validation), run by `validate_hl7apy.py` in a virtualenv under
//! the target directory, created here when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const GOOD_FIXTURES: &[&str] = &[
    "adt_a04.hl7",
    "adt_a08.hl7",
    "adt_a28.hl7",
    "adt_a31.hl7",
    "dft_p03.hl7",
    "batch.hl7",
];

/// The pinned validator version.
const HL7APY: &str = "hl7apy==1.3.5";

fn venv_python() -> PathBuf {
    revcycle_pytools::python_tool("hl7apy", &[HL7APY]).join("python")
}

#[test]
fn good_fixtures_pass_hl7apy_strict_validation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let output = Command::new(venv_python())
        .arg(dir.join("validate_hl7apy.py"))
        .args(GOOD_FIXTURES.iter().map(|f| dir.join("fixtures").join(f)))
        .output()
        .expect("run the validator");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "hl7apy refused fixtures:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("7 passed, 0 failed"), "{stdout}");
}

#[test]
fn validator_refuses_a_broken_message() {
    // The validator is not a rubber stamp: PV1-2 (required) missing.
    let dir = revcycle_pytools::target_dir().join("hl7apy-probe");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.hl7");
    std::fs::write(
        &file,
        "MSH|^~\\&|A|B|C|D|20240301||ADT^A04^ADT_A01|X1|P|2.5.1\rEVN|A04|20240301\r\
         PID|1||M1^^^H^MR||Doe^J\rPV1|1\r",
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_hl7apy.py");
    let output = Command::new(venv_python())
        .arg(script)
        .arg(&file)
        .output()
        .expect("run the validator");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("PV1_2"));
}

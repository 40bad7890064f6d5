//! The fixtures are valid FHIR R4 (4.0.1): checked by `fhir.resources` 6.4.0 (pydantic 1) in a
//! venv under `<target>/py/fhir-r4`, created on first use (needs python3 with venv and PyPI).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Requirements of the validator venv. fhir.resources 6.x needs pydantic 1 but does not say so.
const PACKAGES: &[&str] = &["fhir.resources==6.4.0", "pydantic>=1.10,<2"];

fn target_dir() -> PathBuf {
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir").to_owned()
}

/// The venv's bin directory, created (under a file lock) when missing or stale.
fn venv_bin() -> PathBuf {
    let root = target_dir().join("py");
    std::fs::create_dir_all(&root).expect("create target/py");
    let venv = root.join("fhir-r4");
    let stamp = venv.join("revcycle-packages.txt");
    let wanted = PACKAGES.join("\n") + "\n";
    let lock = std::fs::File::create(root.join("fhir-r4.lock")).expect("venv lock file");
    lock.lock().expect("lock the venv");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return venv.join("bin");
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).expect("remove an unfinished venv");
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
        assert!(
            out.status.success(),
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "creating a Python venv (needs python3 with venv; on Debian: apt-get install python3-venv)",
    );
    run(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PACKAGES),
        "pip install fhir.resources (needs access to PyPI)",
    );
    std::fs::write(&stamp, wanted).expect("write venv stamp");
    venv.join("bin")
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

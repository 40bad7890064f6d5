//! External validators for the tests, in Python virtual environments under `target/py/<name>`,
//! each with exactly the pinned packages it was asked for. Shared by every crate's tests so one
//! venv serves them all, created once under a file lock.

use std::path::PathBuf;
use std::process::Command;

/// The cargo target directory of the running test or binary (`target/`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    // Tests live in target/<profile>/deps/, binaries in target/<profile>/.
    let mut dir = exe.parent().expect("executable dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir.pop();
    dir
}

/// A Python virtual environment under `target/py/<name>` with exactly `packages` (pinned
/// pip requirement strings) installed, created on first use; returns its `bin` directory.
///
/// Test processes run in parallel, so creation happens under a file lock, and a stamp naming
/// the packages marks a finished environment (a half-built one is rebuilt). A missing
/// python3 or a failed install fails the test with the reason: a tool is never skipped.
pub fn python_tool(name: &str, packages: &[&str]) -> PathBuf {
    let root = target_dir().join("py");
    std::fs::create_dir_all(&root).expect("create target/py");
    let venv = root.join(name);
    let stamp = venv.join("revcycle-packages.txt");
    let wanted = packages.join("\n") + "\n";
    let lock = std::fs::File::create(root.join(format!("{name}.lock"))).expect("venv lock file");
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
            .args(packages),
        &format!("pip install {packages:?} (needs access to PyPI)"),
    );
    std::fs::write(&stamp, wanted).expect("write venv stamp");
    venv.join("bin")
}

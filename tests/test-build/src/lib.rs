//! Test support: builds the workspace packages a test needs as files, and finds them.
//!
//! `cargo test` (and nextest) builds neither a cdylib nor another package's binary for a test,
//! so tests that load a connector plugin's shared library or start the `revcycle` binary build
//! it here with `cargo build`, into the target directory and profile the test itself runs from.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The profile directory the running test or binary lives in (`target/debug`,
/// `target/release`, ...): tests live in `target/<profile>/deps/`, binaries in
/// `target/<profile>/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let mut dir = exe.parent().expect("executable dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir
}

/// `cargo build` of `packages` (with `extra` arguments) into the running test's target
/// directory and profile.
pub fn cargo_build(packages: &[&str], extra: &[&str]) {
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target dir");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--quiet"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.args(extra)
        .arg("--target-dir")
        .arg(target_dir)
        // Inside the workspace, wherever the test or tool was started from.
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    // Cargo's per-package variables (set for this test process) would reach build scripts
    // that watch them (ring watches CARGO_MANIFEST_DIR) and make every test rebuild them.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "CARGO_MANIFEST_DIR"
            || name == "CARGO_MANIFEST_PATH"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR"
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
        {
            cmd.env_remove(name.as_ref());
        }
    }
    // Pin the toolchain this cargo belongs to: started outside cargo (a tool run directly), a
    // rustup proxy would otherwise obey a dependency's own rust-toolchain file and ask for a
    // toolchain that is not installed.
    if std::env::var_os("RUSTUP_TOOLCHAIN").is_none()
        && let Some(toolchain) = Path::new(&cargo)
            .parent()
            .and_then(|bin| bin.parent())
            .and_then(|dir| dir.file_name())
    {
        cmd.env("RUSTUP_TOOLCHAIN", toolchain);
    }
    let status = cmd.status().expect("run cargo build");
    assert!(
        status.success(),
        "cargo build {packages:?} {extra:?} failed"
    );
}

/// Path of `package`'s shared library (a connector plugin). `package` is one of `packages`,
/// which are built together, once per process, the first time any of them is asked for.
pub fn plugin_library(packages: &[&str], package: &str) -> PathBuf {
    assert!(
        packages.contains(&package),
        "{package} is not among {packages:?}"
    );
    static BUILT: OnceLock<Mutex<HashSet<Vec<String>>>> = OnceLock::new();
    {
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let key: Vec<String> = packages.iter().map(|p| p.to_string()).collect();
        if !built.contains(&key) {
            cargo_build(packages, &["--lib"]);
            built.insert(key);
        }
    }
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let path = profile_dir().join(file);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

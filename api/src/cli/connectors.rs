//! `revcycle connectors pin`: the SHA-256 of each configured plugin file written into
//! `connectors.toml`, everything else in the file (comments, order, layout) kept as written.
//! The file is hashed, never loaded: loading runs a library's code, and the point of the pin
//! is that nothing runs before its hash is checked.

use std::path::{Path, PathBuf};

use revcycle_connector_abi::host::{ConnectorsConfig, sha256_hex};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::config::{ConfigFileArgs, ConnectorsFileArgs};
use crate::startup::StartupError;

#[derive(Debug, clap::Args)]
pub struct PinArgs {
    /// Pin only these connectors (default: every `[[connector]]` of the file).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub file: ConfigFileArgs,
    #[command(flatten)]
    pub connectors: ConnectorsFileArgs,
}

/// One connector's outcome.
#[derive(Debug, PartialEq, Eq)]
pub struct Pinned {
    pub name: String,
    pub sha256: String,
    /// `pinned` (it had no valid hash), `updated` (another hash) or `unchanged`.
    pub change: &'static str,
}

pub fn pin(args: PinArgs) -> Result<(), StartupError> {
    let config = crate::config::load_config(|a| {
        a.file = args.file;
        a.connectors = args.connectors;
    })?;
    let path = config.connectors.ok_or_else(|| {
        StartupError::Refused(
            "no connectors file is configured: give --connectors FILE (or set \
             REVCYCLE_CONNECTORS, or `connectors` in the configuration file)"
                .into(),
        )
    })?;
    let refused = |e: String| StartupError::Refused(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(&path).map_err(|e| refused(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let (new_text, pinned) = pin_text(&text, base, &args.names).map_err(refused)?;
    // The server must accept what is written (names unique, known keys only).
    ConnectorsConfig::from_toml_str(&new_text).map_err(|e| refused(e.to_string()))?;
    if new_text != text {
        write_replacing(&path, &new_text).map_err(|e| refused(e.to_string()))?;
    }
    for p in &pinned {
        println!("{}\t{}\t{}", p.name, p.sha256, p.change);
    }
    if new_text != text {
        eprintln!(
            "revcycle: wrote {}; servers load connectors at start: restart them to use it",
            path.display()
        );
    }
    Ok(())
}

/// `text` with the `sha256` of each `[[connector]]` (or only those named in `only`) set to
/// its file's hash; relative paths are read from `base`, as the server reads them.
pub fn pin_text(text: &str, base: &Path, only: &[String]) -> Result<(String, Vec<Pinned>), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        // toml's message quotes the line, and config values may be secrets: position only.
        match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                format!("invalid TOML at line {line} column {column}")
            }
            None => "invalid TOML".to_string(),
        }
    })?;
    let mut entries: Vec<&mut dyn TableLike> = match doc.get_mut("connector") {
        Some(Item::ArrayOfTables(tables)) => {
            tables.iter_mut().map(|t| t as &mut dyn TableLike).collect()
        }
        Some(Item::Value(Value::Array(array))) => {
            let mut entries: Vec<&mut dyn TableLike> = Vec::new();
            for value in array.iter_mut() {
                match value {
                    Value::InlineTable(t) => entries.push(t),
                    _ => return Err("`connector` must be a list of tables".into()),
                }
            }
            entries
        }
        Some(_) => return Err("`connector` must be a list of tables ([[connector]])".into()),
        None => Vec::new(),
    };
    if entries.is_empty() {
        return Err("lists no [[connector]]".into());
    }
    let mut pinned = Vec::new();
    for (i, entry) in entries.iter_mut().enumerate() {
        let field = |key: &str| {
            entry
                .get(key)
                .and_then(Item::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("connector {} has no `{key}`", i + 1))
        };
        let name = field("name")?;
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let file = PathBuf::from(field("path")?);
        let file = if file.is_relative() {
            base.join(file)
        } else {
            file
        };
        let bytes = std::fs::read(&file)
            .map_err(|e| format!("connector {name:?}: cannot read {}: {e}", file.display()))?;
        let sha256 = sha256_hex(&bytes);
        let before = entry
            .get("sha256")
            .and_then(Item::as_str)
            .map(|s| s.trim().to_ascii_lowercase());
        let change = match before.as_deref() {
            Some(b) if b == sha256 => "unchanged",
            Some(b) if b.len() == 64 && b.chars().all(|c| c.is_ascii_hexdigit()) => "updated",
            _ => "pinned",
        };
        if change != "unchanged" {
            set_keeping_comments(&mut **entry, "sha256", &sha256);
        }
        pinned.push(Pinned {
            name,
            sha256,
            change,
        });
    }
    if let Some(missing) = only.iter().find(|n| !pinned.iter().any(|p| &p.name == *n)) {
        return Err(format!("no connector named {missing:?}"));
    }
    Ok((doc.to_string(), pinned))
}

/// Sets `key` to the string `value`, keeping the comments and spacing around the old value.
fn set_keeping_comments(table: &mut dyn TableLike, key: &str, value: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = Value::from(value);
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(value));
        }
    }
}

/// Replaces the file's contents in one rename, so a reader never sees half a file; the
/// permissions stay (the file may be readable by the service account only), and a symlinked
/// file is updated where it really is.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&target)?.permissions();
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".pinning");
    let tmp = target.with_file_name(name);
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, permissions)?;
    std::fs::rename(&tmp, &target).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of `abc` (FIPS 180-2, appendix B.1).
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        dir
    }

    #[test]
    fn pins_each_file_and_keeps_the_rest_as_written() {
        let dir = dir_with(&[("a.so", b"abc"), ("b.so", b"other")]);
        let text = "# Plugins of this server.\n\
                    [[connector]]\n\
                    name = \"a\" # the EHR feed\n\
                    path = \"a.so\"\n\
                    sha256 = \"<the sha256sum above>\" # set by pin\n\
                    config = { source_system = \"urn:example\" }\n\
                    \n\
                    [[connector]]\n\
                    name = \"b\"\n\
                    path = \"b.so\"\n\
                    \n\
                    [connector.config]\n\
                    # kept\n\
                    x = 1\n";
        let (out, pinned) = pin_text(text, dir.path(), &[]).unwrap();
        assert_eq!(pinned[0].sha256, ABC);
        assert_eq!(pinned[0].change, "pinned");
        assert_eq!(pinned[1].sha256, sha256_hex(b"other"));
        let expected_a = format!("sha256 = \"{ABC}\" # set by pin\n");
        assert!(out.contains(&expected_a), "{out}");
        for kept in [
            "# Plugins of this server.\n",
            "name = \"a\" # the EHR feed\n",
            "config = { source_system = \"urn:example\" }\n",
            "[connector.config]\n# kept\nx = 1\n",
        ] {
            assert!(out.contains(kept), "{kept:?} lost: {out}");
        }
        let parsed = ConnectorsConfig::from_toml_str(&out).unwrap();
        assert_eq!(parsed.get("b").unwrap().sha256, sha256_hex(b"other"));
        // Pinning again changes nothing.
        let (again, pinned) = pin_text(&out, dir.path(), &[]).unwrap();
        assert_eq!(again, out);
        assert!(pinned.iter().all(|p| p.change == "unchanged"));
    }

    #[test]
    fn a_stale_hash_is_updated_and_only_named_connectors_are_touched() {
        let dir = dir_with(&[("a.so", b"abc"), ("b.so", b"other")]);
        let stale = "0".repeat(64);
        let text = format!(
            "connector = [\n  {{ name = \"a\", path = \"a.so\", sha256 = \"{stale}\" }},\n  \
             {{ name = \"b\", path = \"b.so\", sha256 = \"{stale}\" }},\n]\n"
        );
        let (out, pinned) = pin_text(&text, dir.path(), &["a".to_string()]).unwrap();
        assert_eq!(
            pinned,
            [Pinned {
                name: "a".into(),
                sha256: ABC.into(),
                change: "updated"
            }]
        );
        let parsed = ConnectorsConfig::from_toml_str(&out).unwrap();
        assert_eq!(parsed.get("a").unwrap().sha256, ABC);
        assert_eq!(parsed.get("b").unwrap().sha256, stale, "b was not named");
        let err = pin_text(&text, dir.path(), &["c".to_string()]).unwrap_err();
        assert!(err.contains("no connector named \"c\""), "{err}");
    }

    #[test]
    fn a_missing_file_or_a_broken_file_is_refused_without_quoting_values() {
        let dir = dir_with(&[]);
        let text = "[[connector]]\nname = \"a\"\npath = \"gone.so\"\n";
        let err = pin_text(text, dir.path(), &[]).unwrap_err();
        assert!(
            err.contains("connector \"a\": cannot read") && err.contains("gone.so"),
            "{err}"
        );
        let err = pin_text("[[connector]]\nname = \"secret-value\n", dir.path(), &[]).unwrap_err();
        assert!(err.starts_with("invalid TOML at line 2"), "{err}");
        assert!(!err.contains("secret-value"), "{err}");
        let err = pin_text("# nothing yet\n", dir.path(), &[]).unwrap_err();
        assert!(err.contains("no [[connector]]"), "{err}");
        let err = pin_text("[[connector]]\npath = \"a.so\"\n", dir.path(), &[]).unwrap_err();
        assert!(err.contains("has no `name`"), "{err}");
    }

    #[test]
    fn the_file_is_replaced_whole_with_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir_with(&[("connectors.toml", b"old")]);
        let path = dir.path().join("connectors.toml");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write_replacing(&link, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }
}

//! The host side: load plugins named in the configuration and call them.
//!
//! [`load`] reads the plugin file, checks its SHA-256 against the configured value *before* the
//! dynamic loader sees it (loading runs the library's initializers), then checks the exported
//! symbol, the ABI version and the name. A [`LoadedConnector`] creates [`ConnectorInstance`]s;
//! each instance keeps the library mapped until it is dropped.
//!
//! Calls are blocking; callers on an async runtime run them on a blocking thread
//! (`ConnectorInstance` is `Send + Sync` and cheap to share behind an `Arc`).
//!
//! The hash is checked on the bytes read, then the loader opens the path again: keep plugin
//! files in a directory only the service owner can write.

use std::collections::HashSet;
use std::ffi::c_void;
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ConnectorError;
use crate::ffi::{
    ABI_VERSION, Buffer, ConnectorKind, ConnectorTable, CreateFn, DestroyFn, EntryPoint,
    FreeBufferFn, InvokeFn, STATUS_OK, SYMBOL_NAME, SYMBOL_NAME_NUL, StrRef,
};

/// One `[[connector]]` entry of `connectors.toml`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// The name the plugin must report.
    pub name: String,
    /// Path of the shared library (relative paths are resolved against the config file's
    /// directory by [`ConnectorsConfig::from_file`]).
    pub path: PathBuf,
    /// Expected SHA-256 of the file, 64 hex digits.
    pub sha256: String,
    /// Passed to the plugin's `create` as JSON. May hold credentials: never logged.
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl fmt::Debug for PluginSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // config may carry credentials: leave it out.
        f.debug_struct("PluginSpec")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// The parsed `connectors.toml`:
///
/// ```toml
/// [[connector]]
/// name = "fhir-r4"
/// path = "plugins/librevcycle_connector_fhir_r4.so"
/// sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// config = { base_url = "https://ehr.example.org/fhir", timeout_seconds = 30 }
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorsConfig {
    #[serde(default, rename = "connector")]
    pub connectors: Vec<PluginSpec>,
}

/// Why `connectors.toml` was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read connector configuration {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The message is toml's, which quotes the offending line: config values may be secrets, so
    /// only the position is kept.
    #[error("invalid connector configuration{}", match .span { Some((l, c)) => format!(" at line {l} column {c}"), None => String::new() })]
    Syntax { span: Option<(usize, usize)> },
    #[error("connector {name:?} is configured twice")]
    DuplicateName { name: String },
    #[error("connector {name:?}: sha256 must be 64 hex digits")]
    InvalidHash { name: String },
}

impl ConnectorsConfig {
    /// Parses the TOML text. Relative paths stay as written.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: ConnectorsConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().map(|span| line_column(text, span.start));
            ConfigError::Syntax { span }
        })?;
        let mut seen = HashSet::new();
        for spec in &config.connectors {
            if !seen.insert(spec.name.as_str()) {
                return Err(ConfigError::DuplicateName {
                    name: spec.name.clone(),
                });
            }
            if parse_sha256(&spec.sha256).is_none() {
                return Err(ConfigError::InvalidHash {
                    name: spec.name.clone(),
                });
            }
        }
        Ok(config)
    }

    /// Reads and parses a file; relative plugin paths are resolved against its directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml_str(&text)?;
        let base = path.parent().unwrap_or(Path::new(""));
        for spec in &mut config.connectors {
            if spec.path.is_relative() {
                spec.path = base.join(&spec.path);
            }
        }
        Ok(config)
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&PluginSpec> {
        self.connectors.iter().find(|spec| spec.name == name)
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out).ok()?;
    Some(out)
}

/// Why a plugin was not loaded. Messages name the connector and file, never its configuration.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("connector {name:?}: configured sha256 is not 64 hex digits")]
    InvalidHash { name: String },
    #[error("connector {name:?}: cannot read {path}: {source}")]
    Read {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "connector {name:?}: {path} has sha256 {actual}, configuration expects {expected}; not loaded"
    )]
    HashMismatch {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("connector {name:?}: cannot load {path}: {source}")]
    Open {
        name: String,
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    #[error("connector {name:?}: {path} does not export {symbol}; not a connector plugin")]
    MissingSymbol {
        name: String,
        path: PathBuf,
        symbol: &'static str,
    },
    #[error("connector {name:?}: plugin speaks ABI version {found}, host speaks {expected}")]
    AbiVersion {
        name: String,
        found: u32,
        expected: u32,
    },
    #[error("connector {configured:?}: plugin calls itself {found:?}")]
    NameMismatch { configured: String, found: String },
    #[error("connector {name:?}: malformed connector table: {reason}")]
    InvalidTable { name: String, reason: String },
}

/// Why an instance could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("connector {name:?} refused its configuration: {error}")]
    Connector { name: String, error: ConnectorError },
    #[error("connector {name:?}: {reason}")]
    Protocol { name: String, reason: String },
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// Refused by the host: the plugin does not declare this operation.
    #[error("connector {name:?} has no operation {op:?}")]
    UnknownOperation { name: String, op: String },
    /// The plugin reported a structured error (code `panic` if it panicked).
    #[error("connector {name:?}: {error}")]
    Connector { name: String, error: ConnectorError },
    /// The plugin broke the calling convention (e.g. an unparseable error buffer).
    #[error("connector {name:?}: {reason}")]
    Protocol { name: String, reason: String },
}

impl InvokeError {
    /// The plugin's structured error, if that is what this is.
    pub fn connector_error(&self) -> Option<&ConnectorError> {
        match self {
            InvokeError::Connector { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Lowercase hex SHA-256 of a byte string.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct Library {
    name: String,
    version: String,
    kind: ConnectorKind,
    operations: Vec<String>,
    sha256: String,
    path: PathBuf,
    create: CreateFn,
    invoke: InvokeFn,
    free_buffer: FreeBufferFn,
    destroy: DestroyFn,
    /// Declared last so it is dropped (unmapped) after everything above.
    _library: libloading::Library,
}

/// A verified, loaded plugin. Cheap to clone; the library stays mapped while any clone or
/// instance lives.
#[derive(Clone)]
pub struct LoadedConnector {
    lib: Arc<Library>,
    config: serde_json::Value,
}

impl fmt::Debug for LoadedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedConnector")
            .field("name", &self.lib.name)
            .field("version", &self.lib.version)
            .field("kind", &self.lib.kind)
            .field("operations", &self.lib.operations)
            .field("path", &self.lib.path)
            .field("sha256", &self.lib.sha256)
            .finish_non_exhaustive()
    }
}

/// Loads a plugin: checks the file's SHA-256 (before it is mapped), the exported symbol, the ABI
/// version and the name.
pub fn load(spec: &PluginSpec) -> Result<LoadedConnector, LoadError> {
    let name = spec.name.clone();
    let expected =
        parse_sha256(&spec.sha256).ok_or_else(|| LoadError::InvalidHash { name: name.clone() })?;
    let bytes = std::fs::read(&spec.path).map_err(|source| LoadError::Read {
        name: name.clone(),
        path: spec.path.clone(),
        source,
    })?;
    let actual: [u8; 32] = Sha256::digest(&bytes).into();
    if actual != expected {
        return Err(LoadError::HashMismatch {
            name,
            path: spec.path.clone(),
            expected: hex::encode(expected),
            actual: hex::encode(actual),
        });
    }
    drop(bytes);

    // SAFETY: the file's content matches the hash the operator pinned, so running its
    // initializers is what the configuration asked for.
    let library =
        unsafe { libloading::Library::new(&spec.path) }.map_err(|source| LoadError::Open {
            name: name.clone(),
            path: spec.path.clone(),
            source,
        })?;
    // SAFETY: the symbol is declared by the ABI as an `extern "C" fn() -> *const ConnectorTable`.
    let entry: EntryPoint = match unsafe { library.get::<EntryPoint>(SYMBOL_NAME_NUL) } {
        Ok(symbol) => *symbol,
        Err(_) => {
            return Err(LoadError::MissingSymbol {
                name,
                path: spec.path.clone(),
                symbol: SYMBOL_NAME,
            });
        }
    };
    let invalid = |reason: &str| LoadError::InvalidTable {
        name: name.clone(),
        reason: reason.to_owned(),
    };
    // SAFETY: the entry point takes no arguments and returns a pointer to a static table.
    let table_ptr = unsafe { entry() };
    if table_ptr.is_null() {
        return Err(invalid("entry point returned null"));
    }
    // SAFETY: non-null; every ABI version's table is repr(C) and starts with a u32 abi_version
    // at offset 0, so reading it alone is sound whatever the rest of the layout.
    let abi_version = unsafe { table_ptr.cast::<u32>().read() };
    if abi_version != ABI_VERSION {
        return Err(LoadError::AbiVersion {
            name,
            found: abi_version,
            expected: ABI_VERSION,
        });
    }
    // SAFETY: version 1 table: the layout is ConnectorTable, static for the library's lifetime.
    let table: &ConnectorTable = unsafe { &*table_ptr };
    let read = |s: &StrRef, what: &str| -> Result<String, LoadError> {
        if s.ptr.is_null() && s.len > 0 {
            return Err(invalid(&format!("{what} is null")));
        }
        // SAFETY: the table's strings are static data of the loaded library.
        unsafe { s.as_str() }
            .map(str::to_owned)
            .map_err(|_| invalid(&format!("{what} is not UTF-8")))
    };
    let found = read(&table.name, "name")?;
    if found != spec.name {
        return Err(LoadError::NameMismatch {
            configured: name,
            found,
        });
    }
    let version = read(&table.version, "version")?;
    let kind = ConnectorKind::from_u32(table.kind)
        .ok_or_else(|| invalid(&format!("unknown kind {}", table.kind)))?;
    if table.operations.is_null() && table.operations_len > 0 {
        return Err(invalid("operations is null"));
    }
    let ops: &[StrRef] = if table.operations_len == 0 {
        &[]
    } else {
        // SAFETY: non-null, operations_len static StrRefs per the ABI.
        unsafe { std::slice::from_raw_parts(table.operations, table.operations_len) }
    };
    let operations = ops
        .iter()
        .map(|op| read(op, "operation name"))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(LoadedConnector {
        lib: Arc::new(Library {
            name,
            version,
            kind,
            operations,
            sha256: hex::encode(actual),
            path: spec.path.clone(),
            create: table.create,
            invoke: table.invoke,
            free_buffer: table.free_buffer,
            destroy: table.destroy,
            _library: library,
        }),
        config: spec.config.clone(),
    })
}

impl LoadedConnector {
    pub fn name(&self) -> &str {
        &self.lib.name
    }

    /// The plugin's own version string.
    pub fn version(&self) -> &str {
        &self.lib.version
    }

    pub fn kind(&self) -> ConnectorKind {
        self.lib.kind
    }

    /// The operations the plugin declares.
    pub fn operations(&self) -> &[String] {
        &self.lib.operations
    }

    /// Lowercase hex SHA-256 of the file that was loaded.
    pub fn sha256(&self) -> &str {
        &self.lib.sha256
    }

    pub fn path(&self) -> &Path {
        &self.lib.path
    }

    /// Creates an instance with the configuration from the [`PluginSpec`].
    pub fn create(&self) -> Result<ConnectorInstance, CreateError> {
        self.create_with(&self.config)
    }

    /// Creates an instance with another configuration.
    pub fn create_with(
        &self,
        config: &serde_json::Value,
    ) -> Result<ConnectorInstance, CreateError> {
        let lib = &self.lib;
        let config = serde_json::to_vec(config).map_err(|_| CreateError::Protocol {
            name: lib.name.clone(),
            reason: "configuration cannot be serialized".into(),
        })?;
        let mut instance: *mut c_void = std::ptr::null_mut();
        let mut error = Buffer::EMPTY;
        // SAFETY: the pointers are valid for the call; `create` follows the ABI contract.
        let status =
            unsafe { (lib.create)(config.as_ptr(), config.len(), &mut instance, &mut error) };
        // SAFETY: `error` is empty or was written by this plugin.
        let error_bytes = unsafe { take_buffer(lib, error) };
        if status == STATUS_OK {
            let ptr = NonNull::new(instance).ok_or_else(|| CreateError::Protocol {
                name: lib.name.clone(),
                reason: "create succeeded but returned no instance".into(),
            })?;
            return Ok(ConnectorInstance {
                ptr,
                lib: Arc::clone(lib),
            });
        }
        Err(match parse_error(&error_bytes) {
            Some(error) => CreateError::Connector {
                name: lib.name.clone(),
                error,
            },
            None => CreateError::Protocol {
                name: lib.name.clone(),
                reason: format!("create failed with status {status} and no readable error"),
            },
        })
    }
}

/// Copies a plugin buffer and hands it back to the plugin's `free_buffer`.
///
/// # Safety
/// `buffer` is empty or was written by this plugin and not yet freed.
unsafe fn take_buffer(lib: &Library, buffer: Buffer) -> Vec<u8> {
    if buffer.ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: written by the plugin: `len` readable bytes until freed below.
    let bytes = unsafe { buffer.as_bytes() }.to_vec();
    // SAFETY: the buffer came from this plugin and is freed exactly once.
    unsafe { (lib.free_buffer)(buffer) };
    bytes
}

fn parse_error(bytes: &[u8]) -> Option<ConnectorError> {
    serde_json::from_slice(bytes).ok()
}

/// A live plugin instance. `Send + Sync`: the plugin contract requires instances to accept
/// concurrent calls from any thread. Dropping it destroys the instance.
pub struct ConnectorInstance {
    ptr: NonNull<c_void>,
    lib: Arc<Library>,
}

// SAFETY: the ABI requires plugin instances to be Send + Sync (the plugin-side trait bounds
// them so); the library handle itself is Send + Sync.
unsafe impl Send for ConnectorInstance {}
// SAFETY: as above; invoke takes the instance by shared pointer and may run concurrently.
unsafe impl Sync for ConnectorInstance {}

impl fmt::Debug for ConnectorInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorInstance")
            .field("name", &self.lib.name)
            .finish_non_exhaustive()
    }
}

impl ConnectorInstance {
    pub fn name(&self) -> &str {
        &self.lib.name
    }

    pub fn kind(&self) -> ConnectorKind {
        self.lib.kind
    }

    pub fn operations(&self) -> &[String] {
        &self.lib.operations
    }

    /// Runs operation `op` on JSON `input`. Blocking: run it off the async runtime.
    pub fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, InvokeError> {
        let lib = &self.lib;
        if !lib.operations.iter().any(|known| known == op) {
            return Err(InvokeError::UnknownOperation {
                name: lib.name.clone(),
                op: op.to_owned(),
            });
        }
        let mut out = Buffer::EMPTY;
        // SAFETY: the instance is live (destroyed only in Drop); the pointers are valid for the
        // call; `invoke` follows the ABI contract.
        let status = unsafe {
            (lib.invoke)(
                self.ptr.as_ptr(),
                op.as_ptr(),
                op.len(),
                input.as_ptr(),
                input.len(),
                &mut out,
            )
        };
        // SAFETY: `out` is empty or was written by this plugin.
        let bytes = unsafe { take_buffer(lib, out) };
        if status == STATUS_OK {
            return Ok(bytes);
        }
        Err(match parse_error(&bytes) {
            Some(error) => InvokeError::Connector {
                name: lib.name.clone(),
                error,
            },
            None => InvokeError::Protocol {
                name: lib.name.clone(),
                reason: format!("invoke failed with status {status} and no readable error"),
            },
        })
    }

    /// Serializes `input`, invokes `op` and parses the JSON result.
    pub fn invoke_json<I, O>(&self, op: &str, input: &I) -> Result<O, InvokeError>
    where
        I: serde::Serialize + ?Sized,
        O: serde::de::DeserializeOwned,
    {
        let protocol = |reason: String| InvokeError::Protocol {
            name: self.lib.name.clone(),
            reason,
        };
        let input =
            serde_json::to_vec(input).map_err(|_| protocol("input cannot be serialized".into()))?;
        let output = self.invoke(op, &input)?;
        serde_json::from_slice(&output).map_err(|e| {
            protocol(format!(
                "output of {op:?} does not match the expected shape (line {} column {})",
                e.line(),
                e.column()
            ))
        })
    }
}

impl Drop for ConnectorInstance {
    fn drop(&mut self) {
        // SAFETY: created by this plugin's `create`, destroyed once; `&mut self` means no invoke
        // is in flight. The library stays mapped: `self.lib` is dropped after this.
        unsafe { (self.lib.destroy)(self.ptr.as_ptr()) };
    }
}

/// Loads every connector of a configuration, stopping at the first refusal.
pub fn load_all(config: &ConnectorsConfig) -> Result<Vec<LoadedConnector>, LoadError> {
    config.connectors.iter().map(load).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<LoadedConnector>();
        check::<ConnectorInstance>();
        check::<LoadError>();
        check::<InvokeError>();
    }

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn parses_connectors_toml() {
        let text = format!(
            r#"
[[connector]]
name = "fhir-r4"
path = "plugins/libfhir.so"
sha256 = "{HASH}"
config = {{ base_url = "https://ehr.example.org/fhir", timeout_seconds = 30, nested = {{ a = [1, 2] }} }}

[[connector]]
name = "x12"
path = "/opt/revcycle/libx12.so"
sha256 = "{}"
"#,
            HASH.to_uppercase()
        );
        let config = ConnectorsConfig::from_toml_str(&text).unwrap();
        assert_eq!(config.connectors.len(), 2);
        let fhir = config.get("fhir-r4").unwrap();
        assert_eq!(fhir.path, PathBuf::from("plugins/libfhir.so"));
        assert_eq!(
            fhir.config,
            serde_json::json!({"base_url": "https://ehr.example.org/fhir", "timeout_seconds": 30, "nested": {"a": [1, 2]}})
        );
        assert_eq!(config.get("x12").unwrap().config, serde_json::json!({}));
        assert!(!format!("{fhir:?}").contains("ehr.example.org"));
    }

    #[test]
    fn resolves_relative_paths_against_the_file() {
        let dir = std::env::temp_dir().join(format!("revcycle-abi-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("connectors.toml");
        std::fs::write(
            &file,
            format!("[[connector]]\nname = \"a\"\npath = \"lib/a.so\"\nsha256 = \"{HASH}\"\n"),
        )
        .unwrap();
        let config = ConnectorsConfig::from_file(&file).unwrap();
        assert_eq!(config.connectors[0].path, dir.join("lib/a.so"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_bad_configs_without_quoting_values() {
        let dup = format!(
            "[[connector]]\nname = \"a\"\npath = \"a.so\"\nsha256 = \"{HASH}\"\n\
             [[connector]]\nname = \"a\"\npath = \"b.so\"\nsha256 = \"{HASH}\"\n"
        );
        assert!(matches!(
            ConnectorsConfig::from_toml_str(&dup),
            Err(ConfigError::DuplicateName { .. })
        ));
        let short = "[[connector]]\nname = \"a\"\npath = \"a.so\"\nsha256 = \"abc\"\n";
        assert!(matches!(
            ConnectorsConfig::from_toml_str(short),
            Err(ConfigError::InvalidHash { .. })
        ));
        let broken = "[[connector]]\nname = \"a\"\npassword = \"hunter2\" oops\n";
        let err = ConnectorsConfig::from_toml_str(broken).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("line 3"), "{message}");
    }
}

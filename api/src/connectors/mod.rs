//! Connector plugins in the server: loaded at start from `connectors.toml` (only the files
//! listed there, each checked against its SHA-256 and the ABI version), called off the async
//! runtime with a time limit, and never handed keys or database handles. A plugin that cannot
//! be loaded is refused with its reason and the server serves without it.
//!
//! - `import`: applying an EHR feed's canonical records through `core`.
//! - `acknowledge`: handing the per-record outcomes back to the plugin for its ACKs.
//! - `mllp`: the HL7 v2 MLLP listener.

pub mod acknowledge;
pub mod ehr_feed;
pub mod import;
pub mod payer;
pub mod submitter;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use revcycle_connector_abi::ffi::ConnectorKind;
use revcycle_connector_abi::host::{self, ConnectorInstance, ConnectorsConfig, InvokeError};
use revcycle_core::audit::{AuditEvent, Outcome, SYSTEM_ORG};
use revcycle_core::error::CoreError;
use revcycle_core::store::DbPool;
use revcycle_core::validation::FieldError;
use serde::Serialize;

use crate::problem::ApiError;
use crate::startup_error::StartupError;

/// One configured connector: loaded, or refused and why.
pub struct Connector {
    pub name: String,
    pub path: String,
    pub sha256: String,
    /// The `config` table given to the plugin (the host reads its transport keys).
    pub config: serde_json::Value,
    pub state: State,
}

pub enum State {
    Loaded {
        version: String,
        kind: ConnectorKind,
        operations: Vec<String>,
        instance: Arc<ConnectorInstance>,
    },
    Refused {
        reason: String,
    },
}

/// Every configured connector, as loaded at start.
#[derive(Default)]
pub struct Connectors {
    pub list: Vec<Connector>,
    pub timeout: Duration,
}

/// What `GET /v1/connectors` shows of a connector.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "fhir-r4", "status": "loaded", "version": "0.1.0", "kind": "ehr",
    "operations": ["import"], "sha256": "9f2c...e1", "reason": null}))]
pub struct ConnectorInfo {
    pub name: String,
    /// `loaded`, or `refused` (wrong hash, wrong ABI version, missing symbol, failed start).
    pub status: &'static str,
    pub version: Option<String>,
    /// `ehr` or `payer`.
    pub kind: Option<&'static str>,
    pub operations: Vec<String>,
    /// The SHA-256 the configuration pins the file to.
    pub sha256: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

fn kind_name(k: ConnectorKind) -> &'static str {
    match k {
        ConnectorKind::Ehr => "ehr",
        ConnectorKind::Payer => "payer",
    }
}

impl Connectors {
    /// Loads what `path` lists. A configuration file that cannot be read or parsed stops the
    /// server, and so does a payer connector whose `config` lacks the submitter keys
    /// ([`submitter::REQUIRED`]); a plugin that fails its checks is refused, logged and
    /// audited.
    pub fn load(path: &Path, timeout: Duration, pool: &DbPool) -> Result<Connectors, StartupError> {
        let config = ConnectorsConfig::from_file(path)
            .map_err(|e| StartupError::Refused(format!("{}: {e}", path.display())))?;
        let mut list = Vec::new();
        for spec in &config.connectors {
            let library = host::load(spec);
            if let Ok(c) = &library
                && c.kind() == ConnectorKind::Payer
                && let Err(reason) = submitter::check(&spec.config)
            {
                return Err(StartupError::Refused(format!(
                    "{}: connector \"{}\": {reason}",
                    path.display(),
                    spec.name
                )));
            }
            let loaded = library.map_err(|e| e.to_string()).and_then(|c| {
                let instance = c.create_with(&spec.config).map_err(|e| e.to_string())?;
                Ok((c, instance))
            });
            let mut event = AuditEvent::now(SYSTEM_ORG, "server", "connector.load");
            event.resource_type = Some("Connector".into());
            event.resource_id = Some(spec.name.clone());
            let state = match loaded {
                Ok((c, instance)) => {
                    tracing::info!(connector = %spec.name, version = c.version(), sha256 = c.sha256(), "connector loaded");
                    State::Loaded {
                        version: c.version().to_string(),
                        kind: c.kind(),
                        operations: c.operations().to_vec(),
                        instance: Arc::new(instance),
                    }
                }
                Err(reason) => {
                    tracing::error!(connector = %spec.name, %reason, "connector refused");
                    event.outcome = Outcome::Failed;
                    State::Refused { reason }
                }
            };
            crate::request_audit::writer::record_now(pool, event)?;
            list.push(Connector {
                name: spec.name.clone(),
                path: spec.path.display().to_string(),
                sha256: spec.sha256.clone(),
                config: resolve_dirs(&spec.config, path.parent()),
                state,
            });
        }
        Ok(Connectors { list, timeout })
    }

    pub fn get(&self, name: &str) -> Option<&Connector> {
        self.list.iter().find(|c| c.name == name)
    }

    pub fn info(&self) -> Vec<ConnectorInfo> {
        self.list
            .iter()
            .map(|c| match &c.state {
                State::Loaded {
                    version,
                    kind,
                    operations,
                    ..
                } => ConnectorInfo {
                    name: c.name.clone(),
                    status: "loaded",
                    version: Some(version.clone()),
                    kind: Some(kind_name(*kind)),
                    operations: operations.clone(),
                    sha256: c.sha256.clone(),
                    reason: None,
                },
                State::Refused { reason } => ConnectorInfo {
                    name: c.name.clone(),
                    status: "refused",
                    version: None,
                    kind: None,
                    operations: Vec::new(),
                    sha256: c.sha256.clone(),
                    reason: Some(reason.clone()),
                },
            })
            .collect()
    }
}

/// The plugin's config with relative `outbox`/`inbox` directories and `bearer_token_file`s
/// (at the connector level and in each `payers` entry) resolved against the directory of
/// `connectors.toml`.
fn resolve_dirs(config: &serde_json::Value, base: Option<&Path>) -> serde_json::Value {
    fn resolve(table: &mut serde_json::Value, base: &Path) {
        for key in ["outbox", "inbox", "bearer_token_file"] {
            if let Some(serde_json::Value::String(dir)) = table.get(key) {
                let dir = Path::new(dir);
                if dir.is_relative() {
                    let joined = base.join(dir).display().to_string();
                    table[key] = serde_json::Value::String(joined);
                }
            }
        }
    }
    let mut config = config.clone();
    let Some(base) = base else {
        return config;
    };
    resolve(&mut config, base);
    if let Some(serde_json::Value::Object(payers)) = config.get_mut("payers") {
        for entry in payers.values_mut() {
            if entry.is_object() {
                resolve(entry, base);
            }
        }
    }
    config
}

/// Calls a plugin on the blocking pool, giving up after `timeout` (the call itself runs on:
/// a plugin cannot be interrupted, but the request does not wait for it).
pub async fn invoke(
    instance: Arc<ConnectorInstance>,
    op: &'static str,
    input: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, ApiError> {
    let call = web::block(move || instance.invoke(op, &input));
    match actix_web::rt::time::timeout(timeout, call).await {
        Err(_) => Err(ApiError::BadGateway(format!(
            "the connector did not answer within {} s",
            timeout.as_secs()
        ))),
        Ok(Err(_)) => Err(ApiError::Internal),
        Ok(Ok(Ok(out))) => Ok(out),
        Ok(Ok(Err(InvokeError::Connector { error: e, .. }))) if e.code == "invalid_input" => {
            // Each finding keeps the plugin's pointer into the input (an X12 segment, a claim
            // of an 835); a plugin that gives none is reported at the input as a whole.
            let errors = if e.errors.is_empty() {
                vec![FieldError::new(
                    "",
                    format!("the connector refused the feed: {}", e.message),
                )]
            } else {
                e.errors
                    .iter()
                    .map(|i| {
                        FieldError::new(
                            i.pointer.clone(),
                            format!("the connector refused the feed: {}", i.message),
                        )
                    })
                    .collect()
            };
            Err(ApiError::Core(CoreError::Invalid(errors)))
        }
        Ok(Ok(Err(InvokeError::Connector { error: e, .. }))) if e.code == "panic" => {
            tracing::error!(operation = op, "connector panicked (contained)");
            Err(ApiError::BadGateway(
                "the connector failed on this input (it panicked; the panic was contained)".into(),
            ))
        }
        Ok(Ok(Err(e))) => {
            tracing::error!(operation = op, error = %e, "connector call failed");
            Err(ApiError::BadGateway(format!("the connector failed: {e}")))
        }
    }
}

//! The versioned C ABI shared by the Revcycle host and its connector plugins.
//!
//! - [`ffi`]: the raw ABI (version [`ffi::ABI_VERSION`]): one exported symbol returning a static
//!   [`ffi::ConnectorTable`].
//! - [`plugin`]: the safe [`Connector`] trait and [`export_connector!`], which writes all the
//!   unsafe glue for a plugin crate.
//! - [`canonical`]: the JSON message types plugins and host exchange.
//! - `host` (feature `host`): loading plugins named in `connectors.toml`, checking their SHA-256
//!   and ABI version, and calling them.
//!
//! Plugins depend on this crate only (never on `revcycle-core`).

pub mod canonical;
pub mod civil;
pub mod error;
pub mod ffi;
pub mod mllp;
pub mod plugin;

#[cfg(feature = "host")]
pub mod host;

pub use error::{ConnectorError, InputIssue};
pub use ffi::{ABI_VERSION, ConnectorKind};
pub use plugin::{Connector, parse_input, to_output};

/// Re-exported so plugins can name `serde_json::Value` without their own dependency.
pub use serde_json;

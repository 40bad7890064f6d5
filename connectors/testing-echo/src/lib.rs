//! Test fixture plugin: `echo` returns its input, `fail` returns a structured error, `panic`
//! panics (the glue turns it into an error with code `panic`). `import` returns its input (a
//! canonical import result written by a test), panics on the input `panic` and takes 3 s on
//! `sleep`, so the host's
//! import path can be tested with exact records and with a plugin that panics.

use revcycle_connector_abi::serde_json::Value;
use revcycle_connector_abi::{Connector, ConnectorError, ConnectorKind, export_connector};

pub struct Echo {
    /// Prepended to every `echo` output; empty unless configured.
    prefix: String,
}

impl Connector for Echo {
    const NAME: &'static str = "echo";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const KIND: ConnectorKind = ConnectorKind::Ehr;
    const OPERATIONS: &'static [&'static str] = &["echo", "fail", "panic", "import"];

    fn create(config: Value) -> Result<Self, ConnectorError> {
        if config.get("refuse").and_then(Value::as_bool) == Some(true) {
            return Err(ConnectorError::invalid_config("refused as configured"));
        }
        let prefix = match config.get("prefix") {
            None => String::new(),
            Some(Value::String(prefix)) => prefix.clone(),
            Some(_) => return Err(ConnectorError::invalid_config("prefix must be a string")),
        };
        Ok(Echo { prefix })
    }

    fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
        match op {
            "echo" => Ok([self.prefix.as_bytes(), input].concat()),
            "fail" => Err(ConnectorError::new("echo_failed", "failed as asked")),
            "panic" => panic!("echo fixture panics as asked"),
            "import" if input == b"panic" => panic!("echo fixture panics on this feed"),
            "import" if input == b"sleep" => {
                // A plugin stuck on a slow upstream: the host must stop waiting.
                std::thread::sleep(std::time::Duration::from_secs(3));
                Ok(br#"{"records": [], "issues": []}"#.to_vec())
            }
            "import" => Ok(input.to_vec()),
            _ => Err(ConnectorError::unknown_operation(op)),
        }
    }
}

export_connector!(Echo);

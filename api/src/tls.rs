//! rustls server configuration (TLS 1.2 and 1.3 only, ring provider chosen explicitly) and
//! the self-signed development certificate made on a first run on loopback.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::files;
use crate::startup_error::StartupError;

pub const DEV_CERT_FILE: &str = "tls/dev-cert.pem";
pub const DEV_KEY_FILE: &str = "tls/dev-key.pem";

/// Create `tls/dev-cert.pem` and `tls/dev-key.pem` for localhost/127.0.0.1/::1 if missing.
pub fn ensure_dev_certificate(data_dir: &Path) -> Result<(PathBuf, PathBuf), StartupError> {
    let cert_path = data_dir.join(DEV_CERT_FILE);
    let key_path = data_dir.join(DEV_KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| {
        StartupError::Refused(format!("cannot generate a development certificate: {e}"))
    })?;
    for p in [&cert_path, &key_path] {
        if p.exists() {
            std::fs::remove_file(p)?;
        }
    }
    files::write_private(&key_path, certified.signing_key.serialize_pem().as_bytes())?;
    files::write_private(&cert_path, certified.cert.pem().as_bytes())?;
    tracing::info!(path = %cert_path.display(), "created a self-signed development certificate");
    Ok((cert_path, key_path))
}

pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, StartupError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            StartupError::Refused(format!(
                "cannot read certificate chain {}: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(StartupError::Refused(format!(
            "{} holds no certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        StartupError::Refused(format!("cannot read private key {}: {e}", key.display()))
    })?;
    // An explicit provider: with several crypto backends linked, the default would panic.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| StartupError::Refused(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| StartupError::Refused(format!("certificate and key do not match: {e}")))
}

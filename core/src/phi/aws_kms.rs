//! AWS KMS as the master key: data and index keys are wrapped by KMS `Encrypt` and unwrapped
//! by `Decrypt`, so the master key never exists on this server.
//!
//! Talks to the KMS JSON API (`TrentService.*`) directly, signed with [`super::sigv4`]. The
//! client is blocking because [`KeyWrapper`] is called from blocking threads and at start-up,
//! inside and outside a tokio runtime.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::error::PhiError;
use super::master_key::KeyWrapper;
use super::sigv4::{self, Credentials};

/// Format byte of keys wrapped by [`AwsKms`] (local keys use 0x01).
const WRAP_FORMAT_KMS: u8 = 0x02;
/// Name of the encryption-context entry that carries the wrapping AAD. KMS binds the
/// ciphertext to the whole context: `Decrypt` with another org/kind/version fails.
const CONTEXT_KEY: &str = "revcycle:wrap-aad";
const SERVICE: &str = "kms";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TIMEOUT: Duration = Duration::from_secs(20);
/// KMS answers are small; anything larger is not KMS.
const MAX_RESPONSE: u64 = 1 << 20;
/// AWS error messages are short; a long one is truncated so logs stay readable.
const MAX_ERROR_MESSAGE: usize = 300;

/// Where the KMS key is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKmsConfig {
    /// Key id, key ARN, alias name (`alias/...`) or alias ARN.
    pub key_id: String,
    pub region: String,
    /// Overrides `https://kms.<region>.amazonaws.com` (VPC endpoints, tests). Plain `http://`
    /// is accepted only for loopback hosts: the KMS answers carry unwrapped keys.
    pub endpoint: Option<String>,
}

/// A [`KeyWrapper`] backed by an AWS KMS symmetric key.
pub struct AwsKms {
    key_arn: String,
    region: String,
    url: String,
    host: String,
    creds: Credentials,
    agent: ureq::Agent,
}

impl std::fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKms")
            .field("key_arn", &self.key_arn)
            .field("url", &self.url)
            .field("creds", &self.creds)
            .finish()
    }
}

fn kms_err(msg: impl Into<String>) -> PhiError {
    PhiError::Kms(msg.into())
}

/// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional `AWS_SESSION_TOKEN`.
pub fn credentials_from_env() -> Result<Credentials, PhiError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let access_key_id = var("AWS_ACCESS_KEY_ID").ok_or_else(|| {
        kms_err("AWS_ACCESS_KEY_ID is not set (AWS KMS needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    })?;
    let secret = Zeroizing::new(var("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
        kms_err("AWS_SECRET_ACCESS_KEY is not set (AWS KMS needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    })?);
    Ok(Credentials {
        access_key_id: access_key_id.trim().to_string(),
        secret_access_key: Zeroizing::new(secret.trim().to_string()),
        session_token: var("AWS_SESSION_TOKEN").map(|t| Zeroizing::new(t.trim().to_string())),
    })
}

/// `(url, host)` for the endpoint; refuses plain HTTP to anything but loopback.
fn endpoint(config: &AwsKmsConfig) -> Result<(String, String), PhiError> {
    let raw = match &config.endpoint {
        Some(e) => e.trim().trim_end_matches('/').to_string(),
        None => {
            let region = config.region.trim();
            if region.is_empty()
                || !region
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(kms_err(format!("invalid AWS region {region:?}")));
            }
            format!("https://kms.{region}.amazonaws.com")
        }
    };
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| kms_err(format!("KMS endpoint {raw:?} is not an http(s) URL")))?;
    if rest.contains('/') || rest.contains('?') || rest.contains('@') || rest.is_empty() {
        return Err(kms_err(format!(
            "KMS endpoint {raw:?} must be scheme://host[:port] with no path"
        )));
    }
    let host_only = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        rest.rsplit_once(':').map_or(rest, |(h, _)| h)
    };
    match scheme {
        "https" => {}
        "http" => {
            let loopback = host_only == "localhost"
                || host_only
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(kms_err(format!(
                    "refusing plain HTTP to KMS endpoint {raw}: unwrapped keys would cross the network in clear; use https"
                )));
            }
        }
        _ => {
            return Err(kms_err(format!(
                "KMS endpoint {raw:?} is not an http(s) URL"
            )));
        }
    }
    Ok((format!("{raw}/"), rest.to_string()))
}

impl AwsKms {
    /// Connects with credentials from the environment and resolves the key's ARN
    /// (`DescribeKey`), which also proves the key exists, is enabled and is usable.
    pub fn connect(config: &AwsKmsConfig) -> Result<AwsKms, PhiError> {
        Self::connect_with(config, credentials_from_env()?)
    }

    pub fn connect_with(config: &AwsKmsConfig, creds: Credentials) -> Result<AwsKms, PhiError> {
        if config.key_id.trim().is_empty() {
            return Err(kms_err("no KMS key id given"));
        }
        let (url, host) = endpoint(config)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            // Read KMS's JSON error body instead of a bare status code.
            .http_status_as_error(false)
            .build()
            .into();
        let mut kms = AwsKms {
            key_arn: config.key_id.trim().to_string(),
            region: config.region.trim().to_string(),
            url,
            host,
            creds,
            agent,
        };
        let described = kms.call("DescribeKey", &json!({"KeyId": kms.key_arn}))?;
        let meta = &described["KeyMetadata"];
        let arn = meta["Arn"]
            .as_str()
            .ok_or_else(|| kms_err("DescribeKey answered without a key ARN"))?;
        if meta["Enabled"] == Value::Bool(false) {
            return Err(kms_err(format!("KMS key {arn} is disabled")));
        }
        if let Some(usage) = meta["KeyUsage"].as_str()
            && usage != "ENCRYPT_DECRYPT"
        {
            return Err(kms_err(format!(
                "KMS key {arn} has usage {usage}; a symmetric ENCRYPT_DECRYPT key is needed"
            )));
        }
        if let Some(spec) = meta["KeySpec"].as_str()
            && spec != "SYMMETRIC_DEFAULT"
        {
            return Err(kms_err(format!(
                "KMS key {arn} is {spec}; a SYMMETRIC_DEFAULT key is needed"
            )));
        }
        kms.key_arn = arn.to_string();
        Ok(kms)
    }

    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }

    /// One signed `TrentService.<action>` call. Request bodies hold key material, so they
    /// never appear in an error; errors carry the action, HTTP status and AWS's error type.
    fn call(&self, action: &str, body: &Value) -> Result<Value, PhiError> {
        let payload = Zeroizing::new(serde_json::to_vec(body).expect("JSON value serializes"));
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let target = format!("TrentService.{action}");
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", CONTENT_TYPE),
            ("host", &self.host),
            ("x-amz-date", &amz_date),
            ("x-amz-target", &target),
        ];
        if let Some(token) = &self.creds.session_token {
            headers.push(("x-amz-security-token", token.as_str()));
        }
        let auth = sigv4::authorization(
            &self.creds,
            &sigv4::Scope {
                amz_date: &amz_date,
                region: &self.region,
                service: SERVICE,
            },
            &sigv4::Request {
                method: "POST",
                path: "/",
                query: &[],
                headers: &headers,
                payload: &payload,
            },
        );
        let mut req = self.agent.post(&self.url);
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            req = req.header(*name, *value);
        }
        let mut resp = req
            .header("authorization", &auth)
            .send(&payload[..])
            .map_err(|e| kms_err(format!("{action} request to {} failed: {e}", self.url)))?;
        let status = resp.status().as_u16();
        let text = Zeroizing::new(
            resp.body_mut()
                .with_config()
                .limit(MAX_RESPONSE)
                .read_to_string()
                .map_err(|e| kms_err(format!("{action}: cannot read the answer: {e}")))?,
        );
        if !(200..300).contains(&status) {
            let err: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let kind = err["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| "unknown error".into());
            let mut message = err["message"]
                .as_str()
                .or(err["Message"].as_str())
                .unwrap_or("")
                .to_string();
            if message.len() > MAX_ERROR_MESSAGE {
                let mut cut = MAX_ERROR_MESSAGE;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
            }
            return Err(kms_err(format!(
                "{action} failed with HTTP {status}: {kind}{}{message}",
                if message.is_empty() { "" } else { ": " }
            )));
        }
        serde_json::from_str(&text)
            .map_err(|_| kms_err(format!("{action}: the answer is not JSON")))
    }

    fn context(aad: &[u8]) -> Value {
        json!({ CONTEXT_KEY: STANDARD.encode(aad) })
    }
}

impl KeyWrapper for AwsKms {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>, PhiError> {
        let plaintext = Zeroizing::new(STANDARD.encode(key));
        let mut body = json!({
            "KeyId": self.key_arn,
            "Plaintext": plaintext.as_str(),
            "EncryptionContext": Self::context(aad),
        });
        let answer = self.call("Encrypt", &body);
        // The request body held the key; wipe the copy inside the JSON value.
        if let Some(Value::String(s)) = body.get_mut("Plaintext") {
            zeroize::Zeroize::zeroize(s);
        }
        let blob = answer?["CiphertextBlob"]
            .as_str()
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or_else(|| kms_err("Encrypt answered without a ciphertext"))?;
        let mut out = Vec::with_capacity(1 + blob.len());
        out.push(WRAP_FORMAT_KMS);
        out.extend_from_slice(&blob);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>, PhiError> {
        match wrapped.first() {
            Some(&WRAP_FORMAT_KMS) if wrapped.len() > 1 => {}
            Some(0x01) => {
                return Err(PhiError::KeyUnwrap(
                    "the key was wrapped by a local master key, not AWS KMS".into(),
                ));
            }
            _ => {
                return Err(PhiError::KeyUnwrap("unsupported wrapped key format".into()));
            }
        }
        let answer = self.call(
            "Decrypt",
            &json!({
                "KeyId": self.key_arn,
                "CiphertextBlob": STANDARD.encode(&wrapped[1..]),
                "EncryptionContext": Self::context(aad),
            }),
        );
        let mut answer = answer.map_err(|e| match e {
            PhiError::Kms(why) => PhiError::KeyUnwrap(format!(
                "AWS KMS: {why} (wrong KMS key, or the wrapped key belongs to another organisation, kind or version)"
            )),
            other => other,
        })?;
        // KMS names the key that decrypted: anything but ours means a misconfiguration.
        if let Some(used) = answer["KeyId"].as_str()
            && used != self.key_arn
        {
            return Err(PhiError::KeyUnwrap(format!(
                "AWS KMS decrypted with {used}, not the configured key {}",
                self.key_arn
            )));
        }
        let mut plaintext = match answer.get_mut("Plaintext") {
            Some(Value::String(s)) => Zeroizing::new(std::mem::take(s)),
            _ => return Err(kms_err("Decrypt answered without a plaintext")),
        };
        let mut buf = Zeroizing::new([0u8; 48]);
        let n = STANDARD
            .decode_slice(plaintext.as_bytes(), &mut buf[..])
            .map_err(|_| PhiError::KeyUnwrap("AWS KMS returned a malformed key".into()));
        zeroize::Zeroize::zeroize(&mut *plaintext);
        if n? != 32 {
            return Err(PhiError::KeyUnwrap(
                "AWS KMS returned a key of the wrong length".into(),
            ));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&buf[..32]);
        Ok(key)
    }

    fn id(&self) -> String {
        format!("aws-kms:{}", self.key_arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(endpoint: Option<&str>) -> AwsKmsConfig {
        AwsKmsConfig {
            key_id: "alias/revcycle".into(),
            region: "us-east-1".into(),
            endpoint: endpoint.map(str::to_string),
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint(&cfg(None)).unwrap(),
            (
                "https://kms.us-east-1.amazonaws.com/".into(),
                "kms.us-east-1.amazonaws.com".into()
            )
        );
        assert_eq!(
            endpoint(&cfg(Some("http://127.0.0.1:4566/"))).unwrap(),
            ("http://127.0.0.1:4566/".into(), "127.0.0.1:4566".into())
        );
        assert!(endpoint(&cfg(Some("http://localhost:4566"))).is_ok());
        assert!(endpoint(&cfg(Some("http://[::1]:4566"))).is_ok());
        assert!(
            endpoint(&cfg(Some(
                "https://vpce-1.kms.us-east-1.vpce.amazonaws.com"
            )))
            .is_ok()
        );
        let off_host = endpoint(&cfg(Some("http://10.0.0.5:4566")))
            .unwrap_err()
            .to_string();
        assert!(off_host.contains("refusing plain HTTP"), "{off_host}");
        assert!(endpoint(&cfg(Some("ftp://x"))).is_err());
        assert!(endpoint(&cfg(Some("https://host/path"))).is_err());
        let mut bad = cfg(None);
        bad.region = "us-east-1/../x".into();
        assert!(endpoint(&bad).is_err());
    }

    #[test]
    fn unreachable_kms_is_a_clear_error_without_secrets() {
        // A loopback port nobody listens on: connection refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let creds = Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: Zeroizing::new("very-secret-access-key".into()),
            session_token: Some(Zeroizing::new("very-secret-session".into())),
        };
        let err = AwsKms::connect_with(&cfg(Some(&format!("http://127.0.0.1:{port}"))), creds)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DescribeKey request to"), "{err}");
        assert!(!err.contains("very-secret"), "{err}");
    }
}

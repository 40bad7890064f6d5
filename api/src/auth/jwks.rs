//! Production mode: tokens signed by an identity provider, verified against the public keys it
//! publishes as a JWKS (RFC 7517), read from a file or fetched from a URL.
//!
//! Each key is pinned to one algorithm: its `alg`, or RS256 for an RSA key and ES256 for an EC
//! P-256 key that names none. A token is checked only with the algorithm of the key its `kid`
//! names, so `none`, HS256 (a public key used as an HMAC secret) and every other algorithm are
//! refused. A token without `kid` is accepted only when the JWKS holds exactly one key of the
//! token's algorithm.
//!
//! The keys are kept in memory: a token naming a known key is verified without I/O. A token
//! naming an unknown `kid` triggers a re-read, at most one per `min_refresh_interval`
//! (concurrent ones wait for the same fetch); a background task also re-reads every
//! `refresh_interval`. A failed re-read keeps the keys already loaded.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

use super::claims::{Claims, DEV_ISSUER, LEEWAY_SECS, token_error};
use crate::config::Config;
use crate::problem::ApiError;

/// Largest JWKS accepted over HTTP: real ones are a few KiB.
const MAX_JWKS_BYTES: usize = 1 << 20;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Shorter RSA keys are not trusted (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

/// Where the identity provider's keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    Url(reqwest::Url),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            // No query string: it could carry a credential.
            JwksSource::Url(url) => {
                write!(f, "{}://{}", url.scheme(), url.host_str().unwrap_or(""))?;
                if let Some(port) = url.port() {
                    write!(f, ":{port}")?;
                }
                write!(f, "{}", url.path())
            }
        }
    }
}

/// Production-mode settings, checked at start-up.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    pub source: JwksSource,
    pub issuer: String,
    pub audiences: Vec<String>,
    pub refresh_interval: Duration,
    pub min_refresh_interval: Duration,
}

impl JwksSettings {
    /// The settings for `auth_mode = jwks`, or why the server cannot start with them.
    pub fn from_config(c: &Config) -> Result<JwksSettings, String> {
        let source = match (&c.jwks_file, &c.jwks_url) {
            (Some(_), Some(_)) => {
                return Err("give either --jwks-file or --jwks-url, not both".into());
            }
            (Some(path), None) => JwksSource::File(path.clone()),
            (None, Some(url)) => JwksSource::Url(parse_url(url)?),
            (None, None) => {
                return Err(
                    "auth mode jwks needs the identity provider's public keys: give \
                     --jwks-file or --jwks-url (REVCYCLE_JWKS_FILE, REVCYCLE_JWKS_URL)"
                        .into(),
                );
            }
        };
        let issuer = c
            .token_issuer
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .ok_or(
                "auth mode jwks needs --token-issuer (REVCYCLE_TOKEN_ISSUER): the `iss` \
                 your identity provider puts in its tokens",
            )?
            .to_string();
        let audiences: Vec<String> = c
            .token_audience
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        if audiences.is_empty() {
            return Err(
                "auth mode jwks needs --token-audience (REVCYCLE_TOKEN_AUDIENCE): the `aud` \
                 of tokens issued for this API"
                    .into(),
            );
        }
        Ok(JwksSettings {
            source,
            issuer,
            audiences,
            refresh_interval: Duration::from_secs(c.jwks_refresh_secs),
            min_refresh_interval: Duration::from_secs(c.jwks_min_refresh_secs),
        })
    }
}

fn parse_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|_| "--jwks-url is not a valid URL".to_string())?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&url) => Ok(url),
        "http" => Err(
            "--jwks-url must be https: keys fetched over plain HTTP could be swapped in transit \
             (http is allowed only on loopback)"
                .into(),
        ),
        _ => Err("--jwks-url must be an https URL".into()),
    }
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// One verification key, pinned to its algorithm.
#[derive(Clone)]
struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The key and algorithm a JWK stands for; `Ok(None)` for a key not meant for signatures.
fn key_from_jwk(value: &serde_json::Value) -> Result<Option<VerifyKey>, String> {
    let jwk: Jwk =
        serde_json::from_value(value.clone()).map_err(|_| "not a valid JWK".to_string())?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Ok(None);
    }
    let declared = jwk.common.key_algorithm;
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            if !matches!(declared, None | Some(KeyAlgorithm::RS256)) {
                return Err(format!(
                    "RSA key declares alg {declared:?}; only RS256 is accepted"
                ));
            }
            let n = URL_SAFE_NO_PAD
                .decode(rsa.n.trim_end_matches('='))
                .map_err(|_| "RSA modulus is not base64url".to_string())?;
            if significant_bits(&n) < MIN_RSA_BITS {
                return Err(format!("RSA key is shorter than {MIN_RSA_BITS} bits"));
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            if ec.curve != EllipticCurve::P256 {
                return Err("EC key is not on P-256; only ES256 is accepted".into());
            }
            if !matches!(declared, None | Some(KeyAlgorithm::ES256)) {
                return Err(format!(
                    "EC P-256 key declares alg {declared:?}; only ES256 is accepted"
                ));
            }
            for coordinate in [&ec.x, &ec.y] {
                let bytes = URL_SAFE_NO_PAD
                    .decode(coordinate.trim_end_matches('='))
                    .map_err(|_| "EC coordinate is not base64url".to_string())?;
                if bytes.len() != 32 {
                    return Err("EC P-256 coordinate is not 32 bytes".into());
                }
            }
            Algorithm::ES256
        }
        // Whoever holds a symmetric key can mint tokens: an IdP never publishes one for this.
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (kty oct) keys are never accepted".into());
        }
        _ => {
            return Err(
                "unsupported key type; only RSA (RS256) and EC P-256 (ES256) are accepted".into(),
            );
        }
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "the key's parameters are invalid")?;
    Ok(Some(VerifyKey {
        kid: jwk.common.key_id,
        alg,
        key,
    }))
}

fn significant_bits(big_endian: &[u8]) -> usize {
    match big_endian.iter().position(|b| *b != 0) {
        Some(i) => (big_endian.len() - i) * 8 - big_endian[i].leading_zeros() as usize,
        None => 0,
    }
}

/// The usable signing keys of a JWKS document. Keys that cannot be used are skipped with a
/// warning, so one exotic key does not lock everyone out; a set with none usable is an error.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyKey>, String> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(bytes)
        .map_err(|_| "not a JWKS (a JSON object with a `keys` array)".to_string())?;
    let mut keys = Vec::new();
    for (index, value) in set.keys.iter().enumerate() {
        match key_from_jwk(value) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {}
            Err(why) => {
                let kid = value.get("kid").and_then(|k| k.as_str()).unwrap_or("");
                tracing::warn!(index, kid, "ignoring a key in the JWKS: {why}");
            }
        }
    }
    if keys.is_empty() {
        return Err("the JWKS has no usable RS256 or ES256 signing key".into());
    }
    Ok(keys)
}

/// Why no key was found for a token.
#[derive(Debug, PartialEq, Eq)]
enum Miss {
    UnknownKid,
    WrongAlg,
    NoKidNoKey,
    NoKidAmbiguous,
}

impl Miss {
    fn error(&self) -> ApiError {
        ApiError::Unauthorized(
            match self {
                Miss::UnknownKid => {
                    "the token's signing key (kid) is not one of the identity provider's keys"
                }
                Miss::WrongAlg => "the token's algorithm is not the one its key is for",
                Miss::NoKidNoKey => "the token names no key (kid) and no key has its algorithm",
                Miss::NoKidAmbiguous => {
                    "the token names no key (kid) and several keys have its algorithm"
                }
            }
            .to_string(),
        )
    }
}

/// The key a token is to be checked with: the one its `kid` names, which must be for its `alg`;
/// without a `kid`, the only key for its `alg`.
fn lookup<'a>(
    keys: &'a [VerifyKey],
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<&'a VerifyKey, Miss> {
    match kid {
        Some(kid) => {
            let mut named = keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .peekable();
            if named.peek().is_none() {
                return Err(Miss::UnknownKid);
            }
            named.find(|k| k.alg == alg).ok_or(Miss::WrongAlg)
        }
        None => {
            let mut of_alg = keys.iter().filter(|k| k.alg == alg);
            match (of_alg.next(), of_alg.next()) {
                (Some(key), None) => Ok(key),
                (None, _) => Err(Miss::NoKidNoKey),
                (Some(_), Some(_)) => Err(Miss::NoKidAmbiguous),
            }
        }
    }
}

/// The fields of a JWS header that decide which key applies, read before any verification.
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn peek_header(token: &str) -> Result<PeekedHeader, ApiError> {
    let malformed = || ApiError::Unauthorized("the token is malformed".into());
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: PeekedHeader = decode_part(header).ok_or_else(malformed)?;
    // RFC 7515 4.1.11: extensions marked critical that we do not implement mean "refuse".
    if header.crit.is_some() {
        return Err(ApiError::Unauthorized(
            "the token's header has critical extensions this API does not support".into(),
        ));
    }
    Ok(header)
}

/// The 401 for a token whose algorithm is never accepted here. A development token gets a
/// message saying so (read from the unverified payload only to choose the message).
fn refused_algorithm(alg: &str, token: &str) -> ApiError {
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    let dev = alg == "HS256"
        && token
            .split('.')
            .nth(1)
            .and_then(decode_part::<Iss>)
            .and_then(|c| c.iss)
            .is_some_and(|iss| iss == DEV_ISSUER);
    ApiError::Unauthorized(if dev {
        "development tokens are not accepted in production mode".into()
    } else {
        "the token's algorithm is not accepted (RS256 or ES256 only)".into()
    })
}

/// Claims as identity providers send them: `aud` may be a list, `iat` may be absent, and a
/// token without `roles` is authenticated but may do nothing. The registered claims are
/// optional here only so that a missing one is reported by name (validation requires them).
#[derive(Deserialize)]
struct IdpClaims {
    #[serde(default)]
    sub: Option<String>,
    org: Uuid,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    purpose_of_use: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

enum Fetcher {
    File(PathBuf),
    Url(reqwest::Url, reqwest::Client),
}

/// Verifies identity-provider tokens against the cached JWKS.
pub struct JwksVerifier {
    settings: JwksSettings,
    fetcher: Fetcher,
    keys: RwLock<Arc<Vec<VerifyKey>>>,
    /// Held during a fetch, so concurrent refreshes share one; remembers when the last began.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksVerifier {
    /// A verifier with no keys yet: call [`JwksVerifier::load`] before serving.
    pub fn new(settings: JwksSettings) -> Result<JwksVerifier, String> {
        let fetcher = match &settings.source {
            JwksSource::File(path) => Fetcher::File(path.clone()),
            JwksSource::Url(url) => {
                // reqwest is built without a crypto provider (one backend only): use ring, as
                // the server's TLS does.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let client = reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .connect_timeout(FETCH_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    // A pooled connection belongs to the worker runtime that opened it; fetches
                    // are rare, so each opens its own.
                    .pool_max_idle_per_host(0)
                    .build()
                    .map_err(|e| format!("cannot set up the HTTP client for the JWKS: {e}"))?;
                Fetcher::Url(url.clone(), client)
            }
        };
        Ok(JwksVerifier {
            settings,
            fetcher,
            keys: RwLock::new(Arc::new(Vec::new())),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// Load the keys at start-up. Failing is fatal: the server could authenticate no one.
    pub async fn load(&self) -> Result<usize, String> {
        let mut last = self.last_fetch.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_store()
            .await
            .map_err(|e| format!("cannot load the JWKS from {}: {e}", self.settings.source))
    }

    /// How often the keys are re-read on schedule (see `jobs::jwks_refresh`).
    pub fn refresh_interval(&self) -> Duration {
        self.settings.refresh_interval
    }

    /// The scheduled re-read: keys the identity provider withdrew stop being accepted. A
    /// failure keeps the keys already loaded.
    pub async fn refresh(&self) {
        let mut last = self.last_fetch.lock().await;
        *last = Some(Instant::now());
        self.refresh_or_warn().await;
    }

    async fn refresh_for_unknown_kid(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.settings.min_refresh_interval) {
            return;
        }
        *last = Some(Instant::now());
        self.refresh_or_warn().await;
    }

    async fn refresh_or_warn(&self) {
        if let Err(e) = self.fetch_and_store().await {
            tracing::warn!(source = %self.settings.source, "JWKS refresh failed, keeping the keys already loaded: {e}");
        }
    }

    async fn fetch_and_store(&self) -> Result<usize, String> {
        let bytes = match &self.fetcher {
            Fetcher::File(path) => std::fs::read(path).map_err(|e| e.to_string())?,
            Fetcher::Url(url, client) => fetch(client, url).await?,
        };
        let keys = parse_jwks(&bytes)?;
        let count = keys.len();
        let kids = |ks: &[VerifyKey]| ks.iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        let mut current = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if kids(&current) != kids(&keys) {
            tracing::info!(keys = count, source = %self.settings.source, "loaded the identity provider's keys");
        }
        *current = Arc::new(keys);
        Ok(count)
    }

    fn keys(&self) -> Arc<Vec<VerifyKey>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = peek_header(token)?;
        let alg = match header.alg.as_str() {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => return Err(refused_algorithm(other, token)),
        };
        let kid = header.kid.as_deref();
        let keys = self.keys();
        match lookup(&keys, kid, alg) {
            Ok(key) => self.check(token, key),
            // The identity provider may have rotated its keys since the last read.
            Err(Miss::UnknownKid) => {
                self.refresh_for_unknown_kid().await;
                let keys = self.keys();
                let key = lookup(&keys, kid, alg).map_err(|m| m.error())?;
                self.check(token, key)
            }
            Err(miss) => Err(miss.error()),
        }
    }

    fn check(&self, token: &str, key: &VerifyKey) -> Result<Claims, ApiError> {
        let mut v = Validation::new(key.alg);
        v.set_issuer(&[&self.settings.issuer]);
        v.set_audience(&self.settings.audiences);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<IdpClaims>(token, &key.key, &v)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => ApiError::Unauthorized(
                    "the token's claims are not usable here (org must be a UUID, roles a list)"
                        .into(),
                ),
                _ => token_error(&e),
            })?
            .claims;
        let missing = || ApiError::Unauthorized("the token lacks a required claim".into());
        // The audience this API matched: one of the configured ones, as validation checked.
        let aud = match claims.aud.ok_or_else(missing)? {
            Audience::One(a) => a,
            Audience::Many(list) => list
                .into_iter()
                .find(|a| self.settings.audiences.contains(a))
                .ok_or_else(|| ApiError::Unauthorized("the token is not for this API".into()))?,
        };
        let nbf = claims.nbf.ok_or_else(missing)?;
        Ok(Claims {
            sub: claims.sub.ok_or_else(missing)?,
            org: claims.org,
            roles: claims.roles,
            scope: claims.scope,
            client_id: claims.client_id,
            purpose_of_use: claims.purpose_of_use,
            iss: claims.iss.ok_or_else(missing)?,
            aud,
            iat: claims.iat.unwrap_or(nbf),
            nbf,
            exp: claims.exp.ok_or_else(missing)?,
        })
    }
}

async fn fetch(client: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, String> {
    let mut resp = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !resp.status().is_success() {
        return Err(format!("the server answered {}", resp.status()));
    }
    let too_large = || format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes");
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests;

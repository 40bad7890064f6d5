//! Development mode: HS256 tokens signed and verified with a key generated under the data
//! directory (`revcycle token` issues them).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use revcycle_core::access::Role;
use uuid::Uuid;

use super::claims::{AUDIENCE, Claims, DEV_ISSUER, LEEWAY_SECS, token_error};
use crate::problem::ApiError;

/// What a development token grants.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub sub: &'a str,
    pub org: Uuid,
    pub roles: &'a [Role],
    pub ttl_secs: i64,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub purpose_of_use: Option<String>,
}

/// The development signing key (HS256), kept in the data directory with mode 0600.
pub struct DevSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl DevSigner {
    pub fn load_or_create(path: &Path) -> std::io::Result<DevSigner> {
        let secret = if path.exists() {
            let text = std::fs::read_to_string(path)?;
            STANDARD
                .decode(text.trim())
                .map_err(|_| std::io::Error::other("token signing key file is not base64"))?
        } else {
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|_| std::io::Error::other("no system randomness"))?;
            crate::files::write_private(
                path,
                format!("{}\n", STANDARD.encode(&secret)).as_bytes(),
            )?;
            secret
        };
        Ok(DevSigner {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }

    pub fn issue(&self, grant: Grant<'_>) -> String {
        let now = chrono::Utc::now().timestamp();
        let Grant {
            sub,
            org,
            roles,
            ttl_secs,
            scope,
            client_id,
            purpose_of_use,
        } = grant;
        let claims = Claims {
            sub: sub.to_string(),
            org,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            scope,
            client_id,
            purpose_of_use,
            iss: DEV_ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[DEV_ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| token_error(&e))
    }
}

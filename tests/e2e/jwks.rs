//! Production authentication: tokens from an identity provider, checked against its JWKS (a
//! file, or a URL served here on loopback), with the real server in jwks mode.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use revcycle_e2e::{Engine, Resp, Server, revcycle_bin};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example.test/";
const AUDIENCE: &str = "revcycle-prod";

/// An identity provider's signing key and its public JWK.
struct IdpKey {
    kid: String,
    alg: Algorithm,
    private: EncodingKey,
    jwk: Value,
}

impl IdpKey {
    fn new(kid: &str, alg: Algorithm, private: EncodingKey) -> IdpKey {
        let mut jwk = Jwk::from_encoding_key(&private, alg).expect("public JWK");
        jwk.common.key_id = Some(kid.to_string());
        // Real JWKS often omit `alg`: the server must derive it from the key type.
        jwk.common.key_algorithm = None;
        IdpKey {
            kid: kid.to_string(),
            alg,
            private,
            jwk: serde_json::to_value(jwk).expect("JWK JSON"),
        }
    }

    /// RSA-2048, generated once per test process (slow in a debug build).
    fn rsa(kid: &str) -> IdpKey {
        static DER: OnceLock<Vec<u8>> = OnceLock::new();
        let der = DER.get_or_init(|| {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
            key.to_pkcs1_der().expect("PKCS#1").as_bytes().to_vec()
        });
        IdpKey::new(kid, Algorithm::RS256, EncodingKey::from_rsa_der(der))
    }

    fn ec(kid: &str) -> IdpKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        let private = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("EC key");
        IdpKey::new(kid, Algorithm::ES256, private)
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(Some(&self.kid), claims)
    }

    fn sign_with_kid(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.private).expect("sign")
    }
}

fn jwks(keys: &[&IdpKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(org: &str) -> Value {
    let now = now();
    json!({"sub": "user-1", "org": org, "roles": ["admin"], "iss": ISSUER, "aud": AUDIENCE,
        "iat": now, "nbf": now, "exp": now + 600})
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The server's first organization (made on first run; its id is what the IdP puts in `org`).
fn first_org(s: &Server) -> String {
    let list = s.admin(&["org", "list"]);
    list.split('\t')
        .next()
        .expect("an organization")
        .to_string()
}

async fn list_patients(s: &Server, token: &str) -> Resp {
    s.call("GET", "/v1/patients", Some(token), None, &[]).await
}

/// 401 with a problem document and a Bearer challenge that does not echo the token.
async fn assert_refused(s: &Server, token: &str, why: &str) {
    let r = list_patients(s, token).await;
    r.assert_problem(401);
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(why), "expected `{why}`, got {}", r.text);
    let challenge = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains("error_description="), "{challenge}");
    assert!(!challenge.contains(token) && !r.text.contains(token));
}

fn jwks_env<'a>(
    source: (&'a str, &'a str),
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("REVCYCLE_AUTH_MODE", "jwks"),
        source,
        ("REVCYCLE_TOKEN_ISSUER", ISSUER),
        // Several audiences may be accepted.
        ("REVCYCLE_TOKEN_AUDIENCE", "another-api,revcycle-prod"),
    ];
    env.extend_from_slice(extra);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_provider_tokens_from_a_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    let rsa = IdpKey::rsa("rsa-1");
    let ec = IdpKey::ec("ec-1");
    std::fs::write(&file, jwks(&[&rsa, &ec])).unwrap();
    let s = Server::start_with(
        Engine::Sqlite,
        &jwks_env(
            ("REVCYCLE_JWKS_FILE", file.to_str().unwrap()),
            &[("REVCYCLE_JWKS_REFRESH_SECS", "1")],
        ),
    )
    .await;
    // First run in jwks mode: an organization, no development admin token.
    assert!(!s.data_dir.join("admin.token").exists());
    let org = first_org(&s);
    assert!(
        s.log_shows(&format!("created organization {org}")).await,
        "{}",
        s.log()
    );

    let good = claims(&org);
    for key in [&rsa, &ec] {
        let r = list_patients(&s, &key.sign(&good)).await;
        assert_eq!(r.status, 200, "{:?}: {}", key.alg, r.text);
    }
    // `aud` as a list holding one accepted audience; no `iat`.
    let mut listed = good.clone();
    listed["aud"] = json!(["somewhere-else", AUDIENCE]);
    listed.as_object_mut().unwrap().remove("iat");
    assert_eq!(list_patients(&s, &rsa.sign(&listed)).await.status, 200);
    // No kid: accepted because exactly one key is for ES256 (and one for RS256).
    assert_eq!(
        list_patients(&s, &ec.sign_with_kid(None, &good))
            .await
            .status,
        200
    );
    // The claims become the same principal as in development mode: roles still decide.
    let mut coder = good.clone();
    coder["roles"] = json!(["coder"]);
    let r = s
        .call(
            "POST",
            "/v1/payers",
            Some(&ec.sign(&coder)),
            Some(&json!({})),
            &[],
        )
        .await;
    r.assert_problem(403);

    let now = now();
    let cases: [(&str, Value, &str); 6] = [
        ("exp", json!(now - 120), "expired"),
        ("nbf", json!(now + 600), "not valid yet"),
        ("aud", json!("another-api-entirely"), "not for this API"),
        ("iss", json!("https://evil.example.test/"), "issuer"),
        ("org", json!("not-a-uuid"), "claims are not usable"),
        ("purpose_of_use", json!("MARKETING"), "purpose_of_use"),
    ];
    for (field, value, why) in cases {
        let mut c = good.clone();
        c[field] = value;
        assert_refused(&s, &rsa.sign(&c), why).await;
    }
    let mut no_nbf = good.clone();
    no_nbf.as_object_mut().unwrap().remove("nbf");
    assert_refused(&s, &ec.sign(&no_nbf), "required claim").await;

    // The algorithm is the key's, whatever the token says.
    assert_refused(
        &s,
        &ec.sign_with_kid(Some("rsa-1"), &good),
        "not the one its key is for",
    )
    .await;
    // HS256 with the RSA key's public modulus as the secret: the classic confusion.
    let n = rsa.jwk["n"].as_str().unwrap().as_bytes();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("rsa-1".into());
    let confused = jsonwebtoken::encode(&hs, &good, &EncodingKey::from_secret(n)).unwrap();
    assert_refused(&s, &confused, "algorithm is not accepted").await;
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#),
        b64(good.to_string().as_bytes())
    );
    assert_refused(&s, &unsigned, "algorithm is not accepted").await;
    assert_refused(
        &s,
        &rsa.sign_with_kid(Some("rsa-unknown"), &good),
        "not one of the identity provider's keys",
    )
    .await;
    // A key the IdP does not publish, under a published kid.
    let impostor = IdpKey::ec("ec-1");
    assert_refused(&s, &impostor.sign(&good), "signature is invalid").await;
    // Tampered signature, and tampered claims under a valid signature.
    let token = rsa.sign(&good);
    let (rest, sig) = token.rsplit_once('.').unwrap();
    let mut sig = sig.as_bytes().to_vec();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == b'A' { b'B' } else { b'A' };
    let bad_sig = format!("{rest}.{}", String::from_utf8(sig).unwrap());
    assert_refused(&s, &bad_sig, "signature is invalid").await;
    let mut other_org = good.clone();
    other_org["org"] = json!(uuid::Uuid::now_v7());
    let parts: Vec<&str> = token.split('.').collect();
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        b64(other_org.to_string().as_bytes()),
        parts[2]
    );
    assert_refused(&s, &swapped, "signature is invalid").await;
    // A development token, even one signed with this data directory's key.
    let dev = s.sign(
        &json!({"sub": "dev", "org": org, "roles": ["admin"], "iss": "revcycle-dev",
        "aud": "revcycle-api", "iat": now, "nbf": now, "exp": now + 600}),
    );
    assert_refused(
        &s,
        &dev,
        "development tokens are not accepted in production mode",
    )
    .await;
    assert_refused(&s, "not.a.jwt", "malformed").await;

    // The IdP withdraws the RSA key: the periodic re-read stops accepting it.
    std::fs::write(&file, jwks(&[&ec])).unwrap();
    let rsa_token = rsa.sign(&good);
    let mut withdrawn = false;
    for _ in 0..100 {
        if list_patients(&s, &rsa_token).await.status == 401 {
            withdrawn = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(withdrawn, "a withdrawn key is refused after a refresh");
    assert_eq!(list_patients(&s, &ec.sign(&good)).await.status, 200);
}

/// A JWKS endpoint on loopback that counts its fetches.
struct JwksEndpoint {
    url: String,
    body: Arc<Mutex<String>>,
    status: Arc<AtomicU16>,
    fetches: Arc<AtomicUsize>,
}

impl JwksEndpoint {
    fn start(body: String) -> JwksEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let body = Arc::new(Mutex::new(body));
        let status = Arc::new(AtomicU16::new(200));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (b, st, f) = (body.clone(), status.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                f.fetch_add(1, Ordering::SeqCst);
                let code = st.load(Ordering::SeqCst);
                let text = b.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        JwksEndpoint {
            url,
            body,
            status,
            fetches,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_url_is_cached_and_refreshed_for_new_keys() {
    const MIN_REFRESH: Duration = Duration::from_secs(3);
    let first = IdpKey::ec("ec-a");
    let endpoint = JwksEndpoint::start(jwks(&[&first]));
    // The query string stands for a credential some IdPs put in the URL: it stays out of logs.
    let url = format!("{}?access=query-credential", endpoint.url);
    let s = Server::start_with(
        Engine::Sqlite,
        &jwks_env(
            ("REVCYCLE_JWKS_URL", &url),
            &[("REVCYCLE_JWKS_MIN_REFRESH_SECS", "3")],
        ),
    )
    .await;
    assert_eq!(endpoint.fetches(), 1, "fetched once at start-up");
    let org = first_org(&s);
    let good = claims(&org);
    for _ in 0..3 {
        assert_eq!(list_patients(&s, &first.sign(&good)).await.status, 200);
    }
    assert_eq!(endpoint.fetches(), 1, "known keys come from the cache");

    // The IdP adds a key; a token naming it makes the server fetch again.
    let second = IdpKey::ec("ec-b");
    *endpoint.body.lock().unwrap() = jwks(&[&first, &second]);
    tokio::time::sleep(MIN_REFRESH + Duration::from_millis(200)).await;
    let since = Instant::now();
    let r = list_patients(&s, &second.sign(&good)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(endpoint.fetches(), 2);

    // A flood of made-up kids: refused, and fetches stay rate-limited.
    let flood = 20;
    for i in 0..flood {
        let kid = format!("made-up-{i}-{}", uuid::Uuid::now_v7());
        assert_refused(
            &s,
            &second.sign_with_kid(Some(&kid), &good),
            "not one of the identity provider's keys",
        )
        .await;
    }
    let windows = (since.elapsed().as_secs_f64() / MIN_REFRESH.as_secs_f64()) as usize;
    assert!(
        endpoint.fetches() <= 2 + windows,
        "{} fetches for {flood} unknown kids in {:?}",
        endpoint.fetches(),
        since.elapsed()
    );

    // The IdP fails: the cached keys keep working, and the failure is logged.
    endpoint.status.store(500, Ordering::SeqCst);
    tokio::time::sleep(MIN_REFRESH + Duration::from_millis(200)).await;
    let before = endpoint.fetches();
    assert_refused(
        &s,
        &IdpKey::ec("ec-c").sign(&good),
        "not one of the identity provider's keys",
    )
    .await;
    assert_eq!(endpoint.fetches(), before + 1, "one refresh was tried");
    assert!(s.log_shows("JWKS refresh failed").await, "{}", s.log());
    assert_eq!(list_patients(&s, &first.sign(&good)).await.status, 200);
    assert_eq!(list_patients(&s, &second.sign(&good)).await.status, 200);
    assert!(
        s.log().contains(&endpoint.url),
        "the source is named in the log"
    );
    assert!(!s.log().contains("query-credential"), "{}", s.log());
}

/// `revcycle serve` (or `token`) with these settings, which must fail; returns stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(revcycle_bin())
        .args(args)
        .env("REVCYCLE_DATA_DIR", dir.path().join("data"))
        .env("REVCYCLE_DATABASE_URL", dir.path().join("t.db"))
        .env("REVCYCLE_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REVCYCLE_MASTER_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("run revcycle");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} {env:?} started: {stderr}");
    stderr
}

#[test]
fn jwks_mode_refuses_to_start_without_keys_issuer_or_audience() {
    let serve = ["serve", "--bind", "127.0.0.1:0", "--insecure-http"];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&IdpKey::ec("k")])).unwrap();
    let file = file.to_str().unwrap();
    let no_source = refused(
        &serve,
        &[
            ("REVCYCLE_AUTH_MODE", "jwks"),
            ("REVCYCLE_TOKEN_ISSUER", ISSUER),
            ("REVCYCLE_TOKEN_AUDIENCE", AUDIENCE),
        ],
    );
    assert!(
        no_source.contains("--jwks-file or --jwks-url"),
        "{no_source}"
    );
    let no_issuer = refused(
        &serve,
        &[
            ("REVCYCLE_AUTH_MODE", "jwks"),
            ("REVCYCLE_JWKS_FILE", file),
            ("REVCYCLE_TOKEN_AUDIENCE", AUDIENCE),
        ],
    );
    assert!(no_issuer.contains("--token-issuer"), "{no_issuer}");
    let mut flags = serve.to_vec();
    flags.extend([
        "--auth-mode",
        "jwks",
        "--jwks-file",
        file,
        "--token-issuer",
        ISSUER,
    ]);
    let no_audience = refused(&flags, &[]);
    assert!(no_audience.contains("--token-audience"), "{no_audience}");
    let plain_http = refused(
        &serve,
        &jwks_env(("REVCYCLE_JWKS_URL", "http://idp.example.test/jwks"), &[]),
    );
    assert!(plain_http.contains("must be https"), "{plain_http}");
    // Nothing listens on a port just released: the first fetch fails, so does start-up.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/jwks");
    let unreachable = refused(&serve, &jwks_env(("REVCYCLE_JWKS_URL", &url), &[]));
    assert!(
        unreachable.contains("cannot load the JWKS from"),
        "{unreachable}"
    );
    let not_jwks = dir.path().join("not.json");
    std::fs::write(&not_jwks, r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).unwrap();
    let unusable = refused(
        &serve,
        &jwks_env(("REVCYCLE_JWKS_FILE", not_jwks.to_str().unwrap()), &[]),
    );
    assert!(unusable.contains("no usable RS256 or ES256"), "{unusable}");
    let token = refused(
        &[
            "token",
            "--org",
            &uuid::Uuid::now_v7().to_string(),
            "--role",
            "admin",
        ],
        &jwks_env(("REVCYCLE_JWKS_FILE", file), &[]),
    );
    assert!(token.contains("identity provider"), "{token}");
}

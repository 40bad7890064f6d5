use super::*;
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA public JWK with a modulus of `bits` bits (the mapping does not check the maths).
fn rsa(kid: &str, bits: usize) -> serde_json::Value {
    let mut n = vec![0xC5u8; bits / 8];
    n[0] = 0x80;
    json!({"kty": "RSA", "kid": kid, "n": b64(&n), "e": "AQAB"})
}

fn ec(kid: &str, crv: &str) -> serde_json::Value {
    json!({"kty": "EC", "kid": kid, "crv": crv, "x": b64(&[7; 32]), "y": b64(&[9; 32])})
}

fn with(mut v: serde_json::Value, field: &str, value: &str) -> serde_json::Value {
    v[field] = json!(value);
    v
}

fn mapped(v: serde_json::Value) -> Result<(Option<String>, Algorithm), String> {
    key_from_jwk(&v).map(|k| {
        let k = k.expect("a signing key");
        (k.kid, k.alg)
    })
}

#[test]
fn rsa_keys_are_rs256_and_ec_p256_keys_es256() {
    assert_eq!(
        mapped(rsa("r", 2048)),
        Ok((Some("r".into()), Algorithm::RS256))
    );
    assert_eq!(
        mapped(with(rsa("r", 4096), "alg", "RS256")),
        Ok((Some("r".into()), Algorithm::RS256))
    );
    assert_eq!(
        mapped(ec("e", "P-256")),
        Ok((Some("e".into()), Algorithm::ES256))
    );
    assert_eq!(
        mapped(with(ec("e", "P-256"), "alg", "ES256")),
        Ok((Some("e".into()), Algorithm::ES256))
    );
    assert_eq!(
        mapped(with(rsa("r", 2048), "use", "sig")).map(|k| k.1),
        Ok(Algorithm::RS256)
    );
}

#[test]
fn keys_for_other_algorithms_are_refused() {
    for alg in ["PS256", "RS512", "HS256", "ES256", "none"] {
        assert!(
            mapped(with(rsa("r", 2048), "alg", alg)).is_err(),
            "RSA key with {alg}"
        );
    }
    for alg in ["ES384", "RS256", "HS256"] {
        assert!(
            mapped(with(ec("e", "P-256"), "alg", alg)).is_err(),
            "EC key with {alg}"
        );
    }
    assert!(mapped(ec("e", "P-384")).is_err(), "P-384 is not ES256");
    let short = mapped(rsa("r", 1024)).unwrap_err();
    assert!(short.contains("2048"), "{short}");
    let oct = json!({"kty": "oct", "kid": "h", "k": b64(b"secret-secret-secret")});
    assert!(mapped(oct).unwrap_err().contains("symmetric"));
    let okp = json!({"kty": "OKP", "kid": "d", "crv": "Ed25519", "x": b64(&[1; 32])});
    assert!(mapped(okp).is_err());
    let bad_point = json!({"kty": "EC", "crv": "P-256", "x": b64(&[7; 31]), "y": b64(&[9; 32])});
    assert!(mapped(bad_point).is_err());
}

#[test]
fn encryption_keys_are_skipped() {
    assert!(
        key_from_jwk(&with(rsa("enc", 2048), "use", "enc"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_jwks_keeps_its_usable_keys() {
    let doc = json!({"keys": [rsa("r", 2048), json!({"kty": "oct", "k": "c2VjcmV0"}), ec("e", "P-256"),
        with(rsa("enc", 2048), "use", "enc")]});
    let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
    let kids: Vec<_> = keys.iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some("r"), Some("e")]);
    let none_usable = json!({"keys": [json!({"kty": "oct", "k": "c2VjcmV0"})]});
    assert!(parse_jwks(none_usable.to_string().as_bytes()).is_err());
    assert!(parse_jwks(b"{\"keys\": []}").is_err());
    assert!(parse_jwks(b"<html>").is_err());
}

fn keys(doc: &[serde_json::Value]) -> Vec<VerifyKey> {
    doc.iter()
        .map(|v| key_from_jwk(v).unwrap().unwrap())
        .collect()
}

#[test]
fn a_kid_selects_its_key_and_pins_its_algorithm() {
    let set = keys(&[rsa("r1", 2048), rsa("r2", 2048), ec("e1", "P-256")]);
    let kid = |k: Result<&VerifyKey, Miss>| k.map(|k| k.kid.clone().unwrap());
    assert_eq!(
        kid(lookup(&set, Some("r2"), Algorithm::RS256)),
        Ok("r2".into())
    );
    assert_eq!(
        kid(lookup(&set, Some("e1"), Algorithm::ES256)),
        Ok("e1".into())
    );
    assert_eq!(
        kid(lookup(&set, Some("r1"), Algorithm::ES256)),
        Err(Miss::WrongAlg)
    );
    assert_eq!(
        kid(lookup(&set, Some("e1"), Algorithm::RS256)),
        Err(Miss::WrongAlg)
    );
    assert_eq!(
        kid(lookup(&set, Some("zz"), Algorithm::RS256)),
        Err(Miss::UnknownKid)
    );
    // Without a kid: only when exactly one key has the token's algorithm.
    assert_eq!(kid(lookup(&set, None, Algorithm::ES256)), Ok("e1".into()));
    assert_eq!(
        kid(lookup(&set, None, Algorithm::RS256)),
        Err(Miss::NoKidAmbiguous)
    );
    let rsa_only = keys(&[rsa("r1", 2048)]);
    assert_eq!(
        kid(lookup(&rsa_only, None, Algorithm::ES256)),
        Err(Miss::NoKidNoKey)
    );
}

#[test]
fn headers_are_read_before_verification() {
    let token =
        |h: serde_json::Value| format!("{}.{}.sig", b64(h.to_string().as_bytes()), b64(b"{}"));
    let h = peek_header(&token(json!({"alg": "RS256", "kid": "k"}))).unwrap();
    assert_eq!((h.alg.as_str(), h.kid.as_deref()), ("RS256", Some("k")));
    assert!(peek_header(&token(json!({"alg": "RS256", "crit": ["exp"]}))).is_err());
    assert!(peek_header("a.b").is_err());
    assert!(
        peek_header("a.b.c.d.e").is_err(),
        "JWE is not a signed token"
    );
    let dev = format!(
        "{}.{}.sig",
        b64(br#"{"alg":"HS256"}"#),
        b64(br#"{"iss":"revcycle-dev"}"#)
    );
    assert!(
        refused_algorithm("HS256", &dev)
            .to_string()
            .contains("development tokens")
    );
    assert!(
        refused_algorithm("none", &dev)
            .to_string()
            .contains("not accepted")
    );
}

#[test]
fn jwks_urls_are_https_or_loopback() {
    assert!(parse_url("https://idp.example.com/.well-known/jwks.json").is_ok());
    for local in [
        "http://127.0.0.1:8080/jwks",
        "http://localhost/jwks",
        "http://[::1]:9/j",
    ] {
        assert!(parse_url(local).is_ok(), "{local}");
    }
    assert!(parse_url("http://idp.example.com/jwks").is_err());
    assert!(parse_url("ftp://idp.example.com/jwks").is_err());
    assert!(parse_url("not a url").is_err());
    let shown = JwksSource::Url(parse_url("https://idp.example.com:8443/k?token=x").unwrap());
    assert_eq!(shown.to_string(), "https://idp.example.com:8443/k");
}

#[test]
fn jwks_mode_needs_keys_issuer_and_audience() {
    let mut args = crate::config::ConfigArgs::default();
    args.store.database_url = Some("x.db".into());
    args.file.config = Some(std::path::PathBuf::from("/dev/null"));
    let base = Config::load(&args).unwrap();
    let complete = Config {
        jwks_file: Some("jwks.json".into()),
        token_issuer: Some("https://idp".into()),
        token_audience: vec!["api".into()],
        ..base
    };
    assert!(JwksSettings::from_config(&complete).is_ok());
    let err = |c: Config| JwksSettings::from_config(&c).unwrap_err();
    assert!(
        err(Config {
            jwks_file: None,
            ..complete.clone()
        })
        .contains("--jwks-file")
    );
    assert!(
        err(Config {
            jwks_url: Some("https://idp/jwks".into()),
            ..complete.clone()
        })
        .contains("not both")
    );
    assert!(
        err(Config {
            token_issuer: None,
            ..complete.clone()
        })
        .contains("--token-issuer")
    );
    assert!(
        err(Config {
            token_audience: vec![" ".into()],
            ..complete.clone()
        })
        .contains("--token-audience")
    );
}

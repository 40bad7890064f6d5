//! The server as an operator meets it: first-run files, HTTPS, headers, docs, refusals.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use revcycle_e2e::{Engine, Server, revcycle_bin};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|_| panic!("{} exists", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_creates_private_keys_and_serves_https() {
    let s = Server::start_tls(Engine::Sqlite).await;
    assert!(s.base.starts_with("https://127.0.0.1:"));
    assert_eq!(mode(&s.data_dir), 0o700);
    for f in [
        "master.key",
        "token-signing.key",
        "admin.token",
        "tls/dev-key.pem",
    ] {
        assert_eq!(mode(&s.data_dir.join(f)), 0o600, "{f} is private");
    }
    let r = s.get("/v1/payers").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("strict-transport-security").as_deref(),
        Some("max-age=31536000; includeSubDomains")
    );
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(r.header("server").is_none(), "no server banner");
    // A request id is echoed, or made up when absent.
    let t = s.token.clone();
    let r = s
        .call(
            "GET",
            "/v1/payers",
            Some(&t),
            None,
            &[("x-request-id", "req-abc-123")],
        )
        .await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("req-abc-123"));
    assert!(
        s.get("/v1/payers")
            .await
            .header("x-request-id")
            .is_some_and(|v| v.len() == 36)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_and_openapi_are_served_without_internet() {
    let s = Server::start(Engine::Sqlite).await;
    let spec = s.call("GET", "/openapi.json", None, None, &[]).await;
    assert_eq!(spec.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        spec.body, committed,
        "the served document is the committed one"
    );
    let page = s.call("GET", "/docs/", None, None, &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !page.text.contains("https://"),
        "no assets from a CDN: {}",
        page.text
    );
    let js = s
        .call("GET", "/docs/swagger-ui-bundle.js", None, None, &[])
        .await;
    assert_eq!(js.status, 200);
    assert!(
        js.text.len() > 100_000,
        "the bundle is served from the binary"
    );
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(revcycle_bin())
        .args(["serve", "--bind", "0.0.0.0:0", "--insecure-http"])
        .env("REVCYCLE_DATA_DIR", dir.path().join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("REVCYCLE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing plain HTTP on 0.0.0.0:0"), "{err}");
    let out = Command::new(revcycle_bin())
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("REVCYCLE_DATA_DIR", dir.path().join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("REVCYCLE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-cert"));
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let out = Command::new(revcycle_bin())
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.json"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

/// An operator's certificate chain (leaf + intermediate, issued by a private root): the server
/// presents the whole chain, so a client trusting only the root connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_given_certificate_chain() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let ca_params = |name: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p
    };
    let root =
        CertifiedIssuer::self_signed(ca_params("Test Root"), KeyPair::generate().unwrap()).unwrap();
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("Test Intermediate"),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &intermediate)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain.pem");
    let key = dir.path().join("key.pem");
    let root_pem = dir.path().join("root.pem");
    std::fs::write(&chain, format!("{}{}", leaf.pem(), intermediate.pem())).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&root_pem, root.pem()).unwrap();
    let s = Server::start_tls_with(
        Engine::Sqlite,
        &[
            ("REVCYCLE_TLS_CERT", chain.to_str().unwrap()),
            ("REVCYCLE_TLS_KEY", key.to_str().unwrap()),
        ],
        &root_pem,
    )
    .await;
    let r = s.get("/v1/payers").await;
    assert_eq!(r.status, 200);
    assert!(
        !s.data_dir.join("tls/dev-cert.pem").exists(),
        "no development certificate when one is given"
    );
}

/// A client over its request budget gets 429 with Retry-After; other clients are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_gets_429() {
    let s = Server::start_with(
        Engine::Sqlite,
        &[
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "1"),
            ("REVCYCLE_RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    let mut statuses = vec![];
    let mut refused = None;
    for _ in 0..6 {
        let r = s.get("/v1/payers").await;
        statuses.push(r.status);
        if r.status == 429 {
            refused = Some(r);
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "the burst is served");
    let r = refused.expect("a request beyond the burst is refused");
    r.assert_problem(429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(r.header("x-request-id").is_some());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // Another user of the same organization has a budget of their own.
    let org = s.admin(&["org", "list"]);
    let org = org.split('\t').next().unwrap();
    let other = s.admin(&[
        "token",
        "--org",
        org,
        "--role",
        "biller",
        "--sub",
        "someone-else",
    ]);
    let r = s.call("GET", "/v1/payers", Some(&other), None, &[]).await;
    assert_eq!(r.status, 200);
}

/// A client that never finishes its request head is answered 408 and cut off, instead of
/// holding a connection open (slowloris).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_head_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start(Engine::Sqlite).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        conn.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server closed the stalled connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(3));
}

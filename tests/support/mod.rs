//! Test support: start the real `revcycle` binary against a fresh database (SQLite in a temp
//! dir, or a new PostgreSQL database that is dropped afterwards) and talk HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;

/// PostgreSQL server the tests use (trust auth on loopback); override with REVCYCLE_TEST_PG.
pub fn pg_admin_url() -> String {
    std::env::var("REVCYCLE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];
}

/// The profile directory the tests run from (`target/debug` or `target/release`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    // Tests live in target/<profile>/deps/, binaries in target/<profile>/.
    let mut dir = exe.parent().expect("executable dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir
}

/// `cargo build` of `packages` into this profile (cargo does not build another package's
/// binaries or cdylibs for a test).
fn cargo_build(packages: &[&str], extra: &[&str]) {
    let release = profile_dir().file_name().is_some_and(|n| n == "release");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.args(extra);
    if release {
        cmd.arg("--release");
    }
    // Cargo's per-package variables (set for this test process) would reach build scripts
    // that watch them (ring watches CARGO_MANIFEST_DIR) and make every test rebuild them.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "CARGO_MANIFEST_DIR"
            || name == "CARGO_MANIFEST_PATH"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR"
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
        {
            cmd.env_remove(name.as_ref());
        }
    }
    // Pin the toolchain this cargo belongs to: started outside cargo (the load generator run
    // directly), a rustup proxy would otherwise obey a dependency's own rust-toolchain file
    // and ask for a toolchain that is not installed.
    if std::env::var_os("RUSTUP_TOOLCHAIN").is_none()
        && let Some(toolchain) = std::path::Path::new(env!("CARGO"))
            .parent()
            .and_then(|bin| bin.parent())
            .and_then(|dir| dir.file_name())
    {
        cmd.env("RUSTUP_TOOLCHAIN", toolchain);
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build {packages:?} failed");
}

/// Path of the `revcycle` binary, built once per test process.
pub fn revcycle_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The load generator's audit comparison needs the build that can switch auditing off.
        let features = std::env::var("REVCYCLE_E2E_BIN_FEATURES").ok();
        let mut extra = vec!["--bin", "revcycle"];
        if let Some(f) = &features {
            extra.extend(["--features", f.as_str()]);
        }
        cargo_build(&["revcycle-api"], &extra);
        profile_dir().join("revcycle")
    })
    .clone()
}

/// The connector plugins the tests load, as real shared libraries.
pub const PLUGINS: &[&str] = &[
    "revcycle-connector-fhir-r4",
    "revcycle-connector-hl7v2",
    "revcycle-connector-echo",
    "revcycle-connector-wrong-abi",
    "revcycle-connector-x12",
];

/// Path of a plugin's shared library (all of [`PLUGINS`] are built once per test process).
pub fn plugin_library(package: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| cargo_build(PLUGINS, &[]));
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let path = profile_dir().join(file);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// An HTTP client; for HTTPS it trusts exactly the given certificate (the server's own).
pub fn http_client(trust: Option<&Path>) -> reqwest::Client {
    // The workspace links rustls with ring only; tell reqwest to use it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(60));
    if let Some(cert) = trust {
        let pem = std::fs::read(cert).expect("certificate");
        b = b.tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("PEM certificate")]);
    }
    b.build().expect("http client")
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn new(engine: Engine, dir: &Path) -> TestDb {
        match engine {
            Engine::Sqlite => TestDb {
                url: dir.join("test.db").to_string_lossy().into_owned(),
                pg_name: None,
                _dir: None,
            },
            Engine::Postgres => {
                let name = format!("revcycle_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::establish(&pg_admin_url())
                    .expect("connect to the test PostgreSQL server");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = pg_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => panic!("bad REVCYCLE_TEST_PG"),
                };
                TestDb {
                    url,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) = PgConnection::establish(&pg_admin_url())
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Start `revcycle serve` on a free loopback port; returns the process, its log (collected
/// by a thread) and its base URL once it says it is listening.
fn spawn_server(
    data_dir: &Path,
    db_url: &str,
    tls: bool,
    extra_env: &[(&str, &str)],
) -> (Child, Arc<Mutex<String>>, String) {
    let mut cmd = Command::new(revcycle_bin());
    cmd.args(["--bind", "127.0.0.1:0", "serve"]);
    if !tls {
        cmd.arg("--insecure-http");
    }
    cmd.env("REVCYCLE_DATA_DIR", data_dir)
        .env("REVCYCLE_DATABASE_URL", db_url)
        .env("REVCYCLE_WORKERS", "2")
        .env("REVCYCLE_LOG", "info")
        .env_remove("DATABASE_URL")
        .env_remove("REVCYCLE_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start revcycle");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("stderr");
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("revcycle: listening on ") {
                let _ = tx.send(addr.trim().to_string());
            }
            let mut l = sink.lock().expect("log lock");
            l.push_str(&line);
            l.push('\n');
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(base) => (child, log, base),
        Err(_) => {
            let _ = child.kill();
            panic!(
                "server did not start; log:\n{}",
                log.lock().expect("log lock")
            );
        }
    }
}

/// A running server process with its own data directory and database.
pub struct Server {
    pub base: String,
    pub token: String,
    pub data_dir: PathBuf,
    pub db: TestDb,
    pub engine: Engine,
    child: Child,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl Server {
    pub async fn start(engine: Engine) -> Server {
        Self::start_with(engine, &[]).await
    }

    pub async fn start_with(engine: Engine, extra_env: &[(&str, &str)]) -> Server {
        Self::launch(engine, extra_env, false, None).await
    }

    /// Serve HTTPS with the development certificate the server generates on first run.
    pub async fn start_tls(engine: Engine) -> Server {
        Self::launch(engine, &[], true, None).await
    }

    /// Serve HTTPS with the settings in `extra_env` (e.g. REVCYCLE_TLS_CERT), the client
    /// trusting only `trust`.
    pub async fn start_tls_with(
        engine: Engine,
        extra_env: &[(&str, &str)],
        trust: &Path,
    ) -> Server {
        Self::launch(engine, extra_env, true, Some(trust.to_path_buf())).await
    }

    async fn launch(
        engine: Engine,
        extra_env: &[(&str, &str)],
        tls: bool,
        trust: Option<PathBuf>,
    ) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let db = TestDb::new(engine, dir.path());
        let (child, log, base) = spawn_server(&data_dir, &db.url, tls, extra_env);
        // In jwks mode the identity provider issues tokens: there is no development admin token.
        let jwks_mode = extra_env
            .iter()
            .any(|(k, v)| *k == "REVCYCLE_AUTH_MODE" && *v == "jwks");
        let token = if jwks_mode {
            String::new()
        } else {
            std::fs::read_to_string(data_dir.join("admin.token"))
                .expect("admin token")
                .trim()
                .to_string()
        };
        let trust = trust.unwrap_or_else(|| data_dir.join("tls/dev-cert.pem"));
        let client = http_client(tls.then_some(trust.as_path()));
        Server {
            base,
            token,
            data_dir,
            db,
            engine,
            child,
            log,
            _dir: dir,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Run a `revcycle` admin command against this server's data directory and database.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = self.admin_output(args, &[]);
        assert!(
            out.status.success(),
            "revcycle {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }

    /// A new organization and an admin token for it.
    pub fn new_org(&self, name: &str) -> (String, String) {
        let org = self.admin(&["org", "create", "--name", name]);
        let token = self.admin(&["token", "--org", &org, "--role", "admin", "--ttl", "1h"]);
        (org, token)
    }

    /// Sign arbitrary claims with this server's development key (to test claim checks).
    pub fn sign(&self, claims: &Value) -> String {
        use base64::Engine as _;
        let text =
            std::fs::read_to_string(self.data_dir.join("token-signing.key")).expect("signing key");
        let secret = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .expect("base64 key");
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .expect("sign")
    }

    /// Runs SQL on this server's database beside the live server, standing in for someone
    /// with direct access. On PostgreSQL, DDL may be picked as the deadlock victim against the
    /// audit sequencer's locks; it is retried (the whole batch rolled back), as they would.
    pub fn sql(&self, statements: &str) {
        use diesel::connection::SimpleConnection;
        let mut conn = revcycle_core::store::connect(&self.db.url).expect("connect");
        for attempt in 1.. {
            match conn.batch_execute(statements) {
                Ok(()) => return,
                Err(e) if attempt < 10 && e.to_string().contains("deadlock") => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("{statements}: {e}"),
            }
        }
    }

    /// The server process's id (for reading its memory use from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Whether `needle` shows up in the server log within a few seconds: the log is read
    /// by another thread, so a line written just before a response may arrive after it.
    pub async fn log_shows(&self, needle: &str) -> bool {
        for _ in 0..100 {
            if self.log().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Resp::from(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, Some(&self.token.clone()), None, &[])
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(&self.token.clone()), Some(body), &[])
            .await
    }

    pub async fn put(&self, path: &str, etag: &str, body: &Value) -> Resp {
        self.call(
            "PUT",
            path,
            Some(&self.token.clone()),
            Some(body),
            &[("if-match", etag)],
        )
        .await
    }

    /// POST that must answer 201; returns the created resource.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status, 201, "POST {path} -> {} {}", r.status, r.body);
        r.body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    async fn from(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Assert an RFC 9457 problem with this status; returns its JSON pointers.
    pub fn assert_problem(&self, status: u16) -> Vec<String> {
        assert_eq!(
            self.status, status,
            "expected {status}, got {} {}",
            self.status, self.text
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "problem responses are application/problem+json: {}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:revcycle:problem:"))
        );
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["pointer"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Wait until `f` returns true or the deadline passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Server {
    /// Stop the server process (its data directory and database stay).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start the server again (plain HTTP) on the same data directory and database, with
    /// `extra_env` set, e.g. another master key configuration.
    pub async fn restart_with(&mut self, extra_env: &[(&str, &str)]) {
        self.stop();
        let (child, log, base) = spawn_server(&self.data_dir, &self.db.url, false, extra_env);
        self.child = child;
        self.log = log;
        self.base = base;
    }

    /// Another `revcycle serve` process (plain HTTP) on this server's data directory and
    /// database, as a second instance behind a load balancer would be; stopped when dropped.
    pub fn second_instance(&self, extra_env: &[(&str, &str)]) -> Instance {
        let (child, _log, base) = spawn_server(&self.data_dir, &self.db.url, false, extra_env);
        Instance { base, child }
    }

    /// Run a `revcycle` command against this server's data directory and database with
    /// `extra_env` set, whatever its outcome.
    pub fn admin_output(&self, args: &[&str], extra_env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = Command::new(revcycle_bin());
        cmd.args(args)
            .env("REVCYCLE_DATA_DIR", &self.data_dir)
            .env("REVCYCLE_DATABASE_URL", &self.db.url)
            .env("REVCYCLE_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("REVCYCLE_MASTER_KEY");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("run revcycle")
    }
}

/// A further server process on a shared database.
pub struct Instance {
    pub base: String,
    child: Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use revcycle_pytools::{python_tool, target_dir};

/// The moto requirement the KMS tests run against.
pub const MOTO: &str = "moto[server]==5.2.1";

/// A local AWS API emulator (`moto_server`) on a free loopback port, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    bin: PathBuf,
    child: Child,
}

impl Moto {
    /// Region the tests use; the access key and secret below are moto's conventional fakes.
    pub const REGION: &'static str = "us-east-1";

    pub fn start() -> Moto {
        let bin = python_tool("moto", &[MOTO]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let up = eventually(Duration::from_secs(60), || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        if !up {
            let _ = child.kill();
            let out = child.wait_with_output().expect("moto output");
            panic!(
                "moto_server did not listen on {addr}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Nobody reads moto's request log: do not let a full pipe block it.
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(
            move || {
                for _ in BufReader::new(stderr).lines().map_while(Result::ok) {}
            },
        );
        Moto {
            endpoint: format!("http://{addr}"),
            bin,
            child,
        }
    }

    /// AWS credentials and region for a process talking to this moto.
    pub fn aws_env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", Self::REGION),
        ]
    }

    /// Creates a symmetric KMS key (through boto3, which moto ships) and returns its ARN.
    pub fn create_kms_key(&self) -> String {
        let script = "import sys, boto3\n\
            kms = boto3.client('kms', endpoint_url=sys.argv[1], region_name=sys.argv[2],\n\
                aws_access_key_id='testing', aws_secret_access_key='testing')\n\
            print(kms.create_key(Description='revcycle test master key')['KeyMetadata']['Arn'])\n";
        let out = Command::new(self.bin.join("python"))
            .args(["-c", script, &self.endpoint, Self::REGION])
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "CreateKey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

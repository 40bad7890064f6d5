//! Process control: `revcycle serve` started on a free loopback port against a fresh database,
//! further instances on the same database, restarts, and admin commands beside it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::client::http_client;
use crate::db::{Engine, TestDb};
use crate::plugins::revcycle_bin;

/// Start `revcycle serve` on a free loopback port; returns the process, its log (collected
/// by a thread) and its base URL once it says it is listening.
fn spawn_server(
    data_dir: &Path,
    db_url: &str,
    tls: bool,
    extra_env: &[(&str, &str)],
) -> (Child, Arc<Mutex<String>>, String) {
    let mut cmd = Command::new(revcycle_bin());
    cmd.args(["serve", "--bind", "127.0.0.1:0"]);
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

//! The `revcycle` command line as a newcomer meets it: each command's help lists its own
//! options, development tokens name who they stand for, the first run says where everything
//! is, and `connectors pin` writes the plugin hashes the server then checks.

use std::process::Command;

use base64::Engine as _;
use revcycle_connector_abi::host::sha256_hex;
use revcycle_e2e::{Engine, Server, plugin_library, revcycle_bin};
use serde_json::Value;

use crate::fixtures::org_of;
use crate::on_both_engines;

/// `revcycle <args>` with no configuration from the environment: (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    run_with(args, &[])
}

/// `revcycle <args>` with only `env` for configuration.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(revcycle_bin())
        .args(args)
        .env_remove("REVCYCLE_DATA_DIR")
        .env_remove("REVCYCLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("REVCYCLE_CONNECTORS")
        .env_remove("REVCYCLE_CONFIG")
        .env_remove("REVCYCLE_MASTER_KEY")
        .env("REVCYCLE_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run revcycle");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The long flags a help text lists.
fn flags(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|l| {
            // `  -h, --help` or `      --org <ORG>  ...`.
            let l = l.trim_start();
            let short = l.len() > 4 && !l.starts_with("--") && l[2..].starts_with(", ");
            let l = if short { &l[4..] } else { l };
            l.starts_with("--")
                .then(|| l.split([' ', '=']).next().unwrap_or(l).to_string())
        })
        .collect()
}

/// Options only a running server uses, by their real names (see `revcycle serve --help`).
const SERVER_ONLY: &[&str] = &[
    "--bind",
    "--workers",
    "--pool-size",
    "--body-limit",
    "--rate-limit-per-second",
    "--trusted-proxies",
    "--auth-mode",
    "--jwks-url",
    "--token-audience",
    "--connector-timeout-secs",
    "--audit-writers",
    "--tls-cert",
];

#[test]
fn each_command_lists_a_summary_and_only_the_options_it_uses() {
    let (ok, top, _) = run(&["--help"]);
    assert!(ok);
    // Every command on one line of the list, with its summary.
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let names: Vec<&str> = commands
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    for name in [
        "serve",
        "migrate",
        "openapi",
        "token",
        "org",
        "keys",
        "audit",
        "connectors",
        "codes",
        "events",
    ] {
        assert!(names.contains(&name), "{name} listed: {top}");
    }
    for line in &commands {
        assert!(
            line.starts_with("  ") && line.split_whitespace().count() > 1,
            "{line:?}"
        );
    }
    let audit = commands
        .iter()
        .find(|l| l.trim_start().starts_with("audit"))
        .unwrap();
    assert!(
        audit.contains("purge"),
        "the summary says it purges: {audit}"
    );
    assert!(
        flags(&top)
            .iter()
            .all(|f| f == "--help" || f == "--version"),
        "{top}"
    );

    let (ok, serve, _) = run(&["serve", "-h"]);
    assert!(ok);
    let serve = flags(&serve);
    for f in SERVER_ONLY
        .iter()
        .chain(&["--database-url", "--master-key-file"])
    {
        assert!(serve.contains(&f.to_string()), "serve takes {f}: {serve:?}");
    }

    let (ok, token, _) = run(&["token", "-h"]);
    assert!(ok);
    let token = flags(&token);
    for f in ["--org", "--role", "--sub", "--scope", "--ttl"] {
        assert!(token.contains(&f.to_string()), "{f}: {token:?}");
    }
    // Its database is the configured one (environment or file), like every server setting.
    for f in SERVER_ONLY.iter().chain(&[
        "--database-url",
        "--master-key-file",
        "--kms-key-id",
        "--audit-retention-days",
    ]) {
        assert!(
            !token.contains(&f.to_string()),
            "token lists {f}: {token:?}"
        );
    }
    assert!(token.len() <= 10, "{token:?}");

    for (args, absent) in [
        (
            &["openapi", "-h"][..],
            &["--data-dir", "--database-url", "--config"][..],
        ),
        (
            &["audit", "verify-proof", "-h"],
            &["--data-dir", "--database-url"],
        ),
        (
            &["codes", "rebuild-icd10cm", "-h"],
            &["--data-dir", "--config"],
        ),
        (
            &["connectors", "pin", "-h"],
            &["--data-dir", "--database-url"],
        ),
        (&["org", "create", "-h"], SERVER_ONLY),
        (&["keys", "rotate", "-h"], SERVER_ONLY),
        (&["audit", "purge", "-h"], SERVER_ONLY),
        (&["migrate", "-h"], SERVER_ONLY),
        (&["events", "tail", "-h"], SERVER_ONLY),
    ] {
        let (ok, help, err) = run(args);
        assert!(ok, "{args:?}: {err}");
        let listed = flags(&help);
        for f in absent {
            assert!(
                !listed.contains(&f.to_string()),
                "{args:?} lists {f}: {listed:?}"
            );
        }
    }
    let (_, purge, _) = run(&["audit", "purge", "-h"]);
    assert!(flags(&purge).contains(&"--audit-retention-days".to_string()));

    // Server options are refused where they do nothing, rather than silently ignored.
    let org = uuid::Uuid::now_v7().to_string();
    let (ok, _, err) = run(&[
        "token",
        "--org",
        &org,
        "--role",
        "admin",
        "--bind",
        "127.0.0.1:1",
    ]);
    assert!(!ok && err.contains("unexpected argument '--bind'"), "{err}");
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

async fn development_tokens_name_their_subject(engine: Engine) {
    let s = Server::start(engine).await;
    let org = org_of(&s);
    let token = |extra: &[&str]| {
        let mut args = vec!["token", "--org", org.as_str()];
        args.extend(extra);
        s.admin(&args)
    };
    let given = token(&["--role", "biller", "--sub", "dana.reyes@example.org"]);
    assert_eq!(claims(&given)["sub"], "dana.reyes@example.org");
    assert_eq!(claims(&given)["roles"], serde_json::json!(["biller"]));
    let biller = token(&["--role", "biller"]);
    let coder = token(&["--role", "coder"]);
    assert_eq!(claims(&biller)["sub"], "dev-biller");
    assert_eq!(claims(&coder)["sub"], "dev-coder");
    let both = token(&["--role", "coder", "--role", "biller", "--role", "coder"]);
    assert_eq!(claims(&both)["sub"], "dev-coder+biller");
    // The first-run token follows the same rule.
    assert_eq!(claims(&s.token)["sub"], "dev-admin");

    // So the audit trail tells the roles' requests apart.
    for t in [&biller, &coder, &given] {
        let r = s.call("GET", "/v1/payers", Some(t), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for actor in ["dev-biller", "dev-coder", "dana.reyes@example.org"] {
        let r = s
            .get(&format!("/v1/audit-events?actor={actor}&limit=100"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{actor} recorded: {}", r.text);
        assert!(items.iter().all(|e| e["actor"] == actor), "{}", r.text);
    }

    // The database and data directory may be given as flags after the command, too.
    let (ok, out, err) = run(&[
        "org",
        "list",
        "--data-dir",
        s.data_dir.to_str().unwrap(),
        "--database-url",
        &s.db.url,
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with(&org), "{out}");
    let data_dir = ["--data-dir", s.data_dir.to_str().unwrap()];
    let database = [("REVCYCLE_DATABASE_URL", s.db.url.as_str())];
    let mut args = vec!["token", "--org", &org, "--role", "front_desk"];
    args.extend(data_dir);
    let (ok, out, err) = run_with(&args, &database);
    assert!(ok, "{err}");
    assert_eq!(claims(out.trim())["sub"], "dev-front_desk");
    let unknown = uuid::Uuid::now_v7().to_string();
    let mut args = vec!["token", "--org", &unknown, "--role", "admin"];
    args.extend(data_dir);
    let (ok, _, err) = run_with(&args, &database);
    assert!(!ok && err.contains("no organization"), "{err}");
}
on_both_engines!(development_tokens_name_their_subject);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_banner_says_where_docs_certificate_and_token_are() {
    let mut s = Server::start_tls(Engine::Sqlite).await;
    let cert = s.data_dir.join("tls/dev-cert.pem");
    let docs = format!("revcycle: API documentation: {}/docs/", s.base);
    assert!(s.log_shows(&docs).await, "{}", s.log());
    let trust = format!("revcycle: certificate to trust: {}", cert.display());
    assert!(s.log_shows(&trust).await, "{}", s.log());
    assert!(s.log_shows("revcycle: try it: curl ").await, "{}", s.log());
    let log = s.log();
    let curl = log
        .lines()
        .find_map(|l| l.strip_prefix("revcycle: try it: "))
        .unwrap()
        .to_string();
    assert!(
        curl.contains(&s.data_dir.join("admin.token").display().to_string()),
        "{curl}"
    );
    // The line works as printed.
    let out = Command::new("bash")
        .args([
            "-euo",
            "pipefail",
            "-c",
            &format!("{curl} --fail-with-body -sS"),
        ])
        .output()
        .expect("bash and curl");
    assert!(
        out.status.success(),
        "{curl}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let body: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(body["items"].is_array(), "{body}");
    let page = s.call("GET", "/docs/", None, None, &[]).await;
    assert_eq!(page.status, 200);

    // Only the first run has a banner.
    s.restart_with(&[]).await;
    assert!(s.log_shows("revcycle: listening on").await);
    assert!(!s.log().contains("first run"), "{}", s.log());
}

/// A `connectors.toml` with a comment and a hash still to fill in, for a copy of the real
/// FHIR R4 plugin under `dir/plugins` (a relative path, as an operator would write it).
fn unpinned_connectors(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let so = plugins.join("librevcycle_connector_fhir_r4.so");
    std::fs::copy(plugin_library("revcycle-connector-fhir-r4"), &so).unwrap();
    let sha = sha256_hex(&std::fs::read(&so).unwrap());
    let file = dir.join("connectors.toml");
    std::fs::write(
        &file,
        "# EHR feed of the clinic (kept by pin)\n\
         [[connector]]\n\
         name = \"fhir-r4\"\n\
         path = \"plugins/librevcycle_connector_fhir_r4.so\"\n\
         sha256 = \"<the sha256sum>\" # filled in by revcycle connectors pin\n\
         config = { source_system = \"urn:test:epic\" }\n",
    )
    .unwrap();
    (file, sha)
}

async fn connector_status(s: &Server) -> Value {
    let r = s.get("/v1/connectors").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_pin_writes_the_hash_the_server_then_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (file, sha) = unpinned_connectors(dir.path());
    let file_arg = file.to_str().unwrap();

    let (ok, out, err) = run(&["connectors", "pin", "--connectors", file_arg]);
    assert!(ok, "{err}");
    assert_eq!(out, format!("fhir-r4\t{sha}\tpinned\n"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# EHR feed of the clinic (kept by pin)\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "sha256 = \"{sha}\" # filled in by revcycle connectors pin\n"
        )),
        "{text}"
    );

    let env = [("REVCYCLE_CONNECTORS", file_arg)];
    let mut s = Server::start_with(Engine::Sqlite, &env).await;
    let fhir = connector_status(&s).await;
    assert_eq!(fhir["status"], "loaded", "{fhir}");
    assert_eq!(fhir["sha256"], sha.as_str());

    // A file that no longer matches its pin is still refused...
    let wrong = "ab".repeat(32);
    std::fs::write(&file, text.replace(&sha, &wrong)).unwrap();
    s.restart_with(&env).await;
    let fhir = connector_status(&s).await;
    assert_eq!(fhir["status"], "refused", "{fhir}");
    let reason = fhir["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("configuration expects {wrong}")),
        "{reason}"
    );

    // ...until it is pinned again (here through the configuration file's `connectors`).
    let config = dir.path().join("revcycle.toml");
    std::fs::write(&config, format!("connectors = {:?}\n", file_arg)).unwrap();
    let (ok, out, err) = run(&["connectors", "pin", "--config", config.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out, format!("fhir-r4\t{sha}\tupdated\n"));
    let (ok, out, _) = run(&["connectors", "pin", "--connectors", file_arg, "fhir-r4"]);
    assert!(ok);
    assert_eq!(out, format!("fhir-r4\t{sha}\tunchanged\n"));
    s.restart_with(&env).await;
    assert_eq!(connector_status(&s).await["status"], "loaded");

    // A plugin file that is missing is refused, and the file is left as it was.
    let before = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(dir.path().join("plugins/librevcycle_connector_fhir_r4.so")).unwrap();
    let (ok, _, err) = run(&["connectors", "pin", "--connectors", file_arg]);
    assert!(!ok && err.contains("cannot read"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let (ok, _, err) = run(&["connectors", "pin"]);
    assert!(!ok && err.contains("no connectors file"), "{err}");
}

/// `connectors.example.toml`, with its paths pointed at the plugins the tests build, is a
/// configuration the server loads once pinned: every key it documents is one the host and the
/// plugins accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_connectors_file_loads_once_pinned() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../connectors.example.toml");
    let mut text = std::fs::read_to_string(example).unwrap();
    let plugins = [
        ("fhir-r4", "revcycle-connector-fhir-r4"),
        ("hl7v2", "revcycle-connector-hl7v2"),
        ("x12", "revcycle-connector-x12"),
    ];
    for (name, package) in plugins {
        let file = format!("librevcycle_connector_{}.so", name.replace('-', "_"));
        let written = format!("path = \"target/release/{file}\"");
        assert!(text.contains(&written), "{written}");
        let built = plugin_library(package).display().to_string();
        text = text.replace(&written, &format!("path = {built:?}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connectors.toml");
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();
    let (ok, out, err) = run(&["connectors", "pin", "--connectors", file]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().all(|l| l.ends_with("\tpinned")), "{out}");

    let s = Server::start_with(Engine::Sqlite, &[("REVCYCLE_CONNECTORS", file)]).await;
    let r = s.get("/v1/connectors").await;
    assert_eq!(r.status, 200, "{}", r.text);
    for (name, _) in plugins {
        let c = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {}", r.text));
        assert_eq!(c["status"], "loaded", "{c}");
    }
}

/// A command piped into a reader that stops early (`revcycle openapi | head -1`) ends as Unix
/// tools do, by SIGPIPE, not with a panic message about a failed write.
#[test]
fn output_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = Command::new(revcycle_bin())
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run revcycle");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    // The reader is gone; the document is far larger than the pipe's buffer.
    let out = child.wait_with_output().expect("wait");
    assert_eq!(first.trim(), "{");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // 13 is SIGPIPE on Linux.
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
}

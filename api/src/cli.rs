//! The `revcycle` command line: serve, migrate, openapi, token, org, keys, audit, connectors,
//! codes, events.

use std::net::SocketAddr;
use std::process::ExitCode;

use actix_web::{HttpServer, web};
use clap::Parser;
use revcycle_core::access::OrgId;
use revcycle_core::phi::AwsKmsConfig;
use revcycle_core::store::{orgs, rewrap};

use crate::auth::{DevSigner, Grant, Verifier};
use crate::config::{AuthMode, Config, ConfigArgs, MasterKeySource, load_config};
use crate::startup::{self, StartupError};

mod args;
pub mod connectors;
mod events;
mod first_run;

pub use args::*;

/// Seconds a client has to send a request's head (408 after that) or finish a TLS handshake.
pub const REQUEST_HEAD_TIMEOUT_SECS: u64 = 5;

impl DatabaseArgs {
    fn load(self) -> Result<Config, StartupError> {
        self.load_with(|_| {})
    }

    fn load_with(self, more: impl FnOnce(&mut ConfigArgs)) -> Result<Config, StartupError> {
        load_config(|args| {
            args.file = self.file;
            args.store = self.store;
            args.keys = self.keys;
            more(args);
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        crate::startup::limit_malloc_arenas();
    } else {
        // A command whose output is piped into `head` ends quietly when the reader goes away,
        // as Unix tools do, instead of panicking on the failed write (Rust ignores SIGPIPE).
        // Not for `serve`: a client closing its connection must not end the server.
        // SAFETY: setting a signal's disposition to its default, before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    init_tracing();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("revcycle: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REVCYCLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files and collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn run(cli: Cli) -> Result<(), StartupError> {
    match cli.command {
        Command::Codes(CodesCommand::RebuildIcd10cm { from, output }) => {
            rebuild_icd10cm(&from, &output)
        }
        Command::Openapi { output } => {
            let doc = startup::document_json();
            match output {
                Some(path) => std::fs::write(path, doc)?,
                None => print!("{doc}"),
            }
            Ok(())
        }
        Command::Migrate(db) => {
            startup::open(db.load()?)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token(args) => token(args),
        Command::Org(OrgArgs { command, db }) => org(db.load()?, command),
        Command::Audit(AuditCommand::Verify {
            org,
            checkpoint,
            key,
            db,
            trail,
        }) => {
            let config = db.load_with(|a| a.audit = trail)?;
            crate::audit_trail_commands::verify(config, org, checkpoint, key)
        }
        Command::Audit(AuditCommand::Checkpoint { org, db, trail }) => {
            crate::audit_trail_commands::checkpoint(db.load_with(|a| a.audit = trail)?, org)
        }
        Command::Audit(AuditCommand::VerifyProof {
            proof,
            checkpoint,
            key,
        }) => crate::audit_trail_commands::verify_proof(&proof, checkpoint.as_deref(), &key),
        Command::Audit(AuditCommand::Reindex { org, db }) => {
            crate::audit_trail_commands::reindex(db.load()?, org)
        }
        Command::Audit(AuditCommand::Export(args)) => {
            let config = args.db.clone().load()?;
            let request = crate::audit_trail_commands::ExportRequest {
                format: args.format,
                org: args.org,
                from: args.from,
                to: args.to,
                output: args.output,
            };
            crate::audit_trail_commands::export(config, request)
        }
        Command::Audit(AuditCommand::Purge {
            org,
            dry_run,
            db,
            trail,
        }) => crate::audit_trail_commands::purge(db.load_with(|a| a.audit = trail)?, org, dry_run),
        Command::Statements(StatementsCommand::Run { org, db }) => statement_run(db.load()?, org),
        Command::Keys(KeysArgs { command, db }) => match command {
            KeysCommand::Rewrap(args) => rewrap(db.load()?, args),
            KeysCommand::Rotate(args) => rotate(db.load()?, args),
        },
        Command::Connectors(ConnectorsCommand::Pin(args)) => crate::cli::connectors::pin(args),
        Command::Events(EventsCommand::Tail { org, since, db }) => {
            events::tail(db.load()?, &org, since)
        }
        Command::Serve(args) => {
            let config =
                Config::load(&args.config).map_err(|e| StartupError::Refused(e.to_string()))?;
            serve(config, args)
        }
    }
}

/// `revcycle token`: signing needs the development key and the organization's existence, not
/// the master key, so it takes no master-key settings (and the database from the usual
/// configuration, like every setting without a flag here).
fn token(args: TokenArgs) -> Result<(), StartupError> {
    let config = load_config(|a| {
        a.file = args.file.clone();
        a.store.data_dir = args.data_dir.clone();
    })?;
    if config.auth_mode == AuthMode::Jwks {
        return Err(StartupError::Refused(
            "`revcycle token` makes development tokens, which a server in jwks mode \
             refuses; issue tokens at your identity provider"
                .into(),
        ));
    }
    crate::files::ensure_private_dir(&config.data_dir)?;
    let signer = DevSigner::load_or_create(&config.data_dir.join(startup::SIGNING_KEY_FILE))?;
    let pool = revcycle_core::store::build_pool(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
    revcycle_core::store::run_migrations(&mut conn)?;
    if orgs::find(&mut conn, args.org)?.is_none() {
        return Err(StartupError::Refused(format!(
            "no organization {}",
            args.org
        )));
    }
    let sub = args.sub.unwrap_or_else(|| default_subject(&args.roles));
    println!(
        "{}",
        signer.issue(Grant {
            sub: &sub,
            org: args.org,
            roles: &args.roles,
            ttl_secs: args.ttl,
            scope: args.scope,
            client_id: args.client_id,
            purpose_of_use: args.purpose_of_use,
        })
    );
    Ok(())
}

fn org(config: Config, cmd: OrgCommand) -> Result<(), StartupError> {
    let rt = startup::open(config)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
    match cmd {
        OrgCommand::Create { name } => {
            let org = orgs::create(&mut conn, &rt.keyring, &name)?;
            crate::audit_trail_commands::record(
                &rt.pool,
                org.id,
                "org.create",
                "Organization",
                Some(org.id.to_string()),
            )?;
            println!("{}", org.id)
        }
        OrgCommand::List => {
            for o in orgs::list(&mut conn)? {
                let state = if o.active { "" } else { "\tinactive" };
                println!("{}\t{}{state}", o.id, o.name);
            }
        }
        OrgCommand::Deactivate { id } | OrgCommand::Activate { id } => {
            let active = matches!(cmd, OrgCommand::Activate { .. });
            if !orgs::set_active(&mut conn, id, active)? {
                return Err(StartupError::Refused(format!("no organization {id}")));
            }
            let action = if active {
                "org.activate"
            } else {
                "org.deactivate"
            };
            crate::audit_trail_commands::record(
                &rt.pool,
                id,
                action,
                "Organization",
                Some(id.to_string()),
            )?;
            println!("{id}\t{}", if active { "active" } else { "inactive" });
        }
    }
    Ok(())
}

fn rebuild_icd10cm(from: &std::path::Path, output: &std::path::Path) -> Result<(), StartupError> {
    use std::io::{BufReader, BufWriter};
    let input = BufReader::new(std::fs::File::open(from)?);
    // Written beside the target and renamed, so a refused file leaves the old one in place.
    let tmp = output.with_extension("tmp");
    let built = revcycle_core::codes::icd10cm::build_from_cms_order_file(
        input,
        BufWriter::new(std::fs::File::create(&tmp)?),
    );
    match built {
        Ok(c) => {
            std::fs::rename(&tmp, output)?;
            println!(
                "{} codes: {} billable, {} headers; rebuild the binary to ship them",
                c.codes, c.billable, c.headers
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(StartupError::Refused(e.to_string()))
        }
    }
}

/// `revcycle statements run`: the statement cycle of one organization, with a progress bar.
fn statement_run(config: Config, org: uuid::Uuid) -> Result<(), StartupError> {
    let rt = startup::open(config)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
    if orgs::find(&mut conn, org)?.is_none() {
        return Err(StartupError::Refused(format!("no organization {org}")));
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} patients ({elapsed})",
        )
        .expect("valid template"),
    );
    bar.set_message(format!("org {org} statements"));
    let today = chrono::Utc::now().date_naive();
    let keyring = rt.keyring.clone();
    let run = revcycle_core::store::write_transaction(&mut conn, |c| {
        revcycle_core::workflows::statements::run(
            c,
            &keyring,
            OrgId(org),
            today,
            &crate::audit_trail_commands::cli_actor(),
            &mut |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            },
        )
    })?;
    bar.finish();
    crate::audit_trail_commands::record(
        &rt.pool,
        org,
        "statements.run",
        "StatementRun",
        Some(run.run_id.to_string()),
    )?;
    let skipped: Vec<String> = run
        .skipped_by_reason
        .iter()
        .map(|s| format!("{} {}", s.count, s.reason))
        .collect();
    println!(
        "org {org}: run {}: {} candidates, {} statements issued, {} skipped{}",
        run.run_id,
        run.candidates,
        run.issued,
        run.skipped,
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        }
    );
    Ok(())
}

fn rotate(config: Config, args: RotateArgs) -> Result<(), StartupError> {
    use revcycle_core::store::rotation;
    let rt = startup::open(config)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
    let orgs: Vec<OrgId> = match args.org {
        Some(id) => vec![OrgId(id)],
        None => orgs::list(&mut conn)?
            .into_iter()
            .map(|o| OrgId(o.id))
            .collect(),
    };
    // Test-only: slow each batch down so a test can interrupt a rotation halfway.
    let pause = std::env::var("REVCYCLE_TEST_ROTATION_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
        .unwrap_or_default();
    for org in orgs {
        let r = rotation::begin(&mut conn, &rt.keyring, org)?;
        let bar = indicatif::ProgressBar::new(r.rows_total.max(0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} rows ({elapsed})",
            )
            .expect("valid template"),
        );
        bar.set_message(format!("org {} -> key v{}", org.0, r.to_version));
        let done = rotation::run(&mut conn, &rt.keyring, r, args.batch_size, pause, |r| {
            bar.set_length(r.rows_total.max(0) as u64);
            bar.set_position(r.rows_done.max(0) as u64);
        })?;
        bar.finish();
        crate::audit_trail_commands::record(
            &rt.pool,
            org.0,
            "keys.rotate",
            "DataKey",
            Some(format!("v{}", done.to_version)),
        )?;
        println!(
            "org {}: {} rows re-encrypted under data key v{}",
            org.0, done.rows_done, done.to_version
        );
    }
    Ok(())
}

fn rewrap(config: Config, args: RewrapArgs) -> Result<(), StartupError> {
    let to = match (args.to_key_file, args.to_kms) {
        (Some(path), _) => MasterKeySource::File(path),
        (None, Some(key_id)) => {
            let configured = match &config.master_key {
                MasterKeySource::AwsKms(k) => Some(k.clone()),
                _ => None,
            };
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            let region = args
                .to_kms_region
                .or_else(|| configured.as_ref().map(|k| k.region.clone()))
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .ok_or_else(|| {
                    StartupError::Refused("give --to-kms-region (or set AWS_REGION)".into())
                })?;
            MasterKeySource::AwsKms(AwsKmsConfig {
                key_id,
                region,
                endpoint: args
                    .to_kms_endpoint
                    .or_else(|| configured.and_then(|k| k.endpoint)),
            })
        }
        (None, None) => unreachable!("clap requires a destination"),
    };
    let rt = startup::open(config)?;
    let to = startup::key_wrapper(&to)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
    let report = rewrap::rewrap_all(&mut conn, rt.keyring.wrapper(), to.as_ref())?;
    crate::audit_trail_commands::record(
        &rt.pool,
        revcycle_core::audit::SYSTEM_ORG,
        "keys.rewrap",
        "MasterKey",
        Some(report.to.to_string()),
    )?;
    println!(
        "re-wrapped {} keys of {} organizations from {} to {}",
        report.keys, report.orgs, report.from, report.to
    );
    println!("start the servers with the new master key; the old one no longer unwraps anything");
    Ok(())
}

fn serve(config: Config, args: ServeArgs) -> Result<(), StartupError> {
    let bind: SocketAddr = config.bind;
    if args.insecure_http && !config.is_loopback() {
        return Err(StartupError::Refused(format!(
            "refusing plain HTTP on {bind}: it is not a loopback address; give --tls-cert and --tls-key"
        )));
    }
    if !args.insecure_http && args.tls_cert.is_none() && !config.is_loopback() {
        return Err(StartupError::Refused(format!(
            "{bind} is not a loopback address: give --tls-cert and --tls-key (development certificates are only made for loopback)"
        )));
    }
    let tls = if args.insecure_http {
        None
    } else {
        Some(startup::tls_config(
            args.tls_cert.as_deref(),
            args.tls_key.as_deref(),
            &config.data_dir,
        )?)
    };
    if let Some(addr) = args.mllp
        && !crate::config::is_loopback(addr.ip())
    {
        return Err(StartupError::Refused(format!(
            "refusing MLLP on {addr}: MLLP has no encryption; listen on loopback behind a TLS tunnel or VPN"
        )));
    }
    let workers = config.workers;
    let rt = startup::open(config)?;
    let system = actix_web::rt::System::new();
    let jwks = match &rt.verifier {
        Verifier::Jwks(jwks) => {
            system
                .block_on(jwks.load())
                .map_err(StartupError::Refused)?;
            Some(jwks.clone())
        }
        Verifier::Dev(_) => None,
    };
    // Told once the address is known (a port 0 bind gets its port then).
    let first_run = rt.bootstrap()?;
    let certificate = match (&tls, &args.tls_cert) {
        (None, _) => None,
        (Some(_), Some(given)) => Some((given.clone(), true)),
        (Some(_), None) => Some((rt.config.data_dir.join(crate::tls::DEV_CERT_FILE), false)),
    };
    // Load the ICD-10-CM set off the request path (the scrubber and code lookups use it).
    std::thread::spawn(revcycle_core::codes::icd10cm::preload);
    let state = web::Data::new(rt.state()?);
    crate::audit_trail_commands::record(
        &rt.pool,
        revcycle_core::audit::SYSTEM_ORG,
        "server.start",
        "Configuration",
        Some(rt.config.summary()),
    )?;
    // Finish rotations an earlier process left halfway.
    {
        let mut conn = rt
            .pool
            .get()
            .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
        for r in revcycle_core::store::rotation::unfinished(&mut conn)? {
            tracing::info!(org = %r.org, version = r.to_version, "resuming an interrupted data-key rotation");
            crate::jobs::key_rotation::spawn(&state, r);
        }
    }
    let mllp = match args.mllp {
        None => None,
        Some(bind) => {
            let org = match args.mllp_org {
                Some(o) => o,
                None => {
                    let mut conn = rt
                        .pool
                        .get()
                        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
                    match orgs::list(&mut conn)?.as_slice() {
                        [only] => only.id,
                        _ => {
                            return Err(StartupError::Refused(
                                "several organizations: say which one MLLP imports for with --mllp-org".into(),
                            ));
                        }
                    }
                }
            };
            Some(crate::jobs::mllp_listener::MllpSettings {
                bind,
                connector: args.mllp_connector.clone(),
                org: OrgId(org),
                frame_timeout: std::time::Duration::from_secs(args.mllp_frame_timeout_secs.max(1)),
            })
        }
    };
    let documented = startup::Documented::of(&startup::routes_and_doc().1);
    let with_tls = tls.is_some();
    let bench_routes = std::env::var("REVCYCLE_BENCH_ROUTES").is_ok_and(|v| v == "1");
    system.block_on(async move {
        actix_web::rt::spawn(startup::release_startup_memory());
        if let Some(jwks) = jwks {
            crate::jobs::jwks_refresh::spawn(jwks);
        }
        if let Err(reason) = crate::jobs::payer_inbox::spawn(state.clone()) {
            tracing::error!(%reason, "the payer inbox is not polled");
        }
        if let Err(reason) = crate::jobs::event_delivery::spawn(state.clone()) {
            tracing::error!(%reason, "webhook events are not delivered");
        }
        crate::jobs::installments_due::spawn(state.pool.clone(), state.events.installments_check);
        crate::jobs::nats_publisher::spawn(state.clone());
        if let Some(settings) = mllp {
            let state = state.clone();
            actix_web::rt::spawn(async move {
                if let Err(e) = crate::jobs::mllp_listener::listen(settings, state).await {
                    tracing::error!(error = %e, "the MLLP listener stopped");
                }
            });
        }
        let mut server = HttpServer::new(move || {
            startup::app(state.clone(), documented.clone(), with_tls, bench_routes)
        });
        if let Some(w) = workers {
            server = server.workers(w);
        }
        // A client must finish its request head (and TLS handshake) promptly, so slow or
        // stalled connections cannot hold workers; idle keep-alive connections are closed.
        server = server
            .client_request_timeout(std::time::Duration::from_secs(REQUEST_HEAD_TIMEOUT_SECS))
            .tls_handshake_timeout(std::time::Duration::from_secs(REQUEST_HEAD_TIMEOUT_SECS))
            .client_disconnect_timeout(std::time::Duration::from_secs(5))
            .keep_alive(std::time::Duration::from_secs(75));
        let server = match tls {
            Some(cfg) => server.bind_rustls_0_23(bind, cfg)?,
            None => server.bind(bind)?,
        };
        let scheme = if with_tls { "https" } else { "http" };
        for addr in server.addrs() {
            // Tests and scripts read this line to learn the port when asked for port 0.
            eprintln!("revcycle: listening on {scheme}://{addr}");
        }
        if let (Some(first), Some(addr)) = (&first_run, server.addrs().first()) {
            let tls = match &certificate {
                None => first_run::Tls::Off,
                Some((path, true)) => first_run::Tls::Given(path),
                Some((path, false)) => first_run::Tls::Development(path),
            };
            for line in first_run::banner(first, *addr, &tls) {
                eprintln!("revcycle: {line}");
            }
        }
        server.run().await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use revcycle_core::access::Role;

    use super::*;

    #[test]
    fn every_command_is_well_formed() {
        // clap's own checks (names given twice, global flags clashing, ...) over every command.
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn flags_go_after_the_command_that_uses_them() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["revcycle"], args].concat());
        let serve = parse(&["serve", "--bind", "127.0.0.1:0", "--data-dir", "d"]).unwrap();
        let Command::Serve(args) = serve.command else {
            panic!("serve")
        };
        assert_eq!(
            args.config.server.bind,
            Some("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(args.config.store.data_dir, Some("d".into()));
        // A group's flags are accepted before and after its subcommand.
        for args in [
            &["org", "--data-dir", "d", "list"][..],
            &["org", "list", "--data-dir", "d"],
        ] {
            let Command::Org(org) = parse(args).unwrap().command else {
                panic!("org")
            };
            assert_eq!(org.db.store.data_dir, Some("d".into()));
        }
        assert!(parse(&["--bind", "127.0.0.1:0", "serve"]).is_err());
        assert!(parse(&["org", "list", "--bind", "127.0.0.1:0"]).is_err());
        assert!(parse(&["openapi", "--data-dir", "d"]).is_err());
    }

    fn readme() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md")
    }

    #[test]
    fn the_readme_documents_every_command_and_every_flag() {
        let readme = readme();
        let cli = <Cli as clap::CommandFactory>::command();
        let mut missing = Vec::new();
        for command in cli.get_subcommands() {
            let name = command.get_name();
            if !readme.contains(&format!("| `{name}")) && !readme.contains(&format!(", `{name}")) {
                missing.push(format!("command {name}"));
            }
            let mut commands = vec![command];
            commands.extend(command.get_subcommands());
            for c in commands {
                for arg in c.get_arguments() {
                    if let Some(long) = arg.get_long()
                        && long != "help"
                        && !readme.contains(&format!("--{long}"))
                    {
                        missing.push(format!("{name} --{long}"));
                    }
                }
            }
        }
        missing.dedup();
        assert!(missing.is_empty(), "not in README.md: {missing:?}");
    }

    #[test]
    fn default_subjects_differ_by_role() {
        assert_eq!(default_subject(&[Role::Biller]), "dev-biller");
        assert_eq!(default_subject(&[Role::Admin]), "dev-admin");
        assert_eq!(
            default_subject(&[Role::Coder, Role::Biller, Role::Coder]),
            "dev-coder+biller"
        );
    }
}

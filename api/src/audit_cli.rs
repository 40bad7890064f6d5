//! `revcycle audit verify|export|purge`, and audit events of administrative commands (server start,
//! org creation, key rotation and re-wrapping), which happen outside any request.

use std::io::Write;

use revcycle_core::audit::{AuditEvent, AuditRecord, Exporter, SYSTEM_ORG, Verification};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit::{self as store_audit, AuditFilter};
use revcycle_core::store::connection::PooledConn;
use revcycle_core::store::{DbPool, orgs};
use uuid::Uuid;

use crate::cli::AuditExportArgs;
use crate::config::Config;
use crate::routes::audit::ChainReport;
use crate::startup::{self, StartupError};

/// Who administrative commands are recorded as: the operating-system user running them.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Records an administrative action in `org`'s chain (or the system chain).
pub fn record(
    pool: &DbPool,
    org: Uuid,
    action: &str,
    resource_type: &str,
    resource_id: Option<String>,
) -> Result<(), StartupError> {
    let mut e = AuditEvent::now(org, cli_actor(), action);
    e.resource_type = Some(resource_type.to_string());
    e.resource_id = resource_id;
    crate::audit::record_now(pool, e)?;
    Ok(())
}

pub fn verify(config: Config, org: Option<Uuid>) -> Result<(), StartupError> {
    let (_rt, mut conn, chains) = open_chains(config, org)?;
    let mut broken = 0;
    for org in chains {
        let total = store_audit::count(&mut conn, org, &AuditFilter::default())?;
        let bar = progress(total, "verifying");
        let check = store_audit::verify_chain(&mut conn, org, |n| bar.set_position(n))?;
        bar.finish_and_clear();
        let name = chain_name(org);
        let report = ChainReport::of(&check);
        let from = match &check.anchor {
            Some(a) => format!(
                " (from the anchor at sequence {}: {} events purged, the latest purge at {} removed {} older than {})",
                a.sequence,
                a.sequence,
                a.purged_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                a.purged_count,
                a.cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            None => String::new(),
        };
        match check.verification {
            Verification::Intact { checked } => {
                println!("{name}: OK, {checked} events checked{from}")
            }
            Verification::Broken { sequence, .. } => {
                broken += 1;
                println!(
                    "{name}: BROKEN at sequence {sequence} after {} intact events: {}{from}",
                    report.checked,
                    report.reason.unwrap_or_default()
                );
            }
        }
    }
    if broken > 0 {
        return Err(StartupError::Refused(format!(
            "{broken} audit chain(s) failed verification"
        )));
    }
    Ok(())
}

/// The runtime, a connection, and the chains a command walks: `org`'s, or every chain.
fn open_chains(
    config: Config,
    org: Option<Uuid>,
) -> Result<(startup::Runtime, PooledConn, Vec<Uuid>), StartupError> {
    let rt = startup::open(config)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| CoreError::Unavailable(e.to_string()))?;
    // Events still waiting in the intake (PostgreSQL) are chained first: the chains read
    // here include everything committed before the command began.
    revcycle_core::store::audit_intake::settle_all(&mut conn, None)?;
    let chains = match org {
        Some(o) => vec![o],
        None => store_audit::chains(&mut conn)?,
    };
    Ok((rt, conn, chains))
}

fn chain_name(org: Uuid) -> String {
    if org == SYSTEM_ORG {
        format!("{org} (system)")
    } else {
        org.to_string()
    }
}

/// `revcycle audit purge`: each chain (or one) purged of its events older than the
/// retention cutoff, in a transaction of its own, with a progress bar and the counts printed.
pub fn purge(config: Config, org: Option<Uuid>, dry_run: bool) -> Result<(), StartupError> {
    let retention = config.audit_retention;
    let (_rt, mut conn, chains) = open_chains(config, org)?;
    // One cutoff for the whole run, so every chain is held to the same instant.
    let cutoff = retention.cutoff(chrono::Utc::now());
    let when = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    eprintln!(
        "retention {}: purging events older than {when}{}",
        retention.describe(),
        if dry_run { " (dry run)" } else { "" }
    );
    let (mut events, mut links) = (0, 0);
    for org in chains {
        let bar = progress(0, "purging");
        let record = AuditEvent::now(org, cli_actor(), "audit.purge");
        let r = store_audit::purge(&mut conn, org, cutoff, dry_run, record, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        bar.finish_and_clear();
        events += r.events;
        links += r.patient_links;
        let name = chain_name(org);
        match (r.through_sequence, dry_run) {
            (None, _) => println!("{name}: nothing older than {when} at the start of the chain"),
            (Some(s), true) => println!(
                "{name}: would purge {} events (through sequence {s}) and {} patient links",
                r.events, r.patient_links
            ),
            (Some(s), false) => println!(
                "{name}: purged {} events (through sequence {s}) and {} patient links",
                r.events, r.patient_links
            ),
        }
    }
    let verb = if dry_run { "would purge" } else { "purged" };
    println!("total: {verb} {events} events and {links} patient links older than {when}");
    Ok(())
}

fn progress(total: i64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} events ({elapsed}, {per_sec})",
        )
        .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}

pub fn export(config: Config, args: AuditExportArgs) -> Result<(), StartupError> {
    let rt = startup::open(config)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| CoreError::Unavailable(e.to_string()))?;
    let org = match args.org {
        Some(o) => o,
        None => match orgs::list(&mut conn)?.as_slice() {
            [only] => only.id,
            _ => {
                return Err(StartupError::Refused(
                    "several organizations: say which with --org".into(),
                ));
            }
        },
    };
    // The chain as it stands now: the count is exact and the bar ends at 100%.
    revcycle_core::store::audit_intake::settle(&mut conn, org)?;
    let filter = AuditFilter {
        from: args.from,
        to: args.to,
        up_to: Some(store_audit::last_sequence(&mut conn, org)?),
        ..AuditFilter::default()
    };
    let total = store_audit::count(&mut conn, org, &filter)?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(crate::files::create_private(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // Reading the trail is itself recorded, before anything is written out.
    record(&rt.pool, org, "export", "AuditEvent", None)?;
    let bar = progress(total, "exporting");
    // Opened only if a break-glass reason needs them (the system chain has no keys).
    let mut keys = None;
    let keyring = rt.keyring.clone();
    let mut key_conn = rt
        .pool
        .get()
        .map_err(|e| CoreError::Unavailable(e.to_string()))?;
    let mut x = Exporter::new(args.format, org);
    out.write_all(&x.start())?;
    let mut io_error = None;
    store_audit::for_each(&mut conn, org, &filter, 1000, |e| {
        let reason = if e.event.break_glass() {
            if keys.is_none() {
                keys = Some(keyring.keys(&mut key_conn, revcycle_core::access::OrgId(org))?);
            }
            keys.as_ref()
                .map(|k| store_audit::open_reason(k, &e.event))
                .transpose()?
                .flatten()
        } else {
            None
        };
        if let Err(err) = out.write_all(&x.event(&AuditRecord::new(e, reason))) {
            io_error = Some(err);
            return Ok(false);
        }
        bar.inc(1);
        Ok(true)
    })?;
    if let Some(e) = io_error {
        return Err(e.into());
    }
    out.write_all(&x.finish())?;
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("exported {} audit events of org {org}", x.written());
    Ok(())
}

//! `revcycle audit verify|export`, and audit events of administrative commands (server start,
//! org creation, key rotation and re-wrapping), which happen outside any request.

use std::io::Write;

use revcycle_core::audit::{AuditEvent, AuditRecord, Exporter, SYSTEM_ORG, Verification};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit::{self as store_audit, AuditFilter};
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
    let rt = startup::open(config)?;
    let mut conn = rt
        .pool
        .get()
        .map_err(|e| CoreError::Unavailable(e.to_string()))?;
    let chains = match org {
        Some(o) => vec![o],
        None => store_audit::chains(&mut conn)?,
    };
    let mut broken = 0;
    for org in chains {
        let total = store_audit::count(&mut conn, org, &AuditFilter::default())?;
        let bar = progress(total, "verifying");
        let v = store_audit::verify_chain(&mut conn, org, |n| bar.set_position(n))?;
        bar.finish_and_clear();
        let name = if org == SYSTEM_ORG {
            format!("{org} (system)")
        } else {
            org.to_string()
        };
        let report = ChainReport::of(v);
        match v {
            Verification::Intact { checked } => println!("{name}: OK, {checked} events checked"),
            Verification::Broken { sequence, .. } => {
                broken += 1;
                println!(
                    "{name}: BROKEN at sequence {sequence} after {} intact events: {}",
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

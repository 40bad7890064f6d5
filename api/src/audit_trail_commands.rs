//! `revcycle audit verify|export|purge`, and audit events of administrative commands (server start,
//! org creation, key rotation and re-wrapping), which happen outside any request.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use revcycle_core::audit::checkpoint::{NoteVerifier, origin};
use revcycle_core::audit::merkle;
use revcycle_core::audit::{AuditEvent, AuditRecord, Exporter, SYSTEM_ORG, Verification};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit::{self as store_audit, AuditFilter};
use revcycle_core::store::audit_tree::TreeCheck;
use revcycle_core::store::audit_verification::{self, TrailCheck};
use revcycle_core::store::connection::PooledConn;
use revcycle_core::store::{DbPool, orgs};
use uuid::Uuid;

use crate::audit_checkpoints::{Checkpointer, Publisher, load_key};
use crate::config::Config;
use crate::routes::audit_events::verification::ChainReport;
use crate::startup::{self, StartupError};

/// Who administrative commands are recorded as: the operating-system user running them.
pub(crate) fn cli_actor() -> String {
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
    crate::request_audit::writer::record_now(pool, e)?;
    Ok(())
}

pub fn verify(
    config: Config,
    org: Option<Uuid>,
    checkpoint_file: Option<PathBuf>,
    key: Option<String>,
) -> Result<(), StartupError> {
    let cp_config = config.audit_checkpoints.clone();
    // The checkpoint given on the command line names its org in its origin.
    let given = match &checkpoint_file {
        Some(path) => {
            let note = std::fs::read_to_string(path)?;
            let org = note
                .lines()
                .next()
                .and_then(|o| o.rsplit('/').next())
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| {
                    StartupError::Refused(format!(
                        "{}: the checkpoint's origin does not name an org",
                        path.display()
                    ))
                })?;
            Some((org, note))
        }
        None => None,
    };
    let org = org.or(given.as_ref().map(|(o, _)| *o));
    let (_rt, mut conn, mut chains) = open_chains(config, org)?;
    let publisher = Publisher::new(&cp_config.dir);
    if org.is_none() {
        // A chain deleted whole leaves no row behind, but its published checkpoints remain.
        for o in publisher.orgs()? {
            if !chains.contains(&o) {
                chains.push(o);
            }
        }
    }
    let mut verifier: Option<NoteVerifier> = None;
    let mut broken = 0;
    for org in chains {
        let name = chain_name(org);
        let note = match &given {
            Some((o, n)) if *o == org => Some(n.clone()),
            Some(_) => None,
            None => publisher.latest(org)?,
        };
        // The checkpoint the trail is held to: signed by the trusted key, for this org's log.
        let mut checkpoint = None;
        if let Some(note) = note {
            if verifier.is_none() {
                let vkey = match &key {
                    Some(k) => k.clone(),
                    None => load_key(&cp_config.key_file)?.verifier_key(),
                };
                verifier = Some(
                    NoteVerifier::parse(&vkey).map_err(|e| StartupError::Refused(e.to_string()))?,
                );
            }
            match verifier.as_ref().expect("set above").verify(&note) {
                Err(e) => {
                    broken += 1;
                    println!("{name}: CHECKPOINT REFUSED: {e}");
                }
                Ok(cp) if cp.origin != origin(&cp_config.name, org) => {
                    broken += 1;
                    println!(
                        "{name}: CHECKPOINT REFUSED: its origin {} is another log's",
                        cp.origin
                    );
                }
                Ok(cp) => checkpoint = Some(cp),
            }
        }
        let total = store_audit::count(&mut conn, org, &AuditFilter::default())?;
        let bar = progress(total, "verifying");
        let check = audit_verification::verify_trail(&mut conn, org, checkpoint.as_ref(), |n| {
            bar.set_position(n)
        })?;
        bar.finish_and_clear();
        if !check.is_intact() {
            broken += 1;
        }
        for line in describe(&check) {
            println!("{name}: {line}");
        }
    }
    if broken > 0 {
        return Err(StartupError::Refused(format!(
            "{broken} audit chain(s) failed verification"
        )));
    }
    Ok(())
}

/// One line per part of a trail's verification, for the terminal.
fn describe(check: &TrailCheck) -> Vec<String> {
    let mut lines = Vec::new();
    match check.checkpoint {
        None => {}
        Some(TreeCheck::Matches { size }) => lines.push(format!(
            "checkpoint OK, the trail's first {size} events match the signed root"
        )),
        Some(TreeCheck::Missing {
            first_missing,
            size,
        }) => lines.push(format!(
            "EVENTS MISSING: the signed checkpoint covers {size} events; the first missing is sequence {first_missing}"
        )),
        Some(TreeCheck::RootMismatch { size }) => lines.push(format!(
            "ROOT MISMATCH: the trail's first {size} events do not hash to the signed checkpoint's root: events were altered or replaced"
        )),
    }
    let report = ChainReport::of(&check.chain);
    let from = match &check.chain.anchor {
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
    lines.push(match check.chain.verification {
        Verification::Intact { checked } => format!("OK, {checked} events checked{from}"),
        Verification::Broken { sequence, .. } => format!(
            "BROKEN at sequence {sequence} after {} intact events: {}{from}",
            report.checked,
            report.reason.unwrap_or_default()
        ),
    });
    let links = &check.patient_index;
    if links.missing > 0 {
        lines.push(format!(
            "PATIENT LINKS MISSING: {} links the events call for are not in the patient index (the first at sequence {}); the accounting of disclosures reads the events and is unaffected; run `revcycle audit reindex` to restore the patient filter",
            links.missing,
            links.first_missing.unwrap_or_default()
        ));
    }
    if links.extra > 0 {
        lines.push(format!(
            "PATIENT LINKS EXTRA: {} links in the patient index name a patient their event does not (the first at sequence {}); every read ignores them",
            links.extra,
            links.first_extra.unwrap_or_default()
        ));
    }
    if links.is_intact() {
        lines.push(format!(
            "patient index OK through sequence {}",
            links.indexed_through
        ));
    }
    lines
}

/// `revcycle audit reindex`: each chain's (or one org's) patient index rebuilt from the
/// events, with a progress bar.
pub fn reindex(config: Config, org: Option<Uuid>) -> Result<(), StartupError> {
    let (_rt, mut conn, chains) = open_chains(config, org)?;
    for org in chains {
        let bar = progress(0, "reindexing");
        let done = revcycle_core::store::audit_links::reindex(&mut conn, org, |n, total| {
            bar.set_length(total);
            bar.set_position(n);
        })?;
        bar.finish_and_clear();
        println!(
            "{}: {} missing patient links restored, {} newer events linked",
            chain_name(org),
            done.restored,
            done.linked
        );
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
    // A purge is checkpointed at once: the published checkpoints then show the trail after
    // it, and proofs for the surviving events verify against them.
    let checkpointer = Checkpointer::open(&config.audit_checkpoints)?;
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
        if !dry_run && let Some(note) = checkpointer.checkpoint(&mut conn, org)? {
            println!(
                "{name}: checkpoint of {} events published",
                crate::audit_checkpoints::size_of(&note).unwrap_or(0)
            );
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

/// What `revcycle audit export` writes: which chain, which events, in which format, where.
pub struct ExportRequest {
    pub format: revcycle_core::audit::ExportFormat,
    /// Left out when there is only one organization.
    pub org: Option<Uuid>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Standard output when left out.
    pub output: Option<PathBuf>,
}

pub fn export(config: Config, args: ExportRequest) -> Result<(), StartupError> {
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

/// `revcycle audit checkpoint`: signs and publishes a checkpoint of each tree now.
pub fn checkpoint(config: Config, org: Option<Uuid>) -> Result<(), StartupError> {
    let cp = Checkpointer::open(&config.audit_checkpoints)?;
    let dir = config.audit_checkpoints.dir.clone();
    let (_rt, mut conn, chains) = open_chains(config, org)?;
    for org in chains {
        match cp.checkpoint(&mut conn, org)? {
            Some(note) => println!(
                "{}: checkpoint of {} events published in {}",
                chain_name(org),
                crate::audit_checkpoints::size_of(&note).unwrap_or(0),
                dir.join(org.to_string()).display()
            ),
            None => println!("{}: no events yet", chain_name(org)),
        }
    }
    println!("verifier key: {}", cp.signer.verifier_key());
    Ok(())
}

#[derive(serde::Deserialize)]
struct ProofFile {
    sequence: i64,
    tree_size: i64,
    event_canonical: String,
    proof: Vec<String>,
    checkpoint: Option<String>,
}

/// `revcycle audit verify-proof`: everything from files and the key, nothing from a database.
pub fn verify_proof(
    proof: &Path,
    checkpoint: Option<&Path>,
    key: &str,
) -> Result<(), StartupError> {
    let refused = |why: String| StartupError::Refused(why);
    let p: ProofFile = serde_json::from_str(&std::fs::read_to_string(proof)?)
        .map_err(|e| refused(format!("{}: not a proof: {e}", proof.display())))?;
    let note = match checkpoint {
        Some(path) => std::fs::read_to_string(path)?,
        None => p
            .checkpoint
            .clone()
            .ok_or_else(|| refused("the proof carries no checkpoint: give --checkpoint".into()))?,
    };
    let verifier = NoteVerifier::parse(key).map_err(|e| refused(e.to_string()))?;
    let cp = verifier
        .verify(&note)
        .map_err(|e| refused(format!("checkpoint: {e}")))?;
    if cp.size != p.tree_size as u64 {
        return Err(refused(format!(
            "the proof is for a tree of {} events, the checkpoint for {}",
            p.tree_size, cp.size
        )));
    }
    let hash = |s: &str| -> Result<merkle::Hash, StartupError> {
        STANDARD
            .decode(s)
            .ok()
            .and_then(|b| <merkle::Hash>::try_from(b.as_slice()).ok())
            .ok_or_else(|| refused("a proof hash is not base64 of 32 bytes".into()))
    };
    let canonical = STANDARD
        .decode(&p.event_canonical)
        .map_err(|_| refused("the event is not base64".into()))?;
    let path = p
        .proof
        .iter()
        .map(|h| hash(h))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = merkle::leaf_hash(&canonical);
    if p.sequence < 1
        || !merkle::verify_inclusion(&leaf, (p.sequence - 1) as u64, cp.size, &path, &cp.root)
    {
        return Err(refused(format!(
            "the proof does not show event {} in the signed tree of {} events",
            p.sequence, cp.size
        )));
    }
    println!(
        "OK: event {} is leaf {} of the tree of {} events signed in {} (leaf hash {})",
        p.sequence,
        p.sequence - 1,
        cp.size,
        cp.origin,
        hex::encode(leaf)
    );
    Ok(())
}

//! `revcycle events tail`: an organization's events as they commit, one JSON line each (the
//! thin envelope webhooks get), read from the outbox in the database. Ctrl-C ends it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use revcycle_core::access::OrgId;
use revcycle_core::error::CoreError;
use revcycle_core::model::common::now;
use revcycle_core::store::{DbConnection, events, orgs};

use crate::config::Config;
use crate::startup::{self, StartupError};

/// How often the outbox is read.
const POLL: Duration = Duration::from_millis(500);
/// Events read per query while catching up.
const PAGE: i64 = 500;
/// How far back each read also looks for events that committed after later ones (on
/// PostgreSQL a `seq` is taken before its transaction commits): a transaction that commits
/// more than this long after its change would be missed.
const LATE_COMMIT_WINDOW: chrono::Duration = chrono::Duration::seconds(60);

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Ctrl-C (and a plain `kill`) end the loop between reads instead of the process.
fn stop_on_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

fn unavailable(e: impl std::fmt::Display) -> StartupError {
    CoreError::Unavailable(e.to_string()).into()
}

/// The organization an operator named: its id, or its name (exact, any case).
fn resolve_org(conn: &mut DbConnection, given: &str) -> Result<OrgId, StartupError> {
    if let Ok(id) = given.trim().parse::<uuid::Uuid>() {
        return match orgs::find(conn, id)? {
            Some(o) => Ok(OrgId(o.id)),
            None => Err(StartupError::Refused(format!("no organization {id}"))),
        };
    }
    let named: Vec<orgs::Org> = orgs::list(conn)?
        .into_iter()
        .filter(|o| o.name.trim().eq_ignore_ascii_case(given.trim()))
        .collect();
    match named.as_slice() {
        [one] => Ok(OrgId(one.id)),
        [] => Err(StartupError::Refused(format!(
            "no organization named {given:?} (see `revcycle org list`)"
        ))),
        _ => Err(StartupError::Refused(format!(
            "{} organizations are named {given:?}: give the id (see `revcycle org list`)",
            named.len()
        ))),
    }
}

/// Where a follower of one org's outbox is: the newest `seq` read, and the recent events
/// already printed (to print an event that commits late once, and only once).
struct Follower {
    org: OrgId,
    since: NaiveDateTime,
    last_seq: i64,
    seen: BTreeMap<i64, NaiveDateTime>,
}

impl Follower {
    /// From `since`, or (without it) from now: what already committed is not printed.
    fn start(
        conn: &mut DbConnection,
        org: OrgId,
        since: Option<NaiveDateTime>,
    ) -> Result<Follower, CoreError> {
        match since {
            Some(since) => Ok(Follower {
                org,
                since,
                last_seq: 0,
                seen: BTreeMap::new(),
            }),
            None => {
                let at = now();
                let last_seq = events::last_seq(conn, org)?;
                let seen = events::recent_up_to(conn, org, last_seq, at - LATE_COMMIT_WINDOW)?
                    .into_iter()
                    .map(|e| (e.seq, e.occurred_at))
                    .collect();
                Ok(Follower {
                    org,
                    since: at - LATE_COMMIT_WINDOW,
                    last_seq,
                    seen,
                })
            }
        }
    }

    /// The envelopes of the events committed since the last read, oldest first.
    fn read(&mut self, conn: &mut DbConnection) -> Result<Vec<String>, CoreError> {
        let mut out = Vec::new();
        loop {
            let page = events::follow(conn, self.org, self.last_seq, self.since, PAGE)?;
            let full = page.len() as i64 >= PAGE;
            for e in page {
                self.last_seq = self.last_seq.max(e.seq);
                if self.seen.insert(e.seq, e.occurred_at).is_none() {
                    out.push(e.payload);
                }
            }
            if !full {
                break;
            }
        }
        let recent_from = (now() - LATE_COMMIT_WINDOW).max(self.since);
        for e in events::recent_up_to(conn, self.org, self.last_seq, recent_from)? {
            if self.seen.insert(e.seq, e.occurred_at).is_none() {
                out.push(e.payload);
            }
        }
        self.seen.retain(|_, at| *at >= recent_from);
        Ok(out)
    }
}

pub fn tail(
    config: Config,
    org: &str,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), StartupError> {
    let rt = startup::open(config)?;
    let mut conn = rt.pool.get().map_err(unavailable)?;
    let org = resolve_org(&mut conn, org)?;
    crate::audit_trail_commands::record(
        &rt.pool,
        org.0,
        "events.tail",
        "Organization",
        Some(org.0.to_string()),
    )?;
    stop_on_signals();
    let mut follower = Follower::start(&mut conn, org, since.map(|t| t.naive_utc()))?;
    drop(conn);
    // On standard error, so the standard output holds events alone.
    eprintln!(
        "revcycle: following the events of organization {} (Ctrl-C ends)",
        org.0
    );
    while !STOP.load(Ordering::SeqCst) {
        // A connection per read, so one the database dropped is replaced by the pool.
        let read = rt
            .pool
            .get()
            .map_err(|e| CoreError::Unavailable(e.to_string()))
            .and_then(|mut c| follower.read(&mut c));
        match read {
            Ok(lines) => {
                for line in lines {
                    println!("{line}");
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the outbox failed; retrying"),
        }
        let mut slept = Duration::ZERO;
        while slept < POLL && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            slept += Duration::from_millis(50);
        }
    }
    Ok(())
}

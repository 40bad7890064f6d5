//! The process's audit writer: the request events of all workers committed together (group
//! commit), the tally of refused requests that name no organization, and events recorded from
//! outside a request.

use std::sync::Arc;

use revcycle_core::audit::{AuditEvent, Outcome, SYSTEM_ORG};
use revcycle_core::error::CoreError;
use revcycle_core::store::audit_writer::GroupCommitWriter;
use revcycle_core::store::{self, DbPool};

use crate::problem::ApiError;

fn audit_unavailable() -> ApiError {
    ApiError::Core(CoreError::Unavailable(
        "the audit trail could not record this request; nothing was disclosed".into(),
    ))
}

/// Most (source, status) pairs counted in one window; past it, further sources are counted
/// together under no address, so a flood from many addresses cannot grow memory.
const TALLY_MAX: usize = 50_000;

/// Refused requests that name no organization (no token, or one that did not verify or names
/// no active organization), counted per source address, status and window instead of one
/// event each: such a flood must not fill six years of storage. Each count becomes one event
/// of the system chain when its window ends.
struct RefusalTally {
    window_secs: i64,
    counts: std::sync::Mutex<std::collections::HashMap<TallyKey, Tallied>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TallyKey {
    window_start: i64,
    source_ip: Option<String>,
    status: u16,
}

struct Tallied {
    count: u64,
    user_agent: Option<String>,
}

impl RefusalTally {
    fn add(&self, source_ip: Option<String>, status: u16, user_agent: Option<String>) {
        let now = chrono::Utc::now().timestamp();
        let mut key = TallyKey {
            window_start: now - now.rem_euclid(self.window_secs),
            source_ip,
            status,
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= TALLY_MAX && !counts.contains_key(&key) {
            key.source_ip = None;
        }
        let t = counts.entry(key).or_insert(Tallied {
            count: 0,
            user_agent: None,
        });
        t.count += 1;
        t.user_agent = user_agent;
    }

    /// The events of every window that has ended (every window, when `all`), taken out.
    fn take_ended(&self, all: bool) -> Vec<AuditEvent> {
        let now = chrono::Utc::now().timestamp();
        let current = now - now.rem_euclid(self.window_secs);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let ended: Vec<TallyKey> = counts
            .keys()
            .filter(|k| all || k.window_start < current)
            .cloned()
            .collect();
        let mut events = Vec::with_capacity(ended.len());
        for key in ended {
            let Some(t) = counts.remove(&key) else {
                continue;
            };
            let mut e = AuditEvent::now(SYSTEM_ORG, "-", REFUSALS_ACTION);
            e.resource_type = Some("Request".into());
            e.resource_id = Some(t.count.to_string());
            e.outcome = outcome_of(key.status);
            e.http_status = key.status;
            e.source_ip = key.source_ip;
            e.user_agent = t.user_agent;
            events.push(e);
        }
        events
    }

    /// Counts again the refusals of `events` that could not be written, to be retried with
    /// the next window.
    fn restore(&self, events: Vec<AuditEvent>) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for e in events {
            let count: u64 = e
                .resource_id
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let key = TallyKey {
                window_start: 0,
                source_ip: e.source_ip,
                status: e.http_status,
            };
            counts
                .entry(key)
                .or_insert(Tallied {
                    count: 0,
                    user_agent: None,
                })
                .count += count;
        }
    }
}

/// Writes the counts of ended windows (every window, when `all`) through `writer`; on failure
/// they are counted again, to be retried.
fn flush_refusals(writer: &GroupCommitWriter, refusals: &Arc<RefusalTally>, all: bool) {
    let events = refusals.take_ended(all);
    if events.is_empty() {
        return;
    }
    let retry = events.clone();
    if let Err(e) = writer.write_blocking(events, std::time::Duration::from_secs(30)) {
        tracing::warn!(error = %e, "refused requests could not be recorded; retrying");
        refusals.restore(retry);
    }
}

/// The action of a system-chain event that counts refused requests: `resource_id` holds how
/// many came from `source_ip` with `http_status` in one window.
pub const REFUSALS_ACTION: &str = "requests.refused";

/// The process's audit writer: the group-commit writer of the audit store, and the tally of
/// refusals it writes once a second.
pub struct AuditWriter {
    writer: Option<Arc<GroupCommitWriter>>,
    refusals: Arc<RefusalTally>,
}

impl AuditWriter {
    /// Starts the group-commit writer on a connection of its own, and the thread that writes
    /// the counts of refusals naming no organization once each `refusal_window` ends.
    pub fn start(
        database_url: &str,
        refusal_window: std::time::Duration,
        writers: Option<usize>,
    ) -> Result<Arc<AuditWriter>, CoreError> {
        let writer = Arc::new(GroupCommitWriter::start(database_url, writers)?);
        let refusals = Arc::new(RefusalTally {
            window_secs: refusal_window.as_secs().max(1) as i64,
            counts: Default::default(),
        });
        let (w, tally) = (Arc::downgrade(&writer), refusals.clone());
        std::thread::Builder::new()
            .name("audit-refusals".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    // Ends with the server's writer.
                    let Some(writer) = w.upgrade() else { return };
                    flush_refusals(&writer, &tally, false);
                }
            })
            .map_err(|e| CoreError::Unavailable(format!("audit refusal thread: {e}")))?;
        Ok(Arc::new(AuditWriter {
            writer: Some(writer),
            refusals,
        }))
    }

    /// Records nothing: only for measuring what auditing costs, in builds with the
    /// `unaudited-benchmark` feature.
    pub fn disabled() -> Arc<AuditWriter> {
        Arc::new(AuditWriter {
            writer: None,
            refusals: Arc::new(RefusalTally {
                window_secs: 60,
                counts: Default::default(),
            }),
        })
    }

    pub fn enabled(&self) -> bool {
        self.writer.is_some()
    }

    /// Records `events` durably; returns once they are committed.
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<(), ApiError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let (done, wait) = tokio::sync::oneshot::channel();
        writer
            .submit(
                events,
                Box::new(move |r| {
                    let _ = done.send(r);
                }),
            )
            .map_err(|_| audit_unavailable())?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => {
                tracing::error!(error = %why, "audit write failed; request refused");
                Err(audit_unavailable())
            }
            Err(_) => Err(audit_unavailable()),
        }
    }
}

impl AuditWriter {
    /// Counts a refused request that names no organization (see [`RefusalTally`]).
    pub fn count_refusal(
        &self,
        source_ip: Option<String>,
        status: u16,
        user_agent: Option<String>,
    ) {
        self.refusals.add(source_ip, status, user_agent);
    }
}

impl Drop for AuditWriter {
    /// A server stopping writes the counts of the windows still open.
    fn drop(&mut self) {
        if let Some(writer) = &self.writer {
            flush_refusals(writer, &self.refusals, true);
        }
    }
}

/// The outcome an HTTP status records.
pub fn outcome_of(status: u16) -> Outcome {
    match status {
        200..=399 => Outcome::Success,
        401 | 403 => Outcome::Denied,
        _ => Outcome::Failed,
    }
}

/// Records an event from outside a request (server start, CLI commands), synchronously.
pub fn record_now(pool: &DbPool, event: AuditEvent) -> Result<(), CoreError> {
    let mut conn = pool
        .get()
        .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))?;
    store::write_transaction(&mut conn, |c| store::audit::append(c, vec![event])).map(|_| ())
}

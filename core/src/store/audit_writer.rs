//! The process's group-commit audit writer: one thread takes the events of every concurrent
//! request (reads, searches, refusals: whatever is not recorded in a write's own transaction),
//! commits them together, then answers each request. True group commit: an idle writer commits
//! at once, and the events that arrive while a commit is in flight form the next batch.
//!
//! It runs on connections of its own: behind the request pool's queue, every waiting read
//! would also wait for a connection for its event. Between batches, once a second, it links
//! committed events to their patients (see [`super::audit::index_patients`]), and on SQLite
//! grows each org's Merkle tree behind the commits (see [`super::audit_tree::follow_all`]); on
//! PostgreSQL a thread of its own grows the trees, so no commit waits for it.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::{DbConnection, DbPool, Engine, audit, audit_intake, build_pool};
use crate::audit::AuditEvent;
use crate::error::{CoreError, CoreResult};

/// Most events one group commit writes.
const MAX_BATCH: usize = 512;
/// Writer threads (and connections) on PostgreSQL unless configured.
const PG_WRITERS: usize = 1;
/// How often the writer links committed events to their patients, and for how long at most
/// (it goes on from there next time); the tree follower's pace is the same.
const INDEX_EVERY: Duration = Duration::from_secs(1);
const INDEX_PASS: Duration = Duration::from_millis(100);

/// Called once with the outcome of a submission: `Err` holds why it could not be written.
pub type Done = Box<dyn FnOnce(Result<(), String>) + Send>;

struct Job {
    events: Vec<AuditEvent>,
    done: Done,
}

/// A handle on the writer thread; the thread ends when every handle is gone.
pub struct GroupCommitWriter {
    jobs: mpsc::Sender<Job>,
    /// The tree follower runs while this lives.
    _alive: Arc<()>,
}

impl GroupCommitWriter {
    /// Starts the writer on connections of its own to `database_url`: one thread on SQLite
    /// (it has one writer at a time anyway); on PostgreSQL `writers` threads (default
    /// [`PG_WRITERS`]) commit batches side by side. Measured on 2 cores, four writers made
    /// smaller batches and cost more CPU than they saved (audited reads 30.0% of unaudited
    /// against 38.9% with one), so one is the default.
    /// `writers` overrides the thread count on PostgreSQL (SQLite always has one).
    pub fn start(database_url: &str, writers: Option<usize>) -> CoreResult<GroupCommitWriter> {
        let engine = Engine::of_url(database_url);
        let writers = match engine {
            Engine::Postgres => writers.unwrap_or(PG_WRITERS).clamp(1, 16),
            Engine::Sqlite => 1,
        };
        let pool = build_pool(database_url, writers as u32)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..writers {
            let (pool, rx) = (pool.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("audit-writer-{n}"))
                // The first thread also links committed events to their patients.
                .spawn(move || run(pool, &rx, n == 0, n == 0 && engine == Engine::Sqlite))
                .map_err(|e| CoreError::Unavailable(format!("audit writer thread: {e}")))?;
        }
        // The trees: on SQLite, between the writer's batches (it has the database's one write
        // lock; a thread of its own made every commit wait behind the follower's, and cost
        // audited reads 6-8% against 5-6%); on PostgreSQL, on a thread of its own, so no commit
        // waits for it (between batches it stretched p99 of reads at 64 connections threefold).
        let alive = Arc::new(());
        if engine == Engine::Postgres {
            let trees = build_pool(database_url, 1)?;
            let watch = Arc::downgrade(&alive);
            std::thread::Builder::new()
                .name("audit-trees".into())
                .spawn(move || {
                    while watch.upgrade().is_some() {
                        std::thread::sleep(INDEX_EVERY);
                        grow_trees(&trees);
                    }
                })
                .map_err(|e| CoreError::Unavailable(format!("audit tree thread: {e}")))?;
        }
        Ok(GroupCommitWriter {
            jobs: tx,
            _alive: alive,
        })
    }

    /// Queues `events` for the next group commit; `done` is called once they are committed
    /// (or could not be). Fails only when the writer thread is gone.
    pub fn submit(&self, events: Vec<AuditEvent>, done: Done) -> CoreResult<()> {
        self.jobs
            .send(Job { events, done })
            .map_err(|_| CoreError::Unavailable("the audit writer has stopped".into()))
    }

    /// Submits `events` and waits up to `timeout` for their commit.
    pub fn write_blocking(&self, events: Vec<AuditEvent>, timeout: Duration) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        self.submit(
            events,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .map_err(|e| e.to_string())?;
        rx.recv_timeout(timeout)
            .map_err(|_| "the audit writer did not answer in time".to_string())?
    }
}

fn run(pool: DbPool, rx: &Mutex<mpsc::Receiver<Job>>, links: bool, trees: bool) {
    let mut indexed_at = Instant::now();
    loop {
        // One thread gathers a batch at a time; it commits after letting the next gather.
        let batch = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            match rx.recv_timeout(INDEX_EVERY) {
                Ok(first) => Some(gather(&rx, first)),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(jobs) = batch {
            commit(&pool, jobs);
        }
        if links && indexed_at.elapsed() >= INDEX_EVERY {
            link_patients(&pool);
            if trees {
                grow_trees(&pool);
            }
            indexed_at = Instant::now();
        }
    }
}

/// `first` and the jobs queued behind it, up to [`MAX_BATCH`] events.
fn gather(rx: &mpsc::Receiver<Job>, first: Job) -> Vec<Job> {
    let mut jobs: Vec<Job> = vec![first];
    let mut count = jobs[0].events.len();
    while count < MAX_BATCH {
        let Ok(job) = rx.try_recv() else { break };
        count += job.events.len();
        jobs.push(job);
    }
    jobs
}

/// Commits `jobs` as one batch and answers them.
fn commit(pool: &DbPool, jobs: Vec<Job>) {
    let count: usize = jobs.iter().map(|j| j.events.len()).sum();
    let started = Instant::now();
    // Kept per job: if the batch fails, each job is retried alone, so one request's event
    // that cannot be written fails that request only, never its neighbours in the batch.
    let events: Vec<AuditEvent> = jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
    let result = write(pool, events);
    tracing::debug!(
        events = count,
        micros = started.elapsed().as_micros() as u64,
        ok = result.is_ok(),
        "audit batch committed"
    );
    if result.is_ok() || jobs.len() == 1 {
        for job in jobs {
            (job.done)(result.clone());
        }
        return;
    }
    // The failed transaction wrote nothing.
    for job in jobs {
        let r = write(pool, job.events);
        (job.done)(r);
    }
}

/// Commits `events` in one transaction on the writer's connection.
fn write(pool: &DbPool, events: Vec<AuditEvent>) -> Result<(), String> {
    pool.get()
        .map_err(|e| format!("database pool: {e}"))
        .and_then(|mut conn| {
            // SQLite in WAL mode syncs at checkpoints only under NORMAL: the trail syncs
            // every commit, so an event that released a response survives a power loss.
            if let DbConnection::Sqlite(c) = &mut *conn {
                use diesel::connection::SimpleConnection;
                c.batch_execute("PRAGMA synchronous = FULL")
                    .map_err(|e| e.to_string())?;
            }
            audit_intake::record(&mut conn, events).map_err(|e| e.to_string())
        })
}

/// Links the events committed since the last pass (by this writer, by writes' own
/// transactions, by other processes) to their patients, for a bounded time: the requests
/// queueing events meanwhile wait for it. Until a failed pass is retried, the patient filter
/// matches the unlinked events by their own patient lists.
fn link_patients(pool: &DbPool) {
    background_pass(pool, "linked to their patients", audit::index_patients_for);
}

/// Grows each org's Merkle tree by the events committed since the last pass, for a bounded
/// time. Checkpoints and proofs catch the tree up themselves before they read it.
fn grow_trees(pool: &DbPool) {
    background_pass(
        pool,
        "added to their Merkle trees",
        super::audit_tree::follow_all,
    );
}

/// One pass of derived-data upkeep on a pooled connection, for at most [`INDEX_PASS`]: logs
/// how many events it handled, or why it failed (the next pass tries again).
fn background_pass(
    pool: &DbPool,
    what: &str,
    pass: impl FnOnce(&mut DbConnection, Duration) -> CoreResult<usize>,
) {
    let started = Instant::now();
    let result = pool
        .get()
        .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))
        .and_then(|mut conn| pass(&mut conn, INDEX_PASS));
    match result {
        Ok(0) => {}
        Ok(n) => tracing::debug!(
            events = n,
            micros = started.elapsed().as_micros() as u64,
            "audit events {what}"
        ),
        Err(e) => tracing::warn!(error = %e, "audit events could not be {what}"),
    }
}

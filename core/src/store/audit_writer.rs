//! The process's group-commit audit writer: one thread takes the events of every concurrent
//! request (reads, searches, refusals: whatever is not recorded in a write's own transaction),
//! commits them together, then answers each request. True group commit: an idle writer commits
//! at once, and the events that arrive while a commit is in flight form the next batch.
//!
//! It runs on connections of its own: behind the request pool's queue, every waiting read
//! would also wait for a connection for its event. Between batches, once a second, it links
//! committed events to their patients (see [`super::audit::index_patients`]). A thread of
//! its own grows each org's Merkle tree (see [`super::audit_tree`]): on PostgreSQL in its own
//! transactions; on SQLite it reads and hashes events off the write lock and hands the leaves
//! to this writer, which inserts them between batches.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::{DbConnection, DbPool, Engine, audit, audit_intake, audit_tree, build_pool};
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
/// How long a tree pass goes on at most on SQLite, where the writer pays only the inserts.
const TREE_PASS_SQLITE: Duration = Duration::from_millis(500);

/// Called once with the outcome of a submission: `Err` holds why it could not be written.
pub type Done = Box<dyn FnOnce(Result<(), String>) + Send>;

enum Job {
    Events {
        events: Vec<AuditEvent>,
        done: Done,
    },
    /// Tree leaves prepared off the write lock (SQLite), written between batches.
    Tree {
        growth: audit_tree::Growth,
        done: mpsc::Sender<CoreResult<bool>>,
    },
}

impl Job {
    fn events(&self) -> usize {
        match self {
            Job::Events { events, .. } => events.len(),
            Job::Tree { .. } => 0,
        }
    }
}

/// A handle on the writer thread; the thread ends when every handle is gone (the tree
/// follower holds the queue only weakly, and stops then too).
pub struct GroupCommitWriter {
    jobs: Arc<mpsc::Sender<Job>>,
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
                .spawn(move || run(pool, &rx, n == 0))
                .map_err(|e| CoreError::Unavailable(format!("audit writer thread: {e}")))?;
        }
        // The trees grow on a thread of their own, so no commit waits for a whole pass (run
        // between PostgreSQL's batches it stretched p99 of reads at 64 connections threefold).
        // On SQLite the thread only reads and hashes: the writer holds the database's one
        // write lock and inserts the leaves between batches (a thread writing them itself
        // made every commit wait behind it).
        let jobs = Arc::new(tx);
        let queue = Arc::downgrade(&jobs);
        let trees = build_pool(database_url, 1)?;
        std::thread::Builder::new()
            .name("audit-trees".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(INDEX_EVERY);
                    let Some(queue) = queue.upgrade() else { return };
                    match engine {
                        Engine::Postgres => grow_trees(&trees),
                        Engine::Sqlite => grow_trees_through(&trees, &queue),
                    }
                }
            })
            .map_err(|e| CoreError::Unavailable(format!("audit tree thread: {e}")))?;
        Ok(GroupCommitWriter { jobs })
    }

    /// Queues `events` for the next group commit; `done` is called once they are committed
    /// (or could not be). Fails only when the writer thread is gone.
    pub fn submit(&self, events: Vec<AuditEvent>, done: Done) -> CoreResult<()> {
        self.jobs
            .send(Job::Events { events, done })
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

fn run(pool: DbPool, rx: &Mutex<mpsc::Receiver<Job>>, links: bool) {
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
            let (events, trees): (Vec<Job>, Vec<Job>) = jobs
                .into_iter()
                .partition(|j| matches!(j, Job::Events { .. }));
            if !events.is_empty() {
                commit(&pool, events);
            }
            for job in trees {
                if let Job::Tree { growth, done } = job {
                    let _ = done.send(write_tree(&pool, &growth));
                }
            }
        }
        if links && indexed_at.elapsed() >= INDEX_EVERY {
            link_patients(&pool);
            indexed_at = Instant::now();
        }
    }
}

/// `first` and the jobs queued behind it, up to [`MAX_BATCH`] events.
fn gather(rx: &mpsc::Receiver<Job>, first: Job) -> Vec<Job> {
    let mut jobs: Vec<Job> = vec![first];
    let mut count = jobs[0].events();
    while count < MAX_BATCH {
        let Ok(job) = rx.try_recv() else { break };
        count += job.events();
        jobs.push(job);
    }
    jobs
}

/// Commits `jobs` as one batch and answers them.
fn commit(pool: &DbPool, jobs: Vec<Job>) {
    let jobs: Vec<(Vec<AuditEvent>, Done)> = jobs
        .into_iter()
        .filter_map(|j| match j {
            Job::Events { events, done } => Some((events, done)),
            Job::Tree { .. } => None,
        })
        .collect();
    let count: usize = jobs.iter().map(|j| j.0.len()).sum();
    let started = Instant::now();
    // Kept per job: if the batch fails, each job is retried alone, so one request's event
    // that cannot be written fails that request only, never its neighbours in the batch.
    let events: Vec<AuditEvent> = jobs.iter().flat_map(|j| j.0.iter().cloned()).collect();
    let result = write(pool, events);
    tracing::debug!(
        events = count,
        micros = started.elapsed().as_micros() as u64,
        ok = result.is_ok(),
        "audit batch committed"
    );
    if result.is_ok() || jobs.len() == 1 {
        for (_, done) in jobs {
            done(result.clone());
        }
        return;
    }
    // The failed transaction wrote nothing.
    for (events, done) in jobs {
        done(write(pool, events));
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
    background_pass(
        pool,
        INDEX_PASS,
        "linked to their patients",
        audit::index_patients_for,
    );
}

/// Grows each org's Merkle tree by the events committed since the last pass, for a bounded
/// time. Checkpoints and proofs catch the tree up themselves before they read it.
fn grow_trees(pool: &DbPool) {
    background_pass(
        pool,
        INDEX_PASS,
        "added to their Merkle trees",
        audit_tree::follow_all,
    );
}

/// [`grow_trees`] for SQLite: events are read and hashed here, and each batch of leaves is
/// written by the writer thread behind `queue`, between its group commits.
fn grow_trees_through(pool: &DbPool, queue: &mpsc::Sender<Job>) {
    background_pass(
        pool,
        TREE_PASS_SQLITE,
        "added to their Merkle trees",
        |conn, budget| {
            audit_tree::follow_all_through(conn, budget, |growth| {
                let (done, answer) = mpsc::channel();
                queue
                    .send(Job::Tree { growth, done })
                    .map_err(|_| CoreError::Unavailable("the audit writer has stopped".into()))?;
                answer
                    .recv()
                    .map_err(|_| CoreError::Unavailable("the audit writer has stopped".into()))?
            })
        },
    );
}

/// Writes tree leaves prepared off the lock, in a transaction of their own.
fn write_tree(pool: &DbPool, growth: &audit_tree::Growth) -> CoreResult<bool> {
    let started = Instant::now();
    let mut conn = pool
        .get()
        .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))?;
    let written = super::write_transaction(&mut conn, |c| audit_tree::apply(c, growth))?;
    tracing::debug!(
        events = growth.len(),
        micros = started.elapsed().as_micros() as u64,
        written,
        "audit tree leaves written"
    );
    Ok(written)
}

/// One pass of derived-data upkeep on a pooled connection, for at most `budget`: logs
/// how many events it handled, or why it failed (the next pass tries again).
fn background_pass(
    pool: &DbPool,
    budget: Duration,
    what: &str,
    pass: impl FnOnce(&mut DbConnection, Duration) -> CoreResult<usize>,
) {
    let started = Instant::now();
    let result = pool
        .get()
        .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))
        .and_then(|mut conn| pass(&mut conn, budget));
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

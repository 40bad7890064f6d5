//! Turn-taking for SQLite's one write lock among the threads of this process.
//!
//! SQLite lets one connection write at a time; a connection that finds the lock taken calls
//! its busy handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between tries. Under 16
//! concurrent writers a transaction could sleep tens of milliseconds after the lock was
//! already free, and those sleeps were the tail of patient creates (p99 80-104 ms against a
//! median of a few ms). Waiting here instead, the next writer is woken the moment the previous
//! one commits. Writers in other processes (the CLI, a second server) still meet SQLite's busy
//! timeout, and so does a writer that waited here longer than [`MAX_WAIT`].

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for a turn; past it the writer goes on to SQLite's own busy handling, so a
/// writer that holds its turn and waits for another (which would deadlock here) fails as it
/// did before, with "database is locked".
pub const MAX_WAIT: Duration = Duration::from_secs(10);

struct Gate {
    taken: Mutex<bool>,
    freed: Condvar,
}

static GATE: Gate = Gate {
    taken: Mutex::new(false),
    freed: Condvar::new(),
};

/// A writer's turn; the next waiting writer is woken when it is dropped.
#[must_use]
pub struct Turn {
    held: bool,
}

/// Waits until no other writer of this process holds a turn (at most [`MAX_WAIT`]).
pub fn take_turn() -> Turn {
    let deadline = Instant::now() + MAX_WAIT;
    let mut taken = GATE.taken.lock().unwrap_or_else(|p| p.into_inner());
    while *taken {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Turn { held: false };
        }
        taken = GATE
            .freed
            .wait_timeout(taken, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    *taken = true;
    Turn { held: true }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.held {
            *GATE.taken.lock().unwrap_or_else(|p| p.into_inner()) = false;
            GATE.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_writer_at_a_time_and_the_next_goes_when_it_ends() {
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _turn = take_turn();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        // Every turn was given back: the next one is free at once.
        let started = Instant::now();
        drop(take_turn());
        assert!(started.elapsed() < MAX_WAIT);
    }
}

//! When a failed delivery is tried again: exponential backoff with jitter, for at least the
//! retry window (three days by default), then the delivery fails for good.

use std::time::Duration;

/// Growth of the delay from one attempt to the next.
pub const BACKOFF_FACTOR: u32 = 4;
/// Longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(12 * 3600);
/// Default wait after the first failure.
pub const DEFAULT_BASE: Duration = Duration::from_secs(5);
/// Default time a delivery is retried for (measured from its first attempt).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: DEFAULT_BASE,
            window: DEFAULT_WINDOW,
        }
    }
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// After failed attempt number `attempt` (1 for the first), `elapsed` after the first
    /// attempt: the wait before the next one, or give up once the window has passed.
    /// `jitter` in [0, 1) spreads retries of many deliveries (±20%).
    pub fn after_failure(&self, attempt: i32, elapsed: Duration, jitter: f64) -> AfterFailure {
        if elapsed >= self.window {
            return AfterFailure::GiveUp;
        }
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let delay = self
            .base
            .saturating_mul(BACKOFF_FACTOR.saturating_pow(exp))
            .min(MAX_DELAY);
        let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
        AfterFailure::RetryIn(delay.mul_f64(spread).max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_retries_last_the_window() {
        let p = RetryPolicy::default();
        let at = |n, jitter| match p.after_failure(n, Duration::ZERO, jitter) {
            AfterFailure::RetryIn(d) => d,
            AfterFailure::GiveUp => panic!("gave up"),
        };
        assert_eq!(at(1, 0.5), Duration::from_secs(5));
        assert_eq!(at(2, 0.5), Duration::from_secs(20));
        assert_eq!(at(3, 0.5), Duration::from_secs(80));
        assert_eq!(at(30, 0.5), MAX_DELAY);
        assert_eq!(at(1, 0.0), Duration::from_secs(4));
        let high = at(1, 0.999);
        assert!(high > Duration::from_millis(5990) && high < Duration::from_secs(6));
        // Retried until three days have passed since the first attempt, never fewer.
        let mut elapsed = Duration::ZERO;
        let mut n = 1;
        while let AfterFailure::RetryIn(d) = p.after_failure(n, elapsed, 0.0) {
            elapsed += d;
            n += 1;
        }
        assert!(elapsed >= DEFAULT_WINDOW, "{elapsed:?}");
        assert!(n < 20, "{n} attempts");
    }
}

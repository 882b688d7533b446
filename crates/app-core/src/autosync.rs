//! When to try the next automatic sync: soon after a success or when work is
//! pending, backing off exponentially (with a cap) while the server is
//! unreachable. Pure policy; the shell owns the timer.

use std::time::Duration;

/// Backoff state of the automatic sync loop.
#[derive(Debug, Clone)]
pub struct AutoSync {
    /// Delay after a success (polls for coordinator comments).
    pub idle: Duration,
    /// First delay after a failure; doubles each failure.
    pub first_retry: Duration,
    /// Upper bound of the delay after failures.
    pub max_retry: Duration,
    failures: u32,
}

impl Default for AutoSync {
    fn default() -> Self {
        AutoSync {
            idle: Duration::from_secs(120),
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(600),
            failures: 0,
        }
    }
}

impl AutoSync {
    /// Record the outcome of an attempt and return how long to wait before the next.
    pub fn next_delay(&mut self, success: bool) -> Duration {
        if success {
            self.failures = 0;
            return self.idle;
        }
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32 << (self.failures - 1).min(16);
        self.first_retry.saturating_mul(factor).min(self.max_retry)
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Forget failures (the network came back, or the user pressed Sync).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

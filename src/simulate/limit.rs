//! The per-subscription-key rate limit of the simulator's NxtPort surface: "no more than N calls
//! per window", a [`SlidingWindowLog`] per key (the mechanism of the NxtPort client's budget too).
//!
//! Its time is the caller's world clock (the simulator's clock parameter: real time plus the
//! advances, or frozen), passed in by the edge. A test with a frozen clock fills the window and
//! advances the world's clock (`POST /simulator/v1/clock/advance`) instead of sleeping.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;

use crate::sliding_window::SlidingWindowLog;

/// One log per subscription key; each key keeps at most `limit` instants.
#[derive(Debug)]
pub struct KeyLimiter {
    limit: usize,
    window: Duration,
    keys: DashMap<String, SlidingWindowLog<DateTime<Utc>>>,
}

impl KeyLimiter {
    /// `limit` calls per `window` for each key.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            keys: DashMap::new(),
        }
    }

    /// Count a call of `key` at `now` (its world's clock); `Err(wait)` when the key already made
    /// `limit` calls in the window before `now`.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        self.keys
            .entry(key.to_owned())
            .or_insert_with(|| SlidingWindowLog::new(self.window, self.limit.min(10_000)))
            .try_take(now, self.limit)
    }
}

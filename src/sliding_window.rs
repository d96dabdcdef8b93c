//! The sliding-window log: the one mechanism behind both "no more than N calls in any window"
//! rules of this project, the NxtPort budget of the client (`crate::nxtport::limiter`) and the
//! per-key rate limit of the simulator's HTTP face (`crate::simulate`).
//!
//! It keeps the instants of the last grants and grants again only while fewer than `limit` of
//! them are younger than the window: that is the rule itself, so no window of that length ever
//! holds more than `limit` grants (a token bucket or GCRA with a burst of N lets up to 2N through
//! in the first window). The log holds at most `limit` instants.
//!
//! Time is a parameter: each caller passes `now` from its own clock (tokio's pausable clock for
//! the client, the world's virtual clock for the simulator), so tests drive it without sleeping.

use std::collections::VecDeque;
use std::time::Duration;

/// An instant on some clock.
pub trait Moment: Copy + Ord {
    /// `self - earlier`, zero when `earlier` is later.
    fn since(self, earlier: Self) -> Duration;
}

impl Moment for tokio::time::Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Moment for std::time::Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Moment for chrono::DateTime<chrono::Utc> {
    fn since(self, earlier: Self) -> Duration {
        (self - earlier).to_std().unwrap_or(Duration::ZERO)
    }
}

/// The log of one key (or one budget).
#[derive(Debug, Clone)]
pub struct SlidingWindowLog<T> {
    window: Duration,
    grants: VecDeque<T>,
}

impl<T: Moment> SlidingWindowLog<T> {
    /// An empty log over `window`, with room for `capacity` grants before it grows.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            grants: VecDeque::with_capacity(capacity),
        }
    }

    /// Take a slot at `now` when fewer than `limit` grants are in the window; otherwise how long
    /// until enough of them leave it. A clock that went back (a simulator world reset to its
    /// start) starts a new log: grants of the abandoned timeline no longer count.
    pub fn try_take(&mut self, now: T, limit: usize) -> Result<(), Duration> {
        self.prune(now);
        if self.grants.len() < limit {
            self.grants.push_back(now);
            return Ok(());
        }
        Err(self.wait_for_room(now, limit))
    }

    /// [`Self::try_take`] for a caller held to `limit` (a reserve held back from `full`) that
    /// may borrow a held-back slot: when the window holds fewer than `full` grants and room
    /// under `limit` comes back within `lend`, it is granted now (the borrowed slot is
    /// returned by then). Otherwise how long until it may try again.
    pub fn try_take_lending(
        &mut self,
        now: T,
        limit: usize,
        full: usize,
        lend: Duration,
    ) -> Result<(), Duration> {
        self.prune(now);
        if self.grants.len() < limit {
            self.grants.push_back(now);
            return Ok(());
        }
        let fits_in = self.wait_for_room(now, limit);
        let full_for = if self.grants.len() >= full {
            self.wait_for_room(now, full)
        } else {
            Duration::ZERO
        };
        if full_for.is_zero() && fits_in <= lend {
            self.grants.push_back(now);
            return Ok(());
        }
        Err(full_for.max(fits_in.saturating_sub(lend)))
    }

    /// Forget grants that left the window; a clock that went back (a simulator world reset to
    /// its start) starts a new log: grants of the abandoned timeline no longer count.
    fn prune(&mut self, now: T) {
        if self.grants.back().is_some_and(|last| *last > now) {
            self.grants.clear();
        }
        while let Some(&oldest) = self.grants.front() {
            if now.since(oldest) >= self.window {
                self.grants.pop_front();
            } else {
                break;
            }
        }
    }

    /// How long until fewer than `limit` grants are in the window.
    fn wait_for_room(&self, now: T, limit: usize) -> Duration {
        // The grant that must leave the window before this caller fits.
        let leaving = self
            .grants
            .len()
            .checked_sub(limit)
            .and_then(|i| self.grants.get(i))
            .copied()
            .unwrap_or(now);
        self.window.saturating_sub(now.since(leaving))
    }

    /// Grants in the log (some may have left the window since the last `try_take`).
    pub fn len(&self) -> usize {
        self.grants.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta, Utc};

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(ms)
    }

    #[test]
    fn no_window_holds_more_than_the_limit() {
        let mut log = SlidingWindowLog::new(Duration::from_millis(1_000), 3);
        for ms in [0, 10, 20] {
            assert_eq!(log.try_take(at(ms), 3), Ok(()));
        }
        // Past window/N but inside the window: refused until the first grant leaves it.
        assert_eq!(log.try_take(at(400), 3), Err(Duration::from_millis(600)));
        assert_eq!(log.try_take(at(999), 3), Err(Duration::from_millis(1)));
        assert_eq!(log.try_take(at(1_000), 3), Ok(()));
        assert_eq!(log.try_take(at(1_005), 3), Err(Duration::from_millis(5)));
        // A smaller limit (a reserve held back) waits for more grants to leave.
        assert_eq!(log.try_take(at(1_005), 2), Err(Duration::from_millis(15)));
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn a_held_back_slot_is_lent_only_while_the_window_is_not_full_and_only_briefly() {
        let mut log = SlidingWindowLog::new(Duration::from_millis(1_000), 3);
        for ms in [0, 10, 20] {
            assert_eq!(log.try_take(at(ms), 3), Ok(()));
        }
        // Full window: nothing to lend until the first grant leaves it.
        let lend = Duration::from_millis(100);
        assert_eq!(
            log.try_take_lending(at(500), 2, 3, lend),
            Err(Duration::from_millis(500))
        );
        // One grant left: room under the limit of 2 comes back in 10 ms (within the lend).
        assert_eq!(log.try_take_lending(at(1_000), 2, 3, lend), Ok(()));
        // Full again: wait until a grant leaves, not the whole horizon.
        assert_eq!(
            log.try_take_lending(at(1_001), 2, 3, lend),
            Err(Duration::from_millis(9))
        );
        // Without lending the same caller waits for room under its own limit.
        assert_eq!(log.try_take(at(1_011), 2), Err(Duration::from_millis(9)));
    }

    #[test]
    fn a_clock_that_goes_back_starts_a_new_log() {
        let mut log = SlidingWindowLog::new(Duration::from_secs(60), 2);
        assert_eq!(log.try_take(at(5_000), 1), Ok(()));
        assert!(log.try_take(at(5_001), 1).is_err());
        assert_eq!(log.try_take(at(0), 1), Ok(()));
        assert_eq!(log.len(), 1);
    }
}

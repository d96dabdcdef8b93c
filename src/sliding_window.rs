//! The sliding-window log: the one mechanism behind both "no more than N calls in any window"
//! rules of this project, the NxtPort budget of the client (`crate::nxtport::limiter`) and the
//! per-key rate limit of the simulator's HTTP face (`crate::simulate`).
//!
//! It keeps the instants of the last grants and grants again only while fewer than `limit` of
//! them are younger than the window: that is the rule itself, so no window of that length ever
//! holds more than `limit` grants (a token bucket or GCRA with a burst of N lets up to 2N through
//! in the first window). The log holds at most `limit` instants.
//!
//! A grant may also be *held* ([`SlidingWindowLog::try_take_held`]): it is stamped `now + hold`
//! (in flight: it stays in the window whatever the clock says) until
//! [`SlidingWindowLog::settle`] re-stamps it at the instant its call completed. The upstream
//! stamps a call somewhere between our grant and its answer, so a log of grants held until
//! their answers bounds every window of the upstream's own stamps, however late a send or an
//! answer (the rule of the shared budget in Redis too, `crate::nxtport::shared_budget`).
//!
//! Time is a parameter: each caller passes `now` from its own clock (tokio's pausable clock for
//! the client, the world's virtual clock for the simulator), so tests drive it without sleeping.

use std::collections::VecDeque;
use std::time::Duration;

/// An instant on some clock.
pub trait Moment: Copy + Ord {
    /// `self - earlier`, zero when `earlier` is later.
    fn since(self, earlier: Self) -> Duration;
    /// `self + duration` (saturating at the clock's end).
    fn plus(self, duration: Duration) -> Self;
}

impl Moment for tokio::time::Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
    fn plus(self, duration: Duration) -> Self {
        self.checked_add(duration).unwrap_or(self)
    }
}

impl Moment for std::time::Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
    fn plus(self, duration: Duration) -> Self {
        self.checked_add(duration).unwrap_or(self)
    }
}

impl Moment for chrono::DateTime<chrono::Utc> {
    fn since(self, earlier: Self) -> Duration {
        (self - earlier).to_std().unwrap_or(Duration::ZERO)
    }
    fn plus(self, duration: Duration) -> Self {
        chrono::TimeDelta::from_std(duration)
            .ok()
            .and_then(|d| self.checked_add_signed(d))
            .unwrap_or(self)
    }
}

/// A held grant, to settle when its call completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// One grant: its stamp (in the future while held) and its ticket.
#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    at: T,
    ticket: u64,
}

/// The log of one key (or one budget).
#[derive(Debug, Clone)]
pub struct SlidingWindowLog<T> {
    window: Duration,
    /// Sorted by stamp.
    grants: VecDeque<Entry<T>>,
    /// The latest `now` seen (a clock that goes back starts a new log).
    latest: Option<T>,
    next_ticket: u64,
}

impl<T: Moment> SlidingWindowLog<T> {
    /// An empty log over `window`, with room for `capacity` grants before it grows.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            grants: VecDeque::with_capacity(capacity),
            latest: None,
            next_ticket: 1,
        }
    }

    /// Take a slot at `now` when fewer than `limit` grants are in the window; otherwise how long
    /// until enough of them leave it. A clock that went back (a simulator world reset to its
    /// start) starts a new log: grants of the abandoned timeline no longer count.
    pub fn try_take(&mut self, now: T, limit: usize) -> Result<(), Duration> {
        self.try_take_held(now, limit, Duration::ZERO).map(|_| ())
    }

    /// [`Self::try_take`] for a call whose completion will be reported: the grant is stamped
    /// `now + hold` until [`Self::settle`] re-stamps it (a grant never settled leaves the
    /// window `hold` late, never early).
    pub fn try_take_held(
        &mut self,
        now: T,
        limit: usize,
        hold: Duration,
    ) -> Result<Ticket, Duration> {
        self.prune(now);
        if self.grants.len() < limit {
            return Ok(self.push(now.plus(hold)));
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
        self.try_take_lending_held(now, limit, full, lend, Duration::ZERO)
            .map(|_| ())
    }

    /// [`Self::try_take_lending`] with the grant held as in [`Self::try_take_held`].
    pub fn try_take_lending_held(
        &mut self,
        now: T,
        limit: usize,
        full: usize,
        lend: Duration,
        hold: Duration,
    ) -> Result<Ticket, Duration> {
        self.prune(now);
        if self.grants.len() < limit {
            return Ok(self.push(now.plus(hold)));
        }
        let fits_in = self.wait_for_room(now, limit);
        let full_for = if self.grants.len() >= full {
            self.wait_for_room(now, full)
        } else {
            Duration::ZERO
        };
        if full_for.is_zero() && fits_in <= lend {
            return Ok(self.push(now.plus(hold)));
        }
        Err(full_for.max(fits_in.saturating_sub(lend)))
    }

    /// The call of `ticket` completed at `now`: its grant counts from `now` (it leaves the
    /// window one `window` after the upstream stamped the call at the latest). A ticket no
    /// longer in the log (it left the window, or the clock went back) changes nothing.
    pub fn settle(&mut self, ticket: Ticket, now: T) {
        // From the back: a held grant is stamped in the future, so it sits behind every settled
        // one, among the calls still in flight. Searching from the front cost a scan of the
        // whole window per call (tens of thousands of grants with a large budget).
        let Some(i) = self.grants.iter().rposition(|e| e.ticket == ticket.0) else {
            return;
        };
        self.grants.remove(i);
        self.insert(Entry {
            at: now,
            ticket: ticket.0,
        });
    }

    fn push(&mut self, at: T) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.insert(Entry { at, ticket });
        Ticket(ticket)
    }

    /// Insert keeping the log sorted by stamp (at the back for a grant stamped now).
    fn insert(&mut self, entry: Entry<T>) {
        let i = self.grants.partition_point(|e| e.at <= entry.at);
        self.grants.insert(i, entry);
    }

    /// Forget grants that left the window; a clock that went back (a simulator world reset to
    /// its start) starts a new log: grants of the abandoned timeline no longer count.
    fn prune(&mut self, now: T) {
        if self.latest.is_some_and(|latest| latest > now) {
            self.grants.clear();
        }
        self.latest = Some(now);
        while let Some(oldest) = self.grants.front() {
            if oldest.at <= now && now.since(oldest.at) >= self.window {
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
            .map_or(now, |e| e.at);
        leaving.plus(self.window).since(now)
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

    #[test]
    fn a_held_grant_stays_in_the_window_until_settled_then_counts_from_its_settling() {
        let window = Duration::from_millis(1_000);
        let hold = Duration::from_secs(10);
        let mut log = SlidingWindowLog::new(window, 2);
        let first = log.try_take_held(at(0), 2, hold).expect("first");
        let _second = log.try_take_held(at(10), 2, hold).expect("second");
        // Both calls are in flight long after a window since their grants.
        assert_eq!(
            log.try_take_held(at(1_500), 2, hold),
            Err(Duration::from_millis(9_500))
        );
        // The first answer comes back at 1 600: that grant leaves the window at 2 600.
        log.settle(first, at(1_600));
        assert_eq!(log.try_take(at(2_599), 2), Err(Duration::from_millis(1)));
        assert_eq!(log.try_take(at(2_600), 2), Ok(()));
        // Settling twice, or a ticket that left, changes nothing.
        log.settle(first, at(2_600));
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn a_grant_never_settled_leaves_a_hold_late() {
        let mut log = SlidingWindowLog::new(Duration::from_millis(1_000), 1);
        let _lost = log.try_take_held(at(0), 1, Duration::from_millis(5_000));
        assert_eq!(log.try_take(at(5_999), 1), Err(Duration::from_millis(1)));
        assert_eq!(log.try_take(at(6_000), 1), Ok(()));
    }

    /// Calls answered late (up to half a window, pseudo-random): wherever the upstream stamps
    /// each one between grant and answer, no window of its stamps holds more than the limit.
    #[test]
    fn held_grants_bound_every_window_of_the_upstreams_stamps() {
        let window = Duration::from_millis(1_000);
        let limit = 5;
        let mut log = SlidingWindowLog::new(window, limit);
        let mut seed: u64 = 42;
        let mut next = |n: i64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            i64::try_from((seed >> 33) % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
        };
        let mut in_flight: Vec<(i64, Ticket, i64)> = Vec::new();
        let mut stamps = Vec::new();
        for ms in 0..20_000 {
            // Answers due now come back (settled) first.
            in_flight.retain(|&(answer, ticket, _)| {
                if answer == ms {
                    log.settle(ticket, at(ms));
                }
                answer != ms
            });
            if let Ok(ticket) = log.try_take_held(at(ms), limit, Duration::from_secs(60)) {
                let answer = ms + 1 + next(500);
                // The upstream stamps the call anywhere between grant and answer.
                stamps.push(ms + next(answer - ms + 1));
                in_flight.push((answer, ticket, ms));
            }
        }
        stamps.sort_unstable();
        let max = (0..stamps.len())
            .map(|i| {
                stamps[i..]
                    .iter()
                    .take_while(|s| **s < stamps[i] + 1_000)
                    .count()
            })
            .max()
            .unwrap_or(0);
        assert!(max <= limit, "{max} stamps in one window");
        assert!(stamps.len() > 60, "the budget was used: {}", stamps.len());
    }
}

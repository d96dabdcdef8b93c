//! Counters of a budget and the observer called on every grant.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Priority;

/// What a grant looked like, passed to the registry's observer (e.g. a Prometheus histogram).
#[derive(Debug, Clone, Copy)]
pub struct WaitEvent<'a> {
    /// Short hash of the subscription key ([`super::key_id`]), never the key.
    pub key_id: &'a str,
    /// The caller's priority.
    pub priority: Priority,
    /// How long it waited for its slot.
    pub waited: Duration,
}

/// Callback called on every grant.
pub type WaitObserver = Arc<dyn Fn(&WaitEvent<'_>) + Send + Sync>;

/// Counters of one budget, readable at any time.
#[derive(Debug, Default)]
pub(super) struct Counters {
    granted: [AtomicU64; 2],
    waited: [AtomicU64; 2],
    wait_nanos: [AtomicU64; 2],
    max_wait_nanos: AtomicU64,
    pauses: AtomicU64,
}

/// A snapshot of a budget's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetMetrics {
    /// Slots granted to interactive callers.
    pub granted_interactive: u64,
    /// Slots granted to background callers.
    pub granted_background: u64,
    /// Interactive callers that had to wait.
    pub waited_interactive: u64,
    /// Background callers that had to wait.
    pub waited_background: u64,
    /// Total wait of interactive callers.
    pub wait_interactive: Duration,
    /// Total wait of background callers.
    pub wait_background: Duration,
    /// Longest single wait.
    pub max_wait: Duration,
    /// Callers queued right now.
    pub queued: u64,
    /// Times the key was paused by an upstream 429.
    pub pauses: u64,
}

pub(super) fn index(priority: Priority) -> usize {
    match priority {
        Priority::Interactive => 0,
        Priority::Background => 1,
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Counters {
    /// One grant to a caller of `priority` that waited `waited`.
    pub(super) fn record(&self, priority: Priority, waited: Duration) {
        let i = index(priority);
        self.granted[i].fetch_add(1, Ordering::Relaxed);
        if !waited.is_zero() {
            self.waited[i].fetch_add(1, Ordering::Relaxed);
            self.wait_nanos[i].fetch_add(nanos(waited), Ordering::Relaxed);
            self.max_wait_nanos
                .fetch_max(nanos(waited), Ordering::Relaxed);
        }
    }

    /// An upstream 429 paused the key.
    pub(super) fn paused(&self) {
        self.pauses.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot, with `queued` callers waiting right now.
    pub(super) fn snapshot(&self, queued: u64) -> BudgetMetrics {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        BudgetMetrics {
            granted_interactive: load(&self.granted[0]),
            granted_background: load(&self.granted[1]),
            waited_interactive: load(&self.waited[0]),
            waited_background: load(&self.waited[1]),
            wait_interactive: Duration::from_nanos(load(&self.wait_nanos[0])),
            wait_background: Duration::from_nanos(load(&self.wait_nanos[1])),
            max_wait: Duration::from_nanos(load(&self.max_wait_nanos)),
            queued,
            pauses: load(&self.pauses),
        }
    }
}

//! The NxtPort call budget: one limiter per subscription key, shared by every call of that
//! key, with priority for synchronous pickup validations.
//!
//! # Guarantee
//! NxtPort answers 429 above 500 calls per minute per subscription key. The limiter must never
//! let more than `calls` requests through in ANY sliding window of `period` (not only in
//! fixed minutes), while still using at least 98% of the budget when offered more.
//!
//! # Algorithm: sliding-window log (default), GCRA available
//! [`BudgetAlgorithm::SlidingWindowLog`] ([`crate::sliding_window`], the mechanism the simulator's
//! per-key limit uses too) keeps the instants of the last `calls` grants and
//! grants again only when the oldest is older than `period + safety_margin`. That is the
//! sliding-window rule itself, so the guarantee holds by construction. When a grant is late
//! (timer granularity, scheduling), only that one chain of the log shifts: the loss is one
//! lateness per period, so the measured use stays above 99%.
//!
//! [`BudgetAlgorithm::Gcra`] is governor's GCRA with burst 1 and emission interval
//! `(period + safety_margin) / calls`: it also never exceeds the budget in a sliding window and
//! spreads calls evenly, but every late grant loses its lateness for good (GCRA with burst 1
//! cannot catch up), which costs about 1 ms / interval of the budget (2% at 20 calls per
//! second). It stays available for upstreams that penalise bursts.
//!
//! The upstream counts arrivals, not our grants. A grant taken with [`Budget::acquire_slot`]
//! therefore counts as in flight (it stays in the window) until [`Slot::settle`] says its answer
//! came back, and from that instant after: the upstream stamped the call between the grant and
//! the answer, so no `period` of the upstream's stamps holds more than `calls`, however late a
//! send or an answer. In process and in Redis alike (one rule, [`crate::sliding_window`]'s held
//! grants here, the same rule in the Redis script). `safety_margin` (default 1% of the period)
//! remains as slack for the upstream's clock. (GCRA counts from the grant only.)
//!
//! # Priority and the reserve for the gate
//! Waiters queue in two FIFO queues; a dispatcher task hands each free slot to the first
//! [`Priority::Interactive`] waiter (a truck at the gate) before any
//! [`Priority::Background`] waiter (queued writes). The dispatcher runs only while someone
//! waits. An upstream 429 pauses the whole key for its `Retry-After` ([`Budget::pause_for`]).
//!
//! Ordering the waiters is not enough: when background work keeps the window full, a truck
//! still waits for the next slot to free up. So `interactive_reserve` slots of every window are
//! for interactive calls only: background calls are granted while fewer than
//! `calls - interactive_reserve` calls are in the window; an interactive call while fewer than
//! `calls`. An interactive caller does not queue behind background waiters that the reserve
//! holds back. (GCRA ignores the reserve.)
//!
//! # Lending the reserve (`lend_reserve`, on by default)
//! Reserved slots that no truck uses would stay empty, costing the reserve's share of the budget
//! (5% reserve: about 95% used). So background work may borrow a reserved slot when no
//! interactive caller waits, but only one that stands for a grant leaving the window within the
//! *lend horizon* `window * reserve / calls` (the time the reserve lasts at the full rate): after
//! a borrowed grant, at most `calls - reserve` grants are still in the window one horizon later.
//! So a truck arriving while the reserve is lent out waits at most one horizon (60.6 s * 10 / 500
//! = 1.2 s with the defaults), never behind a full window (as long as the gate took fewer than
//! `reserve` slots in the last window: beyond that, trucks get the next free slot first); while
//! it waits nobody borrows (in process: background callers never overtake a queued interactive one; in Redis: the waiting
//! truck marks the key's gate, see [`super::shared_budget`]), and the whole budget is used when
//! no truck comes.
//!
//! # Shared across replicas
//! With a [`super::shared_budget::RedisBudgetStore`] ([`BudgetRegistry::with_shared`]) the
//! window of each key lives in Redis and every replica draws from it (same rule, same reserve;
//! see that module). The in-process queues then only order this process's waiters.
//!
//! # Time
//! All time is `tokio::time::Instant`, so tests run the limiter on tokio's paused clock.
//!
//! # Files
//! `config` (the budget's settings), `local` (the in-process window, its queues and
//! dispatcher), this file (the budget itself, and the Redis window through
//! [`super::shared_budget`]), `slot` (a granted slot and its settling), `metrics` (counters and
//! the grant observer), `registry` (one budget per subscription key).

mod config;
mod local;
mod metrics;
mod registry;
mod slot;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

pub use self::config::{BudgetAlgorithm, BudgetConfig, Priority};
use self::local::State;
use self::metrics::Counters;
pub use self::metrics::{BudgetMetrics, WaitEvent, WaitObserver};
pub use self::registry::{key_id, BudgetRegistry};
use self::slot::Held;
pub use self::slot::Slot;
use super::shared_budget::RedisBudgetStore;

struct Inner {
    key_id: String,
    state: Mutex<State>,
    counters: Counters,
    observer: Option<WaitObserver>,
    /// Wakes a sleeping dispatcher when an interactive caller queues or a grant is settled.
    wake: tokio::sync::Notify,
    /// The window in Redis, when the budget is shared by several replicas.
    shared: Option<SharedKey>,
    /// Background callers of this process take turns asking the shared window (FIFO).
    background_turn: tokio::sync::Mutex<()>,
    /// How long a slot's grant counts as in flight until settled.
    in_flight_hold: Duration,
}

/// A key's window in the shared store.
struct SharedKey {
    store: Arc<RedisBudgetStore>,
    config: BudgetConfig,
}

/// The budget could not be consulted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BudgetError {
    /// The shared budget (Redis) does not answer: no call goes out unbudgeted.
    #[error("the shared NxtPort budget is unreachable: {0}")]
    Unavailable(String),
}

impl Inner {
    fn granted(&self, priority: Priority, waited: Duration) {
        self.counters.record(priority, waited);
        if let Some(observer) = &self.observer {
            observer(&WaitEvent {
                key_id: &self.key_id,
                priority,
                waited,
            });
        }
    }
}

/// The budget of one subscription key. Cheap to clone; clones share the budget.
#[derive(Clone)]
pub struct Budget {
    inner: Arc<Inner>,
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("key_id", &self.inner.key_id)
            .finish_non_exhaustive()
    }
}

impl Budget {
    /// A budget on its own (normally obtained from a [`BudgetRegistry`]).
    pub fn new(config: &BudgetConfig) -> Result<Self, String> {
        Self::build("standalone".into(), config, None, None)
    }

    fn build(
        key_id: String,
        config: &BudgetConfig,
        observer: Option<WaitObserver>,
        shared: Option<Arc<RedisBudgetStore>>,
    ) -> Result<Self, String> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                key_id,
                state: Mutex::new(State::new(config)),
                counters: Counters::default(),
                observer,
                wake: tokio::sync::Notify::new(),
                shared: shared.map(|store| SharedKey {
                    store,
                    config: config.clone(),
                }),
                background_turn: tokio::sync::Mutex::new(()),
                in_flight_hold: config.in_flight_hold,
            }),
        })
    }

    /// Short hash of the key this budget belongs to.
    pub fn key_id(&self) -> &str {
        &self.inner.key_id
    }

    /// Wait for a slot; returns how long the caller waited. Dropping the future gives up the
    /// place in the queue without using a slot. Fails only when the budget is shared and its
    /// store does not answer (an in-process budget always answers).
    pub async fn acquire(&self, priority: Priority) -> Result<Duration, BudgetError> {
        if let Some(shared) = &self.inner.shared {
            return self
                .acquire_shared(shared, priority, Duration::ZERO)
                .await
                .map(|(waited, _)| waited);
        }
        self.acquire_local(priority, None)
            .await
            .map(|(waited, _)| waited)
    }

    /// [`Self::acquire`] for one upstream call whose completion the caller reports
    /// ([`Slot::settle`]). The grant counts as in flight until then, and
    /// from its completion after: the upstream stamps a call somewhere between our grant and
    /// its answer, so however late the send or the answer (a starved replica, a slow network),
    /// no `period` of the upstream's stamps holds more than `calls` (proof in
    /// docs/ARCHITECTURE.md, "The NxtPort budget"). The in-process window holds its grants
    /// the same way (GCRA counts from the grant only).
    pub async fn acquire_slot(&self, priority: Priority) -> Result<Slot, BudgetError> {
        if let Some(shared) = &self.inner.shared {
            let hold = shared.config.in_flight_hold;
            let (waited, member) = self.acquire_shared(shared, priority, hold).await?;
            return Ok(Slot {
                waited,
                held: Held::Shared(Arc::clone(&shared.store), self.inner.key_id.clone(), member),
            });
        }
        let hold = self.inner.in_flight_hold;
        let (waited, ticket) = self.acquire_local(priority, Some(hold)).await?;
        let held = ticket.map_or(Held::Nothing, |t| Held::Local(Arc::clone(&self.inner), t));
        Ok(Slot { waited, held })
    }

    /// The shared window: ask Redis until it grants, sleeping as long as it says.
    async fn acquire_shared(
        &self,
        shared: &SharedKey,
        priority: Priority,
        hold: Duration,
    ) -> Result<(Duration, String), BudgetError> {
        let since = Instant::now();
        let _turn = match priority {
            Priority::Background => Some(self.inner.background_turn.lock().await),
            Priority::Interactive => None,
        };
        loop {
            match shared
                .store
                .try_take(&self.inner.key_id, &shared.config, priority, hold)
                .await?
            {
                Ok(member) => {
                    let waited = since.elapsed();
                    self.inner.granted(priority, waited);
                    return Ok((waited, member));
                }
                // Ask again at least once a second (a pause may be lifted, a slot freed early,
                // a grant settled).
                Err(wait) => tokio::time::sleep(wait.min(Duration::from_secs(1))).await,
            }
        }
    }

    /// Grant nothing for `duration` (an upstream 429's `Retry-After`); extends, never shortens.
    pub fn pause_for(&self, duration: Duration) {
        if let Some(shared) = &self.inner.shared {
            // Every replica pauses; best effort (an unreachable store stops calls anyway).
            let store = Arc::clone(&shared.store);
            let key_id = self.inner.key_id.clone();
            tokio::spawn(async move { store.pause(&key_id, duration).await });
        }
        let until = Instant::now() + duration;
        self.inner.state.lock().pause_until(until);
        self.inner.counters.paused();
    }

    /// Current counters.
    pub fn metrics(&self) -> BudgetMetrics {
        let queued = self.inner.state.lock().queued();
        self.inner
            .counters
            .snapshot(u64::try_from(queued).unwrap_or(u64::MAX))
    }
}

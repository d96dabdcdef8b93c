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
//! `safety_margin` (default 1% of the period) absorbs the difference in latency between two
//! calls `calls` apart: the upstream counts arrivals, not our grants.
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
//! `reserve` slots in the last window: beyond that, trucks get the next free slot first); while it waits nobody borrows (in
//! process: background callers never overtake a queued interactive one; in Redis: the waiting
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

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::Clock;
use governor::{Quota, RateLimiter};
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::shared_budget::RedisBudgetStore;
use crate::sliding_window::SlidingWindowLog;

/// Who is waiting for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// A caller is waiting for the answer (synchronous pickup validation): served first.
    Interactive,
    /// Queued background work (outbox deliveries, polling).
    Background,
}

/// How the budget is enforced. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BudgetAlgorithm {
    /// Log of the last `calls` grants (exact sliding window).
    #[default]
    SlidingWindowLog,
    /// governor GCRA, burst 1.
    Gcra,
}

/// The budget of one subscription key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Calls allowed per period (NxtPort: 500).
    pub calls: u32,
    /// The period (NxtPort: one minute). Scale it down in tests and benchmarks.
    pub period: Duration,
    /// Extra time added to the window to absorb latency differences.
    pub safety_margin: Duration,
    /// Enforcement algorithm.
    pub algorithm: BudgetAlgorithm,
    /// Slots of every window only interactive calls may take (the gate first).
    pub interactive_reserve: u32,
    /// Background calls may borrow reserved slots that free within [`Self::reserve_lend`]
    /// while no interactive caller waits (see the module documentation).
    pub lend_reserve: bool,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self::new(500, Duration::from_secs(60))
    }
}

impl BudgetConfig {
    /// `calls` per `period`, safety margin 1% of the period, sliding-window log.
    pub fn new(calls: u32, period: Duration) -> Self {
        Self {
            calls,
            period,
            safety_margin: period / 100,
            algorithm: BudgetAlgorithm::SlidingWindowLog,
            interactive_reserve: 0,
            lend_reserve: false,
        }
    }

    /// Reserve `reserve` slots of every window for interactive calls.
    pub fn with_interactive_reserve(mut self, reserve: u32) -> Self {
        self.interactive_reserve = reserve;
        self
    }

    /// Let background calls borrow reserved slots (see the module documentation).
    pub fn with_lent_reserve(mut self, lend: bool) -> Self {
        self.lend_reserve = lend;
        self
    }

    /// How soon a borrowed reserved slot must be back: `window * reserve / calls`, zero when
    /// the reserve is not lent.
    pub fn reserve_lend(&self) -> Duration {
        if !self.lend_reserve || self.calls == 0 {
            return Duration::ZERO;
        }
        self.window()
            .mul_f64(f64::from(self.interactive_reserve) / f64::from(self.calls))
    }

    /// Calls a caller of `priority` may have in one window.
    pub fn limit(&self, priority: Priority) -> u32 {
        match priority {
            Priority::Interactive => self.calls,
            Priority::Background => self.calls.saturating_sub(self.interactive_reserve),
        }
    }

    /// The window actually enforced.
    pub fn window(&self) -> Duration {
        self.period + self.safety_margin
    }

    fn validate(&self) -> Result<(), String> {
        if self.calls == 0 {
            return Err("budget calls must be at least 1".into());
        }
        if self.period.is_zero() {
            return Err("budget period must be positive".into());
        }
        if self.interactive_reserve >= self.calls {
            return Err("the interactive reserve must be smaller than the budget".into());
        }
        Ok(())
    }
}

/// What a grant looked like, passed to the registry's observer (e.g. a Prometheus histogram).
#[derive(Debug, Clone, Copy)]
pub struct WaitEvent<'a> {
    /// Short hash of the subscription key ([`key_id`]), never the key.
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
struct Counters {
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

fn index(priority: Priority) -> usize {
    match priority {
        Priority::Interactive => 0,
        Priority::Background => 1,
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// governor clock on tokio's (pausable) time.
#[derive(Debug, Clone)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }
}

type Gcra = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    TokioClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

enum Algorithm {
    Log {
        calls: usize,
        reserve: usize,
        log: SlidingWindowLog<Instant>,
        lend: Duration,
    },
    Gcra {
        limiter: Box<Gcra>,
        clock: TokioClock,
    },
}

impl Algorithm {
    fn new(config: &BudgetConfig) -> Self {
        match config.algorithm {
            BudgetAlgorithm::SlidingWindowLog => {
                let calls = usize::try_from(config.calls).unwrap_or(usize::MAX);
                Algorithm::Log {
                    calls,
                    reserve: usize::try_from(config.interactive_reserve).unwrap_or(0),
                    log: SlidingWindowLog::new(config.window(), calls.min(10_000)),
                    lend: config.reserve_lend(),
                }
            }
            BudgetAlgorithm::Gcra => {
                let interval = (config.window() / config.calls).max(Duration::from_nanos(1));
                let quota = Quota::with_period(interval)
                    .unwrap_or_else(|| Quota::per_second(nonzero_ext::nonzero!(1u32)))
                    .allow_burst(nonzero_ext::nonzero!(1u32));
                let clock = TokioClock {
                    origin: Instant::now(),
                };
                Algorithm::Gcra {
                    limiter: Box::new(RateLimiter::direct_with_clock(quota, clock.clone())),
                    clock,
                }
            }
        }
    }

    /// Take a slot now for `priority`, or say how long until one is free for it.
    fn try_take(&mut self, now: Instant, priority: Priority) -> Result<(), Duration> {
        match self {
            Algorithm::Log {
                calls,
                reserve,
                log,
                lend,
            } => {
                let limit = match priority {
                    Priority::Interactive => *calls,
                    Priority::Background => calls.saturating_sub(*reserve).max(1),
                };
                if lend.is_zero() || priority == Priority::Interactive {
                    return log.try_take(now, limit);
                }
                // Borrow a reserved slot whose stand-in leaves within the lend horizon (the
                // caller made sure no interactive caller waits).
                log.try_take_lending(now, limit, *calls, *lend)
            }
            Algorithm::Gcra { limiter, clock } => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(clock.now())),
        }
    }
}

struct Waiter {
    tx: oneshot::Sender<()>,
    priority: Priority,
    since: Instant,
}

struct State {
    queues: [VecDeque<Waiter>; 2],
    algorithm: Algorithm,
    paused_until: Option<Instant>,
    dispatcher_running: bool,
}

impl State {
    fn queued(&self) -> usize {
        self.queues[0].len() + self.queues[1].len()
    }

    fn paused_for(&mut self, now: Instant) -> Option<Duration> {
        match self.paused_until {
            Some(until) if until > now => Some(until - now),
            Some(_) => {
                self.paused_until = None;
                None
            }
            None => None,
        }
    }

    /// The next live waiter, interactive first.
    fn pop_waiter(&mut self) -> Option<Waiter> {
        for queue in &mut self.queues {
            while let Some(waiter) = queue.pop_front() {
                if !waiter.tx.is_closed() {
                    return Some(waiter);
                }
            }
        }
        None
    }
}

struct Inner {
    key_id: String,
    state: Mutex<State>,
    counters: Counters,
    observer: Option<WaitObserver>,
    /// Wakes a sleeping dispatcher when an interactive caller queues.
    wake: tokio::sync::Notify,
    /// The window in Redis, when the budget is shared by several replicas.
    shared: Option<SharedKey>,
    /// Background callers of this process take turns asking the shared window (FIFO).
    background_turn: tokio::sync::Mutex<()>,
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
        let i = index(priority);
        self.counters.granted[i].fetch_add(1, Ordering::Relaxed);
        if !waited.is_zero() {
            self.counters.waited[i].fetch_add(1, Ordering::Relaxed);
            self.counters.wait_nanos[i].fetch_add(nanos(waited), Ordering::Relaxed);
            self.counters
                .max_wait_nanos
                .fetch_max(nanos(waited), Ordering::Relaxed);
        }
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
                state: Mutex::new(State {
                    queues: [VecDeque::new(), VecDeque::new()],
                    algorithm: Algorithm::new(config),
                    paused_until: None,
                    dispatcher_running: false,
                }),
                counters: Counters::default(),
                observer,
                wake: tokio::sync::Notify::new(),
                shared: shared.map(|store| SharedKey {
                    store,
                    config: config.clone(),
                }),
                background_turn: tokio::sync::Mutex::new(()),
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
            return self.acquire_shared(shared, priority).await;
        }
        let since = Instant::now();
        let rx = {
            let mut state = self.inner.state.lock();
            // An interactive caller only queues behind other interactive callers.
            let ahead = match priority {
                Priority::Interactive => state.queues[0].len(),
                Priority::Background => state.queued(),
            };
            if ahead == 0
                && state.paused_for(since).is_none()
                && state.algorithm.try_take(since, priority).is_ok()
            {
                drop(state);
                self.inner.granted(priority, Duration::ZERO);
                return Ok(Duration::ZERO);
            }
            let (tx, rx) = oneshot::channel();
            state.queues[index(priority)].push_back(Waiter {
                tx,
                priority,
                since,
            });
            if !state.dispatcher_running {
                state.dispatcher_running = true;
                tokio::spawn(dispatch(Arc::clone(&self.inner)));
            } else if priority == Priority::Interactive {
                // The dispatcher may sleep for a background waiter the reserve holds back.
                self.inner.wake.notify_one();
            }
            rx
        };
        // The dispatcher only ends when the queues are empty, so it answers every waiter.
        let _ = rx.await;
        Ok(since.elapsed())
    }

    /// The shared window: ask Redis until it grants, sleeping as long as it says.
    async fn acquire_shared(
        &self,
        shared: &SharedKey,
        priority: Priority,
    ) -> Result<Duration, BudgetError> {
        let since = Instant::now();
        let _turn = match priority {
            Priority::Background => Some(self.inner.background_turn.lock().await),
            Priority::Interactive => None,
        };
        loop {
            match shared
                .store
                .try_take(&self.inner.key_id, &shared.config, priority)
                .await?
            {
                None => {
                    let waited = since.elapsed();
                    self.inner.granted(priority, waited);
                    return Ok(waited);
                }
                // Ask again at least once a second (a pause may be lifted, a slot freed early).
                Some(wait) => tokio::time::sleep(wait.min(Duration::from_secs(1))).await,
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
        let mut state = self.inner.state.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
        drop(state);
        self.inner.counters.pauses.fetch_add(1, Ordering::Relaxed);
    }

    /// Current counters.
    pub fn metrics(&self) -> BudgetMetrics {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        BudgetMetrics {
            granted_interactive: load(&c.granted[0]),
            granted_background: load(&c.granted[1]),
            waited_interactive: load(&c.waited[0]),
            waited_background: load(&c.waited[1]),
            wait_interactive: Duration::from_nanos(load(&c.wait_nanos[0])),
            wait_background: Duration::from_nanos(load(&c.wait_nanos[1])),
            max_wait: Duration::from_nanos(load(&c.max_wait_nanos)),
            queued: u64::try_from(self.inner.state.lock().queued()).unwrap_or(u64::MAX),
            pauses: load(&c.pauses),
        }
    }
}

/// Hands free slots to waiters, interactive first; ends when nobody waits.
async fn dispatch(inner: Arc<Inner>) {
    loop {
        let sleep_for = {
            let mut state = inner.state.lock();
            let now = Instant::now();
            if let Some(paused) = state.paused_for(now) {
                paused
            } else {
                let Some(waiter) = state.pop_waiter() else {
                    state.dispatcher_running = false;
                    return;
                };
                match state.algorithm.try_take(now, waiter.priority) {
                    Ok(()) => {
                        drop(state);
                        let waited = now.saturating_duration_since(waiter.since);
                        let priority = waiter.priority;
                        if waiter.tx.send(()).is_ok() {
                            inner.granted(priority, waited);
                        }
                        continue;
                    }
                    Err(wait) => {
                        state.queues[index(waiter.priority)].push_front(waiter);
                        wait.max(Duration::from_micros(50))
                    }
                }
            }
        };
        tokio::select! {
            () = tokio::time::sleep(sleep_for) => {}
            () = inner.wake.notified() => {}
        }
    }
}

/// Short, stable, non-reversible id of a subscription key (first 16 hex digits of its SHA-256).
pub fn key_id(subscription_key: &SecretString) -> String {
    let digest = Sha256::digest(subscription_key.expose_secret().as_bytes());
    hex::encode(&digest[..8])
}

/// One [`Budget`] per subscription key, created on first use and shared by every client of
/// that key. Build one per process (app state), not a global.
pub struct BudgetRegistry {
    config: BudgetConfig,
    budgets: DashMap<String, Budget>,
    observer: Option<WaitObserver>,
    shared: Option<Arc<RedisBudgetStore>>,
}

impl fmt::Debug for BudgetRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetRegistry")
            .field("config", &self.config)
            .field("keys", &self.budgets.len())
            .finish_non_exhaustive()
    }
}

impl BudgetRegistry {
    /// A registry giving every key the same budget.
    pub fn new(config: BudgetConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Self {
            config,
            budgets: DashMap::new(),
            observer: None,
            shared: None,
        })
    }

    /// Keep every key's window in `store` (shared by every replica using the same store).
    pub fn with_shared(mut self, store: Arc<RedisBudgetStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// The shared store, when there is one.
    pub fn shared(&self) -> Option<&Arc<RedisBudgetStore>> {
        self.shared.as_ref()
    }

    /// Call `observer` on every grant of every budget created from now on.
    pub fn with_observer(mut self, observer: WaitObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The budget's configuration.
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// The budget of `subscription_key` (the key itself is never stored, only its hash).
    pub fn budget_for(&self, subscription_key: &SecretString) -> Budget {
        let id = key_id(subscription_key);
        if let Some(existing) = self.budgets.get(&id) {
            return existing.clone();
        }
        self.budgets
            .entry(id.clone())
            .or_insert_with(|| {
                // The config was validated in `new`, so `build` cannot fail here.
                Budget::build(id, &self.config, self.observer.clone(), self.shared.clone())
                    .unwrap_or_else(|_| unreachable!("budget config validated in new"))
            })
            .clone()
    }

    /// Metrics of every key, by key id.
    pub fn metrics(&self) -> Vec<(String, BudgetMetrics)> {
        self.budgets
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().metrics()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offer `4 * calls` per period for `periods` periods; return grant instants.
    async fn offer_4x(budget: &Budget, config: &BudgetConfig, periods: u32) -> Vec<Instant> {
        let grants = Arc::new(Mutex::new(Vec::new()));
        let total = 4 * config.calls * periods;
        let spacing = config.period / (4 * config.calls);
        let mut tasks = Vec::new();
        for i in 0..total {
            let budget = budget.clone();
            let grants = Arc::clone(&grants);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(spacing * i).await;
                budget.acquire(Priority::Background).await.unwrap();
                grants.lock().push(Instant::now());
            }));
        }
        // Stop looking after `periods` periods: later grants are the backlog draining.
        let start = Instant::now();
        tokio::time::sleep(config.period * periods).await;
        for task in tasks {
            task.abort();
        }
        let mut grants = grants.lock().clone();
        grants.retain(|g| *g < start + config.period * periods);
        grants.sort();
        grants
    }

    fn max_in_any_window(grants: &[Instant], window: Duration) -> usize {
        grants
            .iter()
            .enumerate()
            .map(|(i, start)| {
                grants[i..]
                    .iter()
                    .take_while(|g| **g < *start + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    async fn check_precision(algorithm: BudgetAlgorithm) -> usize {
        let config = BudgetConfig {
            algorithm,
            ..BudgetConfig::new(20, Duration::from_secs(1))
        };
        let budget = Budget::new(&config).unwrap();
        let grants = offer_4x(&budget, &config, 5).await;
        assert!(
            max_in_any_window(&grants, config.period) <= 20,
            "{algorithm:?}"
        );
        grants.len()
    }

    #[tokio::test(start_paused = true)]
    async fn sliding_log_never_exceeds_and_uses_at_least_98_percent() {
        let granted = check_precision(BudgetAlgorithm::SlidingWindowLog).await;
        assert!(granted >= 98, "granted {granted} of 100");
    }

    #[tokio::test(start_paused = true)]
    async fn gcra_never_exceeds_and_uses_at_least_98_percent_on_an_exact_clock() {
        let granted = check_precision(BudgetAlgorithm::Gcra).await;
        assert!(granted >= 98, "granted {granted} of 100");
    }

    #[tokio::test(start_paused = true)]
    async fn interactive_callers_overtake_queued_background_callers() {
        let config = BudgetConfig::new(2, Duration::from_secs(1));
        let budget = Budget::new(&config).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (budget, order) = (budget.clone(), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                budget.acquire(Priority::Background).await.unwrap();
                order.lock().push(format!("b{i}"));
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for i in 0..2 {
            let (budget, order) = (budget.clone(), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                budget.acquire(Priority::Interactive).await.unwrap();
                order.lock().push(format!("i{i}"));
            }));
            tokio::task::yield_now().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().clone();
        assert_eq!(&order[..4], ["b0", "b1", "i0", "i1"], "{order:?}");
        let metrics = budget.metrics();
        assert_eq!(metrics.granted_interactive, 2);
        assert_eq!(metrics.granted_background, 10);
        assert_eq!(metrics.waited_interactive, 2);
        assert!(metrics.max_wait >= Duration::from_secs(4));
        assert_eq!(metrics.queued, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_every_caller_and_cancelled_waiters_use_no_slot() {
        let budget = Budget::new(&BudgetConfig::new(5, Duration::from_secs(1))).unwrap();
        budget.pause_for(Duration::from_secs(3));
        let start = Instant::now();
        let cancelled = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.acquire(Priority::Background).await.unwrap() })
        };
        tokio::task::yield_now().await;
        cancelled.abort();
        let waited = budget.acquire(Priority::Interactive).await.unwrap();
        assert!(waited >= Duration::from_secs(3), "{waited:?}");
        assert!(start.elapsed() < Duration::from_millis(3_100));
        let metrics = budget.metrics();
        assert_eq!(metrics.granted_background, 0);
        assert_eq!(metrics.granted_interactive, 1);
        assert_eq!(metrics.pauses, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_reserve_keeps_slots_for_interactive_callers_while_background_saturates() {
        let config = BudgetConfig::new(10, Duration::from_secs(1)).with_interactive_reserve(2);
        let budget = Budget::new(&config).unwrap();
        let start = Instant::now();
        // Background work offered far above the budget.
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                budget.acquire(Priority::Background).await.unwrap();
            }));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(budget.metrics().granted_background, 8, "2 of 10 held back");
        // A truck arrives while 32 background callers wait: it does not wait at all.
        let waited = budget.acquire(Priority::Interactive).await.unwrap();
        assert_eq!(waited, Duration::ZERO);
        let waited = budget.acquire(Priority::Interactive).await.unwrap();
        assert_eq!(waited, Duration::ZERO);
        // The third one has to wait for the window, but not behind the background queue.
        let waited = budget.acquire(Priority::Interactive).await.unwrap();
        assert!(waited <= config.window(), "{waited:?}");
        assert!(start.elapsed() <= config.window() + Duration::from_millis(20));
        for t in tasks {
            t.abort();
        }
    }

    /// With the reserve lent, background work alone uses the whole budget (not `100% -
    /// reserve`), never more than `calls` in any window, and a truck arriving while the reserve
    /// is lent out waits at most the lend horizon, ahead of every queued background caller.
    #[tokio::test(start_paused = true)]
    async fn a_lent_reserve_fills_the_budget_and_a_truck_waits_at_most_the_horizon() {
        let config = BudgetConfig::new(20, Duration::from_secs(1))
            .with_interactive_reserve(2)
            .with_lent_reserve(true);
        assert_eq!(config.reserve_lend(), config.window() / 10);
        let budget = Budget::new(&config).unwrap();
        let grants = offer_4x(&budget, &config, 5).await;
        assert!(max_in_any_window(&grants, config.period) <= 20);
        // Without lending: 18 per window (90%); lent: the sliding window's own limit.
        assert!(grants.len() >= 98, "granted {} of 100", grants.len());

        // Saturate again, then a truck comes while background callers queue.
        let budget = Budget::new(&config).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                budget.acquire(Priority::Background).await.unwrap();
            }));
        }
        // At most `reserve` trucks per window (the reserve's promise); each waits at most the
        // horizon although 100 background callers queue ahead of it.
        let mut worst = Duration::ZERO;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(537)).await;
            let waited = budget.acquire(Priority::Interactive).await.unwrap();
            worst = worst.max(waited);
        }
        assert!(
            worst <= config.reserve_lend(),
            "{worst:?} > {:?}",
            config.reserve_lend()
        );
        assert!(budget.metrics().granted_background > 60);
        for t in tasks {
            t.abort();
        }
    }

    #[test]
    fn registry_shares_one_budget_per_key_and_never_stores_the_key() {
        let registry = BudgetRegistry::new(BudgetConfig::default()).unwrap();
        let a = registry.budget_for(&SecretString::from("key-a-secret"));
        let a2 = registry.budget_for(&SecretString::from("key-a-secret"));
        let b = registry.budget_for(&SecretString::from("key-b-secret"));
        assert!(Arc::ptr_eq(&a.inner, &a2.inner));
        assert!(!Arc::ptr_eq(&a.inner, &b.inner));
        assert_eq!(a.key_id().len(), 16);
        let debug = format!("{registry:?} {a:?}");
        assert!(!debug.contains("key-a-secret"), "{debug}");
        assert!(BudgetRegistry::new(BudgetConfig::new(0, Duration::from_secs(1))).is_err());
        assert!(BudgetRegistry::new(
            BudgetConfig::new(5, Duration::from_secs(1)).with_interactive_reserve(5)
        )
        .is_err());
    }
}

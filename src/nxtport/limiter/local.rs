//! The in-process window of a budget: the algorithm (sliding-window log with held grants, or
//! GCRA), the two waiter queues and the dispatcher that hands free slots to them, interactive
//! first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::{Quota, RateLimiter};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::metrics::index;
use super::{Budget, BudgetAlgorithm, BudgetConfig, BudgetError, Inner, Priority};
use crate::sliding_window::{SlidingWindowLog, Ticket};

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

    /// Take a slot now for `priority` (held for `hold` until settled: `Some` ticket), or say
    /// how long until one is free for it.
    fn try_take(
        &mut self,
        now: Instant,
        priority: Priority,
        hold: Option<Duration>,
    ) -> Result<Option<Ticket>, Duration> {
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
                let held = hold.unwrap_or(Duration::ZERO);
                let ticket = if lend.is_zero() || priority == Priority::Interactive {
                    log.try_take_held(now, limit, held)?
                } else {
                    // Borrow a reserved slot whose stand-in leaves within the lend horizon
                    // (the caller made sure no interactive caller waits).
                    log.try_take_lending_held(now, limit, *calls, *lend, held)?
                };
                Ok(hold.map(|_| ticket))
            }
            Algorithm::Gcra { limiter, clock } => limiter
                .check()
                .map(|()| None)
                .map_err(|not_until| not_until.wait_time_from(clock.now())),
        }
    }

    /// The call of `ticket` completed at `now`.
    fn settle(&mut self, ticket: Ticket, now: Instant) {
        if let Algorithm::Log { log, .. } = self {
            log.settle(ticket, now);
        }
    }
}

struct Waiter {
    tx: oneshot::Sender<Option<Ticket>>,
    priority: Priority,
    since: Instant,
    hold: Option<Duration>,
}

/// The in-process state of a budget.
pub(super) struct State {
    queues: [VecDeque<Waiter>; 2],
    algorithm: Algorithm,
    paused_until: Option<Instant>,
    dispatcher_running: bool,
}

impl State {
    pub(super) fn new(config: &BudgetConfig) -> Self {
        Self {
            queues: [VecDeque::new(), VecDeque::new()],
            algorithm: Algorithm::new(config),
            paused_until: None,
            dispatcher_running: false,
        }
    }

    /// Callers waiting right now.
    pub(super) fn queued(&self) -> usize {
        self.queues[0].len() + self.queues[1].len()
    }

    /// Grant nothing until `until` (extends, never shortens).
    pub(super) fn pause_until(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|current| current < until) {
            self.paused_until = Some(until);
        }
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

/// The call of a held in-process grant completed: it counts from now, and a dispatcher
/// waiting for room may grant earlier.
pub(super) fn settle(inner: &Inner, ticket: Ticket) {
    inner.state.lock().algorithm.settle(ticket, Instant::now());
    inner.wake.notify_one();
}

impl Budget {
    /// Wait for a slot of the in-process window (held until settled when `hold` is given).
    pub(super) async fn acquire_local(
        &self,
        priority: Priority,
        hold: Option<Duration>,
    ) -> Result<(Duration, Option<Ticket>), BudgetError> {
        let since = Instant::now();
        let rx = {
            let mut state = self.inner.state.lock();
            // An interactive caller only queues behind other interactive callers.
            let ahead = match priority {
                Priority::Interactive => state.queues[0].len(),
                Priority::Background => state.queued(),
            };
            if ahead == 0 && state.paused_for(since).is_none() {
                if let Ok(ticket) = state.algorithm.try_take(since, priority, hold) {
                    drop(state);
                    self.inner.granted(priority, Duration::ZERO);
                    return Ok((Duration::ZERO, ticket));
                }
            }
            let (tx, rx) = oneshot::channel();
            state.queues[index(priority)].push_back(Waiter {
                tx,
                priority,
                since,
                hold,
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
        let ticket = rx.await.unwrap_or(None);
        Ok((since.elapsed(), ticket))
    }
}

/// Hands free slots to waiters, interactive first; ends when nobody waits. Woken early by an
/// interactive caller and by a settled grant (room may come back sooner than it computed).
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
                match state.algorithm.try_take(now, waiter.priority, waiter.hold) {
                    Ok(ticket) => {
                        let waited = now.saturating_duration_since(waiter.since);
                        let priority = waiter.priority;
                        match waiter.tx.send(ticket) {
                            Ok(()) => {
                                drop(state);
                                inner.granted(priority, waited);
                            }
                            // The caller left: its grant is never used, so it counts from now.
                            Err(Some(ticket)) => state.algorithm.settle(ticket, now),
                            Err(None) => {}
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

//! The budget's settings: calls per period, margin, algorithm, the gate's reserve.

use std::time::Duration;

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
    /// How long a grant taken with [`super::Budget::acquire_slot`] counts as in flight
    /// (stamped that far in the future, in process and in Redis) until [`super::Slot::settle`]
    /// says its call completed. Longer than any call (request timeout); it only matters for a
    /// call never settled (its caller was cancelled mid-send, its replica died).
    pub in_flight_hold: Duration,
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
            in_flight_hold: Duration::from_secs(60),
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

    pub(super) fn validate(&self) -> Result<(), String> {
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

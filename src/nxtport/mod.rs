//! The gateway's NxtPort CPu client: [`NxtPortClient`] (token, budget, retries) for sim, UAT and
//! PRD alike; [`limiter`] (the per-key budget with priority), [`retry`], `token`, [`classify`].
//!
//! The wire types it sends and parses are the contract's (`cpu_contract`), shared with the
//! simulator.

pub mod classify;
pub mod client;
pub mod clients;
pub mod limiter;
pub mod retry;
pub mod shared_budget;
mod token;
pub use token::DEFAULT_SCOPE;

pub use client::{
    CallEvent, CallObserver, CallOptions, Environment, NxtPortClient, NxtPortConfig,
    NxtPortCredentials, NxtPortError, SendGuard, Timeouts,
};
pub use clients::NxtPortClients;
pub use limiter::{
    Budget, BudgetAlgorithm, BudgetConfig, BudgetError, BudgetMetrics, BudgetRegistry, Priority,
    Slot,
};
pub use retry::RetryPolicy;
pub use shared_budget::RedisBudgetStore;

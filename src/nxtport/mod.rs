//! The NxtPort CPu contract, used on both sides of the wire.
//!
//! - [`types`]: request/response bodies (serde + utoipa), shared by the simulator's HTTP face
//!   and the gateway's client so they cannot drift.
//! - [`enums`]: NxtPort enums that accept their int value or their name ([`wire_enum`]).
//! - [`paths`]: route patterns, path builders and header names.
//! - [`client`]: [`NxtPortClient`], the gateway's client (token, budget, retries) for sim,
//!   UAT and PRD alike; [`limiter`] (the per-key budget with priority), [`retry`], `token`.

pub mod classify;
pub mod client;
pub mod clients;
pub mod enums;
pub mod limiter;
pub mod paths;
pub mod retry;
pub mod shared_budget;
mod token;
pub use token::DEFAULT_SCOPE;
pub mod types;
pub mod wire_enum;

pub use client::{
    CallEvent, CallObserver, CallOptions, Environment, NxtPortClient, NxtPortConfig,
    NxtPortCredentials, NxtPortError, Timeouts,
};
pub use clients::NxtPortClients;
pub use limiter::{
    Budget, BudgetAlgorithm, BudgetConfig, BudgetError, BudgetMetrics, BudgetRegistry, Priority,
};
pub use retry::RetryPolicy;
pub use shared_budget::RedisBudgetStore;

pub use paths::{EXTERNAL_REFERENCE_ID, SUBSCRIPTION_KEY_HEADER, SUBSCRIPTION_KEY_QUERY};
pub use types::*;

#[cfg(test)]
mod tests;

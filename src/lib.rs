//! cpu-gateway: a gateway and an offline simulator for NxtPort Certified Pick-up (CPu),
//! and the terminal integrations (Data Sources) beside it.
//!
//! Layout (see docs/ARCHITECTURE.md):
//! - [`nxtport`]: the CPu contract used on both sides (wire types, paths) and the client.
//! - [`simulate`]: the HTTP face of the simulator and the terminal emulations (`cpu-gateway simulate`).
//! - [`gateway`]: the gateway's own API, outbox, delivery worker, notification intake (`cpu-gateway serve`).
//! - [`sources`]: Data Sources: terminal catalogue, adapters, sync.
//! - [`terminals`]: what the emulations and the adapters both speak (event model, EDIFACT, codes).
//! - [`scenario`]: scenario files and their runner (`cpu-gateway scenario run`).
//! - [`store`]: persistence (sqlx; SQLite by default, PostgreSQL when `DATABASE_URL` says so).

pub mod api;
pub mod cli;
pub mod connection;
pub mod console;
pub mod docs_ui;
pub mod gateway;
pub mod http_edge;
pub mod nxtport;
pub mod sandbox;
pub mod scenario;
pub mod simulate;
pub mod sliding_window;
pub mod sources;
pub mod store;
pub mod telemetry;
pub mod terminals;
#[doc(hidden)]
pub mod testenv;

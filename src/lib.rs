//! cpu-gateway: a gateway and an offline simulator for NxtPort Certified Pick-up (CPu),
//! and the terminal integrations (Data Sources) beside it.
//!
//! Layout (see docs/ARCHITECTURE.md):
//! - [`nxtport`]: the CPu contract used on both sides (wire types, paths) and the client.
//! - [`simulate`]: the HTTP face of the simulator (`cpu-gateway simulate`).
//! - [`gateway`]: the gateway's own API, outbox, delivery worker, notification intake (`cpu-gateway serve`).
//! - [`sources`]: Data Sources: terminal catalogue, adapters, sync, terminal emulations.
//! - [`scenario`]: scenario files and their runner (`cpu-gateway scenario run`).
//! - [`store`]: persistence (sqlx; SQLite by default, PostgreSQL when `DATABASE_URL` says so).

pub mod cli;
pub mod console;
pub mod docs_ui;
pub mod gateway;
pub mod http_edge;
pub mod nxtport;
pub mod sandbox;
pub mod scenario;
pub mod simulate;
pub mod sources;
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod testenv;

/// A small HTML page rendering an OpenAPI document with Redoc (loaded by the browser).
pub fn docs_page(title: &str, spec_url: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><redoc spec-url=\"{spec_url}\"></redoc>\
         <script src=\"https://cdn.redoc.ly/redoc/latest/bundles/redoc.standalone.js\"></script>\
         <noscript>The raw document is at <a href=\"{spec_url}\">{spec_url}</a>.</noscript></body></html>"
    )
}

//! Logging setup: structured logs with `tracing`, filtered by `RUST_LOG` (default `info`).

use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

/// Install the global subscriber. `json` selects machine-readable lines; text lines carry
/// colours only when stderr is a terminal (not in files or log collectors). Safe to call twice.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

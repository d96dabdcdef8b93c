//! Waiting for a condition, with a bound: the one helper the integration tests use instead of
//! sleeping. A test that waits for something to happen polls it here; a test that asserts timing
//! drives an injected clock instead (tokio's paused time, the simulator's frozen clock moved by
//! `POST /simulator/v1/clock/advance`), never the wall clock.

use std::fmt::Display;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is checked again.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// Check `condition` until it gives `Some`, for at most `limit`; `None` after that. On tokio's
/// paused clock the bound is virtual time too.
pub async fn eventually<T>(
    limit: Duration,
    mut condition: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = condition().await {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// [`eventually`], failing the test with `what` when the bound passes.
pub async fn until<T>(
    what: impl Display,
    limit: Duration,
    condition: impl AsyncFnMut() -> Option<T>,
) -> T {
    match eventually(limit, condition).await {
        Some(v) => v,
        None => panic!("{what}: not within {limit:?}"),
    }
}

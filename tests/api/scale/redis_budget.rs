//! The Redis budget: shared between clients, reserved for the gate, surviving a restart, lending
//! its reserve near the window end, and holding a slow call's slot.

use super::{skip, PrivateRedis};
use secrecy::SecretString;
use std::time::Duration;

/// On a frozen clock a grant comes at once or never: fail instead of hanging.
async fn granted_at_once<E: std::fmt::Debug>(
    acquire: impl std::future::Future<Output = Result<Duration, E>>,
) {
    tokio::time::timeout(Duration::from_secs(10), acquire)
        .await
        .expect("granted at once (the clock is frozen)")
        .expect("grant");
}

/// The Redis window directly: two registries (two replicas) share one budget per key, with
/// the reserve for the gate, and a registry built later (a restarted replica) remembers the
/// calls of the window. The windows run on a frozen clock: a call that is not granted at once
/// is never granted (the bounded waits below only end the check).
#[tokio::test]
async fn the_redis_budget_is_shared_reserved_for_the_gate_and_survives_a_restart() {
    use cpu_gateway::nxtport::{BudgetConfig, BudgetRegistry, Priority, RedisBudgetStore};
    let Some(redis) = PrivateRedis::start() else {
        return skip(
            "the_redis_budget_is_shared",
            "redis-server is not installed",
        );
    };
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let config = BudgetConfig::new(10, Duration::from_secs(30)).with_interactive_reserve(2);
    let registry = || {
        let store = RedisBudgetStore::with_clock(
            &redis.url(),
            &prefix,
            Duration::from_millis(500),
            std::sync::Arc::new(|| 1_000_000),
        )
        .expect("store");
        BudgetRegistry::new(config.clone())
            .expect("registry")
            .with_shared(store)
    };
    let key = SecretString::from("subscription-key-1".to_owned());
    let (a, b) = (registry().budget_for(&key), registry().budget_for(&key));
    // Background calls of both replicas: 8 of 10 granted at once, then they wait.
    for i in 0..8 {
        let budget = if i % 2 == 0 { &a } else { &b };
        granted_at_once(budget.acquire(Priority::Background)).await;
    }
    let blocked =
        tokio::time::timeout(Duration::from_millis(500), a.acquire(Priority::Background)).await;
    assert!(
        blocked.is_err(),
        "a 9th background call must wait for the window"
    );
    // The gate still gets its 2 reserved slots at once, on either replica.
    for budget in [&a, &b] {
        granted_at_once(budget.acquire(Priority::Interactive)).await;
    }
    // A restarted replica (new registry, same Redis) has no slot left in this window.
    let restarted = registry().budget_for(&key);
    let blocked = tokio::time::timeout(
        Duration::from_millis(500),
        restarted.acquire(Priority::Interactive),
    )
    .await;
    assert!(blocked.is_err(), "the window survived the restart");
    // Another key has its own budget.
    let other = registry().budget_for(&SecretString::from("subscription-key-2".to_owned()));
    granted_at_once(other.acquire(Priority::Background)).await;
    assert_eq!(other.metrics().granted_background, 1);
    assert_eq!(
        a.metrics().granted_background + b.metrics().granted_background,
        8
    );
}

/// A Redis budget store whose windows run on a clock the test moves by hand (ms).
fn clocked_store(
    redis: &PrivateRedis,
) -> (
    std::sync::Arc<cpu_gateway::nxtport::RedisBudgetStore>,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let now = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1_000_000));
    let clock = std::sync::Arc::clone(&now);
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let store = cpu_gateway::nxtport::RedisBudgetStore::with_clock(
        &redis.url(),
        &prefix,
        Duration::from_millis(500),
        std::sync::Arc::new(move || clock.load(std::sync::atomic::Ordering::SeqCst)),
    )
    .expect("store");
    (store, now)
}

/// The reserve lent in Redis (injected clock): background calls take the unreserved slots at
/// once, then borrow the reserved ones that free within the lend horizon, before the window
/// itself frees a slot (so the whole budget is used when no truck comes), never beyond it.
#[tokio::test]
async fn the_redis_budget_lends_its_reserve_to_background_work_near_the_window_end() {
    use cpu_gateway::nxtport::{BudgetConfig, Priority};
    use std::sync::atomic::Ordering;
    let Some(redis) = PrivateRedis::start() else {
        return skip("the_redis_budget_lends", "redis-server is not installed");
    };
    let (store, clock) = clocked_store(&redis);
    let config = BudgetConfig::new(10, Duration::from_secs(2))
        .with_interactive_reserve(2)
        .with_lent_reserve(true);
    // The store works in whole milliseconds.
    let window = config.window().as_millis() as u64;
    let lend = config.reserve_lend().as_millis() as u64;
    let ms = Duration::from_millis;
    let take = || store.try_take("key-lend", &config, Priority::Background, Duration::ZERO);
    let t0 = clock.load(Ordering::SeqCst);
    for _ in 0..8 {
        take().await.expect("redis").expect("granted at once");
    }
    // Not lent a whole window ahead: it may come back when the horizon reaches the window end.
    let wait = take()
        .await
        .expect("redis")
        .expect_err("the reserve is held");
    assert_eq!(wait, ms(window - lend), "wait until the lend horizon");
    clock.store(t0 + window - lend - 1, Ordering::SeqCst);
    assert!(take().await.expect("redis").is_err(), "1 ms early");
    clock.store(t0 + window - lend, Ordering::SeqCst);
    take().await.expect("redis").expect("borrowed");
    take().await.expect("redis").expect("borrowed");
    // The window is full: nothing more before the first grants leave it, then a slot at once.
    let wait = take().await.expect("redis").expect_err("full");
    assert_eq!(wait, ms(lend));
    clock.store(t0 + window, Ordering::SeqCst);
    take().await.expect("redis").expect("the window moved on");
}

/// The budget holds where NxtPort counts (injected clock): a grant taken for a call counts as
/// in flight until the call is settled, then from its completion. A slow call (sent at once,
/// answered half a window later) therefore keeps its slot until its answer + the window: the
/// upstream, stamping between the two, never sees more than the budget in any window.
#[tokio::test]
async fn a_slow_call_keeps_its_redis_slot_until_a_window_after_its_answer() {
    use cpu_gateway::nxtport::{BudgetConfig, Priority};
    use std::sync::atomic::Ordering;
    let Some(redis) = PrivateRedis::start() else {
        return skip(
            "a_slow_call_keeps_its_redis_slot",
            "redis-server is not installed",
        );
    };
    let (store, clock) = clocked_store(&redis);
    let config = BudgetConfig {
        safety_margin: Duration::ZERO,
        ..BudgetConfig::new(3, Duration::from_secs(1))
    };
    let hold = Duration::from_secs(60);
    let at = |ms: u64| clock.store(1_000_000 + ms, Ordering::SeqCst);
    let take = || store.try_take("key-slow", &config, Priority::Background, hold);
    at(0);
    let fast = take().await.expect("redis").expect("grant");
    let slow: Vec<String> = vec![
        take().await.expect("redis").expect("grant"),
        take().await.expect("redis").expect("grant"),
    ];
    // The fast call is answered at 10 ms; the two slow ones at 500 ms (NxtPort stamped them
    // somewhere in between, say at 490 ms).
    at(10);
    store.settle("key-slow", &fast).await;
    at(500);
    for member in &slow {
        store.settle("key-slow", member).await;
    }
    // Counted from the grant, all three would have left at 1000 ms: 3 more calls stamped in
    // [1000, 1490) would make 5 in NxtPort's window from 490 ms.
    at(1_005);
    let wait = take()
        .await
        .expect("redis")
        .expect_err("the fast call is still in");
    assert_eq!(wait, Duration::from_millis(5));
    at(1_010);
    let in_flight = take().await.expect("redis").expect("the fast call's slot");
    let wait = take()
        .await
        .expect("redis")
        .expect_err("the slow calls are still in");
    assert_eq!(wait, Duration::from_millis(490));
    // An unsettled grant (its replica died mid-call) counts until its hold runs out.
    at(1_500);
    for _ in 0..2 {
        let member = take().await.expect("redis").expect("a slow call's slot");
        store.settle("key-slow", &member).await;
    }
    at(30_000);
    let _ = take()
        .await
        .expect("redis")
        .expect("the settled ones left the window");
    let _ = take()
        .await
        .expect("redis")
        .expect("the settled ones left the window");
    assert!(
        take().await.expect("redis").is_err(),
        "the unsettled grant of 1 010 ms still holds its slot: {in_flight}"
    );
}

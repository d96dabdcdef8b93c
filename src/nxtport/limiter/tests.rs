//! Tests of the budget on tokio's paused clock (an injected clock: nothing sleeps for real).

use super::*;
use secrecy::SecretString;

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

/// In process as in Redis: a slot's grant stays in the window while its call is in flight
/// (however long past a window) and counts from its settling after.
#[tokio::test(start_paused = true)]
async fn a_slot_counts_as_in_flight_until_settled_then_from_its_settling() {
    let config = BudgetConfig::new(2, Duration::from_secs(1));
    let budget = Budget::new(&config).unwrap();
    let first = budget.acquire_slot(Priority::Background).await.unwrap();
    let second = budget.acquire_slot(Priority::Background).await.unwrap();
    let start = Instant::now();
    let third = {
        let budget = budget.clone();
        tokio::spawn(async move { budget.acquire_slot(Priority::Background).await })
    };
    // Both calls still in flight three windows later: nothing granted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(budget.metrics().granted_background, 2);
    assert_eq!(budget.metrics().queued, 1);
    // The first answer comes back now: its grant leaves the window one window later.
    first.settle();
    let settled = Instant::now();
    let third = third.await.unwrap().unwrap();
    assert_eq!(Instant::now() - settled, config.window());
    assert_eq!(third.waited, settled - start + config.window());
    second.settle();
    third.settle();
    // `acquire` (no slot) counts from its grant, as before.
    let budget = Budget::new(&config).unwrap();
    budget.acquire(Priority::Background).await.unwrap();
    budget.acquire(Priority::Background).await.unwrap();
    let waited = budget.acquire(Priority::Background).await.unwrap();
    assert_eq!(waited, config.window());
}

/// A slot whose caller gave up before the grant is not held: the grant counts from then.
#[tokio::test(start_paused = true)]
async fn a_waiter_that_left_holds_no_slot() {
    let config = BudgetConfig::new(1, Duration::from_secs(1));
    let budget = Budget::new(&config).unwrap();
    let slot = budget.acquire_slot(Priority::Background).await.unwrap();
    let gone = {
        let budget = budget.clone();
        tokio::spawn(async move { budget.acquire_slot(Priority::Background).await })
    };
    tokio::task::yield_now().await;
    slot.settle();
    let settled = Instant::now();
    gone.abort();
    let _ = gone.await;
    let next = budget.acquire_slot(Priority::Background).await.unwrap();
    assert!(next.waited <= config.window(), "{:?}", next.waited);
    assert!(Instant::now() - settled <= config.window());
    next.settle();
}

/// Offered 4x with answers that take up to a fifth of the window: wherever the upstream stamps
/// each call between its grant and its answer (here: pseudo-random), no window of its stamps
/// holds more than the budget, and most of the budget is still used.
#[tokio::test(start_paused = true)]
async fn late_answers_never_let_the_upstream_see_more_than_the_budget() {
    let config = BudgetConfig::new(20, Duration::from_secs(1));
    let budget = Budget::new(&config).unwrap();
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let periods = 5;
    let total = 4 * config.calls * periods;
    let spacing = config.period / (4 * config.calls);
    let mut tasks = Vec::new();
    for i in 0..total {
        let (budget, stamps) = (budget.clone(), Arc::clone(&stamps));
        // Deterministic pseudo-random latency and stamp point per call.
        let r = u64::from(i).wrapping_mul(2_654_435_761) % 1_000;
        let latency = config.period / 5 * u32::try_from(r).unwrap_or(0) / 1_000;
        let stamp_at = latency * u32::try_from((r * 7) % 10).unwrap_or(0) / 10;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(spacing * i).await;
            let slot = budget.acquire_slot(Priority::Background).await.unwrap();
            tokio::time::sleep(stamp_at).await;
            stamps.lock().push(Instant::now());
            tokio::time::sleep(latency - stamp_at).await;
            slot.settle();
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(config.period * periods).await;
    for task in tasks {
        task.abort();
    }
    let mut stamps = stamps.lock().clone();
    stamps.retain(|s| *s < start + config.period * periods);
    stamps.sort();
    assert!(max_in_any_window(&stamps, config.period) <= 20);
    // Each chain of the log loses its answer's latency (at most a fifth) per window.
    assert!(stamps.len() >= 80, "upstream saw {} of 100", stamps.len());
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

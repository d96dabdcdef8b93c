//! Several replicas on one database and one Redis budget: a replica killed with claimed work,
//! Redis and PostgreSQL outages, and NxtPort failing calls; nothing accepted is lost or sent
//! twice.

use super::{skip, PrivateRedis};
use crate::gateway::{connection_body, pg_url, Gw};
use crate::serve_child::{child_env, journal, life, max_in_window, seed_connection, ServeChild};
use crate::sim_helpers::{container, Sim};
use cpu_gateway::gateway::config::Settings;
use cpu_gateway::store::{Role, Store, VaultKey};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

async fn post(http: &reqwest::Client, base: &str, token: &str, path: &str, body: &Value) -> Value {
    let r = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202, "{path}");
    r.json().await.expect("json")
}

#[tokio::test]
async fn replica_killed_with_claims_is_taken_over_only_after_its_lease_and_nothing_is_sent_twice() {
    let test = "replica_killed_with_claims";
    let Some(url) = pg_url().await else {
        return skip(test, "PostgreSQL skipped (CPU_GATEWAY_SKIP_PG=1)");
    };
    let sim = Sim::start().await;
    let (token, master_key) = seed_connection(&url, &sim).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = child_env(
        &sim,
        &url,
        &master_key,
        dir.path(),
        &[
            ("CPU_GATEWAY_DELIVERY__CONCURRENCY", "3"),
            ("CPU_GATEWAY_DELIVERY__LEASE_SECS", "4"),
            ("CPU_GATEWAY_RETRY__MAX_RETRIES", "0"),
            // A send's lease is confirmed for the request timeout + a lease: keep it short.
            ("CPU_GATEWAY_NXTPORT__TIMEOUT_MS", "5000"),
        ],
    );

    // NxtPort is slow: every call hangs 2 s, so the replicas hold claims in flight.
    for path in ["/ingestion", "/certified-pickup"] {
        sim.fault(json!({"path": path, "latencyMs": 2000})).await;
    }
    let http = crate::sim_helpers::http();
    let mut a = ServeChild::spawn(&env, "a");
    let b = ServeChild::spawn(&env, "b");
    a.ready(&http).await;
    b.ready(&http).await;
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut container_of = HashMap::new();
    for n in 0..6 {
        let eq = container(900 + n);
        for (i, (path, body)) in life(&eq).into_iter().enumerate() {
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            let acc = post(&http, base, &token, path, &body).await;
            let id = acc["operationId"].as_str().expect("id").to_owned();
            container_of.insert(id.clone(), eq.clone());
            expected.entry(eq.clone()).or_default().push(id);
        }
    }
    let store = Store::connect(&url).await.expect("store");
    let in_flight = |prefix: &'static str| {
        let store = store.clone();
        async move {
            store
                .testing()
                .operations_in_flight(&format!("{prefix}-"))
                .await
                .expect("in flight")
        }
    };
    // Both replicas hold claims.
    crate::poll::until(
        "both replicas hold claims",
        Duration::from_secs(20),
        async || {
            (!in_flight("a").await.is_empty() && !in_flight("b").await.is_empty()).then_some(())
        },
    )
    .await;
    a.kill9();
    let killed_with: HashSet<String> = in_flight("a").await.into_iter().collect();
    assert!(!killed_with.is_empty());
    // A restarts at once; B is alive and keeps its claims.
    let a2 = ServeChild::spawn(&env, "a2");
    a2.ready(&http).await;
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;

    // Every operation recorded as sent (so every call that got its 202 is in the journal).
    let mut counts = Vec::new();
    let sent = crate::poll::eventually(Duration::from_secs(60), async || {
        counts = store.operation_counts().await.expect("counts");
        (counts == vec![("sent".to_owned(), 30)]).then_some(())
    })
    .await;
    assert!(sent.is_some(), "not all sent: {counts:?}");
    // Calls still hanging in the slow simulator land within its latency.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let j = journal(&sim.calls().await, &container_of);
    assert_eq!(
        j.accepted.len(),
        container_of.len(),
        "every write reached NxtPort"
    );
    assert_eq!(j.order, expected, "order per container");
    // Only a call the dead replica had in flight may have reached NxtPort twice (at-least-once):
    // nothing a live replica was sending was taken from it.
    let twice: Vec<&String> = j
        .reached
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        twice.iter().all(|id| killed_with.contains(*id)),
        "sent twice although not in flight at the dead replica: {twice:?}"
    );
    // The dead replica's claims were taken back (after their lease) and delivered.
    let taken_back = store
        .testing()
        .operations_sent_after_retry()
        .await
        .expect("count");
    assert!(taken_back >= killed_with.len() as i64, "{taken_back}");
    store.close().await;
}

/// An in-process replica on a given database.
async fn replica(sim: &Sim, url: &str, tweak: impl FnOnce(&mut Settings)) -> Gw {
    let dir = tempfile::tempdir().expect("tempdir");
    Gw::serve(sim, dir, url.to_owned(), tweak).await
}

#[tokio::test]
async fn replicas_share_one_redis_budget_through_faults_redis_and_database_outages() {
    let test = "replicas_share_one_redis_budget";
    let Some(url) = pg_url().await else {
        return skip(test, "PostgreSQL skipped (CPU_GATEWAY_SKIP_PG=1)");
    };
    let Some(mut redis) = PrivateRedis::start() else {
        return skip(test, "redis-server is not installed");
    };
    // Connections of this test are named, so only they are dropped.
    let app_name = format!("scale_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{url}&application_name={app_name}");
    let sim = Sim::start().await;
    let (budget, period) = (20u32, 2u64);
    let tweak = |name: &'static str, master: secrecy::SecretString, redis_url: String| {
        move |s: &mut Settings| {
            s.master_key = Some(master);
            s.replica_id = Some(name.into());
            s.redis_url = Some(SecretString::from(redis_url));
            s.budget.per_minute = budget;
            s.budget.period_secs = period;
            s.budget.interactive_reserve_percent = 10;
            s.delivery.concurrency = 4;
            s.delivery.lease_secs = 5;
        }
    };
    let (_, master) = VaultKey::generate();
    let a = replica(&sim, &url, tweak("a", master.clone(), redis.url())).await;
    let b = replica(&sim, &url, tweak("b", master, redis.url())).await;
    let (entity, token) = a.token("alpha", Role::Editor).await;
    let (s, body) = Gw::send(
        a.req(Method::PUT, "/v1/connections/nxtport", &token)
            .json(&connection_body(&sim, "psa")),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    a.hook(&sim, &entity, "psa").await;

    sim.fault(json!({"path": "/", "status": 500, "fraction": 0.3}))
        .await;
    sim.fault(json!({"path": "/", "status": 429, "fraction": 0.1}))
        .await;
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut container_of = HashMap::new();
    let mut accept = |eq: &str, id: String| {
        container_of.insert(id.clone(), eq.to_owned());
        expected.entry(eq.to_owned()).or_default().push(id);
    };
    for n in 0..6 {
        let eq = container(950 + n);
        for (i, (path, body)) in life(&eq).into_iter().enumerate() {
            let gw = if i % 2 == 0 { &a } else { &b };
            let (s, acc) = gw.post(path, &token, &body).await;
            assert_eq!(s, 202, "{acc}");
            accept(&eq, acc["operationId"].as_str().expect("id").to_owned());
        }
    }

    // Once deliveries are under way, PostgreSQL drops every connection of both replicas.
    crate::poll::until(
        "a delivery reached the simulator",
        Duration::from_secs(30),
        async || {
            let calls = sim.calls().await;
            calls
                .iter()
                .any(|c| c["externalReferenceId"].is_string())
                .then_some(())
        },
    )
    .await;
    let admin = Store::connect(&url).await.expect("admin");
    let dropped = admin
        .testing()
        .terminate_postgres_sessions(&app_name)
        .await
        .expect("terminate");
    assert!(dropped > 0, "no connection was dropped");
    admin.close().await;

    // Redis goes away: no call leaves, writes are still accepted, the gate hears 503.
    redis.down();
    let trucker = sim.party("trucker").clone();
    let truck = json!({"alfapassNumber": trucker.alfapass_numbers.first().cloned().unwrap_or_default(),
        "releaseIdentification": [{"equipmentNumber": container(950)}]});
    // (A pooled connection PostgreSQL dropped fails its next query once: a 500, then the 503.)
    let mut tries = 0;
    let r = loop {
        tries += 1;
        let r = a
            .req(Method::POST, "/v1/pickup-validations/truck", &token)
            .json(&truck)
            .send()
            .await
            .expect("truck");
        if r.status() != 500 || tries >= 5 {
            break r;
        }
    };
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], json!("budget_unavailable"), "{body}");
    // (A connection PostgreSQL dropped fails one query: /ready may first blame the database.)
    let mut tries = 0;
    loop {
        tries += 1;
        let (s, ready) = a.get("/ready", &token).await;
        assert_eq!(s, 503);
        let message = ready["error"]["message"].as_str().unwrap_or_default();
        if message.contains("Redis") {
            break;
        }
        assert!(tries < 20 && message.contains("database"), "{ready}");
    }
    let eq = container(960);
    for (path, body) in life(&eq) {
        // A connection PostgreSQL dropped fails its next query once: that write is refused
        // with 500 and not stored, and the caller sends it again.
        let mut tries = 0;
        let acc = loop {
            tries += 1;
            let (s, acc) = b.post(path, &token, &body).await;
            if s == 202 {
                break acc;
            }
            assert!(s == 500 && tries < 10, "{s} {acc}");
        };
        accept(&eq, acc["operationId"].as_str().expect("id").to_owned());
    }
    // No slot is granted while Redis is away, and the workers did try: their operations wait
    // for the budget.
    let granted = || -> u64 {
        [&a, &b]
            .iter()
            .flat_map(|gw| gw.state.upstreams.budgets().metrics())
            .map(|(_, m)| m.granted_background + m.granted_interactive)
            .sum()
    };
    let during = granted();
    crate::poll::until(
        "a delivery waiting for the unreachable budget",
        Duration::from_secs(30),
        async || {
            let waiting = b
                .state
                .store
                .testing()
                .operations_queued_with_error("budget")
                .await
                .ok()?;
            (waiting > 0).then_some(())
        },
    )
    .await;
    assert_eq!(granted(), during, "a slot was granted without Redis");
    // Redis is back (empty: it was down longer than a window).
    assert!(redis.up(), "redis restarted");

    let total = container_of.len();
    let j = crate::poll::until(
        format!("all {total} writes reached the simulator"),
        Duration::from_secs(90),
        async || {
            let j = journal(&sim.calls().await, &container_of);
            (j.accepted.len() == total).then_some(j)
        },
    )
    .await;
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;
    assert_eq!(j.order, expected, "order per container");
    let twice: Vec<_> = j.reached.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "reached NxtPort twice: {twice:?}");
    let calls = sim.calls().await;
    let most = max_in_window(&calls, Duration::from_secs(period));
    eprintln!(
        "most calls in any {period} s window: {most} (budget {budget}); {} calls",
        calls.len()
    );
    assert!(most <= budget as usize, "{most} calls within {period} s");
    // Every call that reached the simulator had a slot (none went out unbudgeted).
    let cpu_calls = calls
        .iter()
        .filter(|c| {
            let p = c["path"].as_str().unwrap_or("");
            !p.contains("/connect/token") && !p.starts_with("/simulator")
        })
        .count() as u64;
    assert!(
        cpu_calls <= granted(),
        "{cpu_calls} calls, {} slots",
        granted()
    );
    let (s, _) = a.get("/ready", &token).await;
    assert_eq!(s, 200, "ready again");
}

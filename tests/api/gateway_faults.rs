//! Gateway under faults: the simulator failing 30% of calls with 500 and 10% with 429, an access
//! token expiring mid-run, and `kill -9` of the real binary with a full outbox. In every case
//! each accepted write reaches the simulator, in order per container, within the budget.

use super::gateway::{connected, Db, Gw};
use super::serve_child::{child_env, journal, life, max_in_window, seed_connection, ServeChild};
use super::sim_helpers::{container, Sim};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn gateway_delivers_everything_in_order_through_500s_and_429s_within_budget() {
    let sim = Sim::start().await;
    let (budget, period) = (30u32, 2u64);
    let gw = Gw::start(&sim, Db::Sqlite, |s| {
        s.budget.per_minute = budget;
        s.budget.period_secs = period;
        s.delivery.concurrency = 4;
    })
    .await
    .expect("sqlite");
    let (_, token) = connected(&gw, &sim, "alpha", "psa").await;
    sim.fault(json!({"path": "/", "status": 500, "fraction": 0.3}))
        .await;
    sim.fault(json!({"path": "/", "status": 429, "fraction": 0.1}))
        .await;
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut container_of = HashMap::new();
    for n in 0..4 {
        let eq = container(500 + n);
        for (path, body) in life(&eq) {
            let (s, acc) = gw.post(path, &token, &body).await;
            assert_eq!(s, 202, "{acc}");
            let id = acc["operationId"].as_str().expect("id").to_owned();
            container_of.insert(id.clone(), eq.clone());
            expected.entry(eq.clone()).or_default().push(id);
        }
    }
    // Faults until the deliveries have met them, then NxtPort recovers.
    super::poll::until(
        "a delivery answered by a fault",
        Duration::from_secs(30),
        async || {
            let calls = sim.calls().await;
            calls
                .iter()
                .any(|c| c["status"] == json!(500) || c["status"] == json!(429))
                .then_some(())
        },
    )
    .await;
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;
    let ids: Vec<String> = container_of.keys().cloned().collect();
    for id in &ids {
        let op = gw
            .wait_status(&token, id, "completed", Duration::from_secs(60))
            .await;
        assert!(op["publicReferenceId"].is_string());
    }
    let calls = sim.calls().await;
    assert_eq!(
        journal(&calls, &container_of).order,
        expected,
        "order per container"
    );
    // The faults really hit: the budget granted more calls than there were writes (retries).
    let granted: u64 = gw
        .state
        .upstreams
        .budgets()
        .metrics()
        .iter()
        .map(|(_, m)| m.granted_background + m.granted_interactive)
        .sum();
    assert!(
        granted > container_of.len() as u64,
        "granted {granted}: no retries happened"
    );
    // The budget held in every sliding window (the journal records what reached the API).
    let most = max_in_window(&calls, Duration::from_secs(period));
    assert!(
        most <= budget as usize,
        "{most} calls within {period}s, budget {budget}"
    );
    assert!(
        gw.counts().await.iter().all(|(s, _)| s == "completed"),
        "{:?}",
        gw.counts().await
    );
}

#[tokio::test]
async fn gateway_refreshes_an_expired_token_without_losing_a_write() {
    let sim = Sim::start_with(|c| c.token_ttl = chrono::Duration::seconds(300)).await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (entity, token) = connected(&gw, &sim, "alpha", "psa").await;
    let mut ids = Vec::new();
    for round in 0..3u32 {
        let eq = container(600 + round);
        let (s, acc) = gw
            .post(
                "/v1/discharges",
                &token,
                &json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z"}),
            )
            .await;
        assert_eq!(s, 202);
        let id = acc["operationId"].as_str().expect("id").to_owned();
        let op = gw
            .wait_status(&token, &id, "completed", Duration::from_secs(15))
            .await;
        assert_eq!(
            op["attempts"],
            json!(1),
            "a refresh after 401 is not a failed attempt: {op}"
        );
        ids.push(id);
        // The token the gateway holds expires (virtual clock).
        sim.advance(600).await;
    }
    let link = gw.state.upstreams.link(&entity).await.expect("link");
    assert!(
        link.client.token_fetches() >= 3,
        "fetches: {}",
        link.client.token_fetches()
    );
    assert!(gw.counts().await.iter().all(|(s, _)| s == "completed"));
}

#[tokio::test]
async fn gateway_kill_9_with_a_full_outbox_loses_nothing() {
    let sim = Sim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("gw.db").display());
    // The entity, its token and its connection in the database the child will use.
    let (token, master_key) = seed_connection(&db, &sim).await;
    let env = child_env(
        &sim,
        &db,
        &master_key,
        dir.path(),
        &[
            ("CPU_GATEWAY_RETRY__MAX_RETRIES", "1"),
            ("CPU_GATEWAY_RETRY__BASE_DELAY_MS", "20"),
            // A claim the kill interrupts is taken back after its lease (confirmed for the
            // request timeout + a lease when it was sent): keep both short.
            ("CPU_GATEWAY_DELIVERY__LEASE_SECS", "4"),
            ("CPU_GATEWAY_NXTPORT__TIMEOUT_MS", "5000"),
        ],
    );

    // NxtPort is down: everything the gateway accepts stays in the outbox.
    sim.fault(json!({"path": "/ingestion", "status": 503}))
        .await;
    sim.fault(json!({"path": "/certified-pickup", "status": 503}))
        .await;
    let mut child = ServeChild::spawn(&env, "first");
    let http = crate::sim_helpers::http();
    child.ready(&http).await;
    let base = child.base.clone();
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut container_of = HashMap::new();
    for n in 0..8 {
        let eq = container(700 + n);
        for (path, body) in life(&eq) {
            let r = http
                .post(format!("{base}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), 202);
            let acc: Value = r.json().await.expect("json");
            let id = acc["operationId"].as_str().expect("id").to_owned();
            container_of.insert(id.clone(), eq.clone());
            expected.entry(eq.clone()).or_default().push(id);
        }
    }
    assert_eq!(container_of.len(), 40);
    child.kill9();

    // NxtPort is back; the gateway restarts on the same database.
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;
    let child = ServeChild::spawn(&env, "restarted");
    child.ready(&http).await;
    let base = child.base.clone();
    let total = container_of.len();
    let order = super::poll::until(
        format!("all {total} writes reached the simulator"),
        Duration::from_secs(60),
        async || {
            let order = journal(&sim.calls().await, &container_of).order;
            (order.values().map(Vec::len).sum::<usize>() == total).then_some(order)
        },
    )
    .await;
    assert_eq!(order, expected, "order per container after the restart");
    let (s, list) = {
        let r = http
            .get(format!("{base}/v1/operations?limit=100"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(40));
    assert!(
        list.as_array()
            .is_some_and(|a| a.iter().all(|o| o["status"] != json!("failed"))),
        "{list}"
    );
}

//! Syncing: deduplication, one run at a time, disconnecting, basic data without extended
//! permissions, the scheduler's back-off, and the NxtPort CPu source against the simulator.

use super::{psa_demo, spawn, spawn_with};
use crate::gateway::Db;
use cpu_gateway::sources::model::TimeKind;
use cpu_gateway::sources::{HumanDuration, Terminal};
use serde_json::{json, Value};
use std::time::Duration;

async fn sync_deduplicates_and_a_failing_terminal_does_not_affect_others(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    let mpet = env.account("mpet", json!({"events": 120, "seed": 7})).await;
    let psa = env
        .account(
            "psa",
            json!({"identifier": "ops-psa", "secret": "pw-1", "events": 300, "seed": 7}),
        )
        .await;
    env.put(
        "psa",
        json!({"username": psa["identifier"], "password": "pw-1"}),
    )
    .await;
    env.put(
        "mpet",
        json!({"uuid": mpet["identifier"], "token": mpet["secret"]}),
    )
    .await;
    assert_eq!(env.settled("psa").await["status"], "connected");
    assert_eq!(env.settled("mpet").await["status"], "connected");

    let (s, run) = env.sync("psa").await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(
        (
            run["status"].as_str(),
            run["fetched"].as_i64(),
            run["stored"].as_i64()
        ),
        (Some("succeeded"), Some(300), Some(300))
    );
    // Again: nothing new. Then the feed grows: only the new events.
    let (_, run) = env.sync("psa").await;
    assert_eq!(run["stored"], 0, "{run}");
    env.account("psa", json!({"identifier": "ops-psa", "events": 450}))
        .await;
    let (_, run) = env.sync("psa").await;
    assert_eq!(run["stored"], 150, "{run}");

    // MPET fails; PSA goes on.
    env.fault("mpet", json!({"kind": "server_error"})).await;
    let (_, run) = env.sync("mpet").await;
    assert_eq!(
        (run["status"].as_str(), run["errorCode"].as_str()),
        (Some("failed"), Some("terminal_unavailable")),
        "{run}"
    );
    assert_eq!(env.state("mpet").await["code"], "terminal_unavailable");
    env.account("psa", json!({"identifier": "ops-psa", "events": 500}))
        .await;
    assert_eq!(env.sync("psa").await.1["stored"], 50);
    assert_eq!(env.state("psa").await["status"], "connected");
    // MPET recovers with nothing lost: its 120 moves, and its status lights (observed states,
    // each change stored once).
    env.clear_faults("mpet").await;
    let (_, run) = env.sync("mpet").await;
    assert_eq!(run["status"].as_str(), Some("succeeded"), "{run}");
    let tallies = env
        .store
        .testing()
        .event_tallies(&env.entity)
        .await
        .expect("tallies");
    let moves = tallies.count(|t| t.terminal == Terminal::Mpet && t.time_kind == TimeKind::Actual);
    let mpet = tallies.count(|t| t.terminal == Terminal::Mpet);
    assert_eq!(moves, 120);
    assert_eq!(run["stored"].as_i64(), Some(mpet), "{run}");
    let n = tallies.total();
    assert_eq!(n, 500 + mpet);
    let (_, hist) = env.get("/v1/data-sources/mpet/syncs").await;
    assert_eq!(hist.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn sync_deduplicates_and_a_failing_terminal_does_not_affect_others_sqlite() {
    sync_deduplicates_and_a_failing_terminal_does_not_affect_others(Db::Sqlite).await;
}

#[tokio::test]
async fn sync_deduplicates_and_a_failing_terminal_does_not_affect_others_postgres() {
    sync_deduplicates_and_a_failing_terminal_does_not_affect_others(Db::Postgres).await;
}

async fn a_sync_cannot_run_twice_at_once(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    env.put("psa", psa_demo()).await;
    env.settled("psa").await;
    env.fault("psa", json!({"kind": "slow", "latencyMs": 800, "count": 1}))
        .await;
    let (s, run) = env
        .call(
            reqwest::Method::POST,
            "/v1/data-sources/psa/sync",
            &env.editor,
            None,
        )
        .await;
    assert_eq!((s, run["status"].as_str()), (202, Some("running")), "{run}");
    let (s, v) = env
        .call(
            reqwest::Method::POST,
            "/v1/data-sources/psa/sync",
            &env.editor,
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("sync_running")),
        "{v}"
    );
}

#[tokio::test]
async fn a_sync_cannot_run_twice_at_once_sqlite() {
    a_sync_cannot_run_twice_at_once(Db::Sqlite).await;
}

#[tokio::test]
async fn a_sync_cannot_run_twice_at_once_postgres() {
    a_sync_cannot_run_twice_at_once(Db::Postgres).await;
}

async fn disconnect_stops_sync_and_keeps_history_and_timeline(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    env.put("psa", psa_demo()).await;
    env.put(
        "tmining",
        json!({"username": "demo@tmining.example", "password": "tmining-demo-password"}),
    )
    .await;
    env.settled("psa").await;
    env.settled("tmining").await;
    assert_eq!(env.sync("psa").await.1["status"], "succeeded");
    assert_eq!(env.sync("tmining").await.1["status"], "succeeded");
    // Demo accounts share their containers: find one with events from both sources.
    let equipment: String = env
        .store
        .testing()
        .event_tallies(&env.entity)
        .await
        .expect("tallies")
        .containers()
        .into_iter()
        .find_map(|(equipment, sources)| (sources.len() == 2).then_some(equipment))
        .expect("shared container");
    let (s, tl) = env.get(&format!("/v1/containers/{equipment}/events")).await;
    assert_eq!(s, 200);
    let events = tl["events"].as_array().cloned().unwrap_or_default();
    let sources: std::collections::BTreeSet<_> = events
        .iter()
        .map(|e| e["source"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(sources.len(), 2, "{tl}");
    let times: Vec<_> = events
        .iter()
        .map(|e| e["occurredAt"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "timeline not ordered"
    );

    let (s, _) = env
        .call(
            reqwest::Method::DELETE,
            "/v1/data-sources/psa",
            &env.editor,
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(env.state("psa").await["status"], "not_connected");
    let (s, v) = env.sync("psa").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("not_connected"))
    );
    let (_, hist) = env.get("/v1/data-sources/psa/syncs").await;
    assert_eq!(hist.as_array().map(Vec::len), Some(1));
    let (_, tl2) = env.get(&format!("/v1/containers/{equipment}/events")).await;
    assert_eq!(tl2["events"], tl["events"]);
    let (s, v) = env
        .call(
            reqwest::Method::DELETE,
            "/v1/data-sources/psa",
            &env.editor,
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("not_connected"))
    );
    let (s, _) = env.get("/v1/containers/CSQU3054384/events").await;
    assert_eq!(s, 400);
    // Category X with its own right check digit: only the category letter is wrong.
    let (s, _) = env.get("/v1/containers/CSQX3054382/events").await;
    assert_eq!(s, 400);
    assert!(env
        .audit()
        .await
        .iter()
        .any(|e| e["action"] == "datasource.disconnect" && e["outcome"] == "ok"));
}

#[tokio::test]
async fn disconnect_stops_sync_and_keeps_history_and_timeline_sqlite() {
    disconnect_stops_sync_and_keeps_history_and_timeline(Db::Sqlite).await;
}

#[tokio::test]
async fn disconnect_stops_sync_and_keeps_history_and_timeline_postgres() {
    disconnect_stops_sync_and_keeps_history_and_timeline(Db::Postgres).await;
}

#[tokio::test]
async fn ect_without_approved_extended_permissions_syncs_basic_data_with_a_warning() {
    let env = spawn().await;
    let acc = env
        .account("ect", json!({"extendedApproved": false, "events": 60}))
        .await;
    let body = json!({"clientId": acc["identifier"], "clientSecret": acc["secret"], "subscriptionKey": acc["subscriptionKey"], "extendedPermissions": true});
    env.put("ect", body).await;
    let st = env.settled("ect").await;
    assert_eq!(st["status"], "connected", "{st}");
    assert_eq!(st["warning"]["code"], "extended_permissions_not_approved");
    let (_, run) = env.sync("ect").await;
    assert_eq!(run["status"], "succeeded");
    let kinds: Vec<String> = env
        .store
        .testing()
        .event_tallies(&env.entity)
        .await
        .expect("kinds")
        .kinds()
        .into_iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert!(!kinds.is_empty());
    assert!(
        kinds
            .iter()
            .all(|k| ["discharge", "load", "gate_in", "gate_out"].contains(&k.as_str())),
        "{kinds:?}"
    );
    // A wrong subscription key is a credentials problem.
    env.put(
        "ect",
        json!({"clientId": acc["identifier"], "subscriptionKey": "wrong"}),
    )
    .await;
    assert_eq!(env.settled("ect").await["code"], "invalid_credentials");
}

async fn the_scheduler_syncs_on_its_own_and_backs_off_on_failure(db: Db) {
    let Some(env) = spawn_with(db, |s| {
        s.scheduler = true;
        s.tick = HumanDuration(Duration::from_millis(100));
        s.default_interval = HumanDuration(Duration::from_millis(300));
    })
    .await
    else {
        return;
    };
    env.put("psa", psa_demo()).await;
    crate::poll::until("300 events stored", Duration::from_secs(10), async || {
        let stored = env
            .store
            .sources()
            .count_events(&env.entity, cpu_gateway::sources::Terminal::Psa)
            .await
            .expect("count");
        (stored == 300).then_some(())
    })
    .await;
    env.fault("psa", json!({"kind": "server_error"})).await;
    crate::poll::until(
        "the scheduler marks the terminal unavailable",
        Duration::from_secs(10),
        async || (env.state("psa").await["code"] == "terminal_unavailable").then_some(()),
    )
    .await;
    let failures = env
        .store
        .sources()
        .get_connection(&env.entity, Terminal::Psa)
        .await
        .expect("read")
        .expect("the psa connection")
        .failures;
    assert!(
        (1..=4).contains(&failures),
        "backoff should limit retries, got {failures}"
    );
    env.clear_faults("psa").await;
}

#[tokio::test]
async fn the_scheduler_syncs_on_its_own_and_backs_off_on_failure_sqlite() {
    the_scheduler_syncs_on_its_own_and_backs_off_on_failure(Db::Sqlite).await;
}

#[tokio::test]
async fn the_scheduler_syncs_on_its_own_and_backs_off_on_failure_postgres() {
    the_scheduler_syncs_on_its_own_and_backs_off_on_failure(Db::Postgres).await;
}

async fn nxtport_cpu_source_authenticates_against_the_simulator_and_syncs_notifications(db: Db) {
    let sim = cpu_gateway::simulate::Application::build(
        cpu_gateway::simulate::SimConfig::default(),
        "127.0.0.1:0",
    )
    .await
    .expect("sim");
    let sim_base = format!("http://127.0.0.1:{}", sim.port());
    tokio::spawn(sim.run_until_stopped());
    let nx = sim_base.clone();
    let Some(env) = spawn_with(db, move |s| {
        s.base_urls
            .insert(cpu_gateway::sources::Terminal::Nxtport, nx);
    })
    .await
    else {
        return;
    };
    let parties: Value = env
        .http
        .get(format!("{sim_base}/simulator/v1/parties"))
        .send()
        .await
        .expect("parties")
        .json()
        .await
        .expect("json");
    let psa = parties
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["key"] == "psa")
        .expect("psa party")
        .clone();
    let body = |password: &Value| json!({"clientId": psa["clientId"], "clientSecret": psa["clientSecret"], "username": psa["username"], "password": password, "apiKey": psa["subscriptionKey"], "ingestionId": psa["ingestionId"], "terminalCode": psa["terminalCode"]});
    env.put("nxtport", body(&json!("not-the-password"))).await;
    assert_eq!(env.settled("nxtport").await["code"], "invalid_credentials");
    env.put("nxtport", body(&psa["password"])).await;
    let st = env.settled("nxtport").await;
    assert_eq!(st["status"], "connected", "{st}");
    // The account is the user's, not the vendor's shared client id.
    assert_eq!(st["identifier"], psa["username"]);
    let (s, run) = env.sync("nxtport").await;
    assert_eq!(
        (s, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
}

#[tokio::test]
async fn nxtport_cpu_source_authenticates_against_the_simulator_and_syncs_notifications_sqlite() {
    nxtport_cpu_source_authenticates_against_the_simulator_and_syncs_notifications(Db::Sqlite)
        .await;
}

#[tokio::test]
async fn nxtport_cpu_source_authenticates_against_the_simulator_and_syncs_notifications_postgres() {
    nxtport_cpu_source_authenticates_against_the_simulator_and_syncs_notifications(Db::Postgres)
        .await;
}

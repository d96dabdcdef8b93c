//! Issue 10 item 5: the Data Sources NxtPort CPu source calls NxtPort through the gateway's own
//! client. One subscription key has one budget and one token whichever feature calls, and a 401
//! on a Data Sources read fetches a new token and tries again.

use super::gateway::{connected, Db, Gw};
use super::sim_helpers::{container, Sim};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn the_nxtport_source_shares_the_gateways_budget_token_and_401_refresh() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |s| s.sources.scheduler = false)
        .await
        .expect("sqlite");
    let (entity, token) = connected(&gw, &sim, "alpha", "psa").await;

    // A gateway write reaches NxtPort.
    let (s, acc) = gw
        .post(
            "/v1/discharges",
            &token,
            &json!({"equipmentNumber": container(77), "timestamp": "2024-05-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["operationId"].as_str().expect("id");
    gw.wait_status(&token, id, "completed", Duration::from_secs(20))
        .await;

    // The Data Sources NxtPort source on the same connection (`{}`: the gateway's credentials),
    // verified and synced.
    let (s, body) = Gw::send(
        gw.req(Method::PUT, "/v1/data-sources/nxtport", &token)
            .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let mut state = Value::Null;
    for _ in 0..100 {
        let (_, v) = gw.get("/v1/data-sources/nxtport", &token).await;
        state = v["state"].clone();
        if state["status"] != "verifying" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state["status"], "connected", "{state}");
    let sync = || async {
        let (s, run) = gw
            .post(
                "/v1/data-sources/nxtport/sync?wait=true",
                &token,
                &json!({}),
            )
            .await;
        assert_eq!(
            (s, run["status"].as_str()),
            (200, Some("succeeded")),
            "{run}"
        );
    };
    sync().await;
    // NxtPort refuses the next notification read with 401: the client drops its token, gets a
    // new one (refresh grant) and reads again; the sync still succeeds.
    sim.fault(json!({"path": "/certified-pickup/v1/notifications", "status": 401, "count": 1}))
        .await;
    sync().await;

    let calls = sim.calls().await;
    let cpu = |path: &str| {
        calls
            .iter()
            .filter(|c| c["party"] == json!("psa"))
            .filter(|c| c["path"].as_str().is_some_and(|p| p.starts_with(path)))
            .map(|c| c["status"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    let reads = cpu("/certified-pickup/v1/notifications");
    let writes = cpu("/ingestion/");
    assert!(writes.contains(&202), "the gateway's write: {writes:?}");
    assert!(reads.len() >= 3, "verification and two syncs: {reads:?}");
    assert_eq!(reads.iter().filter(|s| **s == 401).count(), 1, "{reads:?}");
    // Every call of the key, whichever feature made it, took a slot of the one budget.
    let all = cpu("/");
    let key = SecretString::from(sim.party("psa").subscription_key.clone());
    let m = gw.state.upstreams.budgets().budget_for(&key).metrics();
    assert_eq!(
        m.granted_interactive + m.granted_background,
        all.len() as u64,
        "budget grants vs NxtPort calls of the key: {all:?}"
    );
    // One client, one token cache: the gateway's write and both syncs used one password grant;
    // the 401 cost one more grant.
    let link = gw.state.upstreams.link(&entity).await.expect("link");
    assert_eq!(link.client.token_fetches(), 2);
}

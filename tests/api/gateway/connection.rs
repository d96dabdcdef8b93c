//! The CPu connection: Data Sources' NxtPort CPu shares it, an incomplete one is refused, and
//! concurrent first saves make one.

use super::{code, connection_body, discharge, Db, Gw};
use crate::sim_helpers::{container, Sim};
use cpu_gateway::store::{AuditLog, Role};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Data Sources' NxtPort CPu shares the gateway's CPu connection
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn gateway_nxtport_data_source_shares_the_cpu_connection() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = gw.token("shared", Role::Editor).await;
    gw.connect(&token, &sim, "psa").await;
    // `{}`: every field comes from the gateway's CPu connection.
    let (s, got) = Gw::send(
        gw.req(Method::PUT, "/v1/data-sources/nxtport", &token)
            .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200, "{got}");
    // The account is the NxtPort user's (the client id is the vendor's, shared).
    assert_eq!(
        got["state"]["identifier"].as_str(),
        Some(sim.party("psa").username.as_str()),
        "{got}"
    );
    // A new client id saved through Data Sources is the gateway connection's client id too, and
    // the gateway's own fields stay.
    let (s, got) = Gw::send(
        gw.req(Method::PUT, "/v1/data-sources/nxtport", &token)
            .json(&json!({"clientId": "rotated-client"})),
    )
    .await;
    assert_eq!(s, 200, "{got}");
    let (s, conn) = gw.get("/v1/connections/nxtport", &token).await;
    assert_eq!(s, 200, "{conn}");
    assert_eq!(conn["clientId"], "rotated-client");
    assert_eq!(
        conn["terminalCode"].as_str(),
        sim.party("psa").terminal_code.as_deref()
    );
    // Disconnecting the data source stops its sync but keeps the gateway's connection.
    let (s, got) = Gw::send(gw.req(Method::DELETE, "/v1/data-sources/nxtport", &token)).await;
    assert!(s == 200 || s == 204, "{s} {got}");
    let (s, conn) = gw.get("/v1/connections/nxtport", &token).await;
    assert_eq!(s, 200, "{conn}");
}

/// NxtPort CPu connected through Data Sources first (no `PUT /v1/connections/nxtport`): each
/// field the gateway needs to deliver terminal events is required, and a missing or malformed
/// one is a 400 naming it, with nothing saved.
#[tokio::test]
async fn gateway_nxtport_data_source_refuses_an_incomplete_connection() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = gw.token("ds-first", Role::Editor).await;
    let full = || {
        let mut b = connection_body(&sim, "psa");
        b.as_object_mut().expect("object").remove("portLoCode");
        b
    };
    let without = |field: &str| {
        let mut b = full();
        b.as_object_mut().expect("object").remove(field);
        b
    };
    let with = |field: &str, value: Value| {
        let mut b = full();
        b[field] = value;
        b
    };
    for (body, field) in [
        (without("ingestionId"), "ingestionId"),
        (without("terminalCode"), "terminalCode"),
        (without("clientId"), "clientId"),
        (with("ingestionId", json!("  ")), "ingestionId"),
        (with("ingestionId", json!("not an id")), "ingestionId"),
        (with("terminalCode", json!("86 9")), "terminalCode"),
        (with("portLoCode", json!("XX")), "portLoCode"),
    ] {
        let (s, v) = Gw::send(
            gw.req(Method::PUT, "/v1/data-sources/nxtport", &token)
                .json(&body),
        )
        .await;
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some(field)), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let (s, v) = gw.get("/v1/connections/nxtport", &token).await;
    assert_eq!(s, 404, "nothing saved: {v}");
    let (s, v) = gw
        .post("/v1/discharges", &token, &discharge(&container(31)))
        .await;
    assert_eq!((s, code(&v)), (409, "connection_missing"), "{v}");
}

/// NxtPort CPu connected through Data Sources first with every field: the gateway's connection
/// is complete (the port defaults to Antwerp) and a discharge is delivered with it.
#[tokio::test]
async fn gateway_nxtport_data_source_makes_a_complete_connection() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (entity, token) = gw.token("ds-complete", Role::Editor).await;
    let party = sim.party("psa");
    let mut body = connection_body(&sim, "psa");
    body.as_object_mut().expect("object").remove("portLoCode");
    let (s, v) = Gw::send(
        gw.req(Method::PUT, "/v1/data-sources/nxtport", &token)
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, conn) = gw.get("/v1/connections/nxtport", &token).await;
    assert_eq!(s, 200, "{conn}");
    assert_eq!(conn["ingestionId"].as_str(), party.ingestion_id.as_deref());
    assert_eq!(
        conn["terminalCode"].as_str(),
        party.terminal_code.as_deref()
    );
    assert_eq!(conn["portLoCode"], "BEANR");
    assert_eq!(
        conn["secretsSet"],
        json!(["apiKey", "clientSecret", "password"])
    );
    gw.hook(&sim, &entity, "psa").await;
    let (s, acc) = gw
        .post("/v1/discharges", &token, &discharge(&container(32)))
        .await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["operationId"].as_str().expect("id").to_owned();
    gw.wait_status(&token, &id, "completed", Duration::from_secs(10))
        .await;
}

/// A connection record saved before connections were checked (no ingestion id, no terminal
/// code): `POST /v1/discharges` answers 409 naming the gap and queues nothing.
#[tokio::test]
async fn gateway_discharges_refuse_an_incomplete_stored_connection() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (entity, token) = gw.token("legacy", Role::Editor).await;
    let party = sim.party("psa");
    let mut secrets = cpu_gateway::store::SecretFields::new();
    for (name, value) in [
        ("clientSecret", &party.client_secret),
        ("password", &party.password),
        ("apiKey", &party.subscription_key),
    ] {
        secrets.insert(name.into(), secrecy::SecretString::from(value.clone()));
    }
    gw.state
        .vault
        .put(
            &cpu_gateway::store::Actor::system(&entity),
            "nxtport",
            json!({"clientId": party.client_id, "username": party.username}),
            secrets,
            cpu_gateway::store::vault::SecretMerge::Replace,
        )
        .await
        .expect("legacy record");
    let (s, v) = gw
        .post("/v1/discharges", &token, &discharge(&container(33)))
        .await;
    assert_eq!((s, code(&v)), (409, "connection_incomplete"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ingestionId")),
        "{v}"
    );
    assert!(gw.counts().await.is_empty(), "nothing queued");
    // The connection view shows what is there.
    let (s, conn) = gw.get("/v1/connections/nxtport", &token).await;
    assert_eq!((s, conn["ingestionId"].as_str()), (200, Some("")), "{conn}");
}

// ---------------------------------------------------------------------------------------------
// Concurrent first saves of the CPu connection
// ---------------------------------------------------------------------------------------------

/// `N` identical first-time `PUT /v1/connections/nxtport` of one entity at once: every answer is
/// 200, one credential row, one `credentials.create` and `N - 1` `credentials.update` audited
/// (no secret in them), and the stored credentials decrypt and authenticate at the simulator.
async fn concurrent_first_connections(db: Db) {
    const N: usize = 8;
    let sim = Sim::start().await;
    let Some(gw) = Gw::start(&sim, db, |_| {}).await else {
        return;
    };
    let (entity, token) = gw.token("racer", Role::Editor).await;
    let body = connection_body(&sim, "psa");
    let answers = futures::future::join_all((0..N).map(|_| {
        Gw::send(
            gw.req(Method::PUT, "/v1/connections/nxtport", &token)
                .json(&body),
        )
    }))
    .await;
    for (s, v) in &answers {
        assert_eq!(*s, 200, "{v}");
    }
    let rows = gw
        .state
        .store
        .testing()
        .credential_rows_of(&entity, "nxtport")
        .await
        .expect("count");
    assert_eq!(rows, 1);
    let log = AuditLog::list(&gw.state.store, &entity, 100)
        .await
        .expect("audit");
    let count = |action: &str| {
        log.iter()
            .filter(|e| e.action == action && e.outcome == "ok")
            .count()
    };
    assert_eq!(
        (count("credentials.create"), count("credentials.update")),
        (1, N - 1),
        "{log:?}"
    );
    let text = serde_json::to_string(&log).expect("json");
    let p = sim.party("psa");
    for secret in [&p.client_secret, &p.password, &p.subscription_key] {
        assert!(!text.contains(secret.as_str()), "secret in the audit log");
    }
    // The stored secrets are the submitted ones: the gateway authenticates with them.
    let (s, v) = gw.get("/v1/companies?entityName=PSA", &token).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn gateway_concurrent_first_connections_sqlite() {
    concurrent_first_connections(Db::Sqlite).await;
}

#[tokio::test]
async fn gateway_concurrent_first_connections_postgres() {
    concurrent_first_connections(Db::Postgres).await;
}

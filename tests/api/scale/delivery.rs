//! Delivery under refusals and tenants: CPu refusals fail fast and block their container until
//! an operator acts, and an entity bound by its budget does not delay another.

use crate::gateway::{connection_body, Gw};
use crate::sim_helpers::{container, Sim};
use cpu_gateway::store::Role;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// Errors that will not heal fail fast, and operators can act: a terminal code the connection
/// does not have is refused at intake; NxtPort's CPu refusal (a 401 that names the terminal,
/// not the token) fails the operation at its first attempt with NxtPort's message; the
/// container's later writes wait (`blockedBy`) until an editor cancels it (a refusal does not
/// heal) or retries it (an outage that outlasted the attempts does).
#[tokio::test]
async fn cpu_refusals_fail_fast_block_their_container_and_operators_retry_or_cancel() {
    use crate::gateway::{connected, Db};
    use cpu_gateway::store::AuditLog;
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |s| s.delivery.max_attempts = 2)
        .await
        .expect("sqlite");
    let (entity, token) = connected(&gw, &sim, "alpha", "psa").await;
    let (_, viewer) = gw.token("alpha", Role::Viewer).await;
    let psa_terminal = sim.party("psa").terminal_code.clone().expect("terminal");
    let put_terminal = |terminal: &str| {
        let mut body = connection_body(&sim, "psa");
        body["terminalCode"] = json!(terminal);
        Gw::send(
            gw.req(Method::PUT, "/v1/connections/nxtport", &token)
                .json(&body),
        )
    };
    let act = |id: &str, verb: &str, who: &str| {
        Gw::send(gw.req(Method::POST, &format!("/v1/operations/{id}/{verb}"), who))
    };
    let write = |path: &'static str, eq: String| {
        let gw = &gw;
        let token = token.clone();
        async move {
            let (s, acc) = gw
                .post(
                    path,
                    &token,
                    &json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z"}),
                )
                .await;
            assert_eq!(s, 202, "{acc}");
            acc["operationId"].as_str().expect("id").to_owned()
        }
    };
    assert_eq!(put_terminal("9999").await.0, 200);
    let eq = container(980);

    // Intake: a terminal code that is not the connection's is refused; nothing is queued.
    let (s, body) = gw
        .post(
            "/v1/discharges",
            &token,
            &json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z", "terminalCode": psa_terminal}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["field"], json!("terminalCode"), "{body}");
    assert!(gw.counts().await.is_empty());

    // NxtPort refuses the connection's terminal 9999 for PSA: failed at once, its message kept.
    let first = write("/v1/discharges", eq.clone()).await;
    let op = gw
        .wait_status(&token, &first, "failed", Duration::from_secs(15))
        .await;
    assert_eq!(
        op["attempts"],
        json!(1),
        "not retried as a token problem: {op}"
    );
    assert!(
        op["error"]
            .as_str()
            .is_some_and(|e| e.contains("terminalCode 9999 does not belong")),
        "{op}"
    );
    // The container's next write waits behind it and says so.
    let second = write("/v1/gate-outs", eq.clone()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, op) = gw.get(&format!("/v1/operations/{second}"), &token).await;
    assert_eq!(op["status"], json!("queued"), "{op}");
    assert_eq!(op["blockedBy"], json!(first), "{op}");
    // Operators act: a viewer may not; an editor cancels what will not heal.
    assert_eq!(act(&first, "cancel", &viewer).await.0, 403);
    assert_eq!(act(&second, "retry", &token).await.0, 409, "not failed");
    let (s, op) = act(&first, "cancel", &token).await;
    assert_eq!(s, 200, "{op}");
    assert_eq!(op["status"], json!("cancelled"));
    // The gate out is free to go (and is refused the same way: it names terminal 9999 too).
    gw.wait_status(&token, &second, "failed", Duration::from_secs(15))
        .await;
    assert_eq!(act(&second, "cancel", &token).await.0, 200);
    assert_eq!(put_terminal(&psa_terminal).await.0, 200);

    // An outage longer than the attempts: failed, then retried by an editor once it is over.
    sim.fault(json!({"path": "/ingestion", "status": 503}))
        .await;
    let eq = container(981);
    let down = write("/v1/discharges", eq.clone()).await;
    let op = gw
        .wait_status(&token, &down, "failed", Duration::from_secs(15))
        .await;
    assert!(
        op["error"]
            .as_str()
            .is_some_and(|e| e.contains("gave up after 2 attempts")),
        "{op}"
    );
    let next = write("/v1/gate-outs", eq.clone()).await;
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;
    assert_eq!(act(&down, "retry", &viewer).await.0, 403);
    let (s, op) = act(&down, "retry", &token).await;
    assert_eq!(s, 200, "{op}");
    assert_eq!(op["status"], json!("queued"));
    for id in [&down, &next] {
        gw.wait_status(&token, id, "completed", Duration::from_secs(15))
            .await;
    }
    let (s, body) = act(&next, "cancel", &token).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], json!("conflict"));

    let audit = AuditLog::list(&gw.state.store, &entity, 50)
        .await
        .expect("audit");
    let actions: Vec<(String, String)> = audit
        .iter()
        .filter(|a| a.action.starts_with("operation."))
        .map(|a| (a.action.clone(), a.outcome.clone()))
        .collect();
    for expected in [
        ("operation.retry", "denied"),
        ("operation.retry", "invalid"),
        ("operation.retry", "ok"),
        ("operation.cancel", "denied"),
        ("operation.cancel", "invalid"),
        ("operation.cancel", "ok"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, o)| a == expected.0 && o == expected.1),
            "{expected:?} not audited: {actions:?}"
        );
    }
}

/// Many tenants: an entity whose budget is exhausted by its backlog does not hold every
/// delivery slot; another entity's write goes through while that backlog still waits.
#[tokio::test]
async fn a_budget_bound_entity_does_not_delay_another_one() {
    use crate::gateway::{connected, Db};
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |s| {
        s.budget.per_minute = 4;
        s.budget.period_secs = 3;
        s.delivery.concurrency = 4;
        s.delivery.per_entity_concurrency = 2;
    })
    .await
    .expect("sqlite");
    let (_, busy) = connected(&gw, &sim, "alpha", "psa").await;
    let (_, quiet) = connected(&gw, &sim, "beta", "dpworld").await;
    for n in 0..16 {
        let (s, acc) = gw
            .post(
                "/v1/discharges",
                &busy,
                &json!({"equipmentNumber": container(1000 + n), "timestamp": "2024-05-01T08:00:00Z"}),
            )
            .await;
        assert_eq!(s, 202, "{acc}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, acc) = gw
        .post(
            "/v1/discharges",
            &quiet,
            &json!({"equipmentNumber": container(1100), "timestamp": "2024-05-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["operationId"].as_str().expect("id").to_owned();
    let op = gw
        .wait_status(&quiet, &id, "completed", Duration::from_secs(20))
        .await;
    assert!(op["publicReferenceId"].is_string());
    // alpha's backlog (4 calls per 3 s) is still far from done.
    let (_, list) = gw.get("/v1/operations?limit=100", &busy).await;
    let waiting = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|o| o["status"] == json!("queued"))
        .count();
    assert!(
        waiting >= 8,
        "beta waited for alpha's backlog: {waiting} left"
    );
}

//! Connecting a terminal: the list, bad input, verification, each fault's user message, the test
//! endpoint, one account under one entity, and concurrent first connections.

use super::{psa_demo, spawn, spawn_with};
use crate::gateway::Db;
use cpu_gateway::sources::{HumanDuration, Terminal};
use cpu_gateway::store::{AuditLog, Role};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn list_shows_six_terminals_by_region_and_needs_a_token() {
    let env = spawn().await;
    let (s, v) = env.get("/v1/data-sources").await;
    assert_eq!(s, 200);
    assert_eq!(v["entityId"], env.entity);
    let groups = v["groups"].as_array().expect("groups");
    let regions: Vec<_> = groups
        .iter()
        .map(|g| g["region"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        regions,
        ["Belgium - Antwerp", "Netherlands - Rotterdam", "additional"]
    );
    let all: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["dataSources"].as_array().expect("ds").iter())
        .collect();
    let names: Vec<_> = all
        .iter()
        .map(|d| d["terminal"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["psa", "dpworld", "mpet", "tmining", "ect", "nxtport"]
    );
    assert!(all.iter().all(|d| d["state"]["status"] == "not_connected"));
    assert_eq!(all[2]["authType"], "uuid_token");
    assert_eq!(all[0]["syncIntervalSecs"], 4 * 3600);
    let pw = all[0]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "password")
        .expect("pw")
        .clone();
    assert_eq!(pw["secret"], true);
    assert_eq!(pw["required"], true);
    let (s, v) = env
        .call(
            reqwest::Method::GET,
            "/v1/data-sources",
            "wrong-token",
            None,
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(v["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_saved() {
    let env = spawn().await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("psa", json!({"username": "bob"}), 400, "required"),
        (
            "psa",
            json!({"username": "   ", "password": "x"}),
            400,
            "blank",
        ),
        ("psa", json!({"password": "x"}), 400, "required"),
        (
            "psa",
            json!({"username": "bob", "password": "x", "token": "t"}),
            400,
            "unknown_field",
        ),
        (
            "psa",
            json!({"username": 12, "password": "x"}),
            400,
            "invalid_type",
        ),
        (
            "psa",
            json!({"username": "b".repeat(257), "password": "x"}),
            400,
            "too_long",
        ),
        ("psa", json!(["username"]), 400, "invalid_body"),
        (
            "mpet",
            json!({"uuid": "not-a-uuid", "token": "t"}),
            400,
            "invalid_uuid",
        ),
        (
            "ect",
            json!({"clientId": "c", "clientSecret": "s", "subscriptionKey": "k", "extendedPermissions": "yes"}),
            400,
            "invalid_type",
        ),
        (
            "hutchison",
            json!({"username": "bob", "password": "x"}),
            404,
            "unknown_terminal",
        ),
    ];
    for (t, body, status, code) in cases {
        let (s, v) = env.put(t, body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{t} {body}: {v}"
        );
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // Malformed JSON and an oversize body.
    let resp = env
        .http
        .put(format!("{}/v1/data-sources/psa", env.api))
        .bearer_auth(&env.editor)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    let big = json!({"username": "bob", "password": "x".repeat(20_000)});
    let (s, v) = env.put("psa", big).await;
    assert_eq!(s, 413, "{v}");
    // A viewer may not write.
    let (s, v) = env
        .call(
            reqwest::Method::PUT,
            "/v1/data-sources/psa",
            &env.viewer,
            Some(psa_demo()),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")));
    // Nothing saved.
    let (_, list) = env.get("/v1/data-sources").await;
    assert!(!list.to_string().contains("\"connected\""));
    let n = env.store.testing().credential_rows().await.expect("count");
    assert_eq!(n, 0);
    // Refusals are audited.
    assert!(env
        .audit()
        .await
        .iter()
        .any(|e| e["action"] == "datasource.connect" && e["outcome"] == "invalid"));
}

async fn connect_verifies_to_connected_and_never_returns_a_secret(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    let (s, v) = env
        .put(
            "psa",
            json!({"username": "  demo-psa ", "password": "psa-demo-password"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(!v.to_string().contains("psa-demo-password"));
    let st = env.settled("psa").await;
    assert_eq!(st["status"], "connected", "{st}");
    assert_eq!(st["identifier"], "demo-psa");
    // Update without the password keeps the stored one (still verifies).
    let (s, _) = env.put("psa", json!({"username": "demo-psa"})).await;
    assert_eq!(s, 200);
    assert_eq!(env.settled("psa").await["status"], "connected");
    for path in [
        "/v1/data-sources",
        "/v1/data-sources/psa",
        "/v1/data-sources/audit",
        "/v1/data-sources/psa/syncs",
    ] {
        let (_, v) = env.get(path).await;
        assert!(
            !v.to_string().contains("psa-demo-password"),
            "{path} leaks the secret"
        );
    }
    let actions: Vec<_> = env
        .audit()
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_string())
        .collect();
    for a in [
        "datasource.connect",
        "datasource.update",
        "datasource.verify",
    ] {
        assert!(actions.iter().any(|x| x == a), "missing {a} in {actions:?}");
    }
}

#[tokio::test]
async fn connect_verifies_to_connected_and_never_returns_a_secret_sqlite() {
    connect_verifies_to_connected_and_never_returns_a_secret(Db::Sqlite).await;
}

#[tokio::test]
async fn connect_verifies_to_connected_and_never_returns_a_secret_postgres() {
    connect_verifies_to_connected_and_never_returns_a_secret(Db::Postgres).await;
}

#[tokio::test]
async fn every_fault_kind_ends_in_its_user_message() {
    let env = spawn_with(Db::Sqlite, |s| {
        s.timeout = HumanDuration(Duration::from_millis(500))
    })
    .await
    .expect("sqlite");
    let cases = [
        (
            "wrong_password",
            "invalid_credentials",
            "rejected the credentials",
        ),
        (
            "api_not_activated",
            "api_access_not_activated",
            "API access is not activated",
        ),
        ("quota_exceeded", "quota_exceeded", "quota"),
        ("rate_limited", "rate_limited", "resumes in 30 s"),
        (
            "server_error",
            "terminal_unavailable",
            "temporarily unavailable",
        ),
        ("slow", "terminal_timeout", "did not answer in time"),
    ];
    for (kind, code, words) in cases {
        env.clear_faults("dpworld").await;
        env.fault("dpworld", json!({"kind": kind, "latencyMs": 2000}))
            .await;
        let (s, _) = env
            .put(
                "dpworld",
                json!({"username": "demo-dpworld", "password": "dpworld-demo-password"}),
            )
            .await;
        assert_eq!(s, 200);
        let st = env.settled("dpworld").await;
        assert_eq!(st["status"], "error", "{kind}: {st}");
        assert_eq!(st["code"], code, "{kind}: {st}");
        assert!(
            st["message"].as_str().unwrap_or("").contains(words),
            "{kind}: {st}"
        );
    }
    env.clear_faults("dpworld").await;
    // A real wrong password, no fault.
    env.put(
        "dpworld",
        json!({"username": "demo-dpworld", "password": "nope"}),
    )
    .await;
    assert_eq!(env.settled("dpworld").await["code"], "invalid_credentials");
    env.put(
        "dpworld",
        json!({"username": "demo-dpworld", "password": "dpworld-demo-password"}),
    )
    .await;
    assert_eq!(env.settled("dpworld").await["status"], "connected");
}

#[tokio::test]
async fn test_endpoint_checks_credentials_without_saving() {
    let env = spawn().await;
    let path = "/v1/data-sources/mpet/test";
    let good = json!({"uuid": "6f1c3c1e-5a8d-4c1e-9d2b-00000000d001", "token": "mpet-demo-token"});
    let bad = json!({"uuid": "6f1c3c1e-5a8d-4c1e-9d2b-00000000d001", "token": "wrong"});
    let (s, v) = env
        .call(reqwest::Method::POST, path, &env.editor, Some(bad))
        .await;
    assert_eq!(
        (s, v["ok"].as_bool(), v["code"].as_str()),
        (200, Some(false), Some("invalid_credentials")),
        "{v}"
    );
    let (s, v) = env
        .call(reqwest::Method::POST, path, &env.editor, Some(good))
        .await;
    assert_eq!((s, v["ok"].as_bool()), (200, Some(true)), "{v}");
    assert!(!v.to_string().contains("mpet-demo-token"));
    assert_eq!(env.state("mpet").await["status"], "not_connected");
}

#[tokio::test]
async fn the_same_terminal_account_cannot_be_connected_under_two_entities() {
    let env = spawn().await;
    assert_eq!(env.put("psa", psa_demo()).await.0, 200);
    let (other, _) = env.store.ensure_entity("globex").await.expect("entity");
    let (_, tok) = env
        .store
        .create_token(&other.id, Role::Editor, None)
        .await
        .expect("token");
    let (s, v) = env
        .call(
            reqwest::Method::PUT,
            "/v1/data-sources/psa",
            tok.expose_secret(),
            Some(json!({"username": "DEMO-PSA", "password": "x"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("credentials_in_use")),
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("another entity"));
    let (_, list) = env
        .call(
            reqwest::Method::GET,
            "/v1/data-sources/psa",
            tok.expose_secret(),
            None,
        )
        .await;
    assert_eq!(list["state"]["status"], "not_connected");
}

/// `N` identical first-time `PUT /v1/data-sources/psa` of one entity at once: every answer is
/// 200, one connection row and one credential row, one create and `N - 1` updates audited (for
/// the connection and for its credentials, no secret in them), and the stored credentials
/// decrypt and verify at the terminal.
async fn concurrent_first_connections_make_one_connection(db: Db) {
    const N: usize = 8;
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    let answers = futures::future::join_all((0..N).map(|_| env.put("psa", psa_demo()))).await;
    for (s, v) in &answers {
        assert_eq!(*s, 200, "{v}");
    }
    let rows = env.store.testing();
    assert_eq!(
        rows.connection_rows_of(&env.entity, Terminal::Psa)
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        rows.credential_rows_of(&env.entity, "datasource:psa")
            .await
            .expect("count"),
        1
    );
    let log = AuditLog::list(&env.store, &env.entity, 500)
        .await
        .expect("audit");
    let audited = |action: &str| {
        log.iter()
            .filter(|e| e.action == action && e.outcome == "ok")
            .count()
    };
    assert_eq!(
        (audited("datasource.connect"), audited("datasource.update")),
        (1, N - 1),
        "{log:?}"
    );
    assert_eq!(
        (audited("credentials.create"), audited("credentials.update")),
        (1, N - 1),
        "{log:?}"
    );
    assert!(!serde_json::to_string(&log)
        .expect("json")
        .contains("psa-demo-password"));
    assert_eq!(env.settled("psa").await["status"], "connected");
}

#[tokio::test]
async fn concurrent_first_connections_make_one_connection_sqlite() {
    concurrent_first_connections_make_one_connection(Db::Sqlite).await;
}

#[tokio::test]
async fn concurrent_first_connections_make_one_connection_postgres() {
    concurrent_first_connections_make_one_connection(Db::Postgres).await;
}

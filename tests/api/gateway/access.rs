//! Who may do what: auth, roles, isolation between entities, support's impersonation, and
//! secrets that are write-only.

use super::{code, connected, connection_body, discharge, Db, Gw};
use crate::sim_helpers::{container, Sim};
use cpu_gateway::store::{AuditLog, Role};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Auth, roles, isolation, impersonation
// ---------------------------------------------------------------------------------------------

async fn auth_and_roles(db: Db) {
    let sim = Sim::start().await;
    let Some(gw) = Gw::start(&sim, db, |_| {}).await else {
        return;
    };
    let (a_id, a_editor) = connected(&gw, &sim, "alpha", "psa").await;
    let (_, a_viewer) = gw.token("alpha", Role::Viewer).await;
    let (_b_id, b_editor) = connected(&gw, &sim, "beta", "dpworld").await;
    let (_, support) = gw.token("helpdesk", Role::Support).await;
    let eq = container(101);

    // Missing and wrong tokens: 401 with the envelope.
    let (s, body) = Gateway::no_auth(&gw, "/v1/operations").await;
    assert_eq!((s, code(&body)), (401, "unauthorized"), "{body}");
    let (s, body) = gw.get("/v1/operations", "cgw_not-a-real-token").await;
    assert_eq!((s, code(&body)), (401, "unauthorized"), "{body}");

    // A viewer reads but cannot write.
    let (s, body) = gw.post("/v1/discharges", &a_viewer, &discharge(&eq)).await;
    assert_eq!((s, code(&body)), (403, "forbidden"), "{body}");
    let (s, _) = Gateway::send(
        gw.req(Method::PUT, "/v1/connections/nxtport", &a_viewer)
            .json(&connection_body(&sim, "psa")),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = gw.get("/v1/operations", &a_viewer).await;
    assert_eq!(s, 200);

    // Entity isolation: B cannot see A's operation.
    let (s, accepted) = gw.post("/v1/discharges", &a_editor, &discharge(&eq)).await;
    assert_eq!(s, 202, "{accepted}");
    let op = accepted["operationId"].as_str().expect("id").to_owned();
    let (s, body) = gw.get(&format!("/v1/operations/{op}"), &b_editor).await;
    assert_eq!((s, code(&body)), (404, "not_found"), "{body}");
    let (s, list) = gw.get("/v1/operations", &b_editor).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(0));
    let (s, _) = gw.get(&format!("/v1/operations/{op}"), &a_viewer).await;
    assert_eq!(s, 200);

    // Only support may act for another entity, and that is audited as impersonation.
    let (s, body) = Gateway::send(
        gw.req(Method::GET, &format!("/v1/operations/{op}"), &b_editor)
            .header("X-Act-For-Entity", "alpha"),
    )
    .await;
    assert_eq!((s, code(&body)), (403, "forbidden"), "{body}");
    let (s, body) = gw.get(&format!("/v1/operations/{op}"), &support).await;
    assert_eq!(
        s, 404,
        "support without the header acts for its own entity: {body}"
    );
    let (s, body) = Gateway::send(
        gw.req(Method::GET, &format!("/v1/operations/{op}"), &support)
            .header("X-Act-For-Entity", "alpha"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["operationId"], json!(op));
    let (s, _) = Gateway::send(
        gw.req(Method::GET, "/v1/operations", &support)
            .header("X-Act-For-Entity", "no-such-entity"),
    )
    .await;
    assert_eq!(s, 404);
    let audit = AuditLog::list(&gw.state.store, &a_id, 50)
        .await
        .expect("audit");
    let imp: Vec<_> = audit.iter().filter(|e| e.action == "impersonate").collect();
    assert_eq!(imp.len(), 1, "{audit:?}");
    assert!(imp[0].impersonation);
    assert_eq!(imp[0].target, format!("GET /v1/operations/{op}"));
    assert_ne!(imp[0].actor_entity_id.as_deref(), Some(a_id.as_str()));
}

/// Requests without a token.
struct Gateway;
impl Gateway {
    async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
        Gw::send(rb).await
    }
    async fn no_auth(gw: &Gw, path: &str) -> (u16, Value) {
        Gw::send(gw.http.get(format!("{}{path}", gw.base))).await
    }
}

#[tokio::test]
async fn gateway_auth_roles_isolation_impersonation_sqlite() {
    auth_and_roles(Db::Sqlite).await;
}

#[tokio::test]
async fn gateway_auth_roles_isolation_impersonation_postgres() {
    auth_and_roles(Db::Postgres).await;
}

// ---------------------------------------------------------------------------------------------
// Secrets are write-only
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn gateway_secrets_never_leave_after_saving() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (entity, token) = gw.token("alpha", Role::Editor).await;
    let p = sim.party("psa").clone();
    let saved = gw.connect(&token, &sim, "psa").await;
    let (_, read) = gw.get("/v1/connections/nxtport", &token).await;
    // Update without secrets keeps them; the answer lists names only.
    let mut update = connection_body(&sim, "psa");
    for k in ["clientSecret", "password", "apiKey"] {
        update.as_object_mut().map(|o| o.remove(k));
    }
    let (s, updated) = Gw::send(
        gw.req(Method::PUT, "/v1/connections/nxtport", &token)
            .json(&update),
    )
    .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(
        updated["secretsSet"],
        json!(["apiKey", "clientSecret", "password"])
    );
    // The connection still works after the update (secrets kept).
    gw.hook(&sim, &entity, "psa").await;
    let (s, acc) = gw
        .post("/v1/discharges", &token, &discharge(&container(7)))
        .await;
    assert_eq!(s, 202);
    let id = acc["operationId"].as_str().expect("id").to_owned();
    gw.wait_status(&token, &id, "completed", Duration::from_secs(10))
        .await;
    let audit = AuditLog::list(&gw.state.store, &entity, 100)
        .await
        .expect("audit");
    let metrics = gw
        .http
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .expect("m")
        .text()
        .await
        .expect("t");
    let texts = [
        saved.to_string(),
        read.to_string(),
        updated.to_string(),
        serde_json::to_string(&audit).expect("json"),
        metrics,
        format!("{:?}", gw.state),
    ];
    for secret in [&p.password, &p.client_secret, &p.subscription_key] {
        for t in &texts {
            assert!(!t.contains(secret.as_str()), "secret leaked into {t}");
        }
    }
    assert!(audit.iter().any(|e| e.action == "credentials.create"));
    assert!(audit.iter().any(|e| e.action == "credentials.update"));
    assert!(audit.iter().any(|e| e.action == "credentials.read"));
    // Nothing in clear text on disk.
    gw.state.store.close().await;
    // SQLite removes its -wal and -shm files when the last connection closes, which may happen
    // between listing the folder and reading a file (a loaded machine saw it): read until one
    // pass reads every file it listed, so no file escapes the check and none is read half gone.
    let files = crate::poll::until(
        "a full pass over the database folder",
        Duration::from_secs(10),
        async || {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(gw.dir.path()).expect("dir") {
                let path = entry.expect("entry").path();
                match std::fs::read(&path) {
                    Ok(bytes) => files.push((path, bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
                    Err(e) => panic!("{}: {e}", path.display()),
                }
            }
            Some(files)
        },
    )
    .await;
    assert!(
        files.iter().any(|(path, _)| path.ends_with("gw.db")),
        "the database file was not read: {files:?}",
        files = files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, bytes) in &files {
        let hay = String::from_utf8_lossy(bytes);
        for secret in [&p.password, &p.client_secret, &p.subscription_key] {
            assert!(
                !hay.contains(secret.as_str()),
                "secret in clear text on disk ({})",
                path.display()
            );
        }
    }
}

//! Support acting for an entity is audited as impersonation, and no secret is stored in clear
//! text (the SQLite files, the PostgreSQL tables).

use super::{psa_demo, spawn, spawn_with, Env};
use crate::gateway::Db;
use cpu_gateway::store::Role;
use secrecy::ExposeSecret;
use serde_json::json;

#[tokio::test]
async fn support_acting_for_an_entity_is_audited_as_impersonation() {
    let env = spawn().await;
    let (support_entity, _) = env
        .store
        .ensure_entity("dockflow-support")
        .await
        .expect("entity");
    let (_, tok) = env
        .store
        .create_token(&support_entity.id, Role::Support, None)
        .await
        .expect("token");
    let resp = env
        .http
        .put(format!("{}/v1/data-sources/psa", env.api))
        .bearer_auth(tok.expose_secret())
        .header("X-Act-For-Entity", env.entity.clone())
        .json(&psa_demo())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let entry = env
        .audit()
        .await
        .into_iter()
        .find(|e| e["action"] == "datasource.connect")
        .expect("audited");
    assert_eq!(entry["impersonation"], true);
    assert_eq!(entry["actorEntityId"], support_entity.id);
    // An editor may not act for another entity.
    let resp = env
        .http
        .get(format!("{}/v1/data-sources", env.api))
        .bearer_auth(&env.editor)
        .header("X-Act-For-Entity", support_entity.id.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 403);
}

/// Connect three sources with distinctive secrets and sync one, then look for the secrets in
/// everything the database holds: the SQLite file and its WAL, or every row of every PostgreSQL
/// table (as text; `bytea` columns show as hex, so the hex form of each secret is looked for too).
async fn no_secret_in_clear_text_in_the_database(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    let secrets = [
        "Pw-psa-7f3a91c2",
        "Tok-mpet-1b2c3d4e",
        "Sec-ect-99aa88bb",
        "Key-ect-77cc66dd",
    ];
    env.account(
        "psa",
        json!({"identifier": "scan-psa", "secret": secrets[0]}),
    )
    .await;
    let m = env.account("mpet", json!({"secret": secrets[1]})).await;
    let e = env
        .account(
            "ect",
            json!({"secret": secrets[2], "subscriptionKey": secrets[3], "extendedApproved": true}),
        )
        .await;
    env.put(
        "psa",
        json!({"username": "scan-psa", "password": secrets[0]}),
    )
    .await;
    env.put(
        "mpet",
        json!({"uuid": m["identifier"], "token": secrets[1]}),
    )
    .await;
    env.put("ect", json!({"clientId": e["identifier"], "clientSecret": secrets[2], "subscriptionKey": secrets[3]})).await;
    for t in ["psa", "mpet", "ect"] {
        assert_eq!(env.settled(t).await["status"], "connected");
    }
    assert_eq!(env.sync("psa").await.1["status"], "succeeded");
    match db {
        Db::Sqlite => scan_sqlite_files(&env, &secrets),
        Db::Postgres => scan_postgres_tables(&env, &secrets).await,
    }
}

/// Scan the database file and its WAL: the identifier is there (the scan sees real data), no
/// secret is.
fn scan_sqlite_files(env: &Env, secrets: &[&str]) {
    let mut identifier_seen = false;
    for entry in std::fs::read_dir(env.dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        identifier_seen |= bytes.windows(8).any(|w| w == b"scan-psa");
        for s in secrets.iter() {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{s} in clear text in {}",
                path.display()
            );
        }
    }
    assert!(
        identifier_seen,
        "the scan did not find the (public) identifier: it reads nothing"
    );
}

/// Scan every row of every table of the test schema, as text.
async fn scan_postgres_tables(env: &Env, secrets: &[&str]) {
    let dump = env
        .store
        .testing()
        .postgres_rows_as_text()
        .await
        .expect("rows");
    let tables: Vec<&String> = dump.iter().map(|(table, _)| table).collect();
    for t in [
        "credentials",
        "ds_connections",
        "ds_events",
        "ds_syncs",
        "audit_log",
    ] {
        assert!(tables.iter().any(|x| *x == t), "{t} not in {tables:?}");
    }
    let hex: Vec<String> = secrets
        .iter()
        .map(|s| s.bytes().map(|b| format!("{b:02x}")).collect())
        .collect();
    let mut identifier_seen = false;
    for (table, rows) in &dump {
        for row in rows {
            identifier_seen |= table == "ds_connections" && row.contains("scan-psa");
            for (s, h) in secrets.iter().zip(&hex) {
                assert!(
                    !row.contains(s) && !row.contains(h.as_str()),
                    "{s} in clear text in table {table}"
                );
            }
        }
    }
    assert!(
        identifier_seen,
        "the scan did not find the (public) identifier: it reads nothing"
    );
}

#[tokio::test]
async fn no_secret_in_clear_text_in_the_database_file() {
    no_secret_in_clear_text_in_the_database(Db::Sqlite).await;
}

#[tokio::test]
async fn no_secret_in_clear_text_in_the_postgres_tables() {
    no_secret_in_clear_text_in_the_database(Db::Postgres).await;
}

//! Data Sources over real HTTP: the terminal emulations on one port, the gateway's application
//! (the production path: its `Caller` extractor, quota and impersonation audit) on another, a
//! fresh SQLite file per test; the tests of the SQL that matters most also run on PostgreSQL
//! (127.0.0.1:5432, database `test`, one fresh schema per test; skipped visibly when
//! unreachable), see [`pg_url`].

use std::time::Duration;

use actix_web::{App, HttpServer};
use cpu_gateway::gateway::config::{Mode, Settings};
use cpu_gateway::gateway::Application;
use cpu_gateway::simulate::terminals::{configure_emulations, EmulationsState};
use cpu_gateway::sources::{HumanDuration, SourcesSettings};
use cpu_gateway::store::{AuditLog, Role, Store, VaultKey};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::gateway::{pg_url, Db};

pub(crate) struct Env {
    pub(crate) api: String,
    pub(crate) emu: String,
    pub(crate) http: reqwest::Client,
    pub(crate) store: Store,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) entity: String,
    pub(crate) editor: String,
    pub(crate) viewer: String,
}

async fn spawn_emulations() -> String {
    let state = EmulationsState::new();
    let server =
        HttpServer::new(move || App::new().configure(|c| configure_emulations(c, state.clone())))
            .workers(1)
            .bind("127.0.0.1:0")
            .expect("bind emulations");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

/// Start the emulations and the gateway (Data Sources mounted in it) on `db` (`None` for a
/// skipped PostgreSQL run), with `tweak` applied to the Data Sources settings.
pub(crate) async fn spawn_with(db: Db, tweak: impl FnOnce(&mut SourcesSettings)) -> Option<Env> {
    spawn_gateway(db, |s| tweak(&mut s.sources)).await
}

/// [`spawn_with`], with `tweak` applied to the whole gateway settings.
pub(crate) async fn spawn_gateway(db: Db, tweak: impl FnOnce(&mut Settings)) -> Option<Env> {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("gw.db").display()),
        Db::Postgres => pg_url().await?,
    };
    let emu = spawn_emulations().await;
    let (_, key) = VaultKey::generate();
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        mode: Mode::Uat,
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url),
        master_key: Some(key),
        demo: false,
        sources: SourcesSettings {
            timeout: HumanDuration(Duration::from_secs(2)),
            scheduler: false,
            backoff_base: HumanDuration(Duration::from_millis(200)),
            ..SourcesSettings::default()
        }
        .with_simulator(&emu),
        ..Settings::default()
    };
    // No CPu calls in these tests: the gateway's NxtPort face points at the emulations.
    settings.nxtport.api_base_url = Some(emu.clone());
    settings.nxtport.token_url = Some(format!("{emu}/connect/token"));
    settings.notifications.poll_interval_secs = 0;
    tweak(&mut settings);
    let app = Application::build(settings)
        .await
        .expect("build the gateway");
    let port = app.port();
    let store = app.state().store.clone();
    tokio::spawn(app.run_until_stopped());
    // Tokens made the way `cpu-gateway token create` makes them.
    let (entity, _) = store.ensure_entity("acme").await.expect("entity");
    let (_, editor) = store
        .create_token(&entity.id, Role::Editor, None)
        .await
        .expect("token");
    let (_, viewer) = store
        .create_token(&entity.id, Role::Viewer, None)
        .await
        .expect("token");
    Some(Env {
        api: format!("http://127.0.0.1:{port}"),
        emu,
        http: reqwest::Client::new(),
        store,
        dir,
        entity: entity.id,
        editor: editor.expose_secret().to_string(),
        viewer: viewer.expose_secret().to_string(),
    })
}

/// A SQLite environment with default settings.
async fn spawn() -> Env {
    spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite")
}

impl Env {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, &self.editor, None)
            .await
    }
    pub(crate) async fn put(&self, t: &str, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/v1/data-sources/{t}"),
            &self.editor,
            Some(body),
        )
        .await
    }
    pub(crate) async fn sync(&self, t: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/data-sources/{t}/sync?wait=true"),
            &self.editor,
            None,
        )
        .await
    }
    pub(crate) async fn state(&self, t: &str) -> Value {
        let (s, v) = self.get(&format!("/v1/data-sources/{t}")).await;
        assert_eq!(s, 200, "{v}");
        v["state"].clone()
    }
    /// Poll until the state is no longer `verifying` (bounded: 10 s).
    pub(crate) async fn settled(&self, t: &str) -> Value {
        super::poll::until(
            format!("{t} no longer verifying"),
            Duration::from_secs(10),
            async || Some(self.state(t).await).filter(|st| st["status"] != "verifying"),
        )
        .await
    }
    pub(crate) async fn emu_post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.emu))
            .json(&body)
            .send()
            .await
            .expect("emu");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("emu json")
    }
    pub(crate) async fn fault(&self, t: &str, body: Value) {
        self.emu_post(&format!("/emulations/{t}/faults"), body)
            .await;
    }
    pub(crate) async fn clear_faults(&self, t: &str) {
        let resp = self
            .http
            .delete(format!("{}/emulations/{t}/faults", self.emu))
            .send()
            .await
            .expect("emu");
        assert_eq!(resp.status().as_u16(), 204);
    }
    pub(crate) async fn account(&self, t: &str, body: Value) -> Value {
        self.emu_post(&format!("/emulations/{t}/accounts"), body)
            .await
    }
    pub(crate) async fn audit(&self) -> Vec<Value> {
        let (s, v) = self.get("/v1/data-sources/audit?limit=500").await;
        assert_eq!(s, 200);
        v.as_array().cloned().unwrap_or_default()
    }
}

fn psa_demo() -> Value {
    json!({"username": "demo-psa", "password": "psa-demo-password"})
}

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
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credentials")
        .fetch_one(env.store.pool())
        .await
        .expect("count");
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
    let count = |sql: &'static str| {
        let (store, entity) = (env.store.clone(), env.entity.clone());
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(entity)
                .fetch_one(store.pool())
                .await
                .expect("count")
        }
    };
    let moves = count("SELECT COUNT(*) FROM ds_events WHERE entity_id = $1 AND terminal = 'mpet' AND time_kind = 'actual'").await;
    let mpet =
        count("SELECT COUNT(*) FROM ds_events WHERE entity_id = $1 AND terminal = 'mpet'").await;
    assert_eq!(moves, 120);
    assert_eq!(run["stored"].as_i64(), Some(mpet), "{run}");
    let n = count("SELECT COUNT(*) FROM ds_events WHERE entity_id = $1").await;
    assert_eq!(n, 500 + mpet);
    let (_, hist) = env.get("/v1/data-sources/mpet/syncs").await;
    assert_eq!(hist.as_array().map(Vec::len), Some(2));
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
    let equipment: String = sqlx::query_scalar(
        "SELECT equipment_number FROM ds_events WHERE entity_id = $1 GROUP BY equipment_number HAVING COUNT(DISTINCT terminal) = 2 LIMIT 1",
    )
    .bind(env.entity.clone())
    .fetch_one(env.store.pool())
    .await
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
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT kind FROM ds_events WHERE entity_id = $1")
            .bind(env.entity.clone())
            .fetch_all(env.store.pool())
            .await
            .expect("kinds");
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
    super::poll::until("300 events stored", Duration::from_secs(10), async || {
        let stored = cpu_gateway::sources::repo::count_events(
            &env.store,
            &env.entity,
            cpu_gateway::sources::Terminal::Psa,
        )
        .await
        .expect("count");
        (stored == 300).then_some(())
    })
    .await;
    env.fault("psa", json!({"kind": "server_error"})).await;
    super::poll::until(
        "the scheduler marks the terminal unavailable",
        Duration::from_secs(10),
        async || (env.state("psa").await["code"] == "terminal_unavailable").then_some(()),
    )
    .await;
    let failures: i64 =
        sqlx::query_scalar("SELECT failures FROM ds_connections WHERE entity_id = $1")
            .bind(env.entity.clone())
            .fetch_one(env.store.pool())
            .await
            .expect("failures");
    assert!(
        (1..=4).contains(&failures),
        "backoff should limit retries, got {failures}"
    );
    env.clear_faults("psa").await;
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
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(env.store.pool())
    .await
    .expect("tables");
    for t in [
        "credentials",
        "ds_connections",
        "ds_events",
        "ds_syncs",
        "audit_log",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} not in {tables:?}");
    }
    let hex: Vec<String> = secrets
        .iter()
        .map(|s| s.bytes().map(|b| format!("{b:02x}")).collect())
        .collect();
    let mut identifier_seen = false;
    for table in &tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT r::text FROM {table} r"))
            .fetch_all(env.store.pool())
            .await
            .expect("rows");
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
    let count = |sql: &'static str| {
        let (store, entity) = (env.store.clone(), env.entity.clone());
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(entity)
                .fetch_one(store.pool())
                .await
                .expect("count")
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM ds_connections WHERE entity_id = $1 AND terminal = 'psa'")
            .await,
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM credentials WHERE entity_id = $1 AND kind = 'datasource:psa'")
            .await,
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

#[tokio::test]
async fn connect_verifies_to_connected_and_never_returns_a_secret_sqlite() {
    connect_verifies_to_connected_and_never_returns_a_secret(Db::Sqlite).await;
}

#[tokio::test]
async fn connect_verifies_to_connected_and_never_returns_a_secret_postgres() {
    connect_verifies_to_connected_and_never_returns_a_secret(Db::Postgres).await;
}

#[tokio::test]
async fn sync_deduplicates_and_a_failing_terminal_does_not_affect_others_sqlite() {
    sync_deduplicates_and_a_failing_terminal_does_not_affect_others(Db::Sqlite).await;
}

#[tokio::test]
async fn sync_deduplicates_and_a_failing_terminal_does_not_affect_others_postgres() {
    sync_deduplicates_and_a_failing_terminal_does_not_affect_others(Db::Postgres).await;
}

#[tokio::test]
async fn a_sync_cannot_run_twice_at_once_sqlite() {
    a_sync_cannot_run_twice_at_once(Db::Sqlite).await;
}

#[tokio::test]
async fn a_sync_cannot_run_twice_at_once_postgres() {
    a_sync_cannot_run_twice_at_once(Db::Postgres).await;
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
async fn the_scheduler_syncs_on_its_own_and_backs_off_on_failure_sqlite() {
    the_scheduler_syncs_on_its_own_and_backs_off_on_failure(Db::Sqlite).await;
}

#[tokio::test]
async fn the_scheduler_syncs_on_its_own_and_backs_off_on_failure_postgres() {
    the_scheduler_syncs_on_its_own_and_backs_off_on_failure(Db::Postgres).await;
}

#[tokio::test]
async fn no_secret_in_clear_text_in_the_database_file() {
    no_secret_in_clear_text_in_the_database(Db::Sqlite).await;
}

#[tokio::test]
async fn no_secret_in_clear_text_in_the_postgres_tables() {
    no_secret_in_clear_text_in_the_database(Db::Postgres).await;
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

//! Data Sources over real HTTP: the terminal emulations on one port, the gateway's application
//! (the production path: its `Caller` extractor, quota and impersonation audit) on another, a
//! fresh SQLite file per test; the tests of the SQL that matters most also run on PostgreSQL
//! (127.0.0.1:5432, database `test`, one fresh schema per test; skipped visibly when
//! unreachable), see [`crate::gateway::pg_url`].

use super::gateway::{data_dir, Db};
use actix_web::{App, HttpServer};
use cpu_gateway::gateway::config::{Mode, Settings};
use cpu_gateway::gateway::Application;
use cpu_gateway::simulate::terminals::{configure_emulations, EmulationsState};
use cpu_gateway::sources::{HumanDuration, SourcesSettings};
use cpu_gateway::store::{Role, Store, VaultKey};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::time::Duration;

mod connect;
mod security;
mod sync;

pub(crate) struct Env {
    pub(crate) api: String,
    pub(crate) emu: String,
    pub(crate) http: reqwest::Client,
    pub(crate) store: Store,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) entity: String,
    pub(crate) editor: String,
    pub(crate) viewer: String,
    /// What the gateway was built with (a replica is built with the same).
    settings: Settings,
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
    let (dir, url) = data_dir(db).await?;
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
    let app = Application::build(settings.clone())
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
        http: crate::sim_helpers::http(),
        store,
        dir,
        entity: entity.id,
        editor: editor.expose_secret().to_string(),
        viewer: viewer.expose_secret().to_string(),
        settings,
    })
}

/// A SQLite environment with default settings.
async fn spawn() -> Env {
    spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite")
}

impl Env {
    /// Set up the T-Mining webhook receiver as the editor, or issue it a new secret:
    /// (its path, its secret).
    pub(crate) async fn tmining_webhook(&self) -> (String, String) {
        let (s, hook) = self
            .call(
                reqwest::Method::POST,
                "/v1/data-sources/tmining/webhook",
                &self.editor,
                None,
            )
            .await;
        assert_eq!(s, 200, "{hook}");
        (
            hook["path"].as_str().expect("path").to_string(),
            hook["secret"].as_str().expect("secret").to_string(),
        )
    }

    /// Start another replica of the gateway on the same database and master key; its base URL.
    pub(crate) async fn replica(&self) -> String {
        let app = Application::build(self.settings.clone())
            .await
            .expect("build a replica");
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        format!("http://127.0.0.1:{port}")
    }

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

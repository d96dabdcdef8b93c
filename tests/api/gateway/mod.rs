//! Gateway integration tests: a real gateway on port 0 in the UAT code path (base URLs
//! overridden to a real simulator on loopback), on SQLite and on PostgreSQL
//! (127.0.0.1:5432, database `test`, one fresh schema per test; skipped visibly when unreachable).

use super::sim_helpers::Sim;
use cpu_gateway::gateway::config::{Mode, Settings};
use cpu_gateway::gateway::state::GatewayState;
use cpu_gateway::gateway::Application;
use cpu_gateway::store::{Role, VaultKey};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

mod access;
mod bad_input;
mod connection;
mod end_to_end;

/// Which database a test gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh schema's URL, or `None` (with a visible `SKIPPED` line) when PostgreSQL is
/// unavailable here; `.ci/run` makes that a failure (see `cpu_gateway::testenv`).
pub async fn pg_url() -> Option<String> {
    cpu_gateway::testenv::postgres_schema("gw_it").await
}

/// A running test gateway.
pub struct Gw {
    pub base: String,
    pub http: reqwest::Client,
    pub state: Arc<GatewayState>,
    pub dir: tempfile::TempDir,
    /// The simulator parties' secrets: none may reach the data folder in clear text.
    pub secrets: Vec<String>,
}

/// The secrets of the simulator's parties (what [`Gw`]'s drop check looks for).
pub fn party_secrets(sim: &Sim) -> Vec<String> {
    sim.parties
        .values()
        .flat_map(|p| [&p.password, &p.client_secret, &p.subscription_key])
        .filter(|s| s.len() >= 8)
        .cloned()
        .collect()
}

impl Drop for Gw {
    /// The invariant every gateway test checks on its way out (skipped while panicking): whatever
    /// the test did, no secret of the simulator's parties is in clear text in the data folder
    /// (the SQLite database and its WAL).
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            // A folder, or a file SQLite removed meanwhile: nothing to read.
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            let hay = String::from_utf8_lossy(&bytes);
            for secret in &self.secrets {
                assert!(
                    !hay.contains(secret.as_str()),
                    "a party secret in clear text in {}",
                    entry.path().display()
                );
            }
        }
    }
}

/// Settings of a test gateway: UAT code path against `sim`, fast retries, no polling.
pub fn settings(sim: &Sim, dir: &std::path::Path, database_url: String) -> Settings {
    let (_, key) = VaultKey::generate();
    let mut s = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        mode: Mode::Uat,
        data_dir: dir.to_path_buf(),
        database_url: Some(database_url),
        master_key: Some(key),
        demo: false,
        ..Settings::default()
    };
    s.nxtport.api_base_url = Some(sim.base.clone());
    s.nxtport.token_url = Some(format!("{}/connect/token", sim.base));
    s.nxtport.timeout_ms = 5_000;
    s.retry.base_delay_ms = 20;
    s.retry.max_delay_ms = 200;
    s.delivery.poll_interval_ms = 50;
    s.delivery.backoff_base_ms = 50;
    s.delivery.backoff_max_ms = 500;
    s.delivery.max_attempts = 200;
    s.notifications.poll_interval_secs = 0;
    s
}

/// A test gateway's data folder and database on `db`: a fresh temporary folder, and a SQLite file
/// in it or a fresh PostgreSQL schema (`None` for a skipped PostgreSQL run). With `TEST_LOG` set,
/// the gateway logs at info.
pub async fn data_dir(db: Db) -> Option<(tempfile::TempDir, String)> {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("gw.db").display()),
        Db::Postgres => pg_url().await?,
    };
    Some((dir, url))
}

impl Gw {
    /// Start a gateway on `db` (returns `None` for a skipped PostgreSQL run).
    pub async fn start(sim: &Sim, db: Db, tweak: impl FnOnce(&mut Settings)) -> Option<Gw> {
        let (dir, url) = data_dir(db).await?;
        Some(Gw::serve(sim, dir, url, tweak).await)
    }

    /// Start a gateway against `sim` on the database at `database_url`, its data folder `dir`
    /// ([`settings`], then `tweak`).
    pub async fn serve(
        sim: &Sim,
        dir: tempfile::TempDir,
        database_url: String,
        tweak: impl FnOnce(&mut Settings),
    ) -> Gw {
        let mut s = settings(sim, dir.path(), database_url);
        tweak(&mut s);
        let app = Application::build(s).await.expect("build the gateway");
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        let secrets = party_secrets(sim);
        Gw {
            base,
            http: crate::sim_helpers::http(),
            state,
            dir,
            secrets,
        }
    }

    /// An entity (created if missing) and a token of `role` for it.
    pub async fn token(&self, entity: &str, role: Role) -> (String, String) {
        let (e, _) = self
            .state
            .store
            .ensure_entity(entity)
            .await
            .expect("entity");
        let (_, t) = self
            .state
            .store
            .create_token(&e.id, role, None)
            .await
            .expect("token");
        (e.id, t.expose_secret().to_owned())
    }

    /// A request with a bearer token.
    pub fn req(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    /// Send and read status + JSON body.
    pub async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        Self::send(self.req(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        Self::send(self.req(Method::POST, path, token).json(body)).await
    }

    /// Save `party`'s credentials as the entity's connection through the API.
    pub async fn connect(&self, token: &str, sim: &Sim, party: &str) -> Value {
        let p = sim.party(party);
        let (status, body) = Self::send(
            self.req(Method::PUT, "/v1/connections/nxtport", token)
                .json(&connection_body(sim, party)),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["username"], json!(p.username));
        body
    }

    /// Register the gateway's webhook for the entity at the simulator.
    pub async fn hook(&self, sim: &Sim, entity_id: &str, party: &str) {
        cpu_gateway::gateway::sim::register_webhook(
            &self.state,
            &sim.base,
            sim.world.as_deref(),
            entity_id,
            &sim.party(party).nxt_entity_id,
        )
        .await
        .expect("register webhook");
    }

    /// Wait until the operation has `status` (bounded), returning it.
    pub async fn wait_status(
        &self,
        token: &str,
        id: &str,
        status: &str,
        within: Duration,
    ) -> Value {
        let mut last = Value::Null;
        let reached = super::poll::eventually(within, async || {
            let (code, op) = self.get(&format!("/v1/operations/{id}"), token).await;
            assert_eq!(code, 200, "{op}");
            if op["status"] == json!(status) {
                return Some(op);
            }
            last = op;
            None
        })
        .await;
        reached.unwrap_or_else(|| {
            panic!("operation {id} did not reach {status} in {within:?}: {last}")
        })
    }

    /// Operations per status in the outbox.
    pub async fn counts(&self) -> Vec<(String, i64)> {
        let mut c = self.state.store.operation_counts().await.expect("counts");
        c.sort();
        c
    }
}

/// Connection body for a simulator party.
pub fn connection_body(sim: &Sim, party: &str) -> Value {
    let p = sim.party(party);
    json!({
        "clientId": p.client_id,
        "clientSecret": p.client_secret,
        "username": p.username,
        "password": p.password,
        "apiKey": p.subscription_key,
        "ingestionId": p.ingestion_id,
        "terminalCode": p.terminal_code,
        "portLoCode": "BEANR",
    })
}

/// A connected editor: entity id and token.
pub async fn connected(gw: &Gw, sim: &Sim, name: &str, party: &str) -> (String, String) {
    let (entity, token) = gw.token(name, Role::Editor).await;
    gw.connect(&token, sim, party).await;
    gw.hook(sim, &entity, party).await;
    (entity, token)
}

fn discharge(eq: &str) -> Value {
    json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z", "fullEmptyIndicator": "full", "equipmentStatus": "import"})
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

//! What the tests that run the real `cpu-gateway serve` binary share (`gateway_faults`,
//! `scale`): a child process on a free port, an entity with a CPu connection written straight
//! into the database the children use, a container's life of writes and the simulator journal
//! read per operation.

use super::sim_helpers::Sim;
use cpu_gateway::store::vault::SecretMerge;
use cpu_gateway::store::{Actor, Role, SecretFields, Store, Vault, VaultKey};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A child `cpu-gateway serve` process on a port of its own (`base`). Killed when dropped.
pub struct ServeChild {
    child: std::process::Child,
    pub base: String,
}

impl ServeChild {
    /// Start `serve` with `env` (on top of the test's environment, `DATABASE_URL` removed),
    /// replica id `name`. Its output is discarded unless `TEST_LOG` is set.
    pub fn spawn(env: &[(String, String)], name: &str) -> ServeChild {
        let port = free_port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cpu-gateway"));
        cmd.arg("serve")
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .env("CPU_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("CPU_GATEWAY_REPLICA_ID", name);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if std::env::var("TEST_LOG").is_err() {
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        ServeChild {
            child: cmd.spawn().expect("spawn cpu-gateway"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// Wait (bounded) until `/ready` answers 200.
    pub async fn ready(&self, http: &reqwest::Client) {
        super::poll::until(
            format!("{} ready", self.base),
            Duration::from_secs(30),
            async || {
                let r = http.get(format!("{}/ready", self.base)).send().await.ok()?;
                (r.status() == 200).then_some(())
            },
        )
        .await;
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An entity `alpha` with an editor token and a CPu connection to `sim`'s PSA, written straight
/// into the database at `url` (the children's). Returns the token and the vault's master key.
pub async fn seed_connection(url: &str, sim: &Sim) -> (String, String) {
    let (key, key_b64) = VaultKey::generate();
    let store = Store::connect(url).await.expect("store");
    let (entity, _) = store.ensure_entity("alpha").await.expect("entity");
    let (_, token) = store
        .create_token(&entity.id, Role::Editor, None)
        .await
        .expect("token");
    let p = sim.party("psa").clone();
    let mut secrets = SecretFields::new();
    for (k, v) in [
        ("clientSecret", &p.client_secret),
        ("password", &p.password),
        ("apiKey", &p.subscription_key),
    ] {
        secrets.insert(k.to_owned(), SecretString::from(v.clone()));
    }
    Vault::new(store.clone(), 1, key, vec![])
        .put(
            &Actor::system(entity.id.clone()),
            "nxtport",
            json!({"clientId": p.client_id, "username": p.username, "ingestionId": p.ingestion_id,
                   "terminalCode": p.terminal_code, "portLoCode": "BEANR"}),
            secrets,
            SecretMerge::Replace,
        )
        .await
        .expect("connection");
    store.close().await;
    (
        token.expose_secret().to_owned(),
        key_b64.expose_secret().to_owned(),
    )
}

/// The environment of a `serve` child in uat mode against `sim`, on the database `url`, with
/// the vault key `master_key`, its data in `data`, fast delivery retries, no notification
/// polling; `extra` adds or overrides settings.
pub fn child_env(
    sim: &Sim,
    url: &str,
    master_key: &str,
    data: &std::path::Path,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("CPU_GATEWAY_MODE", "uat".to_owned()),
        ("CPU_GATEWAY_DATA_DIR", data.display().to_string()),
        ("CPU_GATEWAY_DATABASE_URL", url.to_owned()),
        ("CPU_GATEWAY_MASTER_KEY", master_key.to_owned()),
        ("CPU_GATEWAY_NXTPORT__API_BASE_URL", sim.base.clone()),
        (
            "CPU_GATEWAY_NXTPORT__TOKEN_URL",
            format!("{}/connect/token", sim.base),
        ),
        ("CPU_GATEWAY_DELIVERY__POLL_INTERVAL_MS", "50".to_owned()),
        ("CPU_GATEWAY_DELIVERY__BACKOFF_BASE_MS", "100".to_owned()),
        ("CPU_GATEWAY_DELIVERY__BACKOFF_MAX_MS", "400".to_owned()),
        ("CPU_GATEWAY_DELIVERY__MAX_ATTEMPTS", "1000".to_owned()),
        (
            "CPU_GATEWAY_NOTIFICATIONS__POLL_INTERVAL_SECS",
            "0".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

/// The bodies of one container's life: discharge, release, block, release, gate out.
pub fn life(eq: &str) -> Vec<(&'static str, Value)> {
    let release = |action: &str| json!({"equipmentNumber": eq, "actionType": action, "releaseDateTimeUtc": "2024-05-01T09:00:00Z"});
    vec![
        (
            "/v1/discharges",
            json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z"}),
        ),
        ("/v1/terminal-releases", release("Release")),
        ("/v1/terminal-releases", release("Block")),
        ("/v1/terminal-releases", release("Release")),
        (
            "/v1/gate-outs",
            json!({"equipmentNumber": eq, "timestamp": "2024-05-01T10:00:00Z"}),
        ),
    ]
}

/// What the simulator's call journal says about our operations.
pub struct Journal {
    /// Operation id -> number of 202 answers NxtPort gave it.
    pub accepted: HashMap<String, usize>,
    /// Operation id -> calls that reached CPu (any answer but an injected 5xx or 429).
    pub reached: HashMap<String, usize>,
    /// Per container, operation ids in the order of their first 202.
    pub order: HashMap<String, Vec<String>>,
}

/// Read `calls` (the journal) for the operations of `container_of` (operation id -> container).
pub fn journal(calls: &[Value], container_of: &HashMap<String, String>) -> Journal {
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    let mut reached: HashMap<String, usize> = HashMap::new();
    for c in calls {
        let Some(r) = c["externalReferenceId"].as_str() else {
            continue;
        };
        let Some(eq) = container_of.get(r) else {
            continue;
        };
        let status = c["status"].as_u64().unwrap_or(0);
        if status < 500 && status != 429 {
            *reached.entry(r.to_owned()).or_default() += 1;
        }
        if status != 202 {
            continue;
        }
        let n = accepted.entry(r.to_owned()).or_default();
        *n += 1;
        if *n == 1 {
            order.entry(eq.clone()).or_default().push(r.to_owned());
        }
    }
    Journal {
        accepted,
        reached,
        order,
    }
}

/// Most CPu calls (token and control calls aside) in any sliding `window` of the journal.
pub fn max_in_window(calls: &[Value], window: Duration) -> usize {
    let mut at: Vec<chrono::DateTime<chrono::Utc>> = calls
        .iter()
        .filter(|c| {
            let p = c["path"].as_str().unwrap_or("");
            !p.contains("/connect/token") && !p.starts_with("/simulator")
        })
        .filter_map(|c| c["at"].as_str().and_then(|t| t.parse().ok()))
        .collect();
    at.sort();
    let window = chrono::Duration::from_std(window).expect("window");
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|u| **u < at[i] + window).count())
        .max()
        .unwrap_or(0)
}

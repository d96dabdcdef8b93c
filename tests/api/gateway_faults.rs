//! Gateway under faults: the simulator failing 30% of calls with 500 and 10% with 429, an access
//! token expiring mid-run, and `kill -9` of the real binary with a full outbox. In every case
//! each accepted write reaches the simulator, in order per container, within the budget.

use super::gateway::{connected, Db, Gw};
use super::sim_helpers::{container, Sim};
use cpu_gateway::store::vault::SecretMerge;
use cpu_gateway::store::{Actor, Role, SecretFields, Store, Vault, VaultKey};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The bodies of one container's life: discharge, release, block, release, gate out.
fn life(eq: &str) -> Vec<(&'static str, Value)> {
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

/// Operation ids in the order the simulator first accepted them (202), per container.
fn accepted_order(
    calls: &[Value],
    container_of: &HashMap<String, String>,
) -> HashMap<String, Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for c in calls {
        if c["status"] != json!(202) {
            continue;
        }
        let Some(r) = c["externalReferenceId"].as_str() else {
            continue;
        };
        if let Some(eq) = container_of.get(r) {
            if seen.insert(r.to_owned()) {
                out.entry(eq.clone()).or_default().push(r.to_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn gateway_delivers_everything_in_order_through_500s_and_429s_within_budget() {
    let sim = Sim::start().await;
    let (budget, period) = (30u32, 2u64);
    let gw = Gw::start(&sim, Db::Sqlite, |s| {
        s.budget.per_minute = budget;
        s.budget.period_secs = period;
        s.delivery.concurrency = 4;
    })
    .await
    .expect("sqlite");
    let (_, token) = connected(&gw, &sim, "alpha", "psa").await;
    sim.fault(json!({"path": "/", "status": 500, "fraction": 0.3}))
        .await;
    sim.fault(json!({"path": "/", "status": 429, "fraction": 0.1}))
        .await;
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut container_of = HashMap::new();
    for n in 0..4 {
        let eq = container(500 + n);
        for (path, body) in life(&eq) {
            let (s, acc) = gw.post(path, &token, &body).await;
            assert_eq!(s, 202, "{acc}");
            let id = acc["operationId"].as_str().expect("id").to_owned();
            container_of.insert(id.clone(), eq.clone());
            expected.entry(eq.clone()).or_default().push(id);
        }
    }
    // Faults until the deliveries have met them, then NxtPort recovers.
    super::poll::until(
        "a delivery answered by a fault",
        Duration::from_secs(30),
        async || {
            let calls = sim.calls().await;
            calls
                .iter()
                .any(|c| c["status"] == json!(500) || c["status"] == json!(429))
                .then_some(())
        },
    )
    .await;
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;
    let ids: Vec<String> = container_of.keys().cloned().collect();
    for id in &ids {
        let op = gw
            .wait_status(&token, id, "completed", Duration::from_secs(60))
            .await;
        assert!(op["publicReferenceId"].is_string());
    }
    let calls = sim.calls().await;
    assert_eq!(
        accepted_order(&calls, &container_of),
        expected,
        "order per container"
    );
    // The faults really hit: the budget granted more calls than there were writes (retries).
    let granted: u64 = gw
        .state
        .upstreams
        .budgets()
        .metrics()
        .iter()
        .map(|(_, m)| m.granted_background + m.granted_interactive)
        .sum();
    assert!(
        granted > container_of.len() as u64,
        "granted {granted}: no retries happened"
    );
    // The budget held in every sliding window (the journal records what reached the API).
    let mut at: Vec<chrono::DateTime<chrono::Utc>> = calls
        .iter()
        .filter(|c| !c["path"].as_str().unwrap_or("").contains("/connect/token"))
        .filter(|c| !c["path"].as_str().unwrap_or("").starts_with("/simulator"))
        .filter_map(|c| c["at"].as_str().and_then(|t| t.parse().ok()))
        .collect();
    at.sort();
    let window = chrono::Duration::seconds(period as i64);
    for (i, t) in at.iter().enumerate() {
        let in_window = at[i..].iter().take_while(|u| **u < *t + window).count();
        assert!(
            in_window <= budget as usize,
            "{in_window} calls within {period}s from {t}"
        );
    }
    assert!(
        gw.counts().await.iter().all(|(s, _)| s == "completed"),
        "{:?}",
        gw.counts().await
    );
}

#[tokio::test]
async fn gateway_refreshes_an_expired_token_without_losing_a_write() {
    let sim = Sim::start_with(|c| c.token_ttl = chrono::Duration::seconds(300)).await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (entity, token) = connected(&gw, &sim, "alpha", "psa").await;
    let mut ids = Vec::new();
    for round in 0..3u32 {
        let eq = container(600 + round);
        let (s, acc) = gw
            .post(
                "/v1/discharges",
                &token,
                &json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z"}),
            )
            .await;
        assert_eq!(s, 202);
        let id = acc["operationId"].as_str().expect("id").to_owned();
        let op = gw
            .wait_status(&token, &id, "completed", Duration::from_secs(15))
            .await;
        assert_eq!(
            op["attempts"],
            json!(1),
            "a refresh after 401 is not a failed attempt: {op}"
        );
        ids.push(id);
        // The token the gateway holds expires (virtual clock).
        sim.advance(600).await;
    }
    let link = gw.state.upstreams.link(&entity).await.expect("link");
    assert!(
        link.client.token_fetches() >= 3,
        "fetches: {}",
        link.client.token_fetches()
    );
    assert!(gw.counts().await.iter().all(|(s, _)| s == "completed"));
}

/// A child `cpu-gateway serve` process.
struct Child {
    child: std::process::Child,
}

impl Child {
    fn spawn(env: &[(String, String)]) -> Child {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cpu-gateway"));
        cmd.arg("serve")
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        if std::env::var("TEST_LOG").is_err() {
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        Child {
            child: cmd.spawn().expect("spawn cpu-gateway"),
        }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    super::poll::until(
        format!("gateway at {base} ready"),
        Duration::from_secs(30),
        async || {
            let r = http.get(format!("{base}/ready")).send().await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn gateway_kill_9_with_a_full_outbox_loses_nothing() {
    let sim = Sim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("gw.db").display());
    let (key, key_b64) = VaultKey::generate();
    // Prepare the entity, its token and its connection in the database the child will use.
    let store = Store::connect(&db).await.expect("store");
    let (entity, _) = store.ensure_entity("alpha").await.expect("entity");
    let (_, token) = store
        .create_token(&entity.id, Role::Editor, None)
        .await
        .expect("token");
    let token = token.expose_secret().to_owned();
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

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = [
        ("CPU_GATEWAY_MODE", "uat".to_owned()),
        ("CPU_GATEWAY_LISTEN", format!("127.0.0.1:{port}")),
        ("CPU_GATEWAY_DATA_DIR", dir.path().display().to_string()),
        ("CPU_GATEWAY_DATABASE_URL", db.clone()),
        ("CPU_GATEWAY_MASTER_KEY", key_b64.expose_secret().to_owned()),
        ("CPU_GATEWAY_NXTPORT__API_BASE_URL", sim.base.clone()),
        (
            "CPU_GATEWAY_NXTPORT__TOKEN_URL",
            format!("{}/connect/token", sim.base),
        ),
        ("CPU_GATEWAY_DELIVERY__POLL_INTERVAL_MS", "50".to_owned()),
        ("CPU_GATEWAY_DELIVERY__BACKOFF_BASE_MS", "100".to_owned()),
        ("CPU_GATEWAY_DELIVERY__BACKOFF_MAX_MS", "400".to_owned()),
        ("CPU_GATEWAY_DELIVERY__MAX_ATTEMPTS", "1000".to_owned()),
        ("CPU_GATEWAY_RETRY__MAX_RETRIES", "1".to_owned()),
        ("CPU_GATEWAY_RETRY__BASE_DELAY_MS", "20".to_owned()),
        (
            "CPU_GATEWAY_NOTIFICATIONS__POLL_INTERVAL_SECS",
            "0".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    // NxtPort is down: everything the gateway accepts stays in the outbox.
    sim.fault(json!({"path": "/ingestion", "status": 503}))
        .await;
    sim.fault(json!({"path": "/certified-pickup", "status": 503}))
        .await;
    let mut child = Child::spawn(&env);
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await;
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut container_of = HashMap::new();
    for n in 0..8 {
        let eq = container(700 + n);
        for (path, body) in life(&eq) {
            let r = http
                .post(format!("{base}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), 202);
            let acc: Value = r.json().await.expect("json");
            let id = acc["operationId"].as_str().expect("id").to_owned();
            container_of.insert(id.clone(), eq.clone());
            expected.entry(eq.clone()).or_default().push(id);
        }
    }
    assert_eq!(container_of.len(), 40);
    child.kill9();

    // NxtPort is back; the gateway restarts on the same database.
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await;
    let _child = Child::spawn(&env);
    wait_healthy(&http, &base).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let calls = sim.calls().await;
        let order = accepted_order(&calls, &container_of);
        let delivered: usize = order.values().map(Vec::len).sum();
        if delivered == container_of.len() {
            assert_eq!(order, expected, "order per container after the restart");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {delivered} of 40 writes reached the simulator"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, list) = {
        let r = http
            .get(format!("{base}/v1/operations?limit=100"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(40));
    assert!(
        list.as_array()
            .is_some_and(|a| a.iter().all(|o| o["status"] != json!("failed"))),
        "{list}"
    );
}

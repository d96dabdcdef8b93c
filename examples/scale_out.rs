//! Driver of `bench/scale_out.sh`: several `cpu-gateway serve` replicas on one PostgreSQL schema
//! and one Redis budget, against an external simulator, offered 4x the budget of 2 keys.
//!
//! 1. A fresh PostgreSQL schema, a private `redis-server` on a free port, `cpu-gateway
//!    simulate` with its own limit off (the journal is the judge), 2 entities connected to the
//!    simulator's PSA and DP World (one subscription key each).
//! 2. `REPLICAS` replicas; for `OFFER_SECS` seconds each key is offered `4 * BUDGET / PERIOD`
//!    discharges per second (fresh containers), sent to the replicas in turn.
//! 3. From second 5 until the backlog is delivered, a truck pickup validation every 2.5 s
//!    through a replica (alternating keys): its latency while background work saturates.
//! 4. Halfway through the offer, replica 1 gets kill -9 and is restarted 2 s later.
//! 5. When every accepted write reached the simulator (bounded), the journal is read: per key
//!    the most calls in any sliding window of PERIOD seconds, the share of the budget used while
//!    saturated, repeated External-Reference-Ids; accepted vs delivered; truck p50/p99.
//!
//! `MODE=tenants` measures many tenants instead: `TENANTS` (200) entities, each with its own
//! subscription key (one simulator world each) at a scaled budget (`BUDGET` 5 per `PERIOD` 10 s
//! by default), every one offered 2x its budget for `OFFER_SECS` (30); once with 1 replica,
//! once with `REPLICAS` (3). From the journals: upstream calls per second while saturated, as a
//! share of the sum of the budgets, and the most calls of any key in any window.
//!
//! Usage: `scale_out BIN` (the `cpu-gateway` binary). Environment: `PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), `BUDGET` (100), `PERIOD` (10),
//! `OFFER_SECS` (15), `REPLICAS` (3), `RESERVE_PERCENT` (the gateway's default unless set),
//! `MARGIN_MS` (the budget's safety margin, default 1% of the period).

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use cpu_gateway::store::vault::SecretMerge;
use cpu_gateway::store::{Actor, Role, SecretFields, Store, Vault, VaultKey};
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A valid container number (the simulator core's ISO 6346, the one implementation).
fn container(n: u64) -> String {
    let prefix = format!("SCLU{:06}", n % 1_000_000);
    let digit = cpu_simulator::ids::EquipmentNumber::check_digit(prefix.as_bytes());
    format!("{prefix}{digit}")
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_ok(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn replica(bin: &str, env: &[(String, String)], port: u16, name: &str) -> anyhow::Result<Proc> {
    let log = std::fs::File::create(std::env::temp_dir().join(format!("scale_out_{name}.log")))?;
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("CPU_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("CPU_GATEWAY_REPLICA_ID", name)
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(Proc(cmd.spawn().context("spawn replica")?))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A fresh PostgreSQL schema, a private Redis and an external simulator (dropped and stopped
/// with it).
struct Infra {
    admin: sqlx::AnyPool,
    schema: String,
    db: String,
    redis_port: u16,
    sim: String,
    _redis: Proc,
    _redis_dir: tempfile::TempDir,
    _sim: Proc,
}

impl Infra {
    async fn start(bin: &str, pg: &str, http: &reqwest::Client) -> anyhow::Result<Self> {
        // PostgreSQL schema of its own.
        sqlx::any::install_default_drivers();
        let schema = format!("scale_out_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::AnyPool::connect(pg).await.context("PostgreSQL")?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await?;
        let sep = if pg.contains('?') { '&' } else { '?' };
        let db = format!("{pg}{sep}options[search_path]={schema}");
        // Private Redis.
        let redis_port = free_port()?;
        let redis_dir = tempfile::tempdir()?;
        let redis = Proc(
            Command::new("redis-server")
                .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(redis_dir.path())
                .stdout(Stdio::null())
                .spawn()
                .context("redis-server")?,
        );
        // Simulator.
        let sim_port = free_port()?;
        let sim = format!("http://127.0.0.1:{sim_port}");
        let sim_proc = Proc(
            Command::new(bin)
                .args(["simulate", "--listen", &format!("127.0.0.1:{sim_port}")])
                .args(["--rate-limit", "0"])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("simulator")?,
        );
        wait_ok(http, &format!("{sim}/simulator/v1/parties")).await?;
        Ok(Self {
            admin,
            schema,
            db,
            redis_port,
            sim,
            _redis: redis,
            _redis_dir: redis_dir,
            _sim: sim_proc,
        })
    }

    /// Store `party`'s credentials as the NxtPort connection of a new entity; its editor token.
    async fn entity(
        &self,
        vault: &Vault,
        store: &Store,
        name: &str,
        p: &Value,
    ) -> anyhow::Result<String> {
        let (entity, _) = store.ensure_entity(name).await?;
        let (_, token) = store.create_token(&entity.id, Role::Editor, None).await?;
        let mut secrets = SecretFields::new();
        for (field, from) in [
            ("clientSecret", "clientSecret"),
            ("password", "password"),
            ("apiKey", "subscriptionKey"),
        ] {
            let v = p[from].as_str().unwrap_or_default().to_owned();
            secrets.insert(field.to_owned(), SecretString::from(v));
        }
        vault
            .put(
                &Actor::system(entity.id.clone()),
                "nxtport",
                json!({"clientId": p["clientId"], "username": p["username"],
                       "ingestionId": p["ingestionId"], "terminalCode": p["terminalCode"],
                       "portLoCode": "BEANR"}),
                secrets,
                SecretMerge::Replace,
            )
            .await?;
        Ok(token.expose_secret().to_owned())
    }

    /// The replicas' environment (uat code path against the simulator, Redis budget).
    fn env(
        &self,
        data: &std::path::Path,
        master: &str,
        extra: &[(&str, String)],
    ) -> Vec<(String, String)> {
        let sim = &self.sim;
        let mut env: Vec<(&str, String)> = vec![
            ("CPU_GATEWAY_MODE", "uat".to_owned()),
            ("CPU_GATEWAY_DATA_DIR", data.display().to_string()),
            ("CPU_GATEWAY_DATABASE_URL", self.db.clone()),
            ("CPU_GATEWAY_MASTER_KEY", master.to_owned()),
            (
                "CPU_GATEWAY_REDIS_URL",
                format!("redis://127.0.0.1:{}/0", self.redis_port),
            ),
            ("CPU_GATEWAY_NXTPORT__API_BASE_URL", sim.clone()),
            (
                "CPU_GATEWAY_NXTPORT__TOKEN_URL",
                format!("{sim}/connect/token"),
            ),
            ("CPU_GATEWAY_DELIVERY__LEASE_SECS", "6".to_owned()),
            // A send's lease is confirmed for the request timeout + a lease: a killed replica's
            // claims come back after at most 11 s.
            ("CPU_GATEWAY_NXTPORT__TIMEOUT_MS", "5000".to_owned()),
            ("CPU_GATEWAY_DELIVERY__POLL_INTERVAL_MS", "100".to_owned()),
            ("CPU_GATEWAY_DELIVERY__BACKOFF_BASE_MS", "200".to_owned()),
            ("CPU_GATEWAY_DELIVERY__BACKOFF_MAX_MS", "2000".to_owned()),
            ("CPU_GATEWAY_DELIVERY__MAX_ATTEMPTS", "1000".to_owned()),
            (
                "CPU_GATEWAY_NOTIFICATIONS__POLL_INTERVAL_SECS",
                "0".to_owned(),
            ),
            ("CPU_GATEWAY_QUOTA__PER_MINUTE", "0".to_owned()),
        ];
        env.extend(extra.iter().cloned());
        env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    async fn drop_schema(&self) -> anyhow::Result<()> {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&self.admin)
            .await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = std::env::args().nth(1).context("usage: scale_out BIN")?;
    let pg = std::env::var("PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let http = reqwest::Client::new();
    if std::env::var("MODE").as_deref() == Ok("tenants") {
        return tenants(&bin, &pg, &http).await;
    }
    let budget = env_num("BUDGET", 100);
    let period = env_num("PERIOD", 10);
    let offer_secs = env_num("OFFER_SECS", 15);
    let replicas = env_num("REPLICAS", 3) as usize;
    let reserve = std::env::var("RESERVE_PERCENT").ok();
    let infra = Infra::start(&bin, &pg, &http).await?;
    let sim = infra.sim.clone();
    let parties: Vec<Value> = http
        .get(format!("{sim}/simulator/v1/parties"))
        .send()
        .await?
        .json()
        .await?;
    let party = |key: &str| -> anyhow::Result<Value> {
        parties
            .iter()
            .find(|p| p["key"] == json!(key))
            .cloned()
            .with_context(|| format!("party {key}"))
    };
    let alfapass = party("trucker")?["alfapassNumbers"][0]
        .as_str()
        .unwrap_or("AP1000001")
        .to_owned();

    // Two entities, one key each.
    let (key, key_b64) = VaultKey::generate();
    let store = Store::connect(&infra.db).await?;
    let vault = Vault::new(store.clone(), 1, key, vec![]);
    let mut tokens = Vec::new();
    for (name, key) in [("alpha", "psa"), ("beta", "dpworld")] {
        let token = infra.entity(&vault, &store, name, &party(key)?).await?;
        tokens.push((key.to_owned(), token));
    }
    store.close().await;

    let data = tempfile::tempdir()?;
    let mut extra = vec![
        ("CPU_GATEWAY_BUDGET__PER_MINUTE", budget.to_string()),
        ("CPU_GATEWAY_BUDGET__PERIOD_SECS", period.to_string()),
        (
            "CPU_GATEWAY_BUDGET__SAFETY_MARGIN_MS",
            env_num("MARGIN_MS", period * 10).to_string(),
        ),
        ("CPU_GATEWAY_DELIVERY__CONCURRENCY", "16".to_owned()),
    ];
    if let Some(r) = &reserve {
        extra.push(("CPU_GATEWAY_BUDGET__INTERACTIVE_RESERVE_PERCENT", r.clone()));
    }
    let env = infra.env(data.path(), key_b64.expose_secret(), &extra);
    let reserve = reserve.map_or_else(|| "default".to_owned(), |r| format!("{r}%"));
    let mut ports = Vec::new();
    let mut procs = Vec::new();
    for i in 0..replicas {
        let port = free_port()?;
        procs.push(Some(replica(&bin, &env, port, &format!("r{i}"))?));
        ports.push(port);
    }
    for port in &ports {
        wait_ok(&http, &format!("http://127.0.0.1:{port}/ready")).await?;
    }
    let bases: Arc<Vec<String>> = Arc::new(
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    );

    // Offer 4x the budget per key.
    let rate = 4.0 * budget as f64 / period as f64;
    let accepted: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let refused = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    let mut offer_tasks = Vec::new();
    for (k, (key, token)) in tokens.iter().enumerate() {
        let (key, token) = (key.clone(), token.clone());
        let (http, bases, accepted, refused) = (
            http.clone(),
            Arc::clone(&bases),
            Arc::clone(&accepted),
            Arc::clone(&refused),
        );
        offer_tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            let total = (rate * offer_secs as f64) as u64;
            let mut sends = Vec::new();
            for n in 0..total {
                tick.tick().await;
                let base = bases[(n as usize) % bases.len()].clone();
                let eq = container(k as u64 * 100_000 + n);
                let (http, token, key, accepted, refused) = (
                    http.clone(),
                    token.clone(),
                    key.clone(),
                    Arc::clone(&accepted),
                    Arc::clone(&refused),
                );
                sends.push(tokio::spawn(async move {
                    let body = json!({"equipmentNumber": eq, "timestamp": "2026-11-30T08:00:00Z"});
                    let r = http
                        .post(format!("{base}/v1/discharges"))
                        .bearer_auth(&token)
                        .json(&body)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 202 => {
                            let v: Value = r.json().await.unwrap_or_default();
                            if let Some(id) = v["operationId"].as_str() {
                                accepted.lock().insert(id.to_owned(), key);
                            }
                        }
                        // A refused write was not stored: a caller sends it again.
                        _ => *refused.lock() += 1,
                    }
                }));
            }
            for s in sends {
                let _ = s.await;
            }
        }));
    }

    // Truck validations during saturation.
    let truck_latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let truck_errors = Arc::new(Mutex::new(0u64));
    let stop_trucks = Arc::new(tokio::sync::Notify::new());
    let trucks = {
        let (http, bases, lat, errs, stop, tokens) = (
            http.clone(),
            Arc::clone(&bases),
            Arc::clone(&truck_latencies),
            Arc::clone(&truck_errors),
            Arc::clone(&stop_trucks),
            tokens.clone(),
        );
        let alfapass = alfapass.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let mut tick = tokio::time::interval(Duration::from_millis(2_500));
            let mut n = 0usize;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stop.notified() => return,
                }
                let base = &bases[n % bases.len()];
                let token = &tokens[n % tokens.len()].1;
                n += 1;
                let body = json!({"alfapassNumber": alfapass,
                    "releaseIdentification": [{"equipmentNumber": container(900_000 + n as u64)}]});
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/v1/pickup-validations/truck"))
                    .bearer_auth(token)
                    .json(&body)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() < 500 => {
                        let _ = r.bytes().await;
                        lat.lock().push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => *errs.lock() += 1,
                }
            }
        })
    };

    // kill -9 of replica 1 halfway through the offer, restart 2 s later.
    tokio::time::sleep(Duration::from_secs(offer_secs / 2)).await;
    let victim = 1.min(replicas - 1);
    if let Some(mut p) = procs[victim].take() {
        p.0.kill()?; // SIGKILL
        let _ = p.0.wait();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    procs[victim] = Some(replica(
        &bin,
        &env,
        ports[victim],
        &format!("r{victim}-restarted"),
    )?);
    for t in offer_tasks {
        let _ = t.await;
    }
    let offered_for = started.elapsed();

    // Drain: every accepted write reaches the simulator (bounded).
    let accepted = accepted.lock().clone();
    let backlog_secs = accepted.len() as f64 / (2.0 * budget as f64 / period as f64);
    let deadline = Instant::now() + Duration::from_secs_f64(backlog_secs * 1.5 + 60.0);
    let calls = loop {
        let calls: Vec<Value> = http
            .get(format!("{sim}/simulator/v1/calls"))
            .send()
            .await?
            .json()
            .await?;
        let delivered: HashSet<&str> = calls
            .iter()
            .filter(|c| c["status"] == json!(202))
            .filter_map(|c| c["externalReferenceId"].as_str())
            .filter(|r| accepted.contains_key(*r))
            .collect();
        if delivered.len() == accepted.len() || Instant::now() > deadline {
            break calls;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    stop_trucks.notify_one();
    let _ = trucks.await;
    // Calls still in flight land.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls: Vec<Value> = http
        .get(format!("{sim}/simulator/v1/calls"))
        .send()
        .await?
        .json()
        .await
        .unwrap_or(calls);

    // Figures per key.
    let mut line = Vec::new();
    let window = chrono::Duration::seconds(period as i64);
    let mut reached: HashMap<&str, usize> = HashMap::new();
    for (key, _) in &tokens {
        let mut at: Vec<chrono::DateTime<chrono::Utc>> = calls
            .iter()
            .filter(|c| c["party"] == json!(key))
            .filter(|c| {
                let p = c["path"].as_str().unwrap_or("");
                !p.contains("/connect/token") && !p.starts_with("/simulator")
            })
            .filter_map(|c| c["at"].as_str().and_then(|t| t.parse().ok()))
            .collect();
        at.sort();
        let most = (0..at.len())
            .map(|i| at[i..].iter().take_while(|u| **u < at[i] + window).count())
            .max()
            .unwrap_or(0);
        // Saturated span: whole windows from one window after the first call to the last.
        let share = match (at.first(), at.last()) {
            (Some(first), Some(last)) if *last - *first > window * 2 => {
                let from = *first + window;
                let windows = (*last - from).num_milliseconds() / window.num_milliseconds();
                let to = from + window * windows as i32;
                let used = at.iter().filter(|t| **t >= from && **t < to).count() as f64;
                used / (budget as f64 * windows as f64) * 100.0
            }
            _ => f64::NAN,
        };
        line.push(format!(
            "key {key}: max {most}/{budget} per {period}s, used {share:.1}%"
        ));
    }
    for c in &calls {
        let status = c["status"].as_u64().unwrap_or(0);
        if status >= 500 || status == 429 {
            continue;
        }
        if let Some(r) = c["externalReferenceId"].as_str() {
            if accepted.contains_key(r) {
                *reached.entry(r).or_default() += 1;
            }
        }
    }
    let duplicates = reached.values().filter(|n| **n > 1).count();
    let delivered = reached.len();
    let mut lat = truck_latencies.lock().clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "offered {:.0}/s per key for {:.0}s to {replicas} replicas (budget {budget}/{period}s per key, reserve {reserve}); {}",
        rate,
        offered_for.as_secs_f64(),
        line.join("; ")
    );
    println!(
        "SUMMARY accepted={} refused={} delivered={} lost={} duplicates={} | {} | truck p50={:.0}ms p99={:.0}ms n={} errors={} | kill -9 + restart of r{victim} at {}s",
        accepted.len(),
        *refused.lock(),
        delivered,
        accepted.len().saturating_sub(delivered),
        duplicates,
        line.join(" | "),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.len(),
        *truck_errors.lock(),
        offer_secs / 2
    );
    drop(procs);
    infra.drop_schema().await
}

/// `MODE=tenants`: many entities, each with its own key, all saturated; 1 replica, then
/// `REPLICAS`. Prints one SUMMARY line.
async fn tenants(bin: &str, pg: &str, http: &reqwest::Client) -> anyhow::Result<()> {
    let tenants = env_num("TENANTS", 200) as usize;
    let budget = env_num("BUDGET", 5);
    let period = env_num("PERIOD", 10);
    let offer_secs = env_num("OFFER_SECS", 30);
    let replicas = env_num("REPLICAS", 3) as usize;
    let mut figures = Vec::new();
    for n in [1, replicas] {
        let (per_sec, share, most) =
            tenants_run(bin, pg, http, tenants, budget, period, offer_secs, n).await?;
        println!(
            "{tenants} tenants x {budget}/{period}s, {n} replica(s): {per_sec:.1} calls/s = {share:.1}% of the sum of the budgets; most calls of one key in any {period}s window: {most}/{budget}"
        );
        figures.push(format!("{n} replica(s) {per_sec:.1}/s = {share:.1}%"));
    }
    let sum = tenants as f64 * budget as f64 / period as f64;
    println!(
        "SUMMARY tenants={tenants} budget={budget}/{period}s per key (sum {sum:.1} calls/s), offered 2x for {offer_secs}s | {}",
        figures.join(" | ")
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn tenants_run(
    bin: &str,
    pg: &str,
    http: &reqwest::Client,
    tenants: usize,
    budget: u64,
    period: u64,
    offer_secs: u64,
    replicas: usize,
) -> anyhow::Result<(f64, f64, usize)> {
    let infra = Infra::start(bin, pg, http).await?;
    let sim = infra.sim.clone();
    // One world per tenant: its own parties, credentials and subscription keys.
    let (key, key_b64) = VaultKey::generate();
    let store = Store::connect(&infra.db).await?;
    let vault = Vault::new(store.clone(), 1, key, vec![]);
    let mut worlds = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..tenants {
        let w: Value = http
            .post(format!("{sim}/simulator/v1/worlds"))
            .send()
            .await?
            .json()
            .await?;
        let world = w["worldId"].as_str().context("worldId")?.to_owned();
        let psa = w["parties"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["key"] == json!("psa")))
            .cloned()
            .context("psa party")?;
        tokens.push(
            infra
                .entity(&vault, &store, &format!("tenant{i}"), &psa)
                .await?,
        );
        worlds.push(world);
    }
    store.close().await;
    let data = tempfile::tempdir()?;
    let extra = vec![
        ("CPU_GATEWAY_BUDGET__PER_MINUTE", budget.to_string()),
        ("CPU_GATEWAY_BUDGET__PERIOD_SECS", period.to_string()),
        (
            "CPU_GATEWAY_BUDGET__SAFETY_MARGIN_MS",
            env_num("MARGIN_MS", period * 10).to_string(),
        ),
        (
            "CPU_GATEWAY_DELIVERY__CONCURRENCY",
            env_num("CONCURRENCY", 512).to_string(),
        ),
        (
            "CPU_GATEWAY_DELIVERY__PER_ENTITY_CONCURRENCY",
            // The gateway's default: one replica claims at most this many operations of an
            // entity per claim query, so 2 made the claim round trip the bound (87.8%).
            env_num("PER_ENTITY", 8).to_string(),
        ),
    ];
    let env = infra.env(data.path(), key_b64.expose_secret(), &extra);
    let mut procs = Vec::new();
    let mut bases = Vec::new();
    for i in 0..replicas {
        let port = free_port()?;
        procs.push(replica(bin, &env, port, &format!("t{replicas}-{i}"))?);
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    for b in &bases {
        wait_ok(http, &format!("{b}/ready")).await?;
    }
    // Offer 2x every key's budget, spread over the replicas.
    let rate = 2.0 * budget as f64 / period as f64 * tenants as f64;
    let total = (rate * offer_secs as f64) as u64;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let refused = Arc::new(Mutex::new(0u64));
    let mut sends = Vec::new();
    for n in 0..total {
        tick.tick().await;
        let (http, base, token, refused) = (
            http.clone(),
            bases[(n as usize) % bases.len()].clone(),
            tokens[(n as usize) % tenants].clone(),
            Arc::clone(&refused),
        );
        sends.push(tokio::spawn(async move {
            let body =
                json!({"equipmentNumber": container(n), "timestamp": "2026-11-30T08:00:00Z"});
            let r = http
                .post(format!("{base}/v1/discharges"))
                .bearer_auth(&token)
                .json(&body)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            if !matches!(r, Ok(ref r) if r.status() == 202) {
                *refused.lock() += 1;
            }
        }));
    }
    for s in sends {
        let _ = s.await;
    }
    let offered_for = started.elapsed();
    drop(procs);
    // Journals: every key's CPu calls.
    let mut at: Vec<chrono::DateTime<chrono::Utc>> = Vec::new();
    let mut most = 0usize;
    let window = chrono::Duration::seconds(period as i64);
    for world in &worlds {
        let calls: Vec<Value> = http
            .get(format!("{sim}/simulator/v1/calls"))
            .header("X-Sim-World", world)
            .send()
            .await?
            .json()
            .await?;
        let mut mine: Vec<chrono::DateTime<chrono::Utc>> = calls
            .iter()
            .filter(|c| {
                c["path"]
                    .as_str()
                    .is_some_and(|p| !p.contains("/connect/token"))
            })
            .filter_map(|c| c["at"].as_str().and_then(|t| t.parse().ok()))
            .collect();
        mine.sort();
        let m = (0..mine.len())
            .map(|i| {
                mine[i..]
                    .iter()
                    .take_while(|u| **u < mine[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0);
        most = most.max(m);
        at.extend(mine);
    }
    at.sort();
    // Saturated span: from one period after the first call to the end of the offer.
    let first = *at.first().context("no calls reached the simulator")?;
    let from = first + window;
    let to = first + chrono::Duration::milliseconds(offered_for.as_millis() as i64);
    let secs = (to - from).num_milliseconds() as f64 / 1000.0;
    anyhow::ensure!(secs > 0.0, "OFFER_SECS too short for PERIOD");
    let used = at.iter().filter(|t| **t >= from && **t < to).count() as f64;
    let per_sec = used / secs;
    let share = per_sec / (tenants as f64 * budget as f64 / period as f64) * 100.0;
    if *refused.lock() > 0 {
        eprintln!("{} writes refused", *refused.lock());
    }
    infra.drop_schema().await?;
    Ok((per_sec, share, most))
}

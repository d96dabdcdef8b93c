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
//! Usage: `scale_out BIN` (the `cpu-gateway` binary). Environment: `PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), `BUDGET` (100), `PERIOD` (10),
//! `OFFER_SECS` (15), `REPLICAS` (3), `RESERVE_PERCENT` (5), `MARGIN_MS` (the budget's safety
//! margin, default 1% of the period).

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = std::env::args().nth(1).context("usage: scale_out BIN")?;
    let pg = std::env::var("PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let budget = env_num("BUDGET", 100);
    let period = env_num("PERIOD", 10);
    let offer_secs = env_num("OFFER_SECS", 15);
    let replicas = env_num("REPLICAS", 3) as usize;
    let reserve = env_num("RESERVE_PERCENT", 5);
    let http = reqwest::Client::new();

    // PostgreSQL schema of its own.
    sqlx::any::install_default_drivers();
    let schema = format!("scale_out_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&pg).await.context("PostgreSQL")?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await?;
    let sep = if pg.contains('?') { '&' } else { '?' };
    let db = format!("{pg}{sep}options[search_path]={schema}");

    // Private Redis.
    let redis_port = free_port()?;
    let redis_dir = tempfile::tempdir()?;
    let _redis = Proc(
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
    let _sim = Proc(
        Command::new(&bin)
            .args(["simulate", "--listen", &format!("127.0.0.1:{sim_port}")])
            .args(["--rate-limit", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("simulator")?,
    );
    wait_ok(&http, &format!("{sim}/simulator/v1/parties")).await?;
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
    let store = Store::connect(&db).await?;
    let vault = Vault::new(store.clone(), 1, key, vec![]);
    let mut tokens = Vec::new();
    for (name, key) in [("alpha", "psa"), ("beta", "dpworld")] {
        let p = party(key)?;
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
        tokens.push((key.to_owned(), token.expose_secret().to_owned()));
    }
    store.close().await;

    let data = tempfile::tempdir()?;
    let env: Vec<(String, String)> = [
        ("CPU_GATEWAY_MODE", "uat".to_owned()),
        ("CPU_GATEWAY_DATA_DIR", data.path().display().to_string()),
        ("CPU_GATEWAY_DATABASE_URL", db.clone()),
        ("CPU_GATEWAY_MASTER_KEY", key_b64.expose_secret().to_owned()),
        (
            "CPU_GATEWAY_REDIS_URL",
            format!("redis://127.0.0.1:{redis_port}/0"),
        ),
        ("CPU_GATEWAY_NXTPORT__API_BASE_URL", sim.clone()),
        (
            "CPU_GATEWAY_NXTPORT__TOKEN_URL",
            format!("{sim}/connect/token"),
        ),
        ("CPU_GATEWAY_BUDGET__PER_MINUTE", budget.to_string()),
        ("CPU_GATEWAY_BUDGET__PERIOD_SECS", period.to_string()),
        (
            "CPU_GATEWAY_BUDGET__INTERACTIVE_RESERVE_PERCENT",
            reserve.to_string(),
        ),
        (
            "CPU_GATEWAY_BUDGET__SAFETY_MARGIN_MS",
            env_num("MARGIN_MS", period * 10).to_string(),
        ),
        ("CPU_GATEWAY_DELIVERY__CONCURRENCY", "16".to_owned()),
        ("CPU_GATEWAY_DELIVERY__LEASE_SECS", "6".to_owned()),
        ("CPU_GATEWAY_DELIVERY__POLL_INTERVAL_MS", "100".to_owned()),
        ("CPU_GATEWAY_DELIVERY__BACKOFF_BASE_MS", "200".to_owned()),
        ("CPU_GATEWAY_DELIVERY__BACKOFF_MAX_MS", "2000".to_owned()),
        ("CPU_GATEWAY_DELIVERY__MAX_ATTEMPTS", "1000".to_owned()),
        (
            "CPU_GATEWAY_NOTIFICATIONS__POLL_INTERVAL_SECS",
            "0".to_owned(),
        ),
        ("CPU_GATEWAY_QUOTA__PER_MINUTE", "0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
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
        "offered {:.0}/s per key for {:.0}s to {replicas} replicas (budget {budget}/{period}s per key, reserve {reserve}%); {}",
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
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await?;
    Ok(())
}

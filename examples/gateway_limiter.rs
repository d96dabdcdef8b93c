//! Issue 3 figure "limiter precision" (run by `bench/gateway_limiter.sh`).
//!
//! A simulator and a gateway run in this process, on loopback, with the gateway in the UAT code
//! path (base URLs pointing at the simulator) and a scaled-down budget (default 100 calls per
//! 5 s). Discharges of distinct containers are offered to `POST /v1/discharges` at `factor`
//! times the budget (default 4x) for `windows + 1` periods; the delivery worker drains the
//! outbox through the per-key limiter. The simulator's call journal (`GET
//! /simulator/v1/calls`) is then read and two figures are printed:
//!
//! - the most calls of the gateway's subscription key in any sliding window of one period
//!   (must be <= the budget);
//! - the share of the budget used over `windows` full periods from the first call (>= 98%).
//!
//! The simulator enforces the same budget per period as an independent check (its 429s are
//! counted). Usage: `gateway_limiter [budget] [period_secs] [windows] [factor]`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use cpu_gateway::gateway::config::{Mode, Settings};
use cpu_gateway::gateway::{sim, Application};
use cpu_gateway::simulate::{self, SimConfig};
use cpu_gateway::store::{Role, VaultKey};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Call {
    path: String,
    status: u16,
    party: Option<String>,
    at: DateTime<Utc>,
}

/// A valid container number (the simulator core's ISO 6346, the one implementation).
fn container(n: u64) -> String {
    let prefix = format!("BNCU{:06}", n % 1_000_000);
    let digit = cpu_simulator::ids::EquipmentNumber::check_digit(prefix.as_bytes());
    format!("{prefix}{digit}")
}

/// Most timestamps (sorted) in any half-open window `[t, t + window)`.
fn max_in_any_window(at: &[DateTime<Utc>], window: chrono::Duration) -> usize {
    let mut best = 0;
    let mut end = 0;
    for (start, t) in at.iter().enumerate() {
        while end < at.len() && at[end] < *t + window {
            end += 1;
        }
        best = best.max(end - start);
    }
    best
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> anyhow::Result<T> {
    match args.get(i) {
        Some(s) => s
            .parse()
            .map_err(|_| anyhow::anyhow!("argument {i}: cannot parse '{s}'")),
        None => Ok(default),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    if std::env::var("RUST_LOG").is_ok() {
        cpu_gateway::telemetry::init(false);
    }
    let args: Vec<String> = std::env::args().collect();
    let budget: u32 = arg(&args, 1, 100)?;
    let period_secs: u64 = arg(&args, 2, 5)?;
    let windows: u32 = arg(&args, 3, 5)?;
    let factor: u32 = arg(&args, 4, 4)?;
    anyhow::ensure!(budget > 0 && period_secs > 0 && windows > 0 && factor > 0);
    let period = Duration::from_secs(period_secs);

    // The simulator: same budget per period as an independent upstream check.
    let sim_config = SimConfig {
        rate_limit: NonZeroU32::new(budget),
        rate_limit_window: period,
        token_ttl: chrono::Duration::hours(24),
        ..SimConfig::default()
    };
    let sim_app = simulate::Application::build(sim_config, "127.0.0.1:0").await?;
    let sim_base = format!("http://127.0.0.1:{}", sim_app.port());
    tokio::spawn(sim_app.run_until_stopped());

    // The gateway: UAT code path against the simulator, SQLite in a temporary folder.
    let dir = tempfile::tempdir()?;
    let (_, master_key) = VaultKey::generate();
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        mode: Mode::Uat,
        data_dir: dir.path().to_path_buf(),
        database_url: Some(format!("sqlite://{}", dir.path().join("gw.db").display())),
        master_key: Some(master_key),
        demo: false,
        ..Settings::default()
    };
    settings.nxtport.api_base_url = Some(sim_base.clone());
    settings.nxtport.token_url = Some(format!("{sim_base}/connect/token"));
    settings.budget.per_minute = budget;
    settings.budget.period_secs = period_secs;
    settings.quota.per_minute = 0;
    settings.notifications.poll_interval_secs = 0;
    let app = Application::build(settings).await?;
    let gw_base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());

    let party = sim::parties(&sim_base, None)
        .await?
        .into_iter()
        .find(|p| p.key == "psa")
        .context("simulator has no psa party")?;
    let (entity, _) = state.store.ensure_entity("bench").await?;
    let (_, token) = state
        .store
        .create_token(&entity.id, Role::Editor, Some("bench"))
        .await?;
    sim::connect_entity(&state, &entity.id, &party, "BEANR").await?;
    sim::register_webhook(&state, &sim_base, None, &entity.id, &party.nxt_entity_id).await?;

    // Offer factor x budget per period, evenly spaced, for windows + 1 periods.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let rate = f64::from(factor * budget) / period.as_secs_f64();
    let offered = (rate * period.as_secs_f64() * f64::from(windows + 1)).round() as u64;
    println!(
        "limiter: budget {budget} per {period_secs}s, offering {offered} discharges at {rate:.0}/s ({factor}x) for {} periods",
        windows + 1
    );
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::with_capacity(offered as usize);
    for n in 0..offered {
        tick.tick().await;
        let (http, url, token) = (
            http.clone(),
            format!("{gw_base}/v1/discharges"),
            token.expose_secret().to_owned(),
        );
        let (accepted, refused) = (Arc::clone(&accepted), Arc::clone(&refused));
        posts.push(tokio::spawn(async move {
            let body = serde_json::json!({
                "equipmentNumber": container(n),
                "timestamp": "2026-11-22T08:00:00Z",
                "fullEmptyIndicator": "full",
                "equipmentStatus": "import",
            });
            let ok = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 202);
            if ok {
                accepted.fetch_add(1, Ordering::Relaxed);
            } else {
                refused.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for p in posts {
        p.await?;
    }
    // Let the last measured window close (the first call came after the first offer).
    let measured = period * (windows + 1) + Duration::from_millis(500);
    if let Some(rest) = measured.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }

    let calls: Vec<Call> = http
        .get(format!("{sim_base}/simulator/v1/calls"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut at: Vec<DateTime<Utc>> = calls
        .iter()
        .filter(|c| c.party.as_deref() == Some("psa"))
        .map(|c| c.at)
        .collect();
    at.sort();
    let rejected_429 = calls
        .iter()
        .filter(|c| c.party.as_deref() == Some("psa") && c.status == 429)
        .count();
    let ingestions = calls
        .iter()
        .filter(|c| c.path.starts_with("/ingestion/"))
        .count();
    let first = *at.first().context("the simulator saw no call")?;
    let window = chrono::Duration::from_std(period)?;
    let span_end = first + window * i32::try_from(windows)?;
    let in_span = at.iter().filter(|t| **t < span_end).count();
    let max = max_in_any_window(&at, window);
    let used = in_span as f64 / (f64::from(budget) * f64::from(windows));
    println!(
        "offered {offered}: {} accepted (202), {} refused; upstream saw {} calls ({ingestions} ingestions), {rejected_429} answered 429",
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        at.len()
    );
    println!(
        "max calls in any sliding {period_secs}s window = {max} (budget {budget}, must be <= {budget}): {}",
        if max <= budget as usize { "OK" } else { "FAIL" }
    );
    println!(
        "budget used over {windows} windows from the first call = {in_span}/{} = {:.1}% (target >= 98%): {}",
        u64::from(budget) * u64::from(windows),
        100.0 * used,
        if used >= 0.98 { "OK" } else { "FAIL" }
    );
    if max > budget as usize || used < 0.98 {
        std::process::exit(1);
    }
    Ok(())
}

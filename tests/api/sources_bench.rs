//! Data Sources benchmarks, run in release on demand (they are `#[ignore]`d in the normal suite):
//! `bench/sources.sh` or
//! `cargo test --release --test api sources_bench -- --ignored --nocapture --test-threads 1`.
//!
//! 1. A sync of 100,000 events from one emulated terminal: < 10 s, each event stored once.
//! 2. 1,000 entities x six connections: listing one entity's data sources, p99 < 5 ms.

use std::time::{Duration, Instant};

use cpu_gateway::sources::{repo, HumanDuration, Terminal};
use serde_json::json;

use crate::gateway::Db;
use crate::sources::spawn_with;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored"]
async fn sources_bench_sync_100k_events() {
    let env = spawn_with(Db::Sqlite, |s| {
        s.timeout = HumanDuration(Duration::from_secs(30))
    })
    .await
    .expect("sqlite");
    env.account(
        "psa",
        json!({"identifier": "bulk", "secret": "bulk-pw", "events": 100_000, "seed": 11}),
    )
    .await;
    env.put("psa", json!({"username": "bulk", "password": "bulk-pw"}))
        .await;
    assert_eq!(env.settled("psa").await["status"], "connected");
    let started = Instant::now();
    let (status, run) = env.sync("psa").await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{run}");
    let stored = repo::count_events(&env.store, &env.entity, Terminal::Psa)
        .await
        .expect("count");
    println!(
        "BENCH sources sync: 100000 events fetched={} stored={} pages={} in {:.2} s ({:.0} events/s); rows in ds_events={stored}",
        run["fetched"], run["stored"], run["pages"], took.as_secs_f64(), 100_000.0 / took.as_secs_f64()
    );
    assert_eq!(run["stored"], 100_000);
    assert_eq!(stored, 100_000);
    let (_, again) = env.sync("psa").await;
    assert_eq!(again["stored"], 0, "a second sync stores nothing new");
    assert!(took < Duration::from_secs(10), "sync took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored"]
async fn sources_bench_list_with_1000_entities() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    // 999 other entities with six connections each, written straight to the table (listing reads
    // only ds_connections; the vault is not involved).
    let started = Instant::now();
    for i in 0..999 {
        let (e, _) = env
            .store
            .ensure_entity(&format!("bench-{i:04}"))
            .await
            .expect("entity");
        for t in Terminal::ALL {
            let id = if t == Terminal::Mpet {
                uuid::Uuid::new_v4().to_string()
            } else {
                format!("user-{i}-{t}")
            };
            repo::save_connection(&env.store, &e.id, t, &id)
                .await
                .expect("save");
        }
    }
    for t in Terminal::ALL {
        let id = if t == Terminal::Mpet {
            uuid::Uuid::new_v4().to_string()
        } else {
            format!("acme-{t}")
        };
        repo::save_connection(&env.store, &env.entity, t, &id)
            .await
            .expect("save");
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ds_connections")
        .fetch_one(env.store.pool())
        .await
        .expect("count");
    assert_eq!(n, 6000);
    println!(
        "BENCH setup: 1000 entities x 6 connections in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let url = format!("{}/v1/data-sources", env.api);
    for _ in 0..100 {
        env.http
            .get(&url)
            .bearer_auth(&env.editor)
            .send()
            .await
            .expect("warm");
    }
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t0 = Instant::now();
        let resp = env
            .http
            .get(&url)
            .bearer_auth(&env.editor)
            .send()
            .await
            .expect("list");
        let body = resp.bytes().await.expect("body");
        samples.push(t0.elapsed());
        assert!(body.len() > 1000);
    }
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "BENCH GET /v1/data-sources (HTTP, incl. token check) over 2000 calls: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    assert!(p99 < Duration::from_millis(5), "p99 {p99:?}");
}

//! Data Sources benchmarks, run in release on demand (they are `#[ignore]`d in the normal suite):
//! `bench/sources.sh` or
//! `cargo test --release --test api sources_bench -- --ignored --nocapture --test-threads 1`.
//!
//! 1. A sync of 100,000 events from one emulated terminal: < 10 s, each event stored once.
//! 2. 1,000 entities x six connections: listing one entity's data sources, p99 < 5 ms.
//! 3. A T-Mining webhook burst of 10,000 deliveries: each release state stored once, drain time.
//! 4. An EDIFACT interchange of 10,000 COARRI/CODECO messages: parse + store time.

use std::time::{Duration, Instant};

use cpu_gateway::sources::{HumanDuration, Terminal};
use serde_json::json;

use crate::gateway::Db;
use crate::sources::{spawn_gateway, spawn_with};

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
    let stored = env
        .store
        .sources()
        .count_events(&env.entity, Terminal::Psa)
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
    // 2,100 calls in a row from one token: measured without the caller quota.
    let env = spawn_gateway(Db::Sqlite, |s| s.quota.per_minute = 0)
        .await
        .expect("sqlite");
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
            env.store
                .sources()
                .save_connection(&e.id, t, &id)
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
        env.store
            .sources()
            .save_connection(&env.entity, t, &id)
            .await
            .expect("save");
    }
    let n = env.store.testing().connection_rows().await.expect("count");
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

/// 3. A burst of 10,000 T-Mining `onRelease` webhooks (signed, 32 in flight) into one
///    connection: every delivery accepted, every release state stored once, time until the
///    queue is drained; the same burst replayed stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored"]
async fn sources_bench_tmining_webhook_burst_10k() {
    let env = spawn_with(Db::Sqlite, |s| {
        s.timeout = HumanDuration(Duration::from_secs(30))
    })
    .await
    .expect("sqlite");
    env.account(
        "tmining",
        json!({"identifier": "burst@tmining.example", "secret": "burst-pw", "events": 10_000, "seed": 5}),
    )
    .await;
    env.put(
        "tmining",
        json!({"username": "burst@tmining.example", "password": "burst-pw"}),
    )
    .await;
    assert_eq!(env.settled("tmining").await["status"], "connected");
    let (path, secret) = env.tmining_webhook().await;
    let url = format!("{}{path}", env.api);
    let burst = |count: u64| {
        let body = json!({"url": url, "secret": secret, "account": "burst@tmining.example", "count": count, "concurrency": 32});
        let env = &env;
        async move { env.emu_post("/emulations/tmining/webhooks", body).await }
    };
    let drained = || async {
        for _ in 0..1200 {
            let backlog = env
                .store
                .testing()
                .webhook_backlog(None)
                .await
                .expect("backlog");
            if backlog.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not drained after 60 s");
    };
    let started = Instant::now();
    let sent = burst(10_000).await;
    let accepted_in = started.elapsed();
    drained().await;
    let took = started.elapsed();
    assert_eq!(sent["statuses"], json!({"202": 10_000}), "{sent}");
    let stored = env
        .store
        .sources()
        .count_events(&env.entity, Terminal::Tmining)
        .await
        .expect("count");
    let fetched = env
        .store
        .testing()
        .fetched_by_succeeded_syncs("webhook")
        .await
        .expect("fetched");
    let releases = env
        .store
        .testing()
        .webhook_inbox_rows()
        .await
        .expect("releases");
    println!(
        "BENCH tmining webhook burst: 10000 webhooks accepted in {:.2} s, drained in {:.2} s ({:.0} webhooks/s end to end); {releases} releases, {fetched} release GETs, {stored} release states stored",
        accepted_in.as_secs_f64(),
        took.as_secs_f64(),
        10_000.0 / took.as_secs_f64()
    );
    let again = burst(10_000).await;
    assert_eq!(again["statuses"], json!({"202": 10_000}));
    drained().await;
    let after = env
        .store
        .sources()
        .count_events(&env.entity, Terminal::Tmining)
        .await
        .expect("count");
    println!("BENCH tmining webhook burst replayed: {after} release states stored (was {stored})");
    assert_eq!(after, stored, "a replayed burst stores nothing new");
}

/// 4. One EDIFACT interchange of 10,000 COARRI/CODECO messages (written by the PSA emulation):
///    parse + store time, each message stored once, the same file again stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored"]
async fn sources_bench_edifact_10k_messages() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    env.account(
        "psa",
        json!({"identifier": "edi", "secret": "edi-pw", "events": 30_000, "seed": 13}),
    )
    .await;
    env.put("psa", json!({"username": "edi", "password": "edi-pw"}))
        .await;
    assert_eq!(env.settled("psa").await["status"], "connected");
    let file = env
        .http
        .get(format!(
            "{}/emulations/psa/edifact?account=edi&limit=30000",
            env.emu
        ))
        .send()
        .await
        .expect("file")
        .text()
        .await
        .expect("text");
    let messages = file.matches("UNH+").count();
    assert_eq!(messages, 10_000);
    let post = || async {
        let t0 = Instant::now();
        let resp = env
            .http
            .post(format!("{}/v1/data-sources/psa/edifact", env.api))
            .bearer_auth(&env.editor)
            .header("content-type", "text/plain")
            .body(file.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 200);
        let run: serde_json::Value = resp.json().await.expect("run");
        (t0.elapsed(), run)
    };
    let (took, run) = post().await;
    println!(
        "BENCH edifact intake: {} messages ({:.1} MB) parsed and stored in {:.2} s ({:.0} messages/s): stored={} quarantined={}",
        run["fetched"],
        file.len() as f64 / 1e6,
        took.as_secs_f64(),
        10_000.0 / took.as_secs_f64(),
        run["stored"],
        run["quarantined"]
    );
    assert_eq!(run["stored"], 10_000, "{run}");
    assert_eq!(run["quarantined"], 0, "{run}");
    let (took, again) = post().await;
    println!(
        "BENCH edifact intake, same file again: {:.2} s, stored={}",
        took.as_secs_f64(),
        again["stored"]
    );
    assert_eq!(again["stored"], 0);
}

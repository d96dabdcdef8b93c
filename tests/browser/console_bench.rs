//! Benchmark (ignored in the normal suite; `bench/console.sh` runs it in release): the Data
//! Sources page with 1,000 entities x 6 connections in the database, rendered for one signed-in
//! entity. Prints p50 / p99 of the page's time over loopback HTTP (server time plus a local
//! round trip), goal p99 < 20 ms.

use std::time::{Duration, Instant};

use cpu_gateway::sources::Terminal;

use super::support::Gateway;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored (bench/console.sh)"]
async fn console_bench_data_sources_page_with_1000_entities() {
    let gw = Gateway::start().await;
    let store = &gw.state.store;
    let started = Instant::now();
    for i in 0..999 {
        let (e, _) = store
            .ensure_entity(&format!("bench-{i:04}"))
            .await
            .expect("entity");
        for t in Terminal::ALL {
            let id = if t == Terminal::Mpet {
                uuid::Uuid::new_v4().to_string()
            } else {
                format!("user-{i}-{t}")
            };
            store
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
            format!("demo-{t}")
        };
        store
            .sources()
            .save_connection(&gw.entity_id, t, &id)
            .await
            .expect("save");
    }
    let n = store.testing().connection_rows().await.expect("count");
    assert_eq!(n, 6000);
    println!(
        "BENCH setup: 1000 entities x 6 connections in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Sign in like a browser: the login form's CSRF cookie and field, then the session cookie.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = http
        .get(format!("{}/console/login", gw.base))
        .send()
        .await
        .expect("login page");
    let csrf = cookie_value(&login, "cgw_console_login").expect("login csrf cookie");
    let signed = http
        .post(format!("{}/console/login", gw.base))
        .header(reqwest::header::COOKIE, format!("cgw_console_login={csrf}"))
        .form(&[("csrf", csrf.as_str()), ("token", gw.token.as_str())])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), 303);
    let session = cookie_value(&signed, "cgw_console").expect("session cookie");

    let url = format!("{}/console/data-sources", gw.base);
    let get = || {
        http.get(&url)
            .header(reqwest::header::COOKIE, format!("cgw_console={session}"))
            .send()
    };
    for _ in 0..100 {
        get().await.expect("warm");
    }
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t0 = Instant::now();
        let resp = get().await.expect("page");
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.expect("body");
        samples.push(t0.elapsed());
        assert!(body.contains("demo-psa"), "the entity's own cards");
    }
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "BENCH GET /console/data-sources (HTTP on loopback, session check, 6 cards, SQLite) over 2000 calls: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    assert!(p99 < Duration::from_millis(20), "p99 {p99:?}");
}

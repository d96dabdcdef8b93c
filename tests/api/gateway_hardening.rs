//! Gateway hardening: no secret ever reaches the logs of the real binary, even at
//! `RUST_LOG=trace` (text and JSON), and each caller token has its own quota (429 with
//! `Retry-After`, nothing queued, nobody else affected).

use super::gateway::{connection_body, Db, Gw};
use super::sim_helpers::{container, Sim};
use cpu_gateway::store::{Role, VaultKey};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every wait of these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

/// Environment shared by the CLI calls and the server: its own data dir and database only.
fn base_command(dir: &Path, db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpu-gateway"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("CPU_GATEWAY_LOG_JSON")
        .env("CPU_GATEWAY_DATA_DIR", dir.display().to_string())
        .env("CPU_GATEWAY_DATABASE_URL", db)
        .env("RUST_LOG", "trace");
    cmd
}

/// Run a `cpu-gateway token ...` command; its stdout and stderr.
fn cli(dir: &Path, db: &str, args: &[&str]) -> (String, String) {
    let out = base_command(dir, db)
        .args(args)
        .args(["--database-url", db])
        .stdin(Stdio::null())
        .output()
        .expect("run cpu-gateway");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "cpu-gateway {args:?} failed: {stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// A `cpu-gateway serve` child whose stdout and stderr go to files; killed on drop.
struct Server {
    child: std::process::Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Server {
    fn spawn(dir: &Path, db: &str, env: &[(&str, String)]) -> Server {
        let stdout = dir.join("serve.stdout");
        let stderr = dir.join("serve.stderr");
        let mut cmd = base_command(dir, db);
        cmd.args([
            "serve",
            "--mode",
            "uat",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db,
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        Server {
            child: cmd.spawn().expect("spawn cpu-gateway serve"),
            stdout,
            stderr,
        }
    }

    /// Everything the process wrote so far (stdout then stderr).
    fn output(&self) -> String {
        let read = |p: &Path| std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
        format!(
            "{}{}",
            read(&self.stdout).unwrap_or_default(),
            read(&self.stderr).unwrap_or_default()
        )
    }

    /// The port from "gateway listening on http://127.0.0.1:PORT" (bounded wait).
    async fn port(&mut self) -> u16 {
        const NEEDLE: &str = "gateway listening on http://127.0.0.1:";
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.output();
            if let Some(i) = out.find(NEEDLE) {
                let digits: String = out[i + NEEDLE.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(port) = digits.parse() {
                    return port;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("cpu-gateway serve exited with {status}: {}", tail(&out));
            }
            assert!(
                Instant::now() < deadline,
                "no listening line within {WAIT:?}: {}",
                tail(&out)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stop the process and return all it wrote.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last few KB of a log (for assertion messages).
fn tail(log: &str) -> &str {
    let mut start = log.len().saturating_sub(4000);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    super::poll::until(format!("{base} ready"), WAIT, async || {
        let r = http.get(format!("{base}/ready")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
}

async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    Gw::send(rb).await
}

/// Where in `log` `needle` occurs, with some context (for the assertion message).
fn context<'a>(log: &'a str, needle: &str) -> Option<&'a str> {
    let i = log.find(needle)?;
    let mut start = i.saturating_sub(300);
    while !log.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (i + needle.len() + 300).min(log.len());
    while !log.is_char_boundary(end) {
        end += 1;
    }
    Some(&log[start..end])
}

/// Drive the real binary through every path that handles a secret; return its whole output
/// and the secrets that must not be in it (name, value).
async fn exercise(json_logs: bool) -> (String, Vec<(&'static str, String)>) {
    let sim = Sim::start().await;
    let party = sim.party("psa").clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("gw.db").display());
    let (_, master_key) = VaultKey::generate();
    let master_key = master_key.expose_secret().to_owned();

    // The caller's token and the entity's webhook secret, from the CLI (same database). The
    // CLI prints them on stdout by design; its log (stderr) must not show them.
    let (token_out, token_err) = cli(
        dir.path(),
        &db,
        &["token", "create", "--entity", "leak", "--role", "editor"],
    );
    let token = token_out.trim().to_owned();
    assert!(token.starts_with("cgw_"), "{token_out}");
    assert!(!token_err.contains(&token), "token create logged the token");

    let mut server = Server::spawn(
        dir.path(),
        &db,
        &[
            ("CPU_GATEWAY_MASTER_KEY", master_key.clone()),
            ("CPU_GATEWAY_NXTPORT__API_BASE_URL", sim.base.clone()),
            (
                "CPU_GATEWAY_NXTPORT__TOKEN_URL",
                format!("{}/connect/token", sim.base),
            ),
            ("CPU_GATEWAY_DELIVERY__POLL_INTERVAL_MS", "50".to_owned()),
            ("CPU_GATEWAY_DELIVERY__BACKOFF_BASE_MS", "50".to_owned()),
            ("CPU_GATEWAY_DELIVERY__BACKOFF_MAX_MS", "500".to_owned()),
            ("CPU_GATEWAY_RETRY__BASE_DELAY_MS", "20".to_owned()),
            // The poller runs too (it lists notifications with the access token).
            (
                "CPU_GATEWAY_NOTIFICATIONS__POLL_INTERVAL_SECS",
                "1".to_owned(),
            ),
            (
                "CPU_GATEWAY_LOG_JSON",
                if json_logs { "true" } else { "false" }.to_owned(),
            ),
        ],
    );
    let port = server.port().await;
    let base = format!("http://127.0.0.1:{port}");
    let http = crate::sim_helpers::http();
    wait_ready(&http, &base).await;

    let (hook_out, hook_err) = cli(
        dir.path(),
        &db,
        &[
            "token",
            "webhook",
            "--entity",
            "leak",
            "--public-url",
            &base,
        ],
    );
    let mut lines = hook_out.lines();
    let hook_url = lines.next().expect("webhook url").trim().to_owned();
    let hook_secret = lines.next().expect("webhook secret").trim().to_owned();
    assert!(hook_url.starts_with(&format!("{base}/v1/webhooks/nxtport/")));
    assert!(hook_secret.len() >= 16, "{hook_out}");
    assert!(
        !hook_err.contains(&hook_secret),
        "token webhook logged the secret"
    );

    // Save the connection (client secret, password, subscription key).
    let (s, body) = send(
        http.put(format!("{base}/v1/connections/nxtport"))
            .bearer_auth(&token)
            .json(&connection_body(&sim, "psa")),
    )
    .await;
    assert_eq!(s, 200, "{body}");

    // The simulator delivers notifications to the webhook with the secret in the query.
    let r = sim
        .control(
            Method::PUT,
            &format!("/simulator/v1/parties/{}/webhooks", party.nxt_entity_id),
            Some(json!({"url": format!("{hook_url}?token={hook_secret}")})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A discharge: token grant, API call, webhook and poll.
    let eq = container(4242);
    let (s, acc) = send(
        http.post(format!("{base}/v1/discharges"))
            .bearer_auth(&token)
            .json(&json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z"})),
    )
    .await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["operationId"].as_str().expect("operationId").to_owned();
    let deadline = Instant::now() + WAIT;
    loop {
        let (s, op) = send(
            http.get(format!("{base}/v1/operations/{id}"))
                .bearer_auth(&token),
        )
        .await;
        assert_eq!(s, 200, "{op}");
        if op["status"] == json!("completed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "operation not completed in {WAIT:?}: {op}\n{}",
            tail(&server.output())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deliveries = sim.deliveries().await;
    assert!(!deliveries.is_empty(), "the simulator delivered no webhook");

    // A synchronous passthrough (interactive path).
    let trucker = sim.party("trucker").clone();
    let (s, v) = send(
        http.post(format!("{base}/v1/pickup-validations/truck"))
            .bearer_auth(&token)
            .json(&json!({"alfapassNumber": trucker.alfapass_numbers.first().cloned().unwrap_or_default(), "releaseIdentification": [{"equipmentNumber": eq}]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Webhooks: the right secret as ?token=, then wrong ones (query and header).
    let wrong_hook = "whk_wrongwrongwrongwrongwrong0001";
    let note = json!({"publicReferenceId": "hardening-ref-1", "notification": {"event": "test"}});
    let (s, v) = send(
        http.post(format!("{hook_url}?token={hook_secret}"))
            .json(&note),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = send(
        http.post(format!("{hook_url}?token={wrong_hook}"))
            .json(&note),
    )
    .await;
    assert_eq!(s, 401, "{v}");
    let (s, v) = send(http.post(&hook_url).bearer_auth(wrong_hook).json(&note)).await;
    assert_eq!(s, 401, "{v}");

    // A wrong bearer token, and secrets in query strings where they do not belong.
    let wrong_token = "cgw_wrongwrongwrongwrongwrongwrong0002";
    let (s, v) = send(
        http.get(format!("{base}/v1/operations"))
            .bearer_auth(wrong_token),
    )
    .await;
    assert_eq!(s, 401, "{v}");
    let (s, v) = send(
        http.get(format!(
            "{base}/v1/operations?token={token}&password={}",
            party.password
        ))
        .bearer_auth(&token),
    )
    .await;
    assert!(s == 200 || s == 400, "{s} {v}");

    // Malformed connection bodies carrying the secrets: broken JSON, a wrong type, an unknown
    // field whose value is a secret.
    let bodies = [
        format!(
            "{{\"clientSecret\": \"{}\", \"password\": \"{}\", \"apiKey\": \"{}\"",
            party.client_secret, party.password, party.subscription_key
        ),
        json!({"clientId": 7, "clientSecret": party.client_secret, "password": party.password})
            .to_string(),
        {
            let mut b = connection_body(&sim, "psa");
            b["extra"] = json!(party.client_secret);
            b["apiKey"] = json!([party.subscription_key]);
            b.to_string()
        },
        {
            let mut b = connection_body(&sim, "psa");
            b["clientId"] = json!(party.password);
            b["portLoCode"] = json!(party.client_secret);
            b.to_string()
        },
    ];
    for body in bodies {
        let (s, v) = send(
            http.put(format!("{base}/v1/connections/nxtport"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone()),
        )
        .await;
        assert_eq!(s, 400, "{body} -> {v}");
    }

    // The poller ran with the saved connection (NxtPort answers 405 when nothing matches, so
    // any answer will do). The token grant is not journaled; the 202 above needed it.
    let deadline = Instant::now() + WAIT;
    loop {
        let calls = sim.calls().await;
        let path = |c: &Value| c["path"].as_str().unwrap_or("").to_owned();
        let polled = calls
            .iter()
            .any(|c| path(c).starts_with("/certified-pickup/v1/notifications"));
        if polled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the poller did not run within {WAIT:?}: {calls:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Credentials NxtPort refuses: the error path logs, and must not log what was refused.
    let wrong_password = "wrong-password-0003-leak";
    let mut refused = connection_body(&sim, "psa");
    refused["password"] = json!(wrong_password);
    let (s, v) = send(
        http.put(format!("{base}/v1/connections/nxtport"))
            .bearer_auth(&token)
            .json(&refused),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = send(
        http.post(format!("{base}/v1/pickup-validations/truck"))
            .bearer_auth(&token)
            .json(&json!({"alfapassNumber": trucker.alfapass_numbers.first().cloned().unwrap_or_default(), "releaseIdentification": [{"equipmentNumber": eq}]})),
    )
    .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (502, &json!("upstream_auth_failed")),
        "{v}"
    );

    // The last access-log line is written before its response; give the background tasks a
    // moment to log whatever follows, then stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.stop();
    let secrets = vec![
        ("client secret", party.client_secret.clone()),
        ("password", party.password.clone()),
        ("subscription key", party.subscription_key.clone()),
        ("caller token", token),
        ("webhook secret", hook_secret),
        ("wrong webhook secret", wrong_hook.to_owned()),
        ("wrong caller token", wrong_token.to_owned()),
        ("refused password", wrong_password.to_owned()),
        ("master key", master_key),
        // Every access or refresh token the simulator issues has these prefixes.
        ("simulator access token", "sim_at_".to_owned()),
        ("simulator refresh token", "sim_rt_".to_owned()),
    ];
    (log, secrets)
}

async fn no_secret_in_logs(json_logs: bool) {
    let (raw, secrets) = exercise(json_logs).await;
    if let Ok(keep) = std::env::var("CPU_GATEWAY_TEST_KEEP_LOGS") {
        let name = if json_logs {
            "trace-json.log"
        } else {
            "trace.log"
        };
        let _ = std::fs::write(Path::new(&keep).join(name), &raw);
    }
    // Written to a file, not a terminal: plain text, no colour escape codes.
    assert!(!raw.contains('\u{1b}'), "colour codes in a log file");
    let log = raw;
    // The log is the real thing: verbose, with the access lines of what was done.
    assert!(log.len() > 10_000, "log suspiciously short: {log}");
    assert!(
        log.contains("TRACE") || log.contains("\"level\":\"TRACE\""),
        "RUST_LOG=trace did not take: {}",
        tail(&log)
    );
    let access = |route: &str, status: u16| {
        log.lines().any(|l| {
            l.contains(route)
                && (l.contains(&format!("status={status}"))
                    || l.contains(&format!("\"status\":{status}")))
        })
    };
    for (route, status) in [
        ("/v1/discharges", 202),
        ("/v1/connections/nxtport", 200),
        ("/v1/webhooks/nxtport/{entity_id}", 200),
        ("/v1/webhooks/nxtport/{entity_id}", 401),
        ("/v1/pickup-validations/truck", 200),
        ("/v1/pickup-validations/truck", 502),
    ] {
        assert!(
            access(route, status),
            "no access line {route} {status}: {}",
            tail(&log)
        );
    }
    for (name, value) in &secrets {
        assert!(value.len() >= 7, "{name} too short to search for: {value}");
        if let Some(around) = context(&log, value) {
            panic!("the {name} appears in the gateway's log:\n...{around}...");
        }
    }
}

#[tokio::test]
async fn gateway_hardening_no_secret_in_trace_logs() {
    no_secret_in_logs(false).await;
}

#[tokio::test]
async fn gateway_hardening_no_secret_in_trace_json_logs() {
    no_secret_in_logs(true).await;
}

// ---------------------------------------------------------------------------------------------
// Caller quota
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn gateway_hardening_caller_quota_is_per_token() {
    let sim = Sim::start().await;
    // Burst of 3, then one request every 30 s: nothing refills during the test.
    let gw = Gw::start(&sim, Db::Sqlite, |s| {
        s.quota.per_minute = 2;
        s.quota.burst = 3;
    })
    .await
    .expect("sqlite");
    let (_, limited) = gw.token("alpha", Role::Editor).await;
    let (_, sibling) = gw.token("alpha", Role::Editor).await;
    let (_, other_viewer) = gw.token("beta", Role::Viewer).await;
    let (_, other_editor) = gw.token("beta", Role::Editor).await;
    gw.connect(&sibling, &sim, "psa").await;
    let discharge =
        |n: u32| json!({"equipmentNumber": container(n), "timestamp": "2024-05-01T08:00:00Z"});

    for n in 0..3 {
        let (s, v) = gw
            .post("/v1/discharges", &limited, &discharge(800 + n))
            .await;
        assert_eq!(s, 202, "request {n} within the burst: {v}");
    }
    let total = |c: Vec<(String, i64)>| c.iter().map(|(_, n)| n).sum::<i64>();
    assert_eq!(total(gw.counts().await), 3);
    let r = gw
        .req(Method::POST, "/v1/discharges", &limited)
        .json(&discharge(899))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in integer seconds");
    assert!((1..=31).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = r.json().await.expect("JSON error envelope");
    assert_eq!(body["error"]["code"], json!("rate_limited"), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    // Reads of that token are refused too; nothing was queued by the refused write.
    let (s, v) = gw.get("/v1/operations", &limited).await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (429, &json!("rate_limited")),
        "{v}"
    );
    assert_eq!(
        total(gw.counts().await),
        3,
        "a refused write queued an operation"
    );
    let (s, list) = gw.get("/v1/operations?limit=100", &sibling).await;
    assert_eq!(s, 200, "{list}");
    let ops = list.as_array().expect("list");
    assert_eq!(ops.len(), 3, "{list}");
    assert!(
        ops.iter()
            .all(|o| o["equipmentNumber"] != json!(container(899))),
        "{list}"
    );

    // Another token of the same entity, and the tokens of another entity, are not affected.
    let (s, v) = gw.post("/v1/discharges", &sibling, &discharge(900)).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = gw.get("/v1/operations", &other_viewer).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(0), "{v}");
    let (s, v) = gw.get("/v1/operations", &other_editor).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = gw
        .post("/v1/discharges", &other_editor, &discharge(901))
        .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("connection_missing")),
        "{v}"
    );
    // And the limited token stays limited.
    let (s, _) = gw.post("/v1/discharges", &limited, &discharge(902)).await;
    assert_eq!(s, 429);
}

//! Data Sources over the terminals' documented channels: T-Mining `onRelease` webhooks followed by
//! a GET of the release, UN/EDIFACT COARRI/CODECO files, MPET status lights, and the error shapes
//! (API Management quota / rate limit with Retry-After). Payloads are the documented ones.

use std::time::Duration;

use cpu_gateway::sources::intake::{sign, SIGNATURE_HEADER};
use cpu_gateway::sources::Terminal;
use serde_json::{json, Value};

use crate::gateway::Db;
use crate::sources::{spawn_with, Env};

const TMINING_DEMO: (&str, &str) = ("demo@tmining.example", "tmining-demo-password");

/// A discharge report and a gate-out report after the UN/EDIFACT D.95B message structure
/// (UNH, BGM, TDT, DTM, EQD group with RFF, DTM, LOC, CNT, UNT), as the SMDG manuals lay them out.
/// The shared sample interchange (also read by the unit tests in `src/terminals/edifact/tests.rs`).
const COARRI_CODECO: &str = include_str!("../fixtures/psa-coarri-codeco.edi");

impl Env {
    async fn events_of(&self, terminal: &str) -> i64 {
        let t = Terminal::parse(terminal).expect("a terminal");
        self.store
            .sources()
            .count_events(&self.entity, t)
            .await
            .expect("count")
    }

    /// Wait (bounded: 20 s) until no webhook of this entity is pending and no drain runs.
    async fn drained(&self) {
        super::poll::until("webhooks drained", Duration::from_secs(20), async || {
            let backlog = self
                .store
                .testing()
                .webhook_backlog(Some(&self.entity))
                .await
                .expect("backlog");
            backlog.is_empty().then_some(())
        })
        .await;
    }

    async fn post_raw(&self, path: &str, headers: &[(&str, String)], body: &str) -> (u16, Value) {
        self.post_raw_to(&self.api, path, headers, body).await
    }

    async fn post_raw_to(
        &self,
        base: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.expect("post");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post_edifact(&self, terminal: &str, body: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/v1/data-sources/{terminal}/edifact", self.api))
            .bearer_auth(&self.editor)
            .header("content-type", "text/plain")
            .body(body.to_string())
            .send()
            .await
            .expect("post");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn history(&self, terminal: &str) -> Vec<Value> {
        let (s, v) = self
            .get(&format!("/v1/data-sources/{terminal}/syncs?limit=500"))
            .await;
        assert_eq!(s, 200, "{v}");
        v.as_array().cloned().unwrap_or_default()
    }

    async fn timeline(&self, equipment: &str) -> Vec<Value> {
        let (s, v) = self
            .get(&format!("/v1/containers/{equipment}/events"))
            .await;
        assert_eq!(s, 200, "{v}");
        v["events"].as_array().cloned().unwrap_or_default()
    }

    async fn connect_tmining(&self) -> (String, String) {
        self.put(
            "tmining",
            json!({"username": TMINING_DEMO.0, "password": TMINING_DEMO.1}),
        )
        .await;
        assert_eq!(self.settled("tmining").await["status"], "connected");
        self.tmining_webhook().await
    }

    async fn burst(&self, path: &str, secret: &str, from: u64, count: u64) -> Value {
        self.emu_post(
            "/emulations/tmining/webhooks",
            json!({"url": format!("{}{path}", self.api), "secret": secret, "from": from, "count": count}),
        )
        .await
    }
}

fn documented_body(release: &str, event: &str) -> String {
    json!({"release": release, "event": event, "organization": "0x78f13e5253a30f0EE079f5DDE281B3F1efe70B94", "vat": "BE2020112701"}).to_string()
}

async fn tmining_webhooks_fetch_the_release_and_store_each_state_once(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    // Only editors set up a receiver; terminals without webhooks say so.
    let (s, v) = env
        .call(
            reqwest::Method::POST,
            "/v1/data-sources/tmining/webhook",
            &env.viewer,
            None,
        )
        .await;
    assert_eq!(s, 403, "{v}");
    env.account(
        "tmining",
        json!({"identifier": TMINING_DEMO.0, "events": 60}),
    )
    .await;
    let (path, secret) = env.connect_tmining().await;
    let (s, v) = env
        .call(
            reqwest::Method::POST,
            "/v1/data-sources/psa/webhook",
            &env.editor,
            None,
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("no_webhooks")));

    // 60 feed events = 10 containers through their whole life, as signed webhooks.
    let burst = env.burst(&path, &secret, 0, 60).await;
    assert_eq!(burst["statuses"], json!({"202": 60}), "{burst}");
    env.drained().await;
    let stored = env.events_of("tmining").await;
    assert!(stored > 0);

    // The containers the terminal reported, and one's timeline with the release statuses.
    let (s, list) = env.get("/v1/data-sources/tmining/containers").await;
    assert_eq!(s, 200, "{list}");
    let list = list.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 10, "{list:?}");
    let eq = list[0]["equipmentNumber"].as_str().expect("eq").to_string();
    let tl = env.timeline(&eq).await;
    let kinds: Vec<&str> = tl.iter().filter_map(|e| e["kind"].as_str()).collect();
    for k in ["commercial_release", "customs_status", "pickup_ready"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let cr = tl
        .iter()
        .find(|e| e["kind"] == "commercial_release" && e["status"] == "OK")
        .expect("commercial release OK");
    assert_eq!(cr["timeKind"], "observed");
    assert_eq!(cr["fullEmpty"], "full");
    assert_eq!(cr["documents"][0]["kind"], "bill_of_lading");
    assert!(tl
        .iter()
        .any(|e| e["kind"] == "commercial_release" && e["timeKind"] == "estimated"));
    // Paging the list.
    let (_, page2) = env
        .get(&format!(
            "/v1/data-sources/tmining/containers?after={eq}&limit=3"
        ))
        .await;
    assert_eq!(page2.as_array().map(Vec::len), Some(3));
    assert!(page2[0]["equipmentNumber"].as_str() > Some(eq.as_str()));

    // Replayed, and out of order (oldest last): the release is read as it stands now, so
    // nothing is stored twice.
    let again = env.burst(&path, &secret, 0, 60).await;
    assert_eq!(again["statuses"], json!({"202": 60}));
    env.drained().await;
    assert_eq!(env.events_of("tmining").await, stored);
    let address = cpu_gateway::simulate::terminals::tmining_release_address(&eq);
    for event in ["GREENLIGHTS", "update", "Transfer"] {
        let body = documented_body(&address, event);
        let sig = sign(&secret, chrono::Utc::now().timestamp(), body.as_bytes());
        let (s, v) = env.post_raw(&path, &[(SIGNATURE_HEADER, sig)], &body).await;
        assert_eq!(s, 202, "{v}");
    }
    // The secret as a bearer token works too.
    let body = documented_body(&address, "unblock");
    let (s, _) = env
        .post_raw(
            &path,
            &[("authorization", format!("Bearer {secret}"))],
            &body,
        )
        .await;
    assert_eq!(s, 202);
    env.drained().await;
    assert_eq!(env.events_of("tmining").await, stored);

    // Bad deliveries: refused with their reason, in the sync history, nothing stored.
    let now = chrono::Utc::now().timestamp();
    let good = documented_body(&address, "update");
    /// Headers, body, expected status and code.
    type Case<'a> = (Vec<(&'a str, String)>, String, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![], good.clone(), 401, "missing_signature"),
        (
            vec![(SIGNATURE_HEADER, sign("not-the-secret", now, good.as_bytes()))],
            good.clone(),
            401,
            "invalid_signature",
        ),
        (
            vec![(SIGNATURE_HEADER, sign(&secret, now - 600, good.as_bytes()))],
            good.clone(),
            401,
            "stale_signature",
        ),
        (
            vec![("authorization", "Bearer wrong".to_string())],
            good.clone(),
            401,
            "invalid_signature",
        ),
        (
            vec![],
            documented_body(&address, "explode"),
            400,
            "unknown_event",
        ),
        (
            vec![],
            json!({"release": address, "event": "update", "organization": "0x1", "vat": "BE1", "containerNumber": eq}).to_string(),
            400,
            "invalid_webhook_body",
        ),
    ];
    for (mut headers, body, status, code) in cases {
        if headers.is_empty() && status == 400 {
            headers.push((SIGNATURE_HEADER, sign(&secret, now, body.as_bytes())));
        }
        let (s, v) = env.post_raw(&path, &headers, &body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{v}"
        );
    }
    let (s, v) = env
        .post_raw(
            "/v1/data-sources/tmining/webhook/0123456789abcdef",
            &[],
            &good,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_webhook"))
    );
    // A flood of forged deliveries is one entry in the history, counting them.
    let before = env.history("tmining").await.len();
    let forged = [(SIGNATURE_HEADER, sign("forged", now, good.as_bytes()))];
    for _ in 0..50 {
        let (s, v) = env.post_raw(&path, &forged, &good).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (401, Some("invalid_signature"))
        );
    }
    let history = env.history("tmining").await;
    assert_eq!(history.len(), before + 1);
    assert!(
        history
            .iter()
            .any(|r| r["errorCode"] == "invalid_signature" && r["fetched"] == 50),
        "{history:?}"
    );
    let refused: Vec<String> = env
        .history("tmining")
        .await
        .iter()
        .filter(|r| r["trigger"] == "webhook" && r["status"] == "refused")
        .filter_map(|r| r["errorCode"].as_str().map(str::to_string))
        .collect();
    for code in [
        "missing_signature",
        "invalid_signature",
        "stale_signature",
        "unknown_event",
        "invalid_webhook_body",
    ] {
        assert!(refused.iter().any(|c| c == code), "{code} in {refused:?}");
    }
    let drains: Vec<Value> = env
        .history("tmining")
        .await
        .into_iter()
        .filter(|r| r["trigger"] == "webhook" && r["status"] == "succeeded")
        .collect();
    assert!(!drains.is_empty());
    assert_eq!(env.events_of("tmining").await, stored);

    // The periodic fetch (gap filler) reads the same releases: it may add states the drain did
    // not happen to see in between, and reading them again adds nothing.
    let (s, run) = env.sync("tmining").await;
    assert_eq!(
        (s, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
    let (_, run) = env.sync("tmining").await;
    assert_eq!(run["stored"], 0, "{run}");

    // Disconnected: the receiver is gone with the connection, the history stays.
    let (s, _) = env
        .call(
            reqwest::Method::DELETE,
            "/v1/data-sources/tmining",
            &env.editor,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let sig = sign(&secret, chrono::Utc::now().timestamp(), good.as_bytes());
    let (s, v) = env.post_raw(&path, &[(SIGNATURE_HEADER, sig)], &good).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_webhook"))
    );
    assert!(!env.history("tmining").await.is_empty());
}

#[tokio::test]
async fn tmining_webhooks_fetch_the_release_and_store_each_state_once_sqlite() {
    tmining_webhooks_fetch_the_release_and_store_each_state_once(Db::Sqlite).await;
}

#[tokio::test]
async fn tmining_webhooks_fetch_the_release_and_store_each_state_once_postgres() {
    tmining_webhooks_fetch_the_release_and_store_each_state_once(Db::Postgres).await;
}

/// A receiver's secret rotated through one replica works at once on another that had cached
/// the old one, and the old one is refused there from then on.
#[tokio::test]
async fn a_webhook_secret_rotated_on_one_replica_works_at_once_on_another() {
    let env = crate::sources::spawn_with(Db::Sqlite, |_| {})
        .await
        .expect("sqlite");
    let (path, old) = env.connect_tmining().await;
    let other = env.replica().await;
    let now = chrono::Utc::now().timestamp();
    let address = cpu_gateway::simulate::terminals::tmining_release_address("MSCU1234566");
    let body = documented_body(&address, "update");
    let signed = |secret: &str| vec![(SIGNATURE_HEADER, sign(secret, now, body.as_bytes()))];
    // The other replica learns (and caches) the old secret.
    let (s, v) = env.post_raw_to(&other, &path, &signed(&old), &body).await;
    assert_eq!(s, 202, "{v}");
    // Rotated through the first replica.
    let (same, new) = env.tmining_webhook().await;
    assert_ne!(new, old);
    assert_eq!(same, path, "same receiver");
    let (s, v) = env.post_raw_to(&other, &path, &signed(&new), &body).await;
    assert_eq!(
        s, 202,
        "the new secret is refused by the other replica: {v}"
    );
    let (s, v) = env.post_raw_to(&other, &path, &signed(&old), &body).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("invalid_signature")),
        "{v}"
    );
    env.drained().await;
}

#[tokio::test]
async fn tmining_periodic_fetch_alone_fills_the_timeline() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    env.put(
        "tmining",
        json!({"username": TMINING_DEMO.0, "password": TMINING_DEMO.1}),
    )
    .await;
    assert_eq!(env.settled("tmining").await["status"], "connected");
    let (s, run) = env.sync("tmining").await;
    assert_eq!(
        (s, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
    assert!(run["stored"].as_i64() > Some(0), "{run}");
    let (_, again) = env.sync("tmining").await;
    assert_eq!(again["stored"], 0);
}

async fn coarri_and_codeco_end_up_on_the_timeline(db: Db) {
    let Some(env) = spawn_with(db, |_| {}).await else {
        return;
    };
    env.put(
        "psa",
        json!({"username": "demo-psa", "password": "psa-demo-password"}),
    )
    .await;
    assert_eq!(env.settled("psa").await["status"], "connected");
    let (s, run) = env.post_edifact("psa", COARRI_CODECO).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(
        (
            run["trigger"].as_str(),
            run["status"].as_str(),
            run["fetched"].as_i64(),
            run["stored"].as_i64()
        ),
        (Some("edifact"), Some("succeeded"), Some(2), Some(3)),
        "{run}"
    );
    let tl = env.timeline("CSQU3054383").await;
    let d = tl
        .iter()
        .find(|e| e["kind"] == "discharge")
        .expect("discharge");
    assert_eq!(d["source"], "psa");
    assert_eq!(d["occurredAt"], "2026-03-01T10:12:00Z");
    assert_eq!(d["quay"], "869");
    assert_eq!(d["yardPosition"], "0120482");
    assert_eq!(d["vessel"], "MSC ISABELLA");
    assert_eq!(d["fullEmpty"], "full");
    assert_eq!(
        d["documents"],
        json!([{"kind": "bill_of_lading", "number": "BL+0001"}])
    );
    let eta = tl
        .iter()
        .find(|e| e["kind"] == "vessel_arrival")
        .expect("eta");
    assert_eq!(eta["timeKind"], "estimated");
    assert!(tl
        .iter()
        .any(|e| e["kind"] == "gate_out" && e["occurredAt"] == "2026-03-02T14:30:00Z"));
    // The same file again: nothing new.
    let (_, run) = env.post_edifact("psa", COARRI_CODECO).await;
    assert_eq!(run["stored"], 0, "{run}");
    let before = env.events_of("psa").await;

    // One bad message among good ones: quarantined with its reason, the other stored.
    let mixed = COARRI_CODECO
        .replace("UNT+11+M1", "UNT+12+M1")
        .replace("GO-0001", "GO-0002")
        .replace("DTM+7:202603021430", "DTM+7:202603031430");
    let (s, run) = env.post_edifact("psa", &mixed).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(
        (
            run["status"].as_str(),
            run["quarantined"].as_i64(),
            run["stored"].as_i64(),
            run["errorCode"].as_str()
        ),
        (
            Some("partial"),
            Some(1),
            Some(1),
            Some("segment_count_mismatch")
        ),
        "{run}"
    );
    for (bad, code) in [
        (
            COARRI_CODECO.replacen("CSQU3054383", "CSQU3054384", 1),
            "invalid_check_digit",
        ),
        (
            COARRI_CODECO.replace("BGM+34", "BGM+99"),
            "unknown_qualifier",
        ),
    ] {
        let (_, run) = env.post_edifact("psa", &bad).await;
        assert_eq!(run["errorCode"], code, "{run}");
    }
    // The same bad file re-sent: the run says what it refused, the quarantine holds it once.
    let (_, run) = env.post_edifact("psa", &mixed).await;
    assert_eq!(run["quarantined"], 1, "{run}");
    let (s, q) = env.get("/v1/data-sources/psa/quarantine").await;
    assert_eq!(s, 200);
    let q = q.as_array().cloned().unwrap_or_default();
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(q
        .iter()
        .all(|m| m["content"].as_str().is_some_and(|c| c.starts_with("UNH+"))));
    // Not EDIFACT at all: refused as a whole, recorded.
    let (s, v) = env.post_edifact("psa", "hello, this is not EDIFACT").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_syntax"))
    );
    let hist = env.history("psa").await;
    assert!(hist
        .iter()
        .any(|r| r["trigger"] == "edifact" && r["status"] == "refused"));
    // Nothing stored was lost or duplicated: only the one new gate out.
    assert_eq!(env.events_of("psa").await, before + 1);
    // A terminal with its own API takes no EDIFACT; an unconnected one is 404.
    let (s, v) = env.post_edifact("tmining", COARRI_CODECO).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("no_edifact")));
    let (s, _) = env.post_edifact("dpworld", COARRI_CODECO).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn coarri_and_codeco_end_up_on_the_timeline_sqlite() {
    coarri_and_codeco_end_up_on_the_timeline(Db::Sqlite).await;
}

#[tokio::test]
async fn coarri_and_codeco_end_up_on_the_timeline_postgres() {
    coarri_and_codeco_end_up_on_the_timeline(Db::Postgres).await;
}

#[tokio::test]
async fn the_psa_emulation_writes_edifact_the_intake_reads() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    env.put(
        "psa",
        json!({"username": "demo-psa", "password": "psa-demo-password"}),
    )
    .await;
    assert_eq!(env.settled("psa").await["status"], "connected");
    let file = env
        .http
        .get(format!("{}/emulations/psa/edifact?limit=120", env.emu))
        .send()
        .await
        .expect("file")
        .text()
        .await
        .expect("text");
    let messages = file.matches("UNH+").count() as i64;
    assert!(messages > 10, "{file}");
    let (s, run) = env.post_edifact("psa", &file).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["fetched"].as_i64(), Some(messages));
    assert_eq!(run["stored"].as_i64(), Some(messages));
}

#[tokio::test]
async fn mpet_status_lights_are_on_the_timeline() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    env.put(
        "mpet",
        json!({"uuid": "6f1c3c1e-5a8d-4c1e-9d2b-00000000d001", "token": "mpet-demo-token"}),
    )
    .await;
    assert_eq!(env.settled("mpet").await["status"], "connected");
    let (_, run) = env.sync("mpet").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, list) = env.get("/v1/data-sources/mpet/containers?limit=1000").await;
    let mut seen = std::collections::BTreeSet::new();
    for c in list.as_array().cloned().unwrap_or_default() {
        let eq = c["equipmentNumber"].as_str().expect("eq").to_string();
        for e in env.timeline(&eq).await {
            if e["timeKind"] == "observed" && e["status"] == "GREEN" {
                seen.insert(e["kind"].as_str().unwrap_or("").to_string());
            }
        }
    }
    for k in [
        "yard_location",
        "terminal_release",
        "commercial_release",
        "customs_status",
        "assignment",
        "pickup_ready",
    ] {
        assert!(seen.contains(k), "{k} in {seen:?}");
    }
    // A second sync stores no light twice.
    let (_, again) = env.sync("mpet").await;
    assert_eq!(again["stored"], 0);
}

#[tokio::test]
async fn retry_after_and_quota_are_honoured_and_told_apart() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    env.put(
        "psa",
        json!({"username": "demo-psa", "password": "psa-demo-password"}),
    )
    .await;
    assert_eq!(env.settled("psa").await["status"], "connected");
    let next_sync = || async {
        env.store
            .sources()
            .get_connection(&env.entity, Terminal::Psa)
            .await
            .expect("read")
            .expect("the psa connection")
            .next_sync_at
    };
    for (kind, code) in [
        ("rate_limited", "rate_limited"),
        ("quota_exceeded", "quota_exceeded"),
    ] {
        env.fault(
            "psa",
            json!({"kind": kind, "retryAfterSecs": 120, "count": 1}),
        )
        .await;
        let before = chrono::Utc::now().timestamp_millis();
        let (_, run) = env.sync("psa").await;
        assert_eq!(
            (run["status"].as_str(), run["errorCode"].as_str()),
            (Some("failed"), Some(code)),
            "{run}"
        );
        assert!(run["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("120 s")));
        // Backoff alone would be 200 ms: the terminal's 120 s wins.
        assert!(next_sync().await >= before + 119_000, "{kind}");
    }
    // "Not activated" (ProblemDetails 403) is another thing: permanent, not retried early.
    env.fault("psa", json!({"kind": "api_not_activated", "count": 1}))
        .await;
    let (_, run) = env.sync("psa").await;
    assert_eq!(run["errorCode"], "api_access_not_activated", "{run}");
}

#[tokio::test]
async fn a_failed_webhook_drain_waits_for_the_terminals_retry_after() {
    // A drain's own lease (5 s) far shorter than the terminal's 120 s.
    let env = spawn_with(Db::Sqlite, |s| {
        s.lease = cpu_gateway::sources::HumanDuration(Duration::from_secs(5))
    })
    .await
    .expect("sqlite");
    env.account(
        "tmining",
        json!({"identifier": TMINING_DEMO.0, "events": 12}),
    )
    .await;
    let (path, secret) = env.connect_tmining().await;
    let stored_before = env.events_of("tmining").await;
    // The drain's first call is refused with 429 and "come back in 120 s".
    env.fault(
        "tmining",
        json!({"kind": "rate_limited", "retryAfterSecs": 120, "count": 1}),
    )
    .await;
    let before = chrono::Utc::now().timestamp_millis();
    let burst = env.burst(&path, &secret, 0, 6).await;
    assert_eq!(burst["statuses"], json!({"202": 6}), "{burst}");
    let t = Terminal::parse("tmining").expect("terminal");
    // The failed drain is in the history, and the connection's drain is paused for the
    // terminal's 120 s.
    super::poll::until("the drain paused", Duration::from_secs(20), async || {
        let until = env
            .store
            .testing()
            .hook_lease_until(&env.entity, t)
            .await
            .expect("lease");
        (until >= before + 119_000).then_some(())
    })
    .await;
    let runs = env.history("tmining").await;
    assert!(
        runs.iter()
            .any(|r| r["trigger"] == "webhook" && r["errorCode"] == "rate_limited"),
        "{runs:?}"
    );
    // Nothing lost: the releases stay queued, and no replica's scheduler picks them up early.
    let backlog = env
        .store
        .testing()
        .webhook_backlog(Some(&env.entity))
        .await
        .expect("backlog");
    assert!(backlog.pending > 0, "{backlog:?}");
    let due = env
        .store
        .sources()
        .connections_with_pending_webhooks(100)
        .await
        .expect("pending");
    assert!(!due.iter().any(|(e, _)| e == &env.entity), "{due:?}");
    assert_eq!(env.events_of("tmining").await, stored_before);

    // The pause over, the next webhook drains everything queued.
    env.store
        .testing()
        .expire_hook_lease(&env.entity, t)
        .await
        .expect("expire");
    let due = env
        .store
        .sources()
        .connections_with_pending_webhooks(100)
        .await
        .expect("pending");
    assert!(due.iter().any(|(e, _)| e == &env.entity), "{due:?}");
    let burst = env.burst(&path, &secret, 6, 1).await;
    assert_eq!(burst["statuses"], json!({"202": 1}), "{burst}");
    env.drained().await;
    assert!(env.events_of("tmining").await > stored_before);
}

#[tokio::test]
async fn nxtport_accounts_are_users_not_the_vendors_shared_client_id() {
    let env = spawn_with(Db::Sqlite, |_| {}).await.expect("sqlite");
    let (other, _) = env.store.ensure_entity("globex").await.expect("entity");
    let (_, other_token) = env
        .store
        .create_token(&other.id, cpu_gateway::store::Role::Editor, None)
        .await
        .expect("token");
    let other_token = secrecy::ExposeSecret::expose_secret(&other_token).to_string();
    let body = |user: &str| json!({"clientId": "vendor-client", "clientSecret": "vendor-secret", "username": user, "password": "pw", "apiKey": "key", "ingestionId": "ing-1", "terminalCode": "869"});
    let (s, v) = env.put("nxtport", body("ops@acme.example")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"]["identifier"], "ops@acme.example");
    // Another customer of the same software vendor: same client id, own user. Allowed.
    let (s, v) = env
        .call(
            reqwest::Method::PUT,
            "/v1/data-sources/nxtport",
            &other_token,
            Some(body("ops@globex.example")),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The same NxtPort user under a second entity is refused.
    let (s, v) = env
        .call(
            reqwest::Method::PUT,
            "/v1/data-sources/nxtport",
            &other_token,
            Some(body("OPS@acme.example")),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("credentials_in_use"))
    );
}

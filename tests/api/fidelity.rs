//! Issue 11 against a real simulator: the panic input, timestamps at the edge, terminal scoping,
//! the caller's own notification, NxtPort's content type for errors, the release right by id,
//! one envelope for every refusal, and the tick task.

use crate::sim_helpers::*;
use chrono::Utc;
use cpu_gateway::simulate::state::DEFAULT_WORLD;
use cpu_gateway::simulate::{tick, SimConfig, SimState};
use cpu_simulator::{
    Action, Command, NotificationEvent, ReleaseAction, ReleaseRightCommand, TerminalCode, UnLocode,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

#[actix_web::test]
async fn the_release_date_that_crashed_the_simulator_is_a_400_naming_the_field() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1101);
    // The exact input of the issue: the connection used to drop (World::act panicked).
    let r = c
        .agent
        .release_rights(
            &eq,
            "Release",
            json!({"terminalCode": "869", "releaseDateTimeUtc": "+262142-12-31T00:00:00"}),
        )
        .await;
    let msg = r.bad_field("releaseDateTimeUtc");
    assert!(msg.contains("+262142"), "{msg}");
    // The server is still there, and the container unknown.
    sim.container(&eq).await.expect(404);
    for (field, bad) in [
        ("releaseDateTimeUtc", "2016-12-31T23:59:60.5Z"),
        ("releaseDateTimeUtc", "0000-01-01T00:00:00Z"),
        ("releaseDateTimeUtc", "1969-12-31T23:59:59Z"),
        ("releaseDateTimeUtc", "-0001-01-01T00:00:00"),
        ("releaseDateTimeUtc", "+2024-01-01T00:00:00Z"),
        ("expirationDateTimeUtc", "10000-01-01T00:00:00Z"),
        ("validFrom", "2016-12-31T23:59:60Z"),
    ] {
        let mut extra = json!({"terminalCode": "869"});
        extra[field] = json!(bad);
        c.agent
            .release_rights(&eq, "Release", extra)
            .await
            .bad_field(field);
    }
    let mut body = c.psa.terminal_release_body(&eq, "Release");
    body["releaseDateTimeUtc"] = json!("2016-12-31T23:59:60Z");
    c.psa
        .call(Method::PUT, &terminal_release_path(&eq), Some(&body))
        .await
        .bad_field("releaseDateTimeUtc");
    c.psa
        .ingest(
            &eq,
            "Discharge",
            json!({"timestamp": "0001-01-01T00:00:00Z"}),
        )
        .await
        .bad_field("timestamp");
    sim.container(&eq).await.expect(404);
}

#[actix_web::test]
async fn a_terminal_acts_only_on_containers_at_its_own_terminal() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1102);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    let before = sim.snapshot(&eq).await;
    // DP World (1700) on PSA's container (869): Block, Release, Discharge, GateOut.
    for action in ["Block", "Release"] {
        let r = c.dpworld.terminal_release(&eq, action).await;
        let p = r.problem(401);
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains("869")),
            "{}",
            r.text
        );
    }
    for op in ["Discharge", "GateOut"] {
        c.dpworld.ingest(&eq, op, json!({})).await.problem(401);
    }
    Sim::same(&before, &sim.snapshot(&eq).await);
    // PSA may; and every caller reads the notification of its own accepted call.
    let psa_ref = c.psa.terminal_release(&eq, "Block").await.reference();
    assert_eq!(sim.status(&eq).await, "BLOCKED");
    for (who, reference) in [(&c.psa, psa_ref)] {
        who.notifications(&format!("publicReferenceId={reference}"))
            .await
            .expect(200);
    }
    let accept = c
        .trucker
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    c.trucker
        .notifications(&format!("publicReferenceId={accept}"))
        .await
        .expect(200);
}

#[actix_web::test]
async fn errors_are_problem_details_sent_as_application_json() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1103);
    let body = c.psa.terminal_release_body(&eq, "Release");
    let r = c
        .trucker
        .call(Method::PUT, &terminal_release_path(&eq), Some(&body))
        .await;
    r.problem(401);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = c
        .agent
        .release_rights(&eq, "Release", json!({"terminalCode": "nope!"}))
        .await;
    r.problem(400);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[actix_web::test]
async fn release_right_details_by_release_id_for_the_terminal_it_names() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1104);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    let n = c.psa.notifications(&format!("equipmentNumber={eq}")).await;
    let release_id = n.expect(200).body[0]["releaseId"]
        .as_str()
        .expect("releaseId")
        .to_owned();
    let path = format!("/certified-pickup/v1/release-rights?releaseId={release_id}");
    let r = c.psa.call(Method::GET, &path, None).await;
    r.expect(200);
    assert_eq!(r.body["releaseId"], json!(release_id));
    assert_eq!(r.body["equipmentNumber"], json!(eq));
    assert_eq!(r.body["terminalCode"], json!("869"));
    assert!(r.body["lights"].as_array().is_some_and(|l| l.len() == 5));
    // Another terminal: 401; a party that is no terminal: 401.
    c.dpworld.call(Method::GET, &path, None).await.problem(401);
    c.trucker.call(Method::GET, &path, None).await.problem(401);
    // Unknown, missing or malformed releaseId: 405 Invalid input (NxtPort's OpenAPI).
    for q in [
        format!("releaseId={}", uuid::Uuid::nil()),
        String::new(),
        "releaseId=abc".into(),
    ] {
        c.psa
            .call(
                Method::GET,
                &format!("/certified-pickup/v1/release-rights?{q}"),
                None,
            )
            .await
            .problem(405);
    }
    // No credentials: 401.
    c.psa
        .with("", None)
        .call(Method::GET, &path, None)
        .await
        .problem(401);
}

#[tokio::test]
async fn the_tick_task_fires_timers_without_any_command() {
    // A world on the real clock whose release expires 30 ms from now.
    let config = SimConfig {
        rate_limit: None,
        ..SimConfig::default()
    };
    let (state, _rx) = SimState::new(config).expect("state");
    let world = state.world(DEFAULT_WORLD).expect("world");
    let (agent, trucker) = {
        let w = world.read();
        let id = |k: &str| w.party_by_key(k).expect("party").nxt_entity_id.clone();
        (id("agent"), id("trucker"))
    };
    let expires = Utc::now() + chrono::Duration::milliseconds(30);
    let mut cmd = ReleaseRightCommand::new(ReleaseAction::Release);
    cmd.terminal_code = Some(TerminalCode::parse("869").expect("code"));
    cmd.release_to = Some(cpu_simulator::Identification {
        identification_type: cpu_simulator::IdentificationType::NxtEntityId,
        identification_code: trucker.as_str().to_owned(),
    });
    cmd.expires_at = Some(expires);
    world
        .apply(Command::Act {
            caller: agent.clone(),
            locode: UnLocode::antwerp(),
            equipment: cpu_simulator::EquipmentNumber::parse(&container(1105)).expect("eq"),
            external_reference_id: None,
            action: Box::new(Action::ReleaseRight(cmd)),
        })
        .expect("release");
    let expired = |w: &Arc<cpu_gateway::simulate::state::WorldHandle>| {
        w.read()
            .notifications()
            .iter()
            .any(|n| n.event == NotificationEvent::ExpiredReleaseRights && n.receiver == agent)
    };
    // Nothing fires before the expiry, whatever ticks.
    if Utc::now() < expires {
        tick::tick_all(&state);
        assert!(!expired(&world) || Utc::now() >= expires);
    }
    // Wait (a condition, not a duration) until the wall clock is past the expiry.
    while Utc::now() <= expires {
        std::thread::yield_now();
    }
    assert!(!expired(&world), "no command has run yet");
    // The task, on tokio's paused clock: one interval later the expiry has fired.
    tokio::time::pause();
    let task = tokio::spawn(tick::run(
        Arc::clone(&state),
        std::time::Duration::from_secs(1),
    ));
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    for _ in 0..100 {
        if expired(&world) {
            break;
        }
        // Paused: the clock jumps to the next timer at once; this only lets the task run.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    task.abort();
    assert!(expired(&world), "the tick task did not fire the due expiry");
}

/// Every refusal of the simulator is ProblemDetails JSON: too large, wrong method, bad query.
#[actix_web::test]
async fn every_simulator_refusal_is_json() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1106);
    // Token endpoint, body over the limit.
    let big = "x".repeat(70 * 1024);
    let r = sim.token(&[("grant_type", big.as_str())]).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(r.body.is_object(), "{}", r.text);
    // Wrong method on a CPu path: 405 with Allow.
    let r = c
        .psa
        .call(Method::DELETE, &terminal_release_path(&eq), None)
        .await;
    r.problem(405);
    assert_eq!(r.header("allow"), Some("PUT"), "{}", r.text);
    // A `[]` body names no Rust type.
    let r = c
        .psa
        .raw(Method::PUT, &terminal_release_path(&eq), "[]")
        .await;
    r.problem(400);
    assert!(!r.text.contains("TerminalReleaseRequest"), "{}", r.text);
    let body: Value = r.body.clone();
    assert!(body["detail"].is_string());
}

// ----- the gateway's edge -----

use crate::gateway::{connected, Db, Gw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Send raw bytes on a new connection, then wait (bounded) for the answer's status line.
async fn raw_exchange(base: &str, head: &str, body_part: &[u8]) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(body_part).await.expect("body");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("the gateway answered within 10 s")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn gateway_cuts_a_stalled_body_with_408_in_the_envelope() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |s| s.limits.body_timeout_ms = 200)
        .await
        .expect("sqlite");
    let (_, token) = connected(&gw, &sim, "slow", "psa").await;
    // 100 bytes announced, one sent, then nothing: the deadline (200 ms here) answers 408.
    let head = format!(
        "POST /v1/discharges HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    let answer = raw_exchange(&gw.base, &head, b"{").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // Nothing was queued.
    assert!(gw.counts().await.is_empty(), "{:?}", gw.counts().await);
    // A body that arrives in time is unaffected.
    let (status, body) = gw
        .post(
            "/v1/discharges",
            &token,
            &json!({"equipmentNumber": container(1201), "timestamp": "2024-05-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}

fn envelope_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no envelope>")
}

#[tokio::test]
async fn gateway_every_refusal_is_the_envelope() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = connected(&gw, &sim, "edge", "psa").await;
    // Wrong method: 405 with Allow, on /v1 routes and Data Sources alike.
    for (method, path, allow) in [
        (Method::GET, "/v1/discharges", "POST"),
        (Method::POST, "/v1/connections/nxtport", "DELETE, GET, PUT"),
        (Method::DELETE, "/v1/operations/abc", "GET"),
        (Method::POST, "/v1/data-sources", "GET"),
    ] {
        let r = gw
            .req(method.clone(), path, &token)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(
            r.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        let body: Value = r.json().await.expect("json");
        assert_eq!(envelope_code(&body), "method_not_allowed", "{body}");
    }
    // Unknown path: 404 envelope.
    let (status, body) = gw.get("/v1/nope", &token).await;
    assert_eq!((status, envelope_code(&body)), (404, "not_found"), "{body}");
    // A `[]` body: 400 without a Rust type name.
    let (status, body) = Gw::send(
        gw.req(Method::POST, "/v1/discharges", &token)
            .header("content-type", "application/json")
            .body("[]"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.to_string().contains("DischargeInput"), "{body}");
    assert_eq!(envelope_code(&body), "malformed_json", "{body}");
    // Wrong content type: 415 envelope.
    let (status, body) = Gw::send(
        gw.req(Method::POST, "/v1/discharges", &token)
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(
        (status, envelope_code(&body)),
        (415, "unsupported_media_type")
    );
    // Out-of-range and malformed query values: 400 envelope (Data Sources' limit included).
    for path in [
        "/v1/operations?limit=0",
        "/v1/data-sources/audit?limit=abc",
        "/v1/data-sources/psa/syncs?limit=99999999999999999999",
    ] {
        let (status, body) = gw.get(path, &token).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
        assert!(
            !body.to_string().contains("Query deserialize"),
            "{path}: {body}"
        );
    }
    // A body over a route's limit (Data Sources: actix's own limit): 413 envelope.
    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(300 * 1024));
    let (status, body) = Gw::send(
        gw.req(Method::PUT, "/v1/data-sources/psa", &token)
            .header("content-type", "application/json")
            .body(big.clone()),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(envelope_code(&body), "payload_too_large", "{body}");
    let (status, body) = Gw::send(
        gw.req(Method::POST, "/v1/discharges", &token)
            .header("content-type", "application/json")
            .body(big),
    )
    .await;
    assert_eq!((status, envelope_code(&body)), (413, "payload_too_large"));
}

#[tokio::test]
async fn gateway_refuses_leap_seconds_and_out_of_range_years_naming_the_field() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = connected(&gw, &sim, "times", "psa").await;
    for bad in [
        "2016-12-31T23:59:60.5Z",
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "+2024-01-01T00:00:00Z",
    ] {
        let (status, body) = gw
            .post(
                "/v1/discharges",
                &token,
                &json!({"equipmentNumber": container(1202), "timestamp": bad}),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["field"], json!("timestamp"), "{bad}: {body}");
    }
    assert!(gw.counts().await.is_empty());
}

#[actix_web::test]
async fn the_control_api_never_hands_out_webhook_secrets() {
    let sim = Sim::start().await;
    let body = json!({
        "url": "http://127.0.0.1:9/v1/webhooks/nxtport/e1?token=whk_supersecret&x=1",
        "headers": {"Authorization": "Bearer whk_supersecret"}
    });
    let put = sim
        .control(
            Method::PUT,
            "/simulator/v1/parties/psa/webhooks",
            Some(body),
        )
        .await;
    put.expect(200);
    let get = sim
        .control(Method::GET, "/simulator/v1/parties/psa/webhooks", None)
        .await;
    get.expect(200);
    for r in [&put, &get] {
        assert!(!r.text.contains("supersecret"), "{}", r.text);
        assert!(r.text.contains("x=1"), "{}", r.text);
        assert_eq!(r.body[0]["headers"]["Authorization"], json!("[REDACTED]"));
    }
}

/// Found by the `sim_http` fuzz target: a POST to the ingestion path without an ingestion id
/// (a party that has none) must still answer ProblemDetails JSON, not an empty 404.
#[actix_web::test]
async fn ingestion_without_an_id_is_a_json_404() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let r = c
        .agent
        .raw(Method::POST, "/ingestion/v1/ingestion/", "{}")
        .await;
    r.problem(404);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

// ---------------------------------------------------------------------------------------------
// Audit (item 9) and sim mode (item 10)
// ---------------------------------------------------------------------------------------------

/// GET with the token, answering status, JSON and the `Link` header.
async fn get_linked(gw: &Gw, path: &str, token: &str) -> (u16, Value, Option<String>) {
    let r = gw
        .req(Method::GET, path, token)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let link = r
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        link,
    )
}

/// The path inside `Link: <path>; rel="next"`.
fn next_of(link: &str) -> &str {
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    link.trim_start_matches('<')
        .split('>')
        .next()
        .expect("link target")
}

fn actions(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["action"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn audit_collapses_reads_pages_filters_and_shows_support_acts() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (entity, editor) = connected(&gw, &sim, "audited", "psa").await;
    let (_, viewer) = gw.token("audited", cpu_gateway::store::Role::Viewer).await;
    let (support_entity, support) = gw
        .token("helpdesk", cpu_gateway::store::Role::Support)
        .await;
    // Many connection reads by a viewer, then a Data Sources act. (Accepted or refused, a
    // connect is audited; its verification runs in the background and is audited too, so the
    // test waits for it before it compares pages.)
    for _ in 0..60 {
        assert_eq!(gw.get("/v1/connections/nxtport", &viewer).await.0, 200);
    }
    let _ = Gw::send(
        gw.req(Method::PUT, "/v1/data-sources/psa", &editor)
            .json(&json!({"username": "demo-psa", "password": "psa-demo-password"})),
    )
    .await;
    crate::poll::until(
        "the PSA connection no longer verifying",
        std::time::Duration::from_secs(10),
        async || {
            let (s, v) = gw.get("/v1/data-sources/psa", &viewer).await;
            (s == 200 && v["state"]["status"] != "verifying").then_some(())
        },
    )
    .await;
    let (s, reads, _) = get_linked(&gw, "/v1/audit?action=credentials.read", &editor).await;
    assert_eq!(s, 200, "{reads}");
    assert_eq!(actions(&reads), ["credentials.read"], "{reads}");
    assert_eq!(reads[0]["detail"]["repeats"], 60, "{reads}");
    // The Data Sources view still shows its entries by default.
    let (s, ds, _) = get_linked(&gw, "/v1/data-sources/audit", &viewer).await;
    assert_eq!(s, 200, "{ds}");
    assert!(
        actions(&ds).iter().any(|a| a == "datasource.connect"),
        "{ds}"
    );
    assert!(
        ds.as_array().expect("array").iter().all(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("datasource."))
                || e["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("datasource:"))
        }),
        "{ds}"
    );

    // Support acts for the entity: the entity sees it, as impersonation, with support's entity.
    let (s, _) = Gw::send(
        gw.req(Method::GET, "/v1/operations", &support)
            .header("X-Act-For-Entity", "audited"),
    )
    .await;
    assert_eq!(s, 200);
    let (s, theirs, _) = get_linked(&gw, "/v1/audit?impersonation=true", &viewer).await;
    assert_eq!(s, 200, "{theirs}");
    assert_eq!(actions(&theirs), ["impersonate"], "{theirs}");
    assert_eq!(
        theirs[0]["actorEntityId"],
        json!(support_entity),
        "{theirs}"
    );
    assert_eq!(theirs[0]["entityId"], json!(entity), "{theirs}");
    let (_, by_actor, _) =
        get_linked(&gw, &format!("/v1/audit?actor={support_entity}"), &editor).await;
    assert_eq!(actions(&by_actor), ["impersonate"], "{by_actor}");
    // Support's own entity does not see it as its own.
    let (_, own, _) = get_linked(&gw, "/v1/audit", &support).await;
    assert!(!actions(&own).iter().any(|a| a == "impersonate"), "{own}");

    // Paging: follow `Link` to the end; no entry twice, none missing.
    let (_, all, link) = get_linked(&gw, "/v1/audit?limit=1000", &editor).await;
    assert!(link.is_none(), "one page holds all: {link:?}");
    let all_ids: Vec<Value> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert!(all_ids.len() >= 4, "{all}");
    let mut paged = Vec::new();
    let mut path = "/v1/audit?limit=2".to_owned();
    loop {
        let (s, page, link) = get_linked(&gw, &path, &editor).await;
        assert_eq!(s, 200, "{page}");
        paged.extend(
            page.as_array()
                .expect("array")
                .iter()
                .map(|e| e["id"].clone()),
        );
        match link {
            Some(l) => path = next_of(&l).to_owned(),
            None => break,
        }
        assert!(path.contains("limit=2"), "{path}");
    }
    assert_eq!(paged, all_ids);
    // Time: nothing before 2000, everything from then on.
    let (_, none, _) = get_linked(&gw, "/v1/audit?to=2000-01-01T00:00:00Z", &editor).await;
    assert_eq!(none, json!([]));
    let (_, since, _) = get_linked(
        &gw,
        "/v1/audit?from=2000-01-01T00:00:00Z&limit=1000",
        &editor,
    )
    .await;
    assert_eq!(since.as_array().map(Vec::len), Some(all_ids.len()));
}

#[tokio::test]
async fn every_paging_parameter_of_v1_refuses_bad_values_naming_it() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = connected(&gw, &sim, "pager", "psa").await;
    for (path, field) in [
        ("/v1/audit?limit=-5", "limit"),
        ("/v1/audit?limit=0", "limit"),
        ("/v1/audit?limit=1001", "limit"),
        ("/v1/audit?limit=abc", "limit"),
        ("/v1/audit?cursor=-1", "cursor"),
        ("/v1/audit?cursor=abc", "cursor"),
        ("/v1/audit?cursor=99999999999999999999", "cursor"),
        ("/v1/audit?from=2024-13-01T00:00:00Z", "from"),
        ("/v1/audit?from=2024-03-01T00:00:00%2B02:00", "from"),
        ("/v1/audit?to=2016-12-31T23:59:60Z", "to"),
        (
            "/v1/audit?from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z",
            "to",
        ),
        ("/v1/audit?action=%25", "action"),
        ("/v1/audit?action=credentials.*.*", "action"),
        ("/v1/audit?actor=a%20b", "actor"),
        ("/v1/audit?impersonation=maybe", "impersonation"),
        ("/v1/audit?page=2", "page"),
        ("/v1/data-sources/audit?limit=-5", "limit"),
        ("/v1/data-sources/audit?cursor=0", "cursor"),
        ("/v1/data-sources/psa/syncs?limit=-5", "limit"),
        ("/v1/data-sources/psa/syncs?limit=501", "limit"),
        ("/v1/data-sources/psa/quarantine?limit=0", "limit"),
        ("/v1/data-sources/psa/containers?limit=-5", "limit"),
        ("/v1/data-sources/psa/containers?limit=1001", "limit"),
        ("/v1/data-sources/psa/containers?after=%25%25", "after"),
        ("/v1/operations?limit=-5", "limit"),
        ("/v1/notifications?limit=-5", "limit"),
        ("/v1/companies?entityName=x&page=0", "page"),
        ("/v1/companies?entityName=x&pageSize=-5", "pageSize"),
    ] {
        let (status, body) = gw.get(path, &token).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["field"], json!(field), "{path}: {body}");
    }
}

#[tokio::test]
async fn token_webhook_rotation_reaches_the_running_simulator() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = connected(&gw, &sim, "rotating", "psa").await;
    // `cpu-gateway token webhook` as run beside a sim-mode gateway whose embedded simulator is
    // `sim` (the CLI is another process; it finds the simulator at `simulator_listen`).
    let s = &gw.state.settings;
    let config = gw.dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "mode = \"sim\"\nsimulator_listen = \"{}\"\ndata_dir = \"{}\"\ndatabase_url = \"{}\"\n",
            sim.base.trim_start_matches("http://"),
            gw.dir.path().join("cli").display(),
            s.database_url(),
        ),
    )
    .expect("config");
    cpu_gateway::gateway::token(cpu_gateway::gateway::TokenArgs {
        store: cpu_gateway::gateway::StoreArgs {
            config: Some(config),
            database_url: None,
        },
        command: cpu_gateway::gateway::TokenCommand::Webhook {
            entity: "rotating".into(),
            public_url: None,
        },
    })
    .await
    .expect("token webhook");
    // Deliveries after the rotation verify: the operation completes by webhook (no polling).
    let (s, acc) = gw
        .post(
            "/v1/discharges",
            &token,
            &json!({"equipmentNumber": container(4711), "timestamp": "2024-05-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["operationId"].as_str().expect("id");
    gw.wait_status(&token, id, "completed", std::time::Duration::from_secs(10))
        .await;
    let d = sim
        .control(Method::GET, "/simulator/v1/webhook-deliveries", None)
        .await;
    let ours: Vec<&Value> = d
        .body
        .as_array()
        .expect("deliveries")
        .iter()
        .filter(|x| {
            x["url"]
                .as_str()
                .is_some_and(|u| u.contains("/v1/webhooks/nxtport/"))
        })
        .collect();
    assert!(!ours.is_empty(), "{}", d.text);
    assert!(
        ours.iter()
            .all(|x| x["lastStatus"] == json!(200) || x["lastStatus"] == json!(202)),
        "{}",
        d.text
    );
}

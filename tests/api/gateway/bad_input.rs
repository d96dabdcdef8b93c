//! Bad input: a clear 4xx and nothing in the outbox; writes need a connection.

use super::{code, connected, connection_body, discharge, Db, Gw};
use crate::sim_helpers::{bad_category, bad_check_digit, container, Sim};
use cpu_gateway::store::Role;
use reqwest::Method;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Bad input: a clear 4xx and nothing in the outbox
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn gateway_bad_input_is_rejected_and_changes_nothing() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |s| s.limits.max_body_bytes = 4096)
        .await
        .expect("sqlite");
    let (_, token) = connected(&gw, &sim, "alpha", "psa").await;
    let eq = container(202);
    let bad = bad_check_digit(&eq);
    let release = |v: Value| {
        let mut b = json!({"equipmentNumber": eq, "actionType": "Release", "releaseDateTimeUtc": "2024-05-01T08:00:00Z"});
        if let (Some(o), Some(extra)) = (b.as_object_mut(), v.as_object()) {
            for (k, v) in extra {
                o.insert(k.clone(), v.clone());
            }
        }
        b
    };
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "/v1/discharges",
            json!({"equipmentNumber": bad, "timestamp": "2024-05-01T08:00:00Z"}),
            400,
            "invalid_field",
            Some("equipmentNumber"),
        ),
        (
            "/v1/discharges",
            json!({"equipmentNumber": bad_category(&eq), "timestamp": "2024-05-01T08:00:00Z"}),
            400,
            "invalid_field",
            Some("equipmentNumber"),
        ),
        (
            "/v1/discharges",
            json!({"equipmentNumber": "MSC1234", "timestamp": "2024-05-01T08:00:00Z"}),
            400,
            "invalid_field",
            Some("equipmentNumber"),
        ),
        (
            "/v1/terminal-releases",
            release(json!({"portLoCode": "BE1NR"})),
            400,
            "invalid_field",
            Some("portLoCode"),
        ),
        (
            "/v1/terminal-releases",
            release(json!({"actionType": "Approve"})),
            400,
            "invalid_field",
            Some("actionType"),
        ),
        (
            "/v1/terminal-releases",
            release(json!({"releaseDateTimeUtc": "2024-05-01T10:00:00+02:00"})),
            400,
            "invalid_field",
            Some("releaseDateTimeUtc"),
        ),
        (
            "/v1/terminal-releases",
            release(json!({"releaseDateTimeUtc": "tomorrow"})),
            400,
            "invalid_field",
            Some("releaseDateTimeUtc"),
        ),
        (
            "/v1/terminal-releases",
            release(json!({"colour": "green"})),
            400,
            "invalid_field",
            Some("colour"),
        ),
        (
            "/v1/discharges",
            json!({"timestamp": "2024-05-01T08:00:00Z"}),
            400,
            "invalid_field",
            Some("equipmentNumber"),
        ),
        (
            "/v1/discharges",
            json!({"equipmentNumber": 42, "timestamp": "2024-05-01T08:00:00Z"}),
            400,
            "invalid_field",
            Some("equipmentNumber"),
        ),
        (
            "/v1/discharges",
            json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z", "fullEmptyIndicator": "half"}),
            400,
            "invalid_field",
            Some("fullEmptyIndicator"),
        ),
        (
            "/v1/gate-outs",
            json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z", "modeOfTransport": "Zeppelin"}),
            400,
            "invalid_field",
            Some("modeOfTransport"),
        ),
        (
            "/v1/gate-ins",
            json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z", "billOfLadingNumbers": [""]}),
            400,
            "invalid_field",
            Some("billOfLadingNumbers[0]"),
        ),
    ];
    for (path, body, status, want, field) in &cases {
        let (s, got) = gw.post(path, &token, body).await;
        assert_eq!((s, code(&got)), (*status, *want), "{path} {body}: {got}");
        assert_eq!(
            got["error"]["field"].as_str(),
            *field,
            "{path} {body}: {got}"
        );
        assert!(!got["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    // Malformed JSON, wrong content type, empty and oversize bodies.
    let raw = |body: &'static str, ct: &'static str| {
        gw.req(Method::POST, "/v1/discharges", &token)
            .header("Content-Type", ct)
            .body(body)
    };
    let (s, got) = Gw::send(raw("{\"equipmentNumber\": ", "application/json")).await;
    assert_eq!((s, code(&got)), (400, "malformed_json"), "{got}");
    let (s, got) = Gw::send(raw("", "application/json")).await;
    assert_eq!((s, code(&got)), (400, "malformed_json"), "{got}");
    let (s, got) = Gw::send(raw(
        "equipmentNumber=x",
        "application/x-www-form-urlencoded",
    ))
    .await;
    assert_eq!((s, code(&got)), (415, "unsupported_media_type"), "{got}");
    let big = json!({"equipmentNumber": eq, "timestamp": "2024-05-01T08:00:00Z", "stayNumber": "x".repeat(10_000)});
    let (s, got) = gw.post("/v1/discharges", &token, &big).await;
    assert_eq!((s, code(&got)), (413, "payload_too_large"), "{got}");
    // Bad query parameters name the parameter.
    let (s, got) = gw
        .get("/v1/notifications?equipmentNumber=MSCU1234565", &token)
        .await;
    assert_eq!(
        (s, got["error"]["field"].as_str()),
        (400, Some("equipmentNumber")),
        "{got}"
    );
    let (s, got) = gw.get("/v1/notifications?colour=red", &token).await;
    assert_eq!(
        (s, got["error"]["field"].as_str()),
        (400, Some("colour")),
        "{got}"
    );
    let (s, got) = gw.get("/v1/operations/not-a-uuid", &token).await;
    assert_eq!(s, 400, "{got}");
    // Unknown route: the envelope too.
    let (s, got) = gw.get("/v1/nope", &token).await;
    assert_eq!((s, code(&got)), (404, "not_found"), "{got}");

    // Nothing was queued and nothing reached the simulator's NxtPort surface.
    // The outbox is empty, so the worker has nothing to deliver: no wait is needed before reading
    // the simulator's journal.
    assert!(gw.counts().await.is_empty(), "{:?}", gw.counts().await);
    let writes: Vec<_> = sim
        .calls()
        .await
        .into_iter()
        .filter(|c| c["method"] != json!("GET"))
        .filter(|c| !c["path"].as_str().unwrap_or("").contains("connect/token"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn gateway_writes_need_a_connection() {
    let sim = Sim::start().await;
    let gw = Gw::start(&sim, Db::Sqlite, |_| {}).await.expect("sqlite");
    let (_, token) = gw.token("lonely", Role::Editor).await;
    let (s, got) = gw
        .post("/v1/discharges", &token, &discharge(&container(5)))
        .await;
    assert_eq!((s, code(&got)), (409, "connection_missing"), "{got}");
    let (s, got) = gw.get("/v1/connections/nxtport", &token).await;
    assert_eq!((s, code(&got)), (404, "not_found"), "{got}");
    // A first save needs every secret.
    let mut body = connection_body(&sim, "psa");
    body.as_object_mut().map(|o| o.remove("password"));
    let (s, got) = Gw::send(
        gw.req(Method::PUT, "/v1/connections/nxtport", &token)
            .json(&body),
    )
    .await;
    assert_eq!(
        (s, got["error"]["field"].as_str()),
        (400, Some("password")),
        "{got}"
    );
    assert!(gw.counts().await.is_empty());
}

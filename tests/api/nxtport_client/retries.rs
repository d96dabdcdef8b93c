//! Retries and typed errors: what is retried and how often, Retry-After, problem details,
//! transport errors, bad input, and secrets kept out of every error.

use super::{
    assert_no_secret, client, config, credentials, fast_retry, generous_budget, ingestion,
    truck_validation, Double, PASSWORD,
};
use chrono::Utc;
use cpu_contract::*;
use cpu_gateway::nxtport::*;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Retries and typed errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let double = Double::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let observer: CallObserver = {
        let seen = Arc::clone(&seen);
        Arc::new(move |event: &CallEvent<'_>| {
            seen.lock()
                .push((event.attempt, event.status, event.path.to_owned()));
        })
    };
    let client = NxtPortClient::with_observer(
        config(&double, fast_retry(4)),
        &generous_budget(),
        Some(observer),
    )
    .unwrap();
    double.script(500, "", None);
    double.script(503, "", None);
    let accepted = client
        .ingestion(
            "i",
            &ingestion(OperationType::Discharge),
            &CallOptions::with_reference("op-7"),
        )
        .await
        .unwrap();
    assert_eq!(accepted.external_reference_id.as_deref(), Some("op-7"));
    let calls = double.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls
        .iter()
        .all(|c| c.external_reference_id.as_deref() == Some("op-7")));
    assert!(
        calls.iter().all(|c| c.body == calls[0].body),
        "the same body each time"
    );
    let path = "/ingestion/v1/ingestion/i".to_owned();
    assert_eq!(
        *seen.lock(),
        [
            (1, Some(500), path.clone()),
            (2, Some(503), path.clone()),
            (3, Some(202), path)
        ],
        "the observer sees every attempt's status"
    );
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_kept() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(3));
    for _ in 0..5 {
        double.script(502, "bad gateway", None);
    }
    let err = client
        .ingestion(
            "i",
            &ingestion(OperationType::Discharge),
            &CallOptions::default(),
        )
        .await
        .unwrap_err();
    match &err {
        NxtPortError::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert_eq!(last.status(), Some(502));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(double.calls().len(), 3);
    assert_eq!(err.to_string(), "gave up after 3 attempts: NxtPort answered 502 to POST /ingestion/v1/ingestion/i: bad gateway");
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(3));
    double.script(429, "", Some("1"));
    client
        .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
        .await
        .unwrap();
    let calls = double.calls();
    assert_eq!(calls.len(), 2);
    // A lower bound only: a loaded machine may retry later, never earlier.
    let gap = calls[1].at - calls[0].at;
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, Retry-After was 1 s"
    );
    assert_eq!(client.budget().metrics().pauses, 1, "the whole key paused");
}

#[tokio::test]
async fn the_gate_does_not_wait_out_a_long_retry_after() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(3));
    double.script(429, "", Some("120"));
    // A synchronous call answers at once with NxtPort's 429 (and its Retry-After) instead of
    // holding the truck for two minutes; the test would hang if it slept.
    let err = client
        .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
        .await
        .expect_err("a 429 with a long Retry-After is the caller's to honour");
    assert_eq!(err.status(), Some(429), "{err}");
    assert_eq!(double.calls().len(), 1, "no retry inside the call");
}

#[tokio::test]
async fn a_400_is_not_retried_and_carries_the_problem_details() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(5));
    let problem = ProblemDetails::new(
        400,
        "One or more validation errors occurred.",
        "equipmentNumber: check digit",
    )
    .with_field_error("equipmentNumber", "check digit 5 expected");
    double.script(400, &serde_json::to_string(&problem).unwrap(), None);
    let err = client
        .terminal_release(
            "BEANR",
            "MSCU1234566",
            &TerminalReleaseRequest {
                equipment_number: "MSCU1234566".into(),
                port_lo_code: "BEANR".into(),
                terminal_code: "869".into(),
                action_type: TerminalReleaseActionType::Block,
                release_date_time_utc: Utc::now(),
                stay_number: None,
            },
            &CallOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(double.calls().len(), 1, "not retried");
    assert!(!err.is_transient());
    match &err {
        NxtPortError::Status {
            status,
            problem: Some(p),
            method,
            path,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(**p, problem);
            assert_eq!(method, reqwest::Method::PUT);
            assert_eq!(
                path,
                "/certified-pickup/v1/BEANR/containers/MSCU1234566/import/terminal-release"
            );
        }
        other => panic!("expected Status with a problem, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "NxtPort answered 400 to PUT /certified-pickup/v1/BEANR/containers/MSCU1234566/import/terminal-release: \
         One or more validation errors occurred.: equipmentNumber: check digit"
    );
    assert_no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn an_unreachable_host_is_a_transport_error_after_retries() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config =
        NxtPortConfig::simulator(&format!("http://127.0.0.1:{port}"), credentials(PASSWORD));
    config.retry = fast_retry(2);
    let client = NxtPortClient::new(config, &generous_budget()).unwrap();
    let err = client
        .search_entities(&EntitySearchQuery::default(), &CallOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_transient());
    assert!(
        matches!(&err, NxtPortError::RetriesExhausted { attempts: 2, last } if matches!(**last, NxtPortError::Transport { .. })),
        "{err:?}"
    );
    assert_no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn an_undecodable_success_is_not_retried() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(5));
    double.script(202, "not json", None);
    let err = client
        .ingestion(
            "i",
            &ingestion(OperationType::GateIn),
            &CallOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, NxtPortError::Decode { status: 202, .. }),
        "{err:?}"
    );
    assert_eq!(
        double.calls().len(),
        1,
        "a 202 was accepted: sending again would duplicate"
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(2));
    let err = client
        .ingestion(
            "i",
            &ingestion(OperationType::GateIn),
            &CallOptions::with_reference("line\nbreak"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, NxtPortError::InvalidRequest(_)), "{err:?}");
    assert!(double.calls().is_empty());
    let bad = NxtPortConfig::new(
        "not a url",
        "http://127.0.0.1:1/connect/token",
        credentials(PASSWORD),
    );
    assert!(matches!(
        NxtPortClient::new(bad, &generous_budget()),
        Err(NxtPortError::Config(_))
    ));
    let ftp = NxtPortConfig::new(
        "ftp://x",
        "http://127.0.0.1:1/connect/token",
        credentials(PASSWORD),
    );
    assert!(matches!(
        NxtPortClient::new(ftp, &generous_budget()),
        Err(NxtPortError::Config(_))
    ));
    // A path segment from input cannot walk out of its place.
    client
        .request_release_detail(
            "BEANR",
            "../../x",
            &ReleaseDetailQuery::default(),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        double.calls()[0].path,
        "/certified-pickup/v1/BEANR/containers/import/release-rights/..%2F..%2Fx"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_display() {
    let double = Double::start().await;
    let config = config(&double, fast_retry(1));
    let client = NxtPortClient::new(config.clone(), &generous_budget()).unwrap();
    client
        .ingestion(
            "i",
            &ingestion(OperationType::GateIn),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    let texts = [
        format!("{config:?}"),
        config.to_string(),
        format!("{:?}", config.credentials),
        format!("{client:?}"),
    ];
    for text in &texts {
        assert_no_secret(text);
    }
    assert!(
        texts[1].contains("client_id=gateway") && texts[1].contains(&double.base_url),
        "{}",
        texts[1]
    );
}

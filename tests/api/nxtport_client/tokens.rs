//! Tokens and headers: one token for many calls, a 401 refreshes it once, it is refreshed before
//! it expires, and wrong credentials are a token error.

use super::{
    assert_no_secret, client, config, credentials, fast_retry, generous_budget, ingestion,
    truck_validation, Double, SUBSCRIPTION_KEY,
};
use chrono::Utc;
use cpu_contract::*;
use cpu_gateway::nxtport::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Tokens and headers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_token_serves_many_calls_and_every_call_carries_the_headers() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(3));
    let calls = (0..20).map(|i| {
        let client = client.clone();
        async move {
            client
                .ingestion(
                    "ingest-1",
                    &ingestion(OperationType::Discharge),
                    &CallOptions::with_reference(format!("op-{i}")),
                )
                .await
        }
    });
    let answers = futures::future::join_all(calls).await;
    for (i, answer) in answers.into_iter().enumerate() {
        let accepted = answer.expect("accepted");
        assert_eq!(accepted.external_reference_id, Some(format!("op-{i}")));
        assert!(uuid::Uuid::parse_str(&accepted.public_reference_id).is_ok());
    }
    for _ in 0..5 {
        client
            .terminal_release(
                "BEANR",
                "MSCU1234565",
                &TerminalReleaseRequest {
                    equipment_number: "MSCU1234565".into(),
                    port_lo_code: "BEANR".into(),
                    terminal_code: "869".into(),
                    action_type: TerminalReleaseActionType::Release,
                    release_date_time_utc: Utc::now(),
                    stay_number: None,
                },
                &CallOptions::default(),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        double.grants(),
        ["password"],
        "one token for 25 concurrent and serial calls"
    );
    assert_eq!(client.token_fetches(), 1);
    let calls = double.calls();
    assert_eq!(calls.len(), 25);
    for call in &calls {
        assert_eq!(call.authorization.as_deref(), Some("Bearer access-0"));
        assert_eq!(call.subscription_key.as_deref(), Some(SUBSCRIPTION_KEY));
    }
    assert_eq!(calls[0].path, "/ingestion/v1/ingestion/ingest-1");
    assert!(calls
        .iter()
        .take(20)
        .all(|c| c.external_reference_id.is_some()));
    assert!(calls[20].external_reference_id.is_none());
    assert_eq!(
        calls[24].path,
        "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/terminal-release"
    );
}

#[tokio::test]
async fn a_401_fetches_a_new_token_once_then_succeeds() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(3));
    client
        .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
        .await
        .unwrap();
    double.revoke_access_tokens();
    let answer = client
        .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
        .await
        .unwrap();
    assert!(answer.release_identification[0].is_valid);
    assert_eq!(double.grants(), ["password", "refresh_token"]);
    // The password grant asks for a refresh token (issue 14); the refresh grant uses it.
    assert_eq!(
        double.scopes(),
        [Some("offline_access".to_owned()), None],
        "password grant with scope offline_access"
    );
    let auth: Vec<_> = double
        .calls()
        .into_iter()
        .map(|c| c.authorization.unwrap())
        .collect();
    assert_eq!(
        auth,
        ["Bearer access-0", "Bearer access-0", "Bearer access-1"]
    );
}

#[tokio::test]
async fn a_persistent_401_is_returned_after_one_refresh() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(5));
    let unauthorized =
        r#"{"type":"t","title":"Unauthorized","status":401,"detail":"role forbids"}"#;
    // The token is fine but the call is refused twice (e.g. the role forbids it).
    double.script(401, unauthorized, None);
    double.script(401, unauthorized, None);
    let err = client
        .validate_identification(
            "BEANR",
            &IdentificationValidationRequest {
                identification_type: IdentificationType::Alfapass,
                identification_code: "12345678".into(),
            },
            &CallOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.problem().unwrap().detail, "role forbids");
    assert_eq!(
        double.calls().len(),
        2,
        "one retry after a refresh, no more"
    );
    assert_eq!(double.grants().len(), 2);
}

/// Moves the client's clock (tokio's) by `by` without sleeping: paused only for the jump, so
/// the HTTP calls around it run on real I/O.
async fn advance_clock(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

#[tokio::test]
async fn the_token_is_refreshed_before_it_expires() {
    let double = Double::start().await;
    double.state.expires_in.store(600, Ordering::SeqCst);
    let client = client(&double, fast_retry(3));
    let options = CallOptions::default();
    client
        .ingestion("i", &ingestion(OperationType::GateIn), &options)
        .await
        .unwrap();
    advance_clock(Duration::from_secs(300)).await;
    client
        .ingestion("i", &ingestion(OperationType::GateIn), &options)
        .await
        .unwrap();
    assert_eq!(
        double.grants(),
        ["password"],
        "still fresh at 50% of its life"
    );
    // Refresh at expires_in - min(60 s, 10%) = 540 s: before NxtPort would refuse it.
    advance_clock(Duration::from_secs(250)).await;
    client
        .ingestion("i", &ingestion(OperationType::GateOut), &options)
        .await
        .unwrap();
    assert_eq!(double.grants(), ["password", "refresh_token"]);
    assert!(double.calls().iter().all(|c| c.authorization.is_some()));
    assert_eq!(
        double.calls()[2].authorization.as_deref(),
        Some("Bearer access-1")
    );
}

#[tokio::test]
async fn wrong_credentials_are_a_token_error_without_retries_or_secrets() {
    let double = Double::start().await;
    let mut config = config(&double, fast_retry(5));
    config.credentials = credentials("wrong-password-s3cr3t");
    let client = NxtPortClient::new(config, &generous_budget()).unwrap();
    let err = client
        .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
        .await
        .unwrap_err();
    match &err {
        NxtPortError::Token {
            status,
            error,
            description,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_grant");
            assert_eq!(description.as_deref(), Some("invalid username or password"));
        }
        other => panic!("expected a token error, got {other:?}"),
    }
    assert_eq!(double.grants(), ["password"], "a refusal is not retried");
    assert!(double.calls().is_empty(), "no API call without a token");
    for text in [err.to_string(), format!("{err:?}")] {
        assert_no_secret(&text);
        assert!(!text.contains("wrong-password-s3cr3t"), "{text}");
    }
}

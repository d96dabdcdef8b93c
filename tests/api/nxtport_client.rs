//! `NxtPortClient` against a small NxtPort test double (actix-web on port 0): tokens, retries,
//! typed errors, redaction, and the per-key budget measured where NxtPort would count it.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::Utc;
use parking_lot::Mutex;
use secrecy::SecretString;

use cpu_contract::*;
use cpu_gateway::nxtport::*;

const CLIENT_SECRET: &str = "client-secret-s3cr3t";
const PASSWORD: &str = "password-s3cr3t";
const SUBSCRIPTION_KEY: &str = "sub-key-s3cr3t";
const SECRETS: [&str; 3] = [CLIENT_SECRET, PASSWORD, SUBSCRIPTION_KEY];

// ---------------------------------------------------------------------------------------------
// The test double
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Recorded {
    at: Instant,
    method: String,
    path: String,
    query: String,
    authorization: Option<String>,
    subscription_key: Option<String>,
    external_reference_id: Option<String>,
    body: String,
}

struct Scripted {
    status: u16,
    body: String,
    retry_after: Option<&'static str>,
}

#[derive(Default)]
struct DoubleState {
    token_grants: Mutex<Vec<String>>,
    token_scopes: Mutex<Vec<Option<String>>>,
    access_tokens: Mutex<HashSet<String>>,
    refresh_tokens: Mutex<HashSet<String>>,
    expires_in: AtomicU64,
    counter: AtomicU64,
    calls: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Scripted>>,
}

struct Double {
    state: Arc<DoubleState>,
    base_url: String,
    handle: actix_web::dev::ServerHandle,
}

impl Double {
    async fn start() -> Double {
        let state = Arc::new(DoubleState {
            expires_in: AtomicU64::new(3600),
            ..DoubleState::default()
        });
        let data = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/connect/token", web::post().to(token))
                .default_service(web::to(api))
        })
        .workers(2)
        .bind(("127.0.0.1", 0))
        .expect("bind the double");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Double {
            state,
            base_url: format!("http://127.0.0.1:{port}"),
            handle,
        }
    }

    fn script(&self, status: u16, body: &str, retry_after: Option<&'static str>) {
        self.state.script.lock().push_back(Scripted {
            status,
            body: body.to_owned(),
            retry_after,
        });
    }

    fn calls(&self) -> Vec<Recorded> {
        self.state.calls.lock().clone()
    }

    fn grants(&self) -> Vec<String> {
        self.state.token_grants.lock().clone()
    }

    fn scopes(&self) -> Vec<Option<String>> {
        self.state.token_scopes.lock().clone()
    }

    /// NxtPort forgets every access token (refresh tokens stay valid).
    fn revoke_access_tokens(&self) {
        self.state.access_tokens.lock().clear();
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(OAuthError::new(error, description))
}

async fn token(state: web::Data<DoubleState>, form: web::Form<TokenRequest>) -> HttpResponse {
    let form = form.into_inner();
    state.token_grants.lock().push(form.grant_type.clone());
    state.token_scopes.lock().push(form.scope.clone());
    if form.client_id.as_deref() != Some("gateway")
        || form.client_secret.as_ref().map(|s| s.expose()) != Some(CLIENT_SECRET)
    {
        return oauth_error(401, "invalid_client", "unknown client");
    }
    match form.grant_type.as_str() {
        "password" => {
            if form.username.as_deref() != Some("psa-user")
                || form.password.as_ref().map(|s| s.expose()) != Some(PASSWORD)
            {
                return oauth_error(400, "invalid_grant", "invalid username or password");
            }
        }
        "refresh_token" => {
            let refresh = form.refresh_token.as_ref().map(|s| s.expose().to_owned());
            if !refresh.is_some_and(|r| state.refresh_tokens.lock().contains(&r)) {
                return oauth_error(400, "invalid_grant", "unknown refresh token");
            }
        }
        _ => return oauth_error(400, "unsupported_grant_type", "no"),
    }
    let n = state.counter.fetch_add(1, Ordering::SeqCst);
    let access = format!("access-{n}");
    let refresh = format!("refresh-{n}");
    state.access_tokens.lock().insert(access.clone());
    state.refresh_tokens.lock().insert(refresh.clone());
    HttpResponse::Ok().json(TokenResponse {
        access_token: Sensitive::new(access),
        token_type: "Bearer".into(),
        expires_in: state.expires_in.load(Ordering::SeqCst),
        refresh_token: Some(Sensitive::new(refresh)),
        scope: None,
    })
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn api(req: HttpRequest, body: web::Bytes, state: web::Data<DoubleState>) -> HttpResponse {
    let recorded = Recorded {
        at: Instant::now(),
        method: req.method().to_string(),
        path: req.path().to_owned(),
        query: req.query_string().to_owned(),
        authorization: header(&req, "authorization"),
        subscription_key: header(&req, SUBSCRIPTION_KEY_HEADER),
        external_reference_id: header(&req, EXTERNAL_REFERENCE_ID),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.calls.lock().push(recorded.clone());
    let token_ok = recorded
        .authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| state.access_tokens.lock().contains(t));
    if !token_ok || recorded.subscription_key.as_deref() != Some(SUBSCRIPTION_KEY) {
        return HttpResponse::Unauthorized().json(ProblemDetails::new(
            401,
            "Unauthorized",
            "Access denied due to invalid subscription key or token.",
        ));
    }
    let mut response = if let Some(scripted) = state.script.lock().pop_front() {
        let mut builder =
            HttpResponse::build(actix_web::http::StatusCode::from_u16(scripted.status).unwrap());
        if let Some(after) = scripted.retry_after {
            builder.insert_header(("Retry-After", after));
        }
        builder.content_type("application/json").body(scripted.body)
    } else {
        default_answer(&recorded)
    };
    if let Some(reference) = &recorded.external_reference_id {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("external-reference-id"),
            actix_web::http::header::HeaderValue::from_str(reference).unwrap(),
        );
    }
    response
}

/// What NxtPort answers by path; request bodies are parsed with the shared wire types.
fn default_answer(call: &Recorded) -> HttpResponse {
    let path = call.path.as_str();
    let accepted = || {
        HttpResponse::Accepted().json(AcceptedResponse {
            public_reference_id: uuid::Uuid::new_v4().to_string(),
            external_reference_id: call.external_reference_id.clone(),
        })
    };
    let result = |equipment: &str| PickupValidationResult {
        is_valid: true,
        error_messages: String::new(),
        status: "RELEASED".into(),
        green_lights: vec![GreenLightResult {
            green_light_name: "Customs".into(),
            green_light_value: "RELEASED".into(),
            green_light_color: LightColor::Green,
        }],
        equipment_number: equipment.to_owned(),
        bill_of_lading_numbers: vec![],
    };
    match call.method.as_str() {
        "PUT" if path.ends_with("/import/terminal-release") => {
            let _: TerminalReleaseRequest = serde_json::from_str(&call.body).unwrap();
            accepted()
        }
        "PUT" if path.ends_with("/import/release-rights") => {
            let _: ReleaseRightActionRequest = serde_json::from_str(&call.body).unwrap();
            accepted()
        }
        "PUT" if path.ends_with("/import/pickup-rights") => {
            let _: SubmitPickupRightRequest = serde_json::from_str(&call.body).unwrap();
            accepted()
        }
        "PUT" if path == paths::BARGE_RAIL_PICKUP_RIGHTS => {
            let _: SubmitBargeRailPickupRightRequest = serde_json::from_str(&call.body).unwrap();
            accepted()
        }
        "POST" if path.starts_with("/ingestion/v1/ingestion/") => {
            let _: IngestionRequest = serde_json::from_str(&call.body).unwrap();
            accepted()
        }
        "GET" if path.contains("/containers/import/release-rights/") => accepted(),
        "POST" if path.ends_with("/sync-validation/pickup/containers") => {
            let request: TruckPickupValidationRequest = serde_json::from_str(&call.body).unwrap();
            HttpResponse::Ok().json(TruckPickupValidationResponse {
                alfapass_number: request.alfapass_number,
                release_identification: request
                    .release_identification
                    .iter()
                    .map(|c| result(&c.equipment_number))
                    .collect(),
            })
        }
        "POST" if path.ends_with("/barge-rail/containers") => {
            let request: BargeRailPickupValidationRequest =
                serde_json::from_str(&call.body).unwrap();
            HttpResponse::Ok().json(BargeRailPickupValidationResponse {
                transport_operator: request.transport_operator,
                release_identification: vec![result(&request.equipment_number)],
            })
        }
        "POST" if path.ends_with("/validation/pickup/identification") => {
            let request: IdentificationValidationRequest =
                serde_json::from_str(&call.body).unwrap();
            HttpResponse::Ok().json(request.identification_code == "12345678")
        }
        "POST" if path.ends_with("/validation/ownership/truck") => {
            let request: TruckOwnershipValidationRequest =
                serde_json::from_str(&call.body).unwrap();
            HttpResponse::Ok().json(TruckOwnershipValidationResponse {
                is_valid: false,
                error_messages: vec!["Release Right is unknown".into()],
                owner_nxt_entity_id: request.owner_nxt_entity_id,
                alfapass_number: request.alfapass_number,
                equipment_number: request.equipment_number,
                release_id: None,
            })
        }
        "GET" if path == paths::ENTITIES => {
            let query: EntitySearchQuery = serde_urlencoded::from_str(&call.query).unwrap();
            HttpResponse::Ok().json(PhoneBookResponse {
                search_filter: SearchEntityFilter {
                    eori: query.eori,
                    ..SearchEntityFilter::default()
                },
                phone_book_items: vec![PhoneBookItem {
                    nxt_entity_id: "NXT869".into(),
                    name: "PSA Antwerp".into(),
                    ..PhoneBookItem::default()
                }],
                total_rows: 1,
                total_pages: 1,
                public_reference_id: None,
                external_reference_id: None,
            })
        }
        "GET" if path == paths::NOTIFICATIONS => {
            let query: NotificationsQuery = serde_urlencoded::from_str(&call.query).unwrap();
            if query.equipment_number.as_deref() == Some("NONE0000000") {
                return HttpResponse::MethodNotAllowed().finish();
            }
            let envelope = Notification {
                asset_id: CPU_ASSET_ID.into(),
                id: "MSCU1234565".into(),
                public_reference_id: "p-1".into(),
                external_reference_id: None,
                receiver_id: "NXT869".into(),
                sender_id: None,
                timestamp: Utc::now(),
                type_: NotificationType::TerminalEvent,
                event: NotificationEvent::GateOut,
                errors: vec![],
                warnings: vec![],
                body: serde_json::json!({}),
            };
            HttpResponse::Ok().json(vec![NotificationDetail {
                nxt_entity_id: "NXT869".into(),
                equipment_number: "MSCU1234565".into(),
                public_reference_id: "p-1".into(),
                external_reference_id: None,
                stored_on: envelope.timestamp,
                message: serde_json::to_string(&envelope).unwrap(),
                type_: NotificationType::TerminalEvent,
                event: query
                    .notification_event
                    .unwrap_or(NotificationEvent::GateOut),
                release_id: None,
            }])
        }
        _ => HttpResponse::NotFound().json(ProblemDetails::new(404, "Not Found", path)),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn credentials(password: &str) -> NxtPortCredentials {
    NxtPortCredentials {
        client_id: "gateway".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        username: "psa-user".into(),
        password: SecretString::from(password),
        subscription_key: SecretString::from(SUBSCRIPTION_KEY),
    }
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

fn config(double: &Double, retry: RetryPolicy) -> NxtPortConfig {
    let mut config = NxtPortConfig::simulator(&double.base_url, credentials(PASSWORD));
    config.retry = retry;
    config.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    config
}

fn generous_budget() -> BudgetRegistry {
    BudgetRegistry::new(BudgetConfig::new(10_000, Duration::from_secs(1))).unwrap()
}

fn client(double: &Double, retry: RetryPolicy) -> NxtPortClient {
    NxtPortClient::new(config(double, retry), &generous_budget()).unwrap()
}

fn ingestion(operation: OperationType) -> IngestionRequest {
    IngestionRequest {
        port_lo_code: "BEANR".into(),
        equipment_number: "MSCU1234565".into(),
        equipment_status: Some("import".into()),
        timestamp: Utc::now(),
        terminal_code: "869".into(),
        stay_number: None,
        operation_type: operation,
        full_empty_indicator: Some(FullEmptyIndicator::Full),
        bill_of_lading_numbers: None,
        mode_of_transport: None,
    }
}

fn truck_validation() -> TruckPickupValidationRequest {
    TruckPickupValidationRequest {
        alfapass_number: "12345678".into(),
        release_identification: vec![PickupContainerIdentifier {
            equipment_number: "MSCU1234565".into(),
            bill_of_lading_numbers: None,
            carrier: None,
        }],
    }
}

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "secret leaked in: {text}");
    }
    assert!(!text.contains("access-0"), "token leaked in: {text}");
}

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

#[tokio::test]
async fn the_token_is_refreshed_before_it_expires() {
    let double = Double::start().await;
    double.state.expires_in.store(2, Ordering::SeqCst);
    let client = client(&double, fast_retry(3));
    let options = CallOptions::default();
    client
        .ingestion("i", &ingestion(OperationType::GateIn), &options)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    client
        .ingestion("i", &ingestion(OperationType::GateIn), &options)
        .await
        .unwrap();
    assert_eq!(
        double.grants(),
        ["password"],
        "still fresh at 50% of its life"
    );
    // Refresh at expires_in - 10% = 1.8 s: before NxtPort would refuse it.
    tokio::time::sleep(Duration::from_millis(900)).await;
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
    let started = Instant::now();
    client
        .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
        .await
        .unwrap();
    let calls = double.calls();
    assert_eq!(calls.len(), 2);
    let gap = calls[1].at - calls[0].at;
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, Retry-After was 1 s"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(client.budget().metrics().pauses, 1, "the whole key paused");
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

// ---------------------------------------------------------------------------------------------
// Every call of the contract
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_contract_call_uses_its_method_path_and_types() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(2));
    let o = CallOptions::with_reference("ref");
    let t = Utc::now();
    client
        .terminal_release(
            "BEANR",
            "MSCU1234565",
            &TerminalReleaseRequest {
                equipment_number: "MSCU1234565".into(),
                port_lo_code: "BEANR".into(),
                terminal_code: "869".into(),
                action_type: TerminalReleaseActionType::Scanning,
                release_date_time_utc: t,
                stay_number: Some("S1".into()),
            },
            &o,
        )
        .await
        .unwrap();
    for op in [
        OperationType::Discharge,
        OperationType::GateIn,
        OperationType::GateOut,
    ] {
        client
            .ingestion("ingest-42", &ingestion(op), &o)
            .await
            .unwrap();
    }
    let truck = client
        .validate_truck_pickup("BEANR", &truck_validation(), &o)
        .await
        .unwrap();
    assert_eq!(truck.alfapass_number, "12345678");
    assert_eq!(
        truck.release_identification[0].green_lights[0].green_light_color,
        LightColor::Green
    );
    let barge = client
        .validate_barge_rail_pickup(
            "BEANR",
            &BargeRailPickupValidationRequest {
                equipment_number: "MSCU1234565".into(),
                bill_of_lading_numbers: vec![],
                release_id: None,
                means_of_transport: ModeOfTransport::Barge,
                transport_operator: Identification {
                    identification_type: IdentificationType::NxtEntityId,
                    identification_code: "NXTBARGE".into(),
                },
                carrier: None,
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(barge.transport_operator.identification_code, "NXTBARGE");
    let valid = client
        .validate_identification(
            "BEANR",
            &IdentificationValidationRequest {
                identification_type: IdentificationType::Alfapass,
                identification_code: "12345678".into(),
            },
            &o,
        )
        .await
        .unwrap();
    assert!(valid);
    let ownership = client
        .validate_truck_ownership(
            "BEANR",
            &TruckOwnershipValidationRequest {
                port_lo_code: Some("BEANR".into()),
                owner_nxt_entity_id: "NXTTRUCK".into(),
                alfapass_number: None,
                equipment_number: "MSCU1234565".into(),
            },
            &o,
        )
        .await
        .unwrap();
    assert!(!ownership.is_valid);
    assert_eq!(ownership.error_messages, ["Release Right is unknown"]);
    client
        .request_release_detail(
            "BEANR",
            "MSCU1234565",
            &ReleaseDetailQuery {
                bill_of_lading_numbers: Some("BL1,BL2".into()),
                release_identification: None,
            },
            &o,
        )
        .await
        .unwrap();
    let phone = client
        .search_entities(
            &EntitySearchQuery {
                eori: Some("BE0123".into()),
                ..EntitySearchQuery::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(phone.phone_book_items[0].name, "PSA Antwerp");
    assert_eq!(phone.search_filter.eori.as_deref(), Some("BE0123"));
    let notifications = client
        .notifications(
            &NotificationsQuery {
                notification_event: Some(NotificationEvent::GateOut),
                ..NotificationsQuery::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(
        notifications[0].notification().unwrap().event,
        NotificationEvent::GateOut
    );
    let none = client
        .notifications(
            &NotificationsQuery {
                equipment_number: Some("NONE0000000".into()),
                ..NotificationsQuery::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "405 = no matching notifications");
    client
        .release_right_action(
            "BEANR",
            "MSCU1234565",
            &ReleaseRightActionRequest {
                release_identification: None,
                terminal_code: Some("869".into()),
                action_type: ActionType::Transfer,
                reason_for_action: None,
                bill_of_lading_numbers: None,
                release_from: None,
                release_to: Some(Identification {
                    identification_type: IdentificationType::Eori,
                    identification_code: "BE0999".into(),
                }),
                carrier: None,
                release_date_time_utc: None,
                expiration_date_time_utc: None,
                valid_from: None,
                equipment_number: None,
                port_lo_code: None,
                release_id: None,
            },
            &o,
        )
        .await
        .unwrap();
    client
        .pickup_right_action(
            "BEANR",
            "MSCU1234565",
            &SubmitPickupRightRequest {
                terminal_code: None,
                bill_of_lading_numbers: None,
                release_identification: None,
                pickup_party: PickupParty {
                    party_type: PartyType::Truck,
                    identification_type: IdentificationType::Alfapass,
                    identification_code: "12345678".into(),
                },
                timestamp: Some(t),
                action_type: PickupRightActionType::Assign,
                equipment_number: None,
                port_lo_code: None,
                release_id: None,
            },
            &o,
        )
        .await
        .unwrap();
    client
        .barge_rail_pickup_right(
            &SubmitBargeRailPickupRightRequest {
                terminal_code: None,
                release_identifier: ReleaseRightIdentifier {
                    bill_of_lading_numbers: None,
                    equipment_number: "MSCU1234565".into(),
                    release_identification: None,
                },
                data_broker_nxt_entity_id: "NXTBARGE".into(),
                action_type: PickupRightActionType::Assign,
                port_lo_code: Some("BEANR".into()),
                release_id: None,
            },
            &o,
        )
        .await
        .unwrap();
    let seen: Vec<(String, String, String)> = double
        .calls()
        .into_iter()
        .map(|c| (c.method, c.path, c.query))
        .collect();
    let expected = [
        (
            "PUT",
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/terminal-release",
            "",
        ),
        ("POST", "/ingestion/v1/ingestion/ingest-42", ""),
        ("POST", "/ingestion/v1/ingestion/ingest-42", ""),
        ("POST", "/ingestion/v1/ingestion/ingest-42", ""),
        (
            "POST",
            "/certified-pickup/v1/BEANR/sync-validation/pickup/containers",
            "",
        ),
        (
            "POST",
            "/certified-pickup/v2/BEANR/sync-validation/pickup/barge-rail/containers",
            "",
        ),
        (
            "POST",
            "/certified-pickup/v1/BEANR/validation/pickup/identification",
            "",
        ),
        (
            "POST",
            "/certified-pickup/v1/BEANR/validation/ownership/truck",
            "",
        ),
        (
            "GET",
            "/certified-pickup/v1/BEANR/containers/import/release-rights/MSCU1234565",
            "billOfLadingNumbers=BL1%2CBL2",
        ),
        ("GET", "/certified-pickup/v1/entities", "EORI=BE0123"),
        (
            "GET",
            "/certified-pickup/v1/notifications",
            "notificationEvent=GateOut",
        ),
        (
            "GET",
            "/certified-pickup/v1/notifications",
            "equipmentNumber=NONE0000000",
        ),
        (
            "PUT",
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/release-rights",
            "",
        ),
        (
            "PUT",
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/pickup-rights",
            "",
        ),
        ("PUT", "/certified-pickup/v1/pickup-rights/barge-rail", ""),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(m, p, q)| (m.to_string(), p.to_string(), q.to_string()))
        .collect();
    assert_eq!(seen, expected);
    let ops: Vec<String> = double.calls()[1..4]
        .iter()
        .map(|c| {
            serde_json::from_str::<serde_json::Value>(&c.body).unwrap()["operationType"].to_string()
        })
        .collect();
    assert_eq!(ops, ["\"Discharge\"", "\"GateIn\"", "\"GateOut\""]);
}

// ---------------------------------------------------------------------------------------------
// The budget, measured at the double (where NxtPort counts)
// ---------------------------------------------------------------------------------------------

/// Most arrivals in any half-open window `[t, t + window)`.
fn max_in_any_window(at: &[Instant], window: Duration) -> usize {
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|a| **a < at[i] + window).count())
        .max()
        .unwrap_or(0)
}

const BUDGET: u32 = 20;
const PERIOD: Duration = Duration::from_secs(1);
const PERIODS: u32 = 4;

/// Offer 4x the budget for `PERIODS` periods; returns (max in any sliding window, used share).
async fn offer_4x(algorithm: BudgetAlgorithm) -> (usize, f64) {
    let double = Double::start().await;
    // Scaled down 60x, the latency spread between two calls a window apart (new connections,
    // two cores shared with the other tests) is a larger share of the window: 2% margin here,
    // 1% (600 ms) at NxtPort's real minute.
    let budget = BudgetConfig {
        algorithm,
        safety_margin: PERIOD / 50,
        ..BudgetConfig::new(BUDGET, PERIOD)
    };
    let budgets = BudgetRegistry::new(budget).unwrap();
    let client = NxtPortClient::new(config(&double, fast_retry(1)), &budgets).unwrap();
    // Warm the token and a connection per slot, so the first window is not shifted by them.
    let warm = (0..BUDGET).map(|_| {
        let client = client.clone();
        async move {
            client
                .ingestion(
                    "i",
                    &ingestion(OperationType::GateIn),
                    &CallOptions::default(),
                )
                .await
        }
    });
    for answer in futures::future::join_all(warm).await {
        answer.unwrap();
    }
    tokio::time::sleep(PERIOD + PERIOD / 10).await;
    double.state.calls.lock().clear();

    let offered = 4 * BUDGET * PERIODS;
    let spacing = PERIOD / (4 * BUDGET);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..offered {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(spacing * i).await;
            let _ = client
                .ingestion(
                    "i",
                    &ingestion(OperationType::GateIn),
                    &CallOptions::default(),
                )
                .await;
        }));
    }
    tokio::time::sleep(PERIOD * PERIODS + PERIOD / 5).await;
    for task in &tasks {
        task.abort();
    }
    let mut arrivals: Vec<Instant> = double.calls().iter().map(|c| c.at).collect();
    arrivals.sort();
    let first = arrivals[0];
    let in_run = arrivals
        .iter()
        .filter(|a| **a < first + PERIOD * PERIODS)
        .count();
    let max = max_in_any_window(&arrivals, PERIOD);
    let used = in_run as f64 / f64::from(BUDGET * PERIODS);
    eprintln!(
        "limiter {algorithm:?}: offered {offered} in {:?}; upstream saw {in_run} in the first \
         {PERIODS} windows ({:.1}% of {}), max {max} in any sliding {PERIOD:?} window (budget {BUDGET})",
        started.elapsed(),
        100.0 * used,
        BUDGET * PERIODS
    );
    let metrics = client.budget().metrics();
    assert!(metrics.waited_background > 0 && metrics.max_wait > Duration::ZERO);
    (max, used)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offered_4x_the_budget_the_upstream_sees_at_most_the_budget_per_sliding_window() {
    let (max, used) = offer_4x(BudgetAlgorithm::SlidingWindowLog).await;
    assert!(
        max <= BUDGET as usize,
        "{max} calls in one sliding window, budget {BUDGET}"
    );
    assert!(used >= 0.98, "only {:.1}% of the budget used", 100.0 * used);
}

/// The GCRA option under the same offer, on tokio's paused clock: its grants are what the
/// upstream would see, and virtual time makes the result independent of the machine's load
/// (on the wall clock this test failed on a loaded machine).
#[tokio::test(start_paused = true)]
async fn the_gcra_option_never_exceeds_the_budget_either() {
    let config = BudgetConfig {
        algorithm: BudgetAlgorithm::Gcra,
        safety_margin: PERIOD / 50,
        ..BudgetConfig::new(BUDGET, PERIOD)
    };
    let budget = Budget::new(&config).unwrap();
    let start = tokio::time::Instant::now();
    let offered = 4 * BUDGET * PERIODS;
    let spacing = PERIOD / (4 * BUDGET);
    let grants = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..offered {
        let (budget, grants) = (budget.clone(), Arc::clone(&grants));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(spacing * i).await;
            budget.acquire(Priority::Background).await.unwrap();
            grants.lock().push(tokio::time::Instant::now().into_std());
        }));
    }
    tokio::time::sleep(PERIOD * PERIODS).await;
    for task in &tasks {
        task.abort();
    }
    let mut at = grants.lock().clone();
    at.sort();
    let end = (start + PERIOD * PERIODS).into_std();
    let in_run = at.iter().filter(|a| **a < end).count();
    let max = max_in_any_window(&at, PERIOD);
    assert!(
        max <= BUDGET as usize,
        "{max} calls in one sliding window, budget {BUDGET}"
    );
    // GCRA with burst 1 loses each grant's lateness for good (see limiter.rs); on an exact clock
    // there is no lateness, only the safety margin.
    let used = in_run as f64 / f64::from(BUDGET * PERIODS);
    assert!(used >= 0.95, "only {:.1}% of the budget used", 100.0 * used);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_validations_overtake_queued_background_writes() {
    let double = Double::start().await;
    let budgets = BudgetRegistry::new(BudgetConfig::new(5, Duration::from_secs(1))).unwrap();
    let client = NxtPortClient::new(config(&double, fast_retry(1)), &budgets).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let _ = client
                .ingestion(
                    "i",
                    &ingestion(OperationType::GateIn),
                    &CallOptions::default(),
                )
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(double.calls().len(), 5, "the first window is used up");
    for _ in 0..3 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .validate_truck_pickup("BEANR", &truck_validation(), &CallOptions::default())
                .await
                .unwrap();
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    for task in &tasks {
        task.abort();
    }
    let calls = double.calls();
    assert_eq!(calls.len(), 10, "two windows of 5");
    let second_window: Vec<_> = calls[5..]
        .iter()
        .map(|c| c.path.ends_with("/containers"))
        .collect();
    assert_eq!(
        second_window.iter().filter(|v| **v).count(),
        3,
        "the 3 validations took the next slots ahead of 15 queued writes"
    );
    let metrics = client.budget().metrics();
    assert_eq!(metrics.granted_interactive, 3);
    assert_eq!(metrics.waited_interactive, 3);
}

#[tokio::test]
async fn clients_of_the_same_key_share_one_budget() {
    let double = Double::start().await;
    let budgets = BudgetRegistry::new(BudgetConfig::new(3, Duration::from_secs(1))).unwrap();
    let a = NxtPortClient::new(config(&double, fast_retry(1)), &budgets).unwrap();
    let b = NxtPortClient::new(config(&double, fast_retry(1)), &budgets).unwrap();
    let mut tasks = Vec::new();
    for client in [a.clone(), a, b.clone(), b] {
        for _ in 0..2 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let _ = client
                    .ingestion(
                        "i",
                        &ingestion(OperationType::GateIn),
                        &CallOptions::default(),
                    )
                    .await;
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    for task in &tasks {
        task.abort();
    }
    assert_eq!(
        double.calls().len(),
        3,
        "3 per second for the key, whichever client calls"
    );
    assert_eq!(budgets.metrics().len(), 1);
}

//! `NxtPortClient` against a small NxtPort test double (actix-web on port 0): tokens, retries,
//! typed errors, redaction, and the per-key budget measured where NxtPort would count it.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::Utc;
use cpu_contract::*;
use cpu_gateway::nxtport::*;
use parking_lot::Mutex;
use secrecy::SecretString;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod budget;
mod contract_calls;
mod retries;
mod tokens;

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

//! `NxtPortClient`: the gateway's client of NxtPort CPu, the same code in sim, UAT and PRD
//! mode (only [`NxtPortConfig`]'s URLs and credentials differ).
//!
//! Every call:
//! 1. takes a bearer token from the [`token`](super::token) cache (password grant, cached,
//!    refreshed before expiry, single-flight);
//! 2. waits for a slot of its subscription key's [`Budget`] (priority: synchronous pickup
//!    validations before background writes);
//! 3. sends `Authorization: Bearer`, `Ocp-Apim-Subscription-Key` (on ingestion too: harmless)
//!    and `External-Reference-Id` when given;
//! 4. on 401 drops the token, fetches a new one and tries once more; on 5xx, 408, 429,
//!    timeouts and connection errors retries with [`RetryPolicy`] (a 429 also pauses the whole
//!    key for its `Retry-After`); any other 4xx is returned at once as
//!    [`NxtPortError::Status`] with the ProblemDetails.
//!
//! A retried POST whose first attempt reached NxtPort but whose answer was lost is sent twice;
//! callers correlate by `External-Reference-Id` (the gateway sets it to the operation id).
//!
//! Errors and `Debug` output never contain the client secret, password, subscription key or
//! tokens: they are `SecretString`s and errors carry only method, path, status and the body.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::limiter::{Budget, BudgetRegistry, Priority};
use super::retry::{parse_retry_after, RetryPolicy};
use super::token::{TokenCache, TokenEndpoint};
use cpu_contract::paths;
use cpu_contract::*;

/// NxtPort UAT API host.
pub const UAT_API_BASE_URL: &str = "https://api-uat.nxtport.com";
/// NxtPort PRD API host.
pub const PRD_API_BASE_URL: &str = "https://api.nxtport.com";
/// NxtPort UAT token endpoint.
pub const UAT_TOKEN_URL: &str = "https://login-uat.nxtport.com/connect/token";
/// NxtPort PRD token endpoint.
pub const PRD_TOKEN_URL: &str = "https://login.nxtport.com/connect/token";

/// Largest response body read (a notification list can be long; anything bigger is an error).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Most of an error body kept in [`NxtPortError::Status`].
const MAX_ERROR_BODY_CHARS: usize = 2_000;

/// The NxtPort credentials of one company (what the vault stores).
#[derive(Clone)]
pub struct NxtPortCredentials {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// User of the subscribed company.
    pub username: String,
    /// That user's password.
    pub password: SecretString,
    /// API (subscription) key of the company.
    pub subscription_key: SecretString,
}

impl fmt::Debug for NxtPortCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NxtPortCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("subscription_key", &"[REDACTED]")
            .finish()
    }
}

/// Timeouts of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Whole request, answer included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// Where and as whom the client talks to NxtPort.
#[derive(Clone, Debug)]
pub struct NxtPortConfig {
    /// API base URL (`https://api.nxtport.com`, or the simulator's).
    pub api_base_url: String,
    /// Token endpoint URL (`https://login.nxtport.com/connect/token`, or the simulator's).
    pub token_url: String,
    /// Credentials.
    pub credentials: NxtPortCredentials,
    /// `scope` of the password grant (e.g. `offline_access` for a refresh token); none by default.
    pub scope: Option<String>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Retries.
    pub retry: RetryPolicy,
}

/// NxtPort environments with known hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// User acceptance.
    Uat,
    /// Production.
    Prd,
}

impl NxtPortConfig {
    /// Explicit URLs (sim mode, tests, overrides).
    pub fn new(
        api_base_url: impl Into<String>,
        token_url: impl Into<String>,
        credentials: NxtPortCredentials,
    ) -> Self {
        Self {
            api_base_url: api_base_url.into(),
            token_url: token_url.into(),
            credentials,
            scope: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// NxtPort's hosts for `environment`.
    pub fn for_environment(environment: Environment, credentials: NxtPortCredentials) -> Self {
        match environment {
            Environment::Uat => Self::new(UAT_API_BASE_URL, UAT_TOKEN_URL, credentials),
            Environment::Prd => Self::new(PRD_API_BASE_URL, PRD_TOKEN_URL, credentials),
        }
    }

    /// The simulator at `base_url` (API and token endpoint on the same host).
    pub fn simulator(base_url: &str, credentials: NxtPortCredentials) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new(base, format!("{base}{}", paths::TOKEN), credentials)
    }
}

impl fmt::Display for NxtPortConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NxtPort api={} token={} client_id={} username={}",
            self.api_base_url,
            self.token_url,
            self.credentials.client_id,
            self.credentials.username
        )
    }
}

/// One attempt of an API call, as seen by a [`CallObserver`] (metrics of upstream status codes,
/// retried attempts included).
#[derive(Debug, Clone, Copy)]
pub struct CallEvent<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path (no query).
    pub path: &'a str,
    /// HTTP status, or `None` when no answer came (connection error, timeout).
    pub status: Option<u16>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Time from sending to the end of the answer's body.
    pub elapsed: Duration,
}

/// Called after every attempt of every API call.
pub type CallObserver = Arc<dyn Fn(&CallEvent<'_>) + Send + Sync>;

/// The longest a synchronous (interactive) call waits for a slot of the NxtPort budget.
pub const INTERACTIVE_BUDGET_WAIT: Duration = Duration::from_secs(5);

/// Per-call options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Sent as `External-Reference-Id` (the gateway uses its operation id).
    pub external_reference_id: Option<String>,
    /// Overrides the method's default priority.
    pub priority: Option<Priority>,
}

impl CallOptions {
    /// Options with an `External-Reference-Id`.
    pub fn with_reference(reference: impl Into<String>) -> Self {
        Self {
            external_reference_id: Some(reference.into()),
            priority: None,
        }
    }

    /// Set the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }
}

/// What went wrong talking to NxtPort. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum NxtPortError {
    /// NxtPort answered with a status we do not retry (or the last retry failed).
    #[error("NxtPort answered {status} to {method} {path}: {}", summary(.problem, .body))]
    Status {
        /// Method of the call.
        method: Method,
        /// Path of the call.
        path: String,
        /// HTTP status.
        status: u16,
        /// The ProblemDetails body, when it was one.
        problem: Option<Box<ProblemDetails>>,
        /// The body as text (truncated).
        body: String,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// The token endpoint refused (wrong credentials, unknown client, ...).
    #[error("NxtPort token endpoint answered {status}: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Token {
        /// HTTP status.
        status: u16,
        /// RFC 6749 error code (or the body when it was not one).
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// No answer: connection refused or reset, DNS, TLS, timeout.
    #[error("could not reach NxtPort for {method} {path}: {message}")]
    Transport {
        /// Method of the call.
        method: Method,
        /// Path (or token URL) of the call.
        path: String,
        /// Cause chain.
        message: String,
        /// Whether it was a timeout.
        timeout: bool,
    },
    /// A 2xx whose body is not what the contract says (not retried: the call was accepted).
    #[error("unexpected answer to {method} {path} (status {status}): {message}")]
    Decode {
        /// Method of the call.
        method: Method,
        /// Path of the call.
        path: String,
        /// HTTP status.
        status: u16,
        /// The parse error.
        message: String,
    },
    /// Every attempt failed with a retryable error; `last` is the last one.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: Box<NxtPortError>,
    },
    /// The shared call budget (Redis) could not be consulted; nothing was sent.
    #[error("NxtPort call budget unavailable: {0}")]
    Budget(String),
    /// The request could not be built from the input (e.g. a header value with a newline).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The configuration is unusable.
    #[error("invalid NxtPort configuration: {0}")]
    Config(String),
}

fn summary(problem: &Option<Box<ProblemDetails>>, body: &str) -> String {
    match problem {
        Some(p) if !p.detail.is_empty() => format!("{}: {}", p.title, p.detail),
        Some(p) if !p.title.is_empty() => p.title.clone(),
        _ if body.is_empty() => "(no body)".to_owned(),
        _ => body.to_owned(),
    }
}

impl NxtPortError {
    /// HTTP status of the (last) answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            NxtPortError::Status { status, .. }
            | NxtPortError::Token { status, .. }
            | NxtPortError::Decode { status, .. } => Some(*status),
            NxtPortError::RetriesExhausted { last, .. } => last.status(),
            NxtPortError::Transport { .. }
            | NxtPortError::Budget(_)
            | NxtPortError::InvalidRequest(_)
            | NxtPortError::Config(_) => None,
        }
    }

    /// The ProblemDetails of the (last) answer, if there was one.
    pub fn problem(&self) -> Option<&ProblemDetails> {
        match self {
            NxtPortError::Status { problem, .. } => problem.as_deref(),
            NxtPortError::RetriesExhausted { last, .. } => last.problem(),
            _ => None,
        }
    }

    /// Whether trying the same call later may succeed (transient: 5xx, 408, 429, no answer).
    pub fn is_transient(&self) -> bool {
        match self {
            NxtPortError::Status { status, .. } | NxtPortError::Token { status, .. } => {
                retryable_status(*status)
            }
            NxtPortError::Transport { .. } | NxtPortError::Budget(_) => true,
            NxtPortError::RetriesExhausted { last, .. } => last.is_transient(),
            NxtPortError::Decode { .. }
            | NxtPortError::InvalidRequest(_)
            | NxtPortError::Config(_) => false,
        }
    }
}

/// 5xx, 408 Request Timeout and 429 Too Many Requests.
pub(crate) fn retryable_status(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// `reqwest::Error` without the URL, with its cause chain.
pub(crate) fn transport_error(method: Method, path: &str, error: reqwest::Error) -> NxtPortError {
    let timeout = error.is_timeout();
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    NxtPortError::Transport {
        method,
        path: path.to_owned(),
        message,
        timeout,
    }
}

/// Read a body, at most `MAX_RESPONSE_BYTES`.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    method: &Method,
    path: &str,
) -> Result<Vec<u8>, NxtPortError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(NxtPortError::Decode {
                        method: method.clone(),
                        path: path.to_owned(),
                        status,
                        message: format!("body larger than {MAX_RESPONSE_BYTES} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => return Err(transport_error(method.clone(), path, error)),
        }
    }
}

/// Body text for an error, truncated on a character boundary.
pub(crate) fn error_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX_ERROR_BODY_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// One prepared call, retried as a whole.
struct Call<'a> {
    method: Method,
    path: String,
    query: Option<String>,
    body: Option<bytes::Bytes>,
    options: &'a CallOptions,
    priority: Priority,
}

/// The client. Cheap to clone; clones share the HTTP pool, the token and the budget.
#[derive(Clone)]
pub struct NxtPortClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: reqwest::Client,
    /// Parsed once: a call joins its path to it without parsing the host again.
    api_base_url: reqwest::Url,
    /// `Ocp-Apim-Subscription-Key` (sensitive) and `Accept`, built once.
    static_headers: HeaderMap,
    retry: RetryPolicy,
    tokens: TokenCache,
    budget: Budget,
    config_display: String,
    observer: Option<CallObserver>,
}

impl fmt::Debug for NxtPortClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NxtPortClient")
            .field("config", &self.inner.config_display)
            .field("budget", &self.inner.budget)
            .finish_non_exhaustive()
    }
}

impl NxtPortClient {
    /// A client for `config`, taking its budget from `budgets` (one registry per process, so
    /// every client of a subscription key shares one budget).
    pub fn new(config: NxtPortConfig, budgets: &BudgetRegistry) -> Result<Self, NxtPortError> {
        Self::with_observer(config, budgets, None)
    }

    /// Like [`Self::new`], calling `observer` after every attempt of every API call (to count
    /// upstream status codes, retried ones included).
    pub fn with_observer(
        config: NxtPortConfig,
        budgets: &BudgetRegistry,
        observer: Option<CallObserver>,
    ) -> Result<Self, NxtPortError> {
        let mut parsed = Vec::with_capacity(2);
        for (name, url) in [
            ("api base URL", &config.api_base_url),
            ("token URL", &config.token_url),
        ] {
            let url = reqwest::Url::parse(url)
                .map_err(|e| NxtPortError::Config(format!("{name} `{url}`: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(NxtPortError::Config(format!(
                    "{name} `{url}`: scheme must be http or https"
                )));
            }
            parsed.push(url);
        }
        let mut api_base_url = parsed.swap_remove(0);
        api_base_url.set_query(None);
        api_base_url.set_fragment(None);
        let static_headers = static_headers(&config.credentials.subscription_key)?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            .user_agent(concat!("cpu-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NxtPortError::Config(format!("HTTP client: {e}")))?;
        let budget = budgets.budget_for(&config.credentials.subscription_key);
        let tokens = TokenCache::new(TokenEndpoint {
            http: http.clone(),
            url: config.token_url.clone(),
            client_id: config.credentials.client_id.clone(),
            client_secret: config.credentials.client_secret.clone(),
            username: config.credentials.username.clone(),
            password: config.credentials.password.clone(),
            scope: config.scope.clone(),
            retry: config.retry.clone(),
        });
        Ok(Self {
            inner: Arc::new(ClientInner {
                config_display: config.to_string(),
                http,
                api_base_url,
                static_headers,
                retry: config.retry,
                tokens,
                budget,
                observer,
            }),
        })
    }

    /// The budget this client draws from.
    pub fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// Token endpoint calls made so far (grants of any type).
    pub fn token_fetches(&self) -> u64 {
        self.inner.tokens.fetches()
    }

    /// Make sure a token is at hand (from the cache, or a grant now): checks the credentials
    /// without a CPu call (Data Sources' connection test).
    pub async fn sign_in(&self) -> Result<(), NxtPortError> {
        self.inner.tokens.bearer().await.map(|_| ())
    }

    // ---- the CPu calls --------------------------------------------------------------------

    /// `PUT .../import/terminal-release` (Release, Scanning, Block) -> 202.
    pub async fn terminal_release(
        &self,
        locode: &str,
        equipment: &str,
        body: &TerminalReleaseRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::terminal_release(locode, equipment);
        self.send(
            Method::PUT,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// `POST /ingestion/v1/ingestion/{ingestionId}` (Discharge, GateIn, GateOut) -> 202.
    pub async fn ingestion(
        &self,
        ingestion_id: &str,
        body: &IngestionRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::ingestion(ingestion_id);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// The go-live check's probe of an ingestion id (`cpu-gateway check`): an empty body, which
    /// NxtPort refuses with 400 after it has checked the id (401 when the id is not yours), so
    /// nothing is ingested.
    pub async fn probe_ingestion(
        &self,
        ingestion_id: &str,
    ) -> Result<AcceptedResponse, NxtPortError> {
        self.send(
            Method::POST,
            paths::ingestion(ingestion_id),
            None::<&()>,
            Some(&serde_json::json!({})),
            &CallOptions::default(),
            Priority::Interactive,
        )
        .await
    }

    /// Synchronous truck pickup validation (interactive by default).
    pub async fn validate_truck_pickup(
        &self,
        locode: &str,
        body: &TruckPickupValidationRequest,
        options: &CallOptions,
    ) -> Result<TruckPickupValidationResponse, NxtPortError> {
        let path = paths::truck_sync_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Synchronous barge/rail pickup validation, v2 (interactive by default).
    pub async fn validate_barge_rail_pickup(
        &self,
        locode: &str,
        body: &BargeRailPickupValidationRequest,
        options: &CallOptions,
    ) -> Result<BargeRailPickupValidationResponse, NxtPortError> {
        let path = paths::barge_rail_sync_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Alfapass (identification) validation -> `true | false` (interactive by default).
    pub async fn validate_identification(
        &self,
        locode: &str,
        body: &IdentificationValidationRequest,
        options: &CallOptions,
    ) -> Result<bool, NxtPortError> {
        let path = paths::identification_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Truck release-right validation (interactive by default).
    pub async fn validate_truck_ownership(
        &self,
        locode: &str,
        body: &TruckOwnershipValidationRequest,
        options: &CallOptions,
    ) -> Result<TruckOwnershipValidationResponse, NxtPortError> {
        let path = paths::truck_ownership_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Ask for a release detail -> 202; the detail arrives as a `GetReleaseDetail` notification.
    pub async fn request_release_detail(
        &self,
        locode: &str,
        equipment: &str,
        query: &ReleaseDetailQuery,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::release_detail(locode, equipment);
        self.send(
            Method::GET,
            path,
            Some(query),
            None::<&()>,
            options,
            Priority::Background,
        )
        .await
    }

    /// Company registry search.
    pub async fn search_entities(
        &self,
        query: &EntitySearchQuery,
        options: &CallOptions,
    ) -> Result<PhoneBookResponse, NxtPortError> {
        self.send(
            Method::GET,
            paths::entities(),
            Some(query),
            None::<&()>,
            options,
            Priority::Background,
        )
        .await
    }

    /// Stored notifications. NxtPort answers 405 when none match: that is an empty list here.
    pub async fn notifications(
        &self,
        query: &NotificationsQuery,
        options: &CallOptions,
    ) -> Result<Vec<NotificationDetail>, NxtPortError> {
        let result = self
            .send(
                Method::GET,
                paths::notifications(),
                Some(query),
                None::<&()>,
                options,
                Priority::Background,
            )
            .await;
        match result {
            Err(NxtPortError::Status { status: 405, .. }) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Release-right action (shipping agent, release parties) -> 202.
    pub async fn release_right_action(
        &self,
        locode: &str,
        equipment: &str,
        body: &ReleaseRightActionRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::release_rights(locode, equipment);
        self.send(
            Method::PUT,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// Pickup-right action (transport operator) -> 202.
    pub async fn pickup_right_action(
        &self,
        locode: &str,
        equipment: &str,
        body: &SubmitPickupRightRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::pickup_rights(locode, equipment);
        self.send(
            Method::PUT,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// Barge/rail pickup right -> 202.
    pub async fn barge_rail_pickup_right(
        &self,
        body: &SubmitBargeRailPickupRightRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        self.send(
            Method::PUT,
            paths::barge_rail_pickup_rights(),
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    // ---- machinery -----------------------------------------------------------------------

    async fn send<Q: Serialize, B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        query: Option<&Q>,
        body: Option<&B>,
        options: &CallOptions,
        default_priority: Priority,
    ) -> Result<T, NxtPortError> {
        let query = query
            .map(serde_urlencoded::to_string)
            .transpose()
            .map_err(|e| NxtPortError::InvalidRequest(format!("query: {e}")))?
            .filter(|q| !q.is_empty());
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| NxtPortError::InvalidRequest(format!("body: {e}")))?
            .map(bytes::Bytes::from);
        let call = Call {
            method,
            path,
            query,
            body,
            options,
            priority: options.priority.unwrap_or(default_priority),
        };
        let (status, bytes) = self.execute(&call).await?;
        serde_json::from_slice(&bytes).map_err(|e| NxtPortError::Decode {
            method: call.method.clone(),
            path: call.path.clone(),
            status,
            message: e.to_string(),
        })
    }

    /// Run a call with token, budget, 401 refresh and retries; returns a 2xx status and body.
    async fn execute(&self, call: &Call<'_>) -> Result<(u16, Vec<u8>), NxtPortError> {
        let inner = &self.inner;
        let headers = self.headers(call.options)?;
        let url = self.url(&call.path, call.query.as_deref());
        let mut attempts = 0u32;
        let mut refreshed_after_401 = false;
        loop {
            attempts += 1;
            // Slot first, token second: a long wait for a slot must not outlive the token.
            // No slot, no call: when the shared budget cannot be consulted, a synchronous
            // caller hears it at once; background work retries with backoff.
            let budget_error = |e: String| Some(NxtPortError::Budget(e));
            let error = match call.priority {
                // The truck at the gate is answered within a bound: no slot in time is a 503
                // with Retry-After, not a hanging gate (a slot granted later stays unused: the
                // budget is never exceeded).
                Priority::Interactive => {
                    match tokio::time::timeout(
                        INTERACTIVE_BUDGET_WAIT,
                        inner.budget.acquire(call.priority),
                    )
                    .await
                    {
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => budget_error(e.to_string()),
                        Err(_) => budget_error(format!(
                            "no slot in the NxtPort budget within {} s",
                            INTERACTIVE_BUDGET_WAIT.as_secs()
                        )),
                    }
                }
                Priority::Background => match inner.budget.acquire(call.priority).await {
                    Ok(_) => None,
                    Err(e) => budget_error(e.to_string()),
                },
            };
            if let Some(error) = error {
                if call.priority == Priority::Interactive || attempts >= inner.retry.max_attempts {
                    return Err(error);
                }
                tokio::time::sleep(inner.retry.delay(attempts, None)).await;
                continue;
            }
            let token = inner.tokens.bearer().await?;
            let mut bearer =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    NxtPortError::InvalidRequest("token is not a valid header value".into())
                })?;
            bearer.set_sensitive(true);
            let mut request = inner
                .http
                .request(call.method.clone(), url.clone())
                .headers(headers.clone())
                .header(AUTHORIZATION, bearer);
            if let Some(body) = &call.body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let sent_at = tokio::time::Instant::now();
            let observe = |status: Option<u16>| {
                if let Some(observer) = &inner.observer {
                    observer(&CallEvent {
                        method: &call.method,
                        path: &call.path,
                        status,
                        attempt: attempts,
                        elapsed: sent_at.elapsed(),
                    });
                }
            };
            let error = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let bytes = read_body(response, &call.method, &call.path).await;
                    observe(bytes.as_ref().ok().map(|_| status.as_u16()));
                    match bytes {
                        Ok(bytes) if status.is_success() => return Ok((status.as_u16(), bytes)),
                        Ok(bytes) => {
                            if status == StatusCode::UNAUTHORIZED && !refreshed_after_401 {
                                // The token was refused (expired, revoked): fetch a new one and
                                // try again once; this attempt does not count as a retry.
                                refreshed_after_401 = true;
                                inner.tokens.invalidate(&token);
                                attempts -= 1;
                                continue;
                            }
                            if status == StatusCode::TOO_MANY_REQUESTS {
                                inner
                                    .budget
                                    .pause_for(retry_after.unwrap_or(Duration::from_secs(1)));
                            }
                            let problem = serde_json::from_slice::<ProblemDetails>(&bytes)
                                .ok()
                                .filter(|p| p.status != 0 || !p.title.is_empty())
                                .map(Box::new);
                            NxtPortError::Status {
                                method: call.method.clone(),
                                path: call.path.clone(),
                                status: status.as_u16(),
                                problem,
                                body: error_text(&bytes),
                                retry_after,
                            }
                        }
                        Err(error) => error,
                    }
                }
                Err(error) => {
                    observe(None);
                    transport_error(call.method.clone(), &call.path, error)
                }
            };
            if !error.is_transient() {
                return Err(error);
            }
            if attempts >= inner.retry.max_attempts {
                return Err(if attempts == 1 {
                    error
                } else {
                    NxtPortError::RetriesExhausted {
                        attempts,
                        last: Box::new(error),
                    }
                });
            }
            let retry_after = match &error {
                NxtPortError::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            let delay = inner.retry.delay(attempts, retry_after);
            tracing::debug!(
                method = %call.method,
                path = %call.path,
                attempt = attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "NxtPort call failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The base URL's path followed by `path` (which starts with `/`), and the query.
    fn url(&self, path: &str, query: Option<&str>) -> reqwest::Url {
        let base = &self.inner.api_base_url;
        let mut url = base.clone();
        match base.path().trim_end_matches('/') {
            "" => url.set_path(path),
            prefix => url.set_path(&format!("{prefix}{path}")),
        }
        url.set_query(query);
        url
    }

    /// The static headers plus this call's `External-Reference-Id`.
    fn headers(&self, options: &CallOptions) -> Result<HeaderMap, NxtPortError> {
        let mut headers = self.inner.static_headers.clone();
        if let Some(reference) = &options.external_reference_id {
            let value = HeaderValue::from_str(reference).map_err(|_| {
                NxtPortError::InvalidRequest(format!(
                    "{}: not a valid header value",
                    paths::EXTERNAL_REFERENCE_ID
                ))
            })?;
            headers.insert(paths::EXTERNAL_REFERENCE_ID, value);
        }
        Ok(headers)
    }
}

/// `Ocp-Apim-Subscription-Key` (marked sensitive: never in `Debug` output) and `Accept`.
fn static_headers(subscription_key: &SecretString) -> Result<HeaderMap, NxtPortError> {
    let mut headers = HeaderMap::with_capacity(4);
    let mut key = HeaderValue::from_str(subscription_key.expose_secret())
        .map_err(|_| NxtPortError::Config("subscription key is not a valid header value".into()))?;
    key.set_sensitive(true);
    headers.insert(paths::SUBSCRIPTION_KEY_HEADER, key);
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nxtport::BudgetConfig;

    fn client(api_base_url: &str) -> NxtPortClient {
        let credentials = NxtPortCredentials {
            client_id: "client".into(),
            client_secret: SecretString::from("client-secret".to_owned()),
            username: "user".into(),
            password: SecretString::from("password".to_owned()),
            subscription_key: SecretString::from("key-123".to_owned()),
        };
        let config = NxtPortConfig::new(
            api_base_url,
            "http://127.0.0.1:9/connect/token",
            credentials,
        );
        let budgets = BudgetRegistry::new(BudgetConfig::default()).expect("budget");
        NxtPortClient::new(config, &budgets).expect("client")
    }

    #[test]
    fn call_urls_keep_the_base_path_and_take_the_query() {
        let path = "/certified-pickup/v1/BEANR/containers/MSCU1234566/import/terminal-release";
        for (base, expected) in [
            (
                "http://127.0.0.1:8080",
                format!("http://127.0.0.1:8080{path}"),
            ),
            (
                "http://127.0.0.1:8080/",
                format!("http://127.0.0.1:8080{path}"),
            ),
            (
                "https://api.example/cpu/",
                format!("https://api.example/cpu{path}"),
            ),
            (
                "https://api.example/cpu?x=1#f",
                format!("https://api.example/cpu{path}"),
            ),
        ] {
            assert_eq!(client(base).url(path, None).as_str(), expected, "{base}");
        }
        assert_eq!(
            client("https://api.example/cpu")
                .url(
                    "/certified-pickup/v1/notifications",
                    Some("storedOn=2026-11-30")
                )
                .as_str(),
            "https://api.example/cpu/certified-pickup/v1/notifications?storedOn=2026-11-30"
        );
    }

    #[test]
    fn headers_carry_the_key_as_sensitive_and_the_reference() {
        let c = client("http://127.0.0.1:8080");
        let headers = c
            .headers(&CallOptions::with_reference("op-1"))
            .expect("headers");
        let key = &headers[paths::SUBSCRIPTION_KEY_HEADER];
        assert_eq!(key, "key-123");
        assert!(key.is_sensitive());
        assert!(!format!("{headers:?}").contains("key-123"));
        assert_eq!(headers[paths::EXTERNAL_REFERENCE_ID], "op-1");
        assert!(c
            .headers(&CallOptions::with_reference("bad\nvalue"))
            .is_err());
        assert!(!format!("{c:?}").contains("key-123"));
    }

    /// With the budget spent, a synchronous call fails after the bounded wait (virtual time)
    /// instead of queueing until the window frees a slot a minute later.
    #[tokio::test(start_paused = true)]
    async fn a_synchronous_call_waits_for_the_budget_only_a_bounded_time() {
        let credentials = NxtPortCredentials {
            client_id: "client".into(),
            client_secret: SecretString::from("client-secret".to_owned()),
            username: "user".into(),
            password: SecretString::from("password".to_owned()),
            subscription_key: SecretString::from("key-123".to_owned()),
        };
        let config = NxtPortConfig::new(
            "http://127.0.0.1:9",
            "http://127.0.0.1:9/connect/token",
            credentials,
        );
        let budgets =
            BudgetRegistry::new(BudgetConfig::new(1, Duration::from_secs(60))).expect("budget");
        let client = NxtPortClient::new(config, &budgets).expect("client");
        client
            .budget()
            .acquire(Priority::Interactive)
            .await
            .expect("the only slot");
        let started = tokio::time::Instant::now();
        let request = TruckPickupValidationRequest {
            alfapass_number: "AP1000001".into(),
            release_identification: Vec::new(),
        };
        let err = client
            .validate_truck_pickup("BEANR", &request, &CallOptions::default())
            .await
            .expect_err("no slot");
        assert!(matches!(err, NxtPortError::Budget(_)), "{err}");
        assert_eq!(started.elapsed(), INTERACTIVE_BUDGET_WAIT);
    }
}

//! What a client is made of: the NxtPort hosts, the company's credentials, timeouts, the
//! environment, and the per-call options and observer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;

use super::super::limiter::Priority;
use super::super::retry::RetryPolicy;
use cpu_contract::paths;

/// NxtPort UAT API host.
pub const UAT_API_BASE_URL: &str = "https://api-uat.nxtport.com";
/// NxtPort PRD API host.
pub const PRD_API_BASE_URL: &str = "https://api.nxtport.com";
/// NxtPort UAT token endpoint.
pub const UAT_TOKEN_URL: &str = "https://login-uat.nxtport.com/connect/token";
/// NxtPort PRD token endpoint.
pub const PRD_TOKEN_URL: &str = "https://login.nxtport.com/connect/token";

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

/// The longest a synchronous (interactive) call waits, from its start, for slots of the NxtPort
/// budget and between its retries: the gate gets an answer within this plus the calls' own time.
pub const INTERACTIVE_BUDGET_WAIT: Duration = Duration::from_secs(5);

/// Asked right before each HTTP send of a call (after its slot and token): `Err(reason)`
/// withdraws the call unsent, at once and without a retry, as a [`NxtPortError::Transport`]
/// error whose message starts with "withdrawn before sending" (transient: nothing was sent). The delivery worker uses it to
/// confirm its outbox lease, so a replica that lost an operation never sends it.
#[derive(Clone)]
pub struct SendGuard(
    pub Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync>,
);

impl fmt::Debug for SendGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendGuard")
    }
}

impl PartialEq for SendGuard {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SendGuard {}

/// Per-call options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Sent as `External-Reference-Id` (the gateway uses its operation id).
    pub external_reference_id: Option<String>,
    /// Overrides the method's default priority.
    pub priority: Option<Priority>,
    /// Checked right before each send.
    pub before_send: Option<SendGuard>,
}

impl CallOptions {
    /// Options with an `External-Reference-Id`.
    pub fn with_reference(reference: impl Into<String>) -> Self {
        Self {
            external_reference_id: Some(reference.into()),
            ..Self::default()
        }
    }

    /// Ask `guard` right before each send.
    pub fn guarded(mut self, guard: SendGuard) -> Self {
        self.before_send = Some(guard);
        self
    }

    /// Set the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }
}

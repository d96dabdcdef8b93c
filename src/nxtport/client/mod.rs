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

mod calls;
mod config;
mod errors;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::limiter::{Budget, BudgetRegistry};
use super::retry::RetryPolicy;
use super::token::{TokenCache, TokenEndpoint};
pub use config::{
    CallEvent, CallObserver, CallOptions, Environment, NxtPortConfig, NxtPortCredentials,
    SendGuard, Timeouts, INTERACTIVE_BUDGET_WAIT, PRD_API_BASE_URL, PRD_TOKEN_URL,
    UAT_API_BASE_URL, UAT_TOKEN_URL,
};
pub(crate) use errors::{error_text, read_body, transport_error};
pub use errors::{NxtPortError, MAX_RESPONSE_BYTES};
use transport::static_headers;
#[cfg(test)]
use transport::URL_CACHE_MAX;

/// How long an idle pooled connection to NxtPort is kept.
const IDLE_CONNECTION: Duration = Duration::from_secs(4);

/// The client. Cheap to clone; clones share the HTTP pool, the token and the budget.
#[derive(Clone)]
pub struct NxtPortClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: reqwest::Client,
    /// Parsed once: a call joins its path to it without parsing the host again.
    api_base_url: reqwest::Url,
    /// Call URLs without a query, by path (see `url`).
    urls: dashmap::DashMap<String, reqwest::Url>,
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
            // An idle connection is dropped before a server's keep-alive (actix, so the embedded
            // simulator: 5 s) closes it: a call never goes out on a connection being closed.
            .pool_idle_timeout(IDLE_CONNECTION)
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
                urls: dashmap::DashMap::new(),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nxtport::BudgetConfig;
    use crate::nxtport::Priority;
    use cpu_contract::*;
    use secrecy::SecretString;
    use std::time::Duration;

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
    fn a_kept_url_is_the_built_one_and_a_query_is_never_kept() {
        let c = client("https://api.example/cpu/");
        let path = "/certified-pickup/v1/BEANR/sync-validation/pickup/containers";
        let first = c.url(path, None);
        assert_eq!(c.url(path, None), first);
        assert_eq!(first.as_str(), format!("https://api.example/cpu{path}"));
        assert_eq!(c.url(path, Some("a=1")).query(), Some("a=1"));
        assert_eq!(c.url(path, None).query(), None);
        for i in 0..=URL_CACHE_MAX {
            let other = format!("/certified-pickup/v1/BEANR/containers/C{i}");
            assert!(c.url(&other, None).as_str().ends_with(&other));
        }
        assert_eq!(c.url(path, None), first);
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
        assert!(matches!(err, NxtPortError::BudgetSpent(_)), "{err}");
        assert_eq!(started.elapsed(), INTERACTIVE_BUDGET_WAIT);
    }
}

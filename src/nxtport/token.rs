//! Bearer token cache of the NxtPort client.
//!
//! - Password grant (RFC 6749 section 4.3) with client id and secret, as NxtPort documents,
//!   scope `offline_access` unless another is configured, so NxtPort hands out a refresh token.
//! - Cached; refreshed proactively at `expires_in - min(60 s, 10%)`, with the refresh token
//!   when there is one (falling back to a password grant when it is refused), else a new
//!   password grant.
//! - Single-flight: one caller refreshes, the others wait for it, or keep using the current
//!   token while it is still valid (proactive refresh does not stall traffic).
//! - [`TokenCache::invalidate`] after a 401 drops exactly the token that was refused, so a
//!   burst of 401s on the same token causes one refresh, not one per caller.
//! - Transient token endpoint failures (5xx, 429, no answer) are retried with the client's
//!   [`RetryPolicy`]; refusals (400/401: wrong credentials) are not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;
use reqwest::header::RETRY_AFTER;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::client::{error_text, read_body, transport_error, NxtPortError};
use super::retry::{parse_retry_after, RetryPolicy};
use cpu_contract::{OAuthError, Sensitive, TokenRequest, TokenResponse};

/// Scope of the password grant when none is configured: a refresh token with the access token.
pub const DEFAULT_SCOPE: &str = "offline_access";

/// Where and how to get tokens.
pub(crate) struct TokenEndpoint {
    pub http: reqwest::Client,
    pub url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub username: String,
    pub password: SecretString,
    pub scope: Option<String>,
    pub retry: RetryPolicy,
}

/// A cached access token.
pub(crate) struct BearerToken {
    access: SecretString,
    refresh: Option<SecretString>,
    refresh_at: Instant,
    expires_at: Instant,
    generation: u64,
}

impl BearerToken {
    /// The token, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        self.access.expose_secret()
    }
}

/// The cache (one per client).
pub(crate) struct TokenCache {
    endpoint: TokenEndpoint,
    current: RwLock<Option<Arc<BearerToken>>>,
    refresh_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

impl TokenCache {
    pub fn new(endpoint: TokenEndpoint) -> Self {
        Self {
            endpoint,
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// Token endpoint calls made so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn current(&self) -> Option<Arc<BearerToken>> {
        self.current.read().clone()
    }

    /// A token good to send now.
    pub async fn bearer(&self) -> Result<Arc<BearerToken>, NxtPortError> {
        if let Some(token) = self.current() {
            if Instant::now() < token.refresh_at {
                return Ok(token);
            }
        }
        let _guard = match self.refresh_lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Someone is refreshing. A token that has not expired yet is still good.
                if let Some(token) = self.current() {
                    if Instant::now() < token.expires_at {
                        return Ok(token);
                    }
                }
                self.refresh_lock.lock().await
            }
        };
        let previous = self.current();
        if let Some(token) = &previous {
            if Instant::now() < token.refresh_at {
                return Ok(Arc::clone(token));
            }
        }
        let refresh = previous.as_ref().and_then(|t| t.refresh.clone());
        let fresh = Arc::new(self.fetch(refresh).await?);
        *self.current.write() = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// NxtPort refused `token` (401): make the next [`Self::bearer`] fetch a new one, unless
    /// that already happened.
    pub fn invalidate(&self, token: &BearerToken) {
        let mut current = self.current.write();
        let stale = match current.as_ref() {
            Some(c) if c.generation == token.generation => Arc::clone(c),
            _ => return,
        };
        let now = Instant::now();
        *current = Some(Arc::new(BearerToken {
            access: stale.access.clone(),
            refresh: stale.refresh.clone(),
            refresh_at: now,
            expires_at: now,
            generation: stale.generation,
        }));
    }

    async fn fetch(&self, refresh: Option<SecretString>) -> Result<BearerToken, NxtPortError> {
        let e = &self.endpoint;
        if let Some(refresh) = refresh {
            let request = TokenRequest {
                grant_type: "refresh_token".into(),
                refresh_token: Some(Sensitive::new(refresh.expose_secret())),
                client_id: Some(e.client_id.clone()),
                client_secret: Some(Sensitive::new(e.client_secret.expose_secret())),
                ..TokenRequest::default()
            };
            match self.grant(&request).await {
                Ok(token) => return Ok(token),
                Err(NxtPortError::Token { status, error, .. }) => {
                    tracing::debug!(status, error = %error, "refresh token refused, using the password grant");
                }
                Err(other) => return Err(other),
            }
        }
        let request = TokenRequest {
            grant_type: "password".into(),
            username: Some(e.username.clone()),
            password: Some(Sensitive::new(e.password.expose_secret())),
            client_id: Some(e.client_id.clone()),
            client_secret: Some(Sensitive::new(e.client_secret.expose_secret())),
            // `offline_access` asks for a refresh token (NxtPort documents it), so a token is
            // renewed without sending the password again.
            scope: Some(e.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.to_owned())),
            refresh_token: None,
        };
        self.grant(&request).await
    }

    /// One grant, retried on transient failures.
    async fn grant(&self, request: &TokenRequest) -> Result<BearerToken, NxtPortError> {
        let e = &self.endpoint;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let sent_at = Instant::now();
            self.fetches.fetch_add(1, Ordering::Relaxed);
            let (error, retry_after) = match e.http.post(&e.url).form(request).send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    match read_body(response, &Method::POST, &e.url).await {
                        Ok(body) if status.is_success() => {
                            return self.accept(&body, status.as_u16(), sent_at);
                        }
                        Ok(body) => {
                            let (error, description) =
                                match serde_json::from_slice::<OAuthError>(&body) {
                                    Ok(oauth) => (oauth.error, oauth.error_description),
                                    Err(_) => (self.redact(&error_text(&body)), None),
                                };
                            let error = NxtPortError::Token {
                                status: status.as_u16(),
                                error: self.redact(&error),
                                description: description.map(|d| self.redact(&d)),
                            };
                            (error, retry_after)
                        }
                        Err(error) => (error, None),
                    }
                }
                Err(error) => (transport_error(Method::POST, &e.url, error), None),
            };
            if !error.is_transient() {
                return Err(error);
            }
            if attempts >= e.retry.max_attempts {
                return Err(if attempts > 1 {
                    NxtPortError::RetriesExhausted {
                        attempts,
                        last: Box::new(error),
                    }
                } else {
                    error
                });
            }
            tokio::time::sleep(e.retry.delay(attempts, retry_after)).await;
        }
    }

    fn accept(
        &self,
        body: &[u8],
        status: u16,
        sent_at: Instant,
    ) -> Result<BearerToken, NxtPortError> {
        let token: TokenResponse =
            serde_json::from_slice(body).map_err(|err| NxtPortError::Decode {
                method: Method::POST,
                path: self.endpoint.url.clone(),
                status,
                // serde's message names the field, never the value.
                message: err.to_string(),
            })?;
        let lifetime = Duration::from_secs(token.expires_in);
        let refresh_margin = (lifetime / 10).min(Duration::from_secs(60));
        let expiry_margin = (lifetime / 20).min(Duration::from_secs(5));
        Ok(BearerToken {
            access: SecretString::from(token.access_token.expose()),
            refresh: token.refresh_token.map(|r| SecretString::from(r.expose())),
            refresh_at: sent_at + lifetime - refresh_margin,
            expires_at: sent_at + lifetime - expiry_margin,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    /// Defence in depth: a token endpoint that echoes the form must not put a secret in an error.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in [&self.endpoint.password, &self.endpoint.client_secret] {
            let secret = secret.expose_secret();
            if !secret.is_empty() {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }
}

//! One call on the wire: token, budget slot, headers, retries (401 once, transient ones by the
//! retry policy, 429 pausing the key), the body read, the observer told.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::super::limiter::Priority;
use super::super::retry::parse_retry_after;
use super::errors::{error_text, read_body, transport_error};
use super::{CallEvent, CallOptions, NxtPortClient, NxtPortError, INTERACTIVE_BUDGET_WAIT};
use cpu_contract::{paths, ProblemDetails};

/// One prepared call, retried as a whole.
struct Call<'a> {
    method: Method,
    path: String,
    query: Option<String>,
    body: Option<bytes::Bytes>,
    options: &'a CallOptions,
    priority: Priority,
}

impl NxtPortClient {
    // ---- machinery -----------------------------------------------------------------------

    pub(super) async fn send<Q: Serialize, B: Serialize, T: DeserializeOwned>(
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
        let started = tokio::time::Instant::now();
        loop {
            attempts += 1;
            // Slot first, token second: a long wait for a slot must not outlive the token.
            // No slot, no call: when the shared budget cannot be consulted, a synchronous
            // caller hears it at once; background work retries with backoff.
            let budget_error = NxtPortError::Budget;
            let error = match call.priority {
                // The truck at the gate is answered within a bound: no slot in time is a 429
                // with Retry-After (the gateway's answer), not a hanging gate (a slot granted later stays unused: the
                // budget is never exceeded).
                Priority::Interactive => {
                    // One bound for the whole call, retries included.
                    match tokio::time::timeout(
                        INTERACTIVE_BUDGET_WAIT.saturating_sub(started.elapsed()),
                        inner.budget.acquire_slot(call.priority),
                    )
                    .await
                    {
                        Ok(Ok(slot)) => Ok(slot),
                        Ok(Err(e)) => Err(budget_error(e.to_string())),
                        Err(_) => Err(NxtPortError::BudgetSpent(format!(
                            "no slot in the NxtPort budget within {} s",
                            INTERACTIVE_BUDGET_WAIT.as_secs()
                        ))),
                    }
                }
                Priority::Background => match inner.budget.acquire_slot(call.priority).await {
                    Ok(slot) => Ok(slot),
                    Err(e) => Err(budget_error(e.to_string())),
                },
            };
            let slot = match error {
                Ok(slot) => slot,
                Err(error) => {
                    if call.priority == Priority::Interactive
                        || attempts >= inner.retry.max_attempts
                    {
                        return Err(error);
                    }
                    tokio::time::sleep(inner.retry.delay(attempts, None)).await;
                    continue;
                }
            };
            // An unsent call's slot is settled at once; a slot whose call never completes
            // (cancelled mid-send) keeps its hold.
            let token = match inner.tokens.bearer().await {
                Ok(token) => token,
                Err(e) => {
                    slot.settle();
                    return Err(e);
                }
            };
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
            if let Some(guard) = &call.options.before_send {
                if let Err(reason) = (guard.0)().await {
                    slot.settle();
                    return Err(NxtPortError::Transport {
                        method: call.method.clone(),
                        path: call.path.clone(),
                        message: format!("withdrawn before sending: {reason}"),
                        timeout: false,
                    });
                }
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
                    // The answer is in: the upstream stamped the call before now.
                    slot.settle();
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
                    // No answer: the upstream may still stamp the call later, so the slot
                    // keeps its hold (it is not settled).
                    drop(slot);
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
            // The gate is answered within a bound: a synchronous call does not sleep for a
            // retry past INTERACTIVE_BUDGET_WAIT from its start (a long Retry-After is then
            // the caller's to honour, not the truck's to wait out).
            if call.priority == Priority::Interactive
                && started.elapsed() + delay > INTERACTIVE_BUDGET_WAIT
            {
                return Err(if attempts == 1 {
                    error
                } else {
                    NxtPortError::RetriesExhausted {
                        attempts,
                        last: Box::new(error),
                    }
                });
            }
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

    /// The base URL's path followed by `path` (which starts with `/`), and the query. URLs
    /// without a query are kept per path (up to [`URL_CACHE_MAX`], then forgotten at once): a
    /// synchronous validation asks the same path every time, and building it re-parses and
    /// percent-encodes the path (about 3,800 instructions a call).
    pub(super) fn url(&self, path: &str, query: Option<&str>) -> reqwest::Url {
        if query.is_some() {
            return self.build_url(path, query);
        }
        let urls = &self.inner.urls;
        if let Some(url) = urls.get(path) {
            return url.clone();
        }
        let url = self.build_url(path, None);
        if urls.len() >= URL_CACHE_MAX {
            urls.clear();
        }
        urls.insert(path.to_owned(), url.clone());
        url
    }

    fn build_url(&self, path: &str, query: Option<&str>) -> reqwest::Url {
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
    pub(super) fn headers(&self, options: &CallOptions) -> Result<HeaderMap, NxtPortError> {
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

/// Most URLs a client keeps (paths of writes name a container: the cache is then cleared).
pub(super) const URL_CACHE_MAX: usize = 256;

/// `Ocp-Apim-Subscription-Key` (marked sensitive: never in `Debug` output) and `Accept`.
pub(super) fn static_headers(subscription_key: &SecretString) -> Result<HeaderMap, NxtPortError> {
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

//! [`NxtPortError`] (never a secret in it) and the helpers that read an answer into one.

use std::time::Duration;

use reqwest::Method;

use cpu_contract::ProblemDetails;

/// Largest response body read (a notification list can be long; anything bigger is an error).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Most of an error body kept in [`NxtPortError::Status`].
const MAX_ERROR_BODY_CHARS: usize = 2_000;

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
    /// The key's budget had no slot within a synchronous call's wait: nothing was sent. The
    /// budget is spent, as when NxtPort answers 429; trying later succeeds.
    #[error("NxtPort call budget spent: {0}")]
    BudgetSpent(String),
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
            | NxtPortError::BudgetSpent(_)
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
            NxtPortError::Transport { .. }
            | NxtPortError::Budget(_)
            | NxtPortError::BudgetSpent(_) => true,
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

//! The `/v1` API's single error envelope: `{"error": {"code", "message", "field"?}}`.
//!
//! `code` is a stable machine code from one enum, [`ErrorCode`], for every `/v1` route (the
//! gateway's and Data Sources'); `message` is for humans and names the field; `field` is the
//! JSON path of the offending input when there is one. 5xx bodies are opaque: the cause goes
//! to the log, never to the caller.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Every machine code of the `/v1` API's error envelope.
        // The wire text is the variant's name in snake_case (utoipa reads `rename_all`; the
        // test below checks that `as_str` agrees with serde for every code).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire text (`invalid_field`, ...).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    /// No or unknown bearer token.
    Unauthorized = "unauthorized",
    /// The token's role does not allow this.
    Forbidden = "forbidden",
    /// A field failed validation (`field` names it).
    InvalidField = "invalid_field",
    /// The body is not JSON or not the expected shape.
    MalformedJson = "malformed_json",
    /// The body is larger than the limit.
    PayloadTooLarge = "payload_too_large",
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type",
    /// The path exists, the method does not.
    MethodNotAllowed = "method_not_allowed",
    /// The request body did not arrive in time.
    RequestTimeout = "request_timeout",
    /// The query string does not parse.
    InvalidQuery = "invalid_query",
    /// The resource does not exist (or belongs to another entity).
    NotFound = "not_found",
    /// The entity has no NxtPort CPu connection.
    ConnectionMissing = "connection_missing",
    /// The entity's NxtPort CPu connection lacks a field.
    ConnectionIncomplete = "connection_incomplete",
    /// The caller is over its quota (`Retry-After`).
    RateLimited = "rate_limited",
    /// NxtPort rejected the request.
    UpstreamRejected = "upstream_rejected",
    /// NxtPort refused the entity's credentials.
    UpstreamAuthFailed = "upstream_auth_failed",
    /// NxtPort unreachable or failing after retries.
    UpstreamUnavailable = "upstream_unavailable",
    /// The shared NxtPort call budget cannot be reached (`Retry-After`).
    BudgetUnavailable = "budget_unavailable",
    /// The resource is not in a state that allows this action.
    Conflict = "conflict",
    /// The service is not ready (readiness).
    NotReady = "not_ready",
    /// Anything else (opaque).
    Internal = "internal",
    /// Data Sources: the `{terminal}` is not one of the six.
    UnknownTerminal = "unknown_terminal",
    /// Data Sources: the body is not a JSON object.
    InvalidBody = "invalid_body",
    /// Data Sources: a field that the terminal's form does not have.
    UnknownField = "unknown_field",
    /// Data Sources: a field of the wrong JSON type.
    InvalidType = "invalid_type",
    /// Data Sources: a field longer than allowed.
    TooLong = "too_long",
    /// Data Sources: a required field left blank.
    Blank = "blank",
    /// Data Sources: a field with control characters.
    InvalidCharacters = "invalid_characters",
    /// Data Sources: a required field left out.
    Required = "required",
    /// Data Sources: an application UUID that is not a UUID.
    InvalidUuid = "invalid_uuid",
    /// Data Sources: the terminal account is connected under another entity.
    CredentialsInUse = "credentials_in_use",
    /// Data Sources: the terminal is not connected for this entity.
    NotConnected = "not_connected",
    /// Data Sources: a sync of this connection is already running.
    SyncRunning = "sync_running",
    /// Data Sources: no webhook receiver with this id.
    UnknownWebhook = "unknown_webhook",
    /// Data Sources: the terminal sends no webhooks.
    NoWebhooks = "no_webhooks",
    /// Data Sources webhook: no `Authorization` or signature header.
    MissingSignature = "missing_signature",
    /// Data Sources webhook: the secret or signature does not match.
    InvalidSignature = "invalid_signature",
    /// Data Sources webhook: the signature's time is too far from now.
    StaleSignature = "stale_signature",
    /// Data Sources webhook: the body is not the documented `onRelease` body.
    InvalidWebhookBody = "invalid_webhook_body",
    /// Data Sources webhook: an event that is not documented.
    UnknownEvent = "unknown_event",
    /// Data Sources: the terminal takes no EDIFACT.
    NoEdifact = "no_edifact",
    /// Data Sources: the file is not a UN/EDIFACT interchange.
    InvalidSyntax = "invalid_syntax",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// Inside the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: ErrorCode,
    /// Human message.
    pub message: String,
    /// JSON path or parameter name of the offending input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Everything a gateway handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or unknown bearer token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// The token's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A field failed validation.
    #[error("{message}")]
    InvalidField {
        /// JSON path / parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Body is not JSON or not the expected shape (no single field to blame).
    #[error("{0}")]
    MalformedJson(String),
    /// Body larger than the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Not `application/json`.
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// The path exists, the method does not (the allowed ones, comma-separated, go to `Allow`).
    #[error("method not allowed on this path; allowed: {0}")]
    MethodNotAllowed(String),
    /// The request body did not arrive in time.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// The query string does not parse.
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    /// Resource does not exist (or belongs to another entity).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The entity has no CPu connection yet.
    #[error("no NxtPort connection configured for this entity; PUT /v1/connections/nxtport first")]
    ConnectionMissing,
    /// The entity's CPu connection lacks a field (it was saved before connections were
    /// checked for completeness).
    #[error("the entity's NxtPort connection is incomplete ({0}); PUT /v1/connections/nxtport with every field")]
    ConnectionIncomplete(crate::connection::Incomplete),
    /// Caller over its quota.
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// NxtPort rejected the request (4xx other than 401/429), with its explanation.
    #[error("NxtPort rejected the request ({status}): {detail}")]
    UpstreamRejected {
        /// Upstream status.
        status: u16,
        /// Upstream detail (ProblemDetails title/detail; never contains our secrets).
        detail: String,
    },
    /// NxtPort refused the entity's credentials.
    #[error("NxtPort refused the entity's credentials; check the connection")]
    UpstreamAuth,
    /// NxtPort unreachable or failing after retries.
    #[error("NxtPort is unavailable; retry later")]
    UpstreamUnavailable,
    /// The shared NxtPort budget (Redis) cannot be reached: no call goes out unbudgeted.
    #[error("the NxtPort call budget is unavailable; retry after {retry_after_secs} s")]
    BudgetUnavailable {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The key's NxtPort budget had no slot within a synchronous call's wait (nothing was
    /// sent): a 429 like NxtPort's own, with `Retry-After`.
    #[error("the NxtPort call budget of this subscription key is spent; retry after {retry_after_secs} s")]
    BudgetSpent {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The resource is not in a state that allows this action.
    #[error("{0}")]
    Conflict(String),
    /// Database not reachable (readiness).
    #[error("not ready")]
    NotReady,
    /// Not ready, and why (readiness).
    #[error("not ready: {0}")]
    NotReadyBecause(&'static str),
    /// Anything else: opaque to the caller, logged.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// Shorthand for a field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::InvalidField { .. } => ErrorCode::InvalidField,
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::ConnectionMissing => ErrorCode::ConnectionMissing,
            Self::ConnectionIncomplete(_) => ErrorCode::ConnectionIncomplete,
            Self::RateLimited { .. } | Self::BudgetSpent { .. } => ErrorCode::RateLimited,
            Self::UpstreamRejected { .. } => ErrorCode::UpstreamRejected,
            Self::UpstreamAuth => ErrorCode::UpstreamAuthFailed,
            Self::UpstreamUnavailable => ErrorCode::UpstreamUnavailable,
            Self::BudgetUnavailable { .. } => ErrorCode::BudgetUnavailable,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::NotReady | Self::NotReadyBecause(_) => ErrorCode::NotReady,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The envelope for this error.
    pub fn envelope(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code(),
                message: self.to_string(),
                field: match self {
                    Self::InvalidField { field, .. } => Some(field.clone()),
                    _ => None,
                },
            },
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::store::VaultError> for ApiError {
    fn from(e: crate::store::VaultError) -> Self {
        Self::Internal(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::InvalidField { .. } => StatusCode::BAD_REQUEST,
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ConnectionMissing => StatusCode::CONFLICT,
            Self::ConnectionIncomplete(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } | Self::BudgetSpent { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UpstreamRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UpstreamAuth => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::BudgetUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotReadyBecause(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if let Self::RateLimited { retry_after_secs }
        | Self::BudgetUnavailable { retry_after_secs }
        | Self::BudgetSpent { retry_after_secs } = self
        {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if matches!(self, Self::Unauthorized) {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::MethodNotAllowed(allow) = self {
            resp.insert_header((header::ALLOW, allow.as_str()));
        }
        if matches!(self, Self::RequestTimeout) {
            resp.insert_header((header::CONNECTION, "close"));
        }
        resp.json(self.envelope())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: &ApiError) -> serde_json::Value {
        let resp = e.error_response();
        let bytes = resp.into_body().try_into_bytes().expect("bytes");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn envelope_json_is_pinned() {
        let e = ApiError::field(
            "equipmentNumber",
            "equipment number: 'X' must be 11 characters",
        );
        assert_eq!(e.status_code(), 400);
        assert_eq!(
            body(&e),
            serde_json::json!({"error": {
                "code": "invalid_field",
                "message": "equipment number: 'X' must be 11 characters",
                "field": "equipmentNumber"
            }})
        );
        assert_eq!(
            body(&ApiError::Unauthorized),
            serde_json::json!({"error": {"code": "unauthorized", "message": "missing or invalid bearer token"}})
        );
    }

    #[test]
    fn codes_are_distinct_snake_case_and_serialise_as_their_text() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{text}"
            );
            assert_eq!(serde_json::to_value(code).expect("json"), text);
        }
    }

    #[test]
    fn internal_errors_are_opaque() {
        let e = ApiError::Internal(anyhow::anyhow!("password=hunter2 db exploded"));
        assert_eq!(e.status_code(), 500);
        let b = body(&e).to_string();
        assert!(!b.contains("hunter2") && !b.contains("exploded"), "{b}");
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let resp = ApiError::RateLimited {
            retry_after_secs: 3,
        }
        .error_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"3"[..])
        );
    }

    #[test]
    fn a_spent_nxtport_budget_is_a_429_with_retry_after() {
        let e = ApiError::BudgetSpent {
            retry_after_secs: 2,
        };
        assert_eq!(e.code(), ErrorCode::RateLimited);
        assert!(body(&e).to_string().contains("budget"), "{}", body(&e));
        let resp = e.error_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"2"[..])
        );
    }
}

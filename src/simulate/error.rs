//! The simulator's one error type: every refusal answers like NxtPort, as RFC 7807 ProblemDetails
//! sent as `application/json` (the content type NxtPort's OpenAPI documents for them).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use cpu_contract::{OAuthError, ProblemDetails};
use cpu_simulator::{QueryError, SimError};

/// Errors of the simulator's HTTP face.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or wrong credentials, or the role may not do this (NxtPort answers 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The notification belongs to another company.
    #[error("{0}")]
    Forbidden(String),
    /// Malformed request: the field and the problem.
    #[error("{detail}")]
    BadRequest {
        /// JSON field or parameter, when known.
        field: Option<String>,
        /// Human message.
        detail: String,
    },
    /// Unknown simulator resource (world, party, container) in the control API.
    #[error("{0}")]
    NotFound(String),
    /// `405 Invalid input` (notifications: nothing matched or bad filters; wrong method).
    #[error("{0}")]
    InvalidInput(String),
    /// The path exists, the method does not (the allowed ones go to `Allow`).
    #[error("method {method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// Allowed methods, comma-separated.
        allow: String,
    },
    /// Body larger than the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Over the calls-per-minute budget of the subscription key.
    #[error("rate limit is exceeded, try again in {0} seconds")]
    TooManyRequests(u64),
    /// Injected fault or unexpected failure; the body stays opaque.
    #[error("internal error")]
    Internal(u16),
    /// OAuth token endpoint error (RFC 6749 body).
    #[error("{}", .1.error)]
    OAuth(StatusCode, OAuthError),
    /// The ownership validation's documented 500 ("check your request body").
    #[error("{0}")]
    CheckRequestBody(String),
    /// Injected fault: the connection is cut mid-answer.
    #[error("connection dropped")]
    Dropped,
}

impl ApiError {
    /// A 400 naming a field.
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        match &e {
            SimError::UnknownCaller(_) | SimError::NotAllowed(_) => {
                ApiError::Unauthorized(e.to_string())
            }
            SimError::InvalidField { field, .. } | SimError::UnknownParty { field, .. } => {
                ApiError::field(*field, e.to_string())
            }
            SimError::InvalidState(_)
            | SimError::UnknownContainer(_)
            | SimError::ClockBackwards => ApiError::BadRequest {
                field: None,
                detail: e.to_string(),
            },
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::NotYours => ApiError::Forbidden(e.to_string()),
            QueryError::NoneMatch => ApiError::InvalidInput(e.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidInput(_) | ApiError::MethodNotAllowed { .. } => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(code) => {
                StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::OAuth(code, _) => *code,
            ApiError::CheckRequestBody(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Dropped => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut builder = HttpResponse::build(status);
        match self {
            ApiError::Dropped => {
                // A body stream that fails at once makes actix abort the connection.
                let failing = futures::stream::once(async {
                    Err::<actix_web::web::Bytes, std::io::Error>(std::io::Error::other(
                        "injected fault: connection dropped",
                    ))
                });
                return builder.streaming(failing);
            }
            ApiError::OAuth(_, body) => {
                return builder
                    .insert_header(("Cache-Control", "no-store"))
                    .json(body)
            }
            ApiError::TooManyRequests(secs) => {
                builder.insert_header(("Retry-After", secs.to_string()));
            }
            ApiError::Unauthorized(_) => {
                builder.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                builder.insert_header(("Allow", allow.as_str()));
            }
            _ => {}
        }
        let title = match self {
            ApiError::Unauthorized(_) => {
                "Unauthorized, role or scope forbids you from taking this action"
            }
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::BadRequest { .. } => "One or more validation errors occurred.",
            ApiError::NotFound(_) => "Not Found",
            ApiError::InvalidInput(_) => "Invalid input",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::PayloadTooLarge(_) => "Payload Too Large",
            ApiError::TooManyRequests(_) => "Too Many Requests",
            ApiError::Internal(_) => "Error accessing API",
            ApiError::CheckRequestBody(_) => "Something went wrong. Check your request body.",
            ApiError::OAuth(..) | ApiError::Dropped => "",
        };
        let detail = match self {
            // Opaque: the cause is in the log, not the body.
            ApiError::Internal(_) => "Error accessing API".to_owned(),
            other => other.to_string(),
        };
        let mut problem = ProblemDetails::new(status.as_u16(), title, detail);
        if let ApiError::BadRequest {
            field: Some(f),
            detail,
        } = self
        {
            problem = problem.with_field_error(f.clone(), detail.clone());
        }
        // NxtPort's OpenAPI documents its ProblemDetails as `application/json`.
        builder.content_type("application/json").json(problem)
    }
}

//! OAuth 2 (RFC 6749, snake_case fields): the token endpoint's form, answer and error.

use serde::{Deserialize, Serialize};

use crate::common::Sensitive;

/// Form body of `POST /connect/token`. `grant_type` stays text so that an unknown grant is
/// answered with RFC 6749 `unsupported_grant_type`, not a parse error.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// Resource owner (password grant).
    pub username: Option<String>,
    /// Resource owner's password (password grant).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Sensitive>,
    /// Client id.
    pub client_id: Option<String>,
    /// Client secret.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub client_secret: Option<Sensitive>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Refresh token (refresh_token grant).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub refresh_token: Option<Sensitive>,
}

/// 200 answer of the token endpoint.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// The bearer token.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub access_token: Sensitive,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Token for the refresh_token grant.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub refresh_token: Option<Sensitive>,
    /// Granted scopes.
    pub scope: Option<String>,
}

/// Error answer of the token endpoint (RFC 6749 section 5.2).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`.
    pub error: String,
    /// Human text.
    pub error_description: Option<String>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            error_description: Some(description.into()),
        }
    }
}

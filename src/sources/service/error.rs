//! What a Data Sources operation fails with (never holds a secret).

use super::super::catalogue::Terminal;
use crate::api::ErrorCode;
use crate::store::vault::VaultError;
use crate::store::StoreError;

/// What went wrong, for the HTTP face to map (never holds a secret).
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("unknown terminal '{0}' (expected psa, dpworld, mpet, tmining, ect or nxtport)")]
    UnknownTerminal(String),
    #[error("{message}")]
    Invalid {
        code: ErrorCode,
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0} is not connected for this entity")]
    NotConnected(&'static str),
    #[error("a sync of {0} is already running")]
    SyncRunning(&'static str),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for SourcesError {
    fn from(e: StoreError) -> Self {
        SourcesError::Internal(Box::new(e))
    }
}
impl From<VaultError> for SourcesError {
    fn from(e: VaultError) -> Self {
        SourcesError::Internal(Box::new(e))
    }
}

impl SourcesError {
    /// Stable machine code (the `/v1` envelope's).
    pub fn code(&self) -> ErrorCode {
        match self {
            SourcesError::UnknownTerminal(_) => ErrorCode::UnknownTerminal,
            SourcesError::Invalid { code, .. } => *code,
            SourcesError::Conflict(_) => ErrorCode::CredentialsInUse,
            SourcesError::NotConnected(_) => ErrorCode::NotConnected,
            SourcesError::SyncRunning(_) => ErrorCode::SyncRunning,
            SourcesError::Internal(_) => ErrorCode::Internal,
        }
    }
    pub(crate) fn invalid(code: ErrorCode, field: &str, message: String) -> Self {
        SourcesError::Invalid {
            code,
            field: Some(field.to_string()),
            message,
        }
    }
}

/// Parse the `{terminal}` path segment.
pub fn parse_terminal(s: &str) -> Result<Terminal, SourcesError> {
    Terminal::parse(s).ok_or_else(|| SourcesError::UnknownTerminal(s.chars().take(40).collect()))
}

//! RFC 7807 problem details, as ASP.NET (and so NxtPort and the simulator) writes errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// RFC 7807 error body as ASP.NET writes it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// URI of the problem type.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Short summary.
    #[serde(default)]
    pub title: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// What went wrong, naming the field.
    #[serde(default)]
    pub detail: String,
    /// The request path.
    pub instance: Option<String>,
    /// Validation errors: field -> messages.
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// Correlation id.
    pub trace_id: Option<String>,
}

impl ProblemDetails {
    /// A problem with the RFC 9110 section URI of its status as `type`.
    pub fn new(status: u16, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            type_: status_type_uri(status).to_owned(),
            title: title.into(),
            status,
            detail: detail.into(),
            instance: None,
            errors: None,
            trace_id: None,
        }
    }

    /// Add a validation error for `field`.
    pub fn with_field_error(
        mut self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        self.errors
            .get_or_insert_with(BTreeMap::new)
            .entry(field.into())
            .or_default()
            .push(message.into());
        self
    }

    /// Set `instance`.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
}

/// The `type` URI ASP.NET uses for a status (RFC 9110 sections).
pub fn status_type_uri(status: u16) -> &'static str {
    match status {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        403 => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
        404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        405 => "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        415 => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        422 => "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        500 => "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => "about:blank",
    }
}

//! Pieces every body uses: the redacted [`Sensitive`] string, the party [`Identification`],
//! the 202 [`AcceptedResponse`] of every asynchronous call, and `null_as_default` for
//! ASP.NET's `null` collections.

use serde::{Deserialize, Deserializer, Serialize};

use crate::enums::IdentificationType;

/// A string that must not be printed: `Debug` and `Display` show `[REDACTED]`. Serialized as the
/// plain string (it has to travel on the wire); read it with [`Sensitive::expose`].
/// Fields of this type carry `#[cfg_attr(feature = "openapi", schema(value_type = String))]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where it is sent or compared.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl std::fmt::Display for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Sensitive {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// `null` or missing -> `T::default()`; used for response collections and strings.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A party identified by a type and a code (`carrier`, `transportOperator`, `releaseFrom`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Identification {
    /// How the party is identified.
    pub identification_type: IdentificationType,
    /// The identifier of that type.
    pub identification_code: String,
}

/// 202 answer of every asynchronous call (NxtPort `BaseApiResponse`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcceptedResponse {
    /// GUID that the notifications answering this call will carry.
    pub public_reference_id: String,
    /// Echo of the caller's `External-Reference-Id`.
    pub external_reference_id: Option<String>,
}

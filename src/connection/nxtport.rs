//! The NxtPort CPu connection: every field the gateway needs to call CPu for an entity.

use cpu_simulator::{TerminalCode, UnLocode};
use serde::{Deserialize, Serialize};

use super::text::{Identifier, IngestionId};

/// Port assumed when a connection names none: CPu serves Antwerp (docs/ASSUMPTIONS.md).
pub const DEFAULT_PORT: &str = "BEANR";

/// The non-secret fields of an entity's NxtPort CPu connection, all present and well formed.
/// Its secrets (see [`super::secret::NXTPORT`]) are stored beside it, encrypted.
///
/// Serialised (camelCase) it is the record's `public_fields` in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NxtPortConnection {
    /// OAuth client id (the software vendor's, from NxtPort support).
    pub client_id: Identifier,
    /// NxtPort user (the customer's account).
    pub username: Identifier,
    /// Ingestion id for terminal events (environment specific).
    pub ingestion_id: IngestionId,
    /// The terminal's own code as given to NxtPort.
    pub terminal_code: TerminalCode,
    /// UN/LOCODE of the operational port.
    pub port_lo_code: UnLocode,
}

/// A stored or submitted connection that lacks a field or has a malformed one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Incomplete {
    /// JSON name of the field (`ingestionId`, `terminalCode`, ...).
    pub field: &'static str,
    /// What is wrong, naming the field.
    pub message: String,
}

impl NxtPortConnection {
    /// JSON names of the required fields, in form order.
    pub const REQUIRED: [&'static str; 4] = ["clientId", "username", "ingestionId", "terminalCode"];

    /// Read the connection from its JSON fields (as stored, or as a Data Sources form gave
    /// them). `portLoCode` may be absent ([`DEFAULT_PORT`]); every other field must be there.
    pub fn from_public(fields: &serde_json::Value) -> Result<Self, Incomplete> {
        let text = |field: &'static str| -> Result<Option<&str>, Incomplete> {
            match fields.get(field) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Incomplete {
                    field,
                    message: format!("{field} must be a string"),
                }),
            }
        };
        let required = |field: &'static str| -> Result<&str, Incomplete> {
            text(field)?.ok_or_else(|| Incomplete {
                field,
                message: format!("{field} is required for a NxtPort CPu connection"),
            })
        };
        fn parsed<T>(
            field: &'static str,
            r: Result<T, impl std::fmt::Display>,
        ) -> Result<T, Incomplete> {
            r.map_err(|e| Incomplete {
                field,
                message: format!("{field}: {e}"),
            })
        }
        Ok(Self {
            client_id: parsed("clientId", Identifier::parse(required("clientId")?))?,
            username: parsed("username", Identifier::parse(required("username")?))?,
            ingestion_id: parsed("ingestionId", IngestionId::parse(required("ingestionId")?))?,
            terminal_code: parsed(
                "terminalCode",
                TerminalCode::parse(required("terminalCode")?),
            )?,
            port_lo_code: parsed(
                "portLoCode",
                UnLocode::parse(text("portLoCode")?.unwrap_or(DEFAULT_PORT)),
            )?,
        })
    }

    /// The JSON fields to store.
    pub fn to_public(&self) -> serde_json::Value {
        serde_json::json!({
            "clientId": self.client_id.as_str(),
            "username": self.username.as_str(),
            "ingestionId": self.ingestion_id.as_str(),
            "terminalCode": self.terminal_code.as_str(),
            "portLoCode": self.port_lo_code.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> serde_json::Value {
        json!({"clientId": "c", "username": "u", "ingestionId": "ing-1", "terminalCode": "869", "portLoCode": "BEANR"})
    }

    #[test]
    fn a_complete_record_round_trips() {
        let c = NxtPortConnection::from_public(&full()).expect("complete");
        assert_eq!(c.to_public(), full());
        assert_eq!(
            serde_json::to_value(&c).expect("json"),
            full(),
            "the serde shape is the stored shape"
        );
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in NxtPortConnection::REQUIRED {
            for blank in [serde_json::Value::Null, json!(""), json!("  ")] {
                let mut v = full();
                v[field] = blank;
                assert_eq!(
                    NxtPortConnection::from_public(&v).expect_err(field).field,
                    field
                );
            }
            let mut v = full();
            v.as_object_mut().expect("object").remove(field);
            assert_eq!(
                NxtPortConnection::from_public(&v).expect_err(field).field,
                field
            );
        }
    }

    #[test]
    fn the_port_defaults_to_antwerp_and_bad_values_are_named() {
        let mut v = full();
        v.as_object_mut().expect("object").remove("portLoCode");
        let c = NxtPortConnection::from_public(&v).expect("default port");
        assert_eq!(c.port_lo_code.as_str(), DEFAULT_PORT);
        v["portLoCode"] = json!("XX");
        assert_eq!(
            NxtPortConnection::from_public(&v)
                .expect_err("locode")
                .field,
            "portLoCode"
        );
        let mut v = full();
        v["ingestionId"] = json!("a b");
        assert_eq!(
            NxtPortConnection::from_public(&v).expect_err("id").field,
            "ingestionId"
        );
        let mut v = full();
        v["terminalCode"] = json!(869);
        assert_eq!(
            NxtPortConnection::from_public(&v).expect_err("type").field,
            "terminalCode"
        );
    }
}

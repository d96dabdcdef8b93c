//! Parties of the CPu world (companies with a role) and the fixtures that create them.
//!
//! A party carries its demo credentials: this is a sandbox, and QA needs them to act as that party.
//! The default world is deterministic (same ids and passwords every start, so the README can show
//! them); [`Fixture::fresh_credentials`] gives an isolated world its own credentials.

use crate::ids::{AlfapassNumber, NxtEntityId, ParseError, TerminalCode};
use serde::{Deserialize, Serialize};

/// Role of a party in CPu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Submits the commercial release; data provider.
    ShippingAgent,
    /// Forwarder / consignee / BCO: receives, accepts, declines and transfers release rights.
    ReleaseParty,
    /// Truck, barge or rail operator (or inland terminal): assigns the pickup.
    TransportOperator,
    /// Deep-sea terminal: discharge, gate in/out, terminal release; data provider.
    TerminalOperator,
    /// Customs (CCRM): sets the customs light.
    Customs,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Self::ShippingAgent,
        Self::ReleaseParty,
        Self::TransportOperator,
        Self::TerminalOperator,
        Self::Customs,
    ];
}

/// How a transport operator moves containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransportMode {
    /// Road; drivers identified by Alfapass.
    Truck,
    /// Inland waterway.
    Barge,
    /// Rail.
    Rail,
}

impl TransportMode {
    /// The operator kind a validation's `meansOfTransport` asks for (`Unknown`: any).
    pub fn of(mode: ModeOfTransport) -> Option<Self> {
        match mode {
            ModeOfTransport::Truck => Some(Self::Truck),
            ModeOfTransport::Barge => Some(Self::Barge),
            ModeOfTransport::Rail => Some(Self::Rail),
            ModeOfTransport::Unknown => None,
        }
    }
}

/// A postal address in the company registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Address {
    /// e.g. "Main".
    #[serde(default)]
    pub address_type_code: Option<String>,
    /// Street and number.
    #[serde(default)]
    pub street: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// ISO country code.
    #[serde(default)]
    pub country: Option<String>,
}

/// Demo credentials of a party (OAuth password grant + subscription key). Each may be left out
/// of a fixture for an isolated world, which generates its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Credentials {
    /// OAuth username.
    pub username: String,
    /// OAuth password.
    pub password: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API (subscription) key, bound to this party's company.
    pub subscription_key: String,
}

/// A company in the world. (Credentials are flattened, so unknown fields cannot be denied here.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    /// Short handle used by scenarios and the control API (`psa`, `agent`, ...).
    pub key: String,
    /// Role in CPu.
    pub role: Role,
    /// For transport operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_mode: Option<TransportMode>,
    /// NxtPort id.
    pub nxt_entity_id: NxtEntityId,
    /// Company name.
    pub name: String,
    /// Demo credentials.
    #[serde(flatten)]
    pub credentials: Credentials,
    /// Terminal operators: terminal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_code: Option<TerminalCode>,
    /// Terminal operators: ingestion id (GUID in the ingestion path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingestion_id: Option<uuid::Uuid>,
    /// Truck operators: Alfapass numbers of their drivers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alfapass_numbers: Vec<AlfapassNumber>,
    /// EORI number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// VAT number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<String>,
    /// DUNS number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duns: Option<String>,
    /// TIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tin: Option<String>,
    /// SCAC code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scac: Option<String>,
    /// APCS code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apcs_code: Option<String>,
    /// Addresses for the registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
}

pub use cpu_contract::IdentificationType;
use cpu_contract::ModeOfTransport;

impl Party {
    /// Whether `code` identifies this party under `kind`.
    pub fn matches(&self, kind: IdentificationType, code: &str) -> bool {
        let code = code.trim();
        let eq = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(code));
        match kind {
            IdentificationType::NxtEntityId | IdentificationType::ExternalId => {
                self.nxt_entity_id.as_str().eq_ignore_ascii_case(code)
            }
            IdentificationType::Tin => eq(&self.tin) || eq(&self.vat),
            IdentificationType::Eori => eq(&self.eori),
            IdentificationType::Duns => eq(&self.duns),
            IdentificationType::Scac => eq(&self.scac),
            IdentificationType::Apcs => eq(&self.apcs_code),
            // An Alfapass names a truck driver, never a company.
            IdentificationType::Alfapass => false,
        }
    }
}

/// The parties a world starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    /// The parties.
    pub parties: Vec<Party>,
}

/// A fixture that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    /// Two parties share a key, entity id, username, client id or subscription key.
    #[error("duplicate {what} '{value}' in fixture")]
    Duplicate {
        /// Which field.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A field is missing for the party's role.
    #[error("party '{key}': {message}")]
    Invalid {
        /// Party key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A value could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl Fixture {
    /// Check uniqueness and role requirements.
    pub fn validate(&self) -> Result<(), FixtureError> {
        use std::collections::HashSet;
        let mut seen: HashSet<(&'static str, String)> = HashSet::new();
        for p in &self.parties {
            for (what, value) in [
                ("key", p.key.clone()),
                ("nxtEntityId", p.nxt_entity_id.as_str().to_owned()),
                ("username", p.credentials.username.clone()),
                ("clientId", p.credentials.client_id.clone()),
                ("subscriptionKey", p.credentials.subscription_key.clone()),
            ] {
                if !seen.insert((what, value.clone())) {
                    return Err(FixtureError::Duplicate { what, value });
                }
            }
            for a in &p.alfapass_numbers {
                if !seen.insert(("alfapassNumber", a.as_str().to_owned())) {
                    return Err(FixtureError::Duplicate {
                        what: "alfapassNumber",
                        value: a.as_str().to_owned(),
                    });
                }
            }
            let invalid = |message: &str| FixtureError::Invalid {
                key: p.key.clone(),
                message: message.to_owned(),
            };
            match p.role {
                Role::TerminalOperator if p.terminal_code.is_none() || p.ingestion_id.is_none() => {
                    return Err(invalid(
                        "a terminal operator needs terminalCode and ingestionId",
                    ));
                }
                Role::TransportOperator if p.transport_mode.is_none() => {
                    return Err(invalid("a transport operator needs transportMode"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The default world: two terminals (PSA 869 and DP World 1700), a shipping agent, a forwarder,
    /// two truck operators with Alfapass numbers, a barge and a rail operator, and customs.
    /// Deterministic: the same ids and demo credentials every time.
    pub fn default_world() -> Fixture {
        let rows = [
            (
                "psa",
                Role::TerminalOperator,
                None,
                "NXT20000000869",
                "PSA Antwerp",
                Some("869"),
                "",
                "BE0000000869",
            ),
            (
                "dpworld",
                Role::TerminalOperator,
                None,
                "NXT20000001700",
                "DP World Antwerp Gateway",
                Some("1700"),
                "",
                "BE0000001700",
            ),
            (
                "agent",
                Role::ShippingAgent,
                None,
                "NXT10000000001",
                "Scheldt Shipping Agency NV",
                None,
                "",
                "BE0100000001",
            ),
            (
                "forwarder",
                Role::ReleaseParty,
                None,
                "NXT30000000001",
                "Kempen Forwarding BV",
                None,
                "",
                "BE0300000001",
            ),
            (
                "trucker",
                Role::TransportOperator,
                Some(TransportMode::Truck),
                "NXT40000000001",
                "Antwerp Haulage NV",
                None,
                "AP1000001,AP1000002",
                "BE0400000001",
            ),
            (
                "trucker2",
                Role::TransportOperator,
                Some(TransportMode::Truck),
                "NXT40000000002",
                "Noordzee Trucking BV",
                None,
                "AP2000001",
                "BE0400000002",
            ),
            (
                "barge",
                Role::TransportOperator,
                Some(TransportMode::Barge),
                "NXT50000000001",
                "Rhine Barge Lines",
                None,
                "",
                "BE0500000001",
            ),
            (
                "rail",
                Role::TransportOperator,
                Some(TransportMode::Rail),
                "NXT60000000001",
                "Lineas Rail",
                None,
                "",
                "BE0600000001",
            ),
            (
                "customs",
                Role::Customs,
                None,
                "NXT90000000001",
                "Belgian Customs (CCRM)",
                None,
                "",
                "BE0900000001",
            ),
        ];
        let parties = rows
            .into_iter()
            .enumerate()
            .map(
                |(i, (key, role, mode, id, name, terminal, alfapass, vat))| Party {
                    key: key.to_owned(),
                    role,
                    transport_mode: mode,
                    nxt_entity_id: NxtEntityId::parse(id).unwrap_or_else(|_| unreachable!()),
                    name: name.to_owned(),
                    credentials: Credentials {
                        username: format!("{key}@sim.cpu.local"),
                        password: format!("{key}-demo-password"),
                        client_id: format!("{key}-client"),
                        client_secret: format!("{key}-client-secret"),
                        subscription_key: format!("{key}-subscription-key"),
                    },
                    terminal_code: terminal
                        .map(|t| TerminalCode::parse(t).unwrap_or_else(|_| unreachable!())),
                    ingestion_id: terminal.map(|_| {
                        uuid::Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + i as u128)
                    }),
                    alfapass_numbers: alfapass
                        .split(',')
                        .filter(|a| !a.is_empty())
                        .map(|a| AlfapassNumber::parse(a).unwrap_or_else(|_| unreachable!()))
                        .collect(),
                    eori: Some(format!("BE{}", &vat[2..])),
                    vat: Some(vat.to_owned()),
                    duns: Some(format!("{:09}", 100_000_000 + i * 7_919)),
                    tin: None,
                    scac: (role == Role::TransportOperator)
                        .then(|| format!("{}X", key[..3].to_ascii_uppercase())),
                    apcs_code: Some(format!("APCS{:03}", i + 1)),
                    addresses: vec![Address {
                        address_type_code: Some("Main".to_owned()),
                        street: Some(format!("Havenweg {}", i + 1)),
                        postal_code: Some("2030".to_owned()),
                        city: Some("Antwerpen".to_owned()),
                        country: Some("BE".to_owned()),
                    }],
                },
            )
            .collect();
        Fixture { parties }
    }

    /// The same parties with new random credentials and ingestion ids (for isolated worlds).
    pub fn fresh_credentials(mut self) -> Fixture {
        for p in &mut self.parties {
            let tag = uuid::Uuid::new_v4().simple().to_string();
            p.credentials = Credentials {
                username: format!("{}+{}@sim.cpu.local", p.key, &tag[..8]),
                password: format!("pw-{}", &tag[8..24]),
                client_id: format!("{}-client-{}", p.key, &tag[..8]),
                client_secret: format!("cs-{}", &tag[16..]),
                subscription_key: uuid::Uuid::new_v4().simple().to_string(),
            };
            if p.ingestion_id.is_some() {
                p.ingestion_id = Some(uuid::Uuid::new_v4());
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_is_valid() {
        let f = Fixture::default_world();
        f.validate().unwrap();
        assert!(f
            .parties
            .iter()
            .any(|p| p.terminal_code.as_ref().map(|t| t.as_str()) == Some("869")));
        assert!(f
            .parties
            .iter()
            .any(|p| p.terminal_code.as_ref().map(|t| t.as_str()) == Some("1700")));
        for role in Role::ALL {
            assert!(f.parties.iter().any(|p| p.role == role), "{role:?}");
        }
        f.clone().fresh_credentials().validate().unwrap();
        assert_ne!(
            f.clone().fresh_credentials().parties[0].credentials,
            f.parties[0].credentials
        );
    }

    #[test]
    fn duplicates_rejected() {
        let mut f = Fixture::default_world();
        f.parties[1].credentials.username = f.parties[0].credentials.username.clone();
        assert!(matches!(
            f.validate(),
            Err(FixtureError::Duplicate {
                what: "username",
                ..
            })
        ));
    }

    #[test]
    fn fixture_json_round_trip() {
        let f = Fixture::default_world();
        let json = serde_json::to_string(&f).unwrap();
        let back: Fixture = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert!(serde_json::from_str::<Fixture>(r#"{"parties":[],"x":1}"#).is_err());
    }
}

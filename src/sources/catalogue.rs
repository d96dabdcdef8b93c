//! The terminal catalogue: the six terminals a Data Source can connect to, as pure data.
//!
//! Everything the console needs to draw a connect form comes from here: region, authentication
//! type, form fields (which are secret, which are required), description and default sync
//! interval. Nothing in this module does I/O; the API and the adapters read it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::connection::secret as names;

pub use crate::terminals::Terminal;

/// Where a terminal sits in the console's grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Region {
    #[serde(rename = "Belgium - Antwerp")]
    BelgiumAntwerp,
    #[serde(rename = "Netherlands - Rotterdam")]
    NetherlandsRotterdam,
    #[serde(rename = "additional")]
    Additional,
}

/// How a terminal authenticates; decides the form fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    UsernamePassword,
    UuidToken,
    OauthClientCredentials,
    OauthPasswordApiKey,
}

/// The value type of a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Boolean,
}

/// One field of a connect form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    /// JSON key in `PUT /v1/data-sources/{terminal}`.
    pub name: &'static str,
    /// Label shown in the connect modal.
    pub label: &'static str,
    /// Write-only: encrypted at rest, never returned.
    pub secret: bool,
    pub required: bool,
    #[serde(rename = "type")]
    pub field_type: FieldType,
}

const fn text(name: &'static str, label: &'static str) -> FormField {
    FormField {
        name,
        label,
        secret: false,
        required: true,
        field_type: FieldType::String,
    }
}
const fn secret(name: &'static str, label: &'static str) -> FormField {
    FormField {
        name,
        label,
        secret: true,
        required: true,
        field_type: FieldType::String,
    }
}

const USERNAME_PASSWORD: &[FormField] = &[
    text("username", "Username"),
    secret(names::PASSWORD, "Password"),
];
const UUID_TOKEN: &[FormField] = &[
    text("uuid", "Application UUID"),
    secret(names::TOKEN, "API Token"),
];
const OAUTH_CLIENT_CREDENTIALS: &[FormField] = &[
    text("clientId", "Client ID"),
    secret(names::CLIENT_SECRET, "Client Secret"),
    secret(names::SUBSCRIPTION_KEY, "Subscription Key"),
    FormField {
        name: "extendedPermissions",
        label: "Extended Permissions",
        secret: false,
        required: false,
        field_type: FieldType::Boolean,
    },
];
/// NxtPort CPu: the fields of [`crate::connection::NxtPortConnection`] and its secrets, so a
/// connection made here is as complete as one made with `PUT /v1/connections/nxtport`.
const OAUTH_PASSWORD_API_KEY: &[FormField] = &[
    text("clientId", "Client ID"),
    secret(names::CLIENT_SECRET, "Client Secret"),
    text("username", "Username"),
    secret(names::PASSWORD, "Password"),
    secret(names::API_KEY, "API Key"),
    text("ingestionId", "Ingestion ID"),
    text("terminalCode", "Terminal Code"),
    FormField {
        name: "portLoCode",
        label: "Port (UN/LOCODE, default BEANR)",
        secret: false,
        required: false,
        field_type: FieldType::String,
    },
];

impl AuthType {
    /// The connect form of this authentication type, in display order.
    pub fn fields(self) -> &'static [FormField] {
        match self {
            AuthType::UsernamePassword => USERNAME_PASSWORD,
            AuthType::UuidToken => UUID_TOKEN,
            AuthType::OauthClientCredentials => OAUTH_CLIENT_CREDENTIALS,
            AuthType::OauthPasswordApiKey => OAUTH_PASSWORD_API_KEY,
        }
    }

    /// The field whose value is shown as the connection's identifier (username, UUID or client id).
    pub fn identifier_field(self) -> &'static str {
        match self {
            AuthType::UsernamePassword => "username",
            AuthType::UuidToken => "uuid",
            AuthType::OauthClientCredentials => "clientId",
            // NxtPort's client id is the software vendor's, shared by its customers: the
            // customer's account is the username (NxtPort's authentication guide).
            AuthType::OauthPasswordApiKey => "username",
        }
    }
}

/// The static description of one terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalInfo {
    pub terminal: Terminal,
    pub name: &'static str,
    pub region: Region,
    pub auth_type: AuthType,
    pub description: &'static str,
    /// Terminal codes (quays) this source covers, for display.
    pub terminal_codes: &'static [&'static str],
}

/// Default interval between two background syncs of a connection (the seed says 4-6 h).
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(4 * 3600);

const CATALOGUE: [TerminalInfo; 6] = [
    TerminalInfo {
        terminal: Terminal::Psa,
        name: "PSA E-Portal",
        region: Region::BelgiumAntwerp,
        auth_type: AuthType::UsernamePassword,
        description: "Terminal events for PSA (869, 913)",
        terminal_codes: &["869", "913"],
    },
    TerminalInfo {
        terminal: Terminal::Dpworld,
        name: "DP World E-Portal",
        region: Region::BelgiumAntwerp,
        auth_type: AuthType::UsernamePassword,
        description: "Terminal events for DP World (1700)",
        terminal_codes: &["1700"],
    },
    TerminalInfo {
        terminal: Terminal::Mpet,
        name: "MPET Connect",
        region: Region::BelgiumAntwerp,
        auth_type: AuthType::UuidToken,
        description: "Terminal events for MPET (1742)",
        terminal_codes: &["1742"],
    },
    TerminalInfo {
        terminal: Terminal::Tmining,
        name: "T-Mining SRC",
        region: Region::BelgiumAntwerp,
        auth_type: AuthType::UsernamePassword,
        description: "Secure container release",
        terminal_codes: &[],
    },
    TerminalInfo {
        terminal: Terminal::Ect,
        name: "ECT MyTerminal",
        region: Region::NetherlandsRotterdam,
        auth_type: AuthType::OauthClientCredentials,
        description: "Requires paid subscription + extended permissions option",
        terminal_codes: &["ECTDELTA", "EUROMAX"],
    },
    TerminalInfo {
        terminal: Terminal::Nxtport,
        name: "NxtPort CPU",
        region: Region::Additional,
        auth_type: AuthType::OauthPasswordApiKey,
        description: "Certified Pick Up (Antwerp)",
        terminal_codes: &[],
    },
];

impl Terminal {
    pub fn info(self) -> &'static TerminalInfo {
        // CATALOGUE is in the order of Terminal::ALL; the test below pins it.
        &CATALOGUE[self as usize]
    }

    pub fn auth_type(self) -> AuthType {
        self.info().auth_type
    }
}

/// The whole catalogue in display order.
pub fn catalogue() -> &'static [TerminalInfo] {
    &CATALOGUE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_indexed_by_terminal() {
        for t in Terminal::ALL {
            assert_eq!(t.info().terminal, t);
            assert_eq!(Terminal::parse(t.as_str()), Some(t));
        }
        assert_eq!(Terminal::parse(" PSA "), Some(Terminal::Psa));
        assert_eq!(Terminal::parse("hutchison"), None);
    }

    #[test]
    fn every_auth_type_has_a_required_identifier_and_a_secret() {
        for t in Terminal::ALL {
            let at = t.auth_type();
            let id = at.identifier_field();
            let f = at
                .fields()
                .iter()
                .find(|f| f.name == id)
                .expect("identifier field");
            assert!(f.required && !f.secret);
            assert!(at.fields().iter().any(|f| f.secret && f.required));
        }
    }

    #[test]
    fn seed_auth_types() {
        use AuthType::*;
        let got: Vec<_> = Terminal::ALL.iter().map(|t| t.auth_type()).collect();
        assert_eq!(
            got,
            [
                UsernamePassword,
                UsernamePassword,
                UuidToken,
                UsernamePassword,
                OauthClientCredentials,
                OauthPasswordApiKey
            ]
        );
    }
}

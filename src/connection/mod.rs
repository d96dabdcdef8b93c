//! The connection model: what a stored terminal connection is, below everything that uses one.
//!
//! The vault stores a connection as a kind (`nxtport`, `datasource:<terminal>`), its non-secret
//! fields as JSON and its secrets encrypted by name. This module names those kinds and secrets
//! and types the NxtPort CPu connection, so the gateway (`PUT /v1/connections/nxtport`, the
//! delivery worker, the upstream clients), Data Sources (NxtPort CPu shares the same record)
//! and the store agree on one shape, and an incomplete record is caught when it is read, not
//! when NxtPort is called with an empty ingestion id.
//!
//! Design constraint: this module depends on serde and the simulator core's id newtypes only;
//! never on the gateway, Data Sources, the store or HTTP.

mod nxtport;
mod text;

pub use nxtport::{Incomplete, NxtPortConnection, DEFAULT_PORT};
pub(crate) use text::text_type;
pub use text::{bounded, Identifier, IngestionId};

/// Vault kind of the entity's NxtPort CPu connection, shared by `PUT /v1/connections/nxtport`
/// and the Data Sources terminal `nxtport`.
pub const NXTPORT_KIND: &str = "nxtport";

/// Prefix of the vault kind of every other Data Sources terminal (`datasource:psa`, ...).
pub const DATASOURCE_KIND_PREFIX: &str = "datasource:";

/// The vault kind of a Data Sources terminal by its wire name (`nxtport` shares the gateway's).
pub fn vault_kind(terminal: &str) -> String {
    if terminal == NXTPORT_KIND {
        NXTPORT_KIND.to_owned()
    } else {
        format!("{DATASOURCE_KIND_PREFIX}{terminal}")
    }
}

/// The names under which secrets are stored (write-only; also their JSON keys in requests).
pub mod secret {
    /// OAuth client secret (NxtPort, ECT).
    pub const CLIENT_SECRET: &str = "clientSecret";
    /// A user's password (NxtPort, PSA, DP World, T-Mining).
    pub const PASSWORD: &str = "password";
    /// NxtPort's API (subscription) key.
    pub const API_KEY: &str = "apiKey";
    /// An API token (MPET).
    pub const TOKEN: &str = "token";
    /// An API management subscription key (ECT).
    pub const SUBSCRIPTION_KEY: &str = "subscriptionKey";
    /// The secrets of the NxtPort CPu connection, all required when it is created.
    pub const NXTPORT: [&str; 3] = [CLIENT_SECRET, PASSWORD, API_KEY];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_kinds() {
        assert_eq!(vault_kind("nxtport"), "nxtport");
        assert_eq!(vault_kind("psa"), "datasource:psa");
    }
}

//! [`NxtPortClients`]: the one place a process gets its [`NxtPortClient`]s from, so every
//! feature that calls NxtPort with a subscription key (the gateway's writes and synchronous
//! calls, the Data Sources NxtPort CPu source) shares one budget per key (in-process or Redis),
//! one token cache per account and the one [`RetryPolicy`].
//!
//! Clients are cached by their URLs and a SHA-256 fingerprint of the credentials: the same
//! account asked for twice gets the same client (its token survives), changed credentials get a
//! new client. The budget comes from the shared [`BudgetRegistry`], keyed by the subscription
//! key alone, so even two clients of one key (say after a password change) draw from one budget.
//! Clients unused for [`IDLE_EVICTION`] are dropped.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::client::{NxtPortClient, NxtPortConfig, NxtPortCredentials, NxtPortError, Timeouts};
use super::limiter::BudgetRegistry;
use super::retry::RetryPolicy;

/// A cached client unused this long is dropped (its budget lives on in the registry).
pub const IDLE_EVICTION: Duration = Duration::from_secs(15 * 60);

/// Factory and cache of NxtPort clients over one [`BudgetRegistry`]. Cheap to clone; build one
/// per process and hand it to every feature that calls NxtPort.
#[derive(Clone)]
pub struct NxtPortClients {
    inner: Arc<Inner>,
}

struct Inner {
    budgets: BudgetRegistry,
    scope: Option<String>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    cache: DashMap<[u8; 32], (NxtPortClient, Instant)>,
}

impl std::fmt::Debug for NxtPortClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NxtPortClients")
            .field("budgets", &self.inner.budgets)
            .field("clients", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

impl NxtPortClients {
    /// Clients drawing from `budgets`, with these request settings.
    pub fn new(
        budgets: BudgetRegistry,
        scope: Option<String>,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                budgets,
                scope,
                timeouts,
                retry,
                cache: DashMap::new(),
            }),
        }
    }

    /// The budget registry (one budget per subscription key).
    pub fn budgets(&self) -> &BudgetRegistry {
        &self.inner.budgets
    }

    /// The client of `credentials` at these URLs, cached.
    pub fn client(
        &self,
        api_base_url: &str,
        token_url: &str,
        credentials: NxtPortCredentials,
    ) -> Result<NxtPortClient, NxtPortError> {
        let id = fingerprint(api_base_url, token_url, &credentials);
        let now = Instant::now();
        if let Some(mut hit) = self.inner.cache.get_mut(&id) {
            hit.1 = now;
            return Ok(hit.0.clone());
        }
        self.inner
            .cache
            .retain(|_, (_, used)| now.saturating_duration_since(*used) < IDLE_EVICTION);
        let mut config = NxtPortConfig::new(api_base_url, token_url, credentials);
        config.scope = self.inner.scope.clone();
        config.timeouts = self.inner.timeouts;
        config.retry = self.inner.retry.clone();
        let client = NxtPortClient::new(config, &self.inner.budgets)?;
        // Two first callers at once: the first insert wins, both use it.
        Ok(self
            .inner
            .cache
            .entry(id)
            .or_insert((client, now))
            .0
            .clone())
    }
}

/// SHA-256 over the URLs and every credential field, length-prefixed (never stored in clear).
fn fingerprint(api: &str, token: &str, c: &NxtPortCredentials) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [
        api,
        token,
        &c.client_id,
        c.client_secret.expose_secret(),
        &c.username,
        c.password.expose_secret(),
        c.subscription_key.expose_secret(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nxtport::BudgetConfig;
    use secrecy::SecretString;

    fn creds(password: &str) -> NxtPortCredentials {
        NxtPortCredentials {
            client_id: "client".into(),
            client_secret: SecretString::from("secret".to_owned()),
            username: "user".into(),
            password: SecretString::from(password.to_owned()),
            subscription_key: SecretString::from("key-1".to_owned()),
        }
    }

    #[tokio::test]
    async fn one_account_one_client_and_one_key_one_budget() {
        let clients = NxtPortClients::new(
            BudgetRegistry::new(BudgetConfig::default()).expect("registry"),
            None,
            Timeouts::default(),
            RetryPolicy::default(),
        );
        let (api, token) = ("http://127.0.0.1:9", "http://127.0.0.1:9/connect/token");
        let a = clients.client(api, token, creds("pw")).expect("a");
        let b = clients.client(api, token, creds("pw")).expect("b");
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        // Another password: another client (another token), the same budget.
        let c = clients.client(api, token, creds("other")).expect("c");
        assert_eq!(clients.inner.cache.len(), 2);
        assert_eq!(a.budget().key_id(), c.budget().key_id());
        a.budget()
            .acquire(crate::nxtport::Priority::Background)
            .await
            .expect("slot");
        assert_eq!(c.budget().metrics().granted_background, 1);
        assert!(!format!("{clients:?}").contains("key-1"));
    }
}

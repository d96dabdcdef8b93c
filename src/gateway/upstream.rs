//! NxtPort clients per entity, built from the entity's CPu connection in the vault.
//!
//! One [`NxtPortClients`] per process (one [`BudgetRegistry`] inside): every client of one
//! subscription key draws from the same budget, whichever entity or feature it serves (Data
//! Sources gets the same factory, see [`Upstreams::clients`]). Links are cached for [`LINK_TTL`] (so a
//! connection changed through another replica is picked up) and dropped at once when the
//! connection is changed through this one.

use super::config::Settings;
use super::error::ApiError;
use super::metrics::Metrics;
use crate::connection::{secret, Incomplete, NxtPortConnection, NXTPORT_KIND};
use crate::nxtport::classify::{classify, Answer};
use crate::nxtport::{
    BudgetConfig, BudgetRegistry, NxtPortClient, NxtPortClients, NxtPortCredentials, NxtPortError,
    Priority, RedisBudgetStore, RetryPolicy, Timeouts,
};
use crate::store::Vault;
use dashmap::DashMap;
use parking_lot::RwLock;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a built client is reused before the connection is read again.
pub const LINK_TTL: Duration = Duration::from_secs(30);

/// An entity's connection and its client.
#[derive(Debug)]
pub struct EntityLink {
    /// Non-secret connection fields (terminal code, LoCode, ingestion id).
    pub conn: NxtPortConnection,
    /// The client (token cache, budget, retries).
    pub client: NxtPortClient,
    built: Instant,
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The entity has no CPu connection.
    #[error("no NxtPort connection configured")]
    Missing,
    /// The upstream base URL is not known yet (sim mode still starting).
    #[error("NxtPort base URL not configured")]
    NoBaseUrl,
    /// The stored connection lacks a field (saved before connections were checked).
    #[error("the NxtPort connection is incomplete: {0}")]
    Incomplete(Incomplete),
    /// The stored connection is unusable.
    #[error("stored connection unusable: {0}")]
    Broken(String),
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Missing => ApiError::ConnectionMissing,
            LinkError::Incomplete(i) => ApiError::ConnectionIncomplete(i),
            LinkError::NoBaseUrl => ApiError::UpstreamUnavailable,
            LinkError::Broken(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

/// NxtPort clients per entity.
pub struct Upstreams {
    vault: Vault,
    clients: NxtPortClients,
    api_base_url: RwLock<Option<String>>,
    token_url: RwLock<Option<String>>,
    links: DashMap<String, Arc<EntityLink>>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("api_base_url", &*self.api_base_url.read())
            .field("token_url", &*self.token_url.read())
            .field("links", &self.links.len())
            .finish_non_exhaustive()
    }
}

impl Upstreams {
    /// Build from settings; limiter waits are observed into `metrics`.
    pub fn new(settings: &Settings, vault: Vault, metrics: &Metrics) -> anyhow::Result<Self> {
        let mut budget = BudgetConfig::new(
            settings.budget.per_minute,
            Duration::from_secs(settings.budget.period_secs),
        )
        .with_interactive_reserve(settings.budget.interactive_reserve())
        .with_lent_reserve(settings.budget.lend_reserve);
        if let Some(ms) = settings.budget.safety_margin_ms {
            budget.safety_margin = Duration::from_millis(ms);
        }
        // A grant counts as in flight until its call's answer: longer than any call.
        budget.in_flight_hold = budget.in_flight_hold.max(Duration::from_millis(
            settings.nxtport.timeout_ms.saturating_mul(2),
        ));
        let wait = metrics.limiter_wait.clone();
        let budgets = BudgetRegistry::new(budget)
            .map_err(|e| anyhow::anyhow!("budget: {e}"))?
            .with_observer(Arc::new(move |ev| {
                let label = match ev.priority {
                    Priority::Interactive => "interactive",
                    Priority::Background => "background",
                };
                wait.with_label_values(&[label])
                    .observe(ev.waited.as_secs_f64());
            }));
        let budgets = match &settings.redis_url {
            Some(url) => {
                let store = RedisBudgetStore::new(
                    url.expose_secret(),
                    &settings.budget.redis_prefix,
                    Duration::from_millis(settings.budget.redis_timeout_ms),
                )
                .map_err(|e| anyhow::anyhow!("invalid configuration: `{e}`"))?;
                budgets.with_shared(store)
            }
            None => budgets,
        };
        let retry = RetryPolicy {
            max_attempts: settings.retry.max_retries + 1,
            base_delay: Duration::from_millis(settings.retry.base_delay_ms),
            max_delay: Duration::from_millis(settings.retry.max_delay_ms),
            ..RetryPolicy::default()
        };
        let timeouts = Timeouts {
            request: Duration::from_millis(settings.nxtport.timeout_ms),
            ..Timeouts::default()
        };
        Ok(Self {
            vault,
            clients: NxtPortClients::new(budgets, settings.nxtport.scope.clone(), timeouts, retry),
            api_base_url: RwLock::new(settings.api_base_url()),
            token_url: RwLock::new(settings.token_url()),
            links: DashMap::new(),
        })
    }

    /// Point at an upstream (sim mode: the embedded simulator, once it listens).
    pub fn set_base_urls(&self, api_base_url: String, token_url: String) {
        *self.api_base_url.write() = Some(api_base_url);
        *self.token_url.write() = Some(token_url);
        self.links.clear();
    }

    /// The API base URL in force.
    pub fn api_base_url(&self) -> Option<String> {
        self.api_base_url.read().clone()
    }

    /// The budget registry (metrics, tests).
    pub fn budgets(&self) -> &BudgetRegistry {
        self.clients.budgets()
    }

    /// The client factory, for every other feature that calls NxtPort (Data Sources): one
    /// budget per subscription key and one token cache per account, whoever calls.
    pub fn clients(&self) -> NxtPortClients {
        self.clients.clone()
    }

    /// The token URL in force.
    pub fn token_url(&self) -> Option<String> {
        self.token_url.read().clone()
    }

    /// Drop the cached client of an entity (its connection changed).
    pub fn forget(&self, entity_id: &str) {
        self.links.remove(entity_id);
    }

    /// The entity's client, built from its connection if needed.
    pub async fn link(&self, entity_id: &str) -> Result<Arc<EntityLink>, LinkError> {
        if let Some(link) = self.links.get(entity_id) {
            if link.built.elapsed() < LINK_TTL {
                return Ok(Arc::clone(&link));
            }
        }
        let (stored, mut secrets) = self
            .vault
            .decrypt(entity_id, NXTPORT_KIND)
            .await
            .map_err(|e| LinkError::Broken(e.to_string()))?
            .ok_or(LinkError::Missing)?;
        let conn =
            NxtPortConnection::from_public(&stored.public_fields).map_err(LinkError::Incomplete)?;
        let mut take = |name: &str| {
            secrets
                .remove(name)
                .ok_or_else(|| LinkError::Broken(format!("secret {name} missing")))
        };
        let credentials = NxtPortCredentials {
            client_id: conn.client_id.as_str().to_owned(),
            client_secret: take(secret::CLIENT_SECRET)?,
            username: conn.username.as_str().to_owned(),
            password: take(secret::PASSWORD)?,
            subscription_key: take(secret::API_KEY)?,
        };
        let api = self
            .api_base_url
            .read()
            .clone()
            .ok_or(LinkError::NoBaseUrl)?;
        let token = self.token_url.read().clone().ok_or(LinkError::NoBaseUrl)?;
        let client = self
            .clients
            .client(&api, &token, credentials)
            .map_err(|e| LinkError::Broken(e.to_string()))?;
        let link = Arc::new(EntityLink {
            conn,
            client,
            built: Instant::now(),
        });
        self.links.insert(entity_id.to_owned(), Arc::clone(&link));
        Ok(link)
    }
}

/// Secret helper for tests and the demo setup.
pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// Map a client error of a synchronous passthrough to the gateway's envelope (the meaning
/// comes from [`classify`], the one place that reads NxtPort's answers).
pub fn api_error(e: NxtPortError) -> ApiError {
    match classify(&e) {
        Answer::Credentials => {
            // The error names the endpoint and NxtPort's answer, never a credential.
            tracing::warn!(error = %e, "NxtPort refused the entity's credentials");
            ApiError::UpstreamAuth
        }
        Answer::Refused { status, message } => ApiError::UpstreamRejected {
            status,
            detail: message,
        },
        Answer::BudgetUnavailable => {
            tracing::warn!(error = %e, "synchronous call refused: no budget");
            ApiError::BudgetUnavailable {
                retry_after_secs: BUDGET_RETRY_AFTER_SECS,
            }
        }
        // Spent, not broken: the caller hears what NxtPort itself answers when its 500
        // calls per minute are used, a 429 with Retry-After (nothing was sent).
        Answer::BudgetSpent => {
            tracing::info!(error = %e, "synchronous call refused: the key's budget is spent");
            ApiError::BudgetSpent {
                retry_after_secs: BUDGET_RETRY_AFTER_SECS,
            }
        }
        Answer::Broken => match e {
            NxtPortError::InvalidRequest(_) | NxtPortError::Config(_) => {
                ApiError::Internal(anyhow::anyhow!(e.to_string()))
            }
            _ => {
                tracing::warn!(error = %e, "NxtPort answer unreadable");
                ApiError::UpstreamUnavailable
            }
        },
        Answer::Transient { .. } => {
            tracing::warn!(error = %e, "NxtPort call failed");
            ApiError::UpstreamUnavailable
        }
    }
}

/// `Retry-After` of a 503 when the shared budget cannot be consulted, and of a 429 when the
/// key's budget had no slot within a synchronous call's wait.
pub const BUDGET_RETRY_AFTER_SECS: u64 = 2;

/// NxtPort's explanation of a rejection (ProblemDetails title/detail/errors, or the body).
pub fn rejection_detail(e: &NxtPortError) -> String {
    crate::nxtport::classify::detail(e)
}

//! The gateway's shared state, built once in [`super::Application::build`] (outside
//! `HttpServer::new`, so every worker thread shares one store, one limiter, one metrics set).

use super::config::Settings;
use super::error::ApiError;
use super::metrics::Metrics;
use super::upstream::Upstreams;
use crate::store::{now_millis, Store, Vault};
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::Notify;

/// Shared state of one gateway.
pub struct GatewayState {
    /// Settings in force.
    pub settings: Settings,
    /// Database.
    pub store: Store,
    /// Credentials vault.
    pub vault: Vault,
    /// Metrics.
    pub metrics: Metrics,
    /// NxtPort clients per entity.
    pub upstreams: Upstreams,
    /// Group-commit writer of the outbox.
    pub outbox: super::outbox::OutboxWriter,
    /// Wakes the delivery worker when an operation is enqueued.
    pub wake_worker: Arc<Notify>,
    /// Base URL under which upstreams reach this gateway (webhooks).
    pub public_url: parking_lot::RwLock<String>,
    quota: Option<DefaultKeyedRateLimiter<String>>,
    touched: DashMap<String, i64>,
    /// Tokens checked recently (by SHA-256), so a busy caller costs no database round trip per
    /// request. Entries live [`TOKEN_CACHE_TTL`]: a token revoked by the CLI (another process)
    /// stops working within that time.
    token_cache: DashMap<String, (crate::store::TokenInfo, std::time::Instant)>,
}

/// How long a checked token is trusted without asking the database again.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Most tokens cached at once (the cache is cleared when full).
const TOKEN_CACHE_MAX: usize = 10_000;

impl std::fmt::Debug for GatewayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayState")
            .field("mode", &self.settings.mode)
            .finish_non_exhaustive()
    }
}

impl GatewayState {
    /// The token's info, from the short-lived cache or the database.
    pub async fn authenticate_token(
        &self,
        presented: &str,
    ) -> Result<Option<crate::store::TokenInfo>, crate::store::StoreError> {
        let key = crate::store::hash_secret(presented);
        if let Some(hit) = self.token_cache.get(&key) {
            if hit.1.elapsed() < TOKEN_CACHE_TTL {
                return Ok(Some(hit.0.clone()));
            }
        }
        let info = self.store.authenticate_token(presented).await?;
        match &info {
            Some(i) => {
                if self.token_cache.len() >= TOKEN_CACHE_MAX {
                    self.token_cache.clear();
                }
                self.token_cache
                    .insert(key, (i.clone(), std::time::Instant::now()));
            }
            None => {
                self.token_cache.remove(&key);
            }
        }
        Ok(info)
    }

    /// Assemble the state (starts the outbox writer: call inside a tokio runtime).
    pub fn new(
        settings: Settings,
        store: Store,
        vault: Vault,
        metrics: Metrics,
        upstreams: Upstreams,
        public_url: String,
    ) -> Self {
        let quota = NonZeroU32::new(settings.quota.per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.quota.burst).unwrap_or(per_minute);
            DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self {
            outbox: super::outbox::OutboxWriter::spawn(store.clone()),
            settings,
            store,
            vault,
            metrics,
            upstreams,
            wake_worker: Arc::new(Notify::new()),
            public_url: parking_lot::RwLock::new(public_url),
            quota,
            touched: DashMap::new(),
            token_cache: DashMap::new(),
        }
    }

    /// Enforce the caller's own quota (429 with Retry-After when over).
    pub fn check_quota(&self, token_id: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.quota else {
            return Ok(());
        };
        match limiter.check_key(&token_id.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                // Rounded up, and at least 1: the cell may already be free by the time the
                // clock is read again, and `Retry-After: 0` invites an immediate retry storm.
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::RateLimited {
                    retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
                })
            }
        }
    }

    /// Record a token's use, at most once a minute per token (a write per request would cost
    /// an fsync per request on SQLite).
    pub fn touch_token(&self, token_id: &str) {
        let now = now_millis();
        let due = self
            .touched
            .get(token_id)
            .is_none_or(|last| now - *last > 60_000);
        if !due {
            return;
        }
        self.touched.insert(token_id.to_owned(), now);
        let store = self.store.clone();
        let id = token_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(&id, now).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }

    /// The webhook URL of an entity.
    pub fn webhook_url(&self, entity_id: &str) -> String {
        format!(
            "{}/v1/webhooks/nxtport/{entity_id}",
            self.public_url.read().trim_end_matches('/')
        )
    }
}

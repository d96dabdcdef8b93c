//! The gateway's shared state, built once in [`super::Application::build`] (outside
//! `HttpServer::new`, so every worker thread shares one store, one limiter, one metrics set).

use super::config::Settings;
use super::metrics::Metrics;
use super::upstream::Upstreams;
use crate::api::Authenticator;
use crate::store::{Store, Vault};
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
    /// Token checks and quotas of the `/v1` callers (registered as app data for [`crate::api::Caller`]).
    pub auth: Arc<Authenticator>,
}

impl std::fmt::Debug for GatewayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayState")
            .field("mode", &self.settings.mode)
            .finish_non_exhaustive()
    }
}

impl GatewayState {
    /// Assemble the state (starts the outbox writer: call inside a tokio runtime).
    pub fn new(
        settings: Settings,
        store: Store,
        vault: Vault,
        metrics: Metrics,
        upstreams: Upstreams,
        public_url: String,
    ) -> Self {
        let auth = Arc::new(Authenticator::new(
            store.clone(),
            settings.quota.per_minute,
            settings.quota.burst,
        ));
        Self {
            outbox: super::outbox::OutboxWriter::spawn(store.clone()),
            settings,
            store,
            vault,
            metrics,
            upstreams,
            wake_worker: Arc::new(Notify::new()),
            public_url: parking_lot::RwLock::new(public_url),
            auth,
        }
    }

    /// The webhook URL of an entity.
    pub fn webhook_url(&self, entity_id: &str) -> String {
        format!(
            "{}/v1/webhooks/nxtport/{entity_id}",
            self.public_url.read().trim_end_matches('/')
        )
    }
}

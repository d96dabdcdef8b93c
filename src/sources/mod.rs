//! Data Sources: entity-level connections to six terminals, their adapters and sync.
//!
//! - [`catalogue`]: the six terminals as pure data (region, auth type, form fields).
//! - [`model`]: the normalized container event and its dedup key (from [`crate::terminals`], which
//!   the terminal emulations in `crate::simulate::terminals` share).
//! - [`adapters`]: one HTTP adapter per terminal behind one trait.
//! - [`service`]: the operations (connect, verify, test, disconnect, sync, read), audited.
//! - [`sync`]: the sync engine and the scheduler.
//! - [`intake`]: pushed and dropped data: T-Mining webhooks (verify, queue, drain) and EDIFACT files.
//! - [`views`]: the API's views of the `ds_*` rows (built in one place).
//! - [`api`]: the `/v1/data-sources` and `/v1/containers/{equipment}/events` HTTP face.
//!
//! Secrets are write-only: they go straight into the gateway's [`Vault`] (AES-256-GCM, bound to
//! entity and kind `datasource:<terminal>`), are decrypted only to call the terminal, and are
//! wrapped in `SecretString` in between.

pub mod adapters;
pub mod api;
pub mod catalogue;
pub mod intake;
pub mod model;
pub mod service;
pub mod sync;
pub mod views;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use api::{configure, configure_with, SourcesApiDoc};
pub use catalogue::Terminal;
pub use service::SourcesError;

use crate::store::{Store, Vault};

/// The vault kind under which a terminal's credentials are stored. NxtPort CPu shares the
/// gateway's CPu connection (`PUT /v1/connections/nxtport`): same record, same field names.
pub fn vault_kind(t: Terminal) -> String {
    crate::connection::vault_kind(t.as_str())
}

/// A duration written as `"4h"`, `"90s"`, `"250ms"` (humantime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// Configuration of Data Sources (`[sources]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesSettings {
    /// Base URL per terminal. Missing ones point at the simulator's emulations
    /// ([`SourcesSettings::with_simulator`]); set them to onboard a real terminal API.
    pub base_urls: HashMap<Terminal, String>,
    /// NxtPort token endpoint (default `{base_urls.nxtport}/connect/token`).
    pub nxtport_token_url: Option<String>,
    /// Timeout of one terminal HTTP call.
    pub timeout: HumanDuration,
    /// Events asked per page.
    pub page_size: u32,
    /// Interval between two syncs of a connection (seed: 4-6 h).
    pub default_interval: HumanDuration,
    /// Per-terminal interval overrides.
    pub intervals: HashMap<Terminal, HumanDuration>,
    /// How often the scheduler looks for due connections.
    pub tick: HumanDuration,
    /// First retry delay after a failed sync; doubles per failure, capped at the interval.
    pub backoff_base: HumanDuration,
    /// Sync lease (renewed on every page); a crashed sync's connection is free again after it.
    pub lease: HumanDuration,
    /// Syncs running at once in this process.
    pub max_concurrent_syncs: usize,
    /// Safety bound on the pages of one sync.
    pub max_pages_per_sync: usize,
    /// Longest accepted credential field, in characters.
    pub max_field_len: usize,
    /// Run the background scheduler.
    pub scheduler: bool,
}

impl Default for SourcesSettings {
    fn default() -> Self {
        Self {
            base_urls: HashMap::new(),
            nxtport_token_url: None,
            timeout: HumanDuration(Duration::from_secs(10)),
            page_size: 1000,
            default_interval: HumanDuration(catalogue::DEFAULT_SYNC_INTERVAL),
            intervals: HashMap::new(),
            tick: HumanDuration(Duration::from_secs(5)),
            backoff_base: HumanDuration(Duration::from_secs(60)),
            lease: HumanDuration(Duration::from_secs(600)),
            max_concurrent_syncs: 4,
            max_pages_per_sync: 100_000,
            max_field_len: 256,
            scheduler: true,
        }
    }
}

impl SourcesSettings {
    /// Fill every missing base URL from the simulator at `base` (`http://host:port`).
    pub fn with_simulator(mut self, base: &str) -> Self {
        let defaults = adapters::AdaptersConfig::for_simulator(base);
        for (t, url) in defaults.base_urls {
            self.base_urls.entry(t).or_insert(url);
        }
        self
    }

    pub fn interval(&self, t: Terminal) -> Duration {
        self.intervals
            .get(&t)
            .map(|d| d.0)
            .unwrap_or(self.default_interval.0)
    }

    fn adapters_config(&self) -> adapters::AdaptersConfig {
        adapters::AdaptersConfig {
            base_urls: self.base_urls.clone(),
            nxtport_token_url: self.nxtport_token_url.clone(),
            timeout: self.timeout.0,
            page_size: self.page_size,
        }
    }
}

/// Plain-duration view of the settings used by the engine.
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    pub lease: Duration,
    pub backoff_base: Duration,
    pub tick: Duration,
    pub max_concurrent_syncs: usize,
    pub max_pages_per_sync: usize,
    pub max_field_len: usize,
    default_interval: Duration,
    intervals: HashMap<Terminal, Duration>,
}

impl Runtime {
    pub fn interval(&self, t: Terminal) -> Duration {
        self.intervals
            .get(&t)
            .copied()
            .unwrap_or(self.default_interval)
    }
}

/// The Data Sources service: store, vault, adapters and settings. Cheap to clone; build it once.
#[derive(Clone)]
pub struct Sources {
    pub(crate) store: Store,
    pub(crate) vault: Vault,
    pub(crate) adapters: Arc<adapters::Adapters>,
    pub(crate) settings: Arc<Runtime>,
    /// Connections whose webhook drain runs in this process (value: another round requested).
    pub(crate) drains: Arc<parking_lot::Mutex<HashMap<(String, Terminal), bool>>>,
    /// Webhook receivers' owners and secrets, by webhook id (short-lived cache).
    pub(crate) webhook_secrets: Arc<parking_lot::Mutex<HashMap<String, intake::CachedHook>>>,
    /// Told the entity id when its NxtPort CPu connection was saved here (the gateway drops
    /// its cached NxtPort client).
    nxtport_changed: Option<ConnectionListener>,
}

/// Called with an entity id when that entity's shared NxtPort CPu connection changed.
pub type ConnectionListener = Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Sources {
    /// Build the service over the gateway's store and vault (the vault's store must be `store`),
    /// with NxtPort clients of its own (default budget). A gateway uses [`Self::with_nxtport`].
    pub fn new(
        store: Store,
        vault: Vault,
        settings: &SourcesSettings,
    ) -> Result<Self, reqwest::Error> {
        let budgets = crate::nxtport::BudgetRegistry::new(crate::nxtport::BudgetConfig::default())
            .unwrap_or_else(|_| unreachable!("the default budget is valid"));
        let timeouts = crate::nxtport::Timeouts {
            request: settings.timeout.0,
            ..crate::nxtport::Timeouts::default()
        };
        let clients = crate::nxtport::NxtPortClients::new(
            budgets,
            None,
            timeouts,
            crate::nxtport::RetryPolicy::default(),
        );
        Self::with_nxtport(store, vault, settings, clients)
    }

    /// Like [`Self::new`], calling NxtPort CPu through `nxtport`: the gateway's client factory,
    /// so the NxtPort source shares each subscription key's budget, token cache and retries.
    pub fn with_nxtport(
        store: Store,
        vault: Vault,
        settings: &SourcesSettings,
        nxtport: crate::nxtport::NxtPortClients,
    ) -> Result<Self, reqwest::Error> {
        let adapters = adapters::Adapters::new(&settings.adapters_config(), nxtport)?;
        let runtime = Runtime {
            lease: settings.lease.0,
            backoff_base: settings.backoff_base.0,
            tick: settings.tick.0,
            max_concurrent_syncs: settings.max_concurrent_syncs,
            max_pages_per_sync: settings.max_pages_per_sync.max(1),
            max_field_len: settings.max_field_len.max(1),
            default_interval: settings.default_interval.0,
            intervals: settings.intervals.iter().map(|(t, d)| (*t, d.0)).collect(),
        };
        Ok(Self {
            store,
            vault,
            adapters: Arc::new(adapters),
            settings: Arc::new(runtime),
            drains: Arc::default(),
            webhook_secrets: Arc::default(),
            nxtport_changed: None,
        })
    }

    /// Call `listener` whenever an entity's NxtPort CPu connection is saved through Data
    /// Sources (it is the gateway's connection too).
    pub fn on_nxtport_changed(mut self, listener: ConnectionListener) -> Self {
        self.nxtport_changed = Some(listener);
        self
    }

    pub(crate) fn nxtport_changed(&self, entity_id: &str) {
        if let Some(l) = &self.nxtport_changed {
            l(entity_id);
        }
    }

    /// Start the background scheduler (call once, inside the Tokio runtime).
    pub fn spawn_scheduler(&self) -> tokio::task::JoinHandle<()> {
        sync::spawn_scheduler(self.clone())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

//! One [`Budget`] per subscription key, known only by the hash of the key.

use std::fmt;
use std::sync::Arc;

use dashmap::DashMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Budget, BudgetConfig, BudgetMetrics, RedisBudgetStore, WaitObserver};

/// Short, stable, non-reversible id of a subscription key (first 16 hex digits of its SHA-256).
pub fn key_id(subscription_key: &SecretString) -> String {
    let digest = Sha256::digest(subscription_key.expose_secret().as_bytes());
    hex::encode(&digest[..8])
}

/// One [`Budget`] per subscription key, created on first use and shared by every client of
/// that key. Build one per process (app state), not a global.
pub struct BudgetRegistry {
    config: BudgetConfig,
    budgets: DashMap<String, Budget>,
    observer: Option<WaitObserver>,
    shared: Option<Arc<RedisBudgetStore>>,
}

impl fmt::Debug for BudgetRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetRegistry")
            .field("config", &self.config)
            .field("keys", &self.budgets.len())
            .finish_non_exhaustive()
    }
}

impl BudgetRegistry {
    /// A registry giving every key the same budget.
    pub fn new(config: BudgetConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Self {
            config,
            budgets: DashMap::new(),
            observer: None,
            shared: None,
        })
    }

    /// Keep every key's window in `store` (shared by every replica using the same store).
    pub fn with_shared(mut self, store: Arc<RedisBudgetStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// The shared store, when there is one.
    pub fn shared(&self) -> Option<&Arc<RedisBudgetStore>> {
        self.shared.as_ref()
    }

    /// Call `observer` on every grant of every budget created from now on.
    pub fn with_observer(mut self, observer: WaitObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The budget's configuration.
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// The budget of `subscription_key` (the key itself is never stored, only its hash).
    pub fn budget_for(&self, subscription_key: &SecretString) -> Budget {
        let id = key_id(subscription_key);
        if let Some(existing) = self.budgets.get(&id) {
            return existing.clone();
        }
        self.budgets
            .entry(id.clone())
            .or_insert_with(|| {
                // The config was validated in `new`, so `build` cannot fail here.
                Budget::build(id, &self.config, self.observer.clone(), self.shared.clone())
                    .unwrap_or_else(|_| unreachable!("budget config validated in new"))
            })
            .clone()
    }

    /// Metrics of every key, by key id.
    pub fn metrics(&self) -> Vec<(String, BudgetMetrics)> {
        self.budgets
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().metrics()))
            .collect()
    }
}

//! Shared state of the simulator process: the worlds, their credentials and tokens, the rate
//! limiter, injected faults, webhook registrations and the call and delivery journals.
//!
//! Built once, outside `HttpServer::new`, so every worker sees the same worlds. A world is locked
//! with a `parking_lot::Mutex` for the short time a command or a query takes (microseconds); no
//! lock is held across an `.await`.

use super::error::ApiError;
use chrono::{DateTime, Utc};
use cpu_simulator::{
    Clock, Command, Fixture, Notification, NxtEntityId, Outcome, Party, SimError, World,
    WorldConfig,
};
use dashmap::DashMap;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Id of the world created at start.
pub const DEFAULT_WORLD: &str = "default";
/// Journals keep this many entries per world.
const JOURNAL_CAPACITY: usize = 10_000;

/// Numbers of the simulator process.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The world's rules (retention, expiry, archive).
    pub world: WorldConfig,
    /// Parties of every world.
    pub fixture: Fixture,
    /// Calls allowed per subscription key per `rate_limit_window`; `None` = no limit.
    pub rate_limit: Option<NonZeroU32>,
    /// Window of the rate limit (one minute at NxtPort).
    pub rate_limit_window: Duration,
    /// Lifetime of an access token (virtual clock).
    pub token_ttl: chrono::Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Webhook delivery attempts before giving up.
    pub webhook_attempts: u32,
    /// Most isolated worlds kept at once.
    pub max_worlds: usize,
    /// Use a frozen clock (tests) instead of wall clock + offset.
    pub frozen_clock: Option<DateTime<Utc>>,
    /// How often the tick task fires due timers on the real clock.
    pub tick_interval: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            world: WorldConfig::default(),
            fixture: Fixture::default_world(),
            rate_limit: NonZeroU32::new(500),
            rate_limit_window: Duration::from_secs(60),
            token_ttl: chrono::Duration::hours(1),
            max_body_bytes: 64 * 1024,
            webhook_attempts: 4,
            max_worlds: 10_000,
            frozen_clock: None,
            tick_interval: Duration::from_secs(1),
        }
    }
}

/// A webhook a party registered (NxtPort "Notification Channels 2.0": URL + static headers).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    /// Where notifications are POSTed.
    pub url: String,
    /// Static headers sent with every delivery (e.g. Authorization).
    #[serde(default)]
    pub headers: HashMap<String, String>,
}

/// One webhook delivery attempt series.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Receiver.
    pub receiver: String,
    /// Webhook URL.
    pub url: String,
    /// Notification event.
    pub event: String,
    /// Notification's public reference id.
    pub public_reference_id: String,
    /// Container.
    pub equipment_number: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// Last HTTP status, if any.
    pub last_status: Option<u16>,
    /// `delivered`, `retrying` or `failed`.
    pub outcome: String,
    /// Last error, if any.
    pub error: Option<String>,
    /// When the last attempt ended.
    pub at: DateTime<Utc>,
}

/// One call on the NxtPort surface.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Answer status.
    pub status: u16,
    /// Party key of the caller, when known.
    pub party: Option<String>,
    /// `External-Reference-Id` sent.
    pub external_reference_id: Option<String>,
    /// Wall-clock time.
    pub at: DateTime<Utc>,
}

/// A fault to inject on matching calls.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// Path prefix it applies to (`/` for all NxtPort calls).
    pub path: String,
    /// Only this method, if set.
    #[serde(default)]
    pub method: Option<String>,
    /// Answer with this status (e.g. 500, 503, 429).
    #[serde(default)]
    pub status: Option<u16>,
    /// Wait this long first.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Drop the connection instead of answering.
    #[serde(default)]
    pub drop: bool,
    /// Apply to the next N matching calls only.
    #[serde(default)]
    pub count: Option<u32>,
    /// Apply to this fraction (0..1) of matching calls.
    #[serde(default)]
    pub fraction: Option<f64>,
}

impl Fault {
    /// Why this fault cannot be injected: the field and what is wrong (the control API and the
    /// sandbox's form both check with this).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if !self.path.starts_with('/') {
            return Some(("path", "must start with /"));
        }
        if self.fraction.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Some(("fraction", "must be between 0 and 1"));
        }
        if self.status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Some(("status", "must be an HTTP status"));
        }
        if self.status.is_none() && self.latency_ms.is_none() && !self.drop {
            return Some(("status", "a fault needs status, latencyMs or drop"));
        }
        None
    }
}

/// What a matching fault does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultEffect {
    /// Status to answer with.
    pub status: Option<u16>,
    /// Delay.
    pub latency: Option<Duration>,
    /// Drop the connection.
    pub drop: bool,
}

/// A world and everything attached to it: the CPu world behind its lock, the webhooks, the
/// journals and the injected faults. Fields are private; handlers read the world through
/// [`WorldHandle::read`] and change it only through [`WorldHandle::apply`] (or
/// [`WorldHandle::apply_with`] when the command is built from the world itself).
#[derive(Debug)]
pub struct WorldHandle {
    id: String,
    world: RwLock<World>,
    webhooks: Mutex<HashMap<NxtEntityId, Vec<Webhook>>>,
    deliveries: Mutex<VecDeque<Delivery>>,
    calls: Mutex<VecDeque<CallRecord>>,
    faults: Mutex<Vec<Fault>>,
    /// The parties (fixed for the life of the world), shared without locking the world.
    parties: HashMap<NxtEntityId, Arc<Party>>,
}

impl WorldHandle {
    /// A handle around a new world.
    pub fn new(id: String, world: World) -> Self {
        let parties = world
            .parties()
            .iter()
            .map(|p| (p.nxt_entity_id.clone(), Arc::new(p.clone())))
            .collect();
        WorldHandle {
            id,
            world: RwLock::new(world),
            webhooks: Mutex::new(HashMap::new()),
            deliveries: Mutex::new(VecDeque::new()),
            calls: Mutex::new(VecDeque::new()),
            faults: Mutex::new(Vec::new()),
            parties,
        }
    }

    /// Id (`default` or a UUID).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Read the world (queries, validations, views).
    pub fn read(&self) -> RwLockReadGuard<'_, World> {
        self.world.read()
    }

    /// Apply one command to the world.
    pub fn apply(&self, command: Command) -> Result<Outcome, SimError> {
        self.world.write().apply(command)
    }

    /// Apply one command, then read the world under the same lock (e.g. the clock it moved).
    pub fn apply_then<R>(
        &self,
        command: Command,
        after: impl FnOnce(&World) -> R,
    ) -> Result<(Outcome, R), SimError> {
        let mut world = self.world.write();
        let outcome = world.apply(command)?;
        Ok((outcome, after(&world)))
    }

    /// Build a command from the world and apply it, under one lock.
    pub fn apply_with<E>(
        &self,
        build: impl FnOnce(&World) -> Result<Command, E>,
        refused: impl FnOnce(SimError) -> E,
    ) -> Result<Outcome, E> {
        let mut world = self.world.write();
        let command = build(&world)?;
        world.apply(command).map_err(refused)
    }

    /// The party with this id.
    pub fn party(&self, id: &NxtEntityId) -> Option<Arc<Party>> {
        self.parties.get(id).cloned()
    }

    /// Every party of the world.
    pub fn parties(&self) -> impl Iterator<Item = &Arc<Party>> {
        self.parties.values()
    }

    /// Every party's webhooks.
    pub fn all_webhooks(&self) -> Vec<(NxtEntityId, Vec<Webhook>)> {
        let hooks = self.webhooks.lock();
        hooks.iter().map(|(p, l)| (p.clone(), l.clone())).collect()
    }

    /// How many entries the fault list, the delivery journal and the call journal hold.
    pub fn journal_lengths(&self) -> (usize, usize, usize) {
        (
            self.faults.lock().len(),
            self.deliveries.lock().len(),
            self.calls.lock().len(),
        )
    }

    /// Whether `party` has a webhook.
    pub fn has_webhook(&self, party: &NxtEntityId) -> bool {
        self.webhooks.lock().contains_key(party)
    }

    /// The webhooks of `party`.
    pub fn webhooks_of(&self, party: &NxtEntityId) -> Vec<Webhook> {
        self.webhooks.lock().get(party).cloned().unwrap_or_default()
    }

    /// Replace the webhooks of `party`.
    pub fn set_webhooks(&self, party: NxtEntityId, hooks: Vec<Webhook>) {
        self.webhooks.lock().insert(party, hooks);
    }

    /// Remove the webhooks of `party`.
    pub fn remove_webhooks(&self, party: &NxtEntityId) {
        self.webhooks.lock().remove(party);
    }

    /// Journal one webhook delivery.
    pub fn record_delivery(&self, delivery: Delivery) {
        Self::journal(&self.deliveries, delivery);
    }

    /// The webhook delivery journal, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().iter().cloned().collect()
    }

    /// Journal one call of the NxtPort surface.
    pub fn record_call(&self, call: CallRecord) {
        Self::journal(&self.calls, call);
    }

    /// The call journal, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.calls.lock().iter().cloned().collect()
    }

    /// Add a fault; returns every active fault.
    pub fn add_fault(&self, fault: Fault) -> Vec<Fault> {
        let mut faults = self.faults.lock();
        faults.push(fault);
        faults.clone()
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<Fault> {
        self.faults.lock().clone()
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        self.faults.lock().clear();
    }

    /// Append to a bounded journal.
    fn journal<T>(q: &Mutex<VecDeque<T>>, item: T) {
        let mut q = q.lock();
        if q.len() >= JOURNAL_CAPACITY {
            q.pop_front();
        }
        q.push_back(item);
    }

    /// The first fault matching this call, consuming one use of it.
    pub fn take_fault(&self, method: &str, path: &str) -> Option<FaultEffect> {
        let mut faults = self.faults.lock();
        let idx = faults.iter().position(|f| {
            path.starts_with(&f.path)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.fraction.is_none_or(|p| rand::random::<f64>() < p)
        })?;
        let f = &mut faults[idx];
        let effect = FaultEffect {
            status: f.status,
            latency: f.latency_ms.map(Duration::from_millis),
            drop: f.drop,
        };
        if let Some(n) = &mut f.count {
            *n = n.saturating_sub(1);
            if *n == 0 {
                faults.remove(idx);
            }
        }
        Some(effect)
    }
}

/// An issued access or refresh token.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// World.
    pub world: Arc<WorldHandle>,
    /// Party.
    pub party: Arc<Party>,
    /// Expiry on the world's clock.
    pub expires_at: DateTime<Utc>,
}

/// Where a credential points.
#[derive(Debug, Clone)]
pub struct Principal {
    /// World.
    pub world: String,
    /// Party.
    pub party: NxtEntityId,
}

/// The process-wide state.
pub struct SimState {
    /// Configuration.
    pub config: SimConfig,
    worlds: DashMap<String, Arc<WorldHandle>>,
    /// Subscription key -> party.
    pub keys: DashMap<String, Principal>,
    /// Username -> party.
    pub users: DashMap<String, Principal>,
    /// OAuth client id -> party owning the client.
    pub clients: DashMap<String, Principal>,
    /// Access tokens.
    pub tokens: DashMap<String, TokenInfo>,
    /// Refresh tokens.
    pub refresh_tokens: DashMap<String, TokenInfo>,
    limiter: Option<super::limit::KeyLimiter>,
    /// Webhook delivery queue.
    pub deliveries: tokio::sync::mpsc::UnboundedSender<(Arc<WorldHandle>, Notification)>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("worlds", &self.worlds.len())
            .finish_non_exhaustive()
    }
}

/// Receiving end of the webhook delivery queue.
pub type DeliveryQueue = tokio::sync::mpsc::UnboundedReceiver<(Arc<WorldHandle>, Notification)>;

impl SimState {
    /// Build the state with its default world; returns the receiver of the webhook queue.
    pub fn new(config: SimConfig) -> anyhow::Result<(Arc<SimState>, DeliveryQueue)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let limiter = config
            .rate_limit
            .map(|n| super::limit::KeyLimiter::new(n.get() as usize, config.rate_limit_window));
        let state = Arc::new(SimState {
            config,
            worlds: DashMap::new(),
            keys: DashMap::new(),
            users: DashMap::new(),
            clients: DashMap::new(),
            tokens: DashMap::new(),
            refresh_tokens: DashMap::new(),
            limiter,
            deliveries: tx,
        });
        let fixture = state.config.fixture.clone();
        state.insert_world(DEFAULT_WORLD.to_owned(), fixture)?;
        Ok((state, rx))
    }

    fn insert_world(&self, id: String, fixture: Fixture) -> anyhow::Result<Arc<WorldHandle>> {
        let clock = match self.config.frozen_clock {
            Some(t) => Clock::Frozen(t),
            None => Clock::Real {
                offset: chrono::Duration::zero(),
            },
        };
        let world = World::new(fixture, self.config.world, clock)?;
        for p in world.parties() {
            let principal = Principal {
                world: id.clone(),
                party: p.nxt_entity_id.clone(),
            };
            let c = &p.credentials;
            for (map, key) in [
                (&self.keys, &c.subscription_key),
                (&self.users, &c.username),
                (&self.clients, &c.client_id),
            ] {
                if map.contains_key(key) {
                    anyhow::bail!(
                        "credential of party '{}' already used by another world",
                        p.key
                    );
                }
                map.insert(key.clone(), principal.clone());
            }
        }
        let handle = Arc::new(WorldHandle::new(id.clone(), world));
        self.worlds.insert(id, Arc::clone(&handle));
        Ok(handle)
    }

    /// A fresh isolated world with its own credentials: the configured parties, or `fixture`.
    pub fn create_world(&self, fixture: Option<Fixture>) -> Result<Arc<WorldHandle>, ApiError> {
        if self.worlds.len() >= self.config.max_worlds {
            return Err(ApiError::BadRequest {
                field: None,
                detail: format!(
                    "at most {} worlds at once: delete some first",
                    self.config.max_worlds
                ),
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let fixture = match fixture {
            Some(f) => {
                let f = f.fresh_credentials();
                f.validate()
                    .map_err(|e| ApiError::field("parties", e.to_string()))?;
                f
            }
            None => self.config.fixture.clone().fresh_credentials(),
        };
        self.insert_world(id, fixture)
            .map_err(|e| ApiError::field("parties", e.to_string()))
    }

    /// Remove a world and its credentials.
    pub fn delete_world(&self, id: &str) -> Result<(), ApiError> {
        if id == DEFAULT_WORLD {
            return Err(ApiError::field(
                "worldId",
                "the default world cannot be deleted",
            ));
        }
        let (_, handle) = self
            .worlds
            .remove(id)
            .ok_or_else(|| ApiError::NotFound(format!("no world '{id}'")))?;
        let world = handle.world.read();
        for p in world.parties() {
            let c = &p.credentials;
            self.keys.remove(&c.subscription_key);
            self.users.remove(&c.username);
            self.clients.remove(&c.client_id);
        }
        self.tokens.retain(|_, t| t.world.id != id);
        self.refresh_tokens.retain(|_, t| t.world.id != id);
        Ok(())
    }

    /// Reset a world to its starting state, keeping its id and credentials.
    pub fn reset_world(&self, handle: &WorldHandle) -> Result<(), ApiError> {
        let mut world = handle.world.write();
        let fixture = Fixture {
            parties: world.parties().to_vec(),
        };
        let clock = match self.config.frozen_clock {
            Some(t) => Clock::Frozen(t),
            None => Clock::Real {
                offset: chrono::Duration::zero(),
            },
        };
        *world = World::new(fixture, self.config.world, clock).map_err(|e| {
            tracing::error!(error = %e, "reset failed");
            ApiError::Internal(500)
        })?;
        handle.webhooks.lock().clear();
        handle.deliveries.lock().clear();
        handle.calls.lock().clear();
        handle.faults.lock().clear();
        Ok(())
    }

    /// A world by id.
    pub fn world(&self, id: &str) -> Result<Arc<WorldHandle>, ApiError> {
        self.worlds
            .get(id)
            .map(|w| Arc::clone(&w))
            .ok_or_else(|| ApiError::NotFound(format!("no world '{id}' (X-Sim-World)")))
    }

    /// Count one call against the subscription key's budget, at `now` on the caller's world clock.
    pub fn check_rate(&self, key: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check(key, now)
            .map_err(|wait| ApiError::TooManyRequests(wait.as_secs_f64().ceil().max(1.0) as u64))
    }

    /// Every world (the tick task walks them).
    pub fn all_worlds(&self) -> Vec<Arc<WorldHandle>> {
        self.worlds.iter().map(|w| Arc::clone(w.value())).collect()
    }

    /// Issue an access token (and a refresh token) for a party.
    pub fn issue_token(&self, principal: &Principal) -> Result<(String, String, i64), ApiError> {
        let world = self.world(&principal.world)?;
        let party = world
            .party(&principal.party)
            .ok_or(ApiError::Internal(500))?;
        let now = world.world.read().now();
        let access = format!("sim_at_{}", uuid::Uuid::new_v4().simple());
        let refresh = format!("sim_rt_{}", uuid::Uuid::new_v4().simple());
        let ttl = self.config.token_ttl;
        self.tokens.insert(
            access.clone(),
            TokenInfo {
                world: Arc::clone(&world),
                party: Arc::clone(&party),
                expires_at: now + ttl,
            },
        );
        self.refresh_tokens.insert(
            refresh.clone(),
            TokenInfo {
                world,
                party,
                expires_at: now + chrono::Duration::days(30),
            },
        );
        Ok((access, refresh, ttl.num_seconds()))
    }
}

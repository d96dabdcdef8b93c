//! Gateway configuration: typed, layered, validated once at startup.
//!
//! Layers, later ones win: built-in defaults, an optional TOML file (`--config`), the plain
//! `DATABASE_URL` variable, `CPU_GATEWAY_*` environment variables (nested keys with `__`, e.g.
//! `CPU_GATEWAY_BUDGET__PER_MINUTE=300`), then command-line flags. Unknown keys in the file are
//! an error (`deny_unknown_fields`) and every error names the key. Environment variables are
//! filtered to this struct's top-level keys, because other tools of this project share the
//! `CPU_GATEWAY_` prefix (`CPU_GATEWAY_LOG_JSON`, `CPU_GATEWAY_REQUIRE_SERVICES`).
//!
//! Secrets (the master key) are [`SecretString`]s: their `Debug` is redacted.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::nxtport::client;

/// Where the gateway sends its CPu calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The simulator, embedded in the process (default; offline).
    Sim,
    /// NxtPort's user acceptance environment.
    Uat,
    /// NxtPort production.
    Prd,
}

impl Mode {
    /// The name used in config and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sim => "sim",
            Mode::Uat => "uat",
            Mode::Prd => "prd",
        }
    }

    /// NxtPort's API host for this mode (`None` in sim mode: the embedded simulator's address).
    /// The hosts are the NxtPort client's table, the one place that names them.
    pub fn default_api_base_url(self) -> Option<&'static str> {
        match self {
            Mode::Sim => None,
            Mode::Uat => Some(client::UAT_API_BASE_URL),
            Mode::Prd => Some(client::PRD_API_BASE_URL),
        }
    }

    /// NxtPort's token endpoint for this mode (`None` in sim mode).
    pub fn default_token_url(self) -> Option<&'static str> {
        match self {
            Mode::Sim => None,
            Mode::Uat => Some(client::UAT_TOKEN_URL),
            Mode::Prd => Some(client::PRD_TOKEN_URL),
        }
    }
}

/// Everything `cpu-gateway serve` needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the gateway API listens on.
    pub listen: SocketAddr,
    /// sim | uat | prd.
    pub mode: Mode,
    /// sim mode: where the embedded CPu simulator listens (its control API and parties are at
    /// `/simulator/v1`, so you can act as the shipping agent or customs); port 0 picks a free one.
    pub simulator_listen: SocketAddr,
    /// Folder for the SQLite file and the generated sim-mode master key.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; default `sqlite://<data_dir>/gateway.db`.
    pub database_url: Option<String>,
    /// Connections in this process's database pool; default 8 on SQLite, 16 on PostgreSQL.
    /// Raise it on PostgreSQL for many tenants (the server's `max_connections` must cover every
    /// replica's pool).
    pub database_max_connections: Option<u32>,
    /// Base64 of 32 random bytes: encrypts stored credentials. Required in uat/prd; generated
    /// into `<data_dir>/master.key` in sim mode when absent.
    #[serde(serialize_with = "redacted")]
    pub master_key: Option<SecretString>,
    /// Version number of `master_key` (stored beside every ciphertext, for rotation).
    pub master_key_version: u32,
    /// Older keys still able to decrypt rows written under them.
    pub retired_master_keys: Vec<RetiredKey>,
    /// URL under which NxtPort (or the simulator) reaches this gateway's webhook;
    /// default `http://<listen>`.
    pub public_url: Option<String>,
    /// Upstream hosts and timeouts.
    pub nxtport: UpstreamSettings,
    /// NxtPort call budget per subscription key.
    pub budget: BudgetSettings,
    /// Name of this replica in the outbox's leases and logs (e.g. the pod name); a random
    /// suffix is added per start. Default: `$HOSTNAME` or `gateway`.
    pub replica_id: Option<String>,
    /// `redis://host:port/db`: keep the budget of every subscription key in Redis, shared by
    /// every replica and surviving restarts. None: an in-process budget (one replica).
    #[serde(serialize_with = "redacted")]
    pub redis_url: Option<SecretString>,
    /// Per-caller quota on this gateway's API.
    pub quota: QuotaSettings,
    /// Retries of one upstream call (inside the NxtPort client).
    pub retry: RetrySettings,
    /// The outbox delivery worker.
    pub delivery: DeliverySettings,
    /// Notification intake and retention.
    pub notifications: NotificationSettings,
    /// Request limits at the edge.
    pub limits: LimitSettings,
    /// sim mode only: create the demo entity, token and CPu connection on start.
    pub demo: bool,
    /// Data Sources (`[sources]`): terminal base URLs, sync intervals, scheduler.
    pub sources: crate::sources::SourcesSettings,
}

/// Secrets serialise as `"***"` (the settings are serialised only to list their keys).
fn redacted<T, S: serde::Serializer>(_: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("***")
}

/// A retired master key, kept to decrypt rows written before a rotation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    /// Its version number.
    pub version: u32,
    /// Base64 of 32 bytes.
    #[serde(serialize_with = "redacted")]
    pub key: SecretString,
}

/// Upstream (NxtPort or simulator) addresses.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamSettings {
    /// API base URL (scheme + host [+ port]); overrides the mode's default.
    pub api_base_url: Option<String>,
    /// Token endpoint URL; overrides the mode's default.
    pub token_url: Option<String>,
    /// Timeout of one HTTP call.
    pub timeout_ms: u64,
    /// OAuth scope sent with the password grant (NxtPort documents `offline_access`).
    pub scope: Option<String>,
}

/// NxtPort's budget: `per_minute` calls per `period_secs` per subscription key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetSettings {
    /// Calls allowed per period (NxtPort: 500 per minute).
    pub per_minute: u32,
    /// Length of the period in seconds (60; scaled down in benchmarks).
    pub period_secs: u64,
    /// Share of every window (percent, rounded down to whole calls) that only synchronous
    /// calls (the gate) may use: background deliveries never take the whole budget.
    pub interactive_reserve_percent: u32,
    /// Background work may borrow reserved slots that free within `window * reserve / calls`
    /// while no synchronous call waits: the whole budget is used when no truck comes, and a
    /// truck waits at most that long (1.2 s with the defaults), never behind a full window.
    pub lend_reserve: bool,
    /// Extra time added to the window, absorbing the difference in latency between calls a
    /// window apart (NxtPort counts arrivals, we count grants). Default: 1% of the period.
    pub safety_margin_ms: Option<u64>,
    /// Prefix of the budget's keys in Redis.
    pub redis_prefix: String,
    /// How long a budget call to Redis may take before the budget counts as unavailable.
    pub redis_timeout_ms: u64,
}

impl BudgetSettings {
    /// Calls of every window reserved for synchronous calls.
    pub fn interactive_reserve(&self) -> u32 {
        let calls = u64::from(self.per_minute);
        let reserve = calls * u64::from(self.interactive_reserve_percent) / 100;
        u32::try_from(reserve)
            .unwrap_or(0)
            .min(self.per_minute.saturating_sub(1))
    }
}

/// Each caller token's own quota on the gateway API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaSettings {
    /// Requests per minute per token; 0 disables the quota.
    pub per_minute: u32,
    /// Burst size (requests allowed at once).
    pub burst: u32,
}

/// Retries of a single upstream call on 429/5xx/timeouts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay.
    pub base_delay_ms: u64,
    /// Backoff cap.
    pub max_delay_ms: u64,
}

/// The outbox delivery worker.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Delivery attempts (each with the client's own retries) before an operation is `failed`.
    pub max_attempts: u32,
    /// How often the worker looks for due operations when nothing wakes it.
    pub poll_interval_ms: u64,
    /// Operations in flight at once (never two of one container).
    pub concurrency: usize,
    /// Operations of one entity in flight at once at one replica, so a slow, failing or
    /// budget-bound entity leaves slots for the others.
    pub per_entity_concurrency: usize,
    /// First delay before re-trying a delivery that failed transiently.
    pub backoff_base_ms: u64,
    /// Cap of that delay.
    pub backoff_max_ms: u64,
    /// A claimed operation's lease; renewed every third of it while its call is in flight.
    /// Another replica takes the operation back only after the lease expired.
    pub lease_secs: u64,
}

/// Notification intake and retention.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// Keep notifications at least this long (NxtPort keeps 168 h).
    pub retention_hours: u64,
    /// Polling fallback interval; 0 disables polling.
    pub poll_interval_secs: u64,
    /// How far back each poll looks.
    pub poll_lookback_secs: u64,
    /// How often old notifications are pruned.
    pub prune_interval_secs: u64,
    /// An operation `sent` this long without its notification is polled for by
    /// publicReferenceId.
    pub gap_poll_after_secs: u64,
}

/// Limits at the edge.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest accepted JSON body.
    pub max_body_bytes: usize,
    /// Milliseconds a request body may take to arrive, from the end of its headers; a slower
    /// (or stalled) body is answered 408 and the connection closed.
    pub body_timeout_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            mode: Mode::Sim,
            simulator_listen: SocketAddr::from(([127, 0, 0, 1], 8082)),
            data_dir: PathBuf::from(".cpu-gateway"),
            database_url: None,
            database_max_connections: None,
            master_key: None,
            master_key_version: 1,
            retired_master_keys: Vec::new(),
            public_url: None,
            nxtport: UpstreamSettings::default(),
            budget: BudgetSettings::default(),
            redis_url: None,
            replica_id: None,
            quota: QuotaSettings::default(),
            retry: RetrySettings::default(),
            delivery: DeliverySettings::default(),
            notifications: NotificationSettings::default(),
            limits: LimitSettings::default(),
            demo: true,
            sources: crate::sources::SourcesSettings::default(),
        }
    }
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            api_base_url: None,
            token_url: None,
            timeout_ms: 15_000,
            scope: None,
        }
    }
}

impl Default for BudgetSettings {
    fn default() -> Self {
        Self {
            per_minute: 500,
            period_secs: 60,
            interactive_reserve_percent: 2,
            lend_reserve: true,
            safety_margin_ms: None,
            redis_prefix: "cpu-gateway:budget:".into(),
            redis_timeout_ms: 500,
        }
    }
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            per_minute: 6_000,
            burst: 200,
        }
    }
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay_ms: 200,
            max_delay_ms: 10_000,
        }
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            max_attempts: 40,
            poll_interval_ms: 250,
            concurrency: 32,
            per_entity_concurrency: 8,
            backoff_base_ms: 1_000,
            backoff_max_ms: 300_000,
            lease_secs: 30,
        }
    }
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            retention_hours: 168,
            poll_interval_secs: 60,
            poll_lookback_secs: 3_600,
            prune_interval_secs: 3_600,
            gap_poll_after_secs: 15,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            body_timeout_ms: 10_000,
        }
    }
}

/// A configuration that could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value has the wrong type or an unknown key was given.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The `--config` file does not exist.
    #[error("configuration file {0} not found")]
    MissingFile(PathBuf),
    /// Semantic check failed (e.g. budget of zero).
    #[error("invalid configuration: `{key}` {message}")]
    Value {
        /// Dotted key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Top-level keys accepted from `CPU_GATEWAY_*` environment variables.
const ENV_KEYS: &[&str] = &[
    "listen",
    "mode",
    "simulator_listen",
    "data_dir",
    "database_url",
    "database_max_connections",
    "master_key",
    "master_key_version",
    "public_url",
    "nxtport",
    "budget",
    "redis_url",
    "replica_id",
    "quota",
    "retry",
    "delivery",
    "notifications",
    "limits",
    "demo",
    "sources",
];

/// Command-line overrides (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--mode`.
    pub mode: Option<Mode>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

impl Settings {
    /// Build the layered figment (exposed so tests can add their own layers).
    pub fn figment(config_file: Option<&Path>, overrides: &Overrides) -> Figment {
        let mut fig = Figment::new();
        if let Some(path) = config_file {
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(Env::prefixed("CPU_GATEWAY_").split("__").filter(|k| {
                let top = k.as_str().split('.').next().unwrap_or("");
                ENV_KEYS.iter().any(|known| known.eq_ignore_ascii_case(top))
            }));
        if let Some(listen) = overrides.listen {
            fig = fig.merge(("listen", listen.to_string()));
        }
        if let Some(mode) = overrides.mode {
            fig = fig.merge(("mode", mode.as_str()));
        }
        if let Some(url) = &overrides.database_url {
            fig = fig.merge(("database_url", url.clone()));
        }
        fig
    }

    /// Load and check the settings.
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
        }
        Self::from_figment(Self::figment(config_file, overrides))
    }

    /// Extract and check settings from a figment.
    pub fn from_figment(fig: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |key, message: &str| {
            Err(ConfigError::Value {
                key,
                message: message.to_owned(),
            })
        };
        if self.budget.per_minute == 0 {
            return bad("budget.per_minute", "must be at least 1");
        }
        if self.budget.period_secs == 0 {
            return bad("budget.period_secs", "must be at least 1");
        }
        if self.budget.interactive_reserve_percent > 50 {
            return bad("budget.interactive_reserve_percent", "must be at most 50");
        }
        if self.delivery.lease_secs < 3 {
            return bad("delivery.lease_secs", "must be at least 3");
        }
        if let Some(url) = &self.redis_url {
            use secrecy::ExposeSecret;
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://"))
                || reqwest::Url::parse(url).is_err()
            {
                // The URL may contain a password: not repeated in the message.
                return bad("redis_url", "must be a redis:// or rediss:// URL");
            }
        }
        if self.delivery.concurrency == 0 {
            return bad("delivery.concurrency", "must be at least 1");
        }
        if self.delivery.per_entity_concurrency == 0 {
            return bad("delivery.per_entity_concurrency", "must be at least 1");
        }
        if self.delivery.max_attempts == 0 {
            return bad("delivery.max_attempts", "must be at least 1");
        }
        if self.limits.max_body_bytes < 1024 {
            return bad("limits.max_body_bytes", "must be at least 1024");
        }
        if self.limits.body_timeout_ms < 10 {
            return bad("limits.body_timeout_ms", "must be at least 10");
        }
        if self.notifications.retention_hours == 0 {
            return bad("notifications.retention_hours", "must be at least 1");
        }
        if self.mode != Mode::Sim && self.master_key.is_none() {
            return bad(
                "master_key",
                "is required in uat and prd mode (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)",
            );
        }
        for (key, url) in [
            ("nxtport.api_base_url", &self.nxtport.api_base_url),
            ("nxtport.token_url", &self.nxtport.token_url),
            ("public_url", &self.public_url),
        ] {
            if let Some(url) = url {
                if reqwest::Url::parse(url).is_err() {
                    return bad(key, &format!("is not a valid URL: '{url}'"));
                }
            }
        }
        Ok(())
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("gateway.db").display()))
    }

    /// Where a running sim-mode gateway's embedded simulator answers (`None` outside sim mode,
    /// with a configured simulator, or on port 0).
    pub fn embedded_simulator_url(&self) -> Option<String> {
        if self.mode != Mode::Sim || self.api_base_url().is_some() {
            return None;
        }
        let addr = self.simulator_listen;
        if addr.port() == 0 {
            return None;
        }
        let ip = if addr.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            addr.ip()
        };
        Some(format!("http://{}", SocketAddr::new(ip, addr.port())))
    }

    /// API base URL for the mode unless overridden (`None` in sim mode without override).
    pub fn api_base_url(&self) -> Option<String> {
        self.nxtport
            .api_base_url
            .clone()
            .or_else(|| self.mode.default_api_base_url().map(str::to_owned))
    }

    /// Token URL for the mode unless overridden.
    pub fn token_url(&self) -> Option<String> {
        self.nxtport
            .token_url
            .clone()
            .or_else(|| self.mode.default_token_url().map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn from_toml(toml: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    #[test]
    fn defaults_are_sim_mode_on_8081_with_sqlite() {
        let s = from_toml("").expect("defaults load");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8081");
        assert_eq!(s.mode, Mode::Sim);
        assert_eq!(s.database_url(), "sqlite://.cpu-gateway/gateway.db");
        assert_eq!(s.budget.per_minute, 500);
        assert_eq!(s.notifications.retention_hours, 168);
        assert_eq!(s.api_base_url(), None);
    }

    #[test]
    fn unknown_key_is_rejected_and_named() {
        let err = from_toml("[budget]\nper_minut = 3\n").expect_err("typo must fail");
        let msg = err.to_string();
        assert!(msg.contains("per_minut"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = from_toml("[budget]\nper_minute = \"many\"\n").expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("per_minute"), "{msg}");
    }

    #[test]
    fn uat_requires_a_master_key_and_uses_nxtport_hosts() {
        let err = from_toml("mode = \"uat\"").expect_err("must fail");
        assert!(err.to_string().contains("master_key"), "{err}");
        let s = from_toml("mode = \"uat\"\nmaster_key = \"AAAA\"").expect("loads");
        assert_eq!(
            s.api_base_url().as_deref(),
            Some("https://api-uat.nxtport.com")
        );
        assert_eq!(
            s.token_url().as_deref(),
            Some("https://login-uat.nxtport.com/connect/token")
        );
        let s = from_toml(
            "mode = \"prd\"\nmaster_key = \"AAAA\"\n[nxtport]\napi_base_url = \"http://127.0.0.1:9\"",
        )
        .expect("loads");
        assert_eq!(s.api_base_url().as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(
            s.token_url().as_deref(),
            Some("https://login.nxtport.com/connect/token")
        );
    }

    #[test]
    fn master_key_is_redacted_in_debug() {
        let s = from_toml("master_key = \"c2VjcmV0LWtleS1tYXRlcmlhbA==\"").expect("loads");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("c2VjcmV0"), "{dbg}");
        assert_eq!(
            s.master_key.as_ref().map(|k| k.expose_secret().len()),
            Some(28)
        );
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn env_and_overrides_layer_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gw.toml",
                "listen = \"127.0.0.1:9000\"\n[budget]\nper_minute = 10",
            )?;
            jail.set_env("CPU_GATEWAY_BUDGET__PER_MINUTE", "20");
            jail.set_env("CPU_GATEWAY_LOG_JSON", "true");
            jail.set_env("CPU_GATEWAY_REQUIRE_SERVICES", "1");
            jail.set_env("DATABASE_URL", "postgres://127.0.0.1/test");
            let s = Settings::load(Some(Path::new("gw.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
            assert_eq!(s.budget.per_minute, 20);
            assert_eq!(s.database_url(), "postgres://127.0.0.1/test");
            jail.set_env("CPU_GATEWAY_DATABASE_URL", "sqlite://x.db");
            let over = Overrides {
                listen: Some(SocketAddr::from(([127, 0, 0, 1], 1))),
                mode: None,
                database_url: None,
            };
            let s = Settings::load(Some(Path::new("gw.toml")), &over).map_err(|e| e.to_string())?;
            assert_eq!(s.listen.to_string(), "127.0.0.1:1");
            assert_eq!(s.database_url(), "sqlite://x.db");
            Ok(())
        });
    }

    #[test]
    fn bad_url_is_rejected() {
        let err = from_toml("[nxtport]\napi_base_url = \"not a url\"").expect_err("must fail");
        assert!(err.to_string().contains("nxtport.api_base_url"), "{err}");
    }

    const EXAMPLE: &str = include_str!("../../docs/cpu-gateway.example.toml");

    /// `# key = value` and `# [table]` lines of the example, uncommented.
    fn uncommented(text: &str) -> String {
        text.lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if is_key_line(rest) || rest.starts_with('[') => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn is_key_line(line: &str) -> bool {
        line.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
    }

    /// Dotted names of every key and table in a TOML text (after [`uncommented`]).
    fn text_keys(text: &str) -> std::collections::BTreeSet<String> {
        let mut keys = std::collections::BTreeSet::new();
        let mut table = String::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("[[").or(line.strip_prefix('[')) {
                table = name.trim_end_matches(']').to_owned();
                keys.insert(table.clone());
            } else if is_key_line(line) {
                let key = line.split_once(" = ").map(|(k, _)| k).unwrap_or_default();
                keys.insert(if table.is_empty() {
                    key.to_owned()
                } else {
                    format!("{table}.{key}")
                });
            }
        }
        keys
    }

    /// Dotted names of every leaf of the serialised defaults (maps and lists are leaves).
    fn code_keys(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        match v.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, child) in map {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    code_keys(child, &name, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn the_example_file_sets_every_default_and_names_every_key() {
        // As written, it is the defaults.
        let example = from_toml(EXAMPLE).expect("the example file loads");
        let json = |s: &Settings| serde_json::to_value(s).expect("settings serialise");
        assert_eq!(json(&example), json(&Settings::default()));
        // Its optional keys, once uncommented, are real keys (deny_unknown_fields).
        let full = uncommented(EXAMPLE);
        from_toml(&full).expect("every commented key is a real key");
        // Every key of the code is in the file.
        let documented = text_keys(&full);
        let mut keys = Vec::new();
        code_keys(&json(&Settings::default()), "", &mut keys);
        let missing: Vec<_> = keys.iter().filter(|k| !documented.contains(*k)).collect();
        assert!(
            missing.is_empty(),
            "docs/cpu-gateway.example.toml lacks {missing:?}"
        );
        // And the env filter knows every top-level key.
        for key in keys.iter().filter_map(|k| k.split('.').next()) {
            if key != "retired_master_keys" {
                assert!(ENV_KEYS.contains(&key), "ENV_KEYS lacks {key}");
            }
        }
    }

    #[test]
    fn the_key_check_notices_a_missing_key() {
        let without: String = uncommented(EXAMPLE)
            .lines()
            .filter(|l| !l.starts_with("max_attempts = "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!text_keys(&without).contains("delivery.max_attempts"));
        assert!(text_keys(&without).contains("delivery.poll_interval_ms"));
        assert!(text_keys(&uncommented(EXAMPLE)).contains("sources.base_urls"));
    }
}

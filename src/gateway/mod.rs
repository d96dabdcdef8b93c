//! The gateway: the typed `/v1` API in front of NxtPort CPu (or the embedded simulator).
//!
//! Data flow of a terminal event: caller -> [`routes`] (validate, write the outbox row in the
//! same committed transaction that answers 202) -> [`worker`] (budget, token, retry) -> NxtPort
//! -> 202 `publicReferenceId` -> webhook or poll ([`intake`]) stores the notification and
//! correlates it to the operation by `publicReferenceId`.
//!
//! The code path is the same in sim, UAT and PRD mode: only the base URLs and the credentials
//! differ. In sim mode with no base URL configured, the simulator runs in-process and a demo
//! entity is connected to its PSA terminal party ([`sim`]).

pub mod check;
pub mod config;
pub mod domain;
pub mod edge;
pub mod error;
pub mod extract;
pub mod intake;
pub mod metrics;
pub mod openapi;
pub mod operator;
pub mod outbox;
pub mod routes;
pub mod sim;
pub mod state;
pub mod upstream;
pub mod worker;

pub use openapi::{document as openapi_document, GatewayApiDoc};

use crate::store::{Store, Vault, VaultKey};
use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use config::{Mode, Overrides, Settings};
use metrics::Metrics;
use secrecy::{ExposeSecret, SecretString};
use state::GatewayState;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::Instrument;
use upstream::Upstreams;

/// Arguments of `cpu-gateway serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file: every key, its default and what it does are in
    /// docs/cpu-gateway.example.toml. Every top-level key can also be set as CPU_GATEWAY_<KEY>
    /// (nested keys with `__`, e.g. CPU_GATEWAY_BUDGET__PER_MINUTE).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8081).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// sim (embedded simulator, default), uat or prd (NxtPort hosts).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Database URL (sqlite://... or postgres://...).
    #[arg(long)]
    pub database_url: Option<String>,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen,
            mode: self.mode,
            database_url: self.database_url.clone(),
        }
    }
}

/// Where a maintenance command (`token`, `vault`) finds its settings and database.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// TOML configuration file (database URL; for `vault`, the master keys too).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL (sqlite://... or postgres://...).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// The settings in force and the opened database.
    async fn open(&self) -> anyhow::Result<(Settings, Store)> {
        let overrides = Overrides {
            database_url: self.database_url.clone(),
            ..Overrides::default()
        };
        let settings = Settings::load(self.config.as_deref(), &overrides)?;
        let store =
            Store::connect_with(&settings.database_url(), settings.database_max_connections)
                .await
                .context("opening the database")?;
        Ok((settings, store))
    }
}

/// Arguments of `cpu-gateway token`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// Settings and database.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `cpu-gateway token ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token (the entity is created if missing); the token is printed once.
    Create {
        /// Entity (company) name.
        #[arg(long)]
        entity: String,
        /// viewer (read), editor (read + write) or support (any entity, audited).
        #[arg(long, value_enum, default_value = "editor")]
        role: crate::store::Role,
        /// Free label (who or what uses the token).
        #[arg(long)]
        label: Option<String>,
    },
    /// List an entity's tokens (never the tokens themselves).
    List {
        /// Entity name.
        #[arg(long)]
        entity: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `token list`).
        #[arg(long)]
        id: String,
    },
    /// Issue a new webhook secret for an entity and print its webhook URL (old secret stops working).
    Webhook {
        /// Entity name.
        #[arg(long)]
        entity: String,
        /// Public base URL of the gateway (default: public_url or http://<listen>).
        #[arg(long)]
        public_url: Option<String>,
    },
}

/// Arguments of `cpu-gateway vault`.
#[derive(Debug, Clone, clap::Args)]
pub struct VaultArgs {
    /// Settings (master key, its version, retired keys) and database.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: VaultCommand,
}

/// `cpu-gateway vault ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum VaultCommand {
    /// Re-encrypt every stored credential under the current master key version (after
    /// configuring a new `master_key` + `master_key_version` with the old key in
    /// `retired_master_keys`); each row rewritten is audited as `credentials.rotate`.
    Rotate,
}

/// `cpu-gateway vault ...`.
pub async fn vault(args: VaultArgs) -> anyhow::Result<()> {
    let (settings, store) = args.store.open().await?;
    match args.command {
        VaultCommand::Rotate => {
            let vault = vault_of(&settings, store.clone())?;
            let n = vault.rotate().await?;
            eprintln!(
                "{n} credential(s) re-encrypted under master key version {}",
                settings.master_key_version
            );
        }
    }
    store.close().await;
    Ok(())
}

/// The master key: configured, or (sim mode only) read from / generated into the data dir.
pub fn master_key(settings: &Settings) -> anyhow::Result<VaultKey> {
    if let Some(k) = &settings.master_key {
        return VaultKey::from_base64(k)
            .map_err(|e| anyhow::anyhow!("invalid configuration: `master_key` {e}"));
    }
    if settings.mode != Mode::Sim {
        anyhow::bail!("invalid configuration: `master_key` is required in uat and prd mode");
    }
    let path = settings.data_dir.join("master.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading master key {}", path.display()))?;
        return VaultKey::from_base64(&SecretString::from(text))
            .map_err(|e| anyhow::anyhow!("{}: master key {e}", path.display()));
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let (key, b64) = VaultKey::generate();
    write_private(&path, b64.expose_secret())?;
    tracing::warn!(
        path = %path.display(),
        "sim mode: generated a new master key (file mode 0600); set CPU_GATEWAY_MASTER_KEY in uat/prd"
    );
    Ok(key)
}

/// Write a file readable by its owner only (0600), failing if it exists.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()?;
    Ok(())
}

fn vault_of(settings: &Settings, store: Store) -> anyhow::Result<Vault> {
    let key = master_key(settings)?;
    let mut retired = Vec::new();
    for r in &settings.retired_master_keys {
        let k = VaultKey::from_base64(&r.key).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: `retired_master_keys` version {}: {e}",
                r.version
            )
        })?;
        retired.push((r.version, k));
    }
    Ok(Vault::new(store, settings.master_key_version, key, retired))
}

/// A running gateway server with its background tasks.
pub struct Application {
    port: u16,
    server: Server,
    state: Arc<GatewayState>,
    simulator_port: Option<u16>,
    demo: Option<sim::DemoSetup>,
}

impl Application {
    /// Connect the store, bind `settings.listen` (port 0 in tests), start the embedded simulator
    /// in sim mode, spawn the delivery worker, the poller and the pruner, and build the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store =
            Store::connect_with(&settings.database_url(), settings.database_max_connections)
                .await
                .context("opening the database")?;
        let vault = vault_of(&settings, store.clone())?;
        let metrics = Metrics::new();
        let upstreams = Upstreams::new(&settings, vault.clone(), &metrics)?;
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let embed_simulator = settings.mode == Mode::Sim && settings.api_base_url().is_none();
        let demo_wanted = embed_simulator && settings.demo;
        let sources_settings = settings.sources.clone();
        let configured_sim_base = (settings.mode == Mode::Sim)
            .then(|| settings.api_base_url().map(|u| u.to_string()))
            .flatten();
        let state = Arc::new(GatewayState::new(
            settings, store, vault, metrics, upstreams, public_url,
        ));

        let mut simulator_port = None;
        if embed_simulator {
            let sim_listen = state.settings.simulator_listen;
            let sim_app = crate::simulate::Application::build(
                crate::simulate::SimConfig::default(),
                &sim_listen.to_string(),
            )
            .await
            .with_context(|| {
                format!(
                    "starting the embedded simulator on {sim_listen} (set `simulator_listen` or \
                     CPU_GATEWAY_SIMULATOR_LISTEN to another address, port 0 for any)"
                )
            })?;
            let port = sim_app.port();
            let base = format!("http://{}:{port}", sim_listen.ip());
            state.upstreams.set_base_urls(
                base.clone(),
                format!("{base}{}", cpu_contract::paths::TOKEN),
            );
            tokio::spawn(async move {
                if let Err(e) = sim_app.run_until_stopped().await {
                    tracing::error!(error = %e, "embedded simulator stopped");
                }
            });
            tracing::info!(%base, "sim mode: embedded CPu simulator started");
            simulator_port = Some(port);
        }

        // Data Sources: terminal base URLs not configured point at the simulator's emulations
        // in sim mode (embedded or configured); in uat/prd they must be configured.
        let sim_base = simulator_port
            .map(|p| format!("http://{}:{p}", state.settings.simulator_listen.ip()))
            .or(configured_sim_base);
        let mut sources_settings = match &sim_base {
            Some(base) => sources_settings.with_simulator(base),
            None => sources_settings,
        };
        // The NxtPort CPu source calls the gateway's NxtPort (same URLs unless configured
        // apart) through the gateway's clients: one budget and token cache per key.
        if let (Some(api), Some(token)) =
            (state.upstreams.api_base_url(), state.upstreams.token_url())
        {
            let t = crate::sources::Terminal::Nxtport;
            if let std::collections::hash_map::Entry::Vacant(e) =
                sources_settings.base_urls.entry(t)
            {
                e.insert(api);
                sources_settings.nxtport_token_url.get_or_insert(token);
            }
        }
        let sources = crate::sources::Sources::with_nxtport(
            state.store.clone(),
            state.vault.clone(),
            &sources_settings,
            state.upstreams.clients(),
        )
        .context("building Data Sources")?
        .on_nxtport_changed({
            let state = Arc::clone(&state);
            Arc::new(move |entity_id: &str| state.upstreams.forget(entity_id))
        });
        if sources_settings.scheduler {
            sources.spawn_scheduler();
        }

        let data = web::Data::from(Arc::clone(&state));
        let auth = web::Data::from(Arc::clone(&state.auth));
        let body_timeout = std::time::Duration::from_millis(state.settings.limits.body_timeout_ms);
        let console = web::Data::new(crate::console::Console::new(&state.public_url.read()));
        let console_routes = crate::console::configure(console, sources.clone());
        let routes = Arc::new(edge::RoutePatterns::default());
        let server = HttpServer::new(move || {
            let routes = Arc::clone(&routes);
            App::new()
                .app_data(data.clone())
                .app_data(auth.clone())
                .configure(edge::configure_extractors)
                // The request edge: body deadline (408) and one envelope for every refusal.
                .wrap_fn(move |mut req, srv| {
                    let timed_out = edge::start_body_deadline(&mut req, body_timeout);
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        Ok(if timed_out() {
                            edge::timed_out(res)
                        } else {
                            edge::envelope_refusal(res)
                        })
                    }
                })
                .wrap_fn(move |req, srv| {
                    // Access log and request counter. The route pattern is shared by both
                    // (kept per static path, see RoutePatterns); the span's fields and the log
                    // line are only computed when INFO is enabled (RUST_LOG=warn makes them free).
                    let started = std::time::Instant::now();
                    let route = routes.of(&req);
                    let span = tracing::info_span!(
                        "request",
                        method = %req.method(),
                        route = &*route,
                        request_id = %uuid::Uuid::new_v4(),
                    );
                    let counter = req
                        .app_data::<web::Data<GatewayState>>()
                        .map(|s| (s.metrics.requests.clone(), req.method().clone(), route));
                    let fut = span.in_scope(|| srv.call(req));
                    async move {
                        let res = fut.await?;
                        let status = res.status();
                        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
                        if status.is_server_error() {
                            tracing::warn!(status = status.as_u16(), elapsed_ms, "request failed");
                        } else {
                            tracing::info!(status = status.as_u16(), elapsed_ms, "request");
                        }
                        if let Some((requests, method, route)) = counter {
                            requests
                                .with_label_values(&[method.as_str(), &*route, status.as_str()])
                                .inc();
                        }
                        Ok(res)
                    }
                    .instrument(span)
                })
                // The console (`/`, `/console`) and the offline API docs (`/docs`).
                .configure(console_routes.clone())
                .configure(crate::docs_ui::configure("/openapi.json"))
                // Data Sources first: the gateway's `/v1` scope would answer 404 for its paths.
                .configure(crate::sources::configure_with(sources.clone()))
                .configure(routes::configure)
                .default_service(web::to(edge::fallback))
        })
        .listen(listener)?
        .disable_signals()
        .run();

        tokio::spawn(worker::run(Arc::clone(&state)));
        tokio::spawn(intake::run_poller(Arc::clone(&state)));
        tokio::spawn(intake::run_pruner(Arc::clone(&state)));

        let demo = if demo_wanted {
            match sim::setup_demo(&state).await {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "sim mode: demo setup failed");
                    None
                }
            }
        } else {
            None
        };

        Ok(Self {
            port: addr.port(),
            server,
            state,
            simulator_port,
            demo,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests, embedding).
    pub fn state(&self) -> Arc<GatewayState> {
        Arc::clone(&self.state)
    }

    /// Port of the embedded simulator (sim mode without a configured base URL).
    pub fn simulator_port(&self) -> Option<u16> {
        self.simulator_port
    }

    /// What the sim-mode demo setup created (entity, token).
    pub fn demo(&self) -> Option<&sim::DemoSetup> {
        self.demo.as_ref()
    }

    /// Serve until stopped (Ctrl-C stops gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                handle.stop(true).await;
            }
        });
        self.server.await
    }
}

/// `cpu-gateway serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(args.config.as_deref(), &args.overrides())?;
    tracing::info!(
        mode = settings.mode.as_str(),
        listen = %settings.listen,
        database = %redact_url(&settings.database_url()),
        "starting cpu-gateway"
    );
    let app = Application::build(settings).await?;
    let port = app.port();
    tracing::info!(
        "gateway listening on http://127.0.0.1:{port} (console: /console, API docs: /docs, OpenAPI: /openapi.json)"
    );
    let simulator = app
        .simulator_port()
        .map(|p| format!("http://{}:{p}", app.state.settings.simulator_listen.ip()));
    println!("Console: http://127.0.0.1:{port}/console (sign in with a gateway token)");
    if let Some(demo) = app.demo() {
        println!("{}", demo.banner(port, simulator.as_deref()));
    } else if let Some(sim) = &simulator {
        println!("Embedded CPu simulator: {sim} (parties: {sim}/simulator/v1/parties)");
    }
    app.run_until_stopped().await?;
    Ok(())
}

/// A database URL without its password.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `cpu-gateway token ...`.
pub async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let (settings, store) = args.store.open().await?;
    match args.command {
        TokenCommand::Create {
            entity,
            role,
            label,
        } => {
            let name = entity.trim();
            if name.is_empty() || name.len() > 100 {
                anyhow::bail!("--entity must be 1 to 100 characters");
            }
            let (e, created) = store.ensure_entity(name).await?;
            let (info, secret) = store.create_token(&e.id, role, label.as_deref()).await?;
            crate::store::AuditLog::record(
                &store,
                &crate::store::Actor::system(e.id.clone()),
                &crate::store::AuditRecord {
                    action: "token.create",
                    target: &info.id,
                    outcome: "ok",
                    detail: Some(serde_json::json!({"role": role.as_str(), "via": "cli"})),
                },
            )
            .await?;
            if created {
                eprintln!("created entity '{name}' ({})", e.id);
            }
            eprintln!(
                "token {} ({}) for entity '{name}'; it is shown once, store it now:",
                info.id,
                role.as_str()
            );
            println!("{}", secret.expose_secret());
        }
        TokenCommand::List { entity } => {
            let e = store
                .entity_by_name(entity.trim())
                .await?
                .with_context(|| format!("no entity named '{entity}'"))?;
            for t in store.tokens(&e.id).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.role.as_str(),
                    t.label.as_deref().unwrap_or("-"),
                    t.created_at.to_rfc3339(),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if store.revoke_token(id.trim()).await? {
                eprintln!("token {id} revoked");
            } else {
                anyhow::bail!("no active token with id {id}");
            }
        }
        TokenCommand::Webhook { entity, public_url } => {
            let e = store
                .entity_by_name(entity.trim())
                .await?
                .with_context(|| format!("no entity named '{entity}'"))?;
            let secret = store.rotate_webhook_secret(&e.id).await?;
            let base = public_url
                .or(settings.public_url.clone())
                .unwrap_or_else(|| format!("http://{}", settings.listen));
            if let Some(sim) = settings.embedded_simulator_url() {
                // A running sim-mode gateway: its embedded simulator gets the new secret too.
                match sim::rotate_simulator_webhooks(&sim, &e.id, &secret).await {
                    Ok(0) => {}
                    Ok(n) => eprintln!(
                        "the embedded simulator at {sim} now sends the new secret ({n} registration(s))"
                    ),
                    Err(err) => eprintln!(
                        "note: the embedded simulator at {sim} was not updated ({err:#}); \
                         it registers the gateway's webhook again at the next start"
                    ),
                }
            }
            eprintln!("webhook for entity '{}' (configure in NxtPort's notification channel; header Authorization: Bearer <secret>):", e.name);
            println!(
                "{}/v1/webhooks/nxtport/{}\n{}",
                base.trim_end_matches('/'),
                e.id,
                secret.expose_secret()
            );
        }
    }
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_mode_generates_a_private_master_key_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = Settings {
            data_dir: dir.path().join("data"),
            ..Settings::default()
        };
        let a = master_key(&settings).expect("generate");
        let b = master_key(&settings).expect("reuse");
        let _ = (a, b);
        let path = settings.data_dir.join("master.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let uat = Settings {
            mode: Mode::Uat,
            ..settings
        };
        assert!(master_key(&uat).is_err());
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}

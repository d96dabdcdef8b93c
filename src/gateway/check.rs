//! `cpu-gateway check`: the go-live check.
//!
//! Before the first real event, a terminal operator wants to know whether the gateway's
//! configuration, its database and each entity's NxtPort connection (password grant, subscription
//! key, ingestion id, terminal code) work. Every probe is read-only or harmless: the password
//! grant, a company search, and an ingestion call with an empty body that NxtPort refuses with 400
//! *after* it has checked the ingestion id, so nothing is ingested. Each failure says what to fix;
//! the exit code is 1 when anything failed.
//!
//! In sim mode the check runs against the embedded simulator's address (`simulator_listen`) when
//! a `serve` is running there, and otherwise against a simulator it starts itself, so it passes
//! out of the box (it connects the demo entity first, as `serve` would).

use super::config::{Mode, Settings};
use super::metrics::Metrics;
use super::state::GatewayState;
use super::upstream::Upstreams;
use super::StoreArgs;
use crate::connection::{NxtPortConnection, NXTPORT_KIND};
use crate::nxtport::{CallOptions, NxtPortError};
use cpu_contract::EntitySearchQuery;
use std::fmt;
use std::sync::Arc;

/// Arguments of `cpu-gateway check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Settings and database (the same as `serve` uses).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Check only this entity's connection (default: every entity with one).
    #[arg(long)]
    pub entity: Option<String>,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It works.
    Ok(String),
    /// It does not: what is wrong, and what to do.
    Fail { problem: String, fix: String },
    /// Not checked, and why (not a failure).
    Note(String),
}

/// One line of the checklist.
#[derive(Debug, Clone)]
pub struct Item {
    /// What was checked.
    pub what: String,
    /// How it went.
    pub status: Status,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Status::Ok(m) => write!(f, "  [ok]   {}: {m}", self.what),
            Status::Note(m) => write!(f, "  [note] {}: {m}", self.what),
            Status::Fail { problem, fix } => {
                write!(f, "  [FAIL] {}: {problem}\n         fix: {fix}", self.what)
            }
        }
    }
}

/// The whole checklist.
#[derive(Debug, Default)]
pub struct Report {
    /// Items in the order they ran.
    pub items: Vec<Item>,
}

impl Report {
    fn push(&mut self, what: impl Into<String>, status: Status) {
        self.items.push(Item {
            what: what.into(),
            status,
        });
    }

    /// Failed items.
    pub fn failures(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.status, Status::Fail { .. }))
            .count()
    }
}

fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Status {
    Status::Fail {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// `cpu-gateway check`: print the checklist; `Err` (exit code 1) when anything failed.
pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let report = check(&args).await;
    for item in &report.items {
        println!("{item}");
    }
    let failed = report.failures();
    println!(
        "{} checks, {failed} failed{}",
        report.items.len(),
        if failed == 0 { ": ready." } else { "." }
    );
    anyhow::ensure!(
        failed == 0,
        "{failed} of the go-live checks failed (see above)"
    );
    Ok(())
}

/// Run every check (never returns early: a failure is a line of the report).
pub async fn check(args: &CheckArgs) -> Report {
    let mut report = Report::default();
    let overrides = super::config::Overrides {
        database_url: args.store.database_url.clone(),
        ..Default::default()
    };
    let settings = match Settings::load(args.store.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            report.push(
                "configuration",
                fail(
                    e.to_string(),
                    "correct the key (docs/cpu-gateway.example.toml lists every key)",
                ),
            );
            return report;
        }
    };
    report.push(
        "configuration",
        Status::Ok(format!("mode {}", settings.mode.as_str())),
    );

    let db = super::redact_url(&settings.database_url());
    let store = match crate::store::Store::connect_with(
        &settings.database_url(),
        settings.database_max_connections,
    )
    .await
    {
        Ok(store) => match store.ping().await {
            Ok(()) => {
                report.push(
                    format!("database {db}"),
                    Status::Ok("reachable, migrations applied".into()),
                );
                store
            }
            Err(e) => {
                report.push(
                    format!("database {db}"),
                    fail(e.to_string(), "check database_url and that the server runs"),
                );
                return report;
            }
        },
        Err(e) => {
            report.push(
                format!("database {db}"),
                fail(
                    format!("{e:#}"),
                    "check database_url (sqlite://PATH or postgres://USER@HOST:PORT/DB) and that the server runs",
                ),
            );
            return report;
        }
    };
    let vault = match super::vault_of(&settings, store.clone()) {
        Ok(v) => v,
        Err(e) => {
            report.push(
                "master key",
                fail(
                    format!("{e:#}"),
                    "set master_key (CPU_GATEWAY_MASTER_KEY) to the base64 key the credentials were stored with",
                ),
            );
            return report;
        }
    };
    let metrics = Metrics::new();
    let upstreams = match Upstreams::new(&settings, vault.clone(), &metrics) {
        Ok(u) => u,
        Err(e) => {
            report.push("NxtPort client", fail(format!("{e:#}"), "check [budget]"));
            return report;
        }
    };
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen));
    check_webhook_url(&settings, &public_url, &mut report).await;

    let state = Arc::new(GatewayState::new(
        settings.clone(),
        store,
        vault,
        metrics,
        upstreams,
        public_url,
    ));
    // Sim mode: the simulator `serve` runs, or one of our own for the length of the check.
    let _simulator = if settings.mode == Mode::Sim && settings.api_base_url().is_none() {
        match sim_upstream(&state, &mut report).await {
            Some(guard) => Some(guard),
            None => return report,
        }
    } else {
        None
    };

    let entities = match state.store.entities().await {
        Ok(e) => e,
        Err(e) => {
            report.push("entities", fail(e.to_string(), "check the database"));
            return report;
        }
    };
    let mut checked = 0;
    for entity in entities {
        if args
            .entity
            .as_deref()
            .is_some_and(|want| want != entity.name)
        {
            continue;
        }
        let public = match state.vault.public_fields(&entity.id, NXTPORT_KIND).await {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                report.push(
                    format!("entity {}", entity.name),
                    fail(e.to_string(), "check the database"),
                );
                continue;
            }
        };
        checked += 1;
        check_entity(&state, &entity.name, &entity.id, public, &mut report).await;
    }
    if checked == 0 {
        let which = args
            .entity
            .as_deref()
            .map(|e| format!("entity '{e}' has"))
            .unwrap_or_else(|| "no entity has".to_owned());
        report.push(
            "NxtPort connections",
            fail(
                format!("{which} a NxtPort CPu connection"),
                "save one with PUT /v1/connections/nxtport (an editor token of the entity) and run the check again",
            ),
        );
    }
    report
}

/// NxtPort must reach the webhook: in uat/prd a public HTTPS address.
async fn check_webhook_url(settings: &Settings, public_url: &str, report: &mut Report) {
    let what = format!("webhook URL {public_url}");
    let Ok(url) = reqwest::Url::parse(public_url) else {
        report.push(what, fail("not a URL", "set public_url"));
        return;
    };
    if settings.mode != Mode::Sim {
        let local = url
            .host_str()
            .is_none_or(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]");
        if url.scheme() != "https" || local {
            report.push(
                what,
                fail(
                    "NxtPort cannot deliver notifications to a local or plain-HTTP address",
                    "set public_url to the HTTPS address at which NxtPort reaches this gateway (notifications are also polled, but later)",
                ),
            );
            return;
        }
    }
    let health = format!("{}/health", public_url.trim_end_matches('/'));
    let reached = match http_client() {
        Ok(c) => c
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
        Err(_) => false,
    };
    report.push(
        what,
        if reached {
            Status::Ok("a running gateway answers there".into())
        } else {
            Status::Note("no gateway answers there now (start `cpu-gateway serve` to check that it is reachable)".into())
        },
    );
}

fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
}

/// Keeps a simulator started by the check alive until dropped.
struct SimGuard(Option<tokio::task::JoinHandle<()>>);

impl Drop for SimGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Point the upstreams at the running embedded simulator, or start one; connect the demo
/// entity when nothing is connected yet.
async fn sim_upstream(state: &Arc<GatewayState>, report: &mut Report) -> Option<SimGuard> {
    let listen = state.settings.simulator_listen;
    let running = format!("http://{listen}");
    let (base, guard, how) = if super::sim::parties(&running, None).await.is_ok() {
        (running, SimGuard(None), "the one `serve` runs")
    } else {
        match crate::simulate::Application::build(
            crate::simulate::SimConfig::default(),
            "127.0.0.1:0",
        )
        .await
        {
            Ok(app) => {
                let base = format!("http://127.0.0.1:{}", app.port());
                let task = tokio::spawn(async move {
                    let _ = app.run_until_stopped().await;
                });
                (base, SimGuard(Some(task)), "started for this check")
            }
            Err(e) => {
                report.push(
                    "embedded simulator",
                    fail(format!("{e:#}"), "free a loopback port"),
                );
                return None;
            }
        }
    };
    state.upstreams.set_base_urls(
        base.clone(),
        format!("{base}{}", cpu_contract::paths::TOKEN),
    );
    report.push("embedded simulator", Status::Ok(format!("{base} ({how})")));
    if state.settings.demo {
        if let Err(e) = ensure_demo_connection(state, &base).await {
            report.push(
                "demo connection",
                fail(format!("{e:#}"), "run `cpu-gateway serve` once"),
            );
        }
    }
    Some(guard)
}

async fn ensure_demo_connection(state: &GatewayState, base: &str) -> anyhow::Result<()> {
    let (entity, _) = state.store.ensure_entity(super::sim::DEMO_ENTITY).await?;
    if state
        .vault
        .public_fields(&entity.id, NXTPORT_KIND)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let party = super::sim::parties(base, None)
        .await?
        .into_iter()
        .find(|p| p.key == super::sim::DEMO_PARTY)
        .ok_or_else(|| anyhow::anyhow!("the simulator has no demo party"))?;
    super::sim::connect_entity(state, &entity.id, &party, "BEANR").await
}

/// The probes of one entity's NxtPort connection.
async fn check_entity(
    state: &GatewayState,
    name: &str,
    entity_id: &str,
    public: serde_json::Value,
    report: &mut Report,
) {
    let prefix = format!("entity '{name}'");
    let conn = match NxtPortConnection::from_public(&public) {
        Ok(c) => c,
        Err(e) => {
            report.push(
                format!("{prefix} connection"),
                fail(
                    format!("the stored connection is incomplete: {e}"),
                    "save it again with PUT /v1/connections/nxtport",
                ),
            );
            return;
        }
    };
    let link = match state.upstreams.link(entity_id).await {
        Ok(l) => l,
        Err(e) => {
            report.push(
                format!("{prefix} connection"),
                fail(
                    e.to_string(),
                    "save the connection again with PUT /v1/connections/nxtport",
                ),
            );
            return;
        }
    };
    let client = &link.client;
    let options = CallOptions::default();

    // 1. The password grant (client id and secret, username and password).
    match client
        .search_entities(
            &EntitySearchQuery {
                entity_name: Some("go-live check".into()),
                page_size: Some(1),
                ..Default::default()
            },
            &options,
        )
        .await
    {
        Ok(_) => {
            report.push(
                format!("{prefix} password grant ({})", conn.username.as_str()),
                Status::Ok("token issued".into()),
            );
            report.push(
                format!("{prefix} subscription key"),
                Status::Ok("accepted (a company search answered)".into()),
            );
        }
        Err(e @ NxtPortError::Token { .. }) => {
            report.push(
                format!("{prefix} password grant ({})", conn.username.as_str()),
                fail(e.to_string(), token_fix(&e)),
            );
            return;
        }
        Err(e) => {
            report.push(
                format!("{prefix} password grant ({})", conn.username.as_str()),
                Status::Ok("token issued".into()),
            );
            let fix = match e.status() {
                Some(401 | 403) => "check apiKey: the subscription key of this company's NxtPort subscription (NxtPort's developer portal, CPu product)",
                None => "NxtPort could not be reached: check nxtport.api_base_url and the network",
                _ => "see NxtPort's answer above",
            };
            report.push(
                format!("{prefix} subscription key"),
                fail(e.to_string(), fix),
            );
            return;
        }
    }

    // 2. The ingestion id: an empty body, refused with 400 after the id was checked.
    let what = format!("{prefix} ingestion id {}", conn.ingestion_id.as_str());
    match client.probe_ingestion(conn.ingestion_id.as_str()).await {
        Err(e) if e.status() == Some(400) => report.push(
            what,
            Status::Ok(
                "accepted (an empty test event was refused for its body, not its id)".into(),
            ),
        ),
        Err(e) => report.push(
            what,
            fail(
                e.to_string(),
                "check ingestionId: the GUID NxtPort gave your terminal for the ingestion API",
            ),
        ),
        Ok(_) => report.push(
            what,
            fail(
                "NxtPort accepted an empty event",
                "report this: the probe expects a 400",
            ),
        ),
    }

    // 3. Terminal code and port: their shape here; NxtPort checks ownership only on a write.
    let code_ok = (1..=8).contains(&conn.terminal_code.as_str().len());
    report.push(
        format!("{prefix} terminal code {}", conn.terminal_code.as_str()),
        if code_ok {
            Status::Note(
                "well formed; NxtPort confirms that it is yours only when it handles a write (a foreign code is refused in the operation's notification)".into(),
            )
        } else {
            fail(
                "not a terminal code",
                "set terminalCode to your terminal's code (PSA Antwerp: 869)",
            )
        },
    );
    report.push(
        format!("{prefix} port {}", conn.port_lo_code.as_str()),
        Status::Ok("a UN/LOCODE".into()),
    );
}

fn token_fix(e: &NxtPortError) -> &'static str {
    match e {
        NxtPortError::Token { error, .. } if error == "invalid_client" => {
            "check clientId and clientSecret (the OAuth client NxtPort issued to your software)"
        }
        NxtPortError::Token { error, .. } if error == "invalid_grant" => {
            "check username and password (the NxtPort user of this company)"
        }
        _ => "check the credentials and nxtport.token_url",
    }
}

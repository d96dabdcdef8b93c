//! Emulations of the five terminal APIs behind Data Sources, served under `/emulations/{terminal}/...`.
//! They live on the simulator side; what they share with the adapters is in [`crate::terminals`].
//!
//! T-Mining SCR follows its public developer documentation: JWT bearer login, `onRelease` webhooks
//! with the documented body (sent by the emulation to a receiver on request), and the release
//! object to GET after each one. PSA and DP World also write their container moves as UN/EDIFACT
//! COARRI/CODECO interchanges (`GET /emulations/{psa,dpworld}/edifact`). PSA E-Portal, DP World E-Portal, MPET
//! Connect and ECT MyTerminal publish no API: their emulations reproduce the authentication scheme
//! the seed names (session login, UUID + token headers, OAuth client credentials + subscription
//! key) and an event feed in a vocabulary of their own. They are emulations, not copies (see
//! docs/ASSUMPTIONS.md); the adapters take their base URLs from configuration so a real endpoint
//! can be configured at onboarding.
//!
//! Every feed is generated lazily and deterministically ([`feed`]), so an account can hold
//! 100,000+ events at no memory cost. Accounts and faults are managed through a small control API:
//! `GET|POST /emulations/{terminal}/accounts`, `GET|POST|DELETE /emulations/{terminal}/faults`,
//! `GET /emulations/{terminal}/stats`.
//!
//! Mount with [`configure_emulations`]: `app.configure(|c| configure_emulations(c, state.clone()))`,
//! building the [`EmulationsState`] once, outside `HttpServer::new`.

pub mod faults;
pub mod feed;

mod dpworld;
mod ect;
mod mpet;
mod psa;
mod tmining;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use self::faults::{FaultKind, FaultSpec, Faults, Phase};
pub use self::tmining::release_address as tmining_release_address;
use crate::terminals::Terminal;

/// The terminals that have an emulation here (NxtPort CPu is the simulator's own surface).
pub const EMULATED: [Terminal; 5] = [
    Terminal::Psa,
    Terminal::Dpworld,
    Terminal::Mpet,
    Terminal::Tmining,
    Terminal::Ect,
];

/// Largest page a feed returns.
pub const MAX_PAGE: u64 = 1_000;
/// Page size when the caller gives none.
pub const DEFAULT_PAGE: u64 = 500;
/// Events of an account created without `events`.
pub const DEFAULT_EVENTS: u64 = 300;
/// Seed of the demo accounts: shared, so the demo containers appear at every terminal.
pub const DEMO_SEED: u64 = 2026;

/// One account at an emulated terminal. Test tooling: the control API shows its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Username (PSA, DP World, T-Mining), application UUID (MPET) or client id (ECT).
    pub identifier: String,
    /// Password, API token or client secret.
    pub secret: String,
    /// ECT only: the subscription key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_key: Option<String>,
    /// ECT only: extended permissions approved by the terminal.
    #[serde(default)]
    pub extended_approved: bool,
    /// Seed of the account's feed; equal seeds share containers.
    pub seed: u64,
    /// Number of events in the feed (raise it to let new events "arrive").
    pub events: u64,
}

/// Body of `POST /emulations/{terminal}/accounts`: create or update (by identifier).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountInput {
    pub identifier: Option<String>,
    pub secret: Option<String>,
    pub subscription_key: Option<String>,
    pub extended_approved: Option<bool>,
    pub seed: Option<u64>,
    pub events: Option<u64>,
}

/// Request counters of one terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub auth_calls: u64,
    pub data_calls: u64,
    pub events_served: u64,
}

#[derive(Debug, Default)]
struct TerminalEmu {
    accounts: Mutex<HashMap<String, Account>>,
    sessions: Mutex<HashMap<String, String>>,
    faults: Mutex<Faults>,
    /// T-Mining only: the release objects by address, with the feed position they stand at
    /// (bounded). A release only moves forward: sending old events again does not rewind it.
    releases: Mutex<HashMap<String, (u64, serde_json::Value)>>,
    auth_calls: AtomicU64,
    data_calls: AtomicU64,
    events_served: AtomicU64,
}

/// Shared state of all emulations. Cheap to clone; build it once per process.
#[derive(Debug, Clone)]
pub struct EmulationsState {
    terminals: Arc<HashMap<Terminal, TerminalEmu>>,
}

impl Default for EmulationsState {
    fn default() -> Self {
        Self::new()
    }
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect()
}

fn demo_account(t: Terminal) -> Account {
    let (identifier, secret) = match t {
        Terminal::Psa => ("demo-psa", "psa-demo-password"),
        Terminal::Dpworld => ("demo-dpworld", "dpworld-demo-password"),
        Terminal::Mpet => ("6f1c3c1e-5a8d-4c1e-9d2b-00000000d001", "mpet-demo-token"),
        Terminal::Tmining => ("demo@tmining.example", "tmining-demo-password"),
        Terminal::Ect | Terminal::Nxtport => ("demo-ect-client", "ect-demo-secret"),
    };
    Account {
        identifier: identifier.into(),
        secret: secret.into(),
        subscription_key: (t == Terminal::Ect).then(|| "ect-demo-subscription-key".into()),
        extended_approved: true,
        seed: DEMO_SEED,
        events: DEFAULT_EVENTS,
    }
}

impl EmulationsState {
    /// All five emulations, each with one demo account (see `GET /emulations/{terminal}/accounts`).
    pub fn new() -> Self {
        let terminals = EMULATED
            .into_iter()
            .map(|t| {
                let emu = TerminalEmu::default();
                let a = demo_account(t);
                emu.accounts
                    .lock()
                    .insert(a.identifier.to_ascii_lowercase(), a);
                (t, emu)
            })
            .collect();
        Self {
            terminals: Arc::new(terminals),
        }
    }

    fn emu(&self, t: Terminal) -> Option<&TerminalEmu> {
        self.terminals.get(&t)
    }

    /// Create or update an account (by identifier, case-insensitive).
    pub fn upsert_account(&self, t: Terminal, input: AccountInput) -> Option<Account> {
        let emu = self.emu(t)?;
        let mut accounts = emu.accounts.lock();
        let identifier = input
            .identifier
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                if t == Terminal::Mpet {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    format!("user-{}", random_hex(4))
                }
            });
        let key = identifier.to_ascii_lowercase();
        let existing = accounts.get(&key).cloned();
        let seed = input
            .seed
            .or(existing.as_ref().map(|a| a.seed))
            .unwrap_or_else(|| feed::mix(random_hex(8).len() as u64 ^ rand::random::<u64>()));
        let account = Account {
            secret: input
                .secret
                .or(existing.as_ref().map(|a| a.secret.clone()))
                .unwrap_or_else(|| random_hex(12)),
            subscription_key: if t == Terminal::Ect {
                Some(
                    input
                        .subscription_key
                        .or(existing.as_ref().and_then(|a| a.subscription_key.clone()))
                        .unwrap_or_else(|| random_hex(16)),
                )
            } else {
                None
            },
            extended_approved: input
                .extended_approved
                .or(existing.as_ref().map(|a| a.extended_approved))
                .unwrap_or(false),
            seed,
            events: input
                .events
                .or(existing.as_ref().map(|a| a.events))
                .unwrap_or(DEFAULT_EVENTS),
            identifier,
        };
        accounts.insert(key, account.clone());
        Some(account)
    }

    pub fn accounts(&self, t: Terminal) -> Vec<Account> {
        let mut v: Vec<_> = self
            .emu(t)
            .map(|e| e.accounts.lock().values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        v
    }

    pub fn add_fault(&self, t: Terminal, f: FaultSpec) {
        if let Some(e) = self.emu(t) {
            e.faults.lock().add(f);
        }
    }

    pub fn clear_faults(&self, t: Terminal) {
        if let Some(e) = self.emu(t) {
            e.faults.lock().clear();
        }
    }

    pub fn stats(&self, t: Terminal) -> Option<Stats> {
        self.emu(t).map(|e| Stats {
            auth_calls: e.auth_calls.load(Ordering::Relaxed),
            data_calls: e.data_calls.load(Ordering::Relaxed),
            events_served: e.events_served.load(Ordering::Relaxed),
        })
    }

    /// Apply faults (sleeping for `slow`), then count the call. `Err` is the response to send.
    async fn gate(
        &self,
        t: Terminal,
        phase: Phase,
        account: Option<&str>,
    ) -> Result<(), HttpResponse> {
        let Some(emu) = self.emu(t) else {
            return Err(error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such terminal emulation",
            ));
        };
        match phase {
            Phase::Auth => emu.auth_calls.fetch_add(1, Ordering::Relaxed),
            Phase::Data => emu.data_calls.fetch_add(1, Ordering::Relaxed),
        };
        let verdict = emu.faults.lock().judge(phase, account);
        if verdict.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(verdict.delay_ms)).await;
        }
        match verdict.fail {
            None => Ok(()),
            Some(kind) => Err(fault_response(kind, verdict.retry_after_secs)),
        }
    }

    /// The account if `identifier` + `secret` match.
    fn login(&self, t: Terminal, identifier: &str, secret: &str) -> Option<Account> {
        let emu = self.emu(t)?;
        let accounts = emu.accounts.lock();
        accounts
            .get(&identifier.trim().to_ascii_lowercase())
            .filter(|a| a.secret == secret)
            .cloned()
    }

    fn open_session(&self, t: Terminal, identifier: &str) -> String {
        let token = random_hex(24);
        if let Some(emu) = self.emu(t) {
            let mut s = emu.sessions.lock();
            if s.len() > 10_000 {
                s.clear(); // bounded: old sessions simply expire
            }
            s.insert(token.clone(), identifier.to_ascii_lowercase());
        }
        token
    }

    fn session_account(&self, t: Terminal, token: &str) -> Option<Account> {
        let emu = self.emu(t)?;
        let id = emu.sessions.lock().get(token).cloned()?;
        let a = emu.accounts.lock().get(&id).cloned();
        a
    }

    /// T-Mining: keep a release object as it now stands (bounded: the oldest go first).
    fn remember_release(&self, address: &str, index: u64, object: serde_json::Value) {
        if let Some(e) = self.emu(Terminal::Tmining) {
            let key = address.to_ascii_lowercase();
            let mut r = e.releases.lock();
            if r.len() >= 200_000 && !r.contains_key(&key) {
                r.clear(); // bounded: a test double, not a store
            }
            match r.get(&key) {
                Some((at, _)) if *at > index => {}
                _ => {
                    r.insert(key, (index, object));
                }
            }
        }
    }

    fn release(&self, address: &str) -> Option<serde_json::Value> {
        self.emu(Terminal::Tmining)?
            .releases
            .lock()
            .get(&address.to_ascii_lowercase())
            .map(|(_, o)| o.clone())
    }

    fn served(&self, t: Terminal, n: usize) {
        if let Some(e) = self.emu(t) {
            e.events_served.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// The error body every emulation uses: `{"error": code, "message": text}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": code, "message": message }))
}

pub(crate) fn invalid_credentials() -> HttpResponse {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Invalid username or password.",
    )
}

/// An RFC 7807 ProblemDetails answer (NxtPort's error shape).
pub(crate) fn problem(status: StatusCode, detail: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(serde_json::json!({
            "type": format!("https://tools.ietf.org/html/rfc7231#section-6.5.{}", match status.as_u16() { 403 => 3, 404 => 4, _ => 1 }),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        }))
}

/// An Azure API Management gateway answer: `{statusCode, message}`.
pub(crate) fn apim(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .json(serde_json::json!({ "statusCode": status.as_u16(), "message": message }))
}

fn fault_response(kind: FaultKind, retry_after_secs: Option<u64>) -> HttpResponse {
    let secs = retry_after_secs.unwrap_or(30);
    match kind {
        FaultKind::WrongPassword => invalid_credentials(),
        FaultKind::ApiNotActivated => problem(
            StatusCode::FORBIDDEN,
            "API access is not activated for this account.",
        ),
        FaultKind::QuotaExceeded => apim(
            StatusCode::FORBIDDEN,
            &format!(
                "Out of call volume quota. Quota will be replenished in {:02}:{:02}:{:02}.",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            ),
        ),
        FaultKind::RateLimited => {
            let mut r = apim(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Rate limit is exceeded. Try again in {secs} seconds."),
            );
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            r
        }
        FaultKind::ServerError => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable.",
        ),
        // `slow` never fails a request; listed for exhaustiveness.
        FaultKind::Slow => problem(StatusCode::GATEWAY_TIMEOUT, "Upstream timeout."),
    }
}

/// `?since=&limit=` of every feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct FeedQuery {
    /// Cursor returned by the previous page; absent: from the start.
    pub since: Option<String>,
    /// Page size, 1..=1000 (default 500).
    pub limit: Option<u64>,
}

impl FeedQuery {
    /// `(since, limit)` or the 400 to send.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the response to send, built once per bad request"
    )]
    pub(crate) fn parse(&self) -> Result<(u64, u64), HttpResponse> {
        let since = match self
            .since
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => 0,
            Some(s) => s.parse::<u64>().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_cursor",
                    "since must be a cursor returned by this feed",
                )
            })?,
        };
        let limit = self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        Ok((since, limit))
    }
}

#[expect(clippy::result_large_err, reason = "the error is the response to send")]
fn emulated_terminal(s: &str) -> Result<Terminal, HttpResponse> {
    Terminal::parse(s)
        .filter(|t| EMULATED.contains(t))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "unknown_terminal",
                "no emulation for this terminal (psa, dpworld, mpet, tmining, ect)",
            )
        })
}

/// List the accounts of an emulated terminal (with credentials: this is test tooling).
#[utoipa::path(get, path = "/emulations/{terminal}/accounts", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld | mpet | tmining | ect")),
    responses((status = 200, body = [Account]), (status = 404, description = "unknown terminal")))]
pub async fn list_accounts(
    state: web::Data<EmulationsState>,
    path: web::Path<String>,
) -> HttpResponse {
    match emulated_terminal(&path) {
        Ok(t) => HttpResponse::Ok().json(state.accounts(t)),
        Err(r) => r,
    }
}

/// Create an account, or update one with the same identifier.
#[utoipa::path(post, path = "/emulations/{terminal}/accounts", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld | mpet | tmining | ect")),
    request_body = AccountInput,
    responses((status = 201, body = Account), (status = 404, description = "unknown terminal")))]
pub async fn upsert_account(
    state: web::Data<EmulationsState>,
    path: web::Path<String>,
    body: web::Json<AccountInput>,
) -> HttpResponse {
    match emulated_terminal(&path) {
        Ok(t) => match state.upsert_account(t, body.into_inner()) {
            Some(a) => HttpResponse::Created().json(a),
            None => error(
                StatusCode::NOT_FOUND,
                "unknown_terminal",
                "no emulation for this terminal",
            ),
        },
        Err(r) => r,
    }
}

/// Inject a fault into one terminal's emulation.
#[utoipa::path(post, path = "/emulations/{terminal}/faults", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld | mpet | tmining | ect")),
    request_body = FaultSpec,
    responses((status = 201, body = [FaultSpec], description = "active faults"), (status = 404, description = "unknown terminal")))]
pub async fn add_fault(
    state: web::Data<EmulationsState>,
    path: web::Path<String>,
    body: web::Json<FaultSpec>,
) -> HttpResponse {
    match emulated_terminal(&path) {
        Ok(t) => {
            state.add_fault(t, body.into_inner());
            let active = state
                .emu(t)
                .map(|e| e.faults.lock().list())
                .unwrap_or_default();
            HttpResponse::Created().json(active)
        }
        Err(r) => r,
    }
}

/// The active faults of one terminal.
#[utoipa::path(get, path = "/emulations/{terminal}/faults", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld | mpet | tmining | ect")),
    responses((status = 200, body = [FaultSpec]), (status = 404, description = "unknown terminal")))]
pub async fn list_faults(
    state: web::Data<EmulationsState>,
    path: web::Path<String>,
) -> HttpResponse {
    match emulated_terminal(&path) {
        Ok(t) => HttpResponse::Ok().json(
            state
                .emu(t)
                .map(|e| e.faults.lock().list())
                .unwrap_or_default(),
        ),
        Err(r) => r,
    }
}

/// Remove every fault of one terminal.
#[utoipa::path(delete, path = "/emulations/{terminal}/faults", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld | mpet | tmining | ect")),
    responses((status = 204), (status = 404, description = "unknown terminal")))]
pub async fn clear_faults(
    state: web::Data<EmulationsState>,
    path: web::Path<String>,
) -> HttpResponse {
    match emulated_terminal(&path) {
        Ok(t) => {
            state.clear_faults(t);
            HttpResponse::NoContent().finish()
        }
        Err(r) => r,
    }
}

/// `?account=&since=&limit=` of the EDIFACT files.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EdifactQuery {
    /// The account whose feed to write (default: the demo account).
    pub account: Option<String>,
    /// First feed event (default 0).
    pub since: Option<u64>,
    /// Feed events to read, 1..=100000 (default 500); only moves become messages.
    pub limit: Option<u64>,
}

/// The container moves of an account's feed as one UN/EDIFACT interchange: discharges and loads
/// as COARRI, gate in and gate out as CODECO (D.95B, SMDG codes). What PSA and DP World exchange
/// by EDI / SFTP; test tooling (no authentication), answered as `text/plain` with the next
/// position in `X-Next-Since`.
#[utoipa::path(get, path = "/emulations/{terminal}/edifact", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld"), EdifactQuery),
    responses((status = 200, description = "the interchange", content_type = "text/plain"), (status = 404, description = "unknown terminal or account")))]
pub async fn edifact_file(
    state: web::Data<EmulationsState>,
    path: web::Path<String>,
    q: web::Query<EdifactQuery>,
) -> HttpResponse {
    let t = match emulated_terminal(&path) {
        Ok(t @ (Terminal::Psa | Terminal::Dpworld)) => t,
        Ok(_) => {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_terminal",
                "EDIFACT files are written for psa and dpworld",
            )
        }
        Err(r) => return r,
    };
    let account = match &q.account {
        Some(id) => state
            .accounts(t)
            .into_iter()
            .find(|a| a.identifier.eq_ignore_ascii_case(id)),
        None => Some(demo_account(t)),
    };
    let Some(account) = account else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such account");
    };
    let since = q.since.unwrap_or(0);
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, 100_000);
    let (evs, next) = feed::page(t, account.seed, account.events, since, limit);
    let messages: Vec<String> = evs
        .iter()
        .filter_map(|e| {
            let m = crate::terminals::edifact::Move {
                kind: e.kind,
                equipment: e.equipment.clone(),
                at: e.at,
                full: true,
                bill_of_lading: Some(format!("EMUBL{}", &e.id[..8])),
                vessel: Some(e.vessel.to_string()),
                voyage: Some(e.voyage.clone()),
                quay: Some(e.terminal_code.to_string()),
                position: None,
            };
            crate::terminals::edifact::write_message(&format!("{}", e.index + 1), &e.id, &m)
        })
        .collect();
    state.served(t, messages.len());
    let sender = match t {
        Terminal::Dpworld => "DPWORLDANTWERP",
        _ => "PSAANTWERP",
    };
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-Next-Since", next.to_string()))
        .body(crate::terminals::edifact::write_interchange(
            sender,
            &format!("{since}"),
            &messages,
        ))
}

/// Request counters of one terminal's emulation.
#[utoipa::path(get, path = "/emulations/{terminal}/stats", tag = "emulations",
    params(("terminal" = String, Path, description = "psa | dpworld | mpet | tmining | ect")),
    responses((status = 200, body = Stats), (status = 404, description = "unknown terminal")))]
pub async fn stats(state: web::Data<EmulationsState>, path: web::Path<String>) -> HttpResponse {
    match emulated_terminal(&path).map(|t| state.stats(t)) {
        Ok(Some(s)) => HttpResponse::Ok().json(s),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "unknown_terminal",
            "no emulation for this terminal",
        ),
        Err(r) => r,
    }
}

/// Mount every emulation under `/emulations/...` with `state` as shared data.
///
/// Control routes come first: a terminal's own routes are flat resources, so an unknown path under
/// `/emulations/psa/` still reaches the app's default 404.
pub fn configure_emulations(cfg: &mut web::ServiceConfig, state: EmulationsState) {
    cfg.app_data(web::Data::new(state))
        .service(
            web::resource("/emulations/{terminal}/accounts")
                .route(web::get().to(list_accounts))
                .route(web::post().to(upsert_account)),
        )
        .service(
            web::resource("/emulations/{terminal}/faults")
                .route(web::get().to(list_faults))
                .route(web::post().to(add_fault))
                .route(web::delete().to(clear_faults)),
        )
        .service(web::resource("/emulations/{terminal}/stats").route(web::get().to(stats)))
        .service(
            web::resource("/emulations/{terminal}/edifact").route(web::get().to(edifact_file)),
        );
    psa::configure(cfg);
    dpworld::configure(cfg);
    mpet::configure(cfg);
    tmining::configure(cfg);
    ect::configure(cfg);
}

/// OpenAPI of the emulations (control API and the five terminal surfaces).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_accounts, upsert_account, add_fault, list_faults, clear_faults, stats,
        psa::login, psa::events, dpworld::session, dpworld::events, mpet::me, mpet::events,
        tmining::login, tmining::releases, tmining::release, tmining::send_webhooks,
        edifact_file, ect::token, ect::events
    ),
    components(schemas(Account, AccountInput, FaultSpec, FaultKind, Stats, tmining::WebhookBurst, tmining::BurstResult)),
    tags((name = "emulations", description = "Terminal emulations for Data Sources (test doubles)"))
)]
pub struct EmulationsApiDoc;

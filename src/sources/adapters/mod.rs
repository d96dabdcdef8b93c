//! One adapter per terminal behind one trait: authenticate with the terminal's scheme, fetch
//! container events after a cursor, map them to [`NormalizedEvent`]s.
//!
//! Adapters are stateless apart from their HTTP client and base URL: a sync authenticates, pages
//! through the feed and drops the session. Errors are classified into [`SourceError`], whose
//! `user_message` is what the console shows (invalid credentials, API access not activated, IP not
//! whitelisted, terminal unavailable); no error carries a credential or a response body.

mod dpworld;
mod ect;
mod mpet;
mod nxtport;
mod psa;
mod tmining;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::catalogue::Terminal;
use super::model::NormalizedEvent;

/// The credentials of one connection, as the adapters need them.
///
/// Non-secret fields (identifier, flags) are plain; secret ones are [`SecretString`]s, so neither
/// `Debug` nor a log line can print them.
#[derive(Clone, Default)]
pub struct Credentials {
    pub public: BTreeMap<String, serde_json::Value>,
    pub secrets: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("public", &self.public)
            .field(
                "secrets",
                &self
                    .secrets
                    .keys()
                    .map(|k| (k, "[REDACTED]"))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Credentials {
    /// A non-secret text field.
    pub fn text(&self, name: &str) -> &str {
        self.public.get(name).and_then(|v| v.as_str()).unwrap_or("")
    }
    /// A secret field (expose only to put it on the wire).
    pub fn secret(&self, name: &str) -> &str {
        self.secrets
            .get(name)
            .map(|s| s.expose_secret())
            .unwrap_or("")
    }
    /// A boolean field (absent: false).
    pub fn flag(&self, name: &str) -> bool {
        self.public
            .get(name)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }
}

/// Why a terminal call failed, in terms a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked")]
    AccountLocked,
    #[error("IP address not whitelisted")]
    NotWhitelisted,
    #[error("API access not activated")]
    ApiAccessNotActivated,
    #[error("terminal unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    #[error("terminal did not answer in time")]
    Timeout,
    #[error("terminal unreachable")]
    Unreachable,
    #[error("unexpected response from terminal: {0}")]
    Protocol(String),
}

impl SourceError {
    /// Stable machine code (stored and returned in the connection state).
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::InvalidCredentials => "invalid_credentials",
            SourceError::AccountLocked => "account_locked",
            SourceError::NotWhitelisted => "ip_not_whitelisted",
            SourceError::ApiAccessNotActivated => "api_access_not_activated",
            SourceError::Unavailable { .. } => "terminal_unavailable",
            SourceError::Timeout => "terminal_timeout",
            SourceError::Unreachable => "terminal_unreachable",
            SourceError::Protocol(_) => "unexpected_response",
        }
    }

    /// What the console shows: says what happened and what to do.
    pub fn user_message(&self, terminal: Terminal) -> String {
        let name = terminal.info().name;
        match self {
            SourceError::InvalidCredentials => format!(
                "{name} rejected the credentials. Check them by logging in to the terminal's portal (no extra spaces, correct case) and save them again."
            ),
            SourceError::AccountLocked => format!(
                "{name} reports the account as locked after failed login attempts. Ask the terminal's support to unlock it, then save the credentials again."
            ),
            SourceError::NotWhitelisted => format!(
                "{name} refused the connection because our IP address is not whitelisted. Ask the terminal's support to whitelist the gateway's IP addresses."
            ),
            SourceError::ApiAccessNotActivated => format!(
                "API access is not activated for this {name} account. Contact the terminal's support to activate API access."
            ),
            SourceError::Unavailable { .. } => format!(
                "{name} is temporarily unavailable. Nothing to do on your side: the next sync retries automatically."
            ),
            SourceError::Timeout => format!(
                "{name} did not answer in time. The next sync retries automatically; contact support if this persists."
            ),
            SourceError::Unreachable => format!(
                "{name} could not be reached. The next sync retries automatically; contact support if this persists."
            ),
            SourceError::Protocol(_) => format!(
                "{name} answered in an unexpected way. The next sync retries; contact support if this persists."
            ),
        }
    }

    /// Worth retrying later without a change of credentials.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Unavailable { .. }
                | SourceError::Timeout
                | SourceError::Unreachable
                | SourceError::Protocol(_)
        )
    }
}

/// A limitation that does not stop the sync (e.g. ECT without approved extended permissions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limitation {
    pub code: String,
    pub message: String,
}

/// An authenticated session: the headers to send with data calls (marked sensitive: their
/// `Debug` is redacted).
#[derive(Debug, Clone, Default)]
pub struct Session {
    headers: HeaderMap,
    pub limitation: Option<Limitation>,
}

impl Session {
    fn with_header(mut self, name: &'static str, value: &str) -> Result<Self, SourceError> {
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| SourceError::Protocol("credential not valid in a header".into()))?;
        v.set_sensitive(true);
        self.headers.insert(HeaderName::from_static(name), v);
        Ok(self)
    }
}

/// One page of a feed.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub events: Vec<NormalizedEvent>,
    /// Cursor to store once `events` are stored.
    pub next_cursor: Option<String>,
    pub has_more: bool,
    /// Events the terminal sent that map to nothing in the model (counted, not stored).
    pub skipped: usize,
}

/// The common interface of the six adapters (dyn-compatible: futures are boxed).
pub trait SourceAdapter: Send + Sync {
    fn terminal(&self) -> Terminal;
    /// Log in / obtain a token with the terminal's scheme.
    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>>;
    /// Events after `cursor` (None: from the start), one page.
    fn fetch<'a>(
        &'a self,
        session: &'a Session,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, SourceError>>;
}

/// Where the adapters find the terminals and how patient they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptersConfig {
    /// Base URL per terminal (`psa`, `dpworld`, `mpet`, `tmining`, `ect`: the emulation or the real API;
    /// `nxtport`: the NxtPort API host, which also serves `/connect/token` in sim mode).
    pub base_urls: HashMap<Terminal, String>,
    /// NxtPort token endpoint; absent: `{base_urls.nxtport}/connect/token`.
    #[serde(default)]
    pub nxtport_token_url: Option<String>,
    /// Timeout of one HTTP call.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// Page size asked of the feeds.
    pub page_size: u32,
}

mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

impl AdaptersConfig {
    /// Every terminal at `simulator_base` (`http://host:port`): emulations under `/emulations/{t}`,
    /// NxtPort at the root.
    pub fn for_simulator(simulator_base: &str) -> Self {
        let base = simulator_base.trim_end_matches('/');
        let base_urls = Terminal::ALL
            .into_iter()
            .map(|t| {
                let url = match t {
                    Terminal::Nxtport => base.to_string(),
                    _ => format!("{base}/emulations/{}", t.as_str()),
                };
                (t, url)
            })
            .collect();
        Self {
            base_urls,
            nxtport_token_url: None,
            timeout: Duration::from_secs(10),
            page_size: 1000,
        }
    }

    fn base(&self, t: Terminal) -> String {
        self.base_urls
            .get(&t)
            .map(|s| s.trim_end_matches('/').to_string())
            .unwrap_or_default()
    }
}

impl Default for AdaptersConfig {
    fn default() -> Self {
        Self::for_simulator("http://127.0.0.1:8080")
    }
}

/// The six adapters sharing one HTTP client.
pub struct Adapters {
    by_terminal: HashMap<Terminal, Box<dyn SourceAdapter>>,
}

impl std::fmt::Debug for Adapters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapters")
            .field("terminals", &self.by_terminal.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Adapters {
    pub fn new(cfg: &AdaptersConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let h = Http {
            client,
            page_size: cfg.page_size.clamp(1, 1000),
        };
        let mut by_terminal: HashMap<Terminal, Box<dyn SourceAdapter>> = HashMap::new();
        by_terminal.insert(
            Terminal::Psa,
            Box::new(psa::Psa {
                h: h.clone(),
                base: cfg.base(Terminal::Psa),
            }),
        );
        by_terminal.insert(
            Terminal::Dpworld,
            Box::new(dpworld::DpWorld {
                h: h.clone(),
                base: cfg.base(Terminal::Dpworld),
            }),
        );
        by_terminal.insert(
            Terminal::Mpet,
            Box::new(mpet::Mpet {
                h: h.clone(),
                base: cfg.base(Terminal::Mpet),
            }),
        );
        by_terminal.insert(
            Terminal::Tmining,
            Box::new(tmining::TMining {
                h: h.clone(),
                base: cfg.base(Terminal::Tmining),
            }),
        );
        by_terminal.insert(
            Terminal::Ect,
            Box::new(ect::Ect {
                h: h.clone(),
                base: cfg.base(Terminal::Ect),
            }),
        );
        let nx_base = cfg.base(Terminal::Nxtport);
        let token_url = cfg
            .nxtport_token_url
            .clone()
            .unwrap_or_else(|| format!("{nx_base}/connect/token"));
        by_terminal.insert(
            Terminal::Nxtport,
            Box::new(nxtport::NxtPort {
                h,
                base: nx_base,
                token_url,
            }),
        );
        Ok(Self { by_terminal })
    }

    pub fn get(&self, t: Terminal) -> Option<&dyn SourceAdapter> {
        self.by_terminal.get(&t).map(|b| b.as_ref())
    }

    /// Authenticate and read one page: the connection test (`POST .../test`, background verification).
    pub async fn verify(
        &self,
        t: Terminal,
        creds: &Credentials,
    ) -> Result<Option<Limitation>, SourceError> {
        let a = self
            .get(t)
            .ok_or(SourceError::Protocol("no adapter".into()))?;
        let session = a.authenticate(creds).await?;
        // One data call proves whitelisting / API activation, which some terminals check only there.
        a.fetch(&session, Some("0"))
            .await
            .map(|_| session.limitation.clone())
    }
}

/// The HTTP client and paging settings shared by the adapters.
#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    page_size: u32,
}

/// Map a transport error.
fn transport(e: reqwest::Error) -> SourceError {
    if e.is_timeout() {
        SourceError::Timeout
    } else if e.is_connect() {
        SourceError::Unreachable
    } else if e.is_decode() {
        SourceError::Protocol("malformed body".into())
    } else {
        SourceError::Unreachable
    }
}

/// Classify a non-success answer by status and the `error` code of its JSON body.
async fn check(resp: reqwest::Response) -> Result<reqwest::Response, SourceError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.as_str())
                .map(str::to_ascii_lowercase)
        })
        .unwrap_or_default();
    Err(classify(status.as_u16(), &code))
}

fn classify(status: u16, code: &str) -> SourceError {
    match (status, code) {
        (_, "account_locked") | (423, _) => SourceError::AccountLocked,
        (_, "ip_not_whitelisted") => SourceError::NotWhitelisted,
        (_, "api_access_not_activated") => SourceError::ApiAccessNotActivated,
        (401, _) | (400, "invalid_client" | "invalid_grant" | "unauthorized_client") => {
            SourceError::InvalidCredentials
        }
        (403, _) => SourceError::ApiAccessNotActivated,
        (408, _) | (504, _) => SourceError::Timeout,
        (429, _) | (500..=599, _) => SourceError::Unavailable { status },
        (s, _) => SourceError::Protocol(format!("HTTP {s}")),
    }
}

/// Parse a JSON body into `T`; a mismatch is a protocol error (no body echoed).
async fn json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, SourceError> {
    let bytes = resp.bytes().await.map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        SourceError::Protocol(format!(
            "malformed body at line {} column {}",
            e.line(),
            e.column()
        ))
    })
}

/// Parse an RFC 3339 time; `None` when malformed (the event is then skipped, not guessed).
fn time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(401, ""), SourceError::InvalidCredentials);
        assert_eq!(
            classify(400, "invalid_client"),
            SourceError::InvalidCredentials
        );
        assert_eq!(classify(423, ""), SourceError::AccountLocked);
        assert_eq!(
            classify(403, "ip_not_whitelisted"),
            SourceError::NotWhitelisted
        );
        assert_eq!(
            classify(403, "api_access_not_activated"),
            SourceError::ApiAccessNotActivated
        );
        assert_eq!(classify(503, ""), SourceError::Unavailable { status: 503 });
        assert_eq!(classify(404, ""), SourceError::Protocol("HTTP 404".into()));
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let mut c = Credentials::default();
        c.public.insert("username".into(), "bob".into());
        c.secrets
            .insert("password".into(), SecretString::from("hunter2-very-secret"));
        let d = format!("{c:?}");
        assert!(d.contains("bob") && d.contains("REDACTED") && !d.contains("hunter2"));
        assert_eq!(c.secret("password"), "hunter2-very-secret");
    }

    #[test]
    fn session_debug_hides_headers() {
        let s = Session::default()
            .with_header("x-api-token", "tok-secret-value")
            .expect("header");
        assert!(!format!("{s:?}").contains("tok-secret-value"));
    }
}

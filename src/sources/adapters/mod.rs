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
///
/// Classified from the answers' real shapes: OAuth errors (`{error: invalid_grant}`), NxtPort's
/// RFC 7807 ProblemDetails (`{type, title, status, detail}`), Azure API Management's
/// `{statusCode, message}` (quota and rate limit messages), and `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 403 that is not a quota: API access not activated for the account (or, the seed says, the
    /// gateway's IP address not whitelisted: a terminal does not tell the two apart).
    #[error("API access not activated")]
    ApiAccessNotActivated,
    /// 403 "Out of call volume quota": the subscription's quota is used up until it is replenished.
    #[error("call volume quota exhausted")]
    QuotaExceeded { retry_after_secs: Option<u64> },
    /// 429: too many calls; `Retry-After` says when to come back.
    #[error("rate limited")]
    RateLimited { retry_after_secs: Option<u64> },
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
            SourceError::ApiAccessNotActivated => "api_access_not_activated",
            SourceError::QuotaExceeded { .. } => "quota_exceeded",
            SourceError::RateLimited { .. } => "rate_limited",
            SourceError::Unavailable { .. } => "terminal_unavailable",
            SourceError::Timeout => "terminal_timeout",
            SourceError::Unreachable => "terminal_unreachable",
            SourceError::Protocol(_) => "unexpected_response",
        }
    }

    /// What the console shows: says what happened and what to do.
    pub fn user_message(&self, terminal: Terminal) -> String {
        let name = terminal.info().name;
        let when = |s: &Option<u64>| match s {
            Some(s) => format!("in {s} s"),
            None => "later".to_string(),
        };
        match self {
            SourceError::InvalidCredentials => format!(
                "{name} rejected the credentials. Check them by logging in to the terminal's portal (no extra spaces, correct case) and save them again."
            ),
            SourceError::ApiAccessNotActivated => format!(
                "{name} refused access: API access is not activated for this account, or the gateway's IP address is not whitelisted. Contact the terminal's support."
            ),
            SourceError::QuotaExceeded { retry_after_secs } => format!(
                "{name} reports the call volume quota of this subscription as used up. The sync resumes {} when the quota is replenished; ask the terminal for a larger quota if this repeats.",
                when(retry_after_secs)
            ),
            SourceError::RateLimited { retry_after_secs } => format!(
                "{name} asked us to slow down (too many calls). The sync resumes {} as the terminal asked.",
                when(retry_after_secs)
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
                | SourceError::QuotaExceeded { .. }
                | SourceError::RateLimited { .. }
        )
    }

    /// When the terminal asked us to come back (`Retry-After`, or the quota's replenish time).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SourceError::QuotaExceeded { retry_after_secs }
            | SourceError::RateLimited { retry_after_secs } => {
                retry_after_secs.map(Duration::from_secs)
            }
            _ => None,
        }
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
    /// NxtPort CPu: the shared client (budget, token cache, retries) instead of headers.
    nxtport: Option<crate::nxtport::NxtPortClient>,
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
    /// The documented fetch after a webhook (T-Mining `onRelease`): the release's current state
    /// as events. `Ok(None)`: the terminal knows no such release. Terminals without webhooks
    /// answer a protocol error.
    fn fetch_release<'a>(
        &'a self,
        _session: &'a Session,
        _release: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<NormalizedEvent>>, SourceError>> {
        Box::pin(async {
            Err(SourceError::Protocol(
                "this terminal sends no webhooks".into(),
            ))
        })
    }
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
    /// The adapters; NxtPort CPu calls go through `nxtport` (the gateway's client factory, so
    /// one subscription key has one budget and one token cache whichever feature calls).
    pub fn new(
        cfg: &AdaptersConfig,
        nxtport: crate::nxtport::NxtPortClients,
    ) -> Result<Self, reqwest::Error> {
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
                h,
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
                clients: nxtport,
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

/// Classify a non-success answer by status, `Retry-After` and its body (see [`SourceError`]).
async fn check(resp: reqwest::Response) -> Result<reqwest::Response, SourceError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = resp.bytes().await.unwrap_or_default();
    Err(classify(status.as_u16(), &body, retry_after))
}

/// The parts of an error body that say why: OAuth `error`, ProblemDetails `title`/`detail`,
/// API Management `message`, lower-cased and joined.
fn error_text(body: &[u8]) -> (String, String) {
    let v = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let code = s("error");
    let text = [
        s("title"),
        s("detail"),
        s("message"),
        s("error_description"),
    ]
    .join(" ");
    (code, text)
}

/// Seconds in an API Management message: "Try again in 5 seconds." or "Quota will be
/// replenished in 2.03:04:05." (days.hh:mm:ss) / "00:00:10".
fn seconds_in(text: &str) -> Option<u64> {
    let after = text.split(" in ").nth(1)?;
    let token = after.split_whitespace().next()?.trim_end_matches('.');
    if let Ok(n) = token.parse::<u64>() {
        return Some(n);
    }
    let (days, hms) = match token.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, token),
    };
    let parts: Vec<u64> = hms
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [h, m, s] => Some(days * 86_400 + h * 3600 + m * 60 + s),
        _ => None,
    }
}

fn classify(status: u16, body: &[u8], retry_after: Option<u64>) -> SourceError {
    let (code, text) = error_text(body);
    match (status, code.as_str()) {
        (429, _) => SourceError::RateLimited {
            retry_after_secs: retry_after.or_else(|| seconds_in(&text)),
        },
        (403, _) if text.contains("quota") => SourceError::QuotaExceeded {
            retry_after_secs: retry_after.or_else(|| seconds_in(&text)),
        },
        (401, _) | (400, "invalid_client" | "invalid_grant" | "unauthorized_client") => {
            SourceError::InvalidCredentials
        }
        (403, _) => SourceError::ApiAccessNotActivated,
        (408, _) | (504, _) => SourceError::Timeout,
        (500..=599, _) => SourceError::Unavailable { status },
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
    fn classification_from_real_shapes() {
        assert_eq!(classify(401, b"", None), SourceError::InvalidCredentials);
        assert_eq!(
            classify(400, br#"{"error":"invalid_grant"}"#, None),
            SourceError::InvalidCredentials
        );
        // Azure API Management: invalid subscription key (401), quota (403), rate limit (429).
        assert_eq!(
            classify(
                401,
                br#"{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}"#,
                None
            ),
            SourceError::InvalidCredentials
        );
        assert_eq!(
            classify(
                403,
                br#"{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 1.02:03:04."}"#,
                None
            ),
            SourceError::QuotaExceeded {
                retry_after_secs: Some(86_400 + 2 * 3600 + 3 * 60 + 4)
            }
        );
        assert_eq!(
            classify(
                429,
                br#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 7 seconds."}"#,
                None
            ),
            SourceError::RateLimited {
                retry_after_secs: Some(7)
            }
        );
        // Retry-After wins over the message.
        assert_eq!(
            classify(429, b"", Some(3)).retry_after(),
            Some(Duration::from_secs(3))
        );
        // NxtPort ProblemDetails 403 without quota: not activated (permanent).
        let e = classify(
            403,
            br#"{"type":"https://tools.ietf.org/html/rfc7231#section-6.5.3","title":"Forbidden","status":403,"detail":"No subscription for this API."}"#,
            None,
        );
        assert_eq!(e, SourceError::ApiAccessNotActivated);
        assert!(!e.is_transient());
        assert!(classify(
            403,
            br#"{"statusCode":403,"message":"Out of call volume quota."}"#,
            None
        )
        .is_transient());
        assert_eq!(
            classify(503, b"", None),
            SourceError::Unavailable { status: 503 }
        );
        assert_eq!(
            classify(404, b"", None),
            SourceError::Protocol("HTTP 404".into())
        );
        assert_eq!(seconds_in("try again in 00:00:10."), Some(10));
        assert_eq!(seconds_in("no number"), None);
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

//! Pushed and dropped data: T-Mining `onRelease` webhooks and UN/EDIFACT files.
//!
//! **Webhooks** (T-Mining documents push-then-fetch): each connection gets a receiver
//! `POST /v1/data-sources/{terminal}/webhook/{webhookId}` and a secret, stored in the vault
//! (kind `datasource-webhook:<terminal>`). A delivery is accepted when it carries the secret as
//! `Authorization: Bearer <secret>` or a signature `X-Scr-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>` at most five minutes old, and its body is exactly the
//! documented `{release, event, organization, vat}` (event compared case-insensitively). It is
//! queued, one row per release: a burst about one release is one fetch. A drain (its own lease
//! per connection, so one at a time across replicas) GETs each queued release and stores its
//! state. Replays and out-of-order deliveries are harmless: the drain always reads the release's
//! *current* state and events are deduplicated. Refused deliveries are written to the sync
//! history (`trigger: webhook, status: refused`) with their reason.
//!
//! **EDIFACT**: `POST /v1/data-sources/{terminal}/edifact` with an interchange of COARRI/CODECO
//! messages. Good messages are stored, bad ones quarantined verbatim with their reason
//! (`GET .../quarantine`); the run, with its counts and first reason, is in the sync history.

use std::time::Duration;

use futures::StreamExt;
use hmac::Mac;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::Terminal;
use super::repo::{self, IntakeRun};
use super::service::SourcesError;
use super::sync::{load_credentials, SyncError};
use super::views::{Quarantined, ReportedContainer, SyncRun};
use super::Sources;
use crate::api::ErrorCode;
use crate::store::vault::SecretMerge;
use crate::store::{now_millis, Actor, AuditLog, AuditRecord, SecretFields};
use crate::terminals::edifact;

pub use crate::terminals::tmining::{sign, SIGNATURE_HEADER};
/// Oldest accepted signature timestamp, and the furthest in the future.
pub const MAX_SKEW_SECS: i64 = 300;
/// Largest accepted webhook body.
pub const MAX_WEBHOOK_BODY: usize = 4 * 1024;
/// Largest accepted EDIFACT interchange.
pub const MAX_EDIFACT_BYTES: usize = 32 * 1024 * 1024;
/// Terminals whose data arrives by webhook.
pub const WEBHOOK_TERMINALS: [Terminal; 1] = [Terminal::Tmining];
/// Terminals that may deliver EDIFACT files (the ones without a public REST API).
pub const EDIFACT_TERMINALS: [Terminal; 4] = [
    Terminal::Psa,
    Terminal::Dpworld,
    Terminal::Mpet,
    Terminal::Ect,
];
/// The documented `onRelease` events.
pub const ON_RELEASE_EVENTS: [&str; 7] = [
    "transfer",
    "update",
    "block",
    "unblock",
    "delete",
    "revoke",
    "greenlights",
];
/// How long a receiver's secret stays cached in a process: a rotated secret (or a removed
/// connection) is in force in every replica after at most this long.
const SECRET_CACHE_TTL: Duration = Duration::from_secs(30);
/// Releases fetched per drain round (one transaction, one history row).
const DRAIN_BATCH: i64 = 500;
/// Release fetches in flight during a drain.
const DRAIN_CONCURRENCY: usize = 16;

/// Vault kind of a connection's webhook secret.
pub fn webhook_vault_kind(t: Terminal) -> String {
    format!("datasource-webhook:{}", t.as_str())
}

/// A receiver's owner and secret, cached per webhook id (see [`SECRET_CACHE_TTL`]).
#[derive(Clone)]
pub(crate) struct CachedHook {
    entity_id: String,
    terminal: Terminal,
    secret: SecretString,
    at: std::time::Instant,
}

impl CachedHook {
    pub(crate) fn belongs_to(&self, entity_id: &str, t: Terminal) -> bool {
        self.entity_id == entity_id && self.terminal == t
    }
}

/// Answer of `POST /v1/data-sources/{terminal}/webhook`: shown once, to configure at the terminal.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSetup {
    pub webhook_id: String,
    /// Path of the receiver on this gateway (prefix it with the gateway's public URL).
    pub path: String,
    /// The secret: send it as `Authorization: Bearer <secret>`, or sign with it (see
    /// `signatureHeader`). Shown only in this answer; a new call replaces it.
    pub secret: String,
    pub signature_header: &'static str,
    pub signature_format: &'static str,
}

/// The documented `onRelease` body, exactly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnRelease {
    release: String,
    event: String,
    #[expect(
        dead_code,
        reason = "documented field, required but not used for routing"
    )]
    organization: String,
    #[expect(
        dead_code,
        reason = "documented field, required but not used for routing"
    )]
    vat: String,
}

/// How a delivery presented itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookAuth<'a> {
    pub authorization: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Why a delivery was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no webhook with this id")]
    UnknownWebhook,
    #[error("{message}")]
    Refused {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    #[error(transparent)]
    Internal(#[from] SourcesError),
}

fn refused(status: u16, code: ErrorCode, message: impl Into<String>) -> WebhookError {
    WebhookError::Refused {
        status,
        code,
        message: message.into(),
    }
}

/// Check a delivery's credentials against the connection's secret.
fn verify(
    secret: &str,
    auth: WebhookAuth<'_>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), WebhookError> {
    if let Some(token) = auth
        .authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
    {
        use subtle_eq::ct_eq;
        if ct_eq(token.as_bytes(), secret.as_bytes()) {
            return Ok(());
        }
        return Err(refused(
            401,
            ErrorCode::InvalidSignature,
            "the bearer token is not this webhook's secret",
        ));
    }
    let Some(sig) = auth.signature else {
        return Err(refused(
            401,
            ErrorCode::MissingSignature,
            format!("neither Authorization: Bearer nor {SIGNATURE_HEADER} was sent"),
        ));
    };
    let mut t = None;
    let mut v1 = None;
    for part in sig.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(refused(
            401,
            ErrorCode::InvalidSignature,
            format!("{SIGNATURE_HEADER} must be t=<unix seconds>,v1=<hex HMAC-SHA256>"),
        ));
    };
    if (now_secs - t).abs() > MAX_SKEW_SECS {
        return Err(refused(
            401,
            ErrorCode::StaleSignature,
            format!("the signature is {} s away from now (at most {MAX_SKEW_SECS} s): a replay or a wrong clock", (now_secs - t).abs()),
        ));
    }
    crate::terminals::tmining::mac(secret, t, body)
        .verify_slice(&v1)
        .map_err(|_| {
            refused(
                401,
                ErrorCode::InvalidSignature,
                "the signature does not match the body and this webhook's secret",
            )
        })
}

/// Constant-time comparison without another dependency.
mod subtle_eq {
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Parse and check a delivery body: `(release, event)`.
fn parse_on_release(body: &[u8]) -> Result<(String, String), WebhookError> {
    if body.len() > MAX_WEBHOOK_BODY {
        return Err(refused(
            413,
            ErrorCode::PayloadTooLarge,
            format!("webhook bodies are at most {MAX_WEBHOOK_BODY} bytes"),
        ));
    }
    let b: OnRelease = serde_json::from_slice(body).map_err(|e| {
        refused(
            400,
            ErrorCode::InvalidWebhookBody,
            format!(
                "the body must be exactly {{release, event, organization, vat}} (strings): {}",
                e.to_string().chars().take(120).collect::<String>()
            ),
        )
    })?;
    let event = b.event.trim().to_ascii_lowercase();
    if !ON_RELEASE_EVENTS.contains(&event.as_str()) {
        return Err(refused(
            400,
            ErrorCode::UnknownEvent,
            format!(
                "event '{}' is not an onRelease event ({})",
                b.event.chars().take(30).collect::<String>(),
                ON_RELEASE_EVENTS.join(", ")
            ),
        ));
    }
    let release = b.release.trim();
    let hex = release.strip_prefix("0x").unwrap_or("");
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(refused(
            400,
            ErrorCode::InvalidWebhookBody,
            "release must be a release address (0x followed by hex digits)",
        ));
    }
    Ok((release.to_string(), event))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Sources {
    async fn intake_audit(
        &self,
        actor: &Actor,
        action: &str,
        t: Terminal,
        detail: serde_json::Value,
    ) {
        let target = super::vault_kind(t);
        if let Err(e) = AuditLog::record(
            &self.store,
            actor,
            &AuditRecord {
                action,
                target: &target,
                outcome: "ok",
                detail: Some(detail),
            },
        )
        .await
        {
            tracing::error!(error = %e, action, "cannot write audit entry");
        }
    }

    /// Create the connection's webhook receiver (or keep its id) and issue a new secret.
    pub async fn setup_webhook(
        &self,
        actor: &Actor,
        t: Terminal,
    ) -> Result<WebhookSetup, SourcesError> {
        if !WEBHOOK_TERMINALS.contains(&t) {
            return Err(SourcesError::Invalid {
                code: ErrorCode::NoWebhooks,
                field: None,
                message: format!(
                    "{} sends no webhooks (only T-Mining SCR does)",
                    t.info().name
                ),
            });
        }
        let entity_id = actor.entity_id.as_str();
        if repo::get_connection(&self.store, entity_id, t)
            .await?
            .is_none()
        {
            return Err(SourcesError::NotConnected(t.info().name));
        }
        let webhook_id = repo::ensure_webhook_id(
            &self.store,
            entity_id,
            t,
            &uuid::Uuid::new_v4().simple().to_string(),
        )
        .await?
        .ok_or(SourcesError::NotConnected(t.info().name))?;
        let secret = {
            use rand::RngCore;
            let mut b = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut b);
            hex::encode(b)
        };
        let mut secrets = SecretFields::new();
        secrets.insert("secret".into(), SecretString::from(secret.clone()));
        self.vault
            .put(
                actor,
                &webhook_vault_kind(t),
                serde_json::json!({ "webhookId": webhook_id }),
                secrets,
                SecretMerge::Replace,
            )
            .await?;
        self.webhook_secrets.lock().remove(&webhook_id);
        self.intake_audit(
            actor,
            "datasource.webhook",
            t,
            serde_json::json!({ "webhookId": webhook_id }),
        )
        .await;
        Ok(WebhookSetup {
            path: format!("/v1/data-sources/{}/webhook/{webhook_id}", t.as_str()),
            webhook_id,
            secret,
            signature_header: SIGNATURE_HEADER,
            signature_format: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>",
        })
    }

    /// Accept one delivery: verify, parse, queue, start the drain. Refusals of a known receiver
    /// are written to the sync history.
    pub async fn receive_webhook(
        &self,
        t: Terminal,
        webhook_id: &str,
        auth: WebhookAuth<'_>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<(), WebhookError> {
        let hook = self.webhook_owner(t, webhook_id).await?;
        let entity_id = hook.entity_id.as_str();
        let secret = hook.secret.expose_secret();
        let checked = if secret.is_empty() {
            Err(WebhookError::UnknownWebhook)
        } else {
            verify(secret, auth, body, now_secs).and_then(|()| parse_on_release(body))
        };
        let (release, event) = match checked {
            Ok(v) => v,
            Err(WebhookError::Refused {
                status,
                code,
                message,
            }) => {
                let started = now_millis();
                let mut c = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(|e| SourcesError::from(crate::store::StoreError::from(e)))?;
                repo::insert_intake_run(
                    &mut c,
                    &uuid::Uuid::new_v4().to_string(),
                    entity_id,
                    t,
                    &IntakeRun {
                        trigger: "webhook",
                        status: "refused",
                        started_at: started,
                        fetched: 1,
                        error: Some((code.as_str(), &message)),
                        ..IntakeRun::default()
                    },
                )
                .await
                .map_err(SourcesError::from)?;
                tracing::warn!(entity_id, terminal = %t, code = code.as_str(), "webhook delivery refused");
                return Err(WebhookError::Refused {
                    status,
                    code,
                    message,
                });
            }
            Err(e) => return Err(e),
        };
        repo::inbox_put(&self.store, entity_id, t, &release, &event)
            .await
            .map_err(SourcesError::from)?;
        self.spawn_drain(entity_id, t);
        Ok(())
    }

    /// The connection and secret behind a webhook id (cached for [`SECRET_CACHE_TTL`]).
    async fn webhook_owner(
        &self,
        t: Terminal,
        webhook_id: &str,
    ) -> Result<CachedHook, WebhookError> {
        if let Some(h) = self.webhook_secrets.lock().get(webhook_id) {
            if h.at.elapsed() < SECRET_CACHE_TTL && h.terminal == t {
                return Ok(h.clone());
            }
        }
        let conn = repo::connection_by_webhook(&self.store, webhook_id)
            .await
            .map_err(SourcesError::from)?
            .filter(|c| c.terminal == t)
            .ok_or(WebhookError::UnknownWebhook)?;
        let Some((_, secrets)) = self
            .vault
            .decrypt(&conn.entity_id, &webhook_vault_kind(t))
            .await
            .map_err(SourcesError::from)?
        else {
            return Err(WebhookError::UnknownWebhook);
        };
        let secret = secrets
            .get("secret")
            .map(|s| SecretString::from(s.expose_secret().to_string()))
            .ok_or(WebhookError::UnknownWebhook)?;
        let hook = CachedHook {
            entity_id: conn.entity_id,
            terminal: t,
            secret,
            at: std::time::Instant::now(),
        };
        let mut cache = self.webhook_secrets.lock();
        if cache.len() >= 10_000 {
            cache.clear(); // bounded
        }
        cache.insert(webhook_id.to_string(), hook.clone());
        Ok(hook)
    }

    /// Drain the connection's queued webhooks in the background (one drain per connection in
    /// this process; a delivery during a drain asks for another round).
    pub fn spawn_drain(&self, entity_id: &str, t: Terminal) {
        let key = (entity_id.to_string(), t);
        {
            let mut d = self.drains.lock();
            if let Some(again) = d.get_mut(&key) {
                *again = true;
                return;
            }
            d.insert(key.clone(), false);
        }
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.drain_webhooks(&key.0, key.1).await {
                    tracing::warn!(terminal = %key.1, error = %e, "webhook drain failed; queued releases stay pending");
                }
                let mut d = this.drains.lock();
                match d.get_mut(&key) {
                    Some(again) if *again => *again = false,
                    _ => {
                        d.remove(&key);
                        break;
                    }
                }
            }
        });
    }

    /// Fetch every queued release of a connection and store its state. Returns the new events.
    /// Another process draining the same connection: returns 0 at once.
    pub async fn drain_webhooks(&self, entity_id: &str, t: Terminal) -> Result<u64, SyncError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let lease = ms(self.settings.lease);
        if !repo::acquire_hook_lease(&self.store, entity_id, t, &owner, now_millis() + lease)
            .await?
        {
            return Ok(0);
        }
        let result = self.drain_inner(entity_id, t, &owner).await;
        let _ = repo::release_hook_lease(&self.store, entity_id, t, &owner).await;
        result
    }

    async fn drain_inner(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
    ) -> Result<u64, SyncError> {
        let mut pending = repo::inbox_pending(&self.store, entity_id, t, DRAIN_BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let connected = repo::get_connection(&self.store, entity_id, t)
            .await?
            .is_some();
        let Some(creds) = load_credentials(self, entity_id, t)
            .await?
            .filter(|_| connected)
        else {
            // Disconnected since: without credentials the releases cannot be fetched; the
            // queue is dropped (a reconnection's periodic fetch reads the releases again).
            let n = repo::inbox_clear(&self.store, entity_id, t).await?;
            tracing::warn!(entity_id, terminal = %t, dropped = n, "webhooks of a removed connection dropped");
            return Err(SyncError::NotConnected);
        };
        let adapter = self.adapters.get(t).ok_or(SyncError::NotConnected)?;
        let started = now_millis();
        let session = match adapter.authenticate(&creds).await {
            Ok(s) => s,
            Err(e) => {
                self.record_failed_drain(entity_id, t, started, &e).await;
                return Err(e.into());
            }
        };
        let mut total = 0u64;
        while !pending.is_empty() {
            let started = now_millis();
            let results: Vec<_> = futures::stream::iter(pending)
                .map(|(release, _event, received)| {
                    let session = &session;
                    async move {
                        let r = adapter.fetch_release(session, &release).await;
                        (release, received, r)
                    }
                })
                .buffered(DRAIN_CONCURRENCY)
                .collect()
                .await;
            let mut events = Vec::new();
            let mut done = Vec::new();
            let mut skipped = 0i64;
            let mut failure = None;
            for (release, received, r) in results {
                match r {
                    Ok(Some(evs)) => {
                        events.extend(evs);
                        done.push((release, received));
                    }
                    Ok(None) => {
                        skipped += 1;
                        done.push((release, received));
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            let mut tx = self
                .store
                .pool()
                .begin()
                .await
                .map_err(crate::store::StoreError::from)?;
            let stored = repo::insert_events(&mut tx, entity_id, t, &events, now_millis()).await?;
            for (release, received) in &done {
                repo::inbox_done(&mut tx, entity_id, t, release, *received).await?;
            }
            let message = failure.as_ref().map(|e| e.user_message(t));
            repo::insert_intake_run(
                &mut tx,
                &uuid::Uuid::new_v4().to_string(),
                entity_id,
                t,
                &IntakeRun {
                    trigger: "webhook",
                    status: if failure.is_some() {
                        "failed"
                    } else {
                        "succeeded"
                    },
                    started_at: started,
                    fetched: i64::try_from(done.len()).unwrap_or(i64::MAX),
                    stored: i64::try_from(stored).unwrap_or(i64::MAX),
                    skipped,
                    quarantined: 0,
                    error: failure
                        .as_ref()
                        .zip(message.as_deref())
                        .map(|(e, m)| (e.code(), m)),
                },
            )
            .await?;
            tx.commit().await.map_err(crate::store::StoreError::from)?;
            total += stored;
            if let Some(e) = failure {
                return Err(e.into());
            }
            repo::acquire_hook_lease(
                &self.store,
                entity_id,
                t,
                owner,
                now_millis() + ms(self.settings.lease),
            )
            .await?;
            pending = repo::inbox_pending(&self.store, entity_id, t, DRAIN_BATCH).await?;
        }
        Ok(total)
    }

    async fn record_failed_drain(
        &self,
        entity_id: &str,
        t: Terminal,
        started: i64,
        e: &super::adapters::SourceError,
    ) {
        let message = e.user_message(t);
        let Ok(mut c) = self.store.pool().acquire().await else {
            return;
        };
        let _ = repo::insert_intake_run(
            &mut c,
            &uuid::Uuid::new_v4().to_string(),
            entity_id,
            t,
            &IntakeRun {
                trigger: "webhook",
                status: "failed",
                started_at: started,
                error: Some((e.code(), &message)),
                ..IntakeRun::default()
            },
        )
        .await;
    }

    /// Read an EDIFACT interchange for a connection: good messages stored, bad ones quarantined.
    /// A file that is not EDIFACT at all is refused (and recorded) as a whole.
    pub async fn intake_edifact(
        &self,
        actor: &Actor,
        t: Terminal,
        body: &[u8],
    ) -> Result<SyncRun, SourcesError> {
        if !EDIFACT_TERMINALS.contains(&t) {
            return Err(SourcesError::Invalid {
                code: ErrorCode::NoEdifact,
                field: None,
                message: format!(
                    "{} has an API of its own; EDIFACT intake is for PSA, DP World, MPET and ECT",
                    t.info().name
                ),
            });
        }
        let entity_id = actor.entity_id.as_str();
        if repo::get_connection(&self.store, entity_id, t)
            .await?
            .is_none()
        {
            return Err(SourcesError::NotConnected(t.info().name));
        }
        if body.len() > MAX_EDIFACT_BYTES {
            return Err(SourcesError::Invalid {
                code: ErrorCode::PayloadTooLarge,
                field: None,
                message: format!("an interchange is at most {MAX_EDIFACT_BYTES} bytes"),
            });
        }
        let text = String::from_utf8_lossy(body);
        let started = now_millis();
        let sync_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self
            .store
            .pool()
            .begin()
            .await
            .map_err(crate::store::StoreError::from)?;
        let summary = match edifact::read(t, &text) {
            Err(refusal) => {
                let content: String = text.chars().take(64 * 1024).collect();
                repo::insert_quarantine(
                    &mut tx,
                    entity_id,
                    t,
                    &sync_id,
                    &[(None, refusal.code, refusal.message.clone(), content)],
                )
                .await?;
                repo::insert_intake_run(
                    &mut tx,
                    &sync_id,
                    entity_id,
                    t,
                    &IntakeRun {
                        trigger: "edifact",
                        status: "refused",
                        started_at: started,
                        quarantined: 1,
                        error: Some((refusal.code, &refusal.message)),
                        ..IntakeRun::default()
                    },
                )
                .await?;
                serde_json::json!({ "syncId": sync_id, "refused": refusal.code })
            }
            Ok(intake) => {
                let stored =
                    repo::insert_events(&mut tx, entity_id, t, &intake.events, now_millis())
                        .await?;
                let q: Vec<_> = intake
                    .quarantined
                    .iter()
                    .map(|(r, refusal, content)| {
                        (
                            r.clone(),
                            refusal.code,
                            refusal.message.clone(),
                            content.clone(),
                        )
                    })
                    .collect();
                repo::insert_quarantine(&mut tx, entity_id, t, &sync_id, &q).await?;
                let first = intake.quarantined.first().map(|(_, r, _)| r);
                let message = first.map(|r| {
                    if intake.quarantined.len() > 1 {
                        format!(
                            "{} (and {} more quarantined)",
                            r.message,
                            intake.quarantined.len() - 1
                        )
                    } else {
                        r.message.clone()
                    }
                });
                repo::insert_intake_run(
                    &mut tx,
                    &sync_id,
                    entity_id,
                    t,
                    &IntakeRun {
                        trigger: "edifact",
                        status: if q.is_empty() { "succeeded" } else { "partial" },
                        started_at: started,
                        fetched: i64::try_from(intake.messages).unwrap_or(i64::MAX),
                        stored: i64::try_from(stored).unwrap_or(i64::MAX),
                        skipped: 0,
                        quarantined: i64::try_from(q.len()).unwrap_or(i64::MAX),
                        error: first.zip(message.as_deref()).map(|(r, m)| (r.code, m)),
                    },
                )
                .await?;
                serde_json::json!({ "syncId": sync_id, "messages": intake.messages, "stored": stored, "quarantined": q.len() })
            }
        };
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.intake_audit(actor, "datasource.edifact", t, summary)
            .await;
        repo::sync_run(&self.store, entity_id, &sync_id)
            .await?
            .map(SyncRun::from)
            .ok_or_else(|| SourcesError::Internal("intake run vanished".into()))
    }

    /// Quarantined messages of a connection, newest first.
    pub async fn quarantine(
        &self,
        entity_id: &str,
        t: Terminal,
        limit: i64,
    ) -> Result<Vec<Quarantined>, SourcesError> {
        Ok(
            repo::quarantine_list(&self.store, entity_id, t, limit.clamp(1, 500))
                .await?
                .into_iter()
                .map(Quarantined::from)
                .collect(),
        )
    }

    /// Containers a terminal reported for this entity, by equipment number, after `after`.
    pub async fn reported_containers(
        &self,
        entity_id: &str,
        t: Terminal,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReportedContainer>, SourcesError> {
        Ok(
            repo::reported_containers(&self.store, entity_id, t, after, limit.clamp(1, 1000))
                .await?
                .into_iter()
                .map(ReportedContainer::from)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_bearer() {
        let body = br#"{"release":"0x01","event":"TRANSFER","organization":"0x02","vat":"BE1"}"#;
        let sig = sign("s3cret", 1_000, body);
        let ok = |auth| verify("s3cret", auth, body, 1_100);
        assert!(ok(WebhookAuth {
            authorization: None,
            signature: Some(&sig)
        })
        .is_ok());
        assert!(ok(WebhookAuth {
            authorization: Some("Bearer s3cret"),
            signature: None
        })
        .is_ok());
        let code = |r: Result<(), WebhookError>| match r {
            Err(WebhookError::Refused { code, .. }) => code.as_str(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(ok(WebhookAuth {
                authorization: Some("Bearer nope"),
                signature: None
            })),
            "invalid_signature"
        );
        assert_eq!(code(ok(WebhookAuth::default())), "missing_signature");
        assert_eq!(
            code(verify(
                "other",
                WebhookAuth {
                    authorization: None,
                    signature: Some(&sig)
                },
                body,
                1_100
            )),
            "invalid_signature"
        );
        // A replay after five minutes.
        assert_eq!(
            code(verify(
                "s3cret",
                WebhookAuth {
                    authorization: None,
                    signature: Some(&sig)
                },
                body,
                1_000 + MAX_SKEW_SECS + 1
            )),
            "stale_signature"
        );
        // The body is part of the signature.
        assert_eq!(
            code(verify(
                "s3cret",
                WebhookAuth {
                    authorization: None,
                    signature: Some(&sig)
                },
                b"{}",
                1_100
            )),
            "invalid_signature"
        );
    }

    #[test]
    fn only_the_documented_body() {
        assert_eq!(
            parse_on_release(br#"{"release":"0x24Fc2D465AaAbf47DA7284920A7B5c3b368EC1D9","event":"TRANSFER","organization":"0x78f1","vat":"BE2020112701"}"#).expect("ok"),
            ("0x24Fc2D465AaAbf47DA7284920A7B5c3b368EC1D9".to_string(), "transfer".to_string())
        );
        for e in ON_RELEASE_EVENTS {
            let b = format!(
                r#"{{"release":"0xab","event":"{}","organization":"0x1","vat":"BE1"}}"#,
                e.to_ascii_uppercase()
            );
            assert!(parse_on_release(b.as_bytes()).is_ok(), "{e}");
        }
        let code = |b: &[u8]| match parse_on_release(b) {
            Err(WebhookError::Refused { code, .. }) => code.as_str(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(br#"{"release":"0xab","event":"explode","organization":"0x1","vat":"BE1"}"#),
            "unknown_event"
        );
        assert_eq!(
            code(br#"{"release":"0xab","event":"update","organization":"0x1"}"#),
            "invalid_webhook_body"
        );
        assert_eq!(code(br#"{"release":"0xab","event":"update","organization":"0x1","vat":"BE1","containerNumber":"X"}"#), "invalid_webhook_body");
        assert_eq!(
            code(br#"{"release":"abc","event":"update","organization":"0x1","vat":"BE1"}"#),
            "invalid_webhook_body"
        );
    }
}

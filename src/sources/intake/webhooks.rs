//! Webhook receivers: setup (id and secret), receipt (verify, queue), and the drain that
//! fetches each queued release and stores its state.

use std::time::Duration;

use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::ToSchema;

use super::delivery::{parse_on_release, verify, WebhookAuth, WebhookError};
use super::ms;
use crate::api::ErrorCode;
use crate::sources::catalogue::Terminal;
use crate::sources::service::SourcesError;
use crate::sources::sync::{load_credentials, SyncError};
use crate::sources::Sources;
use crate::store::sources::IntakeRun;
use crate::store::vault::SecretMerge;
use crate::store::{now_millis, Actor, SecretFields};
use crate::terminals::tmining::SIGNATURE_HEADER;

/// Terminals whose data arrives by webhook.
pub const WEBHOOK_TERMINALS: [Terminal; 1] = [Terminal::Tmining];
/// How long a receiver's secret stays cached in a process: the old secret of a rotation made
/// through another replica (or a removed connection) stops working here after at most this
/// long. The new secret works at once: a delivery the cached secret refuses re-reads it.
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
    /// Taken from the cache (not read from the store for this delivery).
    cached: bool,
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

impl Sources {
    /// Create the connection's webhook receiver (or keep its id) and issue a new secret.
    pub async fn setup_webhook(
        &self,
        actor: &Actor,
        t: Terminal,
    ) -> Result<WebhookSetup, SourcesError> {
        let entity_id = self
            .connected_channel(
                actor,
                t,
                &WEBHOOK_TERMINALS,
                ErrorCode::NoWebhooks,
                |name| format!("{name} sends no webhooks (only T-Mining SCR does)"),
            )
            .await?;
        let webhook_id = self
            .store
            .sources()
            .ensure_webhook_id(entity_id, t, &uuid::Uuid::new_v4().simple().to_string())
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
    /// are written to the sync history (refusals in a row for one reason as one entry).
    pub async fn receive_webhook(
        &self,
        t: Terminal,
        webhook_id: &str,
        auth: WebhookAuth<'_>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<(), WebhookError> {
        let verified = |hook: &CachedHook| {
            let secret = hook.secret.expose_secret();
            if secret.is_empty() {
                Err(WebhookError::UnknownWebhook)
            } else {
                verify(secret, auth, body, now_secs)
            }
        };
        let mut hook = self.webhook_owner(t, webhook_id, true).await?;
        let mut checked = verified(&hook);
        if checked.is_err() && hook.cached {
            // The secret may have been rotated through another replica: read it again before
            // refusing (a refusal costs a history write anyway).
            hook = self.webhook_owner(t, webhook_id, false).await?;
            checked = verified(&hook);
        }
        let entity_id = hook.entity_id.as_str();
        let checked = checked.and_then(|()| parse_on_release(body));
        let (release, event) = match checked {
            Ok(v) => v,
            Err(WebhookError::Refused {
                status,
                code,
                message,
            }) => {
                let started = now_millis();
                self.store
                    .sources()
                    .record_refusal(
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
        self.store
            .sources()
            .inbox_put(entity_id, t, &release, &event)
            .await
            .map_err(SourcesError::from)?;
        self.spawn_drain(entity_id, t);
        Ok(())
    }

    /// The connection and secret behind a webhook id (cached for [`SECRET_CACHE_TTL`]; read
    /// from the store when `use_cache` is false).
    async fn webhook_owner(
        &self,
        t: Terminal,
        webhook_id: &str,
        use_cache: bool,
    ) -> Result<CachedHook, WebhookError> {
        if let Some(h) = self.webhook_secrets.lock().get(webhook_id) {
            if use_cache && h.at.elapsed() < SECRET_CACHE_TTL && h.terminal == t {
                return Ok(CachedHook {
                    cached: true,
                    ..h.clone()
                });
            }
        }
        let conn = self
            .store
            .sources()
            .connection_by_webhook(webhook_id)
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
            cached: false,
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
    /// Another process draining the same connection, or a pause after a failed drain: returns
    /// 0 at once.
    ///
    /// A failed drain keeps the connection's drain lease as a pause, on every replica (the
    /// lease is in the database): until the terminal's `Retry-After` (or quota replenish time)
    /// when it gave one, else for the sync backoff's base delay. The releases stay queued and
    /// the scheduler drains them after the pause, so a terminal that asks for quiet gets it.
    pub async fn drain_webhooks(&self, entity_id: &str, t: Terminal) -> Result<u64, SyncError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let lease = ms(self.settings.lease);
        if !self
            .store
            .sources()
            .acquire_hook_lease(entity_id, t, &owner, now_millis() + lease)
            .await?
        {
            return Ok(0);
        }
        let result = self.drain_inner(entity_id, t, &owner).await;
        let sources = self.store.sources();
        let _ = match &result {
            Err(e) if !matches!(e, SyncError::NotConnected) => {
                let pause = match e {
                    SyncError::Source(se) => se.retry_after(),
                    _ => None,
                }
                .unwrap_or(self.settings.backoff_base);
                sources
                    .acquire_hook_lease(entity_id, t, &owner, now_millis() + ms(pause))
                    .await
                    .map(drop)
            }
            _ => sources.release_hook_lease(entity_id, t, &owner).await,
        };
        result
    }

    async fn drain_inner(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
    ) -> Result<u64, SyncError> {
        let mut pending = self
            .store
            .sources()
            .inbox_pending(entity_id, t, DRAIN_BATCH)
            .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let connected = self
            .store
            .sources()
            .get_connection(entity_id, t)
            .await?
            .is_some();
        let Some(creds) = load_credentials(self, entity_id, t)
            .await?
            .filter(|_| connected)
        else {
            // Disconnected since: without credentials the releases cannot be fetched; the
            // queue is dropped (a reconnection's periodic fetch reads the releases again).
            let n = self.store.sources().inbox_clear(entity_id, t).await?;
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
            let mut tx = self.store.sources().begin().await?;
            let stored = tx.insert_events(entity_id, t, &events).await?;
            for (release, received) in &done {
                tx.inbox_done(entity_id, t, release, *received).await?;
            }
            let message = failure.as_ref().map(|e| e.user_message(t));
            tx.insert_intake_run(
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
            tx.commit().await?;
            total += stored;
            if let Some(e) = failure {
                return Err(e.into());
            }
            self.store
                .sources()
                .acquire_hook_lease(entity_id, t, owner, now_millis() + ms(self.settings.lease))
                .await?;
            pending = self
                .store
                .sources()
                .inbox_pending(entity_id, t, DRAIN_BATCH)
                .await?;
        }
        Ok(total)
    }

    async fn record_failed_drain(
        &self,
        entity_id: &str,
        t: Terminal,
        started: i64,
        e: &crate::sources::adapters::SourceError,
    ) {
        let message = e.user_message(t);
        let _ = self
            .store
            .sources()
            .record_intake_run(
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
}

//! The sync engine and its scheduler.
//!
//! A sync takes the connection's lease in the database (so no two syncs of one connection run at
//! once, even across gateway replicas), authenticates, and pages through the terminal's feed.
//! Each page is stored in one transaction together with the new cursor: a crash or a failing
//! terminal loses nothing and duplicates nothing (the cursor only moves past stored events; events
//! are unique per entity by dedup key). Each connection is synced in its own task: a failing or
//! slow terminal delays nobody else. Failures back off exponentially up to the sync interval.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::adapters::{Credentials, SourceError};
use super::catalogue::Terminal;
use super::model::NormalizedEvent;
use super::Sources;
use crate::store::now_millis;
use crate::store::sources::{Outcome, PageCounts};

/// Why a sync did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync of this connection is already running")]
    AlreadyRunning,
    #[error("not connected")]
    NotConnected,
    #[error("terminal error: {0}")]
    Source(#[from] SourceError),
    #[error("the connection was removed or taken over during the sync")]
    Cancelled,
    #[error("storage error: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("vault error: {0}")]
    Vault(#[from] crate::store::VaultError),
}

/// What one finished sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncSummary {
    pub pages: u64,
    pub fetched: u64,
    pub stored: u64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Delay before the next attempt after `failures` consecutive failures.
pub fn backoff(base: Duration, failures: i64, interval: Duration) -> Duration {
    let exp = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
    base.saturating_mul(2u32.saturating_pow(exp)).min(interval)
}

/// Decrypt the credentials of a connection from the vault.
pub(crate) async fn load_credentials(
    s: &Sources,
    entity_id: &str,
    t: Terminal,
) -> Result<Option<Credentials>, SyncError> {
    let Some((stored, secrets)) = s.vault.decrypt(entity_id, &super::vault_kind(t)).await? else {
        return Ok(None);
    };
    let public = stored
        .public_fields
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let secrets = secrets
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                SecretString::from(secrecy::ExposeSecret::expose_secret(&v).to_string()),
            )
        })
        .collect();
    Ok(Some(Credentials { public, secrets }))
}

/// A sync whose lease is taken and whose history row exists.
#[derive(Debug)]
pub struct SyncHandle {
    pub entity_id: String,
    pub terminal: Terminal,
    pub owner: String,
    pub sync_id: String,
}

/// Take the lease and open the history row. `AlreadyRunning` / `NotConnected` change nothing.
pub async fn begin_sync(
    s: &Sources,
    entity_id: &str,
    t: Terminal,
    trigger: &str,
) -> Result<SyncHandle, SyncError> {
    let owner = uuid::Uuid::new_v4().to_string();
    let lease = ms(s.settings.lease);
    if !s
        .store
        .sources()
        .acquire_lease(entity_id, t, &owner, now_millis() + lease)
        .await?
    {
        return match s.store.sources().get_connection(entity_id, t).await? {
            Some(_) => Err(SyncError::AlreadyRunning),
            None => Err(SyncError::NotConnected),
        };
    }
    let sync_id = uuid::Uuid::new_v4().to_string();
    if let Err(e) = s
        .store
        .sources()
        .start_sync_run(&sync_id, entity_id, t, trigger)
        .await
    {
        let _ = s
            .store
            .sources()
            .finish_sync_state(
                entity_id,
                t,
                &owner,
                &Outcome::Error {
                    code: "internal_error".into(),
                    message: "Internal error during the sync; it will be retried.".into(),
                },
                now_millis() + ms(s.settings.backoff_base),
                1,
            )
            .await;
        return Err(e.into());
    }
    Ok(SyncHandle {
        entity_id: entity_id.to_string(),
        terminal: t,
        owner,
        sync_id,
    })
}

/// Run one sync of `(entity_id, t)` to the end of the feed.
pub async fn run_sync(
    s: &Sources,
    entity_id: &str,
    t: Terminal,
    trigger: &str,
) -> Result<SyncSummary, SyncError> {
    let handle = begin_sync(s, entity_id, t, trigger).await?;
    finish(s, handle).await
}

/// Page through the feed under the lease, then record the outcome and release the lease.
pub async fn finish(s: &Sources, h: SyncHandle) -> Result<SyncSummary, SyncError> {
    let SyncHandle {
        entity_id,
        terminal: t,
        owner,
        sync_id,
    } = h;
    let entity_id = entity_id.as_str();
    let result = sync_pages(s, entity_id, t, &owner, &sync_id).await;
    let interval = s.settings.interval(t);
    let conn = s
        .store
        .sources()
        .get_connection(entity_id, t)
        .await
        .ok()
        .flatten();
    let failures = conn.as_ref().map(|c| c.failures).unwrap_or(0);
    match &result {
        Ok((summary, warning)) => {
            s.store
                .sources()
                .finish_sync_run(&sync_id, "succeeded", None)
                .await?;
            s.store
                .sources()
                .finish_sync_state(
                    entity_id,
                    t,
                    &owner,
                    &Outcome::Connected {
                        warning: warning.clone(),
                    },
                    now_millis() + ms(interval),
                    0,
                )
                .await?;
            tracing::info!(entity_id, terminal = %t, pages = summary.pages, fetched = summary.fetched, stored = summary.stored, "data source synced");
        }
        Err(e) => {
            let (status, code, message) = match e {
                SyncError::Source(se) => ("failed", se.code().to_string(), se.user_message(t)),
                SyncError::Cancelled => (
                    "cancelled",
                    "cancelled".to_string(),
                    "The connection was removed during the sync.".to_string(),
                ),
                other => {
                    tracing::error!(entity_id, terminal = %t, error = %other, "data source sync failed internally");
                    (
                        "failed",
                        "internal_error".to_string(),
                        "Internal error during the sync; it will be retried.".to_string(),
                    )
                }
            };
            let _ = s
                .store
                .sources()
                .finish_sync_run(&sync_id, status, Some((&code, &message)))
                .await;
            let failures = failures + 1;
            // A terminal that says when to come back (429 Retry-After, quota replenish time) is
            // not called before then.
            let asked = match e {
                SyncError::Source(se) => se.retry_after(),
                _ => None,
            };
            let wait =
                backoff(s.settings.backoff_base, failures, interval).max(asked.unwrap_or_default());
            let next = now_millis() + ms(wait);
            let _ = s
                .store
                .sources()
                .finish_sync_state(
                    entity_id,
                    t,
                    &owner,
                    &Outcome::Error {
                        code: code.clone(),
                        message,
                    },
                    next,
                    failures,
                )
                .await;
            tracing::warn!(entity_id, terminal = %t, code, failures, "data source sync failed");
        }
    }
    result.map(|(summary, _)| summary)
}

async fn sync_pages(
    s: &Sources,
    entity_id: &str,
    t: Terminal,
    owner: &str,
    sync_id: &str,
) -> Result<(SyncSummary, Option<(String, String)>), SyncError> {
    let creds = load_credentials(s, entity_id, t)
        .await?
        .ok_or(SyncError::NotConnected)?;
    let conn = s
        .store
        .sources()
        .get_connection(entity_id, t)
        .await?
        .ok_or(SyncError::NotConnected)?;
    let adapter = s.adapters.get(t).ok_or(SyncError::NotConnected)?;
    let session = adapter.authenticate(&creds).await?;
    let warning = session
        .limitation
        .as_ref()
        .map(|l| (l.code.clone(), l.message.clone()));
    let mut cursor = conn.cursor;
    let mut summary = SyncSummary::default();
    // Pages are committed in batches of about BATCH events: fewer fsyncs and index page writes;
    // the cursor still moves only together with the events read before it.
    const BATCH: usize = 5_000;
    let mut batch: Vec<NormalizedEvent> = Vec::new();
    let (mut batch_pages, mut batch_fetched, mut batch_skipped) = (0u64, 0usize, 0usize);
    let mut batch_cursor: Option<String> = None;
    let mut pages_left = s.settings.max_pages_per_sync;
    loop {
        let page = adapter.fetch(&session, cursor.as_deref()).await?;
        pages_left = pages_left.saturating_sub(1);
        batch_pages += 1;
        batch_fetched += page.events.len() + page.skipped;
        batch_skipped += page.skipped;
        batch.extend(page.events);
        let advanced = page.next_cursor.is_some() && page.next_cursor != cursor;
        if page.next_cursor.is_some() {
            cursor = page.next_cursor;
            batch_cursor = cursor.clone();
        }
        let last = !page.has_more || !advanced || pages_left == 0;
        if last || batch.len() >= BATCH {
            let stored = s
                .store
                .sources()
                .store_page(
                    entity_id,
                    t,
                    owner,
                    now_millis() + ms(s.settings.lease),
                    sync_id,
                    &batch,
                    PageCounts {
                        pages: batch_pages,
                        fetched: batch_fetched,
                        skipped: batch_skipped,
                    },
                    batch_cursor.as_deref(),
                )
                .await?
                .ok_or(SyncError::Cancelled)?;
            summary.pages += batch_pages;
            summary.fetched += batch_fetched as u64;
            summary.stored += stored;
            batch.clear();
            (batch_pages, batch_fetched, batch_skipped) = (0, 0, 0);
            batch_cursor = None;
        }
        if last {
            break;
        }
    }

    Ok((summary, warning))
}

/// The background loop: every `tick`, start a task for each due connection (bounded concurrency).
pub fn spawn_scheduler(s: Sources) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(tokio::sync::Semaphore::new(
            s.settings.max_concurrent_syncs.max(1),
        ));
        let mut tick = tokio::time::interval(s.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due = match s.store.sources().due_connections(now_millis(), 100).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "data sources scheduler: cannot read due connections");
                    continue;
                }
            };
            // Webhooks left pending (a failed drain, or one queued by another replica): drain.
            match s
                .store
                .sources()
                .connections_with_pending_webhooks(100)
                .await
            {
                Ok(pending) => {
                    for (entity_id, t) in pending {
                        s.spawn_drain(&entity_id, t);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "data sources scheduler: cannot read pending webhooks")
                }
            }
            for (entity_id, t) in due {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    break; // all workers busy: the rest stays due for the next tick
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    // Errors are recorded in the sync history and the connection state.
                    let _ = run_sync(&s, &entity_id, t, "schedule").await;
                });
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let b = Duration::from_secs(60);
        let i = Duration::from_secs(4 * 3600);
        assert_eq!(backoff(b, 1, i), Duration::from_secs(60));
        assert_eq!(backoff(b, 3, i), Duration::from_secs(240));
        assert_eq!(backoff(b, 30, i), i);
    }
}

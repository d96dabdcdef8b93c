//! `ds_webhook_inbox` (received webhooks, one pending row per release, drained by the
//! scheduler) and `ds_quarantine` (refused messages, kept verbatim).

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{entity_terminal, Sources, SourcesTx};
use crate::store::{now_millis, StoreError};
use crate::terminals::Terminal;

/// One `ds_quarantine` row: a refused message, kept verbatim with its reason (the API's view of
/// it is `sources::views::Quarantined`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedRow {
    pub id: String,
    pub sync_id: String,
    /// Unix milliseconds.
    pub received_at: i64,
    /// The message reference (UNH 0062), when it could be read.
    pub message_ref: Option<String>,
    /// Stable code: `segment_count_mismatch`, `unknown_qualifier`, `invalid_check_digit`, ...
    pub reason_code: String,
    pub reason: String,
    pub content: String,
}

fn quarantined_row(r: &AnyRow) -> Result<QuarantinedRow, StoreError> {
    Ok(QuarantinedRow {
        id: r.try_get("id")?,
        sync_id: r.try_get("sync_id")?,
        received_at: r.try_get("received_at")?,
        message_ref: r.try_get("message_ref")?,
        reason_code: r.try_get("reason_code")?,
        reason: r.try_get("reason")?,
        content: r.try_get("content")?,
    })
}

impl SourcesTx {
    /// Quarantine refused messages: `(message reference, reason code, reason, content)`. A
    /// message already quarantined for the same reason with the same bytes (a re-sent file) is
    /// not added again.
    pub async fn insert_quarantine(
        &mut self,
        entity_id: &str,
        t: Terminal,
        sync_id: &str,
        q: &[(Option<String>, &str, String, String)],
    ) -> Result<(), StoreError> {
        let now = now_millis();
        for (message_ref, code, reason, content) in q {
            sqlx::query(
                "INSERT INTO ds_quarantine (id, entity_id, terminal, sync_id, received_at, message_ref, reason_code, reason, content, content_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (entity_id, terminal, reason_code, content_sha256) DO NOTHING",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(entity_id.to_owned())
            .bind(t.as_str())
            .bind(sync_id.to_owned())
            .bind(now)
            .bind(message_ref.clone())
            .bind((*code).to_owned())
            .bind(reason.clone())
            .bind(content.clone())
            .bind(hex::encode(Sha256::digest(content.as_bytes())))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Clear a release's pending flag unless another delivery arrived since it was read.
    pub async fn inbox_done(
        &mut self,
        entity_id: &str,
        t: Terminal,
        release: &str,
        received: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE ds_webhook_inbox SET pending = 0, processed_at = $1 WHERE entity_id = $2 AND terminal = $3 \
             AND release_ref = $4 AND received = $5",
        )
        .bind(now_millis())
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .bind(release.to_owned())
        .bind(received)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Sources<'_> {
    /// Quarantined messages of a connection, newest first.
    pub async fn quarantine_list(
        &self,
        entity_id: &str,
        t: Terminal,
        limit: i64,
    ) -> Result<Vec<QuarantinedRow>, StoreError> {
        self.select(
            "SELECT id, sync_id, received_at, message_ref, reason_code, reason, content FROM ds_quarantine \
             WHERE entity_id = $1 AND terminal = $2 ORDER BY received_at DESC, id LIMIT $3",
            vec![entity_id.into(), t.into(), limit.into()],
            quarantined_row,
        )
        .await
    }

    /// Record one received webhook: one pending row per release (a burst is one fetch).
    pub async fn inbox_put(
        &self,
        entity_id: &str,
        t: Terminal,
        release: &str,
        event: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ds_webhook_inbox (entity_id, terminal, release_ref, last_event, received, pending, received_at) \
             VALUES ($1, $2, $3, $4, 1, 1, $5) ON CONFLICT (entity_id, terminal, release_ref) DO UPDATE SET \
             last_event = excluded.last_event, received = ds_webhook_inbox.received + 1, pending = 1, received_at = excluded.received_at",
            vec![entity_id.into(), t.into(), release.into(), event.into(), now_millis().into()],
        )
        .await?;
        Ok(())
    }

    /// Pending releases of a connection, oldest first: `(release, last event, deliveries)`.
    pub async fn inbox_pending(
        &self,
        entity_id: &str,
        t: Terminal,
        limit: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.select(
            "SELECT release_ref, last_event, received FROM ds_webhook_inbox WHERE entity_id = $1 AND terminal = $2 \
             AND pending = 1 ORDER BY received_at, release_ref LIMIT $3",
            vec![entity_id.into(), t.into(), limit.into()],
            |r| {
                Ok((
                    r.try_get("release_ref")?,
                    r.try_get("last_event")?,
                    r.try_get("received")?,
                ))
            },
        )
        .await
    }

    /// Drop a connection's queued webhooks (it was removed). Returns how many were pending.
    pub async fn inbox_clear(&self, entity_id: &str, t: Terminal) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "DELETE FROM ds_webhook_inbox WHERE entity_id = $1 AND terminal = $2 AND pending = 1",
        )
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .execute(self.store.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Connections with pending webhooks whose drain is neither running nor paused after a
    /// failure (the scheduler drains them).
    pub async fn connections_with_pending_webhooks(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, Terminal)>, StoreError> {
        self.select(
            "SELECT DISTINCT i.entity_id, i.terminal FROM ds_webhook_inbox i \
             LEFT JOIN ds_connections c ON c.entity_id = i.entity_id AND c.terminal = i.terminal \
             WHERE i.pending = 1 AND (c.hook_lease_until IS NULL OR c.hook_lease_until < $2) LIMIT $1",
            vec![limit.into(), now_millis().into()],
            entity_terminal,
        )
        .await
    }
}

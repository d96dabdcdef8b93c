//! Reads of the outbox: one operation, lists, what blocks an operation, depth and counts.

use super::{from_row, AwaitingNotification, Operation, OperationStatus, COLUMNS};
use crate::store::{Store, StoreError};
use sqlx::Row;

impl Store {
    /// One operation of an entity.
    pub async fn operation(
        &self,
        entity_id: &str,
        id: &str,
    ) -> Result<Option<Operation>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM operations WHERE id = $1 AND entity_id = $2"
        ))
        .bind(id.to_owned())
        .bind(entity_id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Operations of an entity, newest first, optionally for one container.
    pub async fn operations(
        &self,
        entity_id: &str,
        container_key: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Operation>, StoreError> {
        let rows = match container_key {
            Some(c) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM operations WHERE entity_id = $1 AND container_key = $2 \
                     ORDER BY seq DESC LIMIT $3"
                ))
                .bind(entity_id.to_owned())
                .bind(c.to_owned())
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM operations WHERE entity_id = $1 \
                     ORDER BY seq DESC LIMIT $2"
                ))
                .bind(entity_id.to_owned())
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    /// The earliest operation of the same container that holds `op` back (`queued`, in flight
    /// or `failed`), for the operation list's `blockedBy`.
    pub async fn blocked_by(&self, op: &Operation) -> Result<Option<String>, StoreError> {
        if !matches!(op.status, OperationStatus::Queued) {
            return Ok(None);
        }
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM operations WHERE entity_id = $1 AND container_key = $2 \
             AND seq < $3 AND status IN ('queued', 'sending', 'failed') ORDER BY seq LIMIT 1",
        )
        .bind(op.entity_id.clone())
        .bind(op.container_key.clone())
        .bind(op.seq)
        .fetch_optional(self.pool())
        .await?;
        Ok(id)
    }

    /// Operations not yet accepted by NxtPort (`queued` + `sending`).
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM operations WHERE status IN ('queued', 'sending')",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Operations `sent` before `sent_before` (unix ms) and still waiting for their
    /// notification, oldest first, at most `limit`.
    pub async fn sent_awaiting_notification(
        &self,
        sent_before: i64,
        limit: i64,
    ) -> Result<Vec<AwaitingNotification>, StoreError> {
        let rows = sqlx::query(
            "SELECT entity_id, public_reference_id FROM operations WHERE status = 'sent' \
             AND sent_at < $1 AND public_reference_id IS NOT NULL ORDER BY sent_at LIMIT $2",
        )
        .bind(sent_before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AwaitingNotification {
                    entity_id: r.try_get("entity_id")?,
                    public_reference_id: r.try_get("public_reference_id")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Count of operations per status (for tests and metrics).
    pub async fn operation_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM operations GROUP BY status")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

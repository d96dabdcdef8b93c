//! Operation state transitions: enqueue, the worker's outcomes (fenced by the claim's
//! generation) and the operator's retry and cancel.

use super::correlation::correlate_in;
use super::NewOperation;
use crate::store::{changed, now_millis, Store, StoreError};

const INSERT: &str =
    "INSERT INTO operations (id, entity_id, kind, container_key, payload, status, \
     attempts, next_attempt_at, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6, $6)";
impl Store {
    /// Durably enqueue one operation (committed, fsynced on SQLite, before returning).
    pub async fn enqueue(&self, op: &NewOperation) -> Result<(), StoreError> {
        let now = now_millis();
        sqlx::query(INSERT)
            .bind(op.id.to_string())
            .bind(op.entity_id.clone())
            .bind(op.kind.as_str())
            .bind(op.container_key.clone())
            .bind(op.payload.to_string())
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Enqueue several operations in one transaction (one fsync), in order.
    pub async fn enqueue_batch(&self, ops: &[NewOperation]) -> Result<(), StoreError> {
        let now = now_millis();
        let mut tx = self.pool().begin().await?;
        for op in ops {
            sqlx::query(INSERT)
                .bind(op.id.to_string())
                .bind(op.entity_id.clone())
                .bind(op.kind.as_str())
                .bind(op.container_key.clone())
                .bind(op.payload.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// NxtPort accepted the operation: mark it `sent` and correlate it with a notification
    /// already stored, in one transaction (a crash cannot leave it `sent` beside its stored
    /// notification; [`Self::correlate_stored`] repairs rows of older versions).
    /// `false` when `owner` no longer holds the operation's lease of `generation`.
    pub async fn mark_sent(
        &self,
        id: &str,
        owner: &str,
        generation: i64,
        public_reference_id: &str,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query(
            "UPDATE operations SET status = 'sent', public_reference_id = $1, error = NULL, \
             sent_at = $2, updated_at = $2, lease_owner = NULL, lease_until = NULL \
             WHERE id = $3 AND status = 'sending' AND lease_owner = $4 AND attempts = $5",
        )
        .bind(public_reference_id.to_owned())
        .bind(now)
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .bind(generation)
        .execute(&mut *tx)
        .await?;
        correlate_in(&mut tx, public_reference_id).await?;
        tx.commit().await?;
        Ok(changed(&r))
    }

    /// A transient failure: back to `queued`, due at `next_attempt_at`.
    pub async fn mark_retry(
        &self,
        id: &str,
        owner: &str,
        generation: i64,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE operations SET status = 'queued', error = $1, next_attempt_at = $2, \
             updated_at = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND status = 'sending' AND lease_owner = $5 AND attempts = $6",
        )
        .bind(error.to_owned())
        .bind(next_attempt_at)
        .bind(now_millis())
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .bind(generation)
        .execute(self.pool())
        .await?;
        Ok(changed(&r))
    }

    /// A final failure of a claimed operation.
    pub async fn mark_failed(
        &self,
        id: &str,
        owner: &str,
        generation: i64,
        error: &str,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let r = sqlx::query(
            "UPDATE operations SET status = 'failed', error = $1, completed_at = $2, \
             updated_at = $2, lease_owner = NULL, lease_until = NULL \
             WHERE id = $3 AND status = 'sending' AND lease_owner = $4 AND attempts = $5",
        )
        .bind(error.to_owned())
        .bind(now)
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .bind(generation)
        .execute(self.pool())
        .await?;
        Ok(changed(&r))
    }

    /// An operator's retry of a `failed` operation: queued again, due now, attempts from zero.
    /// `None` when there is no such operation; `Some(false)` when it is not `failed`.
    pub async fn retry_operation(
        &self,
        entity_id: &str,
        id: &str,
    ) -> Result<Option<bool>, StoreError> {
        let now = now_millis();
        let r = sqlx::query(
            "UPDATE operations SET status = 'queued', attempts = 0, next_attempt_at = $1, \
             error = NULL, completed_at = NULL, public_reference_id = NULL, \
             notification_id = NULL, sent_at = NULL, updated_at = $1 \
             WHERE id = $2 AND entity_id = $3 AND status = 'failed'",
        )
        .bind(now)
        .bind(id.to_owned())
        .bind(entity_id.to_owned())
        .execute(self.pool())
        .await?;
        if changed(&r) {
            return Ok(Some(true));
        }
        Ok(self.operation(entity_id, id).await?.map(|_| false))
    }

    /// An operator's cancel of a `queued` (not in flight) or `failed` operation: it is never
    /// sent and no longer holds its container. `None` when there is no such operation;
    /// `Some(false)` when it is in flight or already done.
    pub async fn cancel_operation(
        &self,
        entity_id: &str,
        id: &str,
    ) -> Result<Option<bool>, StoreError> {
        let now = now_millis();
        let r = sqlx::query(
            "UPDATE operations SET status = 'cancelled', completed_at = $1, updated_at = $1 \
             WHERE id = $2 AND entity_id = $3 AND status IN ('queued', 'failed')",
        )
        .bind(now)
        .bind(id.to_owned())
        .bind(entity_id.to_owned())
        .execute(self.pool())
        .await?;
        if changed(&r) {
            return Ok(Some(true));
        }
        Ok(self.operation(entity_id, id).await?.map(|_| false))
    }
}

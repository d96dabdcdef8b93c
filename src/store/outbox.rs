//! The outbox: every accepted write as an operation row, delivered to NxtPort in order per
//! container.
//!
//! Life of an operation: `queued` -> `sending` (claimed by the worker, internal) -> `sent`
//! (NxtPort answered 202 with a `publicReferenceId`) -> `completed` (a notification with that
//! id arrived) or `failed` (non-retryable answer, attempts exhausted, or an asynchronous
//! rejection). A transient failure puts it back to `queued` with a later `next_attempt_at`.
//!
//! Ordering: an operation is due only when no earlier operation (lower `seq`) of the same
//! entity and container is still `queued` or `sending`, so two operations of one container are
//! never in flight together and a later one never overtakes an earlier one.

use super::{changed, millis_to_utc, now_millis, Store, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// What an operation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum OperationKind {
    /// PUT terminal-release (Release, Block or Scanning).
    TerminalRelease,
    /// Ingestion Discharge.
    Discharge,
    /// Ingestion GateIn.
    GateIn,
    /// Ingestion GateOut.
    GateOut,
}

impl OperationKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TerminalRelease => "terminalRelease",
            Self::Discharge => "discharge",
            Self::GateIn => "gateIn",
            Self::GateOut => "gateOut",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::TerminalRelease,
            Self::Discharge,
            Self::GateIn,
            Self::GateOut,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationStatus {
    /// Waiting for delivery (also while being sent).
    Queued,
    /// Claimed by a worker (internal; shown as `queued`).
    Sending,
    /// NxtPort accepted it (202 with a publicReferenceId).
    Sent,
    /// Its notification arrived.
    Completed,
    /// Rejected or attempts exhausted.
    Failed,
}

impl OperationStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sending,
            Self::Sent,
            Self::Completed,
            Self::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A new operation to enqueue.
#[derive(Debug, Clone)]
pub struct NewOperation {
    /// Operation id (sent as `External-Reference-Id`).
    pub id: uuid::Uuid,
    /// Owning entity.
    pub entity_id: String,
    /// What to send.
    pub kind: OperationKind,
    /// Ordering key (the container number).
    pub container_key: String,
    /// The NxtPort request body.
    pub payload: serde_json::Value,
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Global sequence (ordering).
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Owning entity.
    pub entity_id: String,
    /// Kind.
    pub kind: OperationKind,
    /// Ordering key.
    pub container_key: String,
    /// NxtPort request body.
    pub payload: serde_json::Value,
    /// Status.
    pub status: OperationStatus,
    /// Delivery attempts started.
    pub attempts: i64,
    /// Not before (unix ms).
    pub next_attempt_at: i64,
    /// NxtPort's reference once sent.
    pub public_reference_id: Option<String>,
    /// Last error.
    pub error: Option<String>,
    /// Correlated notification.
    pub notification_id: Option<String>,
    /// Accepted at (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// Sent at (unix ms).
    pub sent_at: Option<i64>,
    /// Completed or failed at (unix ms).
    pub completed_at: Option<i64>,
}

impl Operation {
    /// Acceptance time as UTC.
    pub fn created_utc(&self) -> chrono::DateTime<chrono::Utc> {
        millis_to_utc(self.created_at)
    }
}

const COLUMNS: &str = "seq, id, entity_id, kind, container_key, payload, status, attempts, \
    next_attempt_at, public_reference_id, error, notification_id, created_at, updated_at, \
    sent_at, completed_at";

fn from_row(r: &AnyRow) -> Result<Operation, StoreError> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let payload: String = r.try_get("payload")?;
    Ok(Operation {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        entity_id: r.try_get("entity_id")?,
        kind: OperationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("operation kind {kind}")))?,
        container_key: r.try_get("container_key")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("operation payload: {e}")))?,
        status: OperationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("operation status {status}")))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        public_reference_id: r.try_get("public_reference_id")?,
        error: r.try_get("error")?,
        notification_id: r.try_get("notification_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        sent_at: r.try_get("sent_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

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

    /// Due operations (oldest first), claimed as `sending`; at most one per container.
    pub async fn claim_due(&self, now: i64, limit: i64) -> Result<Vec<Operation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM operations o WHERE o.status = 'queued' \
             AND o.next_attempt_at <= $1 AND NOT EXISTS (SELECT 1 FROM operations p \
               WHERE p.entity_id = o.entity_id AND p.container_key = o.container_key \
               AND p.seq < o.seq AND p.status IN ('queued', 'sending')) \
             ORDER BY o.seq LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut op = from_row(row)?;
            let r = sqlx::query(
                "UPDATE operations SET status = 'sending', attempts = attempts + 1, \
                 updated_at = $1 WHERE id = $2 AND status = 'queued'",
            )
            .bind(now)
            .bind(op.id.clone())
            .execute(self.pool())
            .await?;
            if changed(&r) {
                op.status = OperationStatus::Sending;
                op.attempts += 1;
                claimed.push(op);
            }
        }
        Ok(claimed)
    }

    /// The earliest time a queued operation becomes due (for the worker's sleep).
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM operations WHERE status = 'queued'",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(at)
    }

    /// NxtPort accepted the operation; then correlate with an already stored notification.
    pub async fn mark_sent(&self, id: &str, public_reference_id: &str) -> Result<(), StoreError> {
        let now = now_millis();
        sqlx::query(
            "UPDATE operations SET status = 'sent', public_reference_id = $1, error = NULL, \
             sent_at = $2, updated_at = $2 WHERE id = $3 AND status = 'sending'",
        )
        .bind(public_reference_id.to_owned())
        .bind(now)
        .bind(id.to_owned())
        .execute(self.pool())
        .await?;
        self.correlate(public_reference_id).await?;
        Ok(())
    }

    /// A transient failure: back to `queued`, due at `next_attempt_at`.
    pub async fn mark_retry(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE operations SET status = 'queued', error = $1, next_attempt_at = $2, \
             updated_at = $3 WHERE id = $4 AND status = 'sending'",
        )
        .bind(error.to_owned())
        .bind(next_attempt_at)
        .bind(now_millis())
        .bind(id.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A final failure.
    pub async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        let now = now_millis();
        sqlx::query(
            "UPDATE operations SET status = 'failed', error = $1, completed_at = $2, \
             updated_at = $2 WHERE id = $3 AND status IN ('sending', 'queued')",
        )
        .bind(error.to_owned())
        .bind(now)
        .bind(id.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// After a restart: operations left `sending` by a dead process go back to `queued`
    /// (they may have reached NxtPort: delivery is at-least-once).
    pub async fn requeue_in_flight(&self) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE operations SET status = 'queued', updated_at = $1 WHERE status = 'sending'",
        )
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
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

    /// Complete (or fail, for an asynchronous rejection) every `sent` operation whose
    /// `publicReferenceId` has a stored notification of the same entity. Idempotent; run after
    /// storing a notification and after marking an operation sent, so either order works.
    pub async fn correlate(&self, public_reference_id: &str) -> Result<u64, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id AS op_id, n.id AS n_id, n.event AS event, n.raw AS raw \
             FROM operations o JOIN notifications n \
               ON n.public_reference_id = o.public_reference_id AND n.entity_id = o.entity_id \
             WHERE o.public_reference_id = $1 AND o.status = 'sent' \
             ORDER BY n.stored_on, n.id",
        )
        .bind(public_reference_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        let mut n = 0;
        let mut done: Vec<String> = Vec::new();
        for row in rows {
            let op_id: String = row.try_get("op_id")?;
            if done.contains(&op_id) {
                continue;
            }
            let notification_id: String = row.try_get("n_id")?;
            let event: Option<String> = row.try_get("event")?;
            let now = now_millis();
            let rejected = matches!(event.as_deref(), Some("NotValidated" | "ThrownException"));
            let r = if rejected {
                let raw: String = row.try_get("raw")?;
                let errors = serde_json::from_str::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|v| v.get("errors").cloned())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                sqlx::query(
                    "UPDATE operations SET status = 'failed', notification_id = $1, error = $2, \
                     completed_at = $3, updated_at = $3 WHERE id = $4 AND status = 'sent'",
                )
                .bind(notification_id)
                .bind(format!(
                    "NxtPort rejected the operation asynchronously ({}): {errors}",
                    event.as_deref().unwrap_or("")
                ))
                .bind(now)
                .bind(op_id.clone())
                .execute(self.pool())
                .await?
            } else {
                sqlx::query(
                    "UPDATE operations SET status = 'completed', notification_id = $1, \
                     completed_at = $2, updated_at = $2 WHERE id = $3 AND status = 'sent'",
                )
                .bind(notification_id)
                .bind(now)
                .bind(op_id.clone())
                .execute(self.pool())
                .await?
            };
            n += r.rows_affected();
            done.push(op_id);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::sqlite_store;

    fn op(entity: &str, container: &str, n: u32) -> NewOperation {
        NewOperation {
            id: uuid::Uuid::new_v4(),
            entity_id: entity.to_owned(),
            kind: OperationKind::Discharge,
            container_key: container.to_owned(),
            payload: serde_json::json!({ "n": n }),
        }
    }

    #[tokio::test]
    async fn claims_one_per_container_in_order() {
        let (store, _dir) = sqlite_store().await;
        let (e, _) = store.ensure_entity("e").await.expect("e");
        let ops = vec![
            op(&e.id, "A", 1),
            op(&e.id, "A", 2),
            op(&e.id, "B", 3),
            op(&e.id, "A", 4),
        ];
        store.enqueue_batch(&ops).await.expect("enqueue");
        assert_eq!(store.outbox_depth().await.expect("depth"), 4);
        let now = now_millis();
        let first = store.claim_due(now, 10).await.expect("claim");
        let ns: Vec<_> = first.iter().map(|o| o.payload["n"].as_i64()).collect();
        assert_eq!(ns, vec![Some(1), Some(3)]);
        // Nothing more while A#1 is in flight.
        assert!(store.claim_due(now, 10).await.expect("claim").is_empty());
        // A#1 fails transiently: it stays first, A#2 still waits.
        store
            .mark_retry(&first[0].id, "503", now + 60_000)
            .await
            .expect("retry");
        assert!(store.claim_due(now, 10).await.expect("claim").is_empty());
        let again = store.claim_due(now + 60_000, 10).await.expect("claim");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, first[0].id);
        assert_eq!(again[0].attempts, 2);
        store.mark_sent(&again[0].id, "ref-1").await.expect("sent");
        let next = store.claim_due(now + 60_000, 10).await.expect("claim");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].payload["n"].as_i64(), Some(2));
        // A failed operation does not block its successors.
        store.mark_failed(&next[0].id, "400").await.expect("failed");
        let last = store.claim_due(now + 60_000, 10).await.expect("claim");
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].payload["n"].as_i64(), Some(4));
    }

    #[tokio::test]
    async fn in_flight_operations_are_requeued_after_restart() {
        let (store, _dir) = sqlite_store().await;
        let (e, _) = store.ensure_entity("e").await.expect("e");
        store.enqueue(&op(&e.id, "A", 1)).await.expect("enqueue");
        let claimed = store.claim_due(now_millis(), 10).await.expect("claim");
        assert_eq!(claimed.len(), 1);
        assert_eq!(store.requeue_in_flight().await.expect("requeue"), 1);
        let again = store.claim_due(now_millis(), 10).await.expect("claim");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);
    }

    #[tokio::test]
    async fn entity_scoping_of_reads() {
        let (store, _dir) = sqlite_store().await;
        let (a, _) = store.ensure_entity("a").await.expect("a");
        let (b, _) = store.ensure_entity("b").await.expect("b");
        let o = op(&a.id, "A", 1);
        store.enqueue(&o).await.expect("enqueue");
        assert!(store
            .operation(&a.id, &o.id.to_string())
            .await
            .expect("get")
            .is_some());
        assert!(store
            .operation(&b.id, &o.id.to_string())
            .await
            .expect("get")
            .is_none());
    }
}

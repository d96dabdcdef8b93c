//! Correlation: a `sent` operation becomes `completed` (or `failed`, for an asynchronous
//! rejection) once the notification with its `publicReferenceId` is stored.

use crate::store::{now_millis, Store, StoreError};
use sqlx::Row;

impl Store {
    /// Complete (or fail, for an asynchronous rejection) every `sent` operation whose
    /// `publicReferenceId` has a stored notification of the same entity. Idempotent; run after
    /// storing a notification and after marking an operation sent, so either order works.
    pub async fn correlate(&self, public_reference_id: &str) -> Result<u64, StoreError> {
        let mut conn = self.pool().acquire().await?;
        correlate_in(&mut conn, public_reference_id).await
    }

    /// Correlate every `sent` operation whose notification is already stored (repairs what a
    /// crash between storing a notification and correlating it left behind). Idempotent.
    pub async fn correlate_stored(&self) -> Result<u64, StoreError> {
        let refs: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT o.public_reference_id FROM operations o JOIN notifications n \
               ON n.public_reference_id = o.public_reference_id AND n.entity_id = o.entity_id \
             WHERE o.status = 'sent' AND o.public_reference_id IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        let mut n = 0;
        for r in refs {
            n += self.correlate(&r).await?;
        }
        Ok(n)
    }
}

/// [`Store::correlate`] on a given connection (inside a transaction or not).
pub(in crate::store) async fn correlate_in(
    conn: &mut sqlx::AnyConnection,
    public_reference_id: &str,
) -> Result<u64, StoreError> {
    let rows = sqlx::query(
        "SELECT o.id AS op_id, n.id AS n_id, n.event AS event, n.raw AS raw \
         FROM operations o JOIN notifications n \
           ON n.public_reference_id = o.public_reference_id AND n.entity_id = o.entity_id \
         WHERE o.public_reference_id = $1 AND o.status = 'sent' \
         ORDER BY n.stored_on, n.id",
    )
    .bind(public_reference_id.to_owned())
    .fetch_all(&mut *conn)
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
        let rejected = crate::store::notifications::is_rejection(event.as_deref());
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
            .execute(&mut *conn)
            .await?
        } else {
            sqlx::query(
                "UPDATE operations SET status = 'completed', notification_id = $1, \
                 completed_at = $2, updated_at = $2 WHERE id = $3 AND status = 'sent'",
            )
            .bind(notification_id)
            .bind(now)
            .bind(op_id.clone())
            .execute(&mut *conn)
            .await?
        };
        n += r.rows_affected();
        done.push(op_id);
    }
    Ok(n)
}

//! Audit log: who did what, for which entity, when, with what outcome. Never a secret: callers
//! pass field *names* in `detail`, not values.

use super::{now_millis, Store, StoreError};
use serde::Serialize;
use sqlx::{Any, Row};

/// Who acts, and for which entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The API token used (`None` for the CLI or the gateway itself).
    pub token_id: Option<String>,
    /// The entity the token belongs to.
    pub actor_entity_id: Option<String>,
    /// The entity acted for (whose data is read or changed).
    pub entity_id: String,
    /// `true` when a support token acts for another entity.
    pub impersonation: bool,
}

impl Actor {
    /// The gateway itself or its CLI, acting for `entity_id`.
    pub fn system(entity_id: impl Into<String>) -> Self {
        Self {
            token_id: None,
            actor_entity_id: None,
            entity_id: entity_id.into(),
            impersonation: false,
        }
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// Verb, e.g. `credentials.put`, `connection.read`.
    pub action: &'a str,
    /// What was acted on, e.g. `nxtport` or an operation id.
    pub target: &'a str,
    /// `ok`, `denied`, `invalid`, `error`.
    pub outcome: &'a str,
    /// Extra non-secret facts (field names changed, status codes).
    pub detail: Option<serde_json::Value>,
}

/// A stored audit entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Entry id.
    pub id: String,
    /// When (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Token used, if any.
    pub actor_token_id: Option<String>,
    /// Entity of that token.
    pub actor_entity_id: Option<String>,
    /// Entity acted for.
    pub entity_id: Option<String>,
    /// Support acting for another entity.
    pub impersonation: bool,
    /// Verb.
    pub action: String,
    /// Object.
    pub target: String,
    /// Outcome.
    pub outcome: String,
    /// Non-secret detail.
    pub detail: Option<serde_json::Value>,
}

/// Audit log operations.
pub struct AuditLog;

impl AuditLog {
    /// Append an entry using any executor (pool or open transaction).
    pub async fn record_with<'e, E>(
        exec: E,
        actor: &Actor,
        record: &AuditRecord<'_>,
    ) -> Result<(), StoreError>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let detail = record.detail.as_ref().map(|d| d.to_string());
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_token_id, actor_entity_id, entity_id, \
             impersonation, action, target, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now_millis())
        .bind(actor.token_id.clone())
        .bind(actor.actor_entity_id.clone())
        .bind(actor.entity_id.clone())
        .bind(i64::from(actor.impersonation))
        .bind(record.action.to_owned())
        .bind(record.target.to_owned())
        .bind(record.outcome.to_owned())
        .bind(detail)
        .execute(exec)
        .await?;
        Ok(())
    }

    /// Append an entry in its own statement.
    pub async fn record(
        store: &Store,
        actor: &Actor,
        record: &AuditRecord<'_>,
    ) -> Result<(), StoreError> {
        Self::record_with(store.pool(), actor, record).await
    }

    /// Latest entries for an entity, newest first.
    pub async fn list(
        store: &Store,
        entity_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor_token_id, actor_entity_id, entity_id, impersonation, action, \
             target, outcome, detail FROM audit_log WHERE entity_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(entity_id.to_owned())
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let detail: Option<String> = r.try_get("detail")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: super::millis_to_utc(r.try_get("at")?),
                    actor_token_id: r.try_get("actor_token_id")?,
                    actor_entity_id: r.try_get("actor_entity_id")?,
                    entity_id: r.try_get("entity_id")?,
                    impersonation: r.try_get::<i64, _>("impersonation")? != 0,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    outcome: r.try_get("outcome")?,
                    detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

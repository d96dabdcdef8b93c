//! Entities (the companies the gateway serves), their API tokens and webhook secrets.
//!
//! Tokens are random (`cgw_` + 32 base64url characters = 192 bits), shown once, stored as
//! SHA-256 hex: a database leak does not leak usable tokens, and lookup is one indexed equality.
//! Webhook secrets (`whk_...`) work the same way, one per entity.

use super::{changed, millis_to_utc, now_millis, Store, StoreError};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// A company served by the gateway (a row; not an API type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Stable id (uuid).
    pub id: String,
    /// Unique human name.
    pub name: String,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What a token may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Read, push events, change connections.
    Editor,
    /// Editor rights for any entity via `X-Act-For-Entity` (audited as impersonation).
    Support,
}

impl Role {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Support => "support",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "support" => Some(Role::Support),
            _ => None,
        }
    }

    /// May this role change data?
    pub fn can_write(self) -> bool {
        match self {
            Role::Viewer => false,
            Role::Editor | Role::Support => true,
        }
    }
}

/// A token as stored (never the token itself; a row, not an API type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Token id (uuid), used in the audit log.
    pub id: String,
    /// Owning entity.
    pub entity_id: String,
    /// Role.
    pub role: Role,
    /// Free label.
    pub label: Option<String>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Revocation time.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// SHA-256 hex of a presented secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_secret(prefix: &str) -> SecretString {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    SecretString::from(format!("{prefix}{body}"))
}

fn entity_from_row(r: &sqlx::any::AnyRow) -> Result<Entity, sqlx::Error> {
    Ok(Entity {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: millis_to_utc(r.try_get("created_at")?),
    })
}

fn token_from_row(r: &sqlx::any::AnyRow) -> Result<TokenInfo, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(TokenInfo {
        id: r.try_get("id")?,
        entity_id: r.try_get("entity_id")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        label: r.try_get("label")?,
        created_at: millis_to_utc(r.try_get("created_at")?),
        last_used_at: r
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(millis_to_utc),
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(millis_to_utc),
    })
}

const TOKEN_COLUMNS: &str = "id, entity_id, role, label, created_at, last_used_at, revoked_at";

impl Store {
    /// The entity named `name`, created if missing. Returns `(entity, created)`.
    pub async fn ensure_entity(&self, name: &str) -> Result<(Entity, bool), StoreError> {
        if let Some(e) = self.entity_by_name(name).await? {
            return Ok((e, false));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let inserted = sqlx::query(
            "INSERT INTO entities (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(id)
        .bind(name.to_owned())
        .bind(now_millis())
        .execute(self.pool())
        .await?;
        let entity = self
            .entity_by_name(name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("entity {name} vanished")))?;
        Ok((entity, changed(&inserted)))
    }

    /// Look an entity up by name.
    pub async fn entity_by_name(&self, name: &str) -> Result<Option<Entity>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM entities WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(entity_from_row).transpose()?)
    }

    /// Look an entity up by id.
    pub async fn entity(&self, id: &str) -> Result<Option<Entity>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM entities WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(entity_from_row).transpose()?)
    }

    /// Every entity, by name.
    pub async fn entities(&self) -> Result<Vec<Entity>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM entities ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(entity_from_row).collect::<Result<_, _>>()?)
    }

    /// Create a token; the returned secret is shown once and never stored.
    pub async fn create_token(
        &self,
        entity_id: &str,
        role: Role,
        label: Option<&str>,
    ) -> Result<(TokenInfo, SecretString), StoreError> {
        let secret = random_secret("cgw_");
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_millis();
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, entity_id, role, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(hash_secret(secret.expose_secret()))
        .bind(entity_id.to_owned())
        .bind(role.as_str())
        .bind(label.map(str::to_owned))
        .bind(now)
        .execute(self.pool())
        .await?;
        let info = TokenInfo {
            id,
            entity_id: entity_id.to_owned(),
            role,
            label: label.map(str::to_owned),
            created_at: millis_to_utc(now),
            last_used_at: None,
            revoked_at: None,
        };
        Ok((info, secret))
    }

    /// The live (not revoked) token whose secret is `presented`.
    pub async fn authenticate_token(
        &self,
        presented: &str,
    ) -> Result<Option<TokenInfo>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(hash_secret(presented))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Record a use of a token.
    pub async fn touch_token(&self, token_id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(token_id.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revoke a token; `false` when it did not exist or was already revoked.
    pub async fn revoke_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_millis())
        .bind(token_id.to_owned())
        .execute(self.pool())
        .await?;
        Ok(changed(&r))
    }

    /// Tokens of an entity, oldest first.
    pub async fn tokens(&self, entity_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE entity_id = $1 ORDER BY created_at"
        ))
        .bind(entity_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Issue a new webhook secret for an entity (replaces the old one).
    pub async fn rotate_webhook_secret(&self, entity_id: &str) -> Result<SecretString, StoreError> {
        let secret = random_secret("whk_");
        sqlx::query("UPDATE entities SET webhook_token_hash = $1 WHERE id = $2")
            .bind(hash_secret(secret.expose_secret()))
            .bind(entity_id.to_owned())
            .execute(self.pool())
            .await?;
        Ok(secret)
    }

    /// Does `presented` match the entity's webhook secret?
    pub async fn verify_webhook_secret(
        &self,
        entity_id: &str,
        presented: &str,
    ) -> Result<bool, StoreError> {
        let stored: Option<Option<String>> =
            sqlx::query_scalar("SELECT webhook_token_hash FROM entities WHERE id = $1")
                .bind(entity_id.to_owned())
                .fetch_optional(self.pool())
                .await?;
        Ok(matches!(stored, Some(Some(h)) if h == hash_secret(presented)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::sqlite_store;

    #[tokio::test]
    async fn entity_is_created_once() {
        let (store, _dir) = sqlite_store().await;
        let (a, created) = store.ensure_entity("acme").await.expect("create");
        assert!(created);
        let (b, created) = store.ensure_entity("acme").await.expect("get");
        assert!(!created);
        assert_eq!(a, b);
        assert_eq!(store.entity(&a.id).await.expect("by id"), Some(a));
    }

    #[tokio::test]
    async fn token_is_stored_hashed_and_revocable() {
        let (store, _dir) = sqlite_store().await;
        let (e, _) = store.ensure_entity("acme").await.expect("entity");
        let (info, secret) = store
            .create_token(&e.id, Role::Editor, Some("ci"))
            .await
            .expect("token");
        let plain = secret.expose_secret().to_owned();
        assert!(plain.starts_with("cgw_") && plain.len() == 36, "{plain}");
        let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_one(store.pool())
            .await
            .expect("row");
        assert_ne!(stored, plain);
        assert_eq!(stored, hash_secret(&plain));
        let found = store.authenticate_token(&plain).await.expect("lookup");
        assert_eq!(found.as_ref().map(|t| t.role), Some(Role::Editor));
        assert_eq!(
            store.authenticate_token("cgw_wrong").await.expect("lookup"),
            None
        );
        assert!(store.revoke_token(&info.id).await.expect("revoke"));
        assert!(!store.revoke_token(&info.id).await.expect("revoke twice"));
        assert_eq!(
            store.authenticate_token(&plain).await.expect("lookup"),
            None
        );
        assert!(!format!("{secret:?}").contains(&plain[4..]));
    }

    #[tokio::test]
    async fn webhook_secret_verifies_only_for_its_entity() {
        let (store, _dir) = sqlite_store().await;
        let (a, _) = store.ensure_entity("a").await.expect("a");
        let (b, _) = store.ensure_entity("b").await.expect("b");
        let s = store.rotate_webhook_secret(&a.id).await.expect("rotate");
        assert!(store
            .verify_webhook_secret(&a.id, s.expose_secret())
            .await
            .expect("verify"));
        assert!(!store
            .verify_webhook_secret(&b.id, s.expose_secret())
            .await
            .expect("verify other"));
        assert!(!store
            .verify_webhook_secret(&a.id, "whk_x")
            .await
            .expect("verify bad"));
    }
}

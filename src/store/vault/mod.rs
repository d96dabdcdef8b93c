//! Credentials vault: per-entity connection credentials, secrets encrypted at rest.
//!
//! One row per (entity, kind), where kind is `nxtport` for the gateway's CPu connection and a
//! terminal name for Data Sources. Non-secret fields (client id, username, terminal code) are
//! plain JSON so they can be shown; secret fields (passwords, client secrets, API keys) are one
//! AES-256-GCM ciphertext:
//!
//! - a random 96-bit nonce per write (never reused under one key: 2^-32 collision odds only after
//!   ~2^32 writes per key, far beyond one gateway's lifetime);
//! - associated data = entity id + kind, so a ciphertext copied to another entity's row (or
//!   another kind) fails to decrypt instead of leaking a secret across tenants;
//! - a key version per row, so a new master key can be introduced and old rows re-encrypted
//!   ([`Vault::rotate`]) while retired keys still decrypt.
//!
//! Secrets leave the vault only through [`Vault::decrypt`], which is crate-internal: the
//! gateway's delivery worker and Data Sources adapters use it; no HTTP handler returns it.
//! Writes and deletes are audited in the same transaction.
//!
//! Here: the vault's rows and operations; the master key and the sealing in `cipher`.

mod cipher;
#[cfg(test)]
mod tests;

use super::audit::{Actor, AuditLog, AuditRecord};
use super::{changed, millis_to_utc, now_millis, Store, StoreError};
use secrecy::SecretString;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use cipher::VaultKey;

/// Secret fields by name. Values are redacted in `Debug`.
pub type SecretFields = BTreeMap<String, SecretString>;

/// Vault failures. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key is malformed.
    #[error("master key {0}")]
    BadKey(String),
    /// A row was written under a key version this process does not have.
    #[error("no master key with version {0} is configured")]
    UnknownKeyVersion(i64),
    /// Authentication of the ciphertext failed: wrong key, tampered data or moved row.
    #[error("stored credentials for {kind} failed authentication (tampered, moved or wrong key)")]
    Tampered {
        /// Credential kind.
        kind: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for VaultError {
    fn from(e: sqlx::Error) -> Self {
        VaultError::Store(StoreError::Db(e))
    }
}

/// A stored credential without its secret values (a row; API views are built from it).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCredential {
    /// Owning entity.
    pub entity_id: String,
    /// `nxtport` or a terminal name.
    pub kind: String,
    /// Non-secret fields as given.
    pub public_fields: serde_json::Value,
    /// Names of the secret fields that have a stored value.
    pub secret_fields_set: Vec<String>,
    /// Key version the secrets are encrypted under.
    pub key_version: i64,
    /// First save.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last save.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// How [`Vault::put`] treats secrets already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMerge {
    /// The given secrets are the whole set.
    Replace,
    /// A secret left out keeps its stored value; a given one replaces it.
    KeepMissing,
}

/// The vault (cheap to clone).
#[derive(Clone, Debug)]
pub struct Vault {
    store: Store,
    keys: Arc<HashMap<i64, VaultKey>>,
    current: i64,
}

struct Row_ {
    id: String,
    public_fields: String,
    secret_blob: Vec<u8>,
    nonce: Vec<u8>,
    key_version: i64,
    created_at: i64,
    updated_at: i64,
}

impl Vault {
    /// A vault encrypting under `current` (version `current_version`), able to decrypt rows of
    /// every version in `retired` too.
    pub fn new(
        store: Store,
        current_version: u32,
        current: VaultKey,
        retired: Vec<(u32, VaultKey)>,
    ) -> Self {
        let mut keys: HashMap<i64, VaultKey> = retired
            .into_iter()
            .map(|(v, k)| (i64::from(v), k))
            .collect();
        keys.insert(i64::from(current_version), current);
        Self {
            store,
            keys: Arc::new(keys),
            current: i64::from(current_version),
        }
    }

    /// The store behind the vault.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The row of (entity, kind), read through `exec` (the pool, or a transaction).
    async fn load<'e, E>(exec: E, entity_id: &str, kind: &str) -> Result<Option<Row_>, VaultError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row = sqlx::query(
            "SELECT id, public_fields, secret_blob, nonce, key_version, created_at, updated_at \
             FROM credentials WHERE entity_id = $1 AND kind = $2",
        )
        .bind(entity_id.to_owned())
        .bind(kind.to_owned())
        .fetch_optional(exec)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Row_ {
            id: r.try_get("id")?,
            public_fields: r.try_get("public_fields")?,
            secret_blob: r.try_get("secret_blob")?,
            nonce: r.try_get("nonce")?,
            key_version: r.try_get("key_version")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        }))
    }

    fn describe(
        &self,
        entity_id: &str,
        kind: &str,
        row: &Row_,
        names: Vec<String>,
    ) -> StoredCredential {
        StoredCredential {
            entity_id: entity_id.to_owned(),
            kind: kind.to_owned(),
            public_fields: serde_json::from_str(&row.public_fields)
                .unwrap_or(serde_json::Value::Null),
            secret_fields_set: names,
            key_version: row.key_version,
            created_at: millis_to_utc(row.created_at),
            updated_at: millis_to_utc(row.updated_at),
        }
    }

    /// Save the credentials of `kind` for `actor.entity_id` (insert or replace), audited.
    ///
    /// Safe when several saves of one (entity, kind) run at once, on both engines: the
    /// transaction starts with one upsert that either inserts the row or, when it exists, makes
    /// a no-op update of it, which holds the row lock (PostgreSQL) or the database write lock
    /// (SQLite) until commit. The row is read only after that, inside the transaction. So two
    /// first saves never both insert (the second would fail on `UNIQUE (entity_id, kind)`: a
    /// 500), and a [`SecretMerge::KeepMissing`] merge starts from the secrets of the last
    /// committed save, not from a copy read before another save committed (a lost update). It
    /// also keeps the rule that a write transaction starts with a write (see the `store` module).
    pub async fn put(
        &self,
        actor: &Actor,
        kind: &str,
        public_fields: serde_json::Value,
        secrets: SecretFields,
        merge: SecretMerge,
    ) -> Result<StoredCredential, VaultError> {
        let entity_id = actor.entity_id.as_str();
        let changed_names: Vec<String> = secrets.keys().cloned().collect();
        let now = now_millis();
        let public_text = public_fields.to_string();
        let new_id = uuid::Uuid::new_v4().to_string();
        // Encrypted for the insert; re-encrypted below when the row exists and secrets merge.
        let (blob, nonce) = self.encrypt(entity_id, kind, &secrets)?;
        let mut tx = self.store.pool().begin().await?;
        let id: String = sqlx::query_scalar(
            "INSERT INTO credentials (id, entity_id, kind, public_fields, secret_blob, \
             nonce, key_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (entity_id, kind) DO UPDATE SET updated_at = credentials.updated_at \
             RETURNING id",
        )
        .bind(new_id.clone())
        .bind(entity_id.to_owned())
        .bind(kind.to_owned())
        .bind(public_text.clone())
        .bind(blob.clone())
        .bind(nonce.clone())
        .bind(self.current)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let created = id == new_id;
        let (all, blob, nonce, created_at) = if created {
            (secrets, blob, nonce, now)
        } else {
            // Locked by the upsert above: this is the last committed version of the row.
            let row = Self::load(&mut *tx, entity_id, kind)
                .await?
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("credentials of {kind} vanished while locked"))
                })?;
            let (all, blob, nonce) = match merge {
                SecretMerge::Replace => (secrets, blob, nonce),
                SecretMerge::KeepMissing => {
                    let mut all = self.open(entity_id, kind, &row)?;
                    all.extend(secrets);
                    let (blob, nonce) = self.encrypt(entity_id, kind, &all)?;
                    (all, blob, nonce)
                }
            };
            sqlx::query(
                "UPDATE credentials SET public_fields = $1, secret_blob = $2, nonce = $3, \
                 key_version = $4, updated_at = $5 WHERE id = $6",
            )
            .bind(public_text.clone())
            .bind(blob.clone())
            .bind(nonce.clone())
            .bind(self.current)
            .bind(now)
            .bind(row.id.clone())
            .execute(&mut *tx)
            .await?;
            (all, blob, nonce, row.created_at)
        };
        let public_names: Vec<String> = public_fields
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        AuditLog::record_with(
            &mut *tx,
            actor,
            &AuditRecord {
                action: if created {
                    "credentials.create"
                } else {
                    "credentials.update"
                },
                target: kind,
                outcome: "ok",
                detail: Some(serde_json::json!({
                    "publicFields": public_names,
                    "secretFieldsChanged": changed_names,
                })),
            },
        )
        .await?;
        tx.commit().await?;
        let row = Row_ {
            id,
            public_fields: public_text,
            secret_blob: blob,
            nonce,
            key_version: self.current,
            created_at,
            updated_at: now,
        };
        Ok(self.describe(entity_id, kind, &row, all.keys().cloned().collect()))
    }

    /// The non-secret view of stored credentials (with the names of the secrets that are set).
    pub async fn get_public(
        &self,
        entity_id: &str,
        kind: &str,
    ) -> Result<Option<StoredCredential>, VaultError> {
        let Some(row) = Self::load(self.store.pool(), entity_id, kind).await? else {
            return Ok(None);
        };
        let names = self.open(entity_id, kind, &row)?.into_keys().collect();
        Ok(Some(self.describe(entity_id, kind, &row, names)))
    }

    /// Only the non-secret fields (no decryption: cheap enough for every request).
    pub async fn public_fields(
        &self,
        entity_id: &str,
        kind: &str,
    ) -> Result<Option<serde_json::Value>, VaultError> {
        let text: Option<String> = sqlx::query_scalar(
            "SELECT public_fields FROM credentials WHERE entity_id = $1 AND kind = $2",
        )
        .bind(entity_id.to_owned())
        .bind(kind.to_owned())
        .fetch_optional(self.store.pool())
        .await?;
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| VaultError::Store(StoreError::Corrupt(format!("public fields: {e}"))))
    }

    /// The entities that have a credential of `kind`, by id.
    pub async fn entities_with(&self, kind: &str) -> Result<Vec<String>, VaultError> {
        Ok(sqlx::query_scalar(
            "SELECT entity_id FROM credentials WHERE kind = $1 ORDER BY entity_id",
        )
        .bind(kind.to_owned())
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Every stored credential of an entity (non-secret view), by kind.
    pub async fn list(&self, entity_id: &str) -> Result<Vec<StoredCredential>, VaultError> {
        let kinds: Vec<String> =
            sqlx::query_scalar("SELECT kind FROM credentials WHERE entity_id = $1 ORDER BY kind")
                .bind(entity_id.to_owned())
                .fetch_all(self.store.pool())
                .await?;
        let mut out = Vec::with_capacity(kinds.len());
        for kind in kinds {
            if let Some(c) = self.get_public(entity_id, &kind).await? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Decrypt the secrets, for use by the gateway and Data Sources only.
    pub(crate) async fn decrypt(
        &self,
        entity_id: &str,
        kind: &str,
    ) -> Result<Option<(StoredCredential, SecretFields)>, VaultError> {
        let Some(row) = Self::load(self.store.pool(), entity_id, kind).await? else {
            return Ok(None);
        };
        let secrets = self.open(entity_id, kind, &row)?;
        let names = secrets.keys().cloned().collect();
        Ok(Some((self.describe(entity_id, kind, &row, names), secrets)))
    }

    /// Delete the credentials of `kind` for `actor.entity_id`, audited. `false` if none.
    pub async fn delete(&self, actor: &Actor, kind: &str) -> Result<bool, VaultError> {
        let mut tx = self.store.pool().begin().await?;
        let r = sqlx::query("DELETE FROM credentials WHERE entity_id = $1 AND kind = $2")
            .bind(actor.entity_id.clone())
            .bind(kind.to_owned())
            .execute(&mut *tx)
            .await?;
        let deleted = changed(&r);
        AuditLog::record_with(
            &mut *tx,
            actor,
            &AuditRecord {
                action: "credentials.delete",
                target: kind,
                outcome: if deleted { "ok" } else { "not_found" },
                detail: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Record another credential operation (read, test, verification) in the audit log.
    pub async fn audit(&self, actor: &Actor, record: &AuditRecord<'_>) -> Result<(), VaultError> {
        AuditLog::record(&self.store, actor, record).await?;
        Ok(())
    }

    /// Re-encrypt every row not under the current key version. Returns how many were rewritten.
    pub async fn rotate(&self) -> Result<usize, VaultError> {
        let rows = sqlx::query(
            "SELECT entity_id, kind FROM credentials WHERE key_version <> $1 ORDER BY entity_id",
        )
        .bind(self.current)
        .fetch_all(self.store.pool())
        .await?;
        let mut n = 0;
        for r in rows {
            let entity_id: String = r.try_get("entity_id")?;
            let kind: String = r.try_get("kind")?;
            let Some(row) = Self::load(self.store.pool(), &entity_id, &kind).await? else {
                continue;
            };
            if self.rotate_row(&entity_id, &kind, &row).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Re-encrypt one row as it was read, unless it was written since: the nonce is new on
    /// every write, so a save that landed in between (say by a replica still on the old key
    /// version) is never overwritten with the older secrets. Audited as `credentials.rotate`.
    async fn rotate_row(
        &self,
        entity_id: &str,
        kind: &str,
        row: &Row_,
    ) -> Result<bool, VaultError> {
        if row.key_version == self.current {
            return Ok(false);
        }
        let secrets = self.open(entity_id, kind, row)?;
        let (blob, nonce) = self.encrypt(entity_id, kind, &secrets)?;
        let mut tx = self.store.pool().begin().await?;
        let r = sqlx::query(
            "UPDATE credentials SET secret_blob = $1, nonce = $2, key_version = $3 \
             WHERE id = $4 AND key_version = $5 AND nonce = $6",
        )
        .bind(blob)
        .bind(nonce)
        .bind(self.current)
        .bind(row.id.clone())
        .bind(row.key_version)
        .bind(row.nonce.clone())
        .execute(&mut *tx)
        .await?;
        let rotated = changed(&r);
        if rotated {
            AuditLog::record_with(
                &mut *tx,
                &Actor::system(entity_id.to_owned()),
                &AuditRecord {
                    action: "credentials.rotate",
                    target: kind,
                    outcome: "ok",
                    detail: Some(serde_json::json!({
                        "fromKeyVersion": row.key_version,
                        "toKeyVersion": self.current,
                    })),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rotated)
    }
}

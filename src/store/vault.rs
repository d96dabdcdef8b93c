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

use super::audit::{Actor, AuditLog, AuditRecord};
use super::{changed, millis_to_utc, now_millis, Store, StoreError};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Secret fields by name. Values are redacted in `Debug`.
pub type SecretFields = BTreeMap<String, SecretString>;

/// A 256-bit master key (redacted in `Debug`).
#[derive(Clone)]
pub struct VaultKey(Arc<Aes256Gcm>);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey([redacted])")
    }
}

impl VaultKey {
    /// Decode base64 (standard or URL-safe) of exactly 32 bytes.
    pub fn from_base64(b64: &SecretString) -> Result<Self, VaultError> {
        let text = b64.expose_secret().trim();
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| VaultError::BadKey("is not valid base64".into()))?,
        );
        Self::from_bytes(&bytes)
    }

    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.len() != 32 {
            return Err(VaultError::BadKey(format!(
                "must decode to 32 bytes, got {}",
                bytes.len()
            )));
        }
        let cipher = Aes256Gcm::new_from_slice(bytes)
            .map_err(|_| VaultError::BadKey("must decode to 32 bytes".into()))?;
        Ok(Self(Arc::new(cipher)))
    }

    /// A fresh random key and its base64 form (for first-run generation).
    pub fn generate() -> (Self, SecretString) {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let b64 = SecretString::from(base64::engine::general_purpose::STANDARD.encode(*bytes));
        // 32 bytes is always a valid AES-256 key.
        let cipher = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(bytes.as_ref()));
        (Self(Arc::new(cipher)), b64)
    }
}

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

fn aad(entity_id: &str, kind: &str) -> Vec<u8> {
    // Length-prefixed so ("ab","c") and ("a","bc") differ.
    let mut v = Vec::with_capacity(entity_id.len() + kind.len() + 24);
    v.extend_from_slice(b"cpu-gateway/vault/v1");
    v.extend_from_slice(&(entity_id.len() as u32).to_be_bytes());
    v.extend_from_slice(entity_id.as_bytes());
    v.extend_from_slice(kind.as_bytes());
    v
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

    fn encrypt(
        &self,
        entity_id: &str,
        kind: &str,
        secrets: &SecretFields,
    ) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
        let key = self
            .keys
            .get(&self.current)
            .ok_or(VaultError::UnknownKeyVersion(self.current))?;
        let plain: BTreeMap<&str, &str> = secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let plaintext = Zeroizing::new(
            serde_json::to_vec(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = aad(entity_id, kind);
        let ct = key
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_slice(),
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Tampered {
                kind: kind.to_owned(),
            })?;
        Ok((ct, nonce.to_vec()))
    }

    fn open(&self, entity_id: &str, kind: &str, row: &Row_) -> Result<SecretFields, VaultError> {
        let key = self
            .keys
            .get(&row.key_version)
            .ok_or(VaultError::UnknownKeyVersion(row.key_version))?;
        let tampered = || VaultError::Tampered {
            kind: kind.to_owned(),
        };
        if row.nonce.len() != 12 {
            return Err(tampered());
        }
        let aad = aad(entity_id, kind);
        let plain = Zeroizing::new(
            key.0
                .decrypt(
                    Nonce::from_slice(&row.nonce),
                    Payload {
                        msg: &row.secret_blob,
                        aad: &aad,
                    },
                )
                .map_err(|_| tampered())?,
        );
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|_| tampered())?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{postgres_store, sqlite_store};

    fn secrets(pairs: &[(&str, &str)]) -> SecretFields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
            .collect()
    }

    async fn setup() -> (Vault, Actor, Actor, tempfile::TempDir) {
        let (store, dir) = sqlite_store().await;
        let (a, _) = store.ensure_entity("a").await.expect("a");
        let (b, _) = store.ensure_entity("b").await.expect("b");
        let (key, _) = VaultKey::generate();
        let vault = Vault::new(store, 1, key, vec![]);
        (vault, Actor::system(a.id), Actor::system(b.id), dir)
    }

    #[tokio::test]
    async fn round_trip_keeps_secrets_out_of_public_view_and_the_file() {
        let (vault, a, _b, dir) = setup().await;
        let stored = vault
            .put(
                &a,
                "nxtport",
                serde_json::json!({"clientId": "psa-client", "username": "ops@psa"}),
                secrets(&[
                    ("password", "hunter2-very-secret"),
                    ("apiKey", "key-123456"),
                ]),
                SecretMerge::Replace,
            )
            .await
            .expect("put");
        assert_eq!(stored.secret_fields_set, vec!["apiKey", "password"]);
        let public = vault
            .get_public(&a.entity_id, "nxtport")
            .await
            .expect("get")
            .expect("exists");
        let text = format!("{public:?}");
        assert!(text.contains("psa-client"));
        assert!(
            !text.contains("hunter2") && !text.contains("key-123456"),
            "{text}"
        );
        let (_, s) = vault
            .decrypt(&a.entity_id, "nxtport")
            .await
            .expect("decrypt")
            .expect("exists");
        assert_eq!(s["password"].expose_secret(), "hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        // Nothing in clear text on disk (db + wal). The last connection can finish closing (in
        // its worker thread) just after `close()` returns, checkpointing the -wal file into the
        // database and removing it: a file that vanishes mid-scan means "scan again".
        vault.store().close().await;
        'scan: for _ in 0..50 {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(dir.path()).expect("dir") {
                match std::fs::read(entry.expect("entry").path()) {
                    Ok(bytes) => files.push(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue 'scan;
                    }
                    Err(e) => panic!("read: {e}"),
                }
            }
            for bytes in files {
                let hay = String::from_utf8_lossy(&bytes);
                assert!(!hay.contains("hunter2-very-secret") && !hay.contains("key-123456"));
            }
            return;
        }
        panic!("the database files kept changing");
    }

    #[tokio::test]
    async fn keep_missing_merges_and_replace_drops() {
        let (vault, a, _b, _dir) = setup().await;
        let j = serde_json::json!({});
        vault
            .put(
                &a,
                "psa",
                j.clone(),
                secrets(&[("password", "p1"), ("pin", "1")]),
                SecretMerge::Replace,
            )
            .await
            .expect("put");
        vault
            .put(
                &a,
                "psa",
                j.clone(),
                secrets(&[("password", "p2")]),
                SecretMerge::KeepMissing,
            )
            .await
            .expect("update");
        let (_, s) = vault
            .decrypt(&a.entity_id, "psa")
            .await
            .expect("d")
            .expect("e");
        assert_eq!(s["password"].expose_secret(), "p2");
        assert_eq!(s["pin"].expose_secret(), "1");
        vault
            .put(
                &a,
                "psa",
                j,
                secrets(&[("password", "p3")]),
                SecretMerge::Replace,
            )
            .await
            .expect("replace");
        let (_, s) = vault
            .decrypt(&a.entity_id, "psa")
            .await
            .expect("d")
            .expect("e");
        assert_eq!(s.len(), 1);
    }

    #[tokio::test]
    async fn tampered_ciphertext_is_detected() {
        let (vault, a, _b, _dir) = setup().await;
        vault
            .put(
                &a,
                "nxtport",
                serde_json::json!({}),
                secrets(&[("password", "pw")]),
                SecretMerge::Replace,
            )
            .await
            .expect("put");
        let blob: Vec<u8> = sqlx::query_scalar("SELECT secret_blob FROM credentials")
            .fetch_one(vault.store().pool())
            .await
            .expect("blob");
        let mut bad = blob.clone();
        bad[0] ^= 1;
        sqlx::query("UPDATE credentials SET secret_blob = $1")
            .bind(bad)
            .execute(vault.store().pool())
            .await
            .expect("tamper");
        let err = vault
            .decrypt(&a.entity_id, "nxtport")
            .await
            .expect_err("must fail");
        assert!(matches!(err, VaultError::Tampered { .. }), "{err}");
        assert!(!err.to_string().contains("pw"));
    }

    #[tokio::test]
    async fn ciphertext_moved_to_another_entity_or_kind_fails() {
        let (vault, a, b, _dir) = setup().await;
        vault
            .put(
                &a,
                "nxtport",
                serde_json::json!({}),
                secrets(&[("password", "a-secret")]),
                SecretMerge::Replace,
            )
            .await
            .expect("put a");
        vault
            .put(
                &b,
                "nxtport",
                serde_json::json!({}),
                secrets(&[("password", "b-secret")]),
                SecretMerge::Replace,
            )
            .await
            .expect("put b");
        // Copy A's blob and nonce into B's row: B must not decrypt A's secret.
        sqlx::query(
            "UPDATE credentials SET secret_blob = (SELECT secret_blob FROM credentials WHERE entity_id = $1), \
             nonce = (SELECT nonce FROM credentials WHERE entity_id = $1) WHERE entity_id = $2",
        )
        .bind(a.entity_id.clone())
        .bind(b.entity_id.clone())
        .execute(vault.store().pool())
        .await
        .expect("move");
        assert!(matches!(
            vault.decrypt(&b.entity_id, "nxtport").await,
            Err(VaultError::Tampered { .. })
        ));
        // And under another kind (wrong AAD).
        sqlx::query("UPDATE credentials SET kind = 'psa' WHERE entity_id = $1")
            .bind(a.entity_id.clone())
            .execute(vault.store().pool())
            .await
            .expect("rename");
        assert!(matches!(
            vault.decrypt(&a.entity_id, "psa").await,
            Err(VaultError::Tampered { .. })
        ));
    }

    #[tokio::test]
    async fn wrong_key_fails_and_rotation_reencrypts() {
        let (vault, a, _b, _dir) = setup().await;
        vault
            .put(
                &a,
                "nxtport",
                serde_json::json!({}),
                secrets(&[("password", "pw")]),
                SecretMerge::Replace,
            )
            .await
            .expect("put");
        let (other, _) = VaultKey::generate();
        let wrong = Vault::new(vault.store().clone(), 1, other.clone(), vec![]);
        assert!(matches!(
            wrong.decrypt(&a.entity_id, "nxtport").await,
            Err(VaultError::Tampered { .. })
        ));
        // Version 2 with version 1 retired: old rows still decrypt, rotate rewrites them.
        let old_key = vault.keys[&1].clone();
        let v2 = Vault::new(vault.store().clone(), 2, other.clone(), vec![(1, old_key)]);
        let (_, s) = v2
            .decrypt(&a.entity_id, "nxtport")
            .await
            .expect("d")
            .expect("e");
        assert_eq!(s["password"].expose_secret(), "pw");
        // A row read for rotation and then written again (a replica still on version 1) is
        // not overwritten with the secrets read before that write.
        let read = Vault::load(vault.store().pool(), &a.entity_id, "nxtport")
            .await
            .expect("load")
            .expect("row");
        vault
            .put(
                &a,
                "nxtport",
                serde_json::json!({}),
                secrets(&[("password", "pw-new")]),
                SecretMerge::KeepMissing,
            )
            .await
            .expect("put");
        assert!(!v2
            .rotate_row(&a.entity_id, "nxtport", &read)
            .await
            .expect("stale row"));
        let (_, s) = v2
            .decrypt(&a.entity_id, "nxtport")
            .await
            .expect("d")
            .expect("e");
        assert_eq!(s["password"].expose_secret(), "pw-new");
        assert_eq!(v2.rotate().await.expect("rotate"), 1);
        assert_eq!(v2.rotate().await.expect("rotate again"), 0);
        let audit = AuditLog::list(vault.store(), &a.entity_id, 50)
            .await
            .expect("audit");
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "credentials.rotate")
                .count(),
            1
        );
        let only_v2 = Vault::new(vault.store().clone(), 2, other, vec![]);
        let (c, s) = only_v2
            .decrypt(&a.entity_id, "nxtport")
            .await
            .expect("d")
            .expect("e");
        assert_eq!(c.key_version, 2);
        assert_eq!(s["password"].expose_secret(), "pw-new");
        // The old vault (only version 1) can no longer read it.
        assert!(matches!(
            vault.decrypt(&a.entity_id, "nxtport").await,
            Err(VaultError::UnknownKeyVersion(2))
        ));
    }

    #[tokio::test]
    async fn writes_and_deletes_are_audited_without_secrets() {
        let (vault, a, _b, _dir) = setup().await;
        vault
            .put(
                &a,
                "nxtport",
                serde_json::json!({"username": "u"}),
                secrets(&[("password", "s3cr3t-value")]),
                SecretMerge::Replace,
            )
            .await
            .expect("put");
        assert!(vault.delete(&a, "nxtport").await.expect("delete"));
        assert!(!vault.delete(&a, "nxtport").await.expect("delete again"));
        let log = AuditLog::list(vault.store(), &a.entity_id, 10)
            .await
            .expect("list");
        let actions: Vec<_> = log
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("credentials.delete", "not_found"),
                ("credentials.delete", "ok"),
                ("credentials.create", "ok")
            ]
        );
        let text = serde_json::to_string(&log).expect("json");
        assert!(
            !text.contains("s3cr3t-value") && text.contains("password"),
            "{text}"
        );
    }

    /// Concurrent saves of one credential that does not exist yet (`ROUNDS` kinds, `N` saves
    /// each, all at once): every save succeeds, one row per kind, one `credentials.create` and
    /// `N - 1` `credentials.update` per kind, and the stored secret is one of the submitted ones.
    async fn concurrent_first_puts(store: Store) {
        const N: usize = 8;
        const ROUNDS: usize = 4;
        let (e, _) = store.ensure_entity("racer").await.expect("entity");
        let (key, _) = VaultKey::generate();
        let vault = Vault::new(store, 1, key, vec![]);
        let actor = Actor::system(e.id.clone());
        for round in 0..ROUNDS {
            let kind = format!("race-{round}");
            let results = futures::future::join_all((0..N).map(|i| {
                let (vault, actor, kind) = (vault.clone(), actor.clone(), kind.clone());
                tokio::spawn(async move {
                    vault
                        .put(
                            &actor,
                            &kind,
                            serde_json::json!({"username": format!("user-{i}")}),
                            secrets(&[("password", format!("pw-{round}-{i}").as_str())]),
                            SecretMerge::KeepMissing,
                        )
                        .await
                })
            }))
            .await;
            for r in results {
                r.expect("task")
                    .expect("every concurrent first save succeeds");
            }
            let rows: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM credentials WHERE entity_id = $1 AND kind = $2",
            )
            .bind(e.id.clone())
            .bind(kind.clone())
            .fetch_one(vault.store().pool())
            .await
            .expect("count");
            assert_eq!(rows, 1, "{kind}");
            let (_, s) = vault
                .decrypt(&e.id, &kind)
                .await
                .expect("decrypts")
                .expect("exists");
            let pw = s["password"].expose_secret();
            assert!(
                (0..N).any(|i| pw == format!("pw-{round}-{i}")),
                "{kind}: stored password is none of the submitted ones"
            );
        }
        let log = AuditLog::list(vault.store(), &e.id, 1000)
            .await
            .expect("audit");
        for round in 0..ROUNDS {
            let kind = format!("race-{round}");
            let count = |action: &str| {
                log.iter()
                    .filter(|l| l.target == kind && l.action == action && l.outcome == "ok")
                    .count()
            };
            assert_eq!(
                (count("credentials.create"), count("credentials.update")),
                (1, N - 1),
                "{kind}"
            );
        }
        let text = serde_json::to_string(&log).expect("json");
        assert!(!text.contains("pw-"), "secret in the audit log: {text}");
    }

    /// Concurrent partial updates (`SecretMerge::KeepMissing`), each of a different secret field
    /// of one existing credential: every change survives (no lost update).
    async fn concurrent_partial_updates(store: Store) {
        const N: usize = 8;
        const ROUNDS: usize = 4;
        let (e, _) = store.ensure_entity("merger").await.expect("entity");
        let (key, _) = VaultKey::generate();
        let vault = Vault::new(store, 1, key, vec![]);
        let actor = Actor::system(e.id.clone());
        let field = |i: usize| format!("field{i}");
        let initial: SecretFields = (0..N)
            .map(|i| (field(i), SecretString::from("old".to_owned())))
            .collect();
        vault
            .put(
                &actor,
                "merge",
                serde_json::json!({}),
                initial,
                SecretMerge::Replace,
            )
            .await
            .expect("first save");
        for round in 0..ROUNDS {
            let results = futures::future::join_all((0..N).map(|i| {
                let (vault, actor, name) = (vault.clone(), actor.clone(), field(i));
                tokio::spawn(async move {
                    vault
                        .put(
                            &actor,
                            "merge",
                            serde_json::json!({}),
                            secrets(&[(name.as_str(), format!("new-{round}-{i}").as_str())]),
                            SecretMerge::KeepMissing,
                        )
                        .await
                })
            }))
            .await;
            for r in results {
                r.expect("task").expect("every partial update succeeds");
            }
            let (_, s) = vault
                .decrypt(&e.id, "merge")
                .await
                .expect("decrypts")
                .expect("exists");
            let lost: Vec<String> = (0..N)
                .filter(|&i| s[&field(i)].expose_secret() != format!("new-{round}-{i}"))
                .map(field)
                .collect();
            assert!(lost.is_empty(), "round {round}: lost updates of {lost:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_puts_sqlite() {
        let (store, _dir) = sqlite_store().await;
        concurrent_first_puts(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_puts_postgres() {
        let Some(store) = postgres_store().await else {
            return;
        };
        concurrent_first_puts(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_partial_updates_sqlite() {
        let (store, _dir) = sqlite_store().await;
        concurrent_partial_updates(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_partial_updates_postgres() {
        let Some(store) = postgres_store().await else {
            return;
        };
        concurrent_partial_updates(store).await;
    }

    #[test]
    fn key_parsing_rejects_wrong_length_and_redacts() {
        assert!(VaultKey::from_base64(&SecretString::from("AAAA".to_owned())).is_err());
        assert!(VaultKey::from_base64(&SecretString::from("not base64!".to_owned())).is_err());
        let (k, b64) = VaultKey::generate();
        assert!(VaultKey::from_base64(&b64).is_ok());
        assert_eq!(format!("{k:?}"), "VaultKey([redacted])");
    }
}

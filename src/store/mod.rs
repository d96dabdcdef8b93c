//! Persistence for the gateway and Data Sources: one sqlx [`AnyPool`] code path for SQLite
//! (default, embedded) and PostgreSQL (shared state for several replicas).
//!
//! Design constraints:
//! - Portable SQL only: `$1` placeholders (both engines accept them), ids as `TEXT`, times as
//!   unix milliseconds in 64-bit integers, flags as integers 0/1, blobs as `BLOB`/`BYTEA`.
//! - Migrations are embedded per backend (`migrations/sqlite`, `migrations/postgres`); the gateway
//!   owns versions 0001-0999, Data Sources 1000+.
//! - SQLite runs in WAL mode with `synchronous=FULL`: a write that was answered 2xx is on disk
//!   and survives `kill -9` or a power cut; `busy_timeout` makes writers queue instead of failing.
//! - The only place with SQL: the gateway's tables here, the Data Sources tables in [`sources`].
//! - Write transactions start with a write statement (no read-then-upgrade), so SQLite never
//!   returns `SQLITE_BUSY_SNAPSHOT` to them.

pub mod audit;
pub mod entities;
pub mod notifications;
pub mod outbox;
pub mod sources;
pub mod testing;
pub mod vault;

use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::{AnyPool, Connection, Executor};
use std::path::Path;
use std::time::Duration;

/// A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out
/// (a dead one is replaced), so the first request after a database restart or a terminated
/// session does not fail.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

pub use audit::{Actor, AuditEntry, AuditLog, AuditRecord};
pub use entities::{hash_secret, Entity, Role, TokenInfo};
pub use vault::{SecretFields, Vault, VaultError, VaultKey};

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Creating the SQLite folder failed.
    #[error("cannot create database folder {path}: {source}")]
    CreateDir {
        /// Folder.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (corrupt JSON, unknown enum).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// A handle on the database (cheap to clone).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Current wall-clock time as unix milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix milliseconds to UTC time (saturating on out-of-range values).
pub fn millis_to_utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Store {
    /// Connect, create the SQLite file (and its folder) if missing, and apply migrations; the
    /// pool has the engine's default size.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, None).await
    }

    /// [`Store::connect`] with at most `max_connections` pooled connections (`None`: 8 on
    /// SQLite, 16 on PostgreSQL).
    pub async fn connect_with(url: &str, max_connections: Option<u32>) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or("");
            if !path.is_empty() && path != ":memory:" {
                if let Some(dir) = Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                            path: dir.display().to_string(),
                            source,
                        })?;
                    }
                }
            }
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        // No ping before each acquire: it costs a round trip to the connection's worker thread on
        // every query; a broken connection fails its query and is replaced. On PostgreSQL a
        // connection idle for a while is pinged first (below): a server restart or a terminated
        // session then costs a reconnect, not a failed request.
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false);
        let options = match backend {
            Backend::Sqlite => options
                .max_connections(max_connections.unwrap_or(8).max(1))
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => options
                .max_connections(max_connections.unwrap_or(16).max(1))
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        // Under load connections are reused within milliseconds and never pinged.
                        if meta.idle_for > PING_WHEN_IDLE_FOR {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                }),
        };
        let pool = options.connect(&url).await?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The pool: the store's own (every table has typed methods here, the tests' reads in
    /// [`testing`]; `.ci/layers.sh` fails on a use outside `src/store` and `src/testenv`).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `true` when a statement changed at least one row.
pub(crate) fn changed(r: &AnyQueryResult) -> bool {
    r.rows_affected() > 0
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// A fresh SQLite store in a temp folder (kept alive by the returned guard).
    pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.expect("connect sqlite");
        (store, dir)
    }

    /// A store in a fresh PostgreSQL schema, or `None` (with a visible `SKIPPED` line) when
    /// PostgreSQL is unavailable here; see [`crate::testenv`].
    pub async fn postgres_store() -> Option<Store> {
        let url = crate::testenv::postgres_schema("gw_unit").await?;
        Some(Store::connect(&url).await.expect("connect postgres schema"))
    }

    /// Drop the schema of a [`postgres_store`] and close it.
    pub async fn drop_schema(store: &Store) {
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(store.pool())
            .await
            .expect("schema");
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(store.pool())
            .await
            .expect("drop schema");
        store.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_migrates_and_pings_with_wal_and_full_sync() {
        let (store, dir) = test_support::sqlite_store().await;
        store.ping().await.expect("ping");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .expect("journal_mode");
        assert_eq!(mode.to_lowercase(), "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(store.pool())
            .await
            .expect("synchronous");
        assert_eq!(sync, 2, "synchronous=FULL");
        assert!(dir.path().join("t.db").exists());
    }

    #[tokio::test]
    async fn the_pool_size_is_configurable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let default = Store::connect(&url).await.expect("connect");
        assert_eq!(default.pool().options().get_max_connections(), 8);
        let sized = Store::connect_with(&url, Some(3)).await.expect("connect");
        assert_eq!(sized.pool().options().get_max_connections(), 3);
        let floor = Store::connect_with(&url, Some(0)).await.expect("connect");
        assert_eq!(floor.pool().options().get_max_connections(), 1);
    }

    #[tokio::test]
    async fn creates_missing_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("a/b/gw.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.ping().await.expect("ping");
        assert!(dir.path().join("a/b/gw.db").exists());
    }

    /// A pooled connection whose session the server ended while it sat idle (a restart, an
    /// administrator's `pg_terminate_backend`) is replaced, not handed to a request.
    #[tokio::test]
    async fn postgres_replaces_a_connection_killed_while_idle() {
        let Some(url) = crate::testenv::postgres_schema("gw_unit").await else {
            return;
        };
        let app = format!("victim_{}", uuid::Uuid::new_v4().simple());
        let sep = if url.contains('?') { '&' } else { '?' };
        let victim = Store::connect(&format!("{url}{sep}application_name={app}"))
            .await
            .expect("connect");
        victim.ping().await.expect("ping");
        let killer = Store::connect(&url).await.expect("connect");
        let killed = killer
            .testing()
            .terminate_postgres_sessions(&app)
            .await
            .expect("terminate");
        assert!(killed >= 1, "no session of {app} to end");
        // Idle for longer than PING_WHEN_IDLE_FOR: the next acquire pings, finds the session
        // gone and opens a new one (waiting longer cannot change the outcome).
        tokio::time::sleep(PING_WHEN_IDLE_FOR + Duration::from_millis(200)).await;
        victim
            .ping()
            .await
            .expect("a fresh connection, not the dead one");
        victim.close().await;
        test_support::drop_schema(&killer).await;
    }

    #[tokio::test]
    async fn postgres_round_trip_of_every_table() {
        use crate::store::notifications::NewNotification;
        use crate::store::outbox::{NewOperation, OperationKind, OperationStatus};
        let Some(store) = test_support::postgres_store().await else {
            return;
        };
        assert_eq!(store.backend(), Backend::Postgres);
        store.ping().await.expect("ping");
        let (e, _) = store.ensure_entity("pg").await.expect("entity");
        let (_, token) = store
            .create_token(&e.id, Role::Viewer, None)
            .await
            .expect("token");
        let t = secrecy::ExposeSecret::expose_secret(&token).to_owned();
        assert!(store.authenticate_token(&t).await.expect("auth").is_some());
        let (key, _) = VaultKey::generate();
        let vault = Vault::new(store.clone(), 1, key, vec![]);
        let actor = Actor::system(e.id.clone());
        let mut secrets = SecretFields::new();
        secrets.insert(
            "password".into(),
            secrecy::SecretString::from("pw".to_owned()),
        );
        vault
            .put(
                &actor,
                "nxtport",
                serde_json::json!({"u": 1}),
                secrets,
                vault::SecretMerge::Replace,
            )
            .await
            .expect("put");
        let (_, s) = vault
            .decrypt(&e.id, "nxtport")
            .await
            .expect("decrypt")
            .expect("some");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&s["password"]), "pw");
        let op = NewOperation {
            id: uuid::Uuid::new_v4(),
            entity_id: e.id.clone(),
            kind: OperationKind::GateIn,
            container_key: "MSCU1234565".into(),
            payload: serde_json::json!({"x": 1}),
        };
        store
            .enqueue_batch(std::slice::from_ref(&op))
            .await
            .expect("enqueue");
        let claimed = store
            .claim_due("w", now_millis(), now_millis() + 30_000, 5)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        store
            .mark_sent(&claimed[0].id, "w", claimed[0].attempts, "ref-pg")
            .await
            .expect("sent");
        let env = serde_json::json!({"publicReferenceId": "ref-pg", "event": "Release",
            "timestamp": "2024-01-01T00:00:00Z", "id": "MSCU1234565"});
        let nid = store
            .insert_notification(&NewNotification {
                entity_id: e.id.clone(),
                source: "poll",
                envelope: env,
            })
            .await
            .expect("insert");
        assert!(nid.is_some());
        let got = store
            .operation(&e.id, &claimed[0].id)
            .await
            .expect("get")
            .expect("some");
        assert_eq!(got.status, OperationStatus::Completed);
        assert_eq!(
            AuditLog::list(&store, &e.id, 5).await.expect("audit").len(),
            1
        );
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(store.pool())
            .await
            .expect("schema");
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(store.pool())
            .await
            .expect("drop schema");
        store.close().await;
    }

    #[tokio::test]
    async fn rejects_unknown_scheme() {
        assert!(matches!(
            Store::connect("mysql://x").await,
            Err(StoreError::UnsupportedUrl)
        ));
    }
}

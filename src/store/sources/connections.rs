//! `ds_connections`: one row per (entity, terminal), its state, the sync lease and the
//! webhook-drain lease.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{entity_terminal, terminal_of, Arg, Sources};
use crate::store::{now_millis, StoreError};
use crate::terminals::Terminal;

/// One row of `ds_connections`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRow {
    pub entity_id: String,
    pub terminal: Terminal,
    pub identifier: String,
    pub state: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub warning_code: Option<String>,
    pub warning_message: Option<String>,
    pub generation: i64,
    pub connected_at: i64,
    pub updated_at: i64,
    pub verified_at: Option<i64>,
    pub cursor: Option<String>,
    pub next_sync_at: i64,
    pub failures: i64,
    pub last_sync_at: Option<i64>,
    /// Id of the connection's webhook receiver (T-Mining), once set up.
    pub webhook_id: Option<String>,
}

const CONN_COLS: &str = "entity_id, terminal, identifier, state, error_code, error_message, warning_code, \
     warning_message, generation, connected_at, updated_at, verified_at, cursor, next_sync_at, failures, last_sync_at, webhook_id";

fn conn_row(r: &AnyRow) -> Result<ConnectionRow, StoreError> {
    Ok(ConnectionRow {
        entity_id: r.try_get("entity_id")?,
        terminal: terminal_of(r)?,
        identifier: r.try_get("identifier")?,
        state: r.try_get("state")?,
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
        warning_code: r.try_get("warning_code")?,
        warning_message: r.try_get("warning_message")?,
        generation: r.try_get("generation")?,
        connected_at: r.try_get("connected_at")?,
        updated_at: r.try_get("updated_at")?,
        verified_at: r.try_get("verified_at")?,
        cursor: r.try_get("cursor")?,
        next_sync_at: r.try_get("next_sync_at")?,
        failures: r.try_get("failures")?,
        last_sync_at: r.try_get("last_sync_at")?,
        webhook_id: r.try_get("webhook_id")?,
    })
}

/// The result of saving a connection row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Created { generation: i64 },
    Updated { generation: i64 },
}

/// Outcome of a verification or a sync, written to the connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Connected { warning: Option<(String, String)> },
    Error { code: String, message: String },
}

impl Outcome {
    /// `state, error_code, error_message, warning_code, warning_message`, as bound.
    fn binds(&self) -> Vec<Arg> {
        match self {
            Outcome::Connected { warning } => vec![
                Arg::from("connected"),
                Arg::Null,
                Arg::Null,
                warning.as_ref().map(|w| w.0.as_str()).into(),
                warning.as_ref().map(|w| w.1.as_str()).into(),
            ],
            Outcome::Error { code, message } => vec![
                Arg::from("error"),
                Arg::from(code.as_str()),
                Arg::from(message.as_str()),
                Arg::Null,
                Arg::Null,
            ],
        }
    }
}

/// The key two identifiers of one terminal account share (case and outer spaces ignored).
pub fn identifier_key(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

impl Sources<'_> {
    /// The connections `filter` (a `WHERE` condition over `args`) selects.
    async fn connections_where(
        &self,
        filter: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<ConnectionRow>, StoreError> {
        let sql = format!("SELECT {CONN_COLS} FROM ds_connections WHERE {filter}");
        self.select(&sql, args, conn_row).await
    }

    /// Connections of one entity (at most six rows; primary-key prefix scan).
    pub async fn list_connections(
        &self,
        entity_id: &str,
    ) -> Result<Vec<ConnectionRow>, StoreError> {
        self.connections_where("entity_id = $1", vec![entity_id.into()])
            .await
    }

    /// The connection of an entity to a terminal (the primary key: one row at most).
    pub async fn get_connection(
        &self,
        entity_id: &str,
        t: Terminal,
    ) -> Result<Option<ConnectionRow>, StoreError> {
        let args = vec![entity_id.into(), t.into()];
        let rows = self
            .connections_where("entity_id = $1 AND terminal = $2", args)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// The connection a webhook id belongs to (unique: one row at most).
    pub async fn connection_by_webhook(
        &self,
        webhook_id: &str,
    ) -> Result<Option<ConnectionRow>, StoreError> {
        let rows = self
            .connections_where("webhook_id = $1", vec![webhook_id.into()])
            .await?;
        Ok(rows.into_iter().next())
    }

    /// `true` when another entity already holds this terminal account.
    pub async fn identifier_taken_elsewhere(
        &self,
        entity_id: &str,
        t: Terminal,
        identifier: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ds_connections WHERE terminal = $1 AND identifier_key = $2 AND entity_id <> $3")
            .bind(t.as_str())
            .bind(identifier_key(identifier))
            .bind(entity_id.to_owned())
            .fetch_one(self.store.pool())
            .await?;
        Ok(n > 0)
    }

    /// Insert or update the connection row; state goes to `verifying`. The cursor is kept when
    /// the identifier is unchanged (same account: sync goes on where it was) and reset otherwise.
    ///
    /// One upsert statement, so concurrent first saves of one (entity, terminal) cannot both
    /// insert: with UPDATE-then-INSERT both could find no row (on PostgreSQL an UPDATE that
    /// matches nothing locks nothing) and the second insert failed on the primary key. A new row
    /// starts at generation 1 and every update increments it, so generation 1 means created.
    ///
    /// PostgreSQL's ON CONFLICT arbitrates only the named key: while two first saves of the same
    /// account insert at once, the second can still fail on `UNIQUE (terminal, identifier_key)`.
    /// Once the first has committed the row exists, so one retry takes the update path. A unique
    /// violation that persists is a real conflict (the account is another entity's) for the
    /// caller.
    pub async fn save_connection(
        &self,
        entity_id: &str,
        t: Terminal,
        identifier: &str,
    ) -> Result<Saved, StoreError> {
        match self.upsert_connection(entity_id, t, identifier).await {
            Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                self.upsert_connection(entity_id, t, identifier).await
            }
            r => r,
        }
    }

    async fn upsert_connection(
        &self,
        entity_id: &str,
        t: Terminal,
        identifier: &str,
    ) -> Result<Saved, StoreError> {
        let now = now_millis();
        let generation: i64 = sqlx::query_scalar(
            "INSERT INTO ds_connections (entity_id, terminal, identifier, identifier_key, state, generation, \
             connected_at, updated_at, next_sync_at, failures) VALUES ($1, $2, $3, $4, 'verifying', 1, $5, $5, $6, 0) \
             ON CONFLICT (entity_id, terminal) DO UPDATE SET identifier = excluded.identifier, \
             identifier_key = excluded.identifier_key, state = 'verifying', error_code = NULL, \
             error_message = NULL, generation = ds_connections.generation + 1, updated_at = excluded.updated_at, \
             cursor = CASE WHEN ds_connections.identifier_key = excluded.identifier_key \
             THEN ds_connections.cursor ELSE NULL END \
             RETURNING generation",
        )
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .bind(identifier.to_owned())
        .bind(identifier_key(identifier))
        .bind(now)
        // first sync is scheduled by a successful verification (an update keeps its schedule)
        .bind(i64::MAX)
        .fetch_one(self.store.pool())
        .await?;
        Ok(if generation == 1 {
            Saved::Created { generation }
        } else {
            Saved::Updated { generation }
        })
    }

    /// Remove a connection; `false` when there was none.
    pub async fn delete_connection(
        &self,
        entity_id: &str,
        t: Terminal,
    ) -> Result<bool, StoreError> {
        self.execute(
            "DELETE FROM ds_connections WHERE entity_id = $1 AND terminal = $2",
            vec![entity_id.into(), t.into()],
        )
        .await
    }

    /// Record a verification outcome, unless the credentials changed since (`generation`).
    /// A success schedules the first sync at `next_sync_at`.
    pub async fn record_verification(
        &self,
        entity_id: &str,
        t: Terminal,
        generation: i64,
        outcome: &Outcome,
        next_sync_at: i64,
    ) -> Result<bool, StoreError> {
        let mut args = outcome.binds();
        args.extend([
            now_millis().into(),
            next_sync_at.into(),
            entity_id.into(),
            t.into(),
            generation.into(),
        ]);
        self.execute(
            "UPDATE ds_connections SET state = $1, error_code = $2, error_message = $3, warning_code = $4, \
             warning_message = $5, verified_at = $6, next_sync_at = CASE WHEN $1 = 'connected' THEN $7 ELSE next_sync_at END \
             WHERE entity_id = $8 AND terminal = $9 AND generation = $10",
            args,
        )
        .await
    }

    /// Connections whose next sync is due and that nobody is syncing.
    pub async fn due_connections(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(String, Terminal)>, StoreError> {
        self.select(
            "SELECT entity_id, terminal FROM ds_connections WHERE next_sync_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_sync_at LIMIT $2",
            vec![now.into(), limit.into()],
            entity_terminal,
        )
        .await
    }

    /// Take the sync lease of a connection. `false`: a sync is running (or the connection is
    /// gone).
    pub async fn acquire_lease(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        self.execute(
            "UPDATE ds_connections SET lease_owner = $1, lease_until = $2 WHERE entity_id = $3 AND terminal = $4 \
             AND (lease_until IS NULL OR lease_until < $5)",
            vec![owner.into(), until.into(), entity_id.into(), t.into(), now_millis().into()],
        )
        .await
    }

    /// Finish a sync: state from `outcome`, next sync time, failure count, lease released.
    pub async fn finish_sync_state(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
        outcome: &Outcome,
        next_sync_at: i64,
        failures: i64,
    ) -> Result<(), StoreError> {
        let mut args = outcome.binds();
        args.extend([
            next_sync_at.into(),
            failures.into(),
            now_millis().into(),
            entity_id.into(),
            t.into(),
            owner.into(),
        ]);
        self.execute(
            "UPDATE ds_connections SET state = $1, error_code = $2, error_message = $3, warning_code = $4, \
             warning_message = $5, next_sync_at = $6, failures = $7, last_sync_at = $8, lease_owner = NULL, lease_until = NULL \
             WHERE entity_id = $9 AND terminal = $10 AND lease_owner = $11",
            args,
        )
        .await?;
        Ok(())
    }

    /// Give a connection its webhook id (kept if it has one); returns the id in force.
    pub async fn ensure_webhook_id(
        &self,
        entity_id: &str,
        t: Terminal,
        new_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.execute(
            "UPDATE ds_connections SET webhook_id = COALESCE(webhook_id, $1) WHERE entity_id = $2 AND terminal = $3",
            vec![new_id.into(), entity_id.into(), t.into()],
        )
        .await?;
        Ok(self
            .get_connection(entity_id, t)
            .await?
            .and_then(|c| c.webhook_id))
    }

    /// Take (or renew, as `owner`) the webhook-drain lease of a connection.
    pub async fn acquire_hook_lease(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        self.execute(
            "UPDATE ds_connections SET hook_lease_owner = $1, hook_lease_until = $2 WHERE entity_id = $3 AND terminal = $4 \
             AND (hook_lease_until IS NULL OR hook_lease_until < $5 OR hook_lease_owner = $1)",
            vec![owner.into(), until.into(), entity_id.into(), t.into(), now_millis().into()],
        )
        .await
    }

    /// Release the webhook-drain lease (if `owner` still holds it).
    pub async fn release_hook_lease(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE ds_connections SET hook_lease_owner = NULL, hook_lease_until = NULL WHERE entity_id = $1 \
             AND terminal = $2 AND hook_lease_owner = $3",
            vec![entity_id.into(), t.into(), owner.into()],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{postgres_store, sqlite_store};
    use crate::store::Store;

    async fn cursor(store: &Store, entity_id: &str, t: Terminal) -> Option<String> {
        store
            .sources()
            .get_connection(entity_id, t)
            .await
            .expect("get")
            .expect("exists")
            .cursor
    }

    /// `N` saves of one connection at once, per terminal: all succeed, one creates and the
    /// others update (generations 1..=N, each once), one row. Then the cursor rule on update.
    async fn concurrent_saves(store: Store) {
        const N: usize = 8;
        let (e, _) = store.ensure_entity("racer").await.expect("entity");
        for t in Terminal::ALL {
            let results = futures::future::join_all((0..N).map(|_| {
                let (store, entity) = (store.clone(), e.id.clone());
                tokio::spawn(
                    async move { store.sources().save_connection(&entity, t, "Account").await },
                )
            }))
            .await;
            let mut created = 0;
            let mut generations: Vec<i64> = results
                .into_iter()
                .map(|r| match r.expect("task").expect("every save succeeds") {
                    Saved::Created { generation } => {
                        created += 1;
                        generation
                    }
                    Saved::Updated { generation } => generation,
                })
                .collect();
            generations.sort_unstable();
            assert_eq!(created, 1, "{t}");
            assert_eq!(generations, (1..=N as i64).collect::<Vec<_>>(), "{t}");
            let rows = store.sources().list_connections(&e.id).await.expect("list");
            assert_eq!(rows.iter().filter(|r| r.terminal == t).count(), 1, "{t}");
        }
        // Same account (identifier compared case-insensitively): the cursor stays; another: reset.
        let t = Terminal::Psa;
        sqlx::query("UPDATE ds_connections SET cursor = 'c1', state = 'connected' WHERE entity_id = $1 AND terminal = $2")
            .bind(e.id.clone())
            .bind(t.as_str())
            .execute(store.pool())
            .await
            .expect("set cursor");
        let saved = store
            .sources()
            .save_connection(&e.id, t, "ACCOUNT")
            .await
            .expect("save");
        assert_eq!(
            saved,
            Saved::Updated {
                generation: N as i64 + 1
            }
        );
        let row = store
            .sources()
            .get_connection(&e.id, t)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            (row.state.as_str(), row.identifier.as_str()),
            ("verifying", "ACCOUNT")
        );
        assert_eq!(cursor(&store, &e.id, t).await.as_deref(), Some("c1"));
        store
            .sources()
            .save_connection(&e.id, t, "other")
            .await
            .expect("save");
        assert_eq!(cursor(&store, &e.id, t).await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_saves_of_one_connection_sqlite() {
        let (store, _dir) = sqlite_store().await;
        concurrent_saves(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_saves_of_one_connection_postgres() {
        let Some(store) = postgres_store().await else {
            return;
        };
        concurrent_saves(store).await;
    }
}

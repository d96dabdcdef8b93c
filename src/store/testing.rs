//! Typed reads the integration tests and benchmarks check rows with: [`Store::testing`].
//!
//! The SQL stays here, in the store (the only place with SQL; `.ci/layers.sh` fails on `sqlx`
//! or the pool anywhere else, tests included), so a renamed column breaks one file. Production
//! code does not call these: they answer questions only a test asks (how many rows, which ids
//! are in flight), and one fault a test injects (PostgreSQL dropping a replica's sessions).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sqlx::Row;

use super::{Backend, Store, StoreError};
use crate::terminals::event::{EventKind, TimeKind};
use crate::terminals::Terminal;

/// Test-only reads over a [`Store`] (cheap: a borrow).
#[derive(Debug, Clone, Copy)]
pub struct Testing<'a> {
    store: &'a Store,
}

impl Store {
    /// Typed reads for the integration tests (see the [module](self::testing) doc).
    pub fn testing(&self) -> Testing<'_> {
        Testing { store: self }
    }
}

/// Received webhooks not yet drained, and drains under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// `ds_webhook_inbox` rows still pending.
    pub pending: i64,
    /// Connections whose webhook-drain lease is held.
    pub draining: i64,
}

impl WebhookBacklog {
    /// Nothing pending and nothing draining.
    pub fn is_empty(&self) -> bool {
        self.pending == 0 && self.draining == 0
    }
}

/// How many stored events of an entity share one container, source, kind and time kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTally {
    /// Container number.
    pub equipment_number: String,
    /// The source that reported them.
    pub terminal: Terminal,
    /// Event kind.
    pub kind: EventKind,
    /// Actual, estimated or observed.
    pub time_kind: TimeKind,
    /// Number of events.
    pub count: i64,
}

/// The tallies of [`Testing::event_tallies`], with the sums the tests ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTallies(pub Vec<EventTally>);

impl EventTallies {
    /// Events matching `keep`.
    pub fn count(&self, keep: impl Fn(&EventTally) -> bool) -> i64 {
        self.0.iter().filter(|t| keep(t)).map(|t| t.count).sum()
    }

    /// Every event.
    pub fn total(&self) -> i64 {
        self.count(|_| true)
    }

    /// The distinct event kinds.
    pub fn kinds(&self) -> HashSet<EventKind> {
        self.0.iter().map(|t| t.kind).collect()
    }

    /// Container numbers (sorted) with their sources.
    pub fn containers(&self) -> BTreeMap<String, BTreeSet<Terminal>> {
        let mut out = BTreeMap::<String, BTreeSet<Terminal>>::new();
        for t in &self.0 {
            out.entry(t.equipment_number.clone())
                .or_default()
                .insert(t.terminal);
        }
        out
    }
}

impl Testing<'_> {
    async fn count(&self, sql: &str, binds: &[&str]) -> Result<i64, StoreError> {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for b in binds {
            q = q.bind(b.to_string());
        }
        Ok(q.fetch_one(self.store.pool()).await?)
    }

    /// Rows of `credentials` (the vault), of every entity and kind.
    pub async fn credential_rows(&self) -> Result<i64, StoreError> {
        self.count("SELECT COUNT(*) FROM credentials", &[]).await
    }

    /// Rows of `credentials` of one entity and kind (`nxtport`, `datasource:psa`, ...).
    pub async fn credential_rows_of(&self, entity_id: &str, kind: &str) -> Result<i64, StoreError> {
        self.count(
            "SELECT COUNT(*) FROM credentials WHERE entity_id = $1 AND kind = $2",
            &[entity_id, kind],
        )
        .await
    }

    /// Rows of `ds_connections`, of every entity.
    pub async fn connection_rows(&self) -> Result<i64, StoreError> {
        self.count("SELECT COUNT(*) FROM ds_connections", &[]).await
    }

    /// Rows of `ds_connections` of one entity and terminal (0 or 1: the primary key).
    pub async fn connection_rows_of(
        &self,
        entity_id: &str,
        t: Terminal,
    ) -> Result<i64, StoreError> {
        self.count(
            "SELECT COUNT(*) FROM ds_connections WHERE entity_id = $1 AND terminal = $2",
            &[entity_id, t.as_str()],
        )
        .await
    }

    /// Until when (unix ms; 0: free) a connection's webhook drain is leased or paused.
    pub async fn hook_lease_until(&self, entity_id: &str, t: Terminal) -> Result<i64, StoreError> {
        self.count(
            "SELECT COALESCE(MAX(hook_lease_until), 0) FROM ds_connections \
             WHERE entity_id = $1 AND terminal = $2",
            &[entity_id, t.as_str()],
        )
        .await
    }

    /// Let a connection's webhook-drain lease or pause run out now (a test's stand-in for
    /// waiting out a terminal's `Retry-After`).
    pub async fn expire_hook_lease(&self, entity_id: &str, t: Terminal) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE ds_connections SET hook_lease_until = 0 WHERE entity_id = $1 AND terminal = $2",
        )
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Webhooks pending and drains under way, of one entity or (`None`) of all.
    pub async fn webhook_backlog(
        &self,
        entity_id: Option<&str>,
    ) -> Result<WebhookBacklog, StoreError> {
        Ok(match entity_id {
            Some(e) => WebhookBacklog {
                pending: self
                    .count(
                        "SELECT COUNT(*) FROM ds_webhook_inbox WHERE entity_id = $1 AND pending = 1",
                        &[e],
                    )
                    .await?,
                draining: self
                    .count(
                        "SELECT COUNT(*) FROM ds_connections \
                         WHERE entity_id = $1 AND hook_lease_owner IS NOT NULL",
                        &[e],
                    )
                    .await?,
            },
            None => WebhookBacklog {
                pending: self
                    .count(
                        "SELECT COUNT(*) FROM ds_webhook_inbox WHERE pending = 1",
                        &[],
                    )
                    .await?,
                draining: self
                    .count(
                        "SELECT COUNT(*) FROM ds_connections WHERE hook_lease_owner IS NOT NULL",
                        &[],
                    )
                    .await?,
            },
        })
    }

    /// Rows of `ds_webhook_inbox` (one per release a webhook named), of every entity.
    pub async fn webhook_inbox_rows(&self) -> Result<i64, StoreError> {
        self.count("SELECT COUNT(*) FROM ds_webhook_inbox", &[])
            .await
    }

    /// Events fetched by the succeeded sync runs of one trigger (`webhook`, `manual`, ...), of
    /// every entity.
    pub async fn fetched_by_succeeded_syncs(&self, trigger: &str) -> Result<i64, StoreError> {
        self.count(
            "SELECT COALESCE(SUM(fetched), 0) FROM ds_syncs \
             WHERE trigger_kind = $1 AND status = 'succeeded'",
            &[trigger],
        )
        .await
    }

    /// The stored events of an entity, counted by container, source, kind and time kind.
    pub async fn event_tallies(&self, entity_id: &str) -> Result<EventTallies, StoreError> {
        let rows = sqlx::query(
            "SELECT equipment_number, terminal, kind, time_kind, COUNT(*) AS n FROM ds_events \
             WHERE entity_id = $1 GROUP BY equipment_number, terminal, kind, time_kind \
             ORDER BY equipment_number, terminal, kind, time_kind",
        )
        .bind(entity_id.to_owned())
        .fetch_all(self.store.pool())
        .await?;
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("unknown {what} {v}"));
        rows.iter()
            .map(|r| {
                let terminal: String = r.try_get("terminal")?;
                let kind: String = r.try_get("kind")?;
                let time_kind: String = r.try_get("time_kind")?;
                Ok(EventTally {
                    equipment_number: r.try_get("equipment_number")?,
                    terminal: Terminal::parse(&terminal)
                        .ok_or_else(|| corrupt("terminal", &terminal))?,
                    kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event kind", &kind))?,
                    time_kind: TimeKind::parse(&time_kind)
                        .ok_or_else(|| corrupt("time kind", &time_kind))?,
                    count: r.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(EventTallies)
    }

    /// Ids of the operations being sent under a lease whose owner starts with `owner_prefix`.
    pub async fn operations_in_flight(
        &self,
        owner_prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM operations WHERE status = 'sending' AND lease_owner LIKE $1",
        )
        .bind(format!("{owner_prefix}%"))
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Operations sent after more than one attempt (a claim taken back, a retry).
    pub async fn operations_sent_after_retry(&self) -> Result<i64, StoreError> {
        self.count(
            "SELECT COUNT(*) FROM operations WHERE status = 'sent' AND attempts > 1",
            &[],
        )
        .await
    }

    /// Queued operations whose last error contains `text`.
    pub async fn operations_queued_with_error(&self, text: &str) -> Result<i64, StoreError> {
        self.count(
            "SELECT COUNT(*) FROM operations WHERE status = 'queued' AND error LIKE $1",
            &[&format!("%{text}%")],
        )
        .await
    }

    /// Every row of every table of the current PostgreSQL schema, as text (`row::text`), by
    /// table name: what a scan for clear-text secrets reads. Empty on SQLite (its file is scanned
    /// as bytes instead).
    pub async fn postgres_rows_as_text(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        if self.store.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name",
        )
        .fetch_all(self.store.pool())
        .await?;
        let mut out = Vec::with_capacity(tables.len());
        for table in tables {
            // The name comes from the catalogue, not from input; quoted all the same.
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT r::text FROM \"{table}\" r"))
                    .fetch_all(self.store.pool())
                    .await?;
            out.push((table, rows));
        }
        Ok(out)
    }

    /// PostgreSQL drops every session of `application_name` (other than this one), as a
    /// database restart or a network cut would; returns how many it dropped. 0 on SQLite.
    pub async fn terminate_postgres_sessions(
        &self,
        application_name: &str,
    ) -> Result<usize, StoreError> {
        if self.store.backend() != Backend::Postgres {
            return Ok(0);
        }
        let dropped: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(application_name.to_owned())
        .fetch_all(self.store.pool())
        .await?;
        Ok(dropped.len())
    }
}

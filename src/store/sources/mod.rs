//! The Data Sources tables (`ds_connections`, `ds_events`, `ds_syncs`, `ds_webhook_inbox`,
//! `ds_quarantine`; migrations 1000+), as typed repository methods: [`Store::sources`].
//!
//! - [`connections`]: the connection rows, their state, sync and webhook-drain leases.
//! - [`events`]: the normalized events (deduplicated insert, timelines, reported containers).
//! - [`syncs`]: the sync history, a sync's pages, the finished intake runs.
//! - [`inbox`]: received webhooks waiting for a drain, and quarantined messages.
//!
//! Portable SQL for the `AnyPool` (`$n` placeholders, unix-millisecond integers). Write
//! transactions begin with a write statement (see the `store` module doc). Secrets are not here:
//! they live in the vault.

pub mod connections;
pub mod events;
pub mod inbox;
pub mod syncs;

use sqlx::any::AnyRow;
use sqlx::Row;

pub use connections::{identifier_key, ConnectionRow, Outcome, Saved};
pub use events::{ReportedContainerRow, TimelineEventRow};
pub use inbox::QuarantinedRow;
pub use syncs::{IntakeRun, PageCounts, SyncRunRow};

use super::{Store, StoreError};
use crate::terminals::Terminal;

/// The Data Sources repository over a [`Store`] (cheap: a borrow).
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    store: &'a Store,
}

impl Store {
    /// The Data Sources tables.
    pub fn sources(&self) -> Sources<'_> {
        Sources { store: self }
    }
}

/// A bind value of a query built at run time.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    /// SQL `NULL` (of a text column).
    Null,
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<Terminal> for Arg {
    fn from(t: Terminal) -> Self {
        Arg::Text(t.as_str().to_owned())
    }
}

impl From<Option<&str>> for Arg {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Arg::Null, Arg::from)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(n) => q.bind(n),
            Arg::Null => q.bind(None::<String>),
        };
    }
    q
}

impl Sources<'_> {
    /// The one read path of this repository: `sql` with `args` bound in order, each row mapped.
    async fn select<T>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        map: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = bind_all(sqlx::query(sql), args)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(map).collect()
    }

    /// A write statement; `true` when it changed a row.
    async fn execute(&self, sql: &str, args: Vec<Arg>) -> Result<bool, StoreError> {
        let r = bind_all(sqlx::query(sql), args)
            .execute(self.store.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }
}

/// The `terminal` column, read back.
fn terminal_of(r: &AnyRow) -> Result<Terminal, StoreError> {
    let t: String = r.try_get("terminal")?;
    Terminal::parse(&t).ok_or_else(|| StoreError::Corrupt(format!("unknown terminal {t}")))
}

/// An `(entity_id, terminal)` row (the schedulers' work lists).
fn entity_terminal(r: &AnyRow) -> Result<(String, Terminal), StoreError> {
    Ok((r.try_get("entity_id")?, terminal_of(r)?))
}

/// A count that went to an `i64` column.
fn count(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// Writes of the intake that must land together (events, the drained inbox rows, quarantined
/// messages and the run that reports them): one transaction, begun by
/// [`Sources::begin`], applied by [`SourcesTx::commit`] (dropped: rolled back).
pub struct SourcesTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl std::fmt::Debug for SourcesTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourcesTx")
    }
}

impl Sources<'_> {
    /// Begin a transaction of intake writes.
    pub async fn begin(&self) -> Result<SourcesTx, StoreError> {
        Ok(SourcesTx {
            tx: self.store.pool().begin().await?,
        })
    }
}

impl SourcesTx {
    /// Apply every write of the transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

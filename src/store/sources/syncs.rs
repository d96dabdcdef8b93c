//! `ds_syncs`: the sync history (scheduled and manual syncs, webhook drains, EDIFACT files), and
//! the atomic write of one synced page.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::events::insert_events;
use super::{count, Arg, Sources, SourcesTx};
use crate::store::{now_millis, StoreError};
use crate::terminals::event::NormalizedEvent;
use crate::terminals::Terminal;

/// One row of `ds_syncs` (the API's view of it is `sources::views::SyncRun`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRunRow {
    pub id: String,
    /// `schedule`, `manual`, `webhook` (drain of received webhooks) or `edifact` (an intake file).
    pub trigger: String,
    /// `running`, `succeeded`, `failed`, `cancelled`, or `partial` (some messages quarantined) /
    /// `refused` (a webhook or file refused as a whole).
    pub status: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Unix milliseconds.
    pub finished_at: Option<i64>,
    pub pages: i64,
    /// Events received from the terminal.
    pub fetched: i64,
    /// New events stored (the rest were already known).
    pub stored: i64,
    /// Terminal events that map to nothing in the model.
    pub skipped: i64,
    /// Messages refused and kept in quarantine (EDIFACT intake), with the first reason in `error*`.
    pub quarantined: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

const SYNC_COLS: &str = "id, trigger_kind, status, started_at, finished_at, pages, fetched, stored, skipped, quarantined, error_code, error_message";

fn sync_run_row(r: &AnyRow) -> Result<SyncRunRow, StoreError> {
    Ok(SyncRunRow {
        id: r.try_get("id")?,
        trigger: r.try_get("trigger_kind")?,
        status: r.try_get("status")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        pages: r.try_get("pages")?,
        fetched: r.try_get("fetched")?,
        stored: r.try_get("stored")?,
        skipped: r.try_get("skipped")?,
        quarantined: r.try_get("quarantined")?,
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
    })
}

/// Counters of the pages stored together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageCounts {
    pub pages: u64,
    pub fetched: usize,
    pub skipped: usize,
}

/// A finished run of an intake (webhook drain, EDIFACT file, refused webhook) in the sync history.
#[derive(Debug, Clone, Default)]
pub struct IntakeRun<'a> {
    pub trigger: &'a str,
    pub status: &'a str,
    pub started_at: i64,
    pub fetched: i64,
    pub stored: i64,
    pub skipped: i64,
    pub quarantined: i64,
    pub error: Option<(&'a str, &'a str)>,
}

/// Write a finished intake run.
async fn insert_intake_run(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    entity_id: &str,
    t: Terminal,
    run: &IntakeRun<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ds_syncs (id, entity_id, terminal, trigger_kind, status, started_at, finished_at, pages, \
         fetched, stored, skipped, quarantined, error_code, error_message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id.to_owned())
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(run.trigger.to_owned())
    .bind(run.status.to_owned())
    .bind(run.started_at)
    .bind(now_millis())
    .bind(run.fetched)
    .bind(run.stored)
    .bind(run.skipped)
    .bind(run.quarantined)
    .bind(run.error.map(|e| e.0.to_string()))
    .bind(run.error.map(|e| e.1.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SourcesTx {
    /// Write a finished intake run, with the events it stored.
    pub async fn insert_intake_run(
        &mut self,
        id: &str,
        entity_id: &str,
        t: Terminal,
        run: &IntakeRun<'_>,
    ) -> Result<(), StoreError> {
        insert_intake_run(&mut self.tx, id, entity_id, t, run).await
    }
}

impl Sources<'_> {
    /// Write a finished intake run that stored nothing (a refused or failed one).
    pub async fn record_intake_run(
        &self,
        id: &str,
        entity_id: &str,
        t: Terminal,
        run: &IntakeRun<'_>,
    ) -> Result<(), StoreError> {
        let mut c = self.store.pool().acquire().await?;
        insert_intake_run(&mut c, id, entity_id, t, run).await
    }

    /// Write a refused delivery (a webhook with a bad signature or body). Refusals in a row
    /// for the same reason are one entry: its `fetched` counts them and `finished_at` is the
    /// latest, so a flood of forged deliveries neither pushes the history out of view nor grows
    /// it without bound. Returns whether a new entry was written.
    pub async fn record_refusal(
        &self,
        id: &str,
        entity_id: &str,
        t: Terminal,
        run: &IntakeRun<'_>,
    ) -> Result<bool, StoreError> {
        let mut c = self.store.pool().acquire().await?;
        let (code, message) = run.error.unwrap_or_default();
        let collapsed = sqlx::query(
            "UPDATE ds_syncs SET fetched = fetched + $1, finished_at = $2, error_message = $3 \
             WHERE id = (SELECT id FROM ds_syncs WHERE entity_id = $4 AND terminal = $5 \
                         ORDER BY started_at DESC, id DESC LIMIT 1) \
             AND trigger_kind = $6 AND status = $7 AND error_code = $8",
        )
        .bind(run.fetched)
        .bind(now_millis())
        .bind(message.to_owned())
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .bind(run.trigger.to_owned())
        .bind(run.status.to_owned())
        .bind(code.to_owned())
        .execute(&mut *c)
        .await?
        .rows_affected();
        if collapsed > 0 {
            return Ok(false);
        }
        insert_intake_run(&mut c, id, entity_id, t, run).await?;
        Ok(true)
    }

    /// Store one page atomically: events (deduplicated), the new cursor and the run's counters,
    /// in one transaction that starts with the write. Returns `None` when the lease was lost or
    /// the connection deleted (then nothing is stored), else the number of new events.
    #[expect(
        clippy::too_many_arguments,
        reason = "one atomic write with its guards"
    )]
    pub async fn store_page(
        &self,
        entity_id: &str,
        t: Terminal,
        owner: &str,
        lease_until: i64,
        sync_id: &str,
        events: &[NormalizedEvent],
        counts: PageCounts,
        next_cursor: Option<&str>,
    ) -> Result<Option<u64>, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let r = sqlx::query(
            "UPDATE ds_connections SET cursor = COALESCE($1, cursor), lease_until = $2 \
             WHERE entity_id = $3 AND terminal = $4 AND lease_owner = $5",
        )
        .bind(next_cursor.map(str::to_string))
        .bind(lease_until)
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .bind(owner.to_owned())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let stored = insert_events(&mut tx, entity_id, t, events).await?;
        sqlx::query("UPDATE ds_syncs SET pages = pages + $1, fetched = fetched + $2, stored = stored + $3, skipped = skipped + $4 WHERE id = $5")
            .bind(count(counts.pages))
            .bind(count(counts.fetched))
            .bind(count(stored))
            .bind(count(counts.skipped))
            .bind(sync_id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(stored))
    }

    /// Open a run of the sync history (`running`).
    pub async fn start_sync_run(
        &self,
        id: &str,
        entity_id: &str,
        t: Terminal,
        trigger: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ds_syncs (id, entity_id, terminal, trigger_kind, status, started_at) VALUES ($1, $2, $3, $4, 'running', $5)",
            vec![id.into(), entity_id.into(), t.into(), trigger.into(), now_millis().into()],
        )
        .await?;
        Ok(())
    }

    /// Close a run of the sync history.
    pub async fn finish_sync_run(
        &self,
        id: &str,
        status: &str,
        error: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE ds_syncs SET status = $1, finished_at = $2, error_code = $3, error_message = $4 WHERE id = $5",
            vec![
                status.into(),
                now_millis().into(),
                error.map(|e| e.0).into(),
                error.map(|e| e.1).into(),
                Arg::from(id),
            ],
        )
        .await?;
        Ok(())
    }

    /// The sync history of a connection, newest first.
    pub async fn sync_runs(
        &self,
        entity_id: &str,
        t: Terminal,
        limit: i64,
    ) -> Result<Vec<SyncRunRow>, StoreError> {
        self.select(
            &format!(
                "SELECT {SYNC_COLS} FROM ds_syncs WHERE entity_id = $1 AND terminal = $2 ORDER BY started_at DESC, id LIMIT $3"
            ),
            vec![entity_id.into(), t.into(), limit.into()],
            sync_run_row,
        )
        .await
    }

    /// One run of the sync history.
    pub async fn sync_run(
        &self,
        entity_id: &str,
        id: &str,
    ) -> Result<Option<SyncRunRow>, StoreError> {
        let sql = format!("SELECT {SYNC_COLS} FROM ds_syncs WHERE entity_id = $1 AND id = $2");
        let runs = self
            .select(&sql, vec![entity_id.into(), id.into()], sync_run_row)
            .await?;
        Ok(runs.into_iter().next())
    }
}

//! Data Sources tables (`ds_connections`, `ds_events`, `ds_syncs`) over the gateway's [`Store`].
//!
//! Portable SQL for the `AnyPool` (`$n` placeholders, unix-millisecond integers). Write
//! transactions begin with a write statement (see `store` module doc). Secrets are not here: they
//! live in the gateway's vault.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::catalogue::Terminal;
use super::model::{Document, EventKind, FullEmpty, NormalizedEvent, TimeKind};
use crate::store::{millis_to_utc, now_millis, Store, StoreError};

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
    let t: String = r.try_get("terminal")?;
    Ok(ConnectionRow {
        entity_id: r.try_get("entity_id")?,
        terminal: Terminal::parse(&t)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown terminal {t}")))?,
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

pub fn identifier_key(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

/// Connections of one entity (at most six rows; primary-key prefix scan).
pub async fn list_connections(
    store: &Store,
    entity_id: &str,
) -> Result<Vec<ConnectionRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {CONN_COLS} FROM ds_connections WHERE entity_id = $1"
    ))
    .bind(entity_id.to_owned())
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(conn_row).collect()
}

pub async fn get_connection(
    store: &Store,
    entity_id: &str,
    t: Terminal,
) -> Result<Option<ConnectionRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {CONN_COLS} FROM ds_connections WHERE entity_id = $1 AND terminal = $2"
    ))
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(conn_row).transpose()
}

/// `true` when another entity already holds this terminal account.
pub async fn identifier_taken_elsewhere(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    identifier: &str,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ds_connections WHERE terminal = $1 AND identifier_key = $2 AND entity_id <> $3")
        .bind(t.as_str())
        .bind(identifier_key(identifier))
        .bind(entity_id.to_owned())
        .fetch_one(store.pool())
        .await?;
    Ok(n > 0)
}

/// Insert or update the connection row; state goes to `verifying`. The cursor is kept when the
/// identifier is unchanged (same account: sync goes on where it was) and reset otherwise.
///
/// One upsert statement, so concurrent first saves of one (entity, terminal) cannot both insert:
/// with UPDATE-then-INSERT both could find no row (on PostgreSQL an UPDATE that matches nothing
/// locks nothing) and the second insert failed on the primary key. A new row starts at
/// generation 1 and every update increments it, so generation 1 means created.
///
/// PostgreSQL's ON CONFLICT arbitrates only the named key: while two first saves of the same
/// account insert at once, the second can still fail on `UNIQUE (terminal, identifier_key)`.
/// Once the first has committed the row exists, so one retry takes the update path. A unique
/// violation that persists is a real conflict (the account is another entity's) for the caller.
pub async fn save_connection(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    identifier: &str,
) -> Result<Saved, StoreError> {
    match upsert_connection(store, entity_id, t, identifier).await {
        Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
            upsert_connection(store, entity_id, t, identifier).await
        }
        r => r,
    }
}

async fn upsert_connection(
    store: &Store,
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
    .fetch_one(store.pool())
    .await?;
    Ok(if generation == 1 {
        Saved::Created { generation }
    } else {
        Saved::Updated { generation }
    })
}

pub async fn delete_connection(
    store: &Store,
    entity_id: &str,
    t: Terminal,
) -> Result<bool, StoreError> {
    let r = sqlx::query("DELETE FROM ds_connections WHERE entity_id = $1 AND terminal = $2")
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .execute(store.pool())
        .await?;
    Ok(r.rows_affected() > 0)
}

fn outcome_binds(
    o: &Outcome,
) -> (
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    match o {
        Outcome::Connected { warning } => (
            "connected",
            None,
            None,
            warning.as_ref().map(|w| w.0.clone()),
            warning.as_ref().map(|w| w.1.clone()),
        ),
        Outcome::Error { code, message } => (
            "error",
            Some(code.clone()),
            Some(message.clone()),
            None,
            None,
        ),
    }
}

/// Record a verification outcome, unless the credentials changed since (`generation`).
/// A success schedules the first sync at `next_sync_at`.
pub async fn record_verification(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    generation: i64,
    outcome: &Outcome,
    next_sync_at: i64,
) -> Result<bool, StoreError> {
    let (state, ec, em, wc, wm) = outcome_binds(outcome);
    let now = now_millis();
    let r = sqlx::query(
        "UPDATE ds_connections SET state = $1, error_code = $2, error_message = $3, warning_code = $4, \
         warning_message = $5, verified_at = $6, next_sync_at = CASE WHEN $1 = 'connected' THEN $7 ELSE next_sync_at END \
         WHERE entity_id = $8 AND terminal = $9 AND generation = $10",
    )
    .bind(state)
    .bind(ec)
    .bind(em)
    .bind(wc)
    .bind(wm)
    .bind(now)
    .bind(next_sync_at)
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(generation)
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Connections whose next sync is due and that nobody is syncing.
pub async fn due_connections(
    store: &Store,
    now: i64,
    limit: i64,
) -> Result<Vec<(String, Terminal)>, StoreError> {
    let rows = sqlx::query(
        "SELECT entity_id, terminal FROM ds_connections WHERE next_sync_at <= $1 \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_sync_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let t: String = r.try_get("terminal")?;
            Ok((
                r.try_get("entity_id")?,
                Terminal::parse(&t)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown terminal {t}")))?,
            ))
        })
        .collect()
}

/// Take the sync lease of a connection. `false`: a sync is running (or the connection is gone).
pub async fn acquire_lease(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    owner: &str,
    until: i64,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "UPDATE ds_connections SET lease_owner = $1, lease_until = $2 WHERE entity_id = $3 AND terminal = $4 \
         AND (lease_until IS NULL OR lease_until < $5)",
    )
    .bind(owner.to_owned())
    .bind(until)
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(now_millis())
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Finish a sync: state from `outcome`, next sync time, failure count, lease released.
pub async fn finish_sync_state(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    owner: &str,
    outcome: &Outcome,
    next_sync_at: i64,
    failures: i64,
) -> Result<(), StoreError> {
    let (state, ec, em, wc, wm) = outcome_binds(outcome);
    sqlx::query(
        "UPDATE ds_connections SET state = $1, error_code = $2, error_message = $3, warning_code = $4, \
         warning_message = $5, next_sync_at = $6, failures = $7, last_sync_at = $8, lease_owner = NULL, lease_until = NULL \
         WHERE entity_id = $9 AND terminal = $10 AND lease_owner = $11",
    )
    .bind(state)
    .bind(ec)
    .bind(em)
    .bind(wc)
    .bind(wm)
    .bind(next_sync_at)
    .bind(failures)
    .bind(now_millis())
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(owner.to_owned())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Counters of the pages stored together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageCounts {
    pub pages: u64,
    pub fetched: usize,
    pub skipped: usize,
}

/// Rows per INSERT statement (11 parameters each). Measured: 50-row statements are several times
/// faster than 400-row ones through the Any driver.
const CHUNK: usize = 50;

/// Store one page atomically: events (deduplicated), the new cursor and the run's counters, in one
/// transaction that starts with the write. Returns `None` when the lease was lost or the connection
/// deleted (then nothing is stored), else the number of new events.
#[expect(
    clippy::too_many_arguments,
    reason = "one atomic write with its guards"
)]
pub async fn store_page(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    owner: &str,
    lease_until: i64,
    sync_id: &str,
    events: &[NormalizedEvent],
    counts: PageCounts,
    next_cursor: Option<&str>,
) -> Result<Option<u64>, StoreError> {
    let mut tx = store.pool().begin().await?;
    let now = now_millis();
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
    let stored = insert_events(&mut tx, entity_id, t, events, now).await?;
    sqlx::query("UPDATE ds_syncs SET pages = pages + $1, fetched = fetched + $2, stored = stored + $3, skipped = skipped + $4 WHERE id = $5")
        .bind(i64::try_from(counts.pages).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.fetched).unwrap_or(i64::MAX))
        .bind(i64::try_from(stored).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.skipped).unwrap_or(i64::MAX))
        .bind(sync_id.to_owned())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(stored))
}

/// Columns written per event row.
const EVENT_COLS: usize = 16;

/// Insert events (deduplicated on `(entity_id, dedup_key)`); returns how many were new.
pub(crate) async fn insert_events(
    conn: &mut sqlx::AnyConnection,
    entity_id: &str,
    t: Terminal,
    events: &[NormalizedEvent],
    now: i64,
) -> Result<u64, StoreError> {
    let mut stored = 0u64;
    for chunk in events.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO ds_events (entity_id, terminal, dedup_key, equipment_number, kind, occurred_at, \
             source_event_id, location, vessel, status, stored_at, yard_position, quay, full_empty, time_kind, documents) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * EVENT_COLS;
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 1..=EVENT_COLS {
                if c > 1 {
                    sql.push(',');
                }
                sql.push_str(&format!("${}", b + c));
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (entity_id, dedup_key) DO NOTHING");
        let mut q = sqlx::query(&sql);
        for e in chunk {
            let documents = (!e.documents.is_empty())
                .then(|| serde_json::to_string(&e.documents).unwrap_or_default());
            q = q
                .bind(entity_id.to_owned())
                .bind(t.as_str())
                .bind(e.dedup_key())
                .bind(e.equipment_number.clone())
                .bind(e.kind.as_str())
                .bind(e.occurred_at.timestamp_millis())
                .bind(e.source_event_id.clone())
                .bind(e.location().map(str::to_string))
                .bind(e.vessel.clone())
                .bind(e.status.clone())
                .bind(now)
                .bind(e.yard_position.clone())
                .bind(e.quay.clone())
                .bind(e.full_empty.map(|f| f.as_str()))
                .bind(e.time_kind.as_str())
                .bind(documents);
        }
        stored += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(stored)
}

/// One row of `ds_syncs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRunRow {
    pub id: String,
    /// `schedule`, `manual`, `webhook` (drain of received webhooks) or `edifact` (an intake file).
    pub trigger: String,
    /// `running`, `succeeded`, `failed`, `cancelled`, or `partial` (some messages quarantined) /
    /// `refused` (a webhook or file refused as a whole).
    pub status: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
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

pub async fn start_sync_run(
    store: &Store,
    id: &str,
    entity_id: &str,
    t: Terminal,
    trigger: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ds_syncs (id, entity_id, terminal, trigger_kind, status, started_at) VALUES ($1, $2, $3, $4, 'running', $5)")
        .bind(id.to_owned())
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .bind(trigger.to_owned())
        .bind(now_millis())
        .execute(store.pool())
        .await?;
    Ok(())
}

pub async fn finish_sync_run(
    store: &Store,
    id: &str,
    status: &str,
    error: Option<(&str, &str)>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE ds_syncs SET status = $1, finished_at = $2, error_code = $3, error_message = $4 WHERE id = $5")
        .bind(status.to_owned())
        .bind(now_millis())
        .bind(error.map(|e| e.0.to_string()))
        .bind(error.map(|e| e.1.to_string()))
        .bind(id.to_owned())
        .execute(store.pool())
        .await?;
    Ok(())
}

fn sync_run_row(r: &AnyRow) -> Result<SyncRunRow, sqlx::Error> {
    Ok(SyncRunRow {
        id: r.try_get("id")?,
        trigger: r.try_get("trigger_kind")?,
        status: r.try_get("status")?,
        started_at: millis_to_utc(r.try_get("started_at")?),
        finished_at: r
            .try_get::<Option<i64>, _>("finished_at")?
            .map(millis_to_utc),
        pages: r.try_get("pages")?,
        fetched: r.try_get("fetched")?,
        stored: r.try_get("stored")?,
        skipped: r.try_get("skipped")?,
        quarantined: r.try_get("quarantined")?,
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
    })
}

const SYNC_COLS: &str = "id, trigger_kind, status, started_at, finished_at, pages, fetched, stored, skipped, quarantined, error_code, error_message";

pub async fn sync_runs(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    limit: i64,
) -> Result<Vec<SyncRunRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {SYNC_COLS} FROM ds_syncs WHERE entity_id = $1 AND terminal = $2 ORDER BY started_at DESC, id LIMIT $3"
    ))
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(sync_run_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// One run of the sync history.
pub async fn sync_run(
    store: &Store,
    entity_id: &str,
    id: &str,
) -> Result<Option<SyncRunRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SYNC_COLS} FROM ds_syncs WHERE entity_id = $1 AND id = $2"
    ))
    .bind(entity_id.to_owned())
    .bind(id.to_owned())
    .fetch_optional(store.pool())
    .await?;
    row.as_ref()
        .map(sync_run_row)
        .transpose()
        .map_err(StoreError::from)
}

/// One event of a container timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEventRow {
    pub source: Terminal,
    pub kind: EventKind,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// `actual`, `estimated` (ETA/ETD) or `observed` (a state without a time of its own, shown at
    /// the time it was first seen).
    pub time_kind: TimeKind,
    /// Yard position, else quay (the single location of events stored before the split).
    pub location: Option<String>,
    pub yard_position: Option<String>,
    pub quay: Option<String>,
    pub vessel: Option<String>,
    /// Value of the status the kind names (customs status, light value, release action).
    pub status: Option<String>,
    pub full_empty: Option<FullEmpty>,
    pub documents: Vec<Document>,
    pub source_event_id: String,
}

const TIMELINE_COLS: &str =
    "terminal, kind, occurred_at, location, vessel, status, source_event_id, \
     yard_position, quay, full_empty, time_kind, documents";

fn timeline_row(r: &AnyRow) -> Result<TimelineEventRow, StoreError> {
    let t: String = r.try_get("terminal")?;
    let k: String = r.try_get("kind")?;
    let tk: String = r.try_get("time_kind")?;
    let fe: Option<String> = r.try_get("full_empty")?;
    let docs: Option<String> = r.try_get("documents")?;
    Ok(TimelineEventRow {
        source: Terminal::parse(&t)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown terminal {t}")))?,
        kind: EventKind::parse(&k)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {k}")))?,
        occurred_at: millis_to_utc(r.try_get("occurred_at")?),
        time_kind: TimeKind::parse(&tk)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown time kind {tk}")))?,
        location: r.try_get("location")?,
        yard_position: r.try_get("yard_position")?,
        quay: r.try_get("quay")?,
        vessel: r.try_get("vessel")?,
        status: r.try_get("status")?,
        full_empty: fe.as_deref().and_then(FullEmpty::parse),
        documents: match docs {
            Some(d) => serde_json::from_str(&d)
                .map_err(|e| StoreError::Corrupt(format!("documents: {e}")))?,
            None => Vec::new(),
        },
        source_event_id: r.try_get("source_event_id")?,
    })
}

/// The merged timeline of a container across sources, oldest first.
pub async fn container_events(
    store: &Store,
    entity_id: &str,
    equipment: &str,
    limit: i64,
) -> Result<Vec<TimelineEventRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {TIMELINE_COLS} FROM ds_events \
         WHERE entity_id = $1 AND equipment_number = $2 ORDER BY occurred_at, seq LIMIT $3"
    ))
    .bind(entity_id.to_owned())
    .bind(equipment.to_owned())
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(timeline_row).collect()
}

/// One container a terminal reported, with its latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedContainerRow {
    pub equipment_number: String,
    /// Events of this terminal about the container.
    pub events: i64,
    pub last_kind: EventKind,
    pub last_occurred_at: chrono::DateTime<chrono::Utc>,
    pub last_status: Option<String>,
}

/// Containers one terminal reported for an entity, most recent first, paged by `after` (an
/// equipment number: the page holds containers sorted by number after it).
pub async fn reported_containers(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ReportedContainerRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT e.equipment_number, c.n, e.kind, e.occurred_at, e.status FROM ds_events e \
         JOIN (SELECT equipment_number, COUNT(*) AS n, MAX(seq) AS last_seq FROM ds_events \
               WHERE entity_id = $1 AND terminal = $2 AND equipment_number > $3 \
               GROUP BY equipment_number ORDER BY equipment_number LIMIT $4) c \
         ON e.seq = c.last_seq ORDER BY e.equipment_number",
    )
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(after.unwrap_or("").to_owned())
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let k: String = r.try_get("kind")?;
            Ok(ReportedContainerRow {
                equipment_number: r.try_get("equipment_number")?,
                events: r.try_get("n")?,
                last_kind: EventKind::parse(&k)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {k}")))?,
                last_occurred_at: millis_to_utc(r.try_get("occurred_at")?),
                last_status: r.try_get("status")?,
            })
        })
        .collect()
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

/// Write a finished intake run (inside the transaction that stored its events, when given).
pub(crate) async fn insert_intake_run(
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

/// A refused message, kept verbatim with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedRow {
    pub id: String,
    pub sync_id: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// The message reference (UNH 0062), when it could be read.
    pub message_ref: Option<String>,
    /// Stable code: `segment_count_mismatch`, `unknown_qualifier`, `invalid_check_digit`, ...
    pub reason_code: String,
    pub reason: String,
    pub content: String,
}

pub(crate) async fn insert_quarantine(
    conn: &mut sqlx::AnyConnection,
    entity_id: &str,
    t: Terminal,
    sync_id: &str,
    q: &[(Option<String>, &str, String, String)],
) -> Result<(), StoreError> {
    let now = now_millis();
    for (message_ref, code, reason, content) in q {
        sqlx::query(
            "INSERT INTO ds_quarantine (id, entity_id, terminal, sync_id, received_at, message_ref, reason_code, reason, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .bind(sync_id.to_owned())
        .bind(now)
        .bind(message_ref.clone())
        .bind((*code).to_owned())
        .bind(reason.clone())
        .bind(content.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn quarantine_list(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    limit: i64,
) -> Result<Vec<QuarantinedRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, sync_id, received_at, message_ref, reason_code, reason, content FROM ds_quarantine \
         WHERE entity_id = $1 AND terminal = $2 ORDER BY received_at DESC, id LIMIT $3",
    )
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(QuarantinedRow {
                id: r.try_get("id")?,
                sync_id: r.try_get("sync_id")?,
                received_at: millis_to_utc(r.try_get("received_at")?),
                message_ref: r.try_get("message_ref")?,
                reason_code: r.try_get("reason_code")?,
                reason: r.try_get("reason")?,
                content: r.try_get("content")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Give a connection its webhook id (kept if it has one); returns the id in force.
pub async fn ensure_webhook_id(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    new_id: &str,
) -> Result<Option<String>, StoreError> {
    sqlx::query(
        "UPDATE ds_connections SET webhook_id = COALESCE(webhook_id, $1) WHERE entity_id = $2 AND terminal = $3",
    )
    .bind(new_id.to_owned())
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .execute(store.pool())
    .await?;
    Ok(get_connection(store, entity_id, t)
        .await?
        .and_then(|c| c.webhook_id))
}

/// The connection a webhook id belongs to.
pub async fn connection_by_webhook(
    store: &Store,
    webhook_id: &str,
) -> Result<Option<ConnectionRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {CONN_COLS} FROM ds_connections WHERE webhook_id = $1"
    ))
    .bind(webhook_id.to_owned())
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(conn_row).transpose()
}

/// Record one received webhook: one pending row per release (a burst is one fetch).
pub async fn inbox_put(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    release: &str,
    event: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ds_webhook_inbox (entity_id, terminal, release_ref, last_event, received, pending, received_at) \
         VALUES ($1, $2, $3, $4, 1, 1, $5) ON CONFLICT (entity_id, terminal, release_ref) DO UPDATE SET \
         last_event = excluded.last_event, received = ds_webhook_inbox.received + 1, pending = 1, received_at = excluded.received_at",
    )
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(release.to_owned())
    .bind(event.to_owned())
    .bind(now_millis())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Pending releases of a connection, oldest first: `(release, last event, deliveries)`.
pub async fn inbox_pending(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    limit: i64,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT release_ref, last_event, received FROM ds_webhook_inbox WHERE entity_id = $1 AND terminal = $2 \
         AND pending = 1 ORDER BY received_at, release_ref LIMIT $3",
    )
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("release_ref")?,
                r.try_get("last_event")?,
                r.try_get("received")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Clear a release's pending flag unless another delivery arrived since it was read.
pub(crate) async fn inbox_done(
    conn: &mut sqlx::AnyConnection,
    entity_id: &str,
    t: Terminal,
    release: &str,
    received: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ds_webhook_inbox SET pending = 0, processed_at = $1 WHERE entity_id = $2 AND terminal = $3 \
         AND release_ref = $4 AND received = $5",
    )
    .bind(now_millis())
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(release.to_owned())
    .bind(received)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drop a connection's queued webhooks (it was removed). Returns how many were pending.
pub async fn inbox_clear(store: &Store, entity_id: &str, t: Terminal) -> Result<u64, StoreError> {
    let r = sqlx::query(
        "DELETE FROM ds_webhook_inbox WHERE entity_id = $1 AND terminal = $2 AND pending = 1",
    )
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected())
}

/// Connections with pending webhooks (the scheduler drains them).
pub async fn connections_with_pending_webhooks(
    store: &Store,
    limit: i64,
) -> Result<Vec<(String, Terminal)>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT entity_id, terminal FROM ds_webhook_inbox WHERE pending = 1 LIMIT $1",
    )
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let t: String = r.try_get("terminal")?;
            Ok((
                r.try_get("entity_id")?,
                Terminal::parse(&t)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown terminal {t}")))?,
            ))
        })
        .collect()
}

/// Take (or renew, as `owner`) the webhook-drain lease of a connection.
pub async fn acquire_hook_lease(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    owner: &str,
    until: i64,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "UPDATE ds_connections SET hook_lease_owner = $1, hook_lease_until = $2 WHERE entity_id = $3 AND terminal = $4 \
         AND (hook_lease_until IS NULL OR hook_lease_until < $5 OR hook_lease_owner = $1)",
    )
    .bind(owner.to_owned())
    .bind(until)
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(now_millis())
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn release_hook_lease(
    store: &Store,
    entity_id: &str,
    t: Terminal,
    owner: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ds_connections SET hook_lease_owner = NULL, hook_lease_until = NULL WHERE entity_id = $1 \
         AND terminal = $2 AND hook_lease_owner = $3",
    )
    .bind(entity_id.to_owned())
    .bind(t.as_str())
    .bind(owner.to_owned())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Count of stored events of one source for an entity (tests, benchmarks).
pub async fn count_events(store: &Store, entity_id: &str, t: Terminal) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM ds_events WHERE entity_id = $1 AND terminal = $2")
            .bind(entity_id.to_owned())
            .bind(t.as_str())
            .fetch_one(store.pool())
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{postgres_store, sqlite_store};

    async fn cursor(store: &Store, entity_id: &str, t: Terminal) -> Option<String> {
        get_connection(store, entity_id, t)
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
                tokio::spawn(async move { save_connection(&store, &entity, t, "Account").await })
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
            let rows = list_connections(&store, &e.id).await.expect("list");
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
        let saved = save_connection(&store, &e.id, t, "ACCOUNT")
            .await
            .expect("save");
        assert_eq!(
            saved,
            Saved::Updated {
                generation: N as i64 + 1
            }
        );
        let row = get_connection(&store, &e.id, t)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            (row.state.as_str(), row.identifier.as_str()),
            ("verifying", "ACCOUNT")
        );
        assert_eq!(cursor(&store, &e.id, t).await.as_deref(), Some("c1"));
        save_connection(&store, &e.id, t, "other")
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

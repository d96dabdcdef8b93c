//! `ds_events`: the normalized events of every source, deduplicated on `(entity_id, dedup_key)`.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{terminal_of, Sources, SourcesTx};
use crate::store::{now_millis, StoreError};
use crate::terminals::event::{Document, EventKind, FullEmpty, NormalizedEvent, TimeKind};
use crate::terminals::Terminal;

/// Rows per INSERT statement (16 parameters each). Measured: 50-row statements are several times
/// faster than 400-row ones through the Any driver.
const CHUNK: usize = 50;

/// Columns written per event row.
const EVENT_COLS: usize = 16;

/// Insert events (deduplicated on `(entity_id, dedup_key)`); returns how many were new.
pub(super) async fn insert_events(
    conn: &mut sqlx::AnyConnection,
    entity_id: &str,
    t: Terminal,
    events: &[NormalizedEvent],
) -> Result<u64, StoreError> {
    let now = now_millis();
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

impl SourcesTx {
    /// Insert events (deduplicated on `(entity_id, dedup_key)`); returns how many were new.
    pub async fn insert_events(
        &mut self,
        entity_id: &str,
        t: Terminal,
        events: &[NormalizedEvent],
    ) -> Result<u64, StoreError> {
        insert_events(&mut self.tx, entity_id, t, events).await
    }
}

/// One `ds_events` row as a container timeline reads it (the API's view of it is
/// `sources::views::TimelineEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEventRow {
    pub source: Terminal,
    pub kind: EventKind,
    /// Unix milliseconds.
    pub occurred_at: i64,
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

fn event_kind(r: &AnyRow) -> Result<EventKind, StoreError> {
    let k: String = r.try_get("kind")?;
    EventKind::parse(&k).ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {k}")))
}

fn timeline_row(r: &AnyRow) -> Result<TimelineEventRow, StoreError> {
    let tk: String = r.try_get("time_kind")?;
    let fe: Option<String> = r.try_get("full_empty")?;
    let docs: Option<String> = r.try_get("documents")?;
    Ok(TimelineEventRow {
        source: terminal_of(r)?,
        kind: event_kind(r)?,
        occurred_at: r.try_get("occurred_at")?,
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

/// One container a terminal reported, with its latest event (the API's view of it is
/// `sources::views::ReportedContainer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedContainerRow {
    pub equipment_number: String,
    /// Events of this terminal about the container.
    pub events: i64,
    pub last_kind: EventKind,
    /// Unix milliseconds.
    pub last_occurred_at: i64,
    pub last_status: Option<String>,
}

fn reported_row(r: &AnyRow) -> Result<ReportedContainerRow, StoreError> {
    Ok(ReportedContainerRow {
        equipment_number: r.try_get("equipment_number")?,
        events: r.try_get("n")?,
        last_kind: event_kind(r)?,
        last_occurred_at: r.try_get("occurred_at")?,
        last_status: r.try_get("status")?,
    })
}

impl Sources<'_> {
    /// The merged timeline of a container across sources, oldest first.
    pub async fn container_events(
        &self,
        entity_id: &str,
        equipment: &str,
        limit: i64,
    ) -> Result<Vec<TimelineEventRow>, StoreError> {
        self.select(
            &format!(
                "SELECT {TIMELINE_COLS} FROM ds_events \
                 WHERE entity_id = $1 AND equipment_number = $2 ORDER BY occurred_at, seq LIMIT $3"
            ),
            vec![entity_id.into(), equipment.into(), limit.into()],
            timeline_row,
        )
        .await
    }

    /// Containers one terminal reported for an entity, paged by `after` (an equipment number:
    /// the page holds containers sorted by number after it).
    pub async fn reported_containers(
        &self,
        entity_id: &str,
        t: Terminal,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReportedContainerRow>, StoreError> {
        self.select(
            "SELECT e.equipment_number, c.n, e.kind, e.occurred_at, e.status FROM ds_events e \
             JOIN (SELECT equipment_number, COUNT(*) AS n, MAX(seq) AS last_seq FROM ds_events \
                   WHERE entity_id = $1 AND terminal = $2 AND equipment_number > $3 \
                   GROUP BY equipment_number ORDER BY equipment_number LIMIT $4) c \
             ON e.seq = c.last_seq ORDER BY e.equipment_number",
            vec![
                entity_id.into(),
                t.into(),
                after.unwrap_or("").into(),
                limit.into(),
            ],
            reported_row,
        )
        .await
    }

    /// Count of stored events of one source for an entity (tests, benchmarks).
    pub async fn count_events(&self, entity_id: &str, t: Terminal) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM ds_events WHERE entity_id = $1 AND terminal = $2",
        )
        .bind(entity_id.to_owned())
        .bind(t.as_str())
        .fetch_one(self.store.pool())
        .await?)
    }
}

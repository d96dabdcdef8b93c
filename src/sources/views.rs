//! The Data Sources API's views of its rows: what `/v1/data-sources/...` and
//! `/v1/containers/{equipment}/events` answer, built from the `ds_*` rows in one place, so a
//! column can change without changing the API (and the reverse).

use super::catalogue::Terminal;
use super::model::{Document, EventKind, FullEmpty, TimeKind};
use super::repo::{QuarantinedRow, ReportedContainerRow, SyncRunRow, TimelineEventRow};

/// One row of `ds_syncs`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
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

impl From<SyncRunRow> for SyncRun {
    fn from(r: SyncRunRow) -> Self {
        Self {
            id: r.id,
            trigger: r.trigger,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            pages: r.pages,
            fetched: r.fetched,
            stored: r.stored,
            skipped: r.skipped,
            quarantined: r.quarantined,
            error_code: r.error_code,
            error_message: r.error_message,
        }
    }
}

/// One event of a container timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
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

impl From<TimelineEventRow> for TimelineEvent {
    fn from(r: TimelineEventRow) -> Self {
        Self {
            source: r.source,
            kind: r.kind,
            occurred_at: r.occurred_at,
            time_kind: r.time_kind,
            location: r.location,
            yard_position: r.yard_position,
            quay: r.quay,
            vessel: r.vessel,
            status: r.status,
            full_empty: r.full_empty,
            documents: r.documents,
            source_event_id: r.source_event_id,
        }
    }
}

/// One container a terminal reported, with its latest event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportedContainer {
    pub equipment_number: String,
    /// Events of this terminal about the container.
    pub events: i64,
    pub last_kind: EventKind,
    pub last_occurred_at: chrono::DateTime<chrono::Utc>,
    pub last_status: Option<String>,
}

impl From<ReportedContainerRow> for ReportedContainer {
    fn from(r: ReportedContainerRow) -> Self {
        Self {
            equipment_number: r.equipment_number,
            events: r.events,
            last_kind: r.last_kind,
            last_occurred_at: r.last_occurred_at,
            last_status: r.last_status,
        }
    }
}

/// A refused message, kept verbatim with its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quarantined {
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

impl From<QuarantinedRow> for Quarantined {
    fn from(r: QuarantinedRow) -> Self {
        Self {
            id: r.id,
            sync_id: r.sync_id,
            received_at: r.received_at,
            message_ref: r.message_ref,
            reason_code: r.reason_code,
            reason: r.reason,
            content: r.content,
        }
    }
}

//! The Data Sources API's views: what `/v1/data-sources/...` and
//! `/v1/containers/{equipment}/events` answer (terminal cards, sync runs, timelines, reported
//! containers, quarantine), built from the `ds_*` rows in one place, so a column can change
//! without changing the API (and the reverse).

use serde::Serialize;
use utoipa::ToSchema;

use super::adapters::Limitation;
use super::catalogue::{AuthType, FormField, Region, Terminal};
use crate::store::millis_to_utc;
use crate::store::sources::{
    ConnectionRow, QuarantinedRow, ReportedContainerRow, SyncRunRow, TimelineEventRow,
};
use crate::terminals::event::{Document, EventKind, FullEmpty, TimeKind};

/// The connection state shown on a terminal card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectionState {
    NotConnected,
    #[serde(rename_all = "camelCase")]
    Verifying {
        identifier: String,
        connected_at: chrono::DateTime<chrono::Utc>,
    },
    #[serde(rename_all = "camelCase")]
    Connected {
        identifier: String,
        connected_at: chrono::DateTime<chrono::Utc>,
        last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
        /// A limitation that does not stop the sync (ECT without approved extended permissions).
        warning: Option<Limitation>,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        identifier: String,
        connected_at: chrono::DateTime<chrono::Utc>,
        /// invalid_credentials | api_access_not_activated | quota_exceeded | rate_limited |
        /// terminal_unavailable | terminal_timeout | terminal_unreachable | unexpected_response | internal_error
        code: String,
        /// What to do about it.
        message: String,
    },
}

pub(crate) fn state_of(c: Option<&ConnectionRow>) -> ConnectionState {
    let Some(c) = c else {
        return ConnectionState::NotConnected;
    };
    let identifier = c.identifier.clone();
    let connected_at = millis_to_utc(c.connected_at);
    match c.state.as_str() {
        "connected" => ConnectionState::Connected {
            identifier,
            connected_at,
            last_sync_at: c.last_sync_at.map(millis_to_utc),
            warning: c.warning_code.clone().map(|code| Limitation {
                code,
                message: c.warning_message.clone().unwrap_or_default(),
            }),
        },
        "error" => ConnectionState::Error {
            identifier,
            connected_at,
            code: c.error_code.clone().unwrap_or_default(),
            message: c.error_message.clone().unwrap_or_default(),
        },
        _ => ConnectionState::Verifying {
            identifier,
            connected_at,
        },
    }
}

/// One terminal card: catalogue data + this entity's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub terminal: Terminal,
    pub name: &'static str,
    pub region: Region,
    pub auth_type: AuthType,
    pub description: &'static str,
    pub fields: &'static [FormField],
    /// Seconds between background syncs.
    pub sync_interval_secs: u64,
    pub state: ConnectionState,
}

/// Terminals of one region.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionGroup {
    pub region: Region,
    pub data_sources: Vec<DataSource>,
}

/// `GET /v1/data-sources`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceList {
    pub entity_id: String,
    pub groups: Vec<RegionGroup>,
}

/// Result of `POST /v1/data-sources/{terminal}/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub ok: bool,
    pub code: Option<String>,
    pub message: String,
    pub warning: Option<Limitation>,
}

/// One row of `ds_syncs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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
            started_at: millis_to_utc(r.started_at),
            finished_at: r.finished_at.map(millis_to_utc),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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
            occurred_at: millis_to_utc(r.occurred_at),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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
            last_occurred_at: millis_to_utc(r.last_occurred_at),
            last_status: r.last_status,
        }
    }
}

/// A refused message, kept verbatim with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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
            received_at: millis_to_utc(r.received_at),
            message_ref: r.message_ref,
            reason_code: r.reason_code,
            reason: r.reason,
            content: r.content,
        }
    }
}

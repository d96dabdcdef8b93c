//! The outbox: every accepted write as an operation row, delivered to NxtPort in order per
//! container.
//!
//! Life of an operation: `queued` -> `sending` (claimed by one replica's worker under a lease,
//! internal) -> `sent` (NxtPort answered 202 with a `publicReferenceId`) -> `completed` (a
//! notification with that id arrived) or `failed` (non-retryable answer, attempts exhausted, or
//! an asynchronous rejection). A transient failure puts it back to `queued` with a later
//! `next_attempt_at`. An operator can retry a `failed` operation (back to `queued`) or cancel a
//! `queued` or `failed` one (`cancelled`, never sent).
//!
//! Ordering: an operation is due only when no earlier operation (lower `seq`) of the same
//! entity and container is still `queued`, `sending` or `failed`, so two operations of one
//! container are never in flight together, a later one never overtakes an earlier one, and a
//! failed one holds its container (the list shows `blockedBy`) until retried or cancelled.
//!
//! Leases: a claim writes the replica's id (`lease_owner`) and an expiry (`lease_until`) that
//! the replica renews while its calls are in flight. Any replica takes back only expired
//! leases, so a starting replica never re-sends what a live one is sending. Every claim
//! increments `attempts`, which is the claim's *generation* (a fencing token): the holder
//! makes sure of its claim right before each send: while its own lease outlasts the send it
//! goes ahead, later it confirms the claim (owner and generation), extending the lease
//! ([`crate::store::Store::confirm_lease`]); it records an outcome only with the same
//! generation. So a claimer whose lease expired and was taken over neither sends nor records
//! anything (see docs/ARCHITECTURE.md, "Leases and fencing").
//!
//! Files: this one holds the types; `claims` the claims and leases, `transitions` the
//! enqueue and the outcomes (worker and operator), `queries` the reads, `correlation` the
//! matching of sent operations with their notifications.

mod claims;
mod correlation;
mod queries;
#[cfg(test)]
mod tests;
mod transitions;

pub(in crate::store) use correlation::correlate_in;

use super::{millis_to_utc, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// What an operation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum OperationKind {
    /// PUT terminal-release (Release, Block or Scanning).
    TerminalRelease,
    /// Ingestion Discharge.
    Discharge,
    /// Ingestion GateIn.
    GateIn,
    /// Ingestion GateOut.
    GateOut,
}

impl OperationKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TerminalRelease => "terminalRelease",
            Self::Discharge => "discharge",
            Self::GateIn => "gateIn",
            Self::GateOut => "gateOut",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::TerminalRelease,
            Self::Discharge,
            Self::GateIn,
            Self::GateOut,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationStatus {
    /// Waiting for delivery (also while being sent).
    Queued,
    /// Claimed by a worker (internal; shown as `queued`).
    Sending,
    /// NxtPort accepted it (202 with a publicReferenceId).
    Sent,
    /// Its notification arrived.
    Completed,
    /// Rejected or attempts exhausted (holds its container until retried or cancelled).
    Failed,
    /// Cancelled by an operator: never sent.
    Cancelled,
}

impl OperationStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sending,
            Self::Sent,
            Self::Completed,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A new operation to enqueue.
#[derive(Debug, Clone)]
pub struct NewOperation {
    /// Operation id (sent as `External-Reference-Id`).
    pub id: uuid::Uuid,
    /// Owning entity.
    pub entity_id: String,
    /// What to send.
    pub kind: OperationKind,
    /// Ordering key (the container number).
    pub container_key: String,
    /// The NxtPort request body.
    pub payload: serde_json::Value,
}

/// An operation accepted by NxtPort whose notification has not arrived yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingNotification {
    /// Owner.
    pub entity_id: String,
    /// NxtPort's reference of the accepted call.
    pub public_reference_id: String,
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Global sequence (ordering).
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Owning entity.
    pub entity_id: String,
    /// Kind.
    pub kind: OperationKind,
    /// Ordering key.
    pub container_key: String,
    /// NxtPort request body.
    pub payload: serde_json::Value,
    /// Status.
    pub status: OperationStatus,
    /// Delivery attempts started.
    pub attempts: i64,
    /// Not before (unix ms).
    pub next_attempt_at: i64,
    /// NxtPort's reference once sent.
    pub public_reference_id: Option<String>,
    /// Last error.
    pub error: Option<String>,
    /// Correlated notification.
    pub notification_id: Option<String>,
    /// Replica holding the claim while `sending`.
    pub lease_owner: Option<String>,
    /// Its lease expires at (unix ms).
    pub lease_until: Option<i64>,
    /// Accepted at (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// Sent at (unix ms).
    pub sent_at: Option<i64>,
    /// Completed or failed at (unix ms).
    pub completed_at: Option<i64>,
}

impl Operation {
    /// Acceptance time as UTC.
    pub fn created_utc(&self) -> chrono::DateTime<chrono::Utc> {
        millis_to_utc(self.created_at)
    }
}

const COLUMNS: &str = "seq, id, entity_id, kind, container_key, payload, status, attempts, \
    next_attempt_at, public_reference_id, error, notification_id, created_at, updated_at, \
    sent_at, completed_at, lease_owner, lease_until";

fn from_row(r: &AnyRow) -> Result<Operation, StoreError> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let payload: String = r.try_get("payload")?;
    Ok(Operation {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        entity_id: r.try_get("entity_id")?,
        kind: OperationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("operation kind {kind}")))?,
        container_key: r.try_get("container_key")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("operation payload: {e}")))?,
        status: OperationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("operation status {status}")))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        public_reference_id: r.try_get("public_reference_id")?,
        error: r.try_get("error")?,
        notification_id: r.try_get("notification_id")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: r.try_get("lease_until")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        sent_at: r.try_get("sent_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

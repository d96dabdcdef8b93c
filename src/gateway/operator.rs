//! What an operator does about an operation: retry a `failed` one, cancel a `queued` or
//! `failed` one. The one place that checks the role, changes the state, writes the audit row
//! and wakes the delivery worker; the `/v1` API (`POST /v1/operations/{id}/retry|cancel`) and
//! the console's buttons both call [`act`] and only map its [`ActError`] to their own answer.

use super::state::GatewayState;
use crate::store::outbox::Operation;
use crate::store::{Actor, AuditLog, AuditRecord, Role, StoreError};

/// What an operator does to an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    /// Send a `failed` operation again (queued, attempts from zero).
    Retry,
    /// Never send a `queued` (not in flight) or `failed` operation.
    Cancel,
}

impl OperatorAction {
    /// The audit action name.
    pub fn audit_name(self) -> &'static str {
        match self {
            OperatorAction::Retry => "operation.retry",
            OperatorAction::Cancel => "operation.cancel",
        }
    }
}

/// Why an operator's act changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The id is not a UUID (not audited: it names no operation).
    #[error("id: operation ids are UUIDs")]
    BadId,
    /// The role may only read (audited as `denied`).
    #[error("role '{0}' may only read; this needs an editor token")]
    ReadOnly(&'static str),
    /// No such operation for this entity.
    #[error("no such operation")]
    NotFound,
    /// The operation is not in a state the action applies to (audited as `invalid`).
    #[error("{0}")]
    WrongState(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Retry or cancel the operation `id` of `actor.entity_id`, as a token of `role`; every
/// attempt that names an operation is audited (`ok`, `denied` or `invalid`). Returns the
/// operation after the change.
pub async fn act(
    state: &GatewayState,
    actor: &Actor,
    role: Role,
    id: &str,
    action: OperatorAction,
) -> Result<Operation, ActError> {
    let id = uuid::Uuid::parse_str(id.trim())
        .map_err(|_| ActError::BadId)?
        .to_string();
    let audit = |outcome: &'static str| {
        let id = id.clone();
        async move {
            let record = AuditRecord {
                action: action.audit_name(),
                target: &id,
                outcome,
                detail: None,
            };
            AuditLog::record(&state.store, actor, &record).await
        }
    };
    if !role.can_write() {
        audit("denied").await?;
        return Err(ActError::ReadOnly(role.as_str()));
    }
    let entity = actor.entity_id.as_str();
    let changed = match action {
        OperatorAction::Retry => state.store.retry_operation(entity, &id).await?,
        OperatorAction::Cancel => state.store.cancel_operation(entity, &id).await?,
    };
    match changed {
        None => Err(ActError::NotFound),
        Some(false) => {
            audit("invalid").await?;
            Err(ActError::WrongState(match action {
                OperatorAction::Retry => "only a failed operation can be retried",
                OperatorAction::Cancel => {
                    "only a queued or failed operation can be cancelled (this one is in flight or done)"
                }
            }))
        }
        Some(true) => {
            audit("ok").await?;
            if action == OperatorAction::Retry {
                state.metrics.outbox_depth.inc();
            }
            // Either may unblock the container's next operation.
            state.wake_worker.notify_one();
            state
                .store
                .operation(entity, &id)
                .await?
                .ok_or(ActError::NotFound)
        }
    }
}

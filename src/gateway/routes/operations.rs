//! `GET /v1/operations/{id}` and `GET /v1/operations`: where an accepted write is;
//! `POST /v1/operations/{id}/retry` and `/cancel`: what an operator does about a failed one.
//!
//! A `failed` operation holds its container: later writes of the same container stay `queued`
//! and show `blockedBy` (the operation they wait for) until the failed one is retried or
//! cancelled, so a terminal release never overtakes the discharge NxtPort refused, and a
//! container is never stuck silently.

use super::super::domain::EquipmentNumber;
use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::Caller;
use super::super::operator::{self, ActError, OperatorAction};
use super::super::state::GatewayState;
use crate::store::millis_to_utc;
use crate::store::notifications::StoredNotification;
use crate::store::outbox::{Operation, OperationStatus};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Public status of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PublicStatus {
    /// Durably stored, not yet accepted by NxtPort (also while being sent).
    Queued,
    /// NxtPort answered 202 with a publicReferenceId.
    Sent,
    /// The notification answering it arrived.
    Completed,
    /// Rejected, or delivery attempts exhausted; see `error`. Holds its container's later
    /// operations until retried or cancelled.
    Failed,
    /// Cancelled by an operator: never sent.
    Cancelled,
}

impl From<OperationStatus> for PublicStatus {
    fn from(s: OperationStatus) -> Self {
        match s {
            OperationStatus::Queued | OperationStatus::Sending => Self::Queued,
            OperationStatus::Sent => Self::Sent,
            OperationStatus::Completed => Self::Completed,
            OperationStatus::Failed => Self::Failed,
            OperationStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// An operation as the caller sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationView {
    /// Id (sent to NxtPort as `External-Reference-Id`).
    pub operation_id: String,
    /// What it sends.
    #[schema(value_type = String, example = "discharge")]
    pub kind: String,
    /// Container.
    pub equipment_number: String,
    /// Status.
    pub status: PublicStatus,
    /// Delivery attempts started.
    pub attempts: i64,
    /// NxtPort's reference once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_reference_id: Option<String>,
    /// Last error (for `failed`, the final one; for `queued`, the last transient one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The notification that completed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<StoredNotification>,
    /// For a `queued` operation: the earlier operation of the same container it waits for
    /// (queued, in flight, or `failed` until retried or cancelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// The NxtPort request body that is (or was) sent.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// When the gateway accepted it.
    pub accepted_at: chrono::DateTime<chrono::Utc>,
    /// When NxtPort accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it completed or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn view(
    op: Operation,
    notification: Option<StoredNotification>,
    blocked_by: Option<String>,
) -> OperationView {
    OperationView {
        blocked_by,
        operation_id: op.id,
        kind: op.kind.as_str().to_owned(),
        equipment_number: op.container_key,
        status: op.status.into(),
        attempts: op.attempts,
        public_reference_id: op.public_reference_id,
        error: op.error,
        notification,
        request: op.payload,
        accepted_at: millis_to_utc(op.created_at),
        sent_at: op.sent_at.map(millis_to_utc),
        completed_at: op.completed_at.map(millis_to_utc),
    }
}

/// One operation of the caller's entity.
#[utoipa::path(
    get,
    path = "/v1/operations/{id}",
    tag = "operations",
    params(("id" = String, Path, description = "Operation id from the 202 answer")),
    responses(
        (status = 200, description = "The operation", body = OperationView),
        (status = 400, description = "Not a UUID", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 404, description = "Unknown (or another entity's)", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn get_operation(
    caller: Caller,
    state: web::Data<GatewayState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = uuid::Uuid::parse_str(path.trim())
        .map_err(|_| ApiError::field("id", "id: operation ids are UUIDs"))?;
    let op = state
        .store
        .operation(&caller.entity_id, &id.to_string())
        .await?
        .ok_or(ApiError::NotFound("operation"))?;
    let notification = match &op.notification_id {
        Some(n) => state.store.notification(&caller.entity_id, n).await?,
        None => None,
    };
    let blocked_by = state.store.blocked_by(&op).await?;
    Ok(HttpResponse::Ok().json(view(op, notification, blocked_by)))
}

/// Query of `GET /v1/operations`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OperationsQuery {
    /// Only this container.
    pub equipment_number: Option<String>,
    /// Max results (1-1000, default 100).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

/// Latest operations of the caller's entity, newest first.
#[utoipa::path(
    get,
    path = "/v1/operations",
    tag = "operations",
    params(OperationsQuery),
    responses(
        (status = 200, description = "Operations", body = Vec<OperationView>),
        (status = 400, description = "Bad filter", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn list_operations(
    caller: Caller,
    state: web::Data<GatewayState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: OperationsQuery = super::parse_query(&req)?;
    let equipment = q
        .equipment_number
        .map(|e| {
            EquipmentNumber::parse(&e)
                .map_err(|e| ApiError::field("equipmentNumber", e.to_string()))
        })
        .transpose()?;
    let limit = super::parse_limit(q.limit.as_deref())?;
    let ops = state
        .store
        .operations(
            &caller.entity_id,
            equipment.as_ref().map(|e| e.as_str()),
            limit,
        )
        .await?;
    let mut views = Vec::with_capacity(ops.len());
    for op in ops {
        let blocked_by = state.store.blocked_by(&op).await?;
        views.push(view(op, None, blocked_by));
    }
    Ok(HttpResponse::Ok().json(views))
}

impl From<ActError> for ApiError {
    fn from(e: ActError) -> Self {
        match e {
            ActError::BadId => ApiError::field("id", e.to_string()),
            ActError::ReadOnly(_) => ApiError::Forbidden(e.to_string()),
            ActError::NotFound => ApiError::NotFound("operation"),
            ActError::WrongState(m) => ApiError::Conflict(m.into()),
            ActError::Store(e) => e.into(),
        }
    }
}

/// An operator's route: the service acts (role, state change, audit), the route answers
/// with the operation after the change. The two routes differ only in their action, path and
/// the words of their 200 and 409 answers.
macro_rules! operator_route {
    ($(#[doc = $doc:tt])* $name:ident, $action:expr, $path:tt, $ok:tt, $conflict:tt) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "operations",
            params(("id" = String, Path, description = "Operation id")),
            responses(
                (status = 200, description = $ok, body = OperationView),
                (status = 400, description = "Not a UUID", body = ErrorEnvelope),
                (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
                (status = 403, description = "Not an editor", body = ErrorEnvelope),
                (status = 404, description = "Unknown (or another entity's)", body = ErrorEnvelope),
                (status = 409, description = $conflict, body = ErrorEnvelope)
            ),
            security(("bearer" = []))
        )]
        #[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
        pub async fn $name(
            caller: Caller,
            state: web::Data<GatewayState>,
            path: web::Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            let op = operator::act(&state, &caller.actor(), caller.role, &path, $action).await?;
            Ok(HttpResponse::Ok().json(view(op, None, None)))
        }
    };
}

operator_route!(
    /// Send a `failed` operation again (queued, attempts from zero). Editor role; audited as
    /// `operation.retry`.
    retry_operation,
    OperatorAction::Retry,
    "/v1/operations/{id}/retry",
    "Queued again",
    "Not failed"
);

operator_route!(
    /// Cancel a `queued` (not in flight) or `failed` operation: it is never sent and no longer
    /// holds its container. Editor role; audited as `operation.cancel`.
    cancel_operation,
    OperatorAction::Cancel,
    "/v1/operations/{id}/cancel",
    "Cancelled",
    "In flight or already done"
);

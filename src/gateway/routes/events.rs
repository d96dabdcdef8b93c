//! Terminal events into the outbox: `POST /v1/terminal-releases`, `/v1/discharges`,
//! `/v1/gate-ins`, `/v1/gate-outs`.
//!
//! Each handler validates the body, builds the NxtPort request (terminal code and port LoCode
//! default to the entity's connection), writes it to the outbox in one committed transaction and
//! only then answers 202 with the operation id. Delivery happens in the background.

use super::super::domain::{
    BillOfLading, EquipmentNumber, StayNumber, TerminalCode, UnLocode, UtcTimestamp,
};
use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::{Caller, ValidJson};
use super::super::state::GatewayState;
use crate::connection::{NxtPortConnection, NXTPORT_KIND};
use crate::store::outbox::{NewOperation, OperationKind};
use actix_web::{http::header, web, HttpResponse};
use cpu_contract::{
    FullEmptyIndicator, IngestionRequest, ModeOfTransport, OperationType,
    TerminalReleaseActionType, TerminalReleaseRequest,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/terminal-releases`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TerminalReleaseInput {
    /// Container number (ISO 6346, check digit verified).
    #[schema(value_type = String, example = "MSCU1234566")]
    pub equipment_number: EquipmentNumber,
    /// Release (light GREEN), Block (RED) or Scanning.
    pub action_type: TerminalReleaseActionType,
    /// When the action happened, in UTC.
    #[schema(value_type = String, format = DateTime, example = "2024-03-01T08:14:31.123Z")]
    pub release_date_time_utc: UtcTimestamp,
    /// Vessel stay number (recommended).
    #[schema(value_type = Option<String>)]
    pub stay_number: Option<StayNumber>,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>, example = "BEANR")]
    pub port_lo_code: Option<UnLocode>,
    /// Overrides the connection's terminal code.
    #[schema(value_type = Option<String>)]
    pub terminal_code: Option<TerminalCode>,
}

/// `POST /v1/discharges`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DischargeInput {
    /// Container number (ISO 6346).
    #[schema(value_type = String, example = "MSCU1234566")]
    pub equipment_number: EquipmentNumber,
    /// When the container was discharged, in UTC.
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: UtcTimestamp,
    /// Vessel stay number (recommended).
    #[schema(value_type = Option<String>)]
    pub stay_number: Option<StayNumber>,
    /// `full` or `empty`.
    pub full_empty_indicator: Option<FullEmptyIndicator>,
    /// `import` for import containers.
    pub equipment_status: Option<EquipmentStatus>,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
    /// Overrides the connection's terminal code.
    #[schema(value_type = Option<String>)]
    pub terminal_code: Option<TerminalCode>,
}

/// `POST /v1/gate-ins`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateInInput {
    /// Container number (ISO 6346).
    #[schema(value_type = String, example = "MSCU1234566")]
    pub equipment_number: EquipmentNumber,
    /// When the container gated in, in UTC.
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: UtcTimestamp,
    /// Vessel stay number (recommended).
    #[schema(value_type = Option<String>)]
    pub stay_number: Option<StayNumber>,
    /// Bills of lading.
    #[schema(value_type = Option<Vec<String>>)]
    pub bill_of_lading_numbers: Option<Vec<BillOfLading>>,
    /// `import` for import containers.
    pub equipment_status: Option<EquipmentStatus>,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
    /// Overrides the connection's terminal code.
    #[schema(value_type = Option<String>)]
    pub terminal_code: Option<TerminalCode>,
}

/// `POST /v1/gate-outs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateOutInput {
    /// Container number (ISO 6346).
    #[schema(value_type = String, example = "MSCU1234566")]
    pub equipment_number: EquipmentNumber,
    /// When the container left, in UTC.
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: UtcTimestamp,
    /// Vessel stay number (recommended).
    #[schema(value_type = Option<String>)]
    pub stay_number: Option<StayNumber>,
    /// Bills of lading.
    #[schema(value_type = Option<Vec<String>>)]
    pub bill_of_lading_numbers: Option<Vec<BillOfLading>>,
    /// Truck, Barge, Rail or Unknown.
    pub mode_of_transport: Option<ModeOfTransport>,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
    /// Overrides the connection's terminal code.
    #[schema(value_type = Option<String>)]
    pub terminal_code: Option<TerminalCode>,
}

/// `equipmentStatus`: only `import` is defined by CPu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EquipmentStatus {
    /// An import container.
    Import,
}

/// 202 answer: the write is durable and queued for delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Id of the operation (also sent to NxtPort as `External-Reference-Id`).
    pub operation_id: uuid::Uuid,
    /// Always `queued` here.
    pub status: String,
}

const MAX_BILLS: usize = 50;

/// The connection's non-secret fields, or 409 when the entity has none or an incomplete one
/// (nothing is queued that could only be posted with an empty ingestion id).
pub async fn connection_of(
    state: &GatewayState,
    entity_id: &str,
) -> Result<NxtPortConnection, ApiError> {
    let fields = state
        .vault
        .public_fields(entity_id, NXTPORT_KIND)
        .await?
        .ok_or(ApiError::ConnectionMissing)?;
    NxtPortConnection::from_public(&fields).map_err(ApiError::ConnectionIncomplete)
}

fn bills(b: Option<Vec<BillOfLading>>) -> Result<Option<Vec<String>>, ApiError> {
    match b {
        Some(v) if v.len() > MAX_BILLS => Err(ApiError::field(
            "billOfLadingNumbers",
            format!("billOfLadingNumbers: at most {MAX_BILLS} entries"),
        )),
        Some(v) => Ok(Some(v.iter().map(|b| b.as_str().to_owned()).collect())),
        None => Ok(None),
    }
}

async fn accept(
    state: &GatewayState,
    caller: &Caller,
    kind: OperationKind,
    equipment: &EquipmentNumber,
    payload: serde_json::Value,
) -> Result<HttpResponse, ApiError> {
    let id = uuid::Uuid::new_v4();
    state
        .outbox
        .enqueue(NewOperation {
            id,
            entity_id: caller.entity_id.clone(),
            kind,
            container_key: equipment.as_str().to_owned(),
            payload,
        })
        .await
        .map_err(ApiError::Internal)?;
    state.metrics.outbox_depth.inc();
    state.wake_worker.notify_one();
    tracing::info!(operation = %id, kind = kind.as_str(), equipment = %equipment, "operation queued");
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/v1/operations/{id}")))
        .json(Accepted {
            operation_id: id,
            status: "queued".into(),
        }))
}

/// What the gateway can check before NxtPort does: a terminal code or port given per request
/// must be the connection's own (NxtPort answers 401 "terminalCode ... does not belong to ..."
/// otherwise, and that write would only ever fail). Nothing is queued on a mismatch.
fn check_connection(
    conn: &NxtPortConnection,
    locode: Option<&UnLocode>,
    terminal: Option<&TerminalCode>,
) -> Result<(), ApiError> {
    if let Some(t) = terminal {
        if !t.as_str().eq_ignore_ascii_case(conn.terminal_code.as_str()) {
            return Err(ApiError::field(
                "terminalCode",
                format!(
                    "terminalCode: {} is not the terminal of this entity's NxtPort connection ({})",
                    t.as_str(),
                    conn.terminal_code.as_str()
                ),
            ));
        }
    }
    if let Some(l) = locode {
        if !l.as_str().eq_ignore_ascii_case(conn.port_lo_code.as_str()) {
            return Err(ApiError::field(
                "portLoCode",
                format!(
                    "portLoCode: {} is not the port of this entity's NxtPort connection ({})",
                    l.as_str(),
                    conn.port_lo_code.as_str()
                ),
            ));
        }
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(e.into()))
}

/// Queue a terminal release (Release, Block or Scanning).
#[utoipa::path(
    post,
    path = "/v1/terminal-releases",
    tag = "events",
    request_body = TerminalReleaseInput,
    responses(
        (status = 202, description = "Durably queued", body = Accepted),
        (status = 400, description = "Invalid input; nothing queued", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 403, description = "Role may not write", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 413, description = "Body too large", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn post_terminal_release(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<TerminalReleaseInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let conn = connection_of(&state, &caller.entity_id).await?;
    check_connection(
        &conn,
        input.port_lo_code.as_ref(),
        input.terminal_code.as_ref(),
    )?;
    let request = TerminalReleaseRequest {
        equipment_number: input.equipment_number.as_str().to_owned(),
        port_lo_code: input
            .port_lo_code
            .map(|l| l.as_str().to_owned())
            .unwrap_or_else(|| conn.port_lo_code.as_str().to_owned()),
        terminal_code: input
            .terminal_code
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| conn.terminal_code.as_str().to_owned()),
        action_type: input.action_type,
        release_date_time_utc: input.release_date_time_utc.get(),
        stay_number: input.stay_number.map(|s| s.as_str().to_owned()),
    };
    accept(
        &state,
        &caller,
        OperationKind::TerminalRelease,
        &input.equipment_number,
        to_json(&request)?,
    )
    .await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per ingestion field"
)]
fn ingestion(
    conn: NxtPortConnection,
    operation_type: OperationType,
    equipment: &EquipmentNumber,
    timestamp: UtcTimestamp,
    stay: Option<StayNumber>,
    locode: Option<UnLocode>,
    terminal: Option<TerminalCode>,
    status: Option<EquipmentStatus>,
) -> Result<IngestionRequest, ApiError> {
    check_connection(&conn, locode.as_ref(), terminal.as_ref())?;
    Ok(IngestionRequest {
        port_lo_code: locode
            .map(|l| l.as_str().to_owned())
            .unwrap_or_else(|| conn.port_lo_code.as_str().to_owned()),
        equipment_number: equipment.as_str().to_owned(),
        equipment_status: status.map(|_| "import".to_owned()),
        timestamp: timestamp.get(),
        terminal_code: terminal
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| conn.terminal_code.as_str().to_owned()),
        stay_number: stay.map(|s| s.as_str().to_owned()),
        operation_type,
        full_empty_indicator: None,
        bill_of_lading_numbers: None,
        mode_of_transport: None,
    })
}

/// Queue a discharge.
#[utoipa::path(
    post,
    path = "/v1/discharges",
    tag = "events",
    request_body = DischargeInput,
    responses(
        (status = 202, description = "Durably queued", body = Accepted),
        (status = 400, description = "Invalid input; nothing queued", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 403, description = "Role may not write", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn post_discharge(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<DischargeInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let conn = connection_of(&state, &caller.entity_id).await?;
    let mut request = ingestion(
        conn,
        OperationType::Discharge,
        &input.equipment_number,
        input.timestamp,
        input.stay_number,
        input.port_lo_code,
        input.terminal_code,
        input.equipment_status,
    )?;
    request.full_empty_indicator = input.full_empty_indicator;
    accept(
        &state,
        &caller,
        OperationKind::Discharge,
        &input.equipment_number,
        to_json(&request)?,
    )
    .await
}

/// Queue a gate in.
#[utoipa::path(
    post,
    path = "/v1/gate-ins",
    tag = "events",
    request_body = GateInInput,
    responses(
        (status = 202, description = "Durably queued", body = Accepted),
        (status = 400, description = "Invalid input; nothing queued", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 403, description = "Role may not write", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn post_gate_in(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<GateInInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let bills = bills(input.bill_of_lading_numbers)?;
    let conn = connection_of(&state, &caller.entity_id).await?;
    let mut request = ingestion(
        conn,
        OperationType::GateIn,
        &input.equipment_number,
        input.timestamp,
        input.stay_number,
        input.port_lo_code,
        input.terminal_code,
        input.equipment_status,
    )?;
    request.bill_of_lading_numbers = bills;
    accept(
        &state,
        &caller,
        OperationKind::GateIn,
        &input.equipment_number,
        to_json(&request)?,
    )
    .await
}

/// Queue a gate out (finalizes the container in CPu).
#[utoipa::path(
    post,
    path = "/v1/gate-outs",
    tag = "events",
    request_body = GateOutInput,
    responses(
        (status = 202, description = "Durably queued", body = Accepted),
        (status = 400, description = "Invalid input; nothing queued", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 403, description = "Role may not write", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn post_gate_out(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<GateOutInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let bills = bills(input.bill_of_lading_numbers)?;
    let conn = connection_of(&state, &caller.entity_id).await?;
    let mut request = ingestion(
        conn,
        OperationType::GateOut,
        &input.equipment_number,
        input.timestamp,
        input.stay_number,
        input.port_lo_code,
        input.terminal_code,
        None,
    )?;
    request.bill_of_lading_numbers = bills;
    request.mode_of_transport = input.mode_of_transport;
    accept(
        &state,
        &caller,
        OperationKind::GateOut,
        &input.equipment_number,
        to_json(&request)?,
    )
    .await
}

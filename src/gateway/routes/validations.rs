//! Synchronous CPu checks, passed through to NxtPort with the entity's credentials at
//! interactive priority (a truck is waiting at the gate: these go before queued writes).
//!
//! `POST /v1/pickup-validations/truck`, `/v1/pickup-validations/barge-rail`,
//! `/v1/alfapass-validations`, `/v1/release-right-validations/truck`.

use super::super::domain::{
    AlfapassNumber, BillOfLading, EquipmentNumber, NxtEntityId, Reference, UnLocode,
};
use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::{Caller, ValidJson};
use super::super::state::GatewayState;
use super::super::upstream::api_error;
use crate::nxtport::{CallOptions, NxtPortError};
use actix_web::{web, HttpResponse};
use cpu_contract::{
    BargeRailPickupValidationRequest, BargeRailPickupValidationResponse, Identification,
    IdentificationType, IdentificationValidationRequest, ModeOfTransport,
    PickupContainerIdentifier, TruckOwnershipValidationRequest, TruckOwnershipValidationResponse,
    TruckPickupValidationRequest, TruckPickupValidationResponse,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A party identified by type and code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentificationInput {
    /// NxtEntityId, Tin, Eori, Duns, SCAC, Apcs, ExternalId (name or int).
    pub identification_type: IdentificationType,
    /// The identifier.
    #[schema(value_type = String)]
    pub identification_code: Reference,
}

impl IdentificationInput {
    fn wire(self) -> Identification {
        Identification {
            identification_type: self.identification_type,
            identification_code: self.identification_code.as_str().to_owned(),
        }
    }
}

/// One container of a truck pickup validation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PickupContainerInput {
    /// Container number (ISO 6346).
    #[schema(value_type = String, example = "MSCU1234566")]
    pub equipment_number: EquipmentNumber,
    /// Bills of lading.
    #[schema(value_type = Option<Vec<String>>)]
    pub bill_of_lading_numbers: Option<Vec<BillOfLading>>,
    /// The carrier.
    pub carrier: Option<IdentificationInput>,
}

/// `POST /v1/pickup-validations/truck`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TruckPickupValidationInput {
    /// The driver's Alfapass number.
    #[schema(value_type = String)]
    pub alfapass_number: AlfapassNumber,
    /// The containers to check (1-50).
    pub release_identification: Vec<PickupContainerInput>,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
}

/// `POST /v1/pickup-validations/barge-rail`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BargeRailPickupValidationInput {
    /// Container number (ISO 6346).
    #[schema(value_type = String)]
    pub equipment_number: EquipmentNumber,
    /// Bills of lading (may be empty).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub bill_of_lading_numbers: Vec<BillOfLading>,
    /// The release right, for a 1:1 match.
    pub release_id: Option<uuid::Uuid>,
    /// Barge or Rail.
    pub means_of_transport: ModeOfTransport,
    /// The barge or rail operator.
    pub transport_operator: IdentificationInput,
    /// The carrier.
    pub carrier: Option<IdentificationInput>,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
}

/// `POST /v1/alfapass-validations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlfapassValidationInput {
    /// The Alfapass number to check.
    #[schema(value_type = String)]
    pub alfapass_number: AlfapassNumber,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
}

/// Answer of `POST /v1/alfapass-validations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlfapassValidation {
    /// The number checked.
    pub alfapass_number: String,
    /// NxtPort's answer.
    pub valid: bool,
}

/// `POST /v1/release-right-validations/truck`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TruckReleaseRightValidationInput {
    /// NxtEntityId of the transport operator to check.
    #[schema(value_type = String)]
    pub owner_nxt_entity_id: NxtEntityId,
    /// When given, the Alfapass is checked too.
    #[schema(value_type = Option<String>)]
    pub alfapass_number: Option<AlfapassNumber>,
    /// Container number (ISO 6346).
    #[schema(value_type = String)]
    pub equipment_number: EquipmentNumber,
    /// Overrides the connection's port LoCode.
    #[schema(value_type = Option<String>)]
    pub port_lo_code: Option<UnLocode>,
}

/// Count an upstream answer in the metrics.
pub fn observe<T>(state: &GatewayState, endpoint: &str, result: &Result<T, NxtPortError>) {
    let status: std::borrow::Cow<'static, str> = match result {
        Ok(_) => "2xx".into(),
        Err(e) => e
            .status()
            .map_or_else(|| "error".into(), |s| s.to_string().into()),
    };
    state
        .metrics
        .upstream_status
        .with_label_values(&[endpoint, &*status])
        .inc();
}

fn locode(given: Option<UnLocode>, conn: &str) -> String {
    given
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| conn.to_owned())
}

/// Validate that a truck driver (Alfapass) may pick containers up now.
#[utoipa::path(
    post,
    path = "/v1/pickup-validations/truck",
    tag = "validations",
    request_body = TruckPickupValidationInput,
    responses(
        (status = 200, description = "NxtPort's verdict per container", body = TruckPickupValidationResponse),
        (status = 400, description = "Invalid input", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 422, description = "NxtPort rejected the request", body = ErrorEnvelope),
        (status = 502, description = "NxtPort refused the entity's credentials", body = ErrorEnvelope),
        (status = 503, description = "NxtPort unavailable", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn truck_pickup(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<TruckPickupValidationInput>,
) -> Result<HttpResponse, ApiError> {
    let n = input.release_identification.len();
    if !(1..=50).contains(&n) {
        return Err(ApiError::field(
            "releaseIdentification",
            "releaseIdentification must list 1 to 50 containers",
        ));
    }
    let link = state.upstreams.link(&caller.entity_id).await?;
    let body = TruckPickupValidationRequest {
        alfapass_number: input.alfapass_number.as_str().to_owned(),
        release_identification: input
            .release_identification
            .into_iter()
            .map(|c| PickupContainerIdentifier {
                equipment_number: c.equipment_number.as_str().to_owned(),
                bill_of_lading_numbers: c
                    .bill_of_lading_numbers
                    .map(|b| b.iter().map(|x| x.as_str().to_owned()).collect()),
                carrier: c.carrier.map(IdentificationInput::wire),
            })
            .collect(),
    };
    let result = link
        .client
        .validate_truck_pickup(
            &locode(input.port_lo_code, link.conn.port_lo_code.as_str()),
            &body,
            &CallOptions::default(),
        )
        .await;
    observe(&state, "truck-pickup-validation", &result);
    Ok(HttpResponse::Ok().json(result.map_err(api_error)?))
}

/// Validate a barge or rail pickup (v2).
#[utoipa::path(
    post,
    path = "/v1/pickup-validations/barge-rail",
    tag = "validations",
    request_body = BargeRailPickupValidationInput,
    responses(
        (status = 200, description = "NxtPort's verdict", body = BargeRailPickupValidationResponse),
        (status = 400, description = "Invalid input", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 422, description = "NxtPort rejected the request", body = ErrorEnvelope),
        (status = 503, description = "NxtPort unavailable", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn barge_rail_pickup(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<BargeRailPickupValidationInput>,
) -> Result<HttpResponse, ApiError> {
    if !matches!(
        input.means_of_transport,
        ModeOfTransport::Barge | ModeOfTransport::Rail
    ) {
        return Err(ApiError::field(
            "meansOfTransport",
            "meansOfTransport must be Barge or Rail (use the truck validation for trucks)",
        ));
    }
    let link = state.upstreams.link(&caller.entity_id).await?;
    let body = BargeRailPickupValidationRequest {
        equipment_number: input.equipment_number.as_str().to_owned(),
        bill_of_lading_numbers: input
            .bill_of_lading_numbers
            .iter()
            .map(|b| b.as_str().to_owned())
            .collect(),
        release_id: input.release_id,
        means_of_transport: input.means_of_transport,
        transport_operator: input.transport_operator.wire(),
        carrier: input.carrier.map(IdentificationInput::wire),
    };
    let result = link
        .client
        .validate_barge_rail_pickup(
            &locode(input.port_lo_code, link.conn.port_lo_code.as_str()),
            &body,
            &CallOptions::default(),
        )
        .await;
    observe(&state, "barge-rail-pickup-validation", &result);
    Ok(HttpResponse::Ok().json(result.map_err(api_error)?))
}

/// Is this Alfapass number valid?
#[utoipa::path(
    post,
    path = "/v1/alfapass-validations",
    tag = "validations",
    request_body = AlfapassValidationInput,
    responses(
        (status = 200, description = "NxtPort's answer", body = AlfapassValidation),
        (status = 400, description = "Invalid input", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 503, description = "NxtPort unavailable", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn alfapass(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<AlfapassValidationInput>,
) -> Result<HttpResponse, ApiError> {
    let link = state.upstreams.link(&caller.entity_id).await?;
    let body = IdentificationValidationRequest {
        identification_type: IdentificationType::Alfapass,
        identification_code: input.alfapass_number.as_str().to_owned(),
    };
    let result = link
        .client
        .validate_identification(
            &locode(input.port_lo_code, link.conn.port_lo_code.as_str()),
            &body,
            &CallOptions::default(),
        )
        .await;
    observe(&state, "identification-validation", &result);
    Ok(HttpResponse::Ok().json(AlfapassValidation {
        alfapass_number: input.alfapass_number.as_str().to_owned(),
        valid: result.map_err(api_error)?,
    }))
}

/// Does this transport operator hold the release right of the container?
#[utoipa::path(
    post,
    path = "/v1/release-right-validations/truck",
    tag = "validations",
    request_body = TruckReleaseRightValidationInput,
    responses(
        (status = 200, description = "NxtPort's verdict", body = TruckOwnershipValidationResponse),
        (status = 400, description = "Invalid input", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 422, description = "NxtPort rejected the request", body = ErrorEnvelope),
        (status = 503, description = "NxtPort unavailable", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn truck_release_right(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<TruckReleaseRightValidationInput>,
) -> Result<HttpResponse, ApiError> {
    let link = state.upstreams.link(&caller.entity_id).await?;
    let port = locode(input.port_lo_code, link.conn.port_lo_code.as_str());
    let body = TruckOwnershipValidationRequest {
        port_lo_code: Some(port.clone()),
        owner_nxt_entity_id: input.owner_nxt_entity_id.as_str().to_owned(),
        alfapass_number: input.alfapass_number.map(|a| a.as_str().to_owned()),
        equipment_number: input.equipment_number.as_str().to_owned(),
    };
    let result = link
        .client
        .validate_truck_ownership(&port, &body, &CallOptions::default())
        .await;
    observe(&state, "truck-ownership-validation", &result);
    Ok(HttpResponse::Ok().json(result.map_err(api_error)?))
}

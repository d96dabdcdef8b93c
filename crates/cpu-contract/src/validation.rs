//! The synchronous validations (truck and barge/rail pickup, Alfapass, truck ownership): their
//! requests and their 200 answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::{null_as_default, Identification};
use crate::enums::{IdentificationType, LightColor, ModeOfTransport};

/// One container in a truck pickup validation.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PickupContainerIdentifier {
    /// Container number.
    pub equipment_number: String,
    /// Bills of lading of the container.
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// The carrier.
    pub carrier: Option<Identification>,
}

/// `POST /certified-pickup/v1/{locode}/sync-validation/pickup/containers` (synchronous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TruckPickupValidationRequest {
    /// The driver's Alfapass number.
    pub alfapass_number: String,
    /// The containers to validate (NxtPort names the array `releaseIdentification`).
    pub release_identification: Vec<PickupContainerIdentifier>,
}

/// `POST /certified-pickup/v2/{locode}/sync-validation/pickup/barge-rail/containers` (synchronous).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BargeRailPickupValidationRequest {
    /// Container number.
    pub equipment_number: String,
    /// Bills of lading; may be empty but must be present.
    pub bill_of_lading_numbers: Vec<String>,
    /// The release right, for a 1:1 match.
    pub release_id: Option<Uuid>,
    /// Barge or Rail (int or name).
    pub means_of_transport: ModeOfTransport,
    /// The barge or rail operator.
    pub transport_operator: Identification,
    /// The carrier.
    pub carrier: Option<Identification>,
}

/// `POST /certified-pickup/v1/{locode}/validation/pickup/identification` -> `true | false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IdentificationValidationRequest {
    /// `Alfapass` in the Port of Antwerp.
    pub identification_type: IdentificationType,
    /// The Alfapass number.
    pub identification_code: String,
}

/// `POST /certified-pickup/v1/{locode}/validation/ownership/truck` (synchronous).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TruckOwnershipValidationRequest {
    /// UN/LOCODE of the port.
    pub port_lo_code: Option<String>,
    /// NxtEntityId of the transport operator to check (must have that role).
    pub owner_nxt_entity_id: String,
    /// When given, the Alfapass is validated too.
    pub alfapass_number: Option<String>,
    /// Container number.
    pub equipment_number: String,
}

/// One light in a synchronous validation answer (NxtPort `GreenLightResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GreenLightResult {
    /// e.g. `CommercialRelease`, `Customs`, `TerminalOperation`.
    pub green_light_name: String,
    /// e.g. `OK`, `RELEASED`, `DISCHARGED`.
    pub green_light_value: String,
    /// Colour of the light.
    pub green_light_color: LightColor,
}

/// Validation result of one container (NxtPort `ReleaseRightPickupIdentifierResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PickupValidationResult {
    /// May this party pick the container up now.
    pub is_valid: bool,
    /// Why not (one string, as NxtPort has it); empty when valid.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_messages: String,
    /// Overall status: RELEASED, BLOCKED, SELECTEDFORSCAN, FAVV, TRANSHIPMENT, PORTEQUALISATION, ...
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// Every light of the container.
    #[serde(default, deserialize_with = "null_as_default")]
    pub green_lights: Vec<GreenLightResult>,
    /// Container number.
    pub equipment_number: String,
    /// Bills of lading.
    #[serde(default, deserialize_with = "null_as_default")]
    pub bill_of_lading_numbers: Vec<String>,
}

/// 200 answer of the truck sync validation (NxtPort `AlfapassPickupValidationResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TruckPickupValidationResponse {
    /// The Alfapass that was checked.
    pub alfapass_number: String,
    /// One result per container asked.
    #[serde(default, deserialize_with = "null_as_default")]
    pub release_identification: Vec<PickupValidationResult>,
}

/// 200 answer of the barge/rail sync validation (v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BargeRailPickupValidationResponse {
    /// The operator that was checked.
    pub transport_operator: Identification,
    /// The result for the container asked.
    #[serde(default, deserialize_with = "null_as_default")]
    pub release_identification: Vec<PickupValidationResult>,
}

/// 200 answer of the truck release-right validation.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TruckOwnershipValidationResponse {
    /// Does this transport operator hold the release right.
    pub is_valid: bool,
    /// Every reason it does not.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_messages: Vec<String>,
    /// The queried operator.
    pub owner_nxt_entity_id: String,
    /// The queried Alfapass.
    pub alfapass_number: Option<String>,
    /// Container number.
    pub equipment_number: String,
    /// The release right found.
    pub release_id: Option<Uuid>,
}

//! Release-right actions (shipping agent and release parties) and pickup rights (transport
//! operator).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::Identification;
use crate::enums::{ActionType, IdentificationType, PartyType, PickupRightActionType};
use crate::time::lenient_utc;

/// `PUT /certified-pickup/v1/{locode}/containers/{equipment}/import/release-rights`
/// (NxtPort `ReleaseRightAction`), used by the shipping agent and the release parties.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRightActionRequest {
    /// The agent's release reference.
    pub release_identification: Option<String>,
    /// Terminal the container is released at.
    pub terminal_code: Option<String>,
    /// Release, Transfer, Accept, Decline, Revoke, Block, Unblock, Update or Delete.
    pub action_type: ActionType,
    /// Free text reason.
    pub reason_for_action: Option<String>,
    /// Bills of lading.
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// Current holder handing the right on.
    pub release_from: Option<Identification>,
    /// Next holder.
    pub release_to: Option<Identification>,
    /// The carrier.
    pub carrier: Option<Identification>,
    /// When the release was given (UTC).
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub release_date_time_utc: Option<DateTime<Utc>>,
    /// Expiry (UTC); default 60 days after the release.
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub expiration_date_time_utc: Option<DateTime<Utc>>,
    /// Start of validity (UTC).
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub valid_from: Option<DateTime<Utc>>,
    /// Container number (also in the path).
    pub equipment_number: Option<String>,
    /// UN/LOCODE (also in the path).
    pub port_lo_code: Option<String>,
    /// Extension: target one release right when a container has several.
    pub release_id: Option<Uuid>,
}

/// Who picks a container up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PickupParty {
    /// Truck, Rail or Barge.
    pub party_type: PartyType,
    /// `Alfapass` for a truck driver, otherwise an identification type.
    pub identification_type: IdentificationType,
    /// The Alfapass number or the party's identifier.
    pub identification_code: String,
}

/// `PUT /certified-pickup/v1/{locode}/containers/{equipment}/import/pickup-rights`
/// (NxtPort `SubmitPickupRight`), used by the transport operator.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubmitPickupRightRequest {
    /// Terminal code.
    pub terminal_code: Option<String>,
    /// Bills of lading.
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// The agent's release reference.
    pub release_identification: Option<String>,
    /// Who picks up.
    pub pickup_party: PickupParty,
    /// When (UTC).
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub timestamp: Option<DateTime<Utc>>,
    /// Assign, Update or Revoke.
    pub action_type: PickupRightActionType,
    /// Container number (also in the path).
    pub equipment_number: Option<String>,
    /// UN/LOCODE (also in the path).
    pub port_lo_code: Option<String>,
    /// Extension: target one release right when a container has several.
    pub release_id: Option<Uuid>,
}

/// Identifies a release right by container (NxtPort `ReleaseRightIdentifier`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRightIdentifier {
    /// Bills of lading.
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// Container number.
    pub equipment_number: String,
    /// The agent's release reference.
    pub release_identification: Option<String>,
}

/// `PUT /certified-pickup/v1/pickup-rights/barge-rail` (NxtPort `SubmitBargeRailPickupRight`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubmitBargeRailPickupRightRequest {
    /// Terminal code.
    pub terminal_code: Option<String>,
    /// The release right.
    pub release_identifier: ReleaseRightIdentifier,
    /// NxtEntityId of the barge or rail operator (data broker) that picks up.
    pub data_broker_nxt_entity_id: String,
    /// Assign, Update or Revoke.
    pub action_type: PickupRightActionType,
    /// Extension (the path has no LoCode): UN/LOCODE of the port.
    pub port_lo_code: Option<String>,
    /// Extension: target one release right when a container has several.
    pub release_id: Option<Uuid>,
}

//! The release detail (NxtPort `TerminalReleaseRightDetailResponse`): the body of a
//! `GetReleaseDetail` notification and of the terminal operator's release-right lookup.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::null_as_default;
use crate::enums::{LightColor, ModeOfTransport};
use crate::time::lenient_utc;

/// A light in a release detail (NxtPort `GreenLightShortInfo`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GreenLightShortInfo {
    /// Light name.
    pub green_light_name: String,
    /// Light value.
    pub green_light_value: String,
    /// Colour.
    pub color: LightColor,
    /// Display label.
    pub label: Option<String>,
    /// Last change (UTC).
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub date_last_updated: Option<DateTime<Utc>>,
}

/// A company as shown in a release detail (NxtPort `IdentificationEntity`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IdentificationEntity {
    /// Name.
    pub name: Option<String>,
    /// NxtEntityId.
    pub nxt_entity_id: Option<String>,
    /// DUNS.
    pub duns: Option<String>,
    /// EORI.
    pub eori: Option<String>,
    /// VAT.
    pub vat: Option<String>,
    /// SCAC.
    pub scac: Option<String>,
    /// APCS.
    pub apcs: Option<String>,
    /// External id.
    pub external_id: Option<String>,
    /// Uses an alternative system.
    pub is_alternative_system: Option<bool>,
    /// CPu roles.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cpu_roles: Vec<String>,
}

/// The body of a `GetReleaseDetail` notification (NxtPort `TerminalReleaseRightDetailResponse`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDetail {
    /// The release right.
    pub release_id: Option<Uuid>,
    /// Container number.
    pub equipment_number: String,
    /// The agent's release reference.
    pub release_identification: Option<String>,
    /// Bills of lading, as one string (NxtPort's type).
    pub bill_of_lading_numbers: Option<String>,
    /// Release order reference.
    pub release_order_reference: Option<String>,
    /// Empty return reference.
    pub empty_return_reference: Option<String>,
    /// Terminal name.
    pub terminal_name: Option<String>,
    /// Terminal code.
    pub terminal_code: Option<String>,
    /// UN/LOCODE.
    pub port_lo_code: Option<String>,
    /// Every light.
    #[serde(default, deserialize_with = "null_as_default")]
    pub lights: Vec<GreenLightShortInfo>,
    /// Extension (not in NxtPort's schema): the overall status the lights give, e.g. `RELEASED`.
    pub status: Option<String>,
    /// Release time (UTC).
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub release_date_time_utc: Option<DateTime<Utc>>,
    /// Expiry (UTC).
    #[serde(default, with = "lenient_utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub expiration_date_time_utc: Option<DateTime<Utc>>,
    /// Shipping agent.
    pub shipping_agent_name: Option<String>,
    /// Alfapass encrypted with the terminal's public key.
    pub encrypted_alfapass_number: Option<String>,
    /// Transport operator holding the pickup right.
    pub transport_operator: Option<IdentificationEntity>,
    /// Means of transport.
    pub means_of_transport: Option<ModeOfTransport>,
    /// Reference of the request.
    pub public_reference_id: Option<String>,
    /// Echo of `External-Reference-Id`.
    pub external_reference_id: Option<String>,
}

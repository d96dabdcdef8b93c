//! Query strings of the `GET` calls: release detail, company registry, notifications.

use serde::{Deserialize, Serialize};

use crate::enums::NotificationEvent;

/// Query of `GET /certified-pickup/v1/{locode}/containers/import/release-rights/{equipment}`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReleaseDetailQuery {
    /// Bills of lading, comma separated (`style: form, explode: false`).
    pub bill_of_lading_numbers: Option<String>,
    /// The agent's release reference.
    pub release_identification: Option<String>,
}

/// Query of `GET /certified-pickup/v1/entities` (company registry). At least one filter;
/// filters are ANDed. ASP.NET binds query names case-insensitively: the seed's spelling is
/// written, the OpenAPI's (`Eori`, `EntityName`, ...) and lower case are read too.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EntitySearchQuery {
    /// EORI number.
    #[serde(rename = "EORI", alias = "Eori", alias = "eori", default)]
    pub eori: Option<String>,
    /// DUNS number.
    #[serde(rename = "DUNS", alias = "Duns", alias = "duns", default)]
    pub duns: Option<String>,
    /// VAT number.
    #[serde(rename = "VAT", alias = "Vat", alias = "vat", default)]
    pub vat: Option<String>,
    /// NxtEntityId.
    #[serde(
        rename = "NxtEntityId",
        alias = "nxtEntityId",
        alias = "nxtentityid",
        default
    )]
    pub nxt_entity_id: Option<String>,
    /// (Part of) the company name.
    #[serde(
        rename = "entityName",
        alias = "EntityName",
        alias = "entityname",
        default
    )]
    pub entity_name: Option<String>,
    /// APCS code.
    #[serde(rename = "apcsCode", alias = "ApcsCode", alias = "apcscode", default)]
    pub apcs_code: Option<String>,
    /// Page, from 1 (default 1).
    #[serde(rename = "page", alias = "Page", default)]
    pub page: Option<u32>,
    /// Page size (default 25).
    #[serde(rename = "pageSize", alias = "PageSize", alias = "pagesize", default)]
    pub page_size: Option<u32>,
}

/// Query of `GET /certified-pickup/v1/notifications`. At least one filter; ANDed.
/// `storedOn`, `timeWindowFrom` and `timeWindowTo` stay text: the handler parses them and
/// answers with the field's name when they are wrong.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct NotificationsQuery {
    /// Event of the notification.
    #[serde(rename = "notificationEvent", alias = "NotificationEvent", default)]
    pub notification_event: Option<NotificationEvent>,
    /// Container number.
    #[serde(rename = "equipmentNumber", alias = "EquipmentNumber", default)]
    pub equipment_number: Option<String>,
    /// The GUID of the synchronous answer.
    #[serde(rename = "publicReferenceId", alias = "PublicReferenceId", default)]
    pub public_reference_id: Option<String>,
    /// The release right's id.
    #[serde(rename = "releaseId", alias = "ReleaseId", default)]
    pub release_id: Option<String>,
    /// ISO date or timestamp of creation.
    #[serde(rename = "storedOn", alias = "StoredOn", default)]
    pub stored_on: Option<String>,
    /// Start of a time window on the `storedOn` date, e.g. `07:30`.
    #[serde(rename = "timeWindowFrom", alias = "TimeWindowFrom", default)]
    pub time_window_from: Option<String>,
    /// End of the time window, e.g. `19:25`.
    #[serde(rename = "timeWindowTo", alias = "TimeWindowTo", default)]
    pub time_window_to: Option<String>,
}

//! The CPu wire contract: request and response bodies of NxtPort's API, shared by the
//! simulator's HTTP face and the gateway's client so the two cannot drift.
//!
//! Rules that hold for every type here:
//! - JSON field names are NxtPort's camelCase (OAuth types: RFC 6749 snake_case).
//! - Optional fields are `Option` and are omitted when `None`.
//! - No `deny_unknown_fields`: NxtPort's ASP.NET binder ignores unknown fields, so do we.
//! - Ids and codes stay `String`: parsing them into domain newtypes (ISO 6346 container
//!   numbers, UN/LOCODEs) is the job of the handler at the edge, which can then name the field.
//! - Timestamps are UTC. On input they are read leniently (see [`lenient_utc`]): RFC 3339 with
//!   any offset (converted to UTC) or without offset (taken as UTC, as .NET writes
//!   `DateTimeKind.Unspecified`); on output always RFC 3339 with `Z`.
//! - Response collections tolerate `null` (ASP.NET writes `null` for an empty list).
//! - Secrets (tokens, passwords) are [`Sensitive`]: their `Debug` is redacted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use super::enums::{
    ActionType, FullEmptyIndicator, IdentificationType, LightColor, ModeOfTransport,
    NotificationEvent, NotificationType, OperationType, PartyType, PickupRightActionType,
    TerminalReleaseActionType,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A string that must not be printed: `Debug` and `Display` show `[REDACTED]`. Serialized as the
/// plain string (it has to travel on the wire); read it with [`Sensitive::expose`].
/// Fields of this type carry `#[schema(value_type = String)]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where it is sent or compared.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl std::fmt::Display for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Sensitive {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Lenient UTC timestamps: RFC 3339 with any offset, or a naive `YYYY-MM-DDTHH:MM:SS[.f]`
/// taken as UTC. Serialized as RFC 3339 with `Z` and the fraction as given.
pub mod lenient_utc {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Parse one timestamp.
    /// Signed or more-than-four-digit years, leap seconds and years outside 1970..=9999 are
    /// refused ([`cpu_simulator::time_problem`]).
    pub fn parse(value: &str) -> Result<DateTime<Utc>, String> {
        let value = value.trim();
        let invalid = || {
            format!("invalid timestamp `{value}`: expected ISO 8601 in UTC, e.g. 2023-12-20T08:14:31.123Z")
        };
        // Four-digit year, then `-`: chrono's `%Y` would also take `+262142` or `-0001`.
        if !(value.len() > 4
            && value.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && value.as_bytes()[4] == b'-')
        {
            return Err(invalid());
        }
        let at = match DateTime::parse_from_rfc3339(value) {
            Ok(at) => at.with_timezone(&Utc),
            Err(_) => NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|naive| naive.and_utc())
                .map_err(|_| invalid())?,
        };
        match cpu_simulator::time_problem(at) {
            Some(problem) => Err(format!("invalid timestamp `{value}`: {problem}")),
            None => Ok(at),
        }
    }

    /// Format one timestamp: RFC 3339, `Z`, the fraction with trailing zeros trimmed (so
    /// `.123Z` stays `.123Z` and .NET's 7-digit `.1234567Z` stays as it is).
    pub fn format(at: &DateTime<Utc>) -> String {
        let base = at.format("%Y-%m-%dT%H:%M:%S").to_string();
        let nanos = at.timestamp_subsec_nanos();
        if nanos == 0 {
            return format!("{base}Z");
        }
        let fraction = format!("{nanos:09}");
        format!("{base}.{}Z", fraction.trim_end_matches('0'))
    }

    /// serde `serialize_with`.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(at))
    }

    /// serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse(&raw).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<DateTime<Utc>>` (use with `#[serde(default)]`).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        /// serde `serialize_with`.
        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// serde `deserialize_with`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                Some(raw) => super::parse(&raw)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}

/// `null` or missing -> `T::default()`; used for response collections and strings.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// A party identified by a type and a code (`carrier`, `transportOperator`, `releaseFrom`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identification {
    /// How the party is identified.
    pub identification_type: IdentificationType,
    /// The identifier of that type.
    pub identification_code: String,
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// `PUT /certified-pickup/v1/{locode}/containers/{equipment}/import/terminal-release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalReleaseRequest {
    /// Container number (ISO 6346).
    pub equipment_number: String,
    /// UN/LOCODE of the port, e.g. `BEANR`.
    pub port_lo_code: String,
    /// The terminal's own code as given to NxtPort at onboarding.
    pub terminal_code: String,
    /// Release (light GREEN), Scanning or Block (light RED).
    pub action_type: TerminalReleaseActionType,
    /// When the action happened (UTC).
    #[serde(with = "lenient_utc")]
    pub release_date_time_utc: DateTime<Utc>,
    /// The vessel stay number from the Port Authority (recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_number: Option<String>,
}

/// `POST /ingestion/v1/ingestion/{ingestionId}`: Discharge, GateIn or GateOut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestionRequest {
    /// UN/LOCODE of the port.
    pub port_lo_code: String,
    /// Container number (ISO 6346).
    pub equipment_number: String,
    /// `import` for import containers (on GateIn: Customs light PORTEQUALISATION, YELLOW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment_status: Option<String>,
    /// When the operation happened (UTC).
    #[serde(with = "lenient_utc")]
    pub timestamp: DateTime<Utc>,
    /// The terminal's own code.
    pub terminal_code: String,
    /// The vessel stay number (recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_number: Option<String>,
    /// Discharge, GateIn or GateOut.
    pub operation_type: OperationType,
    /// `full` or `empty` (discharge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_empty_indicator: Option<FullEmptyIndicator>,
    /// Bills of lading of the container (GateIn, GateOut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// How the container leaves the terminal (GateOut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode_of_transport: Option<ModeOfTransport>,
}

/// One container in a truck pickup validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PickupContainerIdentifier {
    /// Container number.
    pub equipment_number: String,
    /// Bills of lading of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// The carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Identification>,
}

/// `POST /certified-pickup/v1/{locode}/sync-validation/pickup/containers` (synchronous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TruckPickupValidationRequest {
    /// The driver's Alfapass number.
    pub alfapass_number: String,
    /// The containers to validate (NxtPort names the array `releaseIdentification`).
    pub release_identification: Vec<PickupContainerIdentifier>,
}

/// `POST /certified-pickup/v2/{locode}/sync-validation/pickup/barge-rail/containers` (synchronous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BargeRailPickupValidationRequest {
    /// Container number.
    pub equipment_number: String,
    /// Bills of lading; may be empty but must be present.
    pub bill_of_lading_numbers: Vec<String>,
    /// The release right, for a 1:1 match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
    /// Barge or Rail (int or name).
    pub means_of_transport: ModeOfTransport,
    /// The barge or rail operator.
    pub transport_operator: Identification,
    /// The carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Identification>,
}

/// `POST /certified-pickup/v1/{locode}/validation/pickup/identification` -> `true | false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentificationValidationRequest {
    /// `Alfapass` in the Port of Antwerp.
    pub identification_type: IdentificationType,
    /// The Alfapass number.
    pub identification_code: String,
}

/// `POST /certified-pickup/v1/{locode}/validation/ownership/truck` (synchronous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TruckOwnershipValidationRequest {
    /// UN/LOCODE of the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_lo_code: Option<String>,
    /// NxtEntityId of the transport operator to check (must have that role).
    pub owner_nxt_entity_id: String,
    /// When given, the Alfapass is validated too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alfapass_number: Option<String>,
    /// Container number.
    pub equipment_number: String,
}

/// `PUT /certified-pickup/v1/{locode}/containers/{equipment}/import/release-rights`
/// (NxtPort `ReleaseRightAction`), used by the shipping agent and the release parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRightActionRequest {
    /// The agent's release reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_identification: Option<String>,
    /// Terminal the container is released at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_code: Option<String>,
    /// Release, Transfer, Accept, Decline, Revoke, Block, Unblock, Update or Delete.
    pub action_type: ActionType,
    /// Free text reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_action: Option<String>,
    /// Bills of lading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// Current holder handing the right on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_from: Option<Identification>,
    /// Next holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_to: Option<Identification>,
    /// The carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Identification>,
    /// When the release was given (UTC).
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub release_date_time_utc: Option<DateTime<Utc>>,
    /// Expiry (UTC); default 60 days after the release.
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expiration_date_time_utc: Option<DateTime<Utc>>,
    /// Start of validity (UTC).
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub valid_from: Option<DateTime<Utc>>,
    /// Container number (also in the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment_number: Option<String>,
    /// UN/LOCODE (also in the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_lo_code: Option<String>,
    /// Extension: target one release right when a container has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
}

/// Who picks a container up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmitPickupRightRequest {
    /// Terminal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_code: Option<String>,
    /// Bills of lading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// The agent's release reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_identification: Option<String>,
    /// Who picks up.
    pub pickup_party: PickupParty,
    /// When (UTC).
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Assign, Update or Revoke.
    pub action_type: PickupRightActionType,
    /// Container number (also in the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment_number: Option<String>,
    /// UN/LOCODE (also in the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_lo_code: Option<String>,
    /// Extension: target one release right when a container has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
}

/// Identifies a release right by container (NxtPort `ReleaseRightIdentifier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRightIdentifier {
    /// Bills of lading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// Container number.
    pub equipment_number: String,
    /// The agent's release reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_identification: Option<String>,
}

/// `PUT /certified-pickup/v1/pickup-rights/barge-rail` (NxtPort `SubmitBargeRailPickupRight`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmitBargeRailPickupRightRequest {
    /// Terminal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_code: Option<String>,
    /// The release right.
    pub release_identifier: ReleaseRightIdentifier,
    /// NxtEntityId of the barge or rail operator (data broker) that picks up.
    pub data_broker_nxt_entity_id: String,
    /// Assign, Update or Revoke.
    pub action_type: PickupRightActionType,
    /// Extension (the path has no LoCode): UN/LOCODE of the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_lo_code: Option<String>,
    /// Extension: target one release right when a container has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
}

/// Query of `GET /certified-pickup/v1/{locode}/containers/import/release-rights/{equipment}`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams,
)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReleaseDetailQuery {
    /// Bills of lading, comma separated (`style: form, explode: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<String>,
    /// The agent's release reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_identification: Option<String>,
}

/// Query of `GET /certified-pickup/v1/entities` (company registry). At least one filter;
/// filters are ANDed. ASP.NET binds query names case-insensitively: the seed's spelling is
/// written, the OpenAPI's (`Eori`, `EntityName`, ...) and lower case are read too.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams,
)]
#[into_params(parameter_in = Query)]
pub struct EntitySearchQuery {
    /// EORI number.
    #[serde(
        rename = "EORI",
        alias = "Eori",
        alias = "eori",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub eori: Option<String>,
    /// DUNS number.
    #[serde(
        rename = "DUNS",
        alias = "Duns",
        alias = "duns",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub duns: Option<String>,
    /// VAT number.
    #[serde(
        rename = "VAT",
        alias = "Vat",
        alias = "vat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vat: Option<String>,
    /// NxtEntityId.
    #[serde(
        rename = "NxtEntityId",
        alias = "nxtEntityId",
        alias = "nxtentityid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub nxt_entity_id: Option<String>,
    /// (Part of) the company name.
    #[serde(
        rename = "entityName",
        alias = "EntityName",
        alias = "entityname",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entity_name: Option<String>,
    /// APCS code.
    #[serde(
        rename = "apcsCode",
        alias = "ApcsCode",
        alias = "apcscode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub apcs_code: Option<String>,
    /// Page, from 1 (default 1).
    #[serde(
        rename = "page",
        alias = "Page",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub page: Option<u32>,
    /// Page size (default 25).
    #[serde(
        rename = "pageSize",
        alias = "PageSize",
        alias = "pagesize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub page_size: Option<u32>,
}

/// Query of `GET /certified-pickup/v1/notifications`. At least one filter; ANDed.
/// `storedOn`, `timeWindowFrom` and `timeWindowTo` stay text: the handler parses them and
/// answers with the field's name when they are wrong.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams,
)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Event of the notification.
    #[serde(
        rename = "notificationEvent",
        alias = "NotificationEvent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub notification_event: Option<NotificationEvent>,
    /// Container number.
    #[serde(
        rename = "equipmentNumber",
        alias = "EquipmentNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_number: Option<String>,
    /// The GUID of the synchronous answer.
    #[serde(
        rename = "publicReferenceId",
        alias = "PublicReferenceId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub public_reference_id: Option<String>,
    /// The release right's id.
    #[serde(
        rename = "releaseId",
        alias = "ReleaseId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub release_id: Option<String>,
    /// ISO date or timestamp of creation.
    #[serde(
        rename = "storedOn",
        alias = "StoredOn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stored_on: Option<String>,
    /// Start of a time window on the `storedOn` date, e.g. `07:30`.
    #[serde(
        rename = "timeWindowFrom",
        alias = "TimeWindowFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub time_window_from: Option<String>,
    /// End of the time window, e.g. `19:25`.
    #[serde(
        rename = "timeWindowTo",
        alias = "TimeWindowTo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub time_window_to: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// 202 answer of every asynchronous call (NxtPort `BaseApiResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedResponse {
    /// GUID that the notifications answering this call will carry.
    pub public_reference_id: String,
    /// Echo of the caller's `External-Reference-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference_id: Option<String>,
}

/// RFC 7807 error body as ASP.NET writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// URI of the problem type.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Short summary.
    #[serde(default)]
    pub title: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// What went wrong, naming the field.
    #[serde(default)]
    pub detail: String,
    /// The request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Validation errors: field -> messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// Correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl ProblemDetails {
    /// A problem with the RFC 9110 section URI of its status as `type`.
    pub fn new(status: u16, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            type_: status_type_uri(status).to_owned(),
            title: title.into(),
            status,
            detail: detail.into(),
            instance: None,
            errors: None,
            trace_id: None,
        }
    }

    /// Add a validation error for `field`.
    pub fn with_field_error(
        mut self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        self.errors
            .get_or_insert_with(BTreeMap::new)
            .entry(field.into())
            .or_default()
            .push(message.into());
        self
    }

    /// Set `instance`.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
}

/// The `type` URI ASP.NET uses for a status (RFC 9110 sections).
pub fn status_type_uri(status: u16) -> &'static str {
    match status {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        403 => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
        404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        405 => "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        415 => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        422 => "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        500 => "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => "about:blank",
    }
}

/// One light in a synchronous validation answer (NxtPort `GreenLightResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TruckPickupValidationResponse {
    /// The Alfapass that was checked.
    pub alfapass_number: String,
    /// One result per container asked.
    #[serde(default, deserialize_with = "null_as_default")]
    pub release_identification: Vec<PickupValidationResult>,
}

/// 200 answer of the barge/rail sync validation (v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BargeRailPickupValidationResponse {
    /// The operator that was checked.
    pub transport_operator: Identification,
    /// The result for the container asked.
    #[serde(default, deserialize_with = "null_as_default")]
    pub release_identification: Vec<PickupValidationResult>,
}

/// 200 answer of the truck release-right validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alfapass_number: Option<String>,
    /// Container number.
    pub equipment_number: String,
    /// The release right found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
}

/// The filters echoed in a phone book answer (NxtPort `SearchEntityFilter`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchEntityFilter {
    /// EORI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// DUNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duns: Option<String>,
    /// VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<String>,
    /// NxtEntityId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nxt_entity_id: Option<String>,
    /// Name filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    /// APCS code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apcs_code: Option<String>,
    /// Page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// An address of a company (NxtPort `EntityAddressDto`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntityAddress {
    /// Address type code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type_code: Option<String>,
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Contact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// Contact e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

/// A company in the registry (NxtPort `PhoneBookItem`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneBookItem {
    /// APCS code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apcs_code: Option<String>,
    /// Addresses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: Vec<EntityAddress>,
    /// NxtEntityId.
    pub nxt_entity_id: String,
    /// Company name.
    pub name: String,
    /// VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<String>,
    /// DUNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duns: Option<String>,
    /// EORI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// SCAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scac: Option<String>,
    /// APCS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apcs: Option<String>,
}

/// 200 answer of the company registry (NxtPort `PhoneBookResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneBookResponse {
    /// The filters applied.
    #[serde(default)]
    pub search_filter: SearchEntityFilter,
    /// This page's companies.
    #[serde(default, deserialize_with = "null_as_default")]
    pub phone_book_items: Vec<PhoneBookItem>,
    /// Matches over all pages.
    #[serde(default)]
    pub total_rows: u32,
    /// Number of pages.
    #[serde(default)]
    pub total_pages: u32,
    /// Reference of this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_reference_id: Option<String>,
    /// Echo of `External-Reference-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference_id: Option<String>,
}

/// One stored notification in `GET /certified-pickup/v1/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDetail {
    /// Receiver.
    pub nxt_entity_id: String,
    /// Container number.
    pub equipment_number: String,
    /// The GUID of the call that caused it.
    pub public_reference_id: String,
    /// Echo of that call's `External-Reference-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference_id: Option<String>,
    /// When it was stored (UTC).
    #[serde(with = "lenient_utc")]
    pub stored_on: DateTime<Utc>,
    /// The serialized [`Notification`] envelope.
    pub message: String,
    /// Notification type.
    #[serde(rename = "type")]
    pub type_: NotificationType,
    /// Notification event.
    pub event: NotificationEvent,
    /// The release right it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
}

impl NotificationDetail {
    /// Parse [`Self::message`] into the envelope.
    pub fn notification(&self) -> Result<Notification, serde_json::Error> {
        serde_json::from_str(&self.message)
    }
}

/// The constant `assetId` of every CPu notification.
pub const CPU_ASSET_ID: &str = "00000000-0000-0001-0000-000000000037";

/// The notification envelope, POSTed to webhooks and stored as [`NotificationDetail::message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// [`CPU_ASSET_ID`] for CPu.
    pub asset_id: String,
    /// The container number.
    pub id: String,
    /// The GUID of the call that caused it.
    pub public_reference_id: String,
    /// Echo of that call's `External-Reference-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference_id: Option<String>,
    /// NxtEntityId of the receiver.
    pub receiver_id: String,
    /// NxtEntityId of the sender (null for system events).
    #[serde(default)]
    pub sender_id: Option<String>,
    /// When (UTC).
    #[serde(with = "lenient_utc")]
    pub timestamp: DateTime<Utc>,
    /// ReleaseRight, ReleaseLight or TerminalEvent.
    #[serde(rename = "type")]
    pub type_: NotificationType,
    /// The event.
    pub event: NotificationEvent,
    /// Errors (NotValidated, ThrownException).
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<serde_json::Value>,
    /// Warnings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub warnings: Vec<serde_json::Value>,
    /// Type-specific body.
    #[serde(default)]
    pub body: serde_json::Value,
}

/// A light in a release detail (NxtPort `GreenLightShortInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GreenLightShortInfo {
    /// Light name.
    pub green_light_name: String,
    /// Light value.
    pub green_light_value: String,
    /// Colour.
    pub color: LightColor,
    /// Display label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Last change (UTC).
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub date_last_updated: Option<DateTime<Utc>>,
}

/// A company as shown in a release detail (NxtPort `IdentificationEntity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentificationEntity {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// NxtEntityId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nxt_entity_id: Option<String>,
    /// DUNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duns: Option<String>,
    /// EORI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<String>,
    /// SCAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scac: Option<String>,
    /// APCS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apcs: Option<String>,
    /// External id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Uses an alternative system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_alternative_system: Option<bool>,
    /// CPu roles.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cpu_roles: Vec<String>,
}

/// The body of a `GetReleaseDetail` notification (NxtPort `TerminalReleaseRightDetailResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDetail {
    /// The release right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Uuid>,
    /// Container number.
    pub equipment_number: String,
    /// The agent's release reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_identification: Option<String>,
    /// Bills of lading, as one string (NxtPort's type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_of_lading_numbers: Option<String>,
    /// Release order reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_order_reference: Option<String>,
    /// Empty return reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_return_reference: Option<String>,
    /// Terminal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_name: Option<String>,
    /// Terminal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_code: Option<String>,
    /// UN/LOCODE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_lo_code: Option<String>,
    /// Every light.
    #[serde(default, deserialize_with = "null_as_default")]
    pub lights: Vec<GreenLightShortInfo>,
    /// Release time (UTC).
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub release_date_time_utc: Option<DateTime<Utc>>,
    /// Expiry (UTC).
    #[serde(
        default,
        with = "lenient_utc::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expiration_date_time_utc: Option<DateTime<Utc>>,
    /// Shipping agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_agent_name: Option<String>,
    /// Alfapass encrypted with the terminal's public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_alfapass_number: Option<String>,
    /// Transport operator holding the pickup right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_operator: Option<IdentificationEntity>,
    /// Means of transport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub means_of_transport: Option<ModeOfTransport>,
    /// Reference of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_reference_id: Option<String>,
    /// Echo of `External-Reference-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// OAuth 2 (RFC 6749, snake_case)
// ---------------------------------------------------------------------------------------------

/// Form body of `POST /connect/token`. `grant_type` stays text so that an unknown grant is
/// answered with RFC 6749 `unsupported_grant_type`, not a parse error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// Resource owner (password grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Resource owner's password (password grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Sensitive>,
    /// Client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Sensitive>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Refresh token (refresh_token grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<Sensitive>,
}

/// 200 answer of the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token.
    #[schema(value_type = String)]
    pub access_token: Sensitive,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Token for the refresh_token grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<Sensitive>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Error answer of the token endpoint (RFC 6749 section 5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`.
    pub error: String,
    /// Human text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            error_description: Some(description.into()),
        }
    }
}

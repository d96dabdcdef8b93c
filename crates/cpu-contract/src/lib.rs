//! The NxtPort Certified Pick-up (CPu) wire contract, shared by every side of the wire: the
//! simulator core builds what it emits from these types, the simulator's HTTP face answers with
//! them, and the gateway's NxtPort client sends and parses them. A field added here is seen by
//! all of them, so they cannot drift.
//!
//! Rules that hold for every type here:
//! - JSON field names are NxtPort's camelCase (OAuth types: RFC 6749 snake_case).
//! - Optional request/response fields are `Option` and are omitted when `None`
//!   (`serde_with::skip_serializing_none`); notification bodies write `null` where CPu does.
//! - No `deny_unknown_fields`: NxtPort's ASP.NET binder ignores unknown fields, so do we (the
//!   contract test parses strictly on its own).
//! - Ids and codes stay `String`: parsing them into domain newtypes (ISO 6346 container
//!   numbers, UN/LOCODEs) is the job of the handler at the edge, which can then name the field.
//! - Timestamps are UTC, read leniently and written as RFC 3339 with `Z` ([`time::lenient_utc`]).
//! - Response collections tolerate `null` (ASP.NET writes `null` for an empty list).
//! - Secrets (tokens, passwords) are [`Sensitive`]: their `Debug` is redacted.
//!
//! No HTTP stack here: the crate depends on serde, chrono and uuid only, and on utoipa behind
//! the `openapi` feature.

mod common;
pub mod enums;
mod notification;
mod notification_body;
mod oauth;
pub mod paths;
mod problem;
mod queries;
mod registry;
mod release_detail;
mod rights;
mod terminal;
pub mod time;
mod validation;
pub mod wire_enum;

pub use common::{AcceptedResponse, Identification, Sensitive};
pub use enums::{
    ActionType, FullEmptyIndicator, IdentificationType, LightColor, ModeOfTransport,
    NotificationEvent, NotificationType, OperationType, PartyType, PickupRightActionType,
    ReleaseRightStatus, TerminalReleaseActionType,
};
pub use notification::{Notification, NotificationDetail, CPU_ASSET_ID};
pub use notification_body::{
    BodyKind, ContainerBody, GateOutBody, LightChangedBody, LightSubject, NotValidatedBody,
    NotificationBody, NotifiedParty, PickupRightBody, RegisteredBody, ReleaseRightActionBody,
    ReleaseRightBody,
};
pub use oauth::{OAuthError, TokenRequest, TokenResponse};
pub use paths::{EXTERNAL_REFERENCE_ID, SUBSCRIPTION_KEY_HEADER, SUBSCRIPTION_KEY_QUERY};
pub use problem::{status_type_uri, ProblemDetails};
pub use queries::{EntitySearchQuery, NotificationsQuery, ReleaseDetailQuery};
pub use registry::{EntityAddress, PhoneBookItem, PhoneBookResponse, SearchEntityFilter};
pub use release_detail::{GreenLightShortInfo, IdentificationEntity, ReleaseDetail};
pub use rights::{
    PickupParty, ReleaseRightActionRequest, ReleaseRightIdentifier,
    SubmitBargeRailPickupRightRequest, SubmitPickupRightRequest,
};
pub use terminal::{IngestionRequest, TerminalReleaseRequest};
pub use time::lenient_utc;
pub use validation::{
    BargeRailPickupValidationRequest, BargeRailPickupValidationResponse, GreenLightResult,
    IdentificationValidationRequest, PickupContainerIdentifier, PickupValidationResult,
    TruckOwnershipValidationRequest, TruckOwnershipValidationResponse,
    TruckPickupValidationRequest, TruckPickupValidationResponse,
};

#[cfg(test)]
mod tests;

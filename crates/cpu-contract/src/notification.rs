//! Notifications: the envelope CPu POSTs to webhooks and stores, and one stored notification
//! as the polling endpoint lists it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::null_as_default;
use crate::enums::{NotificationEvent, NotificationType};
use crate::notification_body::NotificationBody;
use crate::time::lenient_utc;

/// One stored notification in `GET /certified-pickup/v1/notifications`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotificationDetail {
    /// Receiver.
    pub nxt_entity_id: String,
    /// Container number.
    pub equipment_number: String,
    /// The GUID of the call that caused it.
    pub public_reference_id: String,
    /// Echo of that call's `External-Reference-Id`.
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
///
/// `B` is the body: the simulator writes a typed [`NotificationBody`]; a reader takes the
/// default `serde_json::Value` (NxtPort may send shapes this contract does not know) and reads it
/// with [`Notification::typed_body`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notification<B = serde_json::Value> {
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
    /// When (UTC), written .NET style with seven fraction digits.
    #[serde(with = "lenient_utc::ticks")]
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
    /// Type-specific body; its shape follows `event` ([`NotificationBody`]).
    pub body: B,
}

impl Notification<serde_json::Value> {
    /// The body read into the shape of this notification's event.
    pub fn typed_body(&self) -> Result<NotificationBody, serde_json::Error> {
        NotificationBody::from_event(self.event, self.body.clone())
    }
}

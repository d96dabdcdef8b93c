//! The `body` of a notification: one typed struct per shape, chosen by the notification's
//! `event` ([`NotificationBody::from_event`]).
//!
//! NxtPort's OpenAPI describes only the envelope (`NotificationDetail.message` is a string); the
//! shapes here are the ones the simulator sends, after the reference notes (section 2.1). A
//! field added to one of these structs must be filled wherever the simulator builds it (no
//! `Default` there), so the compiler lists every place that has to handle it.
//!
//! Fields that are `Option` without `skip` are written as `null` when unknown, as CPu does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{
    ActionType, ModeOfTransport, NotificationEvent, PartyType, PickupRightActionType,
    ReleaseRightStatus,
};
use crate::release_detail::ReleaseDetail;
use crate::time::lenient_utc;

/// A company as a notification body names it (`sender`, `releaseFrom`, `currentHolder`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotifiedParty {
    /// NxtEntityId.
    pub nxt_entity_id: String,
    /// Company name.
    pub name: Option<String>,
    /// EORI.
    pub eori: Option<String>,
    /// Tax id.
    pub tin: Option<String>,
    /// APCS code.
    pub apcs: Option<String>,
    /// DUNS.
    pub duns: Option<String>,
    /// External id.
    pub external_id: Option<String>,
}

/// The container a notification is about, when no release right is (archive, gate out, light
/// changes before the commercial release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContainerBody {
    /// UN/LOCODE.
    pub port_lo_code: String,
    /// Container number.
    pub equipment_number: String,
    /// The terminal that reported the container.
    pub terminal_code: Option<String>,
    /// Bills of lading known for the stay.
    pub bill_of_lading_numbers: Vec<String>,
    /// The vessel stay number.
    pub stay_number: Option<String>,
}

/// One release right as notifications show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRightBody {
    /// The carrier.
    pub carrier: Option<NotifiedParty>,
    /// Terminal the container is released at.
    pub terminal_code: String,
    /// UN/LOCODE.
    pub port_lo_code: String,
    /// Container number.
    pub equipment_number: String,
    /// Bills of lading of the right.
    pub bill_of_lading_numbers: Vec<String>,
    /// The agent's release reference.
    pub release_identification: Option<String>,
    /// The release right.
    pub release_id: Uuid,
    /// Release time (UTC).
    #[serde(with = "lenient_utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = DateTime<Utc>))]
    pub release_date_time_utc: DateTime<Utc>,
    /// Expiry (UTC).
    #[serde(with = "lenient_utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = DateTime<Utc>))]
    pub expiration_date_time_utc: DateTime<Utc>,
    /// The shipping agent that released.
    pub release_from: NotifiedParty,
    /// The last party the right was handed to.
    pub release_to: Option<NotifiedParty>,
    /// The party holding the right now.
    pub current_holder: NotifiedParty,
    /// Lifecycle state.
    pub release_right_status: ReleaseRightStatus,
    /// Who picks up, once a pickup right is assigned.
    pub means_of_transport: Option<PartyType>,
    /// The truck driver's Alfapass, masked.
    pub alfapass_number_mask: Option<String>,
}

/// A release-right action (Release, Transfer, Accept, ...): the right after it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRightActionBody {
    /// The right after the action.
    #[serde(flatten)]
    pub right: ReleaseRightBody,
    /// The caller's reason, when given.
    pub reason_for_action: Option<String>,
    /// The action.
    pub action_type: ActionType,
    /// Who acted.
    pub sender: NotifiedParty,
}

/// A pickup-right action (DigitalKeyCreated, DigitalKeyRevoked): the right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PickupRightBody {
    /// The right after the action.
    #[serde(flatten)]
    pub right: ReleaseRightBody,
    /// Assign, Update or Revoke.
    pub action_type: PickupRightActionType,
}

/// What a light change is about: the container's active (or last) release right, or the
/// container alone when it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LightSubject {
    /// A release right exists.
    Right(Box<ReleaseRightBody>),
    /// No release right yet.
    Container(ContainerBody),
}

/// A light changed (ReleaseLightChanged, TerminalRelease, TerminalBlocked, TerminalScan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LightChangedBody {
    /// The right or container.
    #[serde(flatten)]
    pub subject: LightSubject,
    /// The light (`CommercialRelease`, `Customs`, ...).
    pub green_light_name: String,
    /// Its value before.
    pub original_value: String,
    /// Its value now.
    pub new_value: String,
    /// The overall status now (RELEASED, BLOCKED, ...). Empty when absent: NxtPort's documented
    /// light-change example (reference notes, S2) has no `status`.
    #[serde(default)]
    pub status: String,
}

/// The container left the terminal (GateOut).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GateOutBody {
    /// The container.
    #[serde(flatten)]
    pub container: ContainerBody,
    /// How it left.
    #[serialize_always]
    pub mode_of_transport: Option<ModeOfTransport>,
    /// The overall status just before the gate out.
    pub status_at_gate_out: String,
    /// Set when the terminal let the container out although CPu did not allow it.
    pub terminal_overrule: Option<String>,
}

/// A terminal event registered before the commercial release (ReleaseLightRegistered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RegisteredBody {
    /// Container number.
    pub equipment_number: String,
    /// UN/LOCODE.
    pub port_lo_code: String,
    /// The reporting terminal.
    pub terminal_code: String,
    /// The event (`Discharge`, `GateIn`, `GateOut`, `Release`, `Scanning`, `Block`).
    pub operation_type: String,
    /// `WaitingForCommercialRelease`.
    pub status: String,
    /// Human text.
    pub message: String,
}

/// A request CPu could not answer (NotValidated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotValidatedBody {
    /// Container number.
    pub equipment_number: String,
    /// UN/LOCODE.
    pub port_lo_code: String,
    /// Why.
    pub errors: Vec<String>,
}

/// The `body` of a notification. Serialized as the inner struct; read with
/// [`NotificationBody::from_event`], since the shape depends on the event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum NotificationBody {
    /// GetReleaseDetail.
    ReleaseDetail(ReleaseDetail),
    /// Release, Update, Delete, Block, Unblock, Revoke, Transferred, AcceptedByNextParty,
    /// DeclinedByNextParty, RevokedByPreviousParty.
    ReleaseRightAction(ReleaseRightActionBody),
    /// DigitalKeyCreated, DigitalKeyRevoked.
    PickupRight(PickupRightBody),
    /// ExpiredReleaseRights.
    ReleaseRight(ReleaseRightBody),
    /// ReleaseLightChanged, TerminalRelease, TerminalBlocked, TerminalScan.
    LightChanged(LightChangedBody),
    /// GateOut.
    GateOut(GateOutBody),
    /// InactiveReleaseRights.
    Container(ContainerBody),
    /// ReleaseLightRegistered.
    Registered(RegisteredBody),
    /// NotValidated.
    NotValidated(NotValidatedBody),
    /// An event the simulator does not send, or a body of a shape this contract does not know
    /// (as NxtPort may send): kept as it came.
    Other(serde_json::Value),
}

/// Which body an event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// [`NotificationBody::ReleaseDetail`].
    ReleaseDetail,
    /// [`NotificationBody::ReleaseRightAction`].
    ReleaseRightAction,
    /// [`NotificationBody::PickupRight`].
    PickupRight,
    /// [`NotificationBody::ReleaseRight`].
    ReleaseRight,
    /// [`NotificationBody::LightChanged`].
    LightChanged,
    /// [`NotificationBody::GateOut`].
    GateOut,
    /// [`NotificationBody::Container`].
    Container,
    /// [`NotificationBody::Registered`].
    Registered,
    /// [`NotificationBody::NotValidated`].
    NotValidated,
    /// No known shape: [`NotificationBody::Other`].
    Other,
}

impl BodyKind {
    /// The body shape of `event`. Exhaustive: a new event must be given its shape here.
    pub fn of(event: NotificationEvent) -> Self {
        use NotificationEvent as E;
        match event {
            E::GetReleaseDetail => Self::ReleaseDetail,
            E::Release
            | E::Update
            | E::Delete
            | E::Block
            | E::Unblock
            | E::Revoke
            | E::Transferred
            | E::DeclinedByNextParty
            | E::AcceptedByNextParty
            | E::RevokedByPreviousParty => Self::ReleaseRightAction,
            E::DigitalKeyCreated | E::DigitalKeyRevoked => Self::PickupRight,
            E::ExpiredReleaseRights => Self::ReleaseRight,
            E::ReleaseLightChanged | E::TerminalRelease | E::TerminalBlocked | E::TerminalScan => {
                Self::LightChanged
            }
            E::GateOut => Self::GateOut,
            E::InactiveReleaseRights => Self::Container,
            E::ReleaseLightRegistered => Self::Registered,
            E::NotValidated => Self::NotValidated,
            E::Unknown
            | E::ThrownException
            | E::GetPagedContainers
            | E::PickedUpByParty
            | E::GetAllReleaseLights
            | E::GetCombinedGreenLight
            | E::AlfapassPickUpValidation => Self::Other,
        }
    }
}

impl NotificationBody {
    /// Read the body of an `event` notification into its shape. `null` is
    /// [`NotificationBody::Other`]`(null)`; so is every body of a [`BodyKind::Other`] event.
    pub fn from_event(
        event: NotificationEvent,
        value: serde_json::Value,
    ) -> Result<Self, serde_json::Error> {
        use serde_json::from_value as read;
        if value.is_null() {
            return Ok(Self::Other(value));
        }
        Ok(match BodyKind::of(event) {
            BodyKind::ReleaseDetail => Self::ReleaseDetail(read(value)?),
            BodyKind::ReleaseRightAction => Self::ReleaseRightAction(read(value)?),
            BodyKind::PickupRight => Self::PickupRight(read(value)?),
            BodyKind::ReleaseRight => Self::ReleaseRight(read(value)?),
            BodyKind::LightChanged => Self::LightChanged(read(value)?),
            BodyKind::GateOut => Self::GateOut(read(value)?),
            BodyKind::Container => Self::Container(read(value)?),
            BodyKind::Registered => Self::Registered(read(value)?),
            BodyKind::NotValidated => Self::NotValidated(read(value)?),
            BodyKind::Other => Self::Other(value),
        })
    }

    /// The shape of this body.
    pub fn kind(&self) -> BodyKind {
        match self {
            Self::ReleaseDetail(_) => BodyKind::ReleaseDetail,
            Self::ReleaseRightAction(_) => BodyKind::ReleaseRightAction,
            Self::PickupRight(_) => BodyKind::PickupRight,
            Self::ReleaseRight(_) => BodyKind::ReleaseRight,
            Self::LightChanged(_) => BodyKind::LightChanged,
            Self::GateOut(_) => BodyKind::GateOut,
            Self::Container(_) => BodyKind::Container,
            Self::Registered(_) => BodyKind::Registered,
            Self::NotValidated(_) => BodyKind::NotValidated,
            Self::Other(_) => BodyKind::Other,
        }
    }

    /// The release right this body names, if any.
    pub fn release_id(&self) -> Option<Uuid> {
        match self {
            Self::ReleaseDetail(d) => d.release_id,
            Self::ReleaseRightAction(b) => Some(b.right.release_id),
            Self::PickupRight(b) => Some(b.right.release_id),
            Self::ReleaseRight(r) => Some(r.release_id),
            Self::LightChanged(LightChangedBody {
                subject: LightSubject::Right(r),
                ..
            }) => Some(r.release_id),
            Self::LightChanged(_)
            | Self::GateOut(_)
            | Self::Container(_)
            | Self::Registered(_)
            | Self::NotValidated(_) => None,
            Self::Other(v) => v
                .get("releaseId")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok()),
        }
    }
}

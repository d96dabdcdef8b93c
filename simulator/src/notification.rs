//! Notifications: what CPu tells each party after a change, and the log they are queried from.
//!
//! Envelope fields follow the reference notes section 2.1. The log keeps notifications for the
//! retention period (168 h by default) and indexes them by receiver, by container and by public
//! reference id, so a query costs the same with a thousand or a million containers.
//!
//! The log is compact (see `log.rs`): one record per change, shared by its receivers; a release
//! right in a body is kept by party ids and rendered into the contract's body, with each party's
//! block, when a notification is read.

use crate::ids::{
    EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode, UnLocode,
};
use crate::lights::{LightName, OverallStatus};
use crate::party::Party;
use crate::stay::{BillsOfLading, ModeOfTransport, PickupParty, TerminalAction};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use cpu_contract::{
    ActionType, ContainerBody, NotificationBody, NotifiedParty, PickupRightActionType,
    ReleaseRightStatus,
};
use std::sync::Arc;

pub use cpu_contract::{NotificationEvent, NotificationType, CPU_ASSET_ID};

/// One notification to one receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Position in the log (monotonic).
    pub seq: u64,
    /// When CPu stored it.
    pub stored_on: DateTime<Utc>,
    /// Who receives it.
    pub receiver: NxtEntityId,
    /// Who caused it, if a party did.
    pub sender: Option<NxtEntityId>,
    /// Reference of the call that caused it.
    pub public_reference_id: PublicReferenceId,
    /// The caller's own reference, echoed.
    pub external_reference_id: Option<Arc<str>>,
    /// Type.
    pub kind: NotificationType,
    /// Event.
    pub event: NotificationEvent,
    /// Container.
    pub equipment: Option<EquipmentNumber>,
    /// Release right concerned.
    pub release_id: Option<ReleaseId>,
    /// Type-specific body (shared by all receivers of one change).
    pub body: Arc<NotificationBody>,
    /// Errors (for NotValidated).
    pub errors: Vec<String>,
}

impl Notification {
    /// The notification as CPu sends it (webhook payload, `message` of the polling endpoint).
    pub fn envelope(&self) -> cpu_contract::Notification<Arc<NotificationBody>> {
        cpu_contract::Notification {
            asset_id: CPU_ASSET_ID.to_owned(),
            id: self
                .equipment
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            public_reference_id: self.public_reference_id.to_string(),
            external_reference_id: self.external_reference_id.as_deref().map(str::to_owned),
            receiver_id: self.receiver.as_str().to_owned(),
            sender_id: self.sender.as_ref().map(|s| s.as_str().to_owned()),
            timestamp: self.stored_on,
            type_: self.kind,
            event: self.event,
            errors: self
                .errors
                .iter()
                .map(|e| serde_json::Value::String(e.clone()))
                .collect(),
            warnings: Vec::new(),
            body: Arc::clone(&self.body),
        }
    }
}

/// Filters of `GET /notifications` (ANDed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotificationQuery {
    /// Event.
    pub event: Option<NotificationEvent>,
    /// Container.
    pub equipment: Option<EquipmentNumber>,
    /// Public reference id.
    pub public_reference_id: Option<PublicReferenceId>,
    /// Release right.
    pub release_id: Option<ReleaseId>,
    /// Day the notification was stored (UTC).
    pub stored_on: Option<NaiveDate>,
    /// Time window within `stored_on` (inclusive).
    pub window: Option<(NaiveTime, NaiveTime)>,
}

impl NotificationQuery {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.event.is_none()
            && self.equipment.is_none()
            && self.public_reference_id.is_none()
            && self.release_id.is_none()
            && self.stored_on.is_none()
    }
}

/// Why a notification query found nothing to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The notifications with that public reference id were sent to another company (403).
    #[error("the notification you requested was not sent to your company")]
    NotYours,
    /// Nothing matched (CPu answers 405).
    #[error("no matching notifications found, check your query parameters")]
    NoneMatch,
}

/// A release right as a notification body shows it, kept compact: the parties by id (their
/// blocks are added on read), rendered into the contract's `ReleaseRightBody`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RightView {
    pub(crate) carrier: Option<NxtEntityId>,
    pub(crate) terminal_code: TerminalCode,
    pub(crate) locode: UnLocode,
    pub(crate) equipment: EquipmentNumber,
    pub(crate) bill_of_lading_numbers: BillsOfLading,
    pub(crate) release_identification: Option<Box<str>>,
    pub(crate) release_id: ReleaseId,
    pub(crate) released_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) release_from: NxtEntityId,
    pub(crate) release_to: Option<NxtEntityId>,
    pub(crate) holder: NxtEntityId,
    pub(crate) status: ReleaseRightStatus,
    pub(crate) pickup: Option<PickupParty>,
}

/// What a light-changed notification is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Subject {
    /// The stay's active (else last) release right.
    Right(RightView),
    /// The container, when it has no release right.
    Container(ContainerBody),
}

/// A notification body as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StoredBody {
    /// `ReleaseRightBody` (expiry).
    Right(RightView),
    /// `ReleaseRightActionBody`.
    RightAction {
        right: RightView,
        reason: Option<String>,
        action_type: ActionType,
        sender: NxtEntityId,
    },
    /// `PickupRightBody`.
    Pickup {
        right: RightView,
        action_type: PickupRightActionType,
    },
    /// `LightChangedBody`.
    LightChanged {
        subject: Subject,
        name: LightName,
        original: &'static str,
        new: &'static str,
        status: OverallStatus,
    },
    /// `RegisteredBody`: a terminal event waiting for the commercial release.
    Registered {
        locode: UnLocode,
        equipment: EquipmentNumber,
        terminal_code: TerminalCode,
        action: TerminalAction,
    },
    /// `GateOutBody`.
    GateOut(Box<GateOutView>),
    /// Any other body, as rendered.
    Rendered(Box<NotificationBody>),
}

/// A container as a gate out body shows it (`ContainerBody`), kept compact.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GateOutView {
    pub(crate) locode: UnLocode,
    pub(crate) equipment: EquipmentNumber,
    pub(crate) terminal_code: Option<TerminalCode>,
    pub(crate) bill_of_lading_numbers: BillsOfLading,
    pub(crate) stay_number: Option<Box<str>>,
    pub(crate) mode_of_transport: Option<ModeOfTransport>,
    /// The overall status just before the gate out.
    pub(crate) status_before: OverallStatus,
}

impl From<NotificationBody> for StoredBody {
    fn from(body: NotificationBody) -> Self {
        StoredBody::Rendered(Box::new(body))
    }
}

/// A party as a notification body names it (`NotifiedParty`); `None`: a party the world does
/// not know (only its id).
pub(crate) fn notified_party(id: &NxtEntityId, p: Option<&Party>) -> NotifiedParty {
    let field = |f: fn(&Party) -> &Option<String>| p.and_then(|p| f(p).clone());
    NotifiedParty {
        nxt_entity_id: id.as_str().to_owned(),
        name: p.map(|p| p.name.clone()),
        eori: field(|p| &p.eori),
        tin: field(|p| &p.tin),
        apcs: field(|p| &p.apcs_code),
        duns: field(|p| &p.duns),
        external_id: None,
    }
}

/// An Alfapass number as bodies show it: all but its last two characters masked.
pub(crate) fn mask(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i + 2 >= n { c } else { '*' })
        .collect()
}

mod log;
pub use log::NotificationLog;

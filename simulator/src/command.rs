//! Commands (every change to a world), their outcome, and the errors they can meet.

use crate::ids::{
    AlfapassNumber, EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode,
    UnLocode,
};
use crate::lights::CustomsValue;
use crate::notification::Notification;
use crate::party::IdentificationType;
use crate::stay::{FullEmpty, ModeOfTransport, TerminalAction};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use cpu_contract::Identification;

/// Release-right actions: the contract's `ActionType` (Release, Update, Block, Unblock, Delete,
/// Revoke, Transfer, Accept, Decline), under the name the commands have always used.
pub use cpu_contract::ActionType as ReleaseAction;

/// Pickup-right actions: the contract's `PickupRightActionType` (Assign, Update, Revoke).
pub use cpu_contract::PickupRightActionType as PickupAction;

/// Who should pick up, as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickupTarget {
    /// A truck driver by Alfapass.
    Truck(AlfapassNumber),
    /// A barge operator.
    Barge(Identification),
    /// A rail operator.
    Rail(Identification),
}

/// Which release right a request means, when a container has several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RightSelector {
    /// By id.
    pub release_id: Option<ReleaseId>,
    /// By the agent's reference.
    pub release_identification: Option<String>,
}

/// A release right action with its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRightCommand {
    /// Action.
    pub action: ReleaseAction,
    /// Target right (when several).
    pub selector: RightSelector,
    /// Terminal (required for Release).
    pub terminal_code: Option<TerminalCode>,
    /// Bills of lading.
    pub bill_of_lading_numbers: Vec<String>,
    /// Next party (Release, Transfer, Update).
    pub release_to: Option<Identification>,
    /// Carrier.
    pub carrier: Option<Identification>,
    /// `releaseDateTimeUtc`.
    pub release_at: Option<DateTime<Utc>>,
    /// `expirationDateTimeUtc`.
    pub expires_at: Option<DateTime<Utc>>,
    /// `validFrom`.
    pub valid_from: Option<DateTime<Utc>>,
    /// `reasonForAction`.
    pub reason: Option<String>,
}

impl ReleaseRightCommand {
    /// A command with only the action set.
    pub fn new(action: ReleaseAction) -> Self {
        ReleaseRightCommand {
            action,
            selector: RightSelector::default(),
            terminal_code: None,
            bill_of_lading_numbers: Vec::new(),
            release_to: None,
            carrier: None,
            release_at: None,
            expires_at: None,
            valid_from: None,
            reason: None,
        }
    }
}

/// A terminal event as sent by a terminal operator.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalEventCommand {
    /// What happened.
    pub action: TerminalAction,
    /// Terminal code in the body.
    pub terminal_code: TerminalCode,
    /// `timestamp` / `releaseDateTimeUtc`.
    pub occurred_at: DateTime<Utc>,
    /// `equipmentStatus: import`.
    pub import: bool,
    /// `fullEmptyIndicator`.
    pub full_empty: Option<FullEmpty>,
    /// `modeOfTransport`.
    pub mode_of_transport: Option<ModeOfTransport>,
    /// `billOfLadingNumbers`.
    pub bill_of_lading_numbers: Vec<String>,
    /// `stayNumber`.
    pub stay_number: Option<String>,
}

/// What a command does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Terminal operator: discharge, gate in/out, terminal release/scanning/block.
    Terminal(TerminalEventCommand),
    /// Shipping agent / release parties.
    ReleaseRight(ReleaseRightCommand),
    /// Transport operator: assign, update or revoke a pickup right.
    PickupRight {
        /// Action.
        action: PickupAction,
        /// Target right.
        selector: RightSelector,
        /// Who picks up (not needed for Revoke).
        target: Option<PickupTarget>,
    },
    /// Ask for the release detail (answered by a GetReleaseDetail notification).
    RequestReleaseDetail,
    /// Customs: set the customs light (control API).
    SetCustoms(CustomsValue),
}

/// One change to the world.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A party acts on a container.
    Act {
        /// The caller (resolved from its credentials by the HTTP face).
        caller: NxtEntityId,
        /// Port.
        locode: UnLocode,
        /// Container.
        equipment: EquipmentNumber,
        /// Caller's `External-Reference-Id`.
        external_reference_id: Option<Arc<str>>,
        /// What.
        action: Box<Action>,
    },
    /// Move the virtual clock forward and fire what falls due.
    AdvanceClock {
        /// Seconds (>= 0).
        seconds: i64,
    },
    /// Fire what fell due on the real clock.
    Tick,
}

/// What a command caused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Reference of the call (None for the clock).
    pub public_reference_id: Option<PublicReferenceId>,
    /// Notifications caused, in order (already stored in the log).
    pub notifications: Vec<Notification>,
}

/// Why a command was refused. The world is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The caller is not known in this world.
    #[error("unknown caller {0}")]
    UnknownCaller(String),
    /// The caller's role does not allow this action (CPu answers 401).
    #[error("{0}")]
    NotAllowed(String),
    /// The action does not fit the current state (CPu answers 400).
    #[error("{0}")]
    InvalidState(String),
    /// A field is invalid (CPu answers 400).
    #[error("{field}: {message}")]
    InvalidField {
        /// JSON field name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A referenced party is unknown (400).
    #[error("{field}: no party with {kind:?} '{code}'")]
    UnknownParty {
        /// JSON field name.
        field: &'static str,
        /// Kind of identification.
        kind: IdentificationType,
        /// The code.
        code: String,
    },
    /// The container has no stay (400).
    #[error("container {0} is unknown in CPu")]
    UnknownContainer(String),
    /// The clock cannot go back.
    #[error("the clock can only move forward")]
    ClockBackwards,
}

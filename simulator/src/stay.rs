//! A container stay, its release rights (with their chain of stakeholders) and pickup rights.

use crate::ids::{
    AlfapassNumber, EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode,
    UnLocode,
};
use crate::lights::{CommercialReleaseValue, Lights};
use chrono::{DateTime, Utc};
use cpu_contract::{
    IdentificationType, OperationType, PartyType, ReleaseRightStatus, TerminalReleaseActionType,
};
use serde::Serialize;
use std::sync::Arc;

/// Identity of an active stay: one container in one port at a time.
pub type StayKey = (UnLocode, EquipmentNumber);

/// Bits of a packed container number ([`EquipmentNumber::packed`] is below 2^36).
const EQUIPMENT_BITS: u32 = 36;

/// A stay key packed in 61 bits: the port's 25 bits above the container's 36.
pub(crate) fn pack_key((locode, equipment): StayKey) -> u64 {
    (u64::from(locode.packed()) << EQUIPMENT_BITS) | equipment.packed()
}

/// The stay key [`pack_key`] gave, or `None` for a value it cannot give.
pub(crate) fn unpack_key(v: u64) -> Option<StayKey> {
    let locode = UnLocode::from_packed(u32::try_from(v >> EQUIPMENT_BITS).ok()?)?;
    let equipment = EquipmentNumber::from_packed(v & ((1 << EQUIPMENT_BITS) - 1))?;
    Some((locode, equipment))
}

pub use cpu_contract::ModeOfTransport;

/// A terminal event (ingestion or terminal release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TerminalAction {
    /// Discharged from the vessel.
    Discharge,
    /// Arrived from another terminal.
    GateIn,
    /// Left the terminal: finalises the stay.
    GateOut,
    /// Terminal release.
    Release,
    /// Terminal release subject to scanning.
    Scanning,
    /// Terminal block.
    Block,
}

impl From<OperationType> for TerminalAction {
    fn from(op: OperationType) -> Self {
        match op {
            OperationType::Discharge => Self::Discharge,
            OperationType::GateIn => Self::GateIn,
            OperationType::GateOut => Self::GateOut,
        }
    }
}

impl From<TerminalReleaseActionType> for TerminalAction {
    fn from(action: TerminalReleaseActionType) -> Self {
        match action {
            TerminalReleaseActionType::Release => Self::Release,
            TerminalReleaseActionType::Scanning => Self::Scanning,
            TerminalReleaseActionType::Block => Self::Block,
        }
    }
}

impl TerminalAction {
    /// Name as in the request (`operationType` / `actionType`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discharge => "Discharge",
            Self::GateIn => "GateIn",
            Self::GateOut => "GateOut",
            Self::Release => "Release",
            Self::Scanning => "Scanning",
            Self::Block => "Block",
        }
    }
}

/// Full or empty: the contract's `fullEmptyIndicator` (`full` / `empty` on the wire), under the
/// name the commands have always used.
pub use cpu_contract::FullEmptyIndicator as FullEmpty;

/// Bills of lading, kept once and shared: a stay, its release rights and their notifications
/// mostly name the same list, and a million stays would otherwise keep three or four copies
/// each. Reads as a slice; an empty list allocates nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillsOfLading(Option<Arc<[String]>>);

impl From<Vec<String>> for BillsOfLading {
    fn from(list: Vec<String>) -> Self {
        BillsOfLading((!list.is_empty()).then(|| list.into()))
    }
}

impl std::ops::Deref for BillsOfLading {
    type Target = [String];

    fn deref(&self) -> &[String] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl Serialize for BillsOfLading {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

/// A terminal event as received, kept while it waits for the commercial release.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalEvent {
    /// What happened.
    pub action: TerminalAction,
    /// Sending terminal.
    pub terminal: NxtEntityId,
    /// Terminal code in the request.
    pub terminal_code: TerminalCode,
    /// Event time given by the terminal.
    pub occurred_at: DateTime<Utc>,
    /// `equipmentStatus: import`.
    pub import: bool,
    /// `fullEmptyIndicator`.
    pub full_empty: Option<FullEmpty>,
    /// `modeOfTransport` (gate out).
    pub mode_of_transport: Option<ModeOfTransport>,
    /// `billOfLadingNumbers`.
    pub bill_of_lading_numbers: Vec<String>,
    /// `stayNumber`.
    pub stay_number: Option<String>,
    /// Reference of the call.
    pub public_reference_id: PublicReferenceId,
    /// Caller's reference.
    #[serde(skip)]
    pub external_reference_id: Option<std::sync::Arc<str>>,
}

/// Whether a stakeholder has accepted the right handed to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StakeholderState {
    /// Handed over, not yet accepted.
    Pending,
    /// Accepted: this stakeholder holds the right.
    Accepted,
}

/// One link of the release right chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stakeholder {
    /// The party.
    pub party: NxtEntityId,
    /// Pending or accepted.
    pub state: StakeholderState,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// Who may pick up the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all_fields = "camelCase", tag = "partyType")]
pub enum PickupParty {
    /// A truck driver, by Alfapass.
    Truck {
        /// The driver's Alfapass.
        alfapass_number: AlfapassNumber,
    },
    /// A barge operator.
    Barge {
        /// The operator.
        nxt_entity_id: NxtEntityId,
    },
    /// A rail operator.
    Rail {
        /// The operator.
        nxt_entity_id: NxtEntityId,
    },
}

impl PickupParty {
    /// The contract's `partyType` of this party.
    pub fn party_type(&self) -> PartyType {
        match self {
            Self::Truck { .. } => PartyType::Truck,
            Self::Barge { .. } => PartyType::Barge,
            Self::Rail { .. } => PartyType::Rail,
        }
    }

    /// How this party takes the container away.
    pub fn mode_of_transport(&self) -> ModeOfTransport {
        match self {
            Self::Truck { .. } => ModeOfTransport::Truck,
            Self::Barge { .. } => ModeOfTransport::Barge,
            Self::Rail { .. } => ModeOfTransport::Rail,
        }
    }

    /// The party as the contract writes it (`partyType`, `identificationType`, `identificationCode`).
    pub fn to_contract(&self) -> cpu_contract::PickupParty {
        let (identification_type, code) = match self {
            Self::Truck { alfapass_number } => {
                (IdentificationType::Alfapass, alfapass_number.as_str())
            }
            Self::Barge { nxt_entity_id } | Self::Rail { nxt_entity_id } => {
                (IdentificationType::NxtEntityId, nxt_entity_id.as_str())
            }
        };
        cpu_contract::PickupParty {
            party_type: self.party_type(),
            identification_type,
            identification_code: code.to_owned(),
        }
    }
}

/// A pickup right: assigned by the transport operator holding the release right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupRight {
    /// Who picks up.
    pub party: PickupParty,
    /// Assigned by.
    pub assigned_by: NxtEntityId,
    /// When.
    pub assigned_at: DateTime<Utc>,
}

/// Lifecycle of a release right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RightState {
    /// In force.
    Active,
    /// Deleted by the shipping agent.
    Deleted,
    /// Past its expiration date.
    Expired,
    /// The stay was archived after gate out.
    Archived,
}

/// A release right of a container stay.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRight {
    /// `releaseId`.
    pub release_id: ReleaseId,
    /// Agent's reference (`releaseIdentification`).
    pub release_identification: Option<Box<str>>,
    /// The shipping agent that released.
    pub shipping_agent: NxtEntityId,
    /// Terminal named by the agent.
    pub terminal_code: TerminalCode,
    /// Bills of lading.
    pub bill_of_lading_numbers: BillsOfLading,
    /// Carrier.
    pub carrier: Option<NxtEntityId>,
    /// `releaseDateTimeUtc`.
    pub released_at: DateTime<Utc>,
    /// `validFrom`.
    pub valid_from: DateTime<Utc>,
    /// `expirationDateTimeUtc` (default: release + 60 days).
    pub expires_at: DateTime<Utc>,
    /// Chain of stakeholders after the agent, in order.
    pub chain: Vec<Stakeholder>,
    /// Blocked by the agent.
    pub blocked: bool,
    /// Lifecycle.
    pub state: RightState,
    /// Assigned pickup.
    pub pickup: Option<PickupRight>,
}

impl ReleaseRight {
    /// The party holding the right: the last accepted stakeholder, else the agent.
    pub fn holder(&self) -> &NxtEntityId {
        self.chain
            .iter()
            .rev()
            .find(|s| s.state == StakeholderState::Accepted)
            .map_or(&self.shipping_agent, |s| &s.party)
    }

    /// The stakeholder a transfer is pending for, if any.
    pub fn pending(&self) -> Option<&NxtEntityId> {
        self.chain
            .last()
            .filter(|s| s.state == StakeholderState::Pending)
            .map(|s| &s.party)
    }

    /// Whether `now` is within `validFrom..expiration`.
    pub fn in_window(&self, now: DateTime<Utc>) -> bool {
        self.valid_from <= now && now < self.expires_at
    }

    /// Status as CPu names it (`ReleaseRightStatus`).
    pub fn status(&self) -> ReleaseRightStatus {
        match self.state {
            RightState::Deleted => ReleaseRightStatus::Deleted,
            RightState::Expired => ReleaseRightStatus::Expired,
            RightState::Archived => ReleaseRightStatus::Archived,
            RightState::Active if self.blocked => ReleaseRightStatus::Blocked,
            RightState::Active if self.pending().is_some() => ReleaseRightStatus::Pending,
            RightState::Active if self.chain.is_empty() => ReleaseRightStatus::Assigned,
            RightState::Active => ReleaseRightStatus::Accepted,
        }
    }

    /// Every party involved: agent, stakeholders, pickup operator.
    pub fn parties(&self) -> Vec<&NxtEntityId> {
        let mut v = vec![&self.shipping_agent];
        v.extend(self.chain.iter().map(|s| &s.party));
        if let Some(PickupRight {
            party: PickupParty::Barge { nxt_entity_id } | PickupParty::Rail { nxt_entity_id },
            ..
        }) = &self.pickup
        {
            v.push(nxt_entity_id);
        }
        v
    }
}

/// One line of a stay's history, as [`crate::World::history`] gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// When (virtual clock).
    pub at: DateTime<Utc>,
    /// Who acted (None for the clock).
    pub actor: Option<NxtEntityId>,
    /// What happened, e.g. "TerminalRelease Release" or "Customs RELEASED".
    pub action: HistoryAction,
    /// Reference of the call.
    pub public_reference_id: PublicReferenceId,
}

/// One line of a stay's history as the stay keeps it: 24 bytes instead of the 48 of a
/// [`HistoryEntry`] (a million stays keep seven or more lines each). The actor is the index of
/// a party of the world, the public reference id the low 32 bits of its number in the world's
/// notification log (which mints the ids); [`crate::World::history`] turns them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRecord {
    pub(crate) at: DateTime<Utc>,
    /// Index in the world's parties; [`HistoryRecord::CLOCK`]: the clock acted.
    pub(crate) actor: u32,
    pub(crate) reference: u32,
    /// What happened.
    pub action: HistoryAction,
}

impl HistoryRecord {
    /// The actor of what the clock did (expiry).
    pub(crate) const CLOCK: u32 = u32::MAX;

    /// When (virtual clock).
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// What a history line says happened, kept as a small value and written as text
/// (`Display`, and a JSON string): "Ingestion Discharge", "TerminalRelease Release",
/// "Customs RELEASED", "ReleaseRight Accept", "PickupRight Assign", "ReleaseRight Expired".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAction {
    /// A terminal event applied to the stay.
    Terminal(TerminalAction),
    /// Customs set its light.
    Customs(crate::lights::CustomsValue),
    /// A release-right action.
    ReleaseRight(cpu_contract::ActionType),
    /// A pickup-right action.
    PickupRight(cpu_contract::PickupRightActionType),
    /// The release right expired.
    ReleaseRightExpired,
}

impl std::fmt::Display for HistoryAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Terminal(a) => {
                let label = match a {
                    TerminalAction::Discharge
                    | TerminalAction::GateIn
                    | TerminalAction::GateOut => "Ingestion",
                    _ => "TerminalRelease",
                };
                write!(f, "{label} {}", a.as_str())
            }
            Self::Customs(v) => write!(f, "Customs {v}"),
            Self::ReleaseRight(a) => write!(f, "ReleaseRight {}", a.as_str()),
            Self::PickupRight(a) => write!(f, "PickupRight {a:?}"),
            Self::ReleaseRightExpired => f.write_str("ReleaseRight Expired"),
        }
    }
}

impl Serialize for HistoryAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A container's stay in a port, from the first message to its archive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stay {
    /// Port.
    pub locode: UnLocode,
    /// Container.
    pub equipment: EquipmentNumber,
    /// Terminal (from the commercial release, else from the first terminal event).
    pub terminal_code: Option<TerminalCode>,
    /// Vessel stay number.
    pub stay_number: Option<Box<str>>,
    /// Bills of lading reported by the terminal.
    pub bill_of_lading_numbers: BillsOfLading,
    /// The lights (CommercialRelease is recomputed from the release rights).
    #[serde(skip)]
    pub lights: Lights,
    /// Release rights, oldest first.
    pub release_rights: Vec<ReleaseRight>,
    /// Terminal events waiting for the commercial release.
    pub waiting: Vec<TerminalEvent>,
    /// Gate out time: the stay is final from then on.
    pub gated_out_at: Option<DateTime<Utc>>,
    /// Mode of transport at gate out.
    pub gate_out_mode: Option<ModeOfTransport>,
    /// Archive time.
    pub archived_at: Option<DateTime<Utc>>,
    /// What happened, oldest first ([`crate::World::history`] reads it in full).
    #[serde(skip)]
    pub history: Vec<HistoryRecord>,
}

impl Stay {
    /// A stay with no information yet.
    pub fn new(locode: UnLocode, equipment: EquipmentNumber) -> Self {
        Stay {
            locode,
            equipment,
            terminal_code: None,
            stay_number: None,
            bill_of_lading_numbers: BillsOfLading::default(),
            lights: Lights::default(),
            release_rights: Vec::new(),
            waiting: Vec::new(),
            gated_out_at: None,
            gate_out_mode: None,
            archived_at: None,
            history: Vec::new(),
        }
    }

    /// `list`, sharing the allocation of an equal list the stay or one of its rights keeps.
    pub fn share_list(&self, list: BillsOfLading) -> BillsOfLading {
        std::iter::once(&self.bill_of_lading_numbers)
            .chain(
                self.release_rights
                    .iter()
                    .map(|r| &r.bill_of_lading_numbers),
            )
            .find(|kept| **kept == list)
            .map_or(list, Clone::clone)
    }

    /// Whether a commercial release has ever been received (terminal events attach from then on).
    pub fn has_commercial_release(&self) -> bool {
        !self.release_rights.is_empty()
    }

    /// Active release rights.
    pub fn active_rights(&self) -> impl Iterator<Item = &ReleaseRight> {
        self.release_rights
            .iter()
            .filter(|r| r.state == RightState::Active)
    }

    /// The CommercialRelease light value implied by the release rights.
    pub fn commercial_release_value(&self) -> CommercialReleaseValue {
        if self.release_rights.is_empty() {
            return CommercialReleaseValue::Unknown;
        }
        let active: Vec<&ReleaseRight> = self.active_rights().collect();
        if active.iter().any(|r| !r.blocked) {
            CommercialReleaseValue::Ok
        } else if !active.is_empty() {
            CommercialReleaseValue::Blocked
        } else if self
            .release_rights
            .iter()
            .any(|r| r.state == RightState::Expired)
        {
            CommercialReleaseValue::Expired
        } else {
            CommercialReleaseValue::Nok
        }
    }

    /// Every party that should hear about this stay: agents, stakeholders, pickup operators.
    pub fn interested_parties(&self) -> Vec<NxtEntityId> {
        let mut v: Vec<NxtEntityId> = Vec::new();
        for r in self.active_rights() {
            for p in r.parties() {
                if !v.contains(p) {
                    v.push(p.clone());
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stay_keys_pack_in_61_bits_and_back() {
        let keys = [
            (
                UnLocode::antwerp(),
                EquipmentNumber::parse("MSCU1234566").unwrap(),
            ),
            (
                UnLocode::parse("ZZ999").unwrap(),
                EquipmentNumber::from_serial("ZZZZ", 999_999).unwrap(),
            ),
            (
                UnLocode::parse("AAAAA").unwrap(),
                EquipmentNumber::from_serial("AAAU", 0).unwrap(),
            ),
        ];
        for key in keys {
            let v = pack_key(key);
            assert!(v < 1 << 61, "{key:?} {v}");
            assert_eq!(unpack_key(v), Some(key));
        }
        assert_eq!(unpack_key(u64::MAX), None);
        assert_eq!(unpack_key(1 << 61), None);
    }
}

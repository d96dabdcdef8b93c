//! The bodies of the notification log: how a body is kept (compact: party ids interned, the
//! fixed part of a release right shared) and rendered into the contract's body when read.

use super::{NotificationLog, Seen, NONE};
use crate::ids::{EquipmentNumber, NxtEntityId, ReleaseId, TerminalCode, UnLocode};
use crate::lights::{LightName, OverallStatus};
use crate::notification::{mask, notified_party, GateOutView, RightView, StoredBody, Subject};
use crate::stay::{BillsOfLading, ModeOfTransport, PickupParty, TerminalAction};
use chrono::{DateTime, Utc};
use cpu_contract::{
    ActionType, ContainerBody, GateOutBody, LightChangedBody, LightSubject, NotificationBody,
    NotifiedParty, PartyType, PickupRightActionType, PickupRightBody, RegisteredBody,
    ReleaseRightActionBody, ReleaseRightBody, ReleaseRightStatus,
};
use std::sync::Arc;

/// The part of a release right a body shows that does not change between its notifications.
#[derive(Debug, PartialEq)]
pub(super) struct RightFixed {
    /// Interned (`NONE`: no carrier), as is `release_from`.
    pub(super) carrier: u32,
    pub(super) terminal_code: TerminalCode,
    pub(super) locode: UnLocode,
    pub(super) equipment: EquipmentNumber,
    /// Shared with the right, its stay and the other bodies that show it.
    pub(super) bill_of_lading_numbers: BillsOfLading,
    pub(super) release_identification: Option<Box<str>>,
    pub(super) release_id: ReleaseId,
    pub(super) released_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) release_from: u32,
}

/// A gate out body as the log keeps it: the terminal code interned (`NONE`: none), the
/// bill-of-lading list the stay's.
#[derive(Debug)]
pub(super) struct GateOutKept {
    pub(super) locode: UnLocode,
    pub(super) equipment: EquipmentNumber,
    pub(super) terminal_code: u32,
    pub(super) bill_of_lading_numbers: BillsOfLading,
    pub(super) stay_number: Option<Box<str>>,
    pub(super) mode_of_transport: Option<ModeOfTransport>,
    pub(super) status_before: OverallStatus,
}

/// The pickup party of a right, interned and packed in 32 bits: the means in the top two bits
/// (none, truck, barge, rail), the interned Alfapass number or party id below (saturated at
/// 2^30 - 1; bodies show only the means and a truck's masked Alfapass number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pick(u32);

impl Pick {
    const NONE: Pick = Pick(0);
    const TRUCK: u32 = 1;
    const BARGE: u32 = 2;
    const RAIL: u32 = 3;
    const INDEX: u32 = (1 << 30) - 1;

    fn new(means: u32, index: u32) -> Self {
        Pick((means << 30) | index.min(Self::INDEX))
    }

    fn means(self) -> u32 {
        self.0 >> 30
    }

    fn index(self) -> u32 {
        self.0 & Self::INDEX
    }
}

/// A release right as one notification shows it: the shared fixed part and what varies.
#[derive(Debug, Clone)]
pub(super) struct RightRef {
    pub(super) fixed: Arc<RightFixed>,
    pub(super) release_to: u32,
    pub(super) holder: u32,
    pub(super) pickup: Pick,
    pub(super) status: ReleaseRightStatus,
}

/// A light change: the light, its old and new values (indexes of the log's value table) and
/// the overall status after.
#[derive(Debug, Clone, Copy)]
pub(super) struct Light {
    pub(super) name: LightName,
    pub(super) original: u8,
    pub(super) new: u8,
    pub(super) status: OverallStatus,
}

/// A body as the log keeps it.
#[derive(Debug)]
pub(super) enum Body {
    Right(RightRef),
    /// The reason for the action, if any, is kept with the change's rare fields.
    RightAction {
        right: RightRef,
        action_type: ActionType,
        sender: u32,
    },
    Pickup {
        right: RightRef,
        action_type: PickupRightActionType,
    },
    LightOfRight {
        right: RightRef,
        light: Light,
    },
    LightOfContainer {
        container: Box<ContainerBody>,
        light: Light,
    },
    /// Kept inline: the terminal code interned.
    Registered {
        locode: UnLocode,
        equipment: EquipmentNumber,
        terminal_code: u32,
        action: TerminalAction,
    },
    GateOut(Box<GateOutKept>),
    Rendered(Box<NotificationBody>),
}

impl Body {
    pub(super) fn right(&self) -> Option<&RightRef> {
        match self {
            Body::Right(right)
            | Body::RightAction { right, .. }
            | Body::Pickup { right, .. }
            | Body::LightOfRight { right, .. } => Some(right),
            _ => None,
        }
    }
}

impl NotificationLog {
    fn party(&self, id: &NxtEntityId) -> NotifiedParty {
        self.parties
            .get(id)
            .cloned()
            .unwrap_or_else(|| notified_party(id, None))
    }

    /// The block of an interned party.
    fn block(&self, i: u32) -> NotifiedParty {
        match self.ids.get(i) {
            Some(id) => self.party(id),
            // Every stored index was interned: not reached.
            None => NotifiedParty {
                nxt_entity_id: String::new(),
                name: None,
                eori: None,
                tin: None,
                apcs: None,
                duns: None,
                external_id: None,
            },
        }
    }

    fn value(&mut self, v: &'static str) -> u8 {
        if let Some(i) = self.values.iter().position(|&x| x == v) {
            return u8::try_from(i).unwrap_or(u8::MAX);
        }
        self.values.push(v);
        u8::try_from(self.values.len() - 1).unwrap_or(u8::MAX)
    }

    pub(super) fn compact_right(&mut self, r: RightView) -> RightRef {
        let fixed = RightFixed {
            carrier: r.carrier.map_or(NONE, |c| self.ids.id(&c)),
            terminal_code: r.terminal_code,
            locode: r.locode,
            equipment: r.equipment,
            bill_of_lading_numbers: r.bill_of_lading_numbers,
            release_identification: r.release_identification,
            release_id: r.release_id,
            released_at: r.released_at,
            expires_at: r.expires_at,
            release_from: self.ids.id(&r.release_from),
        };
        let fixed = self.shared_fixed(&fixed).unwrap_or_else(|| Arc::new(fixed));
        let pickup = match r.pickup {
            None => Pick::NONE,
            Some(PickupParty::Truck { alfapass_number }) => {
                Pick::new(Pick::TRUCK, self.alfapass.id(&alfapass_number))
            }
            Some(PickupParty::Barge { nxt_entity_id }) => {
                Pick::new(Pick::BARGE, self.ids.id(&nxt_entity_id))
            }
            Some(PickupParty::Rail { nxt_entity_id }) => {
                Pick::new(Pick::RAIL, self.ids.id(&nxt_entity_id))
            }
        };
        RightRef {
            fixed,
            release_to: r.release_to.map_or(NONE, |p| self.ids.id(&p)),
            holder: self.ids.id(&r.holder),
            pickup,
            status: r.status,
        }
    }

    /// A body as the log keeps it, and the reason for a release right action (kept apart).
    pub(super) fn compact(&mut self, body: StoredBody) -> (Body, Option<String>) {
        let body = match body {
            StoredBody::Right(r) => Body::Right(self.compact_right(r)),
            StoredBody::RightAction {
                right,
                reason,
                action_type,
                sender,
            } => {
                let body = Body::RightAction {
                    right: self.compact_right(right),
                    action_type,
                    sender: self.ids.id(&sender),
                };
                return (body, reason);
            }
            StoredBody::Pickup { right, action_type } => Body::Pickup {
                right: self.compact_right(right),
                action_type,
            },
            StoredBody::LightChanged {
                subject,
                name,
                original,
                new,
                status,
            } => {
                let light = Light {
                    name,
                    original: self.value(original),
                    new: self.value(new),
                    status,
                };
                match subject {
                    Subject::Right(r) => Body::LightOfRight {
                        right: self.compact_right(r),
                        light,
                    },
                    Subject::Container(c) => Body::LightOfContainer {
                        container: Box::new(c),
                        light,
                    },
                }
            }
            StoredBody::Registered {
                locode,
                equipment,
                terminal_code,
                action,
            } => Body::Registered {
                locode,
                equipment,
                terminal_code: self.terminals.id(&terminal_code),
                action,
            },
            StoredBody::GateOut(g) => {
                let GateOutView {
                    locode,
                    equipment,
                    terminal_code,
                    bill_of_lading_numbers,
                    stay_number,
                    mode_of_transport,
                    status_before,
                } = *g;
                Body::GateOut(Box::new(GateOutKept {
                    locode,
                    equipment,
                    terminal_code: terminal_code.map_or(NONE, |t| self.terminals.id(&t)),
                    bill_of_lading_numbers,
                    stay_number,
                    mode_of_transport,
                    status_before,
                }))
            }
            StoredBody::Rendered(b) => Body::Rendered(b),
        };
        (body, None)
    }

    fn right(&self, r: &RightRef) -> ReleaseRightBody {
        let f = &r.fixed;
        let (means, alfapass) = match r.pickup.means() {
            Pick::TRUCK => (
                Some(PartyType::Truck),
                self.alfapass
                    .get(r.pickup.index())
                    .map(|a| mask(a.as_str())),
            ),
            Pick::BARGE => (Some(PartyType::Barge), None),
            Pick::RAIL => (Some(PartyType::Rail), None),
            _ => (None, None),
        };
        ReleaseRightBody {
            carrier: (f.carrier != NONE).then(|| self.block(f.carrier)),
            terminal_code: f.terminal_code.as_str().to_owned(),
            port_lo_code: f.locode.as_str().to_owned(),
            equipment_number: f.equipment.as_str().to_owned(),
            bill_of_lading_numbers: f.bill_of_lading_numbers.to_vec(),
            release_identification: f.release_identification.as_deref().map(str::to_owned),
            release_id: f.release_id.0,
            release_date_time_utc: f.released_at,
            expiration_date_time_utc: f.expires_at,
            release_from: self.block(f.release_from),
            release_to: (r.release_to != NONE).then(|| self.block(r.release_to)),
            current_holder: self.block(r.holder),
            release_right_status: r.status,
            means_of_transport: means,
            alfapass_number_mask: alfapass,
        }
    }

    fn light(&self, light: &Light, subject: LightSubject) -> NotificationBody {
        let value = |i: u8| {
            self.values
                .get(usize::from(i))
                .copied()
                .unwrap_or_default()
                .to_owned()
        };
        NotificationBody::LightChanged(LightChangedBody {
            subject,
            green_light_name: light.name.as_str().to_owned(),
            original_value: value(light.original),
            new_value: value(light.new),
            status: light.status.as_str().to_owned(),
        })
    }

    /// The contract's body of a stored one.
    pub(super) fn render(&self, c: Seen<'_>) -> NotificationBody {
        match &c.body {
            Body::Right(r) => NotificationBody::ReleaseRight(self.right(r)),
            Body::RightAction {
                right,
                action_type,
                sender,
            } => NotificationBody::ReleaseRightAction(ReleaseRightActionBody {
                right: self.right(right),
                reason_for_action: c.reason().cloned(),
                action_type: *action_type,
                sender: self.block(*sender),
            }),
            Body::Pickup { right, action_type } => NotificationBody::PickupRight(PickupRightBody {
                right: self.right(right),
                action_type: *action_type,
            }),
            Body::LightOfRight { right, light } => {
                self.light(light, LightSubject::Right(Box::new(self.right(right))))
            }
            Body::LightOfContainer { container, light } => {
                self.light(light, LightSubject::Container((**container).clone()))
            }
            Body::Registered {
                locode,
                equipment,
                terminal_code,
                action,
            } => NotificationBody::Registered(RegisteredBody {
                equipment_number: equipment.as_str().to_owned(),
                port_lo_code: locode.as_str().to_owned(),
                terminal_code: self
                    .terminals
                    .get(*terminal_code)
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                operation_type: action.as_str().to_owned(),
                status: "WaitingForCommercialRelease".to_owned(),
                message:
                    "Registered; it attaches to the container when the commercial release arrives"
                        .to_owned(),
            }),
            Body::GateOut(g) => NotificationBody::GateOut(GateOutBody {
                container: ContainerBody {
                    port_lo_code: g.locode.as_str().to_owned(),
                    equipment_number: g.equipment.as_str().to_owned(),
                    terminal_code: self
                        .terminals
                        .get(g.terminal_code)
                        .map(|t| t.as_str().to_owned()),
                    bill_of_lading_numbers: g.bill_of_lading_numbers.to_vec(),
                    stay_number: g.stay_number.as_deref().map(str::to_owned),
                },
                mode_of_transport: g.mode_of_transport,
                status_at_gate_out: g.status_before.as_str().to_owned(),
                terminal_overrule: (!g.status_before.is_pickable()).then(|| {
                    format!(
                        "gate out while the container was {}: the terminal overruled CPu",
                        g.status_before.as_str()
                    )
                }),
            }),
            Body::Rendered(b) => (**b).clone(),
        }
    }
}

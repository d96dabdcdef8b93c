//! Pickup rights: a transport operator assigns, updates or revokes who picks the container up.

use super::{dedup, ensure_open, Pending, World};
use crate::command::{PickupAction, PickupTarget, RightSelector, SimError};
use crate::ids::{NxtEntityId, PublicReferenceId};
use crate::notification::StoredBody;
use crate::notification::{NotificationEvent, NotificationType};
use crate::party::{Party, Role, TransportMode};
use crate::stay::{HistoryAction, PickupParty, PickupRight, StayKey};

impl World {
    pub(super) fn pickup_right(
        &mut self,
        caller: &Party,
        key: StayKey,
        reference: PublicReferenceId,
        action: PickupAction,
        selector: &RightSelector,
        target: Option<&PickupTarget>,
    ) -> Result<Vec<Pending>, SimError> {
        let now = self.now();
        if caller.role != Role::TransportOperator {
            return Err(SimError::NotAllowed(format!(
                "pickup rights are assigned by transport operators; {} is a {:?}",
                caller.name, caller.role
            )));
        }
        let stay = self
            .stays
            .get(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        ensure_open(stay)?;
        if stay.gated_out_at.is_some() {
            return Err(SimError::InvalidState(
                "container has left the terminal".into(),
            ));
        }
        let idx = Self::find_right_index(stay, selector)?;
        let right = &stay.release_rights[idx];
        if right.holder() != &caller.nxt_entity_id {
            return Err(SimError::NotAllowed(
                "the release right is not assigned to you (accept the transfer first)".into(),
            ));
        }
        if right.blocked {
            return Err(SimError::InvalidState(
                "the release right is blocked".into(),
            ));
        }
        let new_pickup = match (action, target) {
            (PickupAction::Revoke, _) => {
                if right.pickup.is_none() {
                    return Err(SimError::InvalidState("no pickup right to revoke".into()));
                }
                None
            }
            (PickupAction::Assign | PickupAction::Update, None) => {
                return Err(SimError::InvalidField {
                    field: "pickupParty",
                    message: "is required to assign a pickup right".into(),
                })
            }
            (PickupAction::Update, Some(_)) if right.pickup.is_none() => {
                return Err(SimError::InvalidState(
                    "no pickup right assigned yet: use Assign".into(),
                ))
            }
            (PickupAction::Assign, Some(_)) if right.pickup.is_some() => {
                return Err(SimError::InvalidState(
                    "a pickup right is already assigned: use Update or Revoke".into(),
                ))
            }
            (_, Some(PickupTarget::Truck(alfapass))) => {
                if caller.transport_mode != Some(TransportMode::Truck) {
                    return Err(SimError::NotAllowed(format!(
                        "{} is not a truck operator",
                        caller.name
                    )));
                }
                if !self.by_alfapass.contains_key(alfapass) {
                    return Err(SimError::InvalidField {
                        field: "pickupParty.identificationCode",
                        message: format!("Alfapass {alfapass} is not valid"),
                    });
                }
                Some(PickupParty::Truck {
                    alfapass_number: alfapass.clone(),
                })
            }
            (_, Some(PickupTarget::Barge(id) | PickupTarget::Rail(id))) => {
                let mode = if matches!(target, Some(PickupTarget::Barge(_))) {
                    TransportMode::Barge
                } else {
                    TransportMode::Rail
                };
                let p = self.resolve("pickupParty", id)?;
                if p.transport_mode != Some(mode) {
                    return Err(SimError::InvalidField {
                        field: "pickupParty",
                        message: format!("{} is not a {mode:?} operator", p.name),
                    });
                }
                let id = p.nxt_entity_id.clone();
                Some(match mode {
                    TransportMode::Barge => PickupParty::Barge { nxt_entity_id: id },
                    _ => PickupParty::Rail { nxt_entity_id: id },
                })
            }
        };
        let release_id = right.release_id;
        let terminal = self
            .terminal(&right.terminal_code)
            .map(|t| t.nxt_entity_id.clone());
        let line = self.history_line(
            now,
            Some(&caller.nxt_entity_id),
            HistoryAction::PickupRight(action),
            reference,
        );
        let stay = self
            .stays
            .get_mut(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        stay.release_rights[idx].pickup = new_pickup.map(|party| PickupRight {
            party,
            assigned_by: caller.nxt_entity_id.clone(),
            assigned_at: now,
        });
        stay.history.push(line);
        let stay = self
            .stays
            .get(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        let right = &stay.release_rights[idx];
        let mut receivers: Vec<NxtEntityId> = right.parties().into_iter().cloned().collect();
        receivers.extend(terminal);
        dedup(&mut receivers);
        let body = StoredBody::Pickup {
            right: self.right_view(stay, right),
            action_type: action,
        };
        Ok(vec![Pending {
            receivers,
            kind: NotificationType::ReleaseRight,
            event: if action == PickupAction::Revoke {
                NotificationEvent::DigitalKeyRevoked
            } else {
                NotificationEvent::DigitalKeyCreated
            },
            body,
            release_id: Some(release_id),
        }])
    }
}

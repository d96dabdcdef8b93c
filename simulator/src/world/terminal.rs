//! Terminal events: discharge, gate in/out and terminal release, with the waiting room for
//! events that arrive before the commercial release.

use super::{dedup, ensure_open, later, Pending, Timer, World};
use crate::command::{SimError, TerminalEventCommand};
use crate::ids::PublicReferenceId;
use crate::lights::{
    CustomsValue, GateOperationValue, LightName, TerminalOperationValue, TerminalReleaseValue,
};
use crate::notification::{GateOutView, NotificationEvent, NotificationType, StoredBody};
use crate::party::{Party, Role};
use crate::stay::{FullEmpty, HistoryAction, Stay, StayKey, TerminalAction, TerminalEvent};
use std::sync::Arc;

impl World {
    pub(super) fn terminal_event(
        &mut self,
        caller: &Party,
        key: StayKey,
        reference: PublicReferenceId,
        external: Option<Arc<str>>,
        ev: &TerminalEventCommand,
    ) -> Result<Vec<Pending>, SimError> {
        if caller.role != Role::TerminalOperator {
            return Err(SimError::NotAllowed(format!(
                "{} is not a terminal operator",
                caller.name
            )));
        }
        if caller.terminal_code.as_ref() != Some(&ev.terminal_code) {
            return Err(SimError::NotAllowed(format!(
                "terminalCode {} does not belong to {}",
                ev.terminal_code, caller.name
            )));
        }
        if let Some(stay) = self.stays.get(key) {
            ensure_open(stay)?;
            // Terminal scoping: a container belongs to the terminal its active release right
            // names, else to the terminal that first reported it.
            let at = stay
                .active_rights()
                .last()
                .map(|r| &r.terminal_code)
                .or(stay.terminal_code.as_ref());
            if let Some(at) = at.filter(|t| *t != &ev.terminal_code) {
                return Err(SimError::NotAllowed(format!(
                    "container {} is at terminal {at}, not at {}'s terminal {}",
                    key.1, caller.name, ev.terminal_code
                )));
            }
            if stay.gated_out_at.is_some() {
                return Err(SimError::InvalidState(format!(
                    "container already gated out: the stay is final (archived {} days after gate out); {} is refused",
                    self.config.archive_after.num_days(),
                    ev.action.as_str()
                )));
            }
        }
        let event = TerminalEvent {
            action: ev.action,
            terminal: caller.nxt_entity_id.clone(),
            terminal_code: ev.terminal_code.clone(),
            occurred_at: ev.occurred_at,
            import: ev.import,
            full_empty: ev.full_empty,
            mode_of_transport: ev.mode_of_transport,
            bill_of_lading_numbers: ev.bill_of_lading_numbers.clone(),
            stay_number: ev.stay_number.clone(),
            public_reference_id: reference,
            external_reference_id: external,
        };
        let stay = self
            .stays
            .entry_or_insert_with(key, || Stay::new(key.0, key.1));
        if stay.terminal_code.is_none() {
            stay.terminal_code = Some(ev.terminal_code.clone());
        }
        if ev.stay_number.is_some() {
            stay.stay_number = ev.stay_number.as_deref().map(Box::from);
        }
        let new: Vec<&String> = ev
            .bill_of_lading_numbers
            .iter()
            .filter(|bl| !stay.bill_of_lading_numbers.contains(bl))
            .collect();
        if !new.is_empty() {
            let mut list = stay.bill_of_lading_numbers.to_vec();
            for bl in new {
                if !list.contains(bl) {
                    list.push(bl.clone());
                }
            }
            stay.bill_of_lading_numbers = stay.share_list(list.into());
        }
        if !stay.has_commercial_release() {
            stay.waiting.push(event);
            let body = StoredBody::Registered {
                locode: key.0,
                equipment: key.1,
                terminal_code: ev.terminal_code.clone(),
                action: ev.action,
            };
            return Ok(vec![Pending {
                receivers: vec![caller.nxt_entity_id.clone()],
                kind: NotificationType::TerminalEvent,
                event: NotificationEvent::ReleaseLightRegistered,
                body,
                release_id: None,
            }]);
        }
        Ok(self.apply_terminal_event(key, event))
    }

    /// Apply a terminal event to a stay with a commercial release.
    pub(super) fn apply_terminal_event(&mut self, key: StayKey, ev: TerminalEvent) -> Vec<Pending> {
        let now = self.now();
        let line = self.history_line(
            now,
            Some(&ev.terminal),
            HistoryAction::Terminal(ev.action),
            ev.public_reference_id,
        );
        let Some(stay) = self.stays.get_mut(key) else {
            return Vec::new();
        };
        let before = stay.lights;
        let mut out = Vec::new();
        match ev.action {
            TerminalAction::Discharge => {
                stay.lights.terminal_operation = TerminalOperationValue::Discharged;
                if self.config.empty_sets_customs_not_applicable
                    && ev.full_empty == Some(FullEmpty::Empty)
                {
                    stay.lights.customs = CustomsValue::NotApplicable;
                }
            }
            TerminalAction::GateIn => {
                stay.lights.terminal_operation = TerminalOperationValue::GateIn;
                if ev.import {
                    stay.lights.customs = CustomsValue::PortEqualisation;
                }
            }
            TerminalAction::GateOut => {
                stay.lights.gate_operation = GateOperationValue::GateOutReceived;
                stay.gated_out_at = Some(now);
                stay.gate_out_mode = ev.mode_of_transport;
            }
            TerminalAction::Release => {
                stay.lights.terminal_release = TerminalReleaseValue::Released
            }
            TerminalAction::Scanning => {
                stay.lights.terminal_release = TerminalReleaseValue::Scanning
            }
            TerminalAction::Block => stay.lights.terminal_release = TerminalReleaseValue::Blocked,
        }
        stay.history.push(line);
        if ev.action == TerminalAction::GateOut {
            // The stay is final: its history keeps no spare slots.
            stay.history.shrink_to_fit();
        }
        let Some(stay) = self.stays.get(key) else {
            return out;
        };
        let after = stay.lights;
        let status_before = before.status();
        for name in LightName::ALL {
            let (old, _) = before.get(name);
            let (new, _) = after.get(name);
            let is_subject = matches!(
                (name, ev.action),
                (
                    LightName::TerminalRelease,
                    TerminalAction::Release | TerminalAction::Scanning | TerminalAction::Block
                ) | (
                    LightName::TerminalOperation,
                    TerminalAction::Discharge | TerminalAction::GateIn
                )
            );
            if old == new && !is_subject {
                continue;
            }
            let event = match (name, ev.action) {
                (LightName::TerminalRelease, TerminalAction::Release) => {
                    NotificationEvent::TerminalRelease
                }
                (LightName::TerminalRelease, TerminalAction::Scanning) => {
                    NotificationEvent::TerminalScan
                }
                (LightName::TerminalRelease, TerminalAction::Block) => {
                    NotificationEvent::TerminalBlocked
                }
                _ => NotificationEvent::ReleaseLightChanged,
            };
            if name == LightName::GateOperation {
                continue;
            }
            out.push(self.light_changed(stay, name, old, new, event));
        }
        if ev.action == TerminalAction::GateOut {
            let mut receivers = vec![ev.terminal.clone()];
            receivers.extend(stay.interested_parties());
            dedup(&mut receivers);
            let body = StoredBody::GateOut(Box::new(GateOutView {
                locode: stay.locode,
                equipment: stay.equipment,
                terminal_code: stay.terminal_code.clone(),
                bill_of_lading_numbers: stay.bill_of_lading_numbers.clone(),
                stay_number: stay.stay_number.clone(),
                mode_of_transport: ev.mode_of_transport,
                status_before,
            }));
            out.push(Pending {
                receivers,
                kind: NotificationType::TerminalEvent,
                event: NotificationEvent::GateOut,
                body,
                release_id: stay.active_rights().next().map(|r| r.release_id),
            });
            let at = later(now, self.config.archive_after);
            self.schedule(at, Timer::Archive(key));
        }
        out
    }
}

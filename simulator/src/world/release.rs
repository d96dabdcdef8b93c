//! Release-right actions of shipping agents, release parties and transport operators.
//!
//! An action on an existing right is decided first ([`RightChange`], every check passed) and
//! applied after, so a refused action leaves the world unchanged.

use super::{dedup, ensure_open, Pending, Timer, World, LATEST};
use crate::command::{ReleaseAction, ReleaseRightCommand, RightSelector, SimError};
use crate::ids::{NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode};
use crate::lights::{CommercialReleaseValue, LightName};
use crate::notification::StoredBody;
use crate::notification::{NotificationEvent, NotificationType};
use crate::party::{Party, Role};
use crate::stay::{
    BillsOfLading, HistoryAction, ReleaseRight, RightState, Stakeholder, StakeholderState, Stay,
    StayKey,
};
use chrono::{DateTime, Utc};
use cpu_contract::NotificationBody;

/// What an action does to an existing release right, decided before anything changes.
#[derive(Debug, Clone, PartialEq)]
enum RightChange {
    /// `Update`: the agent changes the fields given, and may hand the right to a first party.
    Update {
        terminal_code: Option<TerminalCode>,
        bill_of_lading_numbers: BillsOfLading,
        expires_at: Option<DateTime<Utc>>,
        valid_from: Option<DateTime<Utc>>,
        release_to: Option<NxtEntityId>,
        since: DateTime<Utc>,
    },
    /// `Block` (true) or `Unblock` (false).
    SetBlocked(bool),
    /// `Delete`: the right is gone, and its pickup right with it.
    Delete,
    /// The agent's `Revoke`: the whole chain and the pickup right are dropped.
    RevokeChain,
    /// The holder's `Revoke` of a pending transfer, or the next party's `Decline`.
    DropPending,
    /// `Transfer` to the next party (pending until it accepts); the pickup right is dropped.
    Transfer {
        to: NxtEntityId,
        since: DateTime<Utc>,
    },
    /// `Accept` of the pending transfer.
    Accept { since: DateTime<Utc> },
}

impl RightChange {
    fn apply(self, r: &mut ReleaseRight) {
        let pending = |party, since| Stakeholder {
            party,
            state: StakeholderState::Pending,
            since,
        };
        match self {
            RightChange::Update {
                terminal_code,
                bill_of_lading_numbers,
                expires_at,
                valid_from,
                release_to,
                since,
            } => {
                if let Some(t) = terminal_code {
                    r.terminal_code = t;
                }
                if !bill_of_lading_numbers.is_empty() {
                    r.bill_of_lading_numbers = bill_of_lading_numbers;
                }
                if let Some(e) = expires_at {
                    r.expires_at = e;
                }
                if let Some(v) = valid_from {
                    r.valid_from = v;
                }
                if let Some(p) = release_to {
                    r.chain.push(pending(p, since));
                }
            }
            RightChange::SetBlocked(block) => r.blocked = block,
            RightChange::Delete => {
                r.state = RightState::Deleted;
                r.pickup = None;
            }
            RightChange::RevokeChain => {
                r.chain.clear();
                r.pickup = None;
            }
            RightChange::DropPending => {
                r.chain.pop();
            }
            RightChange::Transfer { to, since } => {
                r.pickup = None;
                r.chain.push(pending(to, since));
            }
            RightChange::Accept { since } => {
                if let Some(s) = r.chain.last_mut() {
                    s.state = StakeholderState::Accepted;
                    s.since = since;
                }
            }
        }
    }
}

/// The right an action on an existing release right targets, as it is before the change.
struct Target<'a> {
    idx: usize,
    right: &'a ReleaseRight,
    old_light: CommercialReleaseValue,
}

/// A release-right action that passed its checks, ready to be recorded and notified.
struct Done {
    release_id: ReleaseId,
    old_light: CommercialReleaseValue,
    event: NotificationEvent,
    receivers: Vec<NxtEntityId>,
    now: DateTime<Utc>,
}

impl World {
    pub(super) fn find_right_index(
        stay: &Stay,
        selector: &RightSelector,
    ) -> Result<usize, SimError> {
        let candidates: Vec<usize> = stay
            .release_rights
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == RightState::Active)
            .filter(|(_, r)| selector.release_id.is_none_or(|id| id == r.release_id))
            .filter(|(_, r)| {
                selector
                    .release_identification
                    .as_deref()
                    .is_none_or(|ri| r.release_identification.as_deref() == Some(ri))
            })
            .map(|(i, _)| i)
            .collect();
        match candidates.as_slice() {
            [i] => Ok(*i),
            [] => Err(SimError::InvalidState(format!(
                "no active release right for container {}{}",
                stay.equipment,
                if selector.release_id.is_some() || selector.release_identification.is_some() {
                    " matching releaseId/releaseIdentification"
                } else {
                    ""
                }
            ))),
            _ => Err(SimError::InvalidState(format!(
                "container {} has {} active release rights: give releaseId or releaseIdentification",
                stay.equipment,
                candidates.len()
            ))),
        }
    }

    pub(super) fn release_right(
        &mut self,
        caller: &Party,
        key: StayKey,
        reference: PublicReferenceId,
        cmd: &ReleaseRightCommand,
    ) -> Result<Vec<Pending>, SimError> {
        let now = self.now();
        let me = caller.nxt_entity_id.clone();
        let agent_only = matches!(
            cmd.action,
            ReleaseAction::Release
                | ReleaseAction::Update
                | ReleaseAction::Block
                | ReleaseAction::Unblock
                | ReleaseAction::Delete
        );
        if agent_only && caller.role != Role::ShippingAgent {
            return Err(SimError::NotAllowed(format!(
                "actionType {} is for shipping agents; {} is a {:?}",
                cmd.action.as_str(),
                caller.name,
                caller.role
            )));
        }
        if !matches!(
            caller.role,
            Role::ShippingAgent | Role::ReleaseParty | Role::TransportOperator
        ) {
            return Err(SimError::NotAllowed(format!(
                "a {:?} cannot act on release rights",
                caller.role
            )));
        }
        let release_to = match &cmd.release_to {
            Some(id) => {
                let p = self.resolve("releaseTo", id)?;
                if !matches!(p.role, Role::ReleaseParty | Role::TransportOperator) {
                    return Err(SimError::InvalidField {
                        field: "releaseTo",
                        message: format!(
                            "{} is a {:?}; a release right goes to a release party or transport operator",
                            p.name, p.role
                        ),
                    });
                }
                if p.nxt_entity_id == me {
                    return Err(SimError::InvalidField {
                        field: "releaseTo",
                        message: "cannot transfer a release right to yourself".into(),
                    });
                }
                Some(p.nxt_entity_id.clone())
            }
            None => None,
        };
        let carrier = match &cmd.carrier {
            Some(id) => Some(self.resolve("carrier", id)?.nxt_entity_id.clone()),
            None => None,
        };
        if let Some(stay) = self.stays.get(key) {
            ensure_open(stay)?;
            if stay.gated_out_at.is_some() {
                return Err(SimError::InvalidState(format!(
                    "container {} has left the terminal; its release rights are final",
                    key.1
                )));
            }
        }
        let mut receivers: Vec<NxtEntityId> = vec![me.clone()];
        let target = self
            .stays
            .get(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))
            .and_then(|stay| {
                let idx = Self::find_right_index(stay, &cmd.selector)?;
                Ok(Target {
                    idx,
                    right: &stay.release_rights[idx],
                    old_light: stay.lights.commercial_release,
                })
            });
        let (t, change, event, reschedule) = match (cmd.action, target) {
            (ReleaseAction::Release, _) => {
                let (release_id, old_light) =
                    self.create_right(&me, key, cmd, release_to.clone(), carrier, now)?;
                receivers.extend(release_to);
                let done = Done {
                    release_id,
                    old_light,
                    event: NotificationEvent::Release,
                    receivers,
                    now,
                };
                return self.record_release_action(&me, key, reference, cmd, done);
            }
            (_, Err(e)) => return Err(e),
            (ReleaseAction::Update, Ok(t)) => {
                if t.right.shipping_agent != me {
                    return Err(not_yours(cmd.action));
                }
                if let Some(code) = &cmd.terminal_code {
                    if self.terminal(code).is_none() {
                        return Err(SimError::InvalidField {
                            field: "terminalCode",
                            message: format!("no terminal with code {code}"),
                        });
                    }
                }
                if cmd.expires_at.is_some_and(|e| e <= now) {
                    return Err(SimError::InvalidField {
                        field: "expirationDateTimeUtc",
                        message: "must be in the future".into(),
                    });
                }
                if release_to.is_some() && !t.right.chain.is_empty() {
                    return Err(SimError::InvalidState(
                        "releaseTo can only be set while the agent still holds the right; revoke first".into(),
                    ));
                }
                receivers.extend(release_to.clone());
                let change = RightChange::Update {
                    terminal_code: cmd.terminal_code.clone(),
                    bill_of_lading_numbers: self.stays.get(key).map_or_else(
                        || cmd.bill_of_lading_numbers.clone().into(),
                        |s| s.share_list(cmd.bill_of_lading_numbers.clone().into()),
                    ),
                    expires_at: cmd.expires_at,
                    valid_from: cmd.valid_from,
                    release_to,
                    since: now,
                };
                (t, change, NotificationEvent::Update, cmd.expires_at)
            }
            (action @ (ReleaseAction::Block | ReleaseAction::Unblock), Ok(t)) => {
                if t.right.shipping_agent != me {
                    return Err(not_yours(action));
                }
                let block = action == ReleaseAction::Block;
                if t.right.blocked == block {
                    return Err(SimError::InvalidState(format!(
                        "release right is {} blocked",
                        if block { "already" } else { "not" }
                    )));
                }
                let event = if block {
                    NotificationEvent::Block
                } else {
                    NotificationEvent::Unblock
                };
                (t, RightChange::SetBlocked(block), event, None)
            }
            (ReleaseAction::Delete, Ok(t)) => {
                if t.right.shipping_agent != me {
                    return Err(not_yours(cmd.action));
                }
                (t, RightChange::Delete, NotificationEvent::Delete, None)
            }
            (ReleaseAction::Revoke, Ok(t)) => {
                if t.right.shipping_agent == me {
                    if t.right.chain.is_empty() {
                        return Err(SimError::InvalidState(
                            "nothing to revoke: the release right has not been handed to anyone"
                                .into(),
                        ));
                    }
                    (t, RightChange::RevokeChain, NotificationEvent::Revoke, None)
                } else if t.right.holder() == &me {
                    if t.right.pending().is_none() {
                        return Err(SimError::InvalidState(
                            "nothing to revoke: no transfer is pending".into(),
                        ));
                    }
                    let event = NotificationEvent::RevokedByPreviousParty;
                    (t, RightChange::DropPending, event, None)
                } else if t.right.chain.iter().any(|s| s.party == me) {
                    return Err(SimError::InvalidState(
                        "the transfer was already accepted by the next party: it can no longer be revoked".into(),
                    ));
                } else {
                    return Err(not_yours(cmd.action));
                }
            }
            (ReleaseAction::Transfer, Ok(t)) => {
                if t.right.holder() != &me {
                    return Err(not_yours(cmd.action));
                }
                if t.right.pending().is_some() {
                    return Err(SimError::InvalidState(
                        "a transfer is already pending: revoke it first".into(),
                    ));
                }
                let Some(to) = release_to else {
                    return Err(SimError::InvalidField {
                        field: "releaseTo",
                        message: "is required to transfer".into(),
                    });
                };
                if t.right.chain.iter().any(|s| s.party == to) {
                    return Err(SimError::InvalidField {
                        field: "releaseTo",
                        message: "that party already is in the chain of this release right".into(),
                    });
                }
                receivers.push(to.clone());
                let change = RightChange::Transfer { to, since: now };
                (t, change, NotificationEvent::Transferred, None)
            }
            (action @ (ReleaseAction::Accept | ReleaseAction::Decline), Ok(t)) => {
                if t.right.pending() != Some(&me) {
                    return Err(if t.right.chain.iter().any(|s| s.party == me) {
                        SimError::InvalidState(format!(
                            "no transfer is pending for you: cannot {}",
                            action.as_str()
                        ))
                    } else {
                        not_yours(action)
                    });
                }
                receivers.push(t.right.holder().clone());
                if action == ReleaseAction::Accept {
                    let change = RightChange::Accept { since: now };
                    (t, change, NotificationEvent::AcceptedByNextParty, None)
                } else {
                    let event = NotificationEvent::DeclinedByNextParty;
                    (t, RightChange::DropPending, event, None)
                }
            }
        };
        receivers.extend(t.right.parties().into_iter().cloned());
        let (idx, release_id, old_light) = (t.idx, t.right.release_id, t.old_light);
        // Below `u32::MAX`: a right is created only at such an index (`create_right`).
        let right = u32::try_from(idx).map_err(|_| too_many_rights(key))?;
        let stay = self
            .stays
            .get_mut(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        if let Some(right) = stay.release_rights.get_mut(idx) {
            change.apply(right);
        }
        if let Some(at) = reschedule {
            self.schedule(at, Timer::Expire { stay: key, right });
        }
        let done = Done {
            release_id,
            old_light,
            event,
            receivers,
            now,
        };
        self.record_release_action(&me, key, reference, cmd, done)
    }

    /// `Release`: a new release right on the container (its stay is created when the container
    /// is new), with its expiry scheduled. Returns its id and the commercial light before it.
    fn create_right(
        &mut self,
        me: &NxtEntityId,
        key: StayKey,
        cmd: &ReleaseRightCommand,
        release_to: Option<NxtEntityId>,
        carrier: Option<NxtEntityId>,
        now: DateTime<Utc>,
    ) -> Result<(ReleaseId, CommercialReleaseValue), SimError> {
        let terminal_code = cmd.terminal_code.clone().ok_or(SimError::InvalidField {
            field: "terminalCode",
            message: "is required to release a container".into(),
        })?;
        if self.terminal(&terminal_code).is_none() {
            return Err(SimError::InvalidField {
                field: "terminalCode",
                message: format!("no terminal with code {terminal_code}"),
            });
        }
        if let (Some(ri), Some(stay)) = (&cmd.selector.release_identification, self.stays.get(key))
        {
            if stay
                .active_rights()
                .any(|r| r.release_identification.as_deref() == Some(ri.as_str()))
            {
                return Err(SimError::InvalidState(format!(
                    "an active release right '{ri}' already exists: use Update"
                )));
            }
        }
        // The index of the new right, as its expiry timer names it.
        let index = self
            .stays
            .get(key)
            .map_or(Ok(0), |s| u32::try_from(s.release_rights.len()))
            .ok()
            .filter(|i| *i < u32::MAX)
            .ok_or_else(|| too_many_rights(key))?;
        let released_at = cmd.release_at.unwrap_or(now);
        let expires_at = match cmd.expires_at {
            Some(e) => e,
            None => released_at
                .checked_add_signed(self.config.release_validity)
                .filter(|e| *e <= LATEST)
                .ok_or_else(|| SimError::InvalidField {
                    field: "releaseDateTimeUtc",
                    message: format!(
                        "the release would expire {} days later, after {LATEST}",
                        self.config.release_validity.num_days()
                    ),
                })?,
        };
        if expires_at <= released_at {
            return Err(SimError::InvalidField {
                field: "expirationDateTimeUtc",
                message: "must be after releaseDateTimeUtc".into(),
            });
        }
        // A right born expired would show an OK light until the next command fires its
        // timer (and Update already refuses a past expiry).
        if expires_at <= now {
            return Err(SimError::InvalidField {
                field: "expirationDateTimeUtc",
                message: format!(
                    "the release would expire at {expires_at}, which is not in the future"
                ),
            });
        }
        // The id names the stay and the number of the right's expiry timer (unique).
        let number = self.schedule(
            expires_at,
            Timer::Expire {
                stay: key,
                right: index,
            },
        );
        let id = self.stays.release_id(key, number);
        let mut right = ReleaseRight {
            release_id: id,
            release_identification: cmd
                .selector
                .release_identification
                .as_deref()
                .map(Box::from),
            shipping_agent: me.clone(),
            terminal_code: terminal_code.clone(),
            bill_of_lading_numbers: cmd.bill_of_lading_numbers.clone().into(),
            carrier,
            released_at,
            valid_from: cmd.valid_from.unwrap_or(released_at),
            expires_at,
            chain: release_to
                .iter()
                .map(|p| Stakeholder {
                    party: p.clone(),
                    state: StakeholderState::Pending,
                    since: now,
                })
                .collect(),
            blocked: false,
            state: RightState::Active,
            pickup: None,
        };
        let stay = self
            .stays
            .entry_or_insert_with(key, || Stay::new(key.0, key.1));
        let old_light = stay.lights.commercial_release;
        if stay.terminal_code.is_none() {
            stay.terminal_code = Some(terminal_code);
        }
        right.bill_of_lading_numbers = stay.share_list(right.bill_of_lading_numbers);
        stay.release_rights.push(right);
        // Most stays have one right: no spare slots (a first push reserves four).
        stay.release_rights.shrink_to_fit();
        Ok((id, old_light))
    }

    /// History, commercial light, the action's notifications, and the terminal events that
    /// waited for the commercial release.
    fn record_release_action(
        &mut self,
        me: &NxtEntityId,
        key: StayKey,
        reference: PublicReferenceId,
        cmd: &ReleaseRightCommand,
        done: Done,
    ) -> Result<Vec<Pending>, SimError> {
        let Done {
            release_id,
            old_light,
            event,
            mut receivers,
            now,
        } = done;
        let mut pendings = Vec::new();
        let line = self.history_line(
            now,
            Some(me),
            HistoryAction::ReleaseRight(cmd.action),
            reference,
        );
        let stay = self
            .stays
            .get_mut(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        stay.history.push(line);
        stay.lights.commercial_release = stay.commercial_release_value();
        let new_light = stay.lights.commercial_release;
        let waiting = if stay.has_commercial_release() {
            std::mem::take(&mut stay.waiting)
        } else {
            Vec::new()
        };
        let stay = self
            .stays
            .get(key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        let right = stay
            .release_rights
            .iter()
            .find(|r| r.release_id == release_id);
        if let Some(right) = right {
            receivers.extend(right.parties().into_iter().cloned());
            if let Some(t) = self.terminal(&right.terminal_code) {
                receivers.push(t.nxt_entity_id.clone());
            }
        }
        dedup(&mut receivers);
        let body = match right {
            Some(r) => StoredBody::RightAction {
                right: self.right_view(stay, r),
                reason: cmd.reason.clone(),
                action_type: cmd.action,
                sender: me.clone(),
            },
            None => NotificationBody::Other(serde_json::Value::Null).into(),
        };
        pendings.push(Pending {
            receivers,
            kind: NotificationType::ReleaseRight,
            event,
            body,
            release_id: Some(release_id),
        });
        if old_light != new_light {
            pendings.push(self.light_changed(
                stay,
                LightName::CommercialRelease,
                old_light.as_str(),
                new_light.as_str(),
                NotificationEvent::ReleaseLightChanged,
            ));
        }
        self.attach_queue
            .extend(waiting.into_iter().map(|ev| (key, ev)));
        Ok(pendings)
    }
}

/// A container whose stay holds `u32::MAX` release rights (its expiry timers name a right by a
/// 32-bit index; that many rights would take a terabyte).
fn too_many_rights(key: StayKey) -> SimError {
    SimError::InvalidState(format!("container {} has too many release rights", key.1))
}

fn not_yours(action: ReleaseAction) -> SimError {
    SimError::NotAllowed(format!(
        "the release right is not assigned to you: cannot {}",
        action.as_str()
    ))
}

//! The virtual clock and the timers it fires: release-right expiry and the archive of a stay
//! after gate out.

use super::{dedup, Pending, World};
use crate::command::SimError;
use crate::ids::{NxtEntityId, ReleaseId};
use crate::lights::LightName;
use crate::notification::StoredBody;
use crate::notification::{Notification, NotificationEvent, NotificationType};
use crate::stay::{HistoryAction, HistoryRecord, RightState, StayKey};
use chrono::{DateTime, Duration, Utc};
use cpu_contract::NotificationBody;

/// The virtual clock: real time plus an offset, or frozen (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Wall clock plus an offset moved by `AdvanceClock`.
    Real {
        /// Accumulated advance.
        offset: Duration,
    },
    /// Stands still except when advanced.
    Frozen(DateTime<Utc>),
}

impl Clock {
    /// Now, on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Real { offset } => later(Utc::now(), *offset),
            Clock::Frozen(t) => *t,
        }
    }
    /// Move forward by `by`, unless that would pass [`LATEST`] (then nothing changes).
    pub(super) fn advance(&mut self, by: Duration) -> Result<(), SimError> {
        let too_far = || SimError::InvalidField {
            field: "seconds",
            message: format!("the clock cannot go past {LATEST}"),
        };
        match self.now().checked_add_signed(by) {
            Some(t) if t <= LATEST => {}
            _ => return Err(too_far()),
        }
        match self {
            Clock::Real { offset } => *offset = offset.checked_add(&by).ok_or_else(too_far)?,
            Clock::Frozen(t) => *t = t.checked_add_signed(by).ok_or_else(too_far)?,
        }
        Ok(())
    }
}

pub use cpu_contract::time::{time_problem, EARLIEST, LATEST};

/// [`time_problem`] as the error of a command field.
pub fn check_time(field: &'static str, t: DateTime<Utc>) -> Result<(), SimError> {
    match time_problem(t) {
        Some(message) => Err(SimError::InvalidField { field, message }),
        None => Ok(()),
    }
}

/// `t + d`, saturating at chrono's bounds instead of panicking.
pub(crate) fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t - d`, saturating.
pub(crate) fn earlier(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

/// A timer and when it falls due; the world's heap yields the earliest first (ties in the order
/// they were scheduled). A heap rather than an ordered map: a million stays hold two million
/// timers, and a heap slot is about half a map entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Due {
    pub(super) at: DateTime<Utc>,
    seq: u64,
    timer: Timer,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// A release right's expiry; its stay is found through `by_release` when it fires (a right
    /// no longer there belongs to an archived stay: nothing to do).
    Expire(ReleaseId),
    Archive(StayKey),
}

impl World {
    // ----- the clock -----

    pub(super) fn schedule(&mut self, at: DateTime<Utc>, timer: Timer) {
        self.timer_seq += 1;
        self.timers.push(Due {
            at,
            seq: self.timer_seq,
            timer,
        });
    }

    /// Notifications carried from a refused command, then the timers due now.
    pub(super) fn fire_due(&mut self) -> Vec<Notification> {
        let mut out = std::mem::take(&mut self.carried);
        out.extend(self.fire_timers());
        out
    }

    pub(super) fn fire_timers(&mut self) -> Vec<Notification> {
        let now = self.now();
        let mut out = Vec::new();
        while self.timers.peek().is_some_and(|d| d.at <= now) {
            let Some(Due { at, timer, .. }) = self.timers.pop() else {
                break;
            };
            match timer {
                Timer::Expire(id) => {
                    if let Some(key) = self.by_release.get(&id).copied() {
                        out.extend(self.expire(key, id, at));
                    }
                }
                Timer::Archive(key) => out.extend(self.archive(key, at)),
            }
        }
        let cutoff = earlier(now, self.config.notification_retention);
        self.notifications.prune(cutoff);
        // An archived stay goes with its InactiveReleaseRights notification: nothing refers to
        // it any more, and the list does not grow with every stay the world ever had.
        while self
            .archived
            .front()
            .is_some_and(|s| s.archived_at.is_none_or(|a| a < cutoff))
        {
            self.archived.pop_front();
        }
        out
    }

    pub(super) fn expire(
        &mut self,
        key: StayKey,
        id: ReleaseId,
        at: DateTime<Utc>,
    ) -> Vec<Notification> {
        let Some(stay) = self.stays.get_mut(&key) else {
            return Vec::new();
        };
        if stay.gated_out_at.is_some() {
            return Vec::new();
        }
        let Some(right) = stay
            .release_rights
            .iter_mut()
            .find(|r| r.release_id == id && r.state == RightState::Active && r.expires_at <= at)
        else {
            return Vec::new();
        };
        right.state = RightState::Expired;
        right.pickup = None;
        let reference = self.notifications.take_reference();
        stay.history.push(HistoryRecord {
            at,
            actor: HistoryRecord::CLOCK,
            reference: self.notifications.reference_bits(reference),
            action: HistoryAction::ReleaseRightExpired,
        });
        let old = stay.lights.commercial_release;
        stay.lights.commercial_release = stay.commercial_release_value();
        let new = stay.lights.commercial_release;
        let stay = &self.stays[&key];
        let Some(right) = stay.release_rights.iter().find(|r| r.release_id == id) else {
            return Vec::new();
        };
        let mut receivers: Vec<NxtEntityId> = right.parties().into_iter().cloned().collect();
        if let Some(t) = self.terminal(&right.terminal_code) {
            receivers.push(t.nxt_entity_id.clone());
        }
        dedup(&mut receivers);
        let mut pending = vec![Pending {
            receivers,
            kind: NotificationType::ReleaseRight,
            event: NotificationEvent::ExpiredReleaseRights,
            body: StoredBody::Right(self.right_view(stay, right)),
            release_id: Some(id),
        }];
        if old != new {
            pending.push(self.light_changed(
                stay,
                LightName::CommercialRelease,
                old.as_str(),
                new.as_str(),
                NotificationEvent::ReleaseLightChanged,
            ));
        }
        self.emit(pending, None, reference, None, Some(key.1), at)
    }

    pub(super) fn archive(&mut self, key: StayKey, at: DateTime<Utc>) -> Vec<Notification> {
        // The timer names a container, not a stay: after a repeated gate out an older timer may
        // find a later gate out (not yet due) or the container's next stay (never gated out).
        let due = self.stays.get(&key).is_some_and(|s| {
            s.gated_out_at
                .is_some_and(|g| later(g, self.config.archive_after) <= at)
        });
        if !due {
            return Vec::new();
        }
        let Some(mut stay) = self.stays.remove(&key) else {
            return Vec::new();
        };
        stay.archived_at = Some(at);
        for r in &stay.release_rights {
            self.by_release.remove(&r.release_id);
        }
        for r in &mut stay.release_rights {
            if r.state == RightState::Active {
                r.state = RightState::Archived;
            }
        }
        let receivers: Vec<NxtEntityId> = stay
            .release_rights
            .iter()
            .map(|r| r.shipping_agent.clone())
            .collect::<Vec<_>>();
        let release_id = stay.release_rights.last().map(|r| r.release_id);
        let body = self.stay_body(&stay);
        self.archived.push_back(*stay);
        let mut receivers = receivers;
        dedup(&mut receivers);
        let reference = self.notifications.take_reference();
        self.emit(
            vec![Pending {
                receivers,
                kind: NotificationType::ReleaseRight,
                event: NotificationEvent::InactiveReleaseRights,
                body: NotificationBody::Container(body).into(),
                release_id,
            }],
            None,
            reference,
            None,
            Some(key.1),
            at,
        )
    }
}

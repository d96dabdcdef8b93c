//! The virtual clock and the timers it fires: release-right expiry and the archive of a stay
//! after gate out.

use super::{dedup, Pending, World};
use crate::command::SimError;
use crate::ids::NxtEntityId;
use crate::lights::LightName;
use crate::notification::StoredBody;
use crate::notification::{Notification, NotificationEvent, NotificationType};
use crate::stay::{pack_key, unpack_key, HistoryAction, HistoryRecord, RightState, StayKey};
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
/// timers, and a heap slot is about half a map entry. 32 bytes: the timer is packed (stay key
/// and kind in one word, the right's index in another).
#[derive(Debug, Clone, Copy)]
pub(super) struct Due {
    pub(super) at: DateTime<Utc>,
    /// The order it was scheduled in (a right's first expiry timer has the number the right's
    /// id was minted with).
    pub(super) seq: u64,
    /// [`pack_key`] of the stay, with [`ARCHIVE`] set for an archive timer.
    stay: u64,
    /// An expiry's right: its index in the stay's release rights.
    right: u32,
}

/// The kind bit of [`Due::stay`] (a packed stay key has 61 bits).
const ARCHIVE: u64 = 1 << 63;

impl Due {
    fn new(at: DateTime<Utc>, seq: u64, timer: Timer) -> Self {
        let (stay, right) = match timer {
            Timer::Expire { stay, right } => (pack_key(stay), right),
            Timer::Archive(stay) => (pack_key(stay) | ARCHIVE, 0),
        };
        Due {
            at,
            seq,
            stay,
            right,
        }
    }

    /// The timer (always `Some`: the stay key was packed from a key).
    pub(super) fn timer(&self) -> Option<Timer> {
        let stay = unpack_key(self.stay & !ARCHIVE)?;
        Some(if self.stay & ARCHIVE == 0 {
            Timer::Expire {
                stay,
                right: self.right,
            }
        } else {
            Timer::Archive(stay)
        })
    }
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
    /// The expiry of the release right at index `right` of the stay `stay`. It names the right
    /// only if the right is not younger than the timer (its number, from its id, is at most the
    /// timer's `seq`): the same index in the container's next stay is another right. A right no
    /// longer there belongs to an archived stay: nothing to do.
    Expire {
        stay: StayKey,
        right: u32,
    },
    Archive(StayKey),
}

impl World {
    // ----- the clock -----

    /// Schedules `timer` at `at`; returns its sequence number (never 0, never given twice:
    /// 2^64 timers are far more than a world schedules).
    pub(super) fn schedule(&mut self, at: DateTime<Utc>, timer: Timer) -> u64 {
        self.timer_seq = self.timer_seq.saturating_add(1);
        self.timers.push(Due::new(at, self.timer_seq, timer));
        self.timer_seq
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
            let Some(due) = self.timers.pop() else {
                break;
            };
            match due.timer() {
                Some(Timer::Expire { stay, right }) => {
                    out.extend(self.expire(stay, right, due.seq, due.at));
                }
                Some(Timer::Archive(key)) => out.extend(self.archive(key, due.at)),
                None => {}
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

    /// The expiry (timer `seq`, due `at`) of the right at index `right` of the stay `key`.
    pub(super) fn expire(
        &mut self,
        key: StayKey,
        right: u32,
        seq: u64,
        at: DateTime<Utc>,
    ) -> Vec<Notification> {
        let Ok(idx) = usize::try_from(right) else {
            return Vec::new();
        };
        // The right the timer was scheduled for: one numbered no later than the timer.
        let named = self
            .stays
            .get(key)
            .and_then(|s| s.release_rights.get(idx))
            .and_then(|r| self.stays.release_number(r.release_id))
            .is_some_and(|n| n <= seq);
        if !named {
            return Vec::new();
        }
        let Some(stay) = self.stays.get_mut(key) else {
            return Vec::new();
        };
        if stay.gated_out_at.is_some() {
            return Vec::new();
        }
        let Some(right) = stay
            .release_rights
            .get_mut(idx)
            .filter(|r| r.state == RightState::Active && r.expires_at <= at)
        else {
            return Vec::new();
        };
        let id = right.release_id;
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
        let Some(stay) = self.stays.get(key) else {
            return Vec::new();
        };
        let Some(right) = stay.release_rights.get(idx) else {
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
        let due = self.stays.get(key).is_some_and(|s| {
            s.gated_out_at
                .is_some_and(|g| later(g, self.config.archive_after) <= at)
        });
        if !due {
            return Vec::new();
        }
        // Its rights leave with it: their ids name a stay that is no longer active.
        let Some(mut stay) = self.stays.remove(key) else {
            return Vec::new();
        };
        stay.archived_at = Some(at);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EquipmentNumber, UnLocode};

    #[test]
    fn a_timer_is_32_bytes_and_unpacks_to_what_was_scheduled() {
        assert_eq!(std::mem::size_of::<Due>(), 32);
        let key = (
            UnLocode::parse("ZZ999").unwrap(),
            EquipmentNumber::from_serial("ZZZZ", 999_999).unwrap(),
        );
        for timer in [
            Timer::Archive(key),
            Timer::Expire {
                stay: key,
                right: 0,
            },
            Timer::Expire {
                stay: key,
                right: u32::MAX - 1,
            },
        ] {
            assert_eq!(Due::new(EARLIEST, 1, timer).timer(), Some(timer));
        }
    }

    #[test]
    fn the_earliest_timer_pops_first_then_the_first_scheduled() {
        let key = (
            UnLocode::antwerp(),
            EquipmentNumber::from_serial("TESU", 1).unwrap(),
        );
        let t = EARLIEST + Duration::days(1);
        let mut heap = std::collections::BinaryHeap::new();
        for (at, seq) in [(t, 3), (EARLIEST, 4), (t, 1), (t, 2)] {
            heap.push(Due::new(at, seq, Timer::Archive(key)));
        }
        let order: Vec<u64> = std::iter::from_fn(|| heap.pop().map(|d| d.seq)).collect();
        assert_eq!(order, [4, 1, 2, 3]);
    }
}

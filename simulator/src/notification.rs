//! Notifications: what CPu tells each party after a change, and the log they are queried from.
//!
//! Envelope fields follow the reference notes section 2.1. The log keeps notifications for the
//! retention period (168 h by default) and indexes them by receiver, by (receiver, container) and by
//! public reference id, so a query costs the same with a thousand or a million containers.

use crate::ids::{EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use cpu_contract::NotificationBody;
use std::collections::{HashMap, VecDeque};
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

    fn matches(&self, n: &Notification) -> bool {
        self.event.is_none_or(|e| e == n.event)
            && self.equipment.is_none_or(|e| Some(e) == n.equipment)
            && self
                .public_reference_id
                .is_none_or(|p| p == n.public_reference_id)
            && self.release_id.is_none_or(|r| Some(r) == n.release_id)
            && self.stored_on.is_none_or(|d| n.stored_on.date_naive() == d)
            && self.window.is_none_or(|(from, to)| {
                let t = n.stored_on.time();
                t >= from && t <= to
            })
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

/// The notification log of one world.
#[derive(Debug, Default)]
pub struct NotificationLog {
    items: VecDeque<Notification>,
    base: u64,
    by_receiver: HashMap<NxtEntityId, VecDeque<u64>>,
    by_receiver_equipment: HashMap<(NxtEntityId, EquipmentNumber), VecDeque<u64>>,
    by_reference: HashMap<PublicReferenceId, Vec<u64>>,
}

impl NotificationLog {
    /// Number of stored notifications.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u64 {
        self.base + self.items.len() as u64
    }

    /// Append (the caller sets `seq` from [`Self::next_seq`]).
    pub(crate) fn push(&mut self, n: Notification) {
        debug_assert_eq!(n.seq, self.next_seq());
        let seq = n.seq;
        self.by_receiver
            .entry(n.receiver.clone())
            .or_default()
            .push_back(seq);
        if let Some(e) = n.equipment {
            self.by_receiver_equipment
                .entry((n.receiver.clone(), e))
                .or_default()
                .push_back(seq);
        }
        self.by_reference
            .entry(n.public_reference_id)
            .or_default()
            .push(seq);
        self.items.push_back(n);
    }

    fn get(&self, seq: u64) -> Option<&Notification> {
        seq.checked_sub(self.base)
            .and_then(|i| self.items.get(usize::try_from(i).ok()?))
    }

    /// Drop notifications stored before `cutoff`.
    pub(crate) fn prune(&mut self, cutoff: DateTime<Utc>) {
        while self.items.front().is_some_and(|n| n.stored_on < cutoff) {
            let Some(n) = self.items.pop_front() else {
                break;
            };
            self.base += 1;
            if let Some(q) = self.by_receiver.get_mut(&n.receiver) {
                q.pop_front();
                if q.is_empty() {
                    self.by_receiver.remove(&n.receiver);
                }
            }
            if let Some(e) = n.equipment {
                let key = (n.receiver.clone(), e);
                if let Some(q) = self.by_receiver_equipment.get_mut(&key) {
                    q.pop_front();
                    if q.is_empty() {
                        self.by_receiver_equipment.remove(&key);
                    }
                }
            }
            if let Some(v) = self.by_reference.get_mut(&n.public_reference_id) {
                v.retain(|&s| s != n.seq);
                if v.is_empty() {
                    self.by_reference.remove(&n.public_reference_id);
                }
            }
        }
    }

    /// Notifications for `receiver` matching `q`, oldest first.
    pub fn query(
        &self,
        receiver: &NxtEntityId,
        q: &NotificationQuery,
    ) -> Result<Vec<&Notification>, QueryError> {
        let found: Vec<&Notification> = if let Some(p) = q.public_reference_id {
            let all: Vec<&Notification> = self
                .by_reference
                .get(&p)
                .into_iter()
                .flatten()
                .filter_map(|&s| self.get(s))
                .collect();
            let mine: Vec<&Notification> = all
                .iter()
                .copied()
                .filter(|n| &n.receiver == receiver)
                .collect();
            if mine.is_empty() && !all.is_empty() {
                return Err(QueryError::NotYours);
            }
            mine.into_iter().filter(|n| q.matches(n)).collect()
        } else if let Some(e) = q.equipment {
            self.by_receiver_equipment
                .get(&(receiver.clone(), e))
                .into_iter()
                .flatten()
                .filter_map(|&s| self.get(s))
                .filter(|n| q.matches(n))
                .collect()
        } else {
            self.by_receiver
                .get(receiver)
                .into_iter()
                .flatten()
                .filter_map(|&s| self.get(s))
                .filter(|n| q.matches(n))
                .collect()
        };
        if found.is_empty() {
            Err(QueryError::NoneMatch)
        } else {
            Ok(found)
        }
    }

    /// Every notification of one receiver (control API), oldest first.
    pub fn for_receiver(&self, receiver: &NxtEntityId) -> Vec<&Notification> {
        self.by_receiver
            .get(receiver)
            .into_iter()
            .flatten()
            .filter_map(|&s| self.get(s))
            .collect()
    }

    /// Every stored notification, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Notification> {
        self.items.iter()
    }
}

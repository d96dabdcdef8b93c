//! Notifications of a change: who hears of a light that changed, and the log they are stored in.

use super::{Pending, World};
use crate::ids::{EquipmentNumber, NxtEntityId, PublicReferenceId};
use crate::lights::LightName;
use crate::notification::{Notification, NotificationEvent, NotificationType};
use crate::notification::{StoredBody, Subject};
use crate::stay::Stay;
use chrono::{DateTime, Utc};
use std::sync::Arc;

impl World {
    pub(super) fn light_changed(
        &self,
        stay: &Stay,
        name: LightName,
        old: &'static str,
        new: &'static str,
        event: NotificationEvent,
    ) -> Pending {
        let mut receivers = Vec::new();
        if let Some(t) = stay.terminal_code.as_ref().and_then(|t| self.terminal(t)) {
            receivers.push(t.nxt_entity_id.clone());
        }
        receivers.extend(stay.interested_parties());
        let right = stay.active_rights().next().or(stay.release_rights.last());
        let body = StoredBody::LightChanged {
            subject: match right {
                Some(r) => Subject::Right(self.right_view(stay, r)),
                None => Subject::Container(self.stay_body(stay)),
            },
            name,
            original: old,
            new,
            status: stay.lights.status(),
        };
        Pending {
            receivers,
            kind: NotificationType::ReleaseLight,
            event,
            body,
            release_id: right.map(|r| r.release_id),
        }
    }

    pub(super) fn emit(
        &mut self,
        pending: Vec<Pending>,
        sender: Option<&NxtEntityId>,
        reference: PublicReferenceId,
        external: Option<Arc<str>>,
        equipment: Option<EquipmentNumber>,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        for mut p in pending {
            // The caller of an accepted call always gets its notifications (seed: "any response
            // will be provided through a notification with corresponding public reference id").
            if let Some(s) = sender.filter(|s| !p.receivers.contains(s)) {
                p.receivers.push(s.clone());
            }
            out.extend(self.notifications.record(
                p.receivers,
                now,
                sender,
                reference,
                external.clone(),
                (p.kind, p.event),
                equipment,
                p.release_id,
                p.body,
            ));
        }
        out
    }
}

pub(super) fn dedup(v: &mut Vec<NxtEntityId>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

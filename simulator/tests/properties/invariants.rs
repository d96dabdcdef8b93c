//! The invariant checker: a snapshot of what a refused command must leave untouched, and the
//! checks after every step of a sequence (lights, release-right chains, gate out and archive,
//! the notification log and its indexes).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use proptest::test_runner::TestCaseError;

use cpu_simulator::stay::{RightState, StakeholderState};
use cpu_simulator::*;

use crate::common::world;
use crate::containers;
use crate::model::{color_of, expected_status};

/// What an erroring command must leave untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    now: DateTime<Utc>,
    stays: Vec<Option<Stay>>,
    archived: Vec<Vec<Stay>>,
    notification_count: usize,
    next_seq: u64,
}

pub fn snapshot(w: &World) -> Snapshot {
    let l = UnLocode::antwerp();
    Snapshot {
        now: w.now(),
        stays: containers()
            .iter()
            .map(|&e| w.stay(l, e).cloned())
            .collect(),
        archived: containers()
            .iter()
            .map(|&e| w.archived_stays(l, e).cloned().collect())
            .collect(),
        notification_count: w.notifications().len(),
        next_seq: w.notifications().next_seq(),
    }
}

/// State carried across the steps of one sequence.
#[derive(Default)]
struct Tracker {
    /// Release rights seen in a final state (Expired, Deleted, Archived).
    dead: HashSet<ReleaseId>,
    /// Release ids of archived stays.
    archived_rights: HashSet<ReleaseId>,
    last_seq: Option<u64>,
}

macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($fmt)+)));
        }
    };
}

fn check_stay(
    stay: &Stay,
    tr: &Tracker,
    known: &HashSet<NxtEntityId>,
) -> Result<(), TestCaseError> {
    let eq = stay.equipment;
    let views = stay.lights.views();
    for v in &views {
        check!(
            v.color.as_str() == color_of(v.name, v.value),
            "{eq}: light {} value {} has colour {:?}",
            v.name,
            v.value,
            v.color
        );
    }
    check!(
        stay.lights.status().as_str() == expected_status(&views),
        "{eq}: status {} disagrees with the lights {views:?}",
        stay.lights.status()
    );
    for r in &stay.release_rights {
        check!(
            known.contains(&r.shipping_agent),
            "{eq}: unknown agent {}",
            r.shipping_agent
        );
        check!(
            !r.chain.iter().any(|s| s.party == r.shipping_agent),
            "{eq}: the chain of {} contains the agent: {:?}",
            r.release_id,
            r.chain
        );
        let parties: HashSet<&NxtEntityId> = r.chain.iter().map(|s| &s.party).collect();
        check!(
            parties.len() == r.chain.len(),
            "{eq}: a party appears twice in the chain of {}: {:?}",
            r.release_id,
            r.chain
        );
        let pending: Vec<usize> = r
            .chain
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == StakeholderState::Pending)
            .map(|(i, _)| i)
            .collect();
        check!(
            pending.is_empty() || pending == [r.chain.len() - 1],
            "{eq}: pending stakeholders at {pending:?} in a chain of {}",
            r.chain.len()
        );
        check!(
            !(r.state == RightState::Active && tr.dead.contains(&r.release_id)),
            "{eq}: right {} became active again",
            r.release_id
        );
    }
    Ok(())
}

fn is_right_action(c: &Command) -> bool {
    matches!(c, Command::Act { action, .. }
        if matches!(**action, Action::ReleaseRight(_) | Action::PickupRight { .. }))
}

fn command_key(c: &Command) -> Option<EquipmentNumber> {
    match c {
        Command::Act { equipment, .. } => Some(*equipment),
        _ => None,
    }
}

fn step(w: &mut World, tr: &mut Tracker, c: Command) -> Result<(), TestCaseError> {
    let known: HashSet<NxtEntityId> = w
        .parties()
        .iter()
        .map(|p| p.nxt_entity_id.clone())
        .collect();
    let before = snapshot(w);
    let gated_before: HashMap<EquipmentNumber, Stay> = containers()
        .iter()
        .zip(&before.stays)
        .filter_map(|(&e, s)| {
            s.clone()
                .filter(|s| s.gated_out_at.is_some())
                .map(|s| (e, s))
        })
        .collect();
    let archived_before = tr.archived_rights.clone();

    let result = w.apply(c.clone());
    let after = snapshot(w);

    match &result {
        Err(e) => check!(
            after == before,
            "{c:?} failed with {e:?} but changed the world:\nbefore {before:#?}\nafter {after:#?}"
        ),
        Ok(o) => {
            // The caller of an accepted call reads its notification by publicReferenceId.
            if let (Command::Act { caller, .. }, Some(reference)) = (&c, o.public_reference_id) {
                let q = NotificationQuery {
                    public_reference_id: Some(reference),
                    ..Default::default()
                };
                check!(
                    w.query_notifications(caller, &q).is_ok(),
                    "{c:?}: the caller cannot read the notification of its own call"
                );
            }
            // Terminal scoping: a terminal event is accepted only from the container's terminal.
            if let Command::Act {
                action, equipment, ..
            } = &c
            {
                if let Action::Terminal(ev) = &**action {
                    let at = before.stays
                        [containers().iter().position(|e| e == equipment).unwrap()]
                    .as_ref()
                    .and_then(|s| {
                        s.active_rights()
                            .last()
                            .map(|r| r.terminal_code.clone())
                            .or(s.terminal_code.clone())
                    });
                    check!(
                        at.is_none_or(|t| t == ev.terminal_code),
                        "{c:?}: a terminal event of another terminal was accepted"
                    );
                }
            }
            check!(
                (after.next_seq - before.next_seq) as usize == o.notifications.len(),
                "{c:?}: the log grew by {} but the outcome carries {} notifications",
                after.next_seq - before.next_seq,
                o.notifications.len()
            );
            for n in &o.notifications {
                check!(
                    known.contains(&n.receiver),
                    "notification to unknown receiver {}",
                    n.receiver
                );
                check!(
                    tr.last_seq.is_none_or(|s| n.seq > s),
                    "seq {} after {:?}",
                    n.seq,
                    tr.last_seq
                );
                tr.last_seq = Some(n.seq);
                check!(
                    n.release_id.is_none_or(|r| !archived_before.contains(&r)),
                    "{c:?}: notification {:?} refers to release right {:?} of an archived stay",
                    n.event,
                    n.release_id
                );
            }
        }
    }

    // After gate out, release-right and pickup actions fail and the rights do not change.
    if let Some(e) = command_key(&c) {
        if gated_before.contains_key(&e) && is_right_action(&c) {
            check!(
                result.is_err(),
                "{c:?} succeeded on a container that has gated out"
            );
        }
    }
    let l = UnLocode::antwerp();
    for (e, old) in &gated_before {
        if let Some(s) = w.stay(l, *e) {
            check!(
                s.release_rights == old.release_rights,
                "{e}: release rights changed after gate out"
            );
        }
    }

    // Every active stay.
    let now = w.now();
    for (i, e) in containers().iter().enumerate() {
        if let Some(s) = w.stay(l, *e) {
            check!(s.archived_at.is_none(), "{e}: active stay has archived_at");
            check!(
                s.lights.commercial_release == s.commercial_release_value(),
                "{e}: CommercialRelease light {} but the rights say {}",
                s.lights.commercial_release,
                s.commercial_release_value()
            );
            check_stay(s, tr, &known)?;
            if result.is_ok() && s.gated_out_at.is_none() {
                for r in s.active_rights() {
                    check!(
                        r.expires_at > now,
                        "{e}: right {} is active at {now} but expired at {}",
                        r.release_id,
                        r.expires_at
                    );
                }
            }
        }
        // Archived stays never change; each was gated out 14 days before. The oldest are
        // dropped once archived longer than the notification retention ago, and only those.
        let old = &before.archived[i];
        let new = &after.archived[i];
        let retained = now - w.config().notification_retention;
        let dropped = old
            .iter()
            .take_while(|s| s.archived_at.is_some_and(|a| a < retained))
            .count();
        let kept = &old[dropped..];
        check!(
            new.len() >= kept.len() && new[..kept.len()] == kept[..],
            "{e}: an archived stay changed"
        );
        check!(
            new.iter()
                .all(|s| s.archived_at.is_some_and(|a| a >= retained)),
            "{e}: an archived stay kept past the retention"
        );
        for s in new {
            check!(
                s.gated_out_at.is_some_and(|g| s
                    .archived_at
                    .is_some_and(|a| a >= g + w.config().archive_after)),
                "{e}: archived without a gate out 14 days before: gated out {:?}, archived {:?}",
                s.gated_out_at,
                s.archived_at
            );
            check!(
                s.active_rights().next().is_none(),
                "{e}: archived stay with an active right"
            );
            check_stay(s, tr, &known)?;
            tr.archived_rights
                .extend(s.release_rights.iter().map(|r| r.release_id));
        }
    }
    // Remember final rights.
    for e in containers() {
        for s in w.stay(l, e).into_iter().chain(w.archived_stays(l, e)) {
            tr.dead.extend(
                s.release_rights
                    .iter()
                    .filter(|r| r.state != RightState::Active)
                    .map(|r| r.release_id),
            );
        }
    }

    // The log: increasing seq, known receivers, nothing older than the retention.
    let cutoff = now - w.config().notification_retention;
    let mut prev: Option<u64> = None;
    for n in w.notifications().iter() {
        check!(prev.is_none_or(|p| n.seq > p), "log seq not increasing");
        prev = Some(n.seq);
        check!(known.contains(&n.receiver), "unknown receiver in the log");
        if result.is_ok() {
            check!(
                n.stored_on >= cutoff,
                "notification kept past the retention"
            );
        }
    }
    // The log's indexes (receiver, container and public reference id chains) find exactly what
    // a scan of the log finds, rendered alike.
    let log = w.notifications();
    let all: Vec<Notification> = log.iter().collect();
    let mut references: Vec<PublicReferenceId> =
        all.iter().map(|n| n.public_reference_id).collect();
    references.dedup();
    for r in &known {
        let scan = |keep: &dyn Fn(&Notification) -> bool| -> Vec<Notification> {
            all.iter()
                .filter(|n| &n.receiver == r && keep(n))
                .cloned()
                .collect()
        };
        check!(
            log.for_receiver(r) == scan(&|_| true),
            "the receiver chain of {r} disagrees with the log"
        );
        for e in containers() {
            let q = NotificationQuery {
                equipment: Some(e),
                ..Default::default()
            };
            check!(
                log.query(r, &q).unwrap_or_default() == scan(&|n| n.equipment == Some(e)),
                "the container chain of {e} disagrees with the log for {r}"
            );
        }
        for &p in &references {
            let q = NotificationQuery {
                public_reference_id: Some(p),
                ..Default::default()
            };
            let mine = scan(&|n| n.public_reference_id == p);
            match log.query(r, &q) {
                Ok(found) => check!(found == mine, "the reference chain of {p} disagrees"),
                Err(QueryError::NotYours) => check!(mine.is_empty(), "{p}: 403 with notifications"),
                Err(QueryError::NoneMatch) => check!(false, "{p}: 405 for a stored reference"),
            }
        }
    }
    Ok(())
}

/// Applies `commands` to a fresh world, checking the invariants after each.
pub fn run(commands: Vec<Command>) -> Result<(), TestCaseError> {
    let mut w = world();
    let mut tr = Tracker::default();
    for c in commands {
        step(&mut w, &mut tr, c)?;
    }
    Ok(())
}

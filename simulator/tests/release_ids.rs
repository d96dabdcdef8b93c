//! Release ids name their stay: a right is found from its id without a map, only while its
//! stay is active, and never as a right of the container's next stay; the expiry timers name a
//! right by its stay and index and fire in the order they were scheduled.

use chrono::{DateTime, Duration, Utc};

use cpu_simulator::*;

mod common;
use common::{id, t0, terminal, world};

fn x() -> EquipmentNumber {
    EquipmentNumber::parse("MSCU1234566").unwrap()
}

fn y() -> EquipmentNumber {
    EquipmentNumber::from_serial("YYYU", 1).unwrap()
}

fn act(
    w: &mut World,
    who: &str,
    equipment: EquipmentNumber,
    action: Action,
) -> Result<Outcome, SimError> {
    common::act_as(w, who, equipment, None, action)
}

fn release(expires_at: Option<DateTime<Utc>>, reference: Option<&str>) -> Action {
    let mut c = ReleaseRightCommand::new(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.expires_at = expires_at;
    c.selector.release_identification = reference.map(str::to_owned);
    Action::ReleaseRight(c)
}

/// Releases `equipment`; returns the new right's id.
fn released(
    w: &mut World,
    equipment: EquipmentNumber,
    expires_at: Option<DateTime<Utc>>,
    reference: Option<&str>,
) -> ReleaseId {
    let o = act(w, "agent", equipment, release(expires_at, reference)).unwrap();
    o.notifications[0].release_id.unwrap()
}

fn gate_out(w: &mut World, equipment: EquipmentNumber) {
    act(
        w,
        "psa",
        equipment,
        terminal(TerminalAction::GateOut, "869"),
    )
    .unwrap();
}

fn advance_to(w: &mut World, t: DateTime<Utc>) -> Vec<Notification> {
    let seconds = (t - w.now()).num_seconds();
    w.apply(Command::AdvanceClock { seconds })
        .unwrap()
        .notifications
}

fn found(w: &World, rid: ReleaseId) -> bool {
    match w.release_right_detail(&id(w, "psa"), rid) {
        Ok(d) => d.release_id == Some(rid.0),
        Err(SimError::InvalidState(_)) => false,
        Err(e) => panic!("{e:?}"),
    }
}

fn right_state(w: &World, equipment: EquipmentNumber, rid: ReleaseId) -> stay::RightState {
    let stay = w.stay(UnLocode::antwerp(), equipment).unwrap();
    stay.release_rights
        .iter()
        .find(|r| r.release_id == rid)
        .unwrap()
        .state
}

#[test]
fn release_ids_are_version_4_unique_and_found_while_their_stay_is_active() {
    let mut w = world();
    let a = released(&mut w, x(), None, Some("A"));
    let b = released(&mut w, x(), None, Some("B"));
    let c = released(&mut w, y(), None, None);
    assert!(a != b && b != c && a != c);
    for rid in [a, b, c] {
        assert_eq!(rid.0.get_version_num(), 4, "{rid}");
        assert!(found(&w, rid), "{rid}");
    }
    // The detail is the right's own.
    let d = w.release_right_detail(&id(&w, "psa"), c).unwrap();
    assert_eq!(d.equipment_number, y().as_str());
    // Random GUIDs, the nil GUID and another world's ids are unknown.
    let mut other = world();
    let foreign = released(&mut other, x(), None, Some("A"));
    assert!(!found(&w, foreign));
    assert!(!found(&w, ReleaseId(uuid::Uuid::nil())));
    for _ in 0..200 {
        assert!(!found(&w, ReleaseId(uuid::Uuid::new_v4())));
    }
    // Preloaded rights get ids of the same kind.
    let template = PreloadStay {
        terminal_code: TerminalCode::parse("869").unwrap(),
        shipping_agent: id(&w, "agent"),
        holder: None,
        alfapass: None,
        bill_of_lading_numbers: vec![],
    };
    let z = EquipmentNumber::from_serial("PREU", 7).unwrap();
    w.preload(UnLocode::antwerp(), &template, [z]).unwrap();
    let p = w.stay(UnLocode::antwerp(), z).unwrap().release_rights[0].release_id;
    assert_eq!(p.0.get_version_num(), 4);
    assert!(found(&w, p) && ![a, b, c].contains(&p));
}

#[test]
fn an_archived_stays_rights_are_not_found_nor_taken_for_the_next_stays() {
    let mut w = world();
    let old = released(&mut w, x(), None, None);
    gate_out(&mut w, x());
    assert!(found(&w, old));
    advance_to(&mut w, t0() + Duration::days(15));
    assert!(w.stay(UnLocode::antwerp(), x()).is_none());
    assert!(!found(&w, old));
    // The container's next stay: same stay key, same index, another right.
    let new = released(&mut w, x(), None, None);
    assert_ne!(old, new);
    assert!(found(&w, new) && !found(&w, old));
    // The old id selects nothing in the new stay.
    let mut c = ReleaseRightCommand::new(ReleaseAction::Block);
    c.selector.release_id = Some(old);
    let e = act(&mut w, "agent", x(), Action::ReleaseRight(c)).unwrap_err();
    assert!(matches!(e, SimError::InvalidState(_)), "{e:?}");
}

#[test]
fn an_archived_stays_expiry_does_nothing_to_the_next_stay_and_timers_keep_their_order() {
    let mut w = world();
    let expiry = t0() + Duration::days(30);
    // The first stay of x: its right expires at `expiry`, but the stay is archived before.
    let old = released(&mut w, x(), Some(expiry), None);
    gate_out(&mut w, x());
    advance_to(&mut w, t0() + Duration::days(15));
    assert!(w.stay(UnLocode::antwerp(), x()).is_none());
    // y, then the next stay of x, expire at the same instant: y's timer was scheduled first.
    let ry = released(&mut w, y(), Some(expiry), None);
    let rx = released(&mut w, x(), Some(expiry), None);
    let fired = advance_to(&mut w, expiry);
    let expired: Vec<(EquipmentNumber, ReleaseId)> = fired
        .iter()
        .filter(|n| n.event == NotificationEvent::ExpiredReleaseRights)
        .map(|n| (n.equipment.unwrap(), n.release_id.unwrap()))
        .fold(Vec::new(), |mut v, e| {
            if !v.contains(&e) {
                v.push(e);
            }
            v
        });
    // The old stay's timer (scheduled before both) did not expire x's new right ahead of y's.
    assert_eq!(expired, vec![(y(), ry), (x(), rx)]);
    assert!(!expired.iter().any(|(_, r)| *r == old));
    assert_eq!(right_state(&w, x(), rx), stay::RightState::Expired);
    assert_eq!(right_state(&w, y(), ry), stay::RightState::Expired);
}

#[test]
fn each_right_of_a_stay_expires_at_its_own_time() {
    let mut w = world();
    let a = released(&mut w, x(), Some(t0() + Duration::days(10)), Some("A"));
    let b = released(&mut w, x(), Some(t0() + Duration::days(20)), Some("B"));
    // A is postponed past B: its first timer (day 10) finds it not due.
    let mut u = ReleaseRightCommand::new(ReleaseAction::Update);
    u.selector.release_id = Some(a);
    u.expires_at = Some(t0() + Duration::days(30));
    act(&mut w, "agent", x(), Action::ReleaseRight(u)).unwrap();
    advance_to(&mut w, t0() + Duration::days(10));
    assert_eq!(right_state(&w, x(), a), stay::RightState::Active);
    assert_eq!(right_state(&w, x(), b), stay::RightState::Active);
    let fired = advance_to(&mut w, t0() + Duration::days(20));
    assert!(fired
        .iter()
        .filter(|n| n.event == NotificationEvent::ExpiredReleaseRights)
        .all(|n| n.release_id == Some(b)));
    assert_eq!(right_state(&w, x(), a), stay::RightState::Active);
    assert_eq!(right_state(&w, x(), b), stay::RightState::Expired);
    advance_to(&mut w, t0() + Duration::days(30));
    assert_eq!(right_state(&w, x(), a), stay::RightState::Expired);
}

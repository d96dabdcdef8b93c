//! The import lifecycle through `World::apply`, as every party.

use chrono::Utc;

use cpu_simulator::*;

mod common;
use common::{eq, id, world};

fn act(w: &mut World, who: &str, action: Action) -> Result<Outcome, SimError> {
    common::act_as(w, who, eq(), Some("ext-1"), action)
}

fn terminal(action: TerminalAction) -> Action {
    Action::Terminal(TerminalEventCommand {
        action,
        terminal_code: TerminalCode::parse("869").unwrap(),
        occurred_at: Utc::now(),
        import: false,
        full_empty: None,
        mode_of_transport: None,
        bill_of_lading_numbers: vec![],
        stay_number: None,
    })
}

fn release_to(key: &str, w: &World) -> Action {
    let mut c = ReleaseRightCommand::new(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: id(w, key).as_str().into(),
    });
    c.bill_of_lading_numbers = vec!["BL1".into()];
    Action::ReleaseRight(c)
}

fn rr(action: ReleaseAction) -> Action {
    Action::ReleaseRight(ReleaseRightCommand::new(action))
}

fn status(w: &World) -> OverallStatus {
    w.stay(UnLocode::antwerp(), eq()).unwrap().lights.status()
}

#[test]
fn full_truck_lifecycle() {
    let mut w = world();
    // Discharge before the commercial release waits.
    let o = act(&mut w, "psa", terminal(TerminalAction::Discharge)).unwrap();
    assert_eq!(o.notifications.len(), 1);
    assert_eq!(
        o.notifications[0].event,
        NotificationEvent::ReleaseLightRegistered
    );
    assert_eq!(
        w.stay(UnLocode::antwerp(), eq())
            .unwrap()
            .lights
            .terminal_operation
            .as_str(),
        "UNKNOWN"
    );
    let discharge_ref = o.public_reference_id.unwrap();

    let o = {
        let a = release_to("trucker", &w);
        act(&mut w, "agent", a)
    }
    .unwrap();
    let stay = w.stay(UnLocode::antwerp(), eq()).unwrap();
    assert_eq!(stay.lights.commercial_release.as_str(), "OK");
    assert_eq!(
        stay.lights.terminal_operation.as_str(),
        "DISCHARGED",
        "waiting discharge attached"
    );
    assert!(o
        .notifications
        .iter()
        .any(|n| n.public_reference_id == discharge_ref
            && n.event == NotificationEvent::ReleaseLightChanged));
    assert!(o
        .notifications
        .iter()
        .any(|n| n.receiver == id(&w, "trucker") && n.event == NotificationEvent::Release));
    assert_eq!(status(&w), OverallStatus::NotReleased);

    // Trucker cannot assign before accepting.
    let assign = Action::PickupRight {
        action: PickupAction::Assign,
        selector: RightSelector::default(),
        target: Some(PickupTarget::Truck(
            AlfapassNumber::parse("AP1000001").unwrap(),
        )),
    };
    assert!(matches!(
        act(&mut w, "trucker", assign.clone()),
        Err(SimError::NotAllowed(_))
    ));
    act(&mut w, "trucker", rr(ReleaseAction::Accept)).unwrap();
    act(&mut w, "trucker", assign).unwrap();

    act(
        &mut w,
        "customs",
        Action::SetCustoms(CustomsValue::Released),
    )
    .unwrap();
    let o = act(&mut w, "psa", terminal(TerminalAction::Release)).unwrap();
    assert!(o
        .notifications
        .iter()
        .any(|n| n.event == NotificationEvent::TerminalRelease && n.receiver == id(&w, "agent")));
    assert!(o
        .notifications
        .iter()
        .any(|n| n.event == NotificationEvent::TerminalRelease && n.receiver == id(&w, "trucker")));
    assert_eq!(status(&w), OverallStatus::Released);

    let v = w.validate_truck_pickup(UnLocode::antwerp(), "AP1000001", eq(), &[], None);
    assert!(v.is_valid, "{:?}", v.error_messages);
    assert_eq!(v.status, "RELEASED");
    let v = w.validate_truck_pickup(UnLocode::antwerp(), "AP2000001", eq(), &[], None);
    assert!(!v.is_valid);
    assert_eq!(v.status, "RELEASED");

    act(&mut w, "psa", terminal(TerminalAction::GateOut)).unwrap();
    let v = w.validate_truck_pickup(UnLocode::antwerp(), "AP1000001", eq(), &[], None);
    assert!(!v.is_valid);
    // Visible 14 days, then archived.
    w.apply(Command::AdvanceClock {
        seconds: 13 * 86_400,
    })
    .unwrap();
    assert!(w.stay(UnLocode::antwerp(), eq()).is_some());
    w.apply(Command::AdvanceClock {
        seconds: 2 * 86_400,
    })
    .unwrap();
    assert!(w.stay(UnLocode::antwerp(), eq()).is_none());
    assert_eq!(w.archived_stays(UnLocode::antwerp(), eq()).count(), 1);
}

#[test]
fn release_right_chain() {
    let mut w = world();
    {
        let a = release_to("forwarder", &w);
        act(&mut w, "agent", a)
    }
    .unwrap();
    // Out of order: trucker cannot accept; forwarder cannot transfer before accepting.
    assert!(act(&mut w, "trucker", rr(ReleaseAction::Accept)).is_err());
    let mut t = ReleaseRightCommand::new(ReleaseAction::Transfer);
    t.release_to = Some(Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: id(&w, "trucker").as_str().into(),
    });
    assert!(matches!(
        act(&mut w, "forwarder", Action::ReleaseRight(t.clone())),
        Err(SimError::NotAllowed(_))
    ));
    act(&mut w, "forwarder", rr(ReleaseAction::Accept)).unwrap();
    act(&mut w, "forwarder", Action::ReleaseRight(t.clone())).unwrap();
    // Revoke before accept works; then transfer again, decline returns it.
    let o = act(&mut w, "forwarder", rr(ReleaseAction::Revoke)).unwrap();
    assert!(o
        .notifications
        .iter()
        .any(|n| n.event == NotificationEvent::RevokedByPreviousParty
            && n.receiver == id(&w, "trucker")));
    act(&mut w, "forwarder", Action::ReleaseRight(t.clone())).unwrap();
    act(&mut w, "trucker", rr(ReleaseAction::Decline)).unwrap();
    let right = &w.stay(UnLocode::antwerp(), eq()).unwrap().release_rights[0];
    assert_eq!(right.holder(), &id(&w, "forwarder"));
    act(&mut w, "forwarder", Action::ReleaseRight(t)).unwrap();
    act(&mut w, "trucker", rr(ReleaseAction::Accept)).unwrap();
    // Accepted transfer cannot be revoked by the forwarder.
    assert!(matches!(
        act(&mut w, "forwarder", rr(ReleaseAction::Revoke)),
        Err(SimError::InvalidState(_))
    ));
    // Agent block -> BLOCKED; unblock -> back.
    act(&mut w, "agent", rr(ReleaseAction::Block)).unwrap();
    assert_eq!(status(&w), OverallStatus::Blocked);
    act(&mut w, "agent", rr(ReleaseAction::Unblock)).unwrap();
    assert_eq!(
        w.stay(UnLocode::antwerp(), eq())
            .unwrap()
            .lights
            .commercial_release
            .as_str(),
        "OK"
    );
    // Forwarder cannot block (agent only) -> NotAllowed, no change.
    let before = w.stay(UnLocode::antwerp(), eq()).unwrap().clone();
    assert!(matches!(
        act(&mut w, "forwarder", rr(ReleaseAction::Block)),
        Err(SimError::NotAllowed(_))
    ));
    assert_eq!(w.stay(UnLocode::antwerp(), eq()).unwrap(), &before);
}

#[test]
fn expiry_after_60_days() {
    let mut w = world();
    {
        let a = release_to("trucker", &w);
        act(&mut w, "agent", a)
    }
    .unwrap();
    let o = w
        .apply(Command::AdvanceClock {
            seconds: 60 * 86_400,
        })
        .unwrap();
    assert!(o
        .notifications
        .iter()
        .any(|n| n.event == NotificationEvent::ExpiredReleaseRights));
    assert_eq!(
        w.stay(UnLocode::antwerp(), eq())
            .unwrap()
            .lights
            .commercial_release
            .as_str(),
        "EXPIRED"
    );
    assert_eq!(status(&w), OverallStatus::Blocked);
}

#[test]
fn notification_retention_and_403() {
    let mut w = world();
    let o = {
        let a = release_to("trucker", &w);
        act(&mut w, "agent", a)
    }
    .unwrap();
    let r = o.public_reference_id.unwrap();
    let q = NotificationQuery {
        public_reference_id: Some(r),
        ..Default::default()
    };
    assert!(w.query_notifications(&id(&w, "agent"), &q).is_ok());
    assert_eq!(
        w.query_notifications(&id(&w, "barge"), &q).unwrap_err(),
        QueryError::NotYours
    );
    w.apply(Command::AdvanceClock {
        seconds: 169 * 3600,
    })
    .unwrap();
    assert_eq!(
        w.query_notifications(&id(&w, "agent"), &q).unwrap_err(),
        QueryError::NoneMatch
    );
}

/// A stay and its release right keep one bill-of-lading list when theirs are equal (a million
/// stays would otherwise keep a copy each), and each keeps its own value when they differ.
#[test]
fn stay_and_right_share_equal_bill_of_lading_lists() {
    let mut w = world();
    let with_bls = |action: TerminalAction, bls: &[&str]| match terminal(action) {
        Action::Terminal(mut ev) => {
            ev.bill_of_lading_numbers = bls.iter().map(|b| (*b).to_owned()).collect();
            Action::Terminal(ev)
        }
        other => other,
    };
    let release = release_to("forwarder", &w);
    act(&mut w, "agent", release).unwrap();
    act(&mut w, "psa", with_bls(TerminalAction::Discharge, &["BL1"])).unwrap();
    let stay = w.stay(UnLocode::antwerp(), eq()).unwrap();
    let right = &stay.release_rights[0];
    assert_eq!(&*stay.bill_of_lading_numbers, ["BL1"]);
    assert_eq!(
        stay.bill_of_lading_numbers.as_ptr(),
        right.bill_of_lading_numbers.as_ptr(),
        "equal lists are one allocation"
    );

    act(
        &mut w,
        "psa",
        with_bls(TerminalAction::Release, &["BL2", "BL1"]),
    )
    .unwrap();
    let stay = w.stay(UnLocode::antwerp(), eq()).unwrap();
    assert_eq!(&*stay.bill_of_lading_numbers, ["BL1", "BL2"]);
    assert_eq!(&*stay.release_rights[0].bill_of_lading_numbers, ["BL1"]);

    let mut update = ReleaseRightCommand::new(ReleaseAction::Update);
    update.bill_of_lading_numbers = vec!["BL1".into(), "BL2".into()];
    act(&mut w, "agent", Action::ReleaseRight(update)).unwrap();
    let stay = w.stay(UnLocode::antwerp(), eq()).unwrap();
    assert_eq!(
        &*stay.release_rights[0].bill_of_lading_numbers,
        ["BL1", "BL2"]
    );
    assert_eq!(
        stay.bill_of_lading_numbers.as_ptr(),
        stay.release_rights[0].bill_of_lading_numbers.as_ptr()
    );
}

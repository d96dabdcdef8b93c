//! Truck pickup validation (v1): valid, with a condition, not valid (available, blocked, not yet
//! released or gone), the validity window, unknown containers, bills of lading and the carrier.

use chrono::Duration;

use cpu_simulator::*;

use crate::common::{t0, terminal};
use crate::fixture::*;

#[test]
fn truck_valid_released() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    let v = s.truck("AP1000001", eq(1), &["BL1"]);
    assert_valid(&v, "RELEASED");
    assert_required_lights(&v, &[LightColor::Green]);
    assert_eq!(v.equipment, eq(1).as_str());
    assert_eq!(v.bill_of_lading_numbers, ["BL1"]);
    let right = &s.w.stay(antwerp(), eq(1)).unwrap().release_rights[0];
    assert_eq!(v.release_id, Some(right.release_id));
    // Alfapass and BL are matched case-insensitively and trimmed; no BL means any.
    assert_valid(&s.truck(" ap1000001 ", eq(1), &["bl1"]), "RELEASED");
    assert_valid(&s.truck("AP1000001", eq(1), &[]), "RELEASED");
}

#[test]
fn truck_valid_with_a_condition() {
    for (value, status) in CONDITIONS {
        let mut s = Sim::new();
        s.released_for_truck(eq(1));
        s.act("customs", eq(1), Action::SetCustoms(value));
        let v = s.truck("AP1000001", eq(1), &["BL1"]);
        assert_valid(&v, status);
        assert_required_lights(&v, &[LightColor::Green, LightColor::Yellow]);
        assert_eq!(light(&v, LightName::Customs).color, LightColor::Yellow);
        assert_eq!(light(&v, LightName::Customs).value, status);
    }
    // The terminal's Scanning gives SELECTEDFORSCAN too.
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    s.act("psa", eq(1), terminal(TerminalAction::Scanning, "869"));
    let v = s.truck("AP1000001", eq(1), &[]);
    assert_valid(&v, "SELECTEDFORSCAN");
    assert_eq!(light(&v, LightName::TerminalRelease).value, "SCANNING");
    // A gate in with equipmentStatus import sets PORTEQUALISATION (YELLOW).
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    let Action::Terminal(mut gate_in) = terminal(TerminalAction::GateIn, "869") else {
        unreachable!()
    };
    gate_in.import = true;
    s.act("psa", eq(1), Action::Terminal(gate_in));
    let v = s.truck("AP1000001", eq(1), &[]);
    assert_valid(&v, "PORTEQUALISATION");
    assert_eq!(light(&v, LightName::TerminalOperation).value, "GATEIN");
}

#[test]
fn truck_not_valid_container_available() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    // Another truck operator's driver: a valid Alfapass, not assigned.
    let v = s.truck("AP2000001", eq(1), &["BL1"]);
    assert_invalid(&v, "RELEASED", "AP2000001 is not assigned");
    assert_required_lights(&v, &[LightColor::Green]);
    assert_eq!(v.release_id, None);
    // An Alfapass nobody has.
    assert_invalid(
        &s.truck("AP9999999", eq(1), &[]),
        "RELEASED",
        "is not assigned",
    );
    // Available with a condition, wrong Alfapass.
    s.act("customs", eq(1), Action::SetCustoms(CustomsValue::Favv));
    assert_invalid(&s.truck("AP2000001", eq(1), &[]), "FAVV", "is not assigned");
    // No pickup right assigned yet.
    let mut s = Sim::new();
    s.release(eq(2), "trucker", "869", None);
    s.lights_green(eq(2));
    assert_invalid(
        &s.truck("AP1000001", eq(2), &[]),
        "RELEASED",
        "is not assigned",
    );
}

/// Something that turns a light red.
type Blocker = fn(&mut Sim, EquipmentNumber);

#[test]
fn truck_not_valid_container_blocked() {
    let blockers: [(&str, Blocker, &str); 4] = [
        (
            "TerminalRelease",
            |s, e| {
                s.act("psa", e, terminal(TerminalAction::Block, "869"));
            },
            "TerminalRelease",
        ),
        (
            "DOCUMENTARYCONTROL",
            |s, e| {
                s.act(
                    "customs",
                    e,
                    Action::SetCustoms(CustomsValue::DocumentaryControl),
                );
            },
            "Customs",
        ),
        (
            "agent block",
            |s, e| {
                s.act("agent", e, Action::ReleaseRight(rr(ReleaseAction::Block)));
            },
            "CommercialRelease",
        ),
        (
            "agent delete",
            |s, e| {
                s.act("agent", e, Action::ReleaseRight(rr(ReleaseAction::Delete)));
            },
            "CommercialRelease",
        ),
    ];
    for (what, block, red) in blockers {
        let mut s = Sim::new();
        s.released_for_truck(eq(1));
        block(&mut s, eq(1));
        // The right Alfapass does not help, a wrong one neither.
        for alfapass in ["AP1000001", "AP2000001"] {
            let v = s.truck(alfapass, eq(1), &[]);
            assert_invalid(&v, "BLOCKED", "Container is BLOCKED");
            assert!(
                v.error_messages.iter().any(|m| m.contains(red)),
                "{what}: {:?}",
                v.error_messages
            );
            assert_eq!(light(&v, red_light(red)).color, LightColor::Red, "{what}");
        }
    }
    // Expired after 60 days: CommercialRelease EXPIRED (red).
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    s.w.apply(Command::AdvanceClock {
        seconds: 60 * 86_400,
    })
    .unwrap();
    let v = s.truck("AP1000001", eq(1), &[]);
    assert_invalid(&v, "BLOCKED", "CommercialRelease");
    assert_eq!(light(&v, LightName::CommercialRelease).value, "EXPIRED");
}

fn red_light(name: &str) -> LightName {
    *LightName::ALL.iter().find(|n| n.as_str() == name).unwrap()
}

#[test]
fn truck_not_valid_not_yet_released_or_gone() {
    let mut s = Sim::new();
    s.release(eq(1), "trucker", "869", None);
    s.act("trucker", eq(1), assign_truck("AP1000001"));
    let v = s.truck("AP1000001", eq(1), &[]);
    assert_invalid(&v, "NOTRELEASED", "not yet released");
    assert!(v.error_messages[0].contains("Customs, TerminalOperation, TerminalRelease"));
    // After gate out the container cannot be picked up again.
    s.lights_green(eq(1));
    s.act("psa", eq(1), terminal(TerminalAction::GateOut, "869"));
    let v = s.truck("AP1000001", eq(1), &[]);
    assert!(!v.is_valid);
    assert!(v.error_messages[0].contains("gate out"), "{v:?}");
    assert_eq!(light(&v, LightName::GateOperation).value, "GATEOUTRECEIVED");
}

#[test]
fn truck_right_outside_its_window() {
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("trucker").as_str()));
    c.valid_from = Some(t0() + Duration::days(2));
    s.act("agent", eq(1), Action::ReleaseRight(c));
    s.act(
        "trucker",
        eq(1),
        Action::ReleaseRight(rr(ReleaseAction::Accept)),
    );
    s.act("trucker", eq(1), assign_truck("AP1000001"));
    s.lights_green(eq(1));
    assert_invalid(
        &s.truck("AP1000001", eq(1), &[]),
        "RELEASED",
        "outside its validity window",
    );
    s.w.apply(Command::AdvanceClock {
        seconds: 2 * 86_400,
    })
    .unwrap();
    assert_valid(&s.truck("AP1000001", eq(1), &[]), "RELEASED");
}

#[test]
fn truck_unknown_container() {
    let s = Sim::new();
    let v = s.truck("AP1000001", eq(99), &["BL1"]);
    assert!(!v.is_valid);
    assert_eq!(v.status, "UNKNOWN");
    assert!(v.lights.is_empty());
    assert_eq!(
        v.error_messages,
        [format!("Container {} is unknown in CPu", eq(99))]
    );
}

#[test]
fn truck_bill_of_lading_mismatch_and_carrier() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    assert_invalid(
        &s.truck("AP1000001", eq(1), &["OTHERBL"]),
        "RELEASED",
        "Bill of lading numbers do not match",
    );
    // One matching BL among several is enough.
    assert_valid(
        &s.truck("AP1000001", eq(1), &["OTHERBL", "BL1"]),
        "RELEASED",
    );

    // A right given for one carrier does not match a request naming another.
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("trucker").as_str()));
    c.carrier = Some(by_id(s.id("forwarder").as_str()));
    s.act("agent", eq(1), Action::ReleaseRight(c));
    s.act(
        "trucker",
        eq(1),
        Action::ReleaseRight(rr(ReleaseAction::Accept)),
    );
    s.act("trucker", eq(1), assign_truck("AP1000001"));
    s.lights_green(eq(1));
    let check = |carrier: Identification| {
        s.w.validate_truck_pickup(antwerp(), "AP1000001", eq(1), &[], Some(&carrier))
    };
    assert!(check(by_id(s.id("forwarder").as_str())).is_valid);
    let eori = Identification {
        identification_type: IdentificationType::Eori,
        identification_code: "BE0300000001".into(),
    };
    assert!(check(eori).is_valid, "the carrier matched by EORI");
    let v = check(by_id(s.id("barge").as_str()));
    assert_invalid(&v, "RELEASED", "No active release right");
}

//! Barge/rail pickup validation (v2): the operator holding the pickup right, its means of
//! transport and release id, blocked and unknown containers, bills of lading.

use cpu_simulator::*;

use crate::common::terminal;
use crate::fixture::*;

/// Released to `operator`, who accepts; lights green.
fn released_for(s: &mut Sim, e: EquipmentNumber, operator: &str) {
    s.release(e, operator, "869", None);
    s.lights_green(e);
}

#[test]
fn barge_rail_valid_released() {
    for (op, mode) in [
        ("barge", TransportMode::Barge),
        ("rail", TransportMode::Rail),
    ] {
        let mut s = Sim::new();
        released_for(&mut s, eq(1), op);
        let id = s.id(op);
        let v = s.barge_rail(id.as_str(), Some(mode), eq(1), None);
        assert_valid(&v, "RELEASED");
        assert_required_lights(&v, &[LightColor::Green]);
        // By releaseId, and with the mode unknown.
        let rid = v.release_id;
        assert_valid(&s.barge_rail(id.as_str(), None, eq(1), rid), "RELEASED");
    }
    // A truck operator holding the right can hand the pickup to a barge operator.
    let mut s = Sim::new();
    released_for(&mut s, eq(2), "trucker");
    let barge = s.id("barge");
    s.act(
        "trucker",
        eq(2),
        Action::PickupRight {
            action: PickupAction::Assign,
            selector: RightSelector::default(),
            target: Some(PickupTarget::Barge(by_id(barge.as_str()))),
        },
    );
    assert_valid(
        &s.barge_rail(barge.as_str(), Some(TransportMode::Barge), eq(2), None),
        "RELEASED",
    );
    // ...and then the holder itself is no longer entitled.
    let trucker = s.id("trucker");
    assert_invalid(
        &s.barge_rail(trucker.as_str(), None, eq(2), None),
        "RELEASED",
        "does not hold the pickup right",
    );
}

#[test]
fn barge_rail_valid_with_a_condition() {
    for (value, status) in CONDITIONS {
        let mut s = Sim::new();
        released_for(&mut s, eq(1), "rail");
        s.act("customs", eq(1), Action::SetCustoms(value));
        let rail = s.id("rail");
        let v = s.barge_rail(rail.as_str(), Some(TransportMode::Rail), eq(1), None);
        assert_valid(&v, status);
        assert_required_lights(&v, &[LightColor::Green, LightColor::Yellow]);
    }
}

#[test]
fn barge_rail_not_valid_container_available() {
    let mut s = Sim::new();
    released_for(&mut s, eq(1), "barge");
    let rail = s.id("rail");
    assert_invalid(
        &s.barge_rail(rail.as_str(), Some(TransportMode::Rail), eq(1), None),
        "RELEASED",
        "Lineas Rail does not hold the pickup right",
    );
    // The right operator with the wrong means of transport.
    let barge = s.id("barge");
    assert_invalid(
        &s.barge_rail(barge.as_str(), Some(TransportMode::Rail), eq(1), None),
        "RELEASED",
        "meansOfTransport Rail does not match",
    );
    // A releaseId of no active right.
    assert_invalid(
        &s.barge_rail(
            barge.as_str(),
            None,
            eq(1),
            Some(ReleaseId(uuid::Uuid::nil())),
        ),
        "RELEASED",
        "releaseId does not match",
    );
    // Not a transport operator; unknown operator.
    let fwd = s.id("forwarder");
    assert_invalid(
        &s.barge_rail(fwd.as_str(), None, eq(1), None),
        "RELEASED",
        "is not a transport operator",
    );
    assert_invalid(
        &s.barge_rail("NXT99999999999", None, eq(1), None),
        "RELEASED",
        "Transport operator NXT99999999999 is unknown",
    );
    // A transfer not yet accepted does not entitle the next party.
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("barge").as_str()));
    s.act("agent", eq(3), Action::ReleaseRight(c));
    s.lights_green(eq(3));
    let barge = s.id("barge");
    assert_invalid(
        &s.barge_rail(barge.as_str(), None, eq(3), None),
        "RELEASED",
        "does not hold the pickup right",
    );
}

#[test]
fn barge_rail_not_valid_container_blocked() {
    let mut s = Sim::new();
    released_for(&mut s, eq(1), "barge");
    s.act("psa", eq(1), terminal(TerminalAction::Block, "869"));
    let barge = s.id("barge");
    let v = s.barge_rail(barge.as_str(), Some(TransportMode::Barge), eq(1), None);
    assert_invalid(&v, "BLOCKED", "red light(s) TerminalRelease");
    assert_eq!(light(&v, LightName::TerminalRelease).color, LightColor::Red);
}

#[test]
fn barge_rail_unknown_container_and_bl_mismatch() {
    let mut s = Sim::new();
    let barge = s.id("barge");
    let v = s.barge_rail(barge.as_str(), None, eq(42), None);
    assert!(!v.is_valid);
    assert_eq!(v.status, "UNKNOWN");
    assert!(v.error_messages[0].contains("unknown in CPu"));
    released_for(&mut s, eq(1), "barge");
    let v = s.w.validate_barge_rail_pickup(
        antwerp(),
        eq(1),
        &["NOPE".to_owned()],
        None,
        None,
        &by_id(barge.as_str()),
    );
    assert_invalid(&v, "RELEASED", "No active release right");
    let v = s.w.validate_barge_rail_pickup(
        antwerp(),
        eq(1),
        &["BL1".to_owned()],
        None,
        None,
        &by_id(barge.as_str()),
    );
    assert_valid(&v, "RELEASED");
}

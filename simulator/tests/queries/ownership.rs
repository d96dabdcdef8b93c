//! Validate truck release right (ownership): each refusal message of the seed's table, alone and
//! together, and the rules for a container with several rights.

use chrono::Duration;

use cpu_simulator::*;

use crate::common::{t0, terminal};
use crate::fixture::*;

const NOT_TRANSPORT_OPERATOR: &str = "Queried company is not a Transport Operator";
const UNKNOWN_COMPANY: &str = "Queried company is unknown";
const INVALID_ALFAPASS: &str = "Provided Alfapass number is invalid or unknown";
const ALFAPASS_NOT_ASSIGNED: &str =
    "Provided Alfapass number is not assigned to pick up this container";
const NOT_OWNER: &str = "Queried company is not the owner of the Release Right";
const UNKNOWN_RIGHT: &str = "Release Right is unknown, non-existing or no longer active";
const OTHER_TERMINAL: &str =
    "Release Right is assigned to a different terminal by the Shipping Agent";
const MULTIPLE_OWNER_MISMATCH: &str = "Multiple Release Rights found, at least one is within the given time window but OwnerEntityId does not match the last stakeholder";
const MULTIPLE_FOUND: &str = "Multiple Release Rights found for queried equipment number";
const ALL_OUTSIDE_WINDOW: &str = "Multiple Release Rights found, all outside the time window";
const OUTSIDE_WINDOW: &str = "Release Right is outside its time window";

fn assert_refused(v: &OwnershipValidation, messages: &[&str]) {
    assert!(!v.is_valid, "{v:?}");
    assert_eq!(v.error_messages, messages);
}

#[test]
fn ownership_valid() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    let trucker = s.id("trucker");
    let right = s.w.stay(antwerp(), eq(1)).unwrap().release_rights[0].release_id;
    for alfapass in [None, Some("AP1000001"), Some(" ap1000001 "), Some("")] {
        let v = s.ownership("psa", trucker.as_str(), alfapass, eq(1));
        assert!(v.is_valid, "{alfapass:?}: {v:?}");
        assert!(v.error_messages.is_empty());
        assert_eq!(v.release_id, Some(right));
    }
    // The right holds whatever the lights say: ownership is not the pickup decision.
    s.act("psa", eq(1), terminal(TerminalAction::Block, "869"));
    assert!(s.ownership("psa", trucker.as_str(), None, eq(1)).is_valid);
}

#[test]
fn ownership_not_a_transport_operator_or_unknown_company() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    for key in ["forwarder", "agent", "psa", "customs"] {
        let id = s.id(key);
        assert_refused(
            &s.ownership("psa", id.as_str(), None, eq(1)),
            &[NOT_TRANSPORT_OPERATOR],
        );
    }
    for unknown in ["NXT99999999999", "not an id!", ""] {
        assert_refused(
            &s.ownership("psa", unknown, None, eq(1)),
            &[UNKNOWN_COMPANY],
        );
    }
}

#[test]
fn ownership_invalid_alfapass_alone_and_with_a_wrong_company() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    let trucker = s.id("trucker");
    assert_refused(
        &s.ownership("psa", trucker.as_str(), Some("AP9999999"), eq(1)),
        &[INVALID_ALFAPASS],
    );
    // Both invalid: two messages, company first.
    let fwd = s.id("forwarder");
    assert_refused(
        &s.ownership("psa", fwd.as_str(), Some("AP9999999"), eq(1)),
        &[NOT_TRANSPORT_OPERATOR, INVALID_ALFAPASS],
    );
    assert_refused(
        &s.ownership("psa", "NXT99999999999", Some("AP9999999"), eq(1)),
        &[UNKNOWN_COMPANY, INVALID_ALFAPASS],
    );
    // A valid Alfapass of another driver: known, but not assigned to this container.
    let v = s.ownership("psa", trucker.as_str(), Some("AP1000002"), eq(1));
    assert_refused(&v, &[ALFAPASS_NOT_ASSIGNED]);
    assert!(v.release_id.is_some());
}

#[test]
fn ownership_not_owner() {
    let mut s = Sim::new();
    s.released_for_truck(eq(1));
    let other = s.id("trucker2");
    assert_refused(
        &s.ownership("psa", other.as_str(), None, eq(1)),
        &[NOT_OWNER],
    );
    // A transfer not yet accepted: the next party does not own the right yet.
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("trucker").as_str()));
    s.act("agent", eq(2), Action::ReleaseRight(c));
    let trucker = s.id("trucker");
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(2)),
        &[NOT_OWNER],
    );
}

#[test]
fn ownership_unknown_right() {
    let mut s = Sim::new();
    let trucker = s.id("trucker");
    // No stay at all.
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(1)),
        &[UNKNOWN_RIGHT],
    );
    // A stay with only a terminal event, no commercial release.
    s.act("psa", eq(2), terminal(TerminalAction::Discharge, "869"));
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(2)),
        &[UNKNOWN_RIGHT],
    );
    // Deleted by the agent.
    s.released_for_truck(eq(3));
    s.act(
        "agent",
        eq(3),
        Action::ReleaseRight(rr(ReleaseAction::Delete)),
    );
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(3)),
        &[UNKNOWN_RIGHT],
    );
    // Gated out: no longer active.
    s.released_for_truck(eq(4));
    s.act("psa", eq(4), terminal(TerminalAction::GateOut, "869"));
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(4)),
        &[UNKNOWN_RIGHT],
    );
    // Expired.
    s.released_for_truck(eq(5));
    s.w.apply(Command::AdvanceClock {
        seconds: 61 * 86_400,
    })
    .unwrap();
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(5)),
        &[UNKNOWN_RIGHT],
    );
}

#[test]
fn ownership_other_terminal() {
    let mut s = Sim::new();
    s.release(eq(1), "trucker", "1700", None);
    let trucker = s.id("trucker");
    let v = s.ownership("psa", trucker.as_str(), None, eq(1));
    assert_refused(&v, &[OTHER_TERMINAL]);
    assert!(v.release_id.is_some());
    // DP World, the terminal named, gets the answer.
    assert!(
        s.ownership("dpworld", trucker.as_str(), None, eq(1))
            .is_valid
    );
}

/// Two active rights on one container (releaseIdentification R1 and R2).
fn two_rights(s: &mut Sim, owners: [&str; 2], valid_from: [Option<i64>; 2]) {
    for (i, (owner, from)) in owners.into_iter().zip(valid_from).enumerate() {
        let ri = if i == 0 { "R1" } else { "R2" };
        let mut c = rr(ReleaseAction::Release);
        c.terminal_code = Some(TerminalCode::parse("869").unwrap());
        c.release_to = Some(by_id(s.id(owner).as_str()));
        c.selector.release_identification = Some(ri.to_owned());
        c.valid_from = from.map(|d| t0() + Duration::days(d));
        s.act("agent", eq(1), Action::ReleaseRight(c));
        let mut a = rr(ReleaseAction::Accept);
        a.selector.release_identification = Some(ri.to_owned());
        s.act(owner, eq(1), Action::ReleaseRight(a));
    }
}

#[test]
fn ownership_multiple_rights() {
    // At least one in the window, none owned by the queried company.
    let mut s = Sim::new();
    two_rights(&mut s, ["trucker2", "forwarder"], [None, None]);
    let trucker = s.id("trucker");
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(1)),
        &[MULTIPLE_OWNER_MISMATCH],
    );
    // Both owned and in the window: ambiguous.
    let mut s = Sim::new();
    two_rights(&mut s, ["trucker", "trucker"], [None, None]);
    let trucker = s.id("trucker");
    let v = s.ownership("psa", trucker.as_str(), None, eq(1));
    assert_refused(&v, &[MULTIPLE_FOUND]);
    assert_eq!(v.release_id, None);
    // All outside the window.
    let mut s = Sim::new();
    two_rights(&mut s, ["trucker", "trucker2"], [Some(3), Some(5)]);
    let trucker = s.id("trucker");
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(1)),
        &[ALL_OUTSIDE_WINDOW],
    );
    // One owned right in the window among several: valid, that right.
    let mut s = Sim::new();
    two_rights(&mut s, ["trucker", "trucker2"], [None, None]);
    let trucker = s.id("trucker");
    let v = s.ownership("psa", trucker.as_str(), None, eq(1));
    assert!(v.is_valid, "{v:?}");
    let stay = s.w.stay(antwerp(), eq(1)).unwrap();
    assert_eq!(v.release_id, Some(stay.release_rights[0].release_id));
    // Owned, but outside its window while the other is in it: the owner mismatch row.
    let mut s = Sim::new();
    two_rights(&mut s, ["trucker", "trucker2"], [Some(3), None]);
    let trucker = s.id("trucker");
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(1)),
        &[MULTIPLE_OWNER_MISMATCH],
    );
}

#[test]
fn ownership_single_right_outside_window() {
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("trucker").as_str()));
    c.valid_from = Some(t0() + Duration::days(1));
    s.act("agent", eq(1), Action::ReleaseRight(c));
    s.act(
        "trucker",
        eq(1),
        Action::ReleaseRight(rr(ReleaseAction::Accept)),
    );
    let trucker = s.id("trucker");
    assert_refused(
        &s.ownership("psa", trucker.as_str(), None, eq(1)),
        &[OUTSIDE_WINDOW],
    );
}

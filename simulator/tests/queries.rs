//! The synchronous queries against every row of the seed's tables
//! (`cpu-terminal-operator-spec.txt`): truck pickup validation (v1), barge/rail pickup validation
//! (v2), validate Alfapass, validate truck release right (ownership), company registry and the
//! notification service. The worlds are built through `World::apply` only, as the parties would.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use cpu_simulator::lights::LightView;
use cpu_simulator::*;

// ----- fixture -----

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
}

struct Sim {
    w: World,
}

fn eq(n: u32) -> EquipmentNumber {
    EquipmentNumber::from_serial("MSCU", n).unwrap()
}

fn antwerp() -> UnLocode {
    UnLocode::antwerp()
}

fn by_id(code: &str) -> Identification {
    Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: code.to_owned(),
    }
}

fn terminal(action: TerminalAction, code: &str) -> Action {
    Action::Terminal(TerminalEventCommand {
        action,
        terminal_code: TerminalCode::parse(code).unwrap(),
        occurred_at: t0(),
        import: false,
        full_empty: None,
        mode_of_transport: None,
        bill_of_lading_numbers: vec![],
        stay_number: None,
    })
}

fn rr(action: ReleaseAction) -> ReleaseRightCommand {
    ReleaseRightCommand::new(action)
}

fn assign_truck(alfapass: &str) -> Action {
    Action::PickupRight {
        action: PickupAction::Assign,
        selector: RightSelector::default(),
        target: Some(PickupTarget::Truck(
            AlfapassNumber::parse(alfapass).unwrap(),
        )),
    }
}

impl Sim {
    fn new() -> Self {
        Sim {
            w: World::new(
                Fixture::default_world(),
                WorldConfig::default(),
                Clock::Frozen(t0()),
            )
            .unwrap(),
        }
    }

    fn party(&self, key: &str) -> &Party {
        self.w.parties().iter().find(|p| p.key == key).unwrap()
    }

    fn id(&self, key: &str) -> NxtEntityId {
        self.party(key).nxt_entity_id.clone()
    }

    fn act(&mut self, who: &str, e: EquipmentNumber, action: Action) -> Outcome {
        let caller = self.id(who);
        let what = format!("{who} {action:?}");
        self.w
            .apply(Command::Act {
                caller,
                locode: antwerp(),
                equipment: e,
                external_reference_id: None,
                action: Box::new(action),
            })
            .unwrap_or_else(|err| panic!("{what}: {err}"))
    }

    /// The agent releases `e` (terminal `terminal`, BL1) to `owner`, who accepts.
    fn release(&mut self, e: EquipmentNumber, owner: &str, terminal: &str, ri: Option<&str>) {
        let mut c = rr(ReleaseAction::Release);
        c.terminal_code = Some(TerminalCode::parse(terminal).unwrap());
        c.bill_of_lading_numbers = vec!["BL1".into()];
        c.release_to = Some(by_id(self.id(owner).as_str()));
        c.selector.release_identification = ri.map(str::to_owned);
        self.act("agent", e, Action::ReleaseRight(c));
        let mut accept = rr(ReleaseAction::Accept);
        accept.selector.release_identification = ri.map(str::to_owned);
        self.act(owner, e, Action::ReleaseRight(accept));
    }

    /// A container ready for pickup by truck AP1000001: every required light green.
    fn released_for_truck(&mut self, e: EquipmentNumber) {
        self.release(e, "trucker", "869", None);
        self.act("trucker", e, assign_truck("AP1000001"));
        self.lights_green(e);
    }

    fn lights_green(&mut self, e: EquipmentNumber) {
        self.act("customs", e, Action::SetCustoms(CustomsValue::Released));
        self.act("psa", e, terminal(TerminalAction::Discharge, "869"));
        self.act("psa", e, terminal(TerminalAction::Release, "869"));
    }

    fn truck(&self, alfapass: &str, e: EquipmentNumber, bls: &[&str]) -> PickupValidation {
        let bls: Vec<String> = bls.iter().map(|b| (*b).to_owned()).collect();
        self.w
            .validate_truck_pickup(antwerp(), alfapass, e, &bls, None)
    }

    fn barge_rail(
        &self,
        operator: &str,
        mode: Option<TransportMode>,
        e: EquipmentNumber,
        release_id: Option<ReleaseId>,
    ) -> PickupValidation {
        self.w
            .validate_barge_rail_pickup(antwerp(), e, &[], release_id, mode, &by_id(operator))
    }

    fn ownership(
        &self,
        caller: &str,
        owner: &str,
        alfapass: Option<&str>,
        e: EquipmentNumber,
    ) -> OwnershipValidation {
        self.w
            .validate_truck_ownership(self.party(caller), antwerp(), owner, alfapass, e)
    }
}

fn light(v: &PickupValidation, name: LightName) -> &LightView {
    v.lights.iter().find(|l| l.name == name).unwrap()
}

/// Every required light (all but GateOperation) has one of `colors`; GateOperation is grey.
fn assert_required_lights(v: &PickupValidation, colors: &[LightColor]) {
    assert_eq!(v.lights.len(), 5, "{:?}", v.lights);
    for l in &v.lights {
        if l.name == LightName::GateOperation {
            assert_eq!(l.color, LightColor::Grey, "{l:?}");
        } else {
            assert!(colors.contains(&l.color), "{l:?} not in {colors:?}");
        }
    }
}

fn assert_valid(v: &PickupValidation, status: &str) {
    assert!(v.is_valid, "{:?}", v.error_messages);
    assert!(v.error_messages.is_empty());
    assert_eq!(v.status, status);
    assert!(v.release_id.is_some());
}

fn assert_invalid(v: &PickupValidation, status: &str, message: &str) {
    assert!(!v.is_valid, "expected invalid: {v:?}");
    assert_eq!(v.status, status, "{v:?}");
    assert!(
        v.error_messages.iter().any(|m| m.contains(message)),
        "no message containing '{message}' in {:?}",
        v.error_messages
    );
}

// ----- truck sync validation (v1) -----

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
    for (value, status) in [
        (CustomsValue::SelectedForScan, "SELECTEDFORSCAN"),
        (CustomsValue::Favv, "FAVV"),
        (CustomsValue::Transhipment, "TRANSHIPMENT"),
        (CustomsValue::PortEqualisation, "PORTEQUALISATION"),
    ] {
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

// ----- barge/rail sync validation (v2) -----

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
    for (value, status) in [
        (CustomsValue::SelectedForScan, "SELECTEDFORSCAN"),
        (CustomsValue::Favv, "FAVV"),
        (CustomsValue::Transhipment, "TRANSHIPMENT"),
        (CustomsValue::PortEqualisation, "PORTEQUALISATION"),
    ] {
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

// ----- validate Alfapass -----

#[test]
fn validate_alfapass() {
    let s = Sim::new();
    for ok in ["AP1000001", "AP1000002", "AP2000001", " ap2000001 "] {
        assert!(s.w.alfapass_is_valid(ok), "{ok}");
    }
    for bad in ["AP9999999", "", "   ", "AP 1000001", &"9".repeat(30)] {
        assert!(!s.w.alfapass_is_valid(bad), "{bad:?}");
    }
}

// ----- validate truck release right (ownership) -----

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

// ----- company registry -----

fn names(found: &[&Party]) -> Vec<String> {
    found.iter().map(|p| p.key.clone()).collect()
}

#[test]
fn registry_filters_are_anded() {
    let s = Sim::new();
    let agent = s.party("agent").clone();
    let f = RegistryFilter {
        eori: agent.eori.clone(),
        vat: agent.vat.clone(),
        ..Default::default()
    };
    let (found, total) = s.w.registry_search(&f, 1, 25);
    assert_eq!((names(&found), total), (vec!["agent".to_owned()], 1));
    // EORI of the agent AND VAT of the forwarder: nobody.
    let f = RegistryFilter {
        eori: agent.eori.clone(),
        vat: s.party("forwarder").vat.clone(),
        ..Default::default()
    };
    assert_eq!(s.w.registry_search(&f, 1, 25).1, 0);
    // Each single filter, exact and case-insensitive.
    let trucker = s.party("trucker").clone();
    for f in [
        RegistryFilter {
            duns: trucker.duns.clone(),
            ..Default::default()
        },
        RegistryFilter {
            apcs_code: trucker.apcs_code.as_deref().map(str::to_lowercase),
            ..Default::default()
        },
        RegistryFilter {
            nxt_entity_id: Some(trucker.nxt_entity_id.as_str().to_lowercase()),
            ..Default::default()
        },
        RegistryFilter {
            eori: trucker.eori.clone(),
            entity_name: Some("haulage".into()),
            ..Default::default()
        },
    ] {
        let (found, total) = s.w.registry_search(&f, 1, 25);
        assert_eq!(
            (names(&found), total),
            (vec!["trucker".to_owned()], 1),
            "{f:?}"
        );
    }
}

#[test]
fn registry_partial_name() {
    let s = Sim::new();
    let f = RegistryFilter {
        entity_name: Some(" ANTWERP ".into()),
        ..Default::default()
    };
    let (found, total) = s.w.registry_search(&f, 1, 25);
    assert_eq!(names(&found), ["psa", "dpworld", "trucker"]);
    assert_eq!(total, 3);
    let f = RegistryFilter {
        entity_name: Some("no such company".into()),
        ..Default::default()
    };
    assert_eq!(s.w.registry_search(&f, 1, 25), (vec![], 0));
}

#[test]
fn registry_paging() {
    let s = Sim::new();
    // Every default party has "BE" in its EORI... but EORI is exact: use the name instead.
    let f = RegistryFilter {
        entity_name: Some("n".into()),
        ..Default::default()
    };
    let (all, total) = s.w.registry_search(&f, 1, 100);
    assert!(total >= 5, "{total}");
    assert_eq!(all.len(), total);
    let mut paged: Vec<String> = Vec::new();
    let pages = total.div_ceil(2);
    for page in 1..=pages {
        let (found, t) = s.w.registry_search(&f, page, 2);
        assert_eq!(t, total, "the total does not depend on the page");
        assert!(found.len() <= 2);
        paged.extend(names(&found));
    }
    assert_eq!(paged, names(&all), "pages cover every match once, in order");
    let (beyond, t) = s.w.registry_search(&f, pages + 1, 2);
    assert!(beyond.is_empty());
    assert_eq!(t, total);
    // Page 0 is read as page 1.
    assert_eq!(
        names(&s.w.registry_search(&f, 0, 2).0),
        names(&s.w.registry_search(&f, 1, 2).0)
    );
}

#[test]
fn registry_needs_a_filter() {
    assert!(RegistryFilter::default().is_empty());
    let blank = RegistryFilter {
        eori: Some("  ".into()),
        entity_name: Some(String::new()),
        ..Default::default()
    };
    assert!(blank.is_empty(), "blank values are no filter");
    assert!(!RegistryFilter {
        duns: Some("1".into()),
        ..Default::default()
    }
    .is_empty());
}

// ----- notifications -----

/// Two containers released to the trucker; returns the reference of the first release.
fn notifications_world() -> (Sim, PublicReferenceId) {
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("trucker").as_str()));
    let o = s.act("agent", eq(1), Action::ReleaseRight(c.clone()));
    s.w.apply(Command::AdvanceClock { seconds: 3_600 }).unwrap();
    s.act("agent", eq(2), Action::ReleaseRight(c));
    (s, o.public_reference_id.unwrap())
}

fn query(s: &Sim, who: &str, q: NotificationQuery) -> Result<Vec<Notification>, QueryError> {
    s.w.query_notifications(&s.id(who), &q)
}

#[test]
fn notifications_by_event_and_equipment() {
    let (mut s, _) = notifications_world();
    let all = query(
        &s,
        "trucker",
        NotificationQuery {
            event: Some(NotificationEvent::Release),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|n| n.receiver == s.id("trucker")));
    let one = query(
        &s,
        "trucker",
        NotificationQuery {
            event: Some(NotificationEvent::Release),
            equipment: Some(eq(2)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].equipment, Some(eq(2)));
    // The forwarder got nothing: 405 (NoneMatch).
    assert_eq!(
        query(
            &s,
            "forwarder",
            NotificationQuery {
                equipment: Some(eq(1)),
                ..Default::default()
            }
        ),
        Err(QueryError::NoneMatch)
    );
    // An event that did not happen.
    assert_eq!(
        query(
            &s,
            "trucker",
            NotificationQuery {
                event: Some(NotificationEvent::GateOut),
                ..Default::default()
            }
        ),
        Err(QueryError::NoneMatch)
    );
    // Oldest first, and each later one has a larger seq.
    s.act(
        "trucker",
        eq(1),
        Action::ReleaseRight(rr(ReleaseAction::Accept)),
    );
    let mine = query(
        &s,
        "trucker",
        NotificationQuery {
            equipment: Some(eq(1)),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(mine.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        mine.last().unwrap().event,
        NotificationEvent::AcceptedByNextParty
    );
}

#[test]
fn notifications_by_public_reference_id_are_private() {
    let (s, reference) = notifications_world();
    let q = NotificationQuery {
        public_reference_id: Some(reference),
        ..Default::default()
    };
    for who in ["agent", "trucker", "psa"] {
        let found = query(&s, who, q.clone()).unwrap();
        assert!(found.iter().all(|n| n.public_reference_id == reference));
    }
    // Sent to other companies only: 403.
    assert_eq!(query(&s, "barge", q.clone()), Err(QueryError::NotYours));
    // An id nobody knows: 405.
    let q = NotificationQuery {
        public_reference_id: Some(PublicReferenceId::new()),
        ..Default::default()
    };
    assert_eq!(query(&s, "agent", q), Err(QueryError::NoneMatch));
}

#[test]
fn notifications_by_release_id() {
    let (s, _) = notifications_world();
    let right = s.w.stay(antwerp(), eq(2)).unwrap().release_rights[0].release_id;
    let found = query(
        &s,
        "agent",
        NotificationQuery {
            release_id: Some(right),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!found.is_empty());
    assert!(found.iter().all(|n| n.release_id == Some(right)));
    assert!(found.iter().all(|n| n.equipment == Some(eq(2))));
}

#[test]
fn notifications_stored_on_and_time_window() {
    let (s, _) = notifications_world();
    let day = t0().date_naive();
    let at = |h: u32, m: u32| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let q = |window: Option<(NaiveTime, NaiveTime)>| NotificationQuery {
        event: Some(NotificationEvent::Release),
        stored_on: Some(day),
        window,
        ..Default::default()
    };
    assert_eq!(query(&s, "trucker", q(None)).unwrap().len(), 2);
    // The first release was stored at 08:00, the second at 09:00; bounds are inclusive.
    let early = query(&s, "trucker", q(Some((at(7, 30), at(8, 0))))).unwrap();
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].equipment, Some(eq(1)));
    let late = query(&s, "trucker", q(Some((at(8, 1), at(19, 25))))).unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].equipment, Some(eq(2)));
    assert_eq!(
        query(&s, "trucker", q(Some((at(10, 0), at(11, 0))))),
        Err(QueryError::NoneMatch)
    );
    // Another day.
    let other = NotificationQuery {
        stored_on: Some(day.pred_opt().unwrap()),
        ..Default::default()
    };
    assert_eq!(query(&s, "trucker", other), Err(QueryError::NoneMatch));
}

#[test]
fn notifications_retention_168_hours() {
    let (mut s, reference) = notifications_world();
    let q = NotificationQuery {
        public_reference_id: Some(reference),
        ..Default::default()
    };
    // The first release is 1 h old now; at exactly 168 h it is still there.
    s.w.apply(Command::AdvanceClock {
        seconds: 167 * 3_600,
    })
    .unwrap();
    assert!(query(&s, "trucker", q.clone()).is_ok());
    s.w.apply(Command::AdvanceClock { seconds: 1 }).unwrap();
    assert_eq!(
        query(&s, "trucker", q.clone()),
        Err(QueryError::NoneMatch),
        "older than 168 h"
    );
    // Past its retention the id is forgotten: 405, not 403, for other companies too.
    assert_eq!(query(&s, "barge", q), Err(QueryError::NoneMatch));
    // The second release (an hour younger) is still there.
    let q = NotificationQuery {
        equipment: Some(eq(2)),
        ..Default::default()
    };
    assert!(query(&s, "trucker", q).is_ok());
}

#[test]
fn notification_query_needs_a_filter() {
    assert!(NotificationQuery::default().is_empty());
    let window_only = NotificationQuery {
        window: Some((NaiveTime::MIN, NaiveTime::MIN)),
        ..Default::default()
    };
    assert!(window_only.is_empty(), "a window needs storedOn");
    assert!(!NotificationQuery {
        event: Some(NotificationEvent::Release),
        ..Default::default()
    }
    .is_empty());
}

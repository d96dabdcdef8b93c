//! The fixture of the query tests: a world the parties build through `World::apply`, the
//! commands they send, and the checks on a pickup validation's answer.

use cpu_simulator::lights::LightView;
use cpu_simulator::*;

use crate::common::{act_as, terminal, world};

/// A world under test; the tests read it through `w` and act on it through the methods.
pub struct Sim {
    pub w: World,
}

/// Container `n` of the tests (MSCU, serial `n`).
pub fn eq(n: u32) -> EquipmentNumber {
    EquipmentNumber::from_serial("MSCU", n).unwrap()
}

pub fn antwerp() -> UnLocode {
    UnLocode::antwerp()
}

/// A party named by its NxtEntityId.
pub fn by_id(code: &str) -> Identification {
    Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: code.to_owned(),
    }
}

pub fn rr(action: ReleaseAction) -> ReleaseRightCommand {
    ReleaseRightCommand::new(action)
}

/// The customs values that leave a container available with a condition, and the status each
/// gives.
pub const CONDITIONS: [(CustomsValue, &str); 4] = [
    (CustomsValue::SelectedForScan, "SELECTEDFORSCAN"),
    (CustomsValue::Favv, "FAVV"),
    (CustomsValue::Transhipment, "TRANSHIPMENT"),
    (CustomsValue::PortEqualisation, "PORTEQUALISATION"),
];

/// The truck pickup right assigned to the driver with this Alfapass.
pub fn assign_truck(alfapass: &str) -> Action {
    Action::PickupRight {
        action: PickupAction::Assign,
        selector: RightSelector::default(),
        target: Some(PickupTarget::Truck(
            AlfapassNumber::parse(alfapass).unwrap(),
        )),
    }
}

impl Sim {
    pub fn new() -> Self {
        Sim { w: world() }
    }

    pub fn party(&self, key: &str) -> &Party {
        self.w.party_by_key(key).unwrap()
    }

    pub fn id(&self, key: &str) -> NxtEntityId {
        self.party(key).nxt_entity_id.clone()
    }

    /// `who` acts on `e`; panics if the world refuses.
    pub fn act(&mut self, who: &str, e: EquipmentNumber, action: Action) -> Outcome {
        let what = format!("{who} {action:?}");
        act_as(&mut self.w, who, e, None, action).unwrap_or_else(|err| panic!("{what}: {err}"))
    }

    /// The agent releases `e` (terminal `terminal`, BL1) to `owner`, who accepts.
    pub fn release(&mut self, e: EquipmentNumber, owner: &str, terminal: &str, ri: Option<&str>) {
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
    pub fn released_for_truck(&mut self, e: EquipmentNumber) {
        self.release(e, "trucker", "869", None);
        self.act("trucker", e, assign_truck("AP1000001"));
        self.lights_green(e);
    }

    /// Customs released, discharged and released by PSA.
    pub fn lights_green(&mut self, e: EquipmentNumber) {
        self.act("customs", e, Action::SetCustoms(CustomsValue::Released));
        self.act("psa", e, terminal(TerminalAction::Discharge, "869"));
        self.act("psa", e, terminal(TerminalAction::Release, "869"));
    }

    /// Truck pickup validation (v1) at Antwerp, without a carrier.
    pub fn truck(&self, alfapass: &str, e: EquipmentNumber, bls: &[&str]) -> PickupValidation {
        let bls: Vec<String> = bls.iter().map(|b| (*b).to_owned()).collect();
        self.w
            .validate_truck_pickup(antwerp(), alfapass, e, &bls, None)
    }

    /// Barge/rail pickup validation (v2) at Antwerp, without bills of lading.
    pub fn barge_rail(
        &self,
        operator: &str,
        mode: Option<TransportMode>,
        e: EquipmentNumber,
        release_id: Option<ReleaseId>,
    ) -> PickupValidation {
        self.w
            .validate_barge_rail_pickup(antwerp(), e, &[], release_id, mode, &by_id(operator))
    }

    /// Validate truck release right, asked by the party `caller`.
    pub fn ownership(
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

/// The light `name` of a validation's answer.
pub fn light(v: &PickupValidation, name: LightName) -> &LightView {
    v.lights.iter().find(|l| l.name == name).unwrap()
}

/// Every required light (all but GateOperation) has one of `colors`; GateOperation is grey.
pub fn assert_required_lights(v: &PickupValidation, colors: &[LightColor]) {
    assert_eq!(v.lights.len(), 5, "{:?}", v.lights);
    for l in &v.lights {
        if l.name == LightName::GateOperation {
            assert_eq!(l.color, LightColor::Grey, "{l:?}");
        } else {
            assert!(colors.contains(&l.color), "{l:?} not in {colors:?}");
        }
    }
}

/// A valid answer with this status and a release id.
pub fn assert_valid(v: &PickupValidation, status: &str) {
    assert!(v.is_valid, "{:?}", v.error_messages);
    assert!(v.error_messages.is_empty());
    assert_eq!(v.status, status);
    assert!(v.release_id.is_some());
}

/// An invalid answer with this status and a message containing `message`.
pub fn assert_invalid(v: &PickupValidation, status: &str, message: &str) {
    assert!(!v.is_valid, "expected invalid: {v:?}");
    assert_eq!(v.status, status, "{v:?}");
    assert!(
        v.error_messages.iter().any(|m| m.contains(message)),
        "no message containing '{message}' in {:?}",
        v.error_messages
    );
}

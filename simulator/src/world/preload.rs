//! A fixture loader for large worlds: container stays created directly, released and ready for
//! pickup, without notifications or history.
//!
//! This is not a command. [`World::apply`] is the only way the parties change a world; `preload`
//! builds the state a world would have reached, so benchmarks and fixtures can start from a
//! million stays without a million commands (and without a log of their notifications).

use super::{Timer, World};
use crate::command::SimError;
use crate::ids::{AlfapassNumber, EquipmentNumber, NxtEntityId, TerminalCode, UnLocode};
use crate::lights::{
    CommercialReleaseValue, CustomsValue, Lights, TerminalOperationValue, TerminalReleaseValue,
};
use crate::party::{Role, TransportMode};
use crate::stay::{
    BillsOfLading, PickupParty, PickupRight, ReleaseRight, RightState, Stakeholder,
    StakeholderState, Stay,
};

/// What every stay of one [`World::preload`] call looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreloadStay {
    /// Terminal named in the commercial release (must be a terminal of the world).
    pub terminal_code: TerminalCode,
    /// The shipping agent that released.
    pub shipping_agent: NxtEntityId,
    /// The party that accepted the release right (a release party or transport operator);
    /// `None` leaves the right with the agent.
    pub holder: Option<NxtEntityId>,
    /// A truck pickup right for this Alfapass, assigned by the holder (a truck operator).
    pub alfapass: Option<AlfapassNumber>,
    /// Bills of lading of the release right.
    pub bill_of_lading_numbers: Vec<String>,
}

impl World {
    /// Fixture loader, not a command: creates one released stay per container (every required
    /// light green: commercial release OK, customs RELEASED, DISCHARGED, terminal RELEASED) with
    /// one release right as `template` says, valid from now for the configured release validity
    /// (its expiry is scheduled). No notifications, no history.
    ///
    /// All or nothing: an unknown party, a holder or Alfapass that does not fit, a container
    /// that already has a stay or appears twice is refused before anything is created.
    /// Returns the number of stays created.
    pub fn preload(
        &mut self,
        locode: UnLocode,
        template: &PreloadStay,
        equipment: impl IntoIterator<Item = EquipmentNumber>,
    ) -> Result<usize, SimError> {
        self.check_preload(template)?;
        let mut all: Vec<EquipmentNumber> = equipment.into_iter().collect();
        all.sort_unstable();
        if let Some(w) = all.windows(2).find(|w| w[0] == w[1]) {
            return Err(SimError::InvalidState(format!(
                "container {} appears twice in the preload",
                w[0]
            )));
        }
        if let Some(e) = all.iter().find(|&&e| self.stays.contains((locode, e))) {
            return Err(SimError::InvalidState(format!(
                "container {e} already has a stay"
            )));
        }
        let now = self.now();
        let expires_at = super::later(now, self.config.release_validity);
        let lights = Lights {
            commercial_release: CommercialReleaseValue::Ok,
            customs: CustomsValue::Released,
            terminal_operation: TerminalOperationValue::Discharged,
            terminal_release: TerminalReleaseValue::Released,
            ..Lights::default()
        };
        self.stays.reserve(all.len());
        // One list for every preloaded right.
        let bills_of_lading = BillsOfLading::from(template.bill_of_lading_numbers.clone());
        for &e in &all {
            let key = (locode, e);
            let holder = template.holder.as_ref();
            // Minted like a released right's id: from the stay and its expiry timer's number.
            let number = self.schedule(
                expires_at,
                Timer::Expire {
                    stay: key,
                    right: 0,
                },
            );
            let right = ReleaseRight {
                release_id: self.stays.release_id(key, number),
                release_identification: None,
                shipping_agent: template.shipping_agent.clone(),
                terminal_code: template.terminal_code.clone(),
                bill_of_lading_numbers: bills_of_lading.clone(),
                carrier: None,
                released_at: now,
                valid_from: now,
                expires_at,
                chain: holder
                    .map(|h| Stakeholder {
                        party: h.clone(),
                        state: StakeholderState::Accepted,
                        since: now,
                    })
                    .into_iter()
                    .collect(),
                blocked: false,
                state: RightState::Active,
                pickup: template
                    .alfapass
                    .as_ref()
                    .zip(holder)
                    .map(|(a, h)| PickupRight {
                        party: PickupParty::Truck {
                            alfapass_number: a.clone(),
                        },
                        assigned_by: h.clone(),
                        assigned_at: now,
                    }),
            };
            let mut stay = Stay::new(locode, e);
            stay.terminal_code = Some(template.terminal_code.clone());
            stay.lights = lights;
            // `vec!` allocates exactly one right; `push` would reserve room for four.
            stay.release_rights = vec![right];
            self.stays.entry_or_insert_with(key, || stay);
        }
        Ok(all.len())
    }

    fn check_preload(&self, t: &PreloadStay) -> Result<(), SimError> {
        let invalid =
            |field: &'static str, message: String| SimError::InvalidField { field, message };
        if self.terminal(&t.terminal_code).is_none() {
            return Err(invalid(
                "terminalCode",
                format!("no terminal with code {}", t.terminal_code),
            ));
        }
        match self.party(&t.shipping_agent) {
            Some(p) if p.role == Role::ShippingAgent => {}
            _ => {
                return Err(invalid(
                    "shippingAgent",
                    format!("{} is not a shipping agent of this world", t.shipping_agent),
                ))
            }
        }
        let holder = match &t.holder {
            None => None,
            Some(h) => match self.party(h) {
                Some(p) if matches!(p.role, Role::ReleaseParty | Role::TransportOperator) => {
                    Some(p)
                }
                _ => {
                    return Err(invalid(
                        "holder",
                        format!("{h} is not a release party or transport operator of this world"),
                    ))
                }
            },
        };
        if let Some(a) = &t.alfapass {
            let ok = holder.is_some_and(|p| {
                p.transport_mode == Some(TransportMode::Truck) && self.by_alfapass.contains_key(a)
            });
            if !ok {
                return Err(invalid(
                    "alfapass",
                    format!("Alfapass {a} needs a known Alfapass and a truck operator as holder"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::Fixture;
    use crate::world::{Clock, WorldConfig};
    use crate::{Command, LightColor, OverallStatus};
    use chrono::{TimeZone, Utc};

    fn world() -> World {
        World::new(
            Fixture::default_world(),
            WorldConfig::default(),
            Clock::Frozen(Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()),
        )
        .unwrap()
    }

    fn id(w: &World, key: &str) -> NxtEntityId {
        w.party_by_key(key).unwrap().nxt_entity_id.clone()
    }

    fn template(w: &World) -> PreloadStay {
        PreloadStay {
            terminal_code: TerminalCode::parse("869").unwrap(),
            shipping_agent: id(w, "agent"),
            holder: Some(id(w, "trucker")),
            alfapass: Some(AlfapassNumber::parse("AP1000001").unwrap()),
            bill_of_lading_numbers: vec!["BL1".into()],
        }
    }

    fn eqs(n: u32) -> impl Iterator<Item = EquipmentNumber> {
        (0..n).map(|i| EquipmentNumber::from_serial("PREU", i).unwrap())
    }

    #[test]
    fn preloaded_stays_are_released_and_quiet() {
        let mut w = world();
        let t = template(&w);
        assert_eq!(w.preload(UnLocode::antwerp(), &t, eqs(100)).unwrap(), 100);
        assert_eq!(w.stay_count(), 100);
        assert!(w.notifications().is_empty());
        let e = EquipmentNumber::from_serial("PREU", 42).unwrap();
        let stay = w.stay(UnLocode::antwerp(), e).unwrap();
        assert_eq!(stay.lights.status(), OverallStatus::Released);
        assert_eq!(
            stay.lights.commercial_release,
            stay.commercial_release_value()
        );
        assert!(stay.history.is_empty());
        assert_eq!(stay.release_rights[0].holder(), &id(&w, "trucker"));
        let v = w.validate_truck_pickup(UnLocode::antwerp(), "AP1000001", e, &[], None);
        assert!(v.is_valid, "{:?}", v.error_messages);
        assert!(v
            .lights
            .iter()
            .all(|l| l.color == LightColor::Green || l.name == crate::LightName::GateOperation));
        // The expiry is scheduled like a released right's.
        w.apply(Command::AdvanceClock {
            seconds: 60 * 86_400,
        })
        .unwrap();
        let stay = w.stay(UnLocode::antwerp(), e).unwrap();
        assert_eq!(stay.lights.commercial_release.as_str(), "EXPIRED");
    }

    #[test]
    fn preload_is_all_or_nothing() {
        let mut w = world();
        let t = template(&w);
        w.preload(UnLocode::antwerp(), &t, eqs(3)).unwrap();
        // One already present among new ones: nothing added.
        let err = w.preload(UnLocode::antwerp(), &t, eqs(10)).unwrap_err();
        assert!(matches!(err, SimError::InvalidState(_)), "{err:?}");
        assert_eq!(w.stay_count(), 3);
        let twice = [
            EquipmentNumber::from_serial("PREU", 500).unwrap(),
            EquipmentNumber::from_serial("PREU", 500).unwrap(),
        ];
        assert!(w.preload(UnLocode::antwerp(), &t, twice).is_err());
        assert_eq!(w.stay_count(), 3);
        for bad in [
            PreloadStay {
                terminal_code: TerminalCode::parse("9999").unwrap(),
                ..t.clone()
            },
            PreloadStay {
                shipping_agent: id(&w, "forwarder"),
                ..t.clone()
            },
            PreloadStay {
                holder: Some(id(&w, "agent")),
                ..t.clone()
            },
            PreloadStay {
                holder: Some(id(&w, "barge")),
                ..t.clone()
            },
            PreloadStay {
                alfapass: Some(AlfapassNumber::parse("AP9999999").unwrap()),
                ..t.clone()
            },
            PreloadStay {
                holder: None,
                ..t.clone()
            },
        ] {
            let err = w.preload(UnLocode::antwerp(), &bad, eqs(20)).unwrap_err();
            assert!(
                matches!(err, SimError::InvalidField { .. }),
                "{bad:?}: {err:?}"
            );
            assert_eq!(w.stay_count(), 3);
        }
    }
}

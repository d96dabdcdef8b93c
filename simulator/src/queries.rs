//! Synchronous queries: pickup validations, ownership validation, registry, notifications.
//! They borrow the world and change nothing.

use crate::command::Identification;
use crate::ids::{AlfapassNumber, EquipmentNumber, NxtEntityId, UnLocode};
use crate::notification::{Notification, NotificationQuery, QueryError};
use crate::party::{Party, Role, TransportMode};
use crate::stay::{PickupParty, ReleaseRight, Stay};
use crate::world::{OwnershipValidation, PickupValidation, RegistryFilter, World};
use crate::ReleaseId;

/// Messages of the truck ownership validation (seed table "Validate Truck Release Right").
pub mod ownership_messages {
    /// Row 1: the queried company is not a transport operator.
    pub const NOT_TRANSPORT_OPERATOR: &str = "Queried company is not a Transport Operator";
    /// Row 1 variant: the queried company is unknown.
    pub const UNKNOWN_COMPANY: &str = "Queried company is unknown";
    /// Row 2: the Alfapass is invalid or unknown.
    pub const INVALID_ALFAPASS: &str = "Provided Alfapass number is invalid or unknown";
    /// Row 2 variant: the Alfapass is valid but not assigned to this container.
    pub const ALFAPASS_NOT_ASSIGNED: &str =
        "Provided Alfapass number is not assigned to pick up this container";
    /// Row 3: the company is not the last stakeholder.
    pub const NOT_OWNER: &str = "Queried company is not the owner of the Release Right";
    /// Row 4.
    pub const UNKNOWN_RIGHT: &str = "Release Right is unknown, non-existing or no longer active";
    /// Row 5.
    pub const OTHER_TERMINAL: &str =
        "Release Right is assigned to a different terminal by the Shipping Agent";
    /// Row 6.
    pub const MULTIPLE_OWNER_MISMATCH: &str = "Multiple Release Rights found, at least one is within the given time window but OwnerEntityId does not match the last stakeholder";
    /// Row 7.
    pub const MULTIPLE_FOUND: &str = "Multiple Release Rights found for queried equipment number";
    /// Row 9.
    pub const ALL_OUTSIDE_WINDOW: &str =
        "Multiple Release Rights found, all outside the time window";
    /// A single right outside its window.
    pub const OUTSIDE_WINDOW: &str = "Release Right is outside its time window";
}

impl World {
    #[expect(clippy::result_large_err, reason = "both arms carry the same answer")]
    fn validation_base(
        &self,
        locode: UnLocode,
        equipment: EquipmentNumber,
        bls: &[String],
    ) -> Result<(&Stay, PickupValidation), PickupValidation> {
        let mut v = PickupValidation {
            equipment: equipment.as_str().to_owned(),
            bill_of_lading_numbers: bls.to_vec(),
            is_valid: false,
            error_messages: Vec::new(),
            status: "UNKNOWN".to_owned(),
            lights: Vec::new(),
            release_id: None,
        };
        let Some(stay) = self.stay(locode, equipment) else {
            v.error_messages
                .push(format!("Container {equipment} is unknown in CPu"));
            return Err(v);
        };
        v.status = stay.lights.status().as_str().to_owned();
        v.lights = stay.lights.views();
        if stay.gated_out_at.is_some() {
            v.error_messages
                .push("Container has already left the terminal (gate out received)".to_owned());
        }
        let status = stay.lights.status();
        if !status.is_pickable() {
            let red = stay.lights.red_lights();
            if red.is_empty() {
                let missing: Vec<&str> = stay
                    .lights
                    .missing_lights()
                    .iter()
                    .map(|l| l.as_str())
                    .collect();
                v.error_messages.push(format!(
                    "Container is not yet released: waiting for {}",
                    missing.join(", ")
                ));
            } else {
                let red: Vec<&str> = red.iter().map(|l| l.as_str()).collect();
                v.error_messages.push(format!(
                    "Container is BLOCKED: red light(s) {}",
                    red.join(", ")
                ));
            }
        }
        Ok((stay, v))
    }

    fn bl_matches(right: &ReleaseRight, stay: &Stay, bls: &[String]) -> bool {
        if bls.is_empty() {
            return true;
        }
        let known: Vec<&String> = right
            .bill_of_lading_numbers
            .iter()
            .chain(stay.bill_of_lading_numbers.iter())
            .collect();
        known.is_empty()
            || bls
                .iter()
                .any(|b| known.iter().any(|k| k.eq_ignore_ascii_case(b)))
    }

    /// Synchronous truck pickup validation of one container for an Alfapass.
    pub fn validate_truck_pickup(
        &self,
        locode: UnLocode,
        alfapass: &str,
        equipment: EquipmentNumber,
        bls: &[String],
        carrier: Option<&Identification>,
    ) -> PickupValidation {
        let (stay, mut v) = match self.validation_base(locode, equipment, bls) {
            Ok(x) => x,
            Err(v) => return v,
        };
        let now = self.now();
        let mut rights: Vec<&ReleaseRight> = stay
            .active_rights()
            .filter(|r| Self::bl_matches(r, stay, bls))
            .collect();
        if let Some(c) = carrier {
            rights.retain(|r| {
                r.carrier.as_ref().is_none_or(|rc| {
                    self.party(rc)
                        .is_some_and(|p| p.matches(c.identification_type, &c.identification_code))
                })
            });
        }
        if rights.is_empty() {
            v.error_messages.push(if bls.is_empty() {
                "No active release right for this container".to_owned()
            } else {
                "Bill of lading numbers do not match an active release right".to_owned()
            });
        }
        let assigned = rights.iter().find(|r| {
            matches!(&r.pickup, Some(p) if matches!(&p.party, PickupParty::Truck { alfapass_number } if alfapass_number.as_str().eq_ignore_ascii_case(alfapass.trim())))
        });
        match assigned {
            Some(r) => {
                v.release_id = Some(r.release_id);
                if !r.in_window(now) {
                    v.error_messages
                        .push("Release right is outside its validity window".to_owned());
                }
            }
            None if !rights.is_empty() => {
                v.error_messages.push(format!(
                    "Alfapass {} is not assigned to pick up this container",
                    alfapass.trim()
                ));
            }
            None => {}
        }
        v.is_valid = v.error_messages.is_empty();
        v
    }

    /// Synchronous barge/rail pickup validation.
    #[allow(clippy::too_many_arguments)]
    pub fn validate_barge_rail_pickup(
        &self,
        locode: UnLocode,
        equipment: EquipmentNumber,
        bls: &[String],
        release_id: Option<ReleaseId>,
        mode: Option<TransportMode>,
        operator: &Identification,
    ) -> PickupValidation {
        let (stay, mut v) = match self.validation_base(locode, equipment, bls) {
            Ok(x) => x,
            Err(v) => return v,
        };
        let now = self.now();
        let Some(op) = self.find_party(operator.identification_type, &operator.identification_code)
        else {
            v.error_messages.push(format!(
                "Transport operator {} is unknown",
                operator.identification_code.trim()
            ));
            v.is_valid = false;
            return v;
        };
        if op.role != Role::TransportOperator {
            v.error_messages
                .push(format!("{} is not a transport operator", op.name));
        }
        if let (Some(m), Some(om)) = (mode, op.transport_mode) {
            if m != om {
                v.error_messages.push(format!(
                    "meansOfTransport {m:?} does not match the operator's mode {om:?}"
                ));
            }
        }
        let rights: Vec<&ReleaseRight> = stay
            .active_rights()
            .filter(|r| release_id.is_none_or(|id| id == r.release_id))
            .filter(|r| Self::bl_matches(r, stay, bls))
            .collect();
        if rights.is_empty() {
            v.error_messages.push(if release_id.is_some() {
                "releaseId does not match an active release right of this container".to_owned()
            } else {
                "No active release right for this container".to_owned()
            });
        }
        let entitled = rights.iter().find(|r| {
            let assigned = matches!(&r.pickup, Some(p) if matches!(&p.party,
                PickupParty::Barge { nxt_entity_id } | PickupParty::Rail { nxt_entity_id } if nxt_entity_id == &op.nxt_entity_id));
            assigned || (r.pickup.is_none() && r.holder() == &op.nxt_entity_id)
        });
        match entitled {
            Some(r) => {
                v.release_id = Some(r.release_id);
                if !r.in_window(now) {
                    v.error_messages
                        .push("Release right is outside its validity window".to_owned());
                }
            }
            None if !rights.is_empty() => v.error_messages.push(format!(
                "{} does not hold the pickup right of this container",
                op.name
            )),
            None => {}
        }
        v.is_valid = v.error_messages.is_empty();
        v
    }

    /// Whether an Alfapass is known (validate identification); case-insensitive, like the pickup
    /// and ownership validations that match an assigned Alfapass.
    pub fn alfapass_is_valid(&self, code: &str) -> bool {
        AlfapassNumber::parse(code).ok().is_some_and(|a| {
            self.parties().iter().any(|p| {
                p.alfapass_numbers
                    .iter()
                    .any(|known| known.as_str().eq_ignore_ascii_case(a.as_str()))
            })
        })
    }

    /// Validate that `owner` (a transport operator) holds the release right of a container,
    /// optionally for one of its drivers' Alfapass. `caller_terminal` is the terminal asking.
    pub fn validate_truck_ownership(
        &self,
        caller: &Party,
        locode: UnLocode,
        owner: &str,
        alfapass: Option<&str>,
        equipment: EquipmentNumber,
    ) -> OwnershipValidation {
        use ownership_messages as m;
        let now = self.now();
        let mut errors: Vec<String> = Vec::new();
        let owner_party = NxtEntityId::parse(owner)
            .ok()
            .and_then(|id| self.party(&id));
        match owner_party {
            None => errors.push(m::UNKNOWN_COMPANY.to_owned()),
            Some(p) if p.role != Role::TransportOperator => {
                errors.push(m::NOT_TRANSPORT_OPERATOR.to_owned());
            }
            Some(_) => {}
        }
        let alfapass = alfapass.map(str::trim).filter(|a| !a.is_empty());
        if let Some(a) = alfapass {
            if !self.alfapass_is_valid(a) {
                errors.push(m::INVALID_ALFAPASS.to_owned());
            }
        }
        if !errors.is_empty() {
            return OwnershipValidation {
                is_valid: false,
                error_messages: errors,
                release_id: None,
            };
        }
        let fail = |msg: &str, release_id| OwnershipValidation {
            is_valid: false,
            error_messages: vec![msg.to_owned()],
            release_id,
        };
        let Some(owner) = owner_party else {
            return fail(m::UNKNOWN_COMPANY, None);
        };
        let Some(stay) = self.stay(locode, equipment) else {
            return fail(m::UNKNOWN_RIGHT, None);
        };
        let rights: Vec<&ReleaseRight> = stay.active_rights().collect();
        if rights.is_empty() || stay.gated_out_at.is_some() {
            return fail(m::UNKNOWN_RIGHT, None);
        }
        if caller.role == Role::TerminalOperator {
            let mine: Vec<&&ReleaseRight> = rights
                .iter()
                .filter(|r| caller.terminal_code.as_ref() == Some(&r.terminal_code))
                .collect();
            if mine.is_empty() {
                return fail(m::OTHER_TERMINAL, Some(rights[0].release_id));
            }
        }
        let in_window: Vec<&&ReleaseRight> = rights.iter().filter(|r| r.in_window(now)).collect();
        let owned: Vec<&&ReleaseRight> = rights
            .iter()
            .filter(|r| r.holder() == &owner.nxt_entity_id)
            .collect();
        let owned_in_window: Vec<&&ReleaseRight> =
            owned.iter().copied().filter(|r| r.in_window(now)).collect();
        let check_alfapass = |r: &ReleaseRight| -> OwnershipValidation {
            if let Some(a) = alfapass {
                let assigned = matches!(&r.pickup, Some(p) if matches!(&p.party, PickupParty::Truck { alfapass_number } if alfapass_number.as_str().eq_ignore_ascii_case(a)));
                if !assigned {
                    return fail(m::ALFAPASS_NOT_ASSIGNED, Some(r.release_id));
                }
            }
            OwnershipValidation {
                is_valid: true,
                error_messages: Vec::new(),
                release_id: Some(r.release_id),
            }
        };
        if rights.len() == 1 {
            let r = rights[0];
            if r.holder() != &owner.nxt_entity_id {
                return fail(m::NOT_OWNER, Some(r.release_id));
            }
            if !r.in_window(now) {
                return fail(m::OUTSIDE_WINDOW, Some(r.release_id));
            }
            return check_alfapass(r);
        }
        // Several active rights.
        if in_window.is_empty() {
            return fail(m::ALL_OUTSIDE_WINDOW, None);
        }
        match owned_in_window.as_slice() {
            [] => fail(m::MULTIPLE_OWNER_MISMATCH, None),
            [r] => check_alfapass(r),
            _ => fail(m::MULTIPLE_FOUND, None),
        }
    }

    /// Company registry search: filters ANDed; returns the page and the total count.
    pub fn registry_search(
        &self,
        f: &RegistryFilter,
        page: usize,
        page_size: usize,
    ) -> (Vec<&Party>, usize) {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        let all: Vec<&Party> = self
            .parties()
            .iter()
            .filter(|p| eq(&f.eori, p.eori.as_deref()))
            .filter(|p| eq(&f.duns, p.duns.as_deref()))
            .filter(|p| eq(&f.vat, p.vat.as_deref()))
            .filter(|p| eq(&f.apcs_code, p.apcs_code.as_deref()))
            .filter(|p| eq(&f.nxt_entity_id, Some(p.nxt_entity_id.as_str())))
            .filter(|p| {
                f.entity_name
                    .as_deref()
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .is_none_or(|w| p.name.to_lowercase().contains(&w.to_lowercase()))
            })
            .collect();
        let total = all.len();
        let page_items = all
            .into_iter()
            .skip(page.saturating_sub(1).saturating_mul(page_size))
            .take(page_size)
            .collect();
        (page_items, total)
    }

    /// Notifications for `receiver` (within the retention period).
    pub fn query_notifications(
        &self,
        receiver: &NxtEntityId,
        q: &NotificationQuery,
    ) -> Result<Vec<Notification>, QueryError> {
        let cutoff = crate::world::earlier(self.now(), self.config().notification_retention);
        let found: Vec<Notification> = self
            .notifications()
            .query(receiver, q)?
            .into_iter()
            .filter(|n| n.stored_on >= cutoff)
            .collect();
        if found.is_empty() {
            Err(QueryError::NoneMatch)
        } else {
            Ok(found)
        }
    }
}

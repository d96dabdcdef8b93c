//! Rendering the world into the contract's bodies: notified parties, containers, release
//! rights and the release detail.

use super::{Pending, World};
use crate::command::SimError;
use crate::ids::{NxtEntityId, ReleaseId};
use crate::notification::{NotificationEvent, NotificationType};
use crate::notification::{RightView, StoredBody};
use crate::party::{Party, Role};
use crate::stay::{PickupRight, ReleaseRight, Stay, StayKey};
use cpu_contract::{
    ContainerBody, GreenLightShortInfo, IdentificationEntity, ModeOfTransport, NotValidatedBody,
    NotificationBody, ReleaseDetail,
};

impl World {
    pub(super) fn release_detail(
        &mut self,
        caller: &Party,
        key: StayKey,
    ) -> Result<Vec<Pending>, SimError> {
        let me = caller.nxt_entity_id.clone();
        let Some(stay) = self.stays.get(key) else {
            return Ok(vec![Pending {
                receivers: vec![me],
                kind: NotificationType::ReleaseRight,
                event: NotificationEvent::NotValidated,
                body: StoredBody::from(NotificationBody::NotValidated(NotValidatedBody {
                    equipment_number: key.1.as_str().to_owned(),
                    port_lo_code: key.0.as_str().to_owned(),
                    errors: vec![format!("No release right found for container {}", key.1)],
                })),
                release_id: None,
            }]);
        };
        let involved = caller.role == Role::Customs
            || stay
                .terminal_code
                .as_ref()
                .is_some_and(|t| caller.terminal_code.as_ref() == Some(t))
            || stay.interested_parties().contains(&me)
            || stay.release_rights.iter().any(|r| {
                matches!(&r.pickup, Some(PickupRight { assigned_by, .. }) if assigned_by == &me)
            });
        if !involved {
            return Err(SimError::NotAllowed(format!(
                "{} is not involved in container {}",
                caller.name, key.1
            )));
        }
        let body = NotificationBody::ReleaseDetail(self.detail_body(stay)).into();
        Ok(vec![Pending {
            receivers: vec![me],
            kind: NotificationType::ReleaseRight,
            event: NotificationEvent::GetReleaseDetail,
            body,
            release_id: stay.active_rights().next().map(|r| r.release_id),
        }])
    }

    /// The company a release detail names (NxtPort `IdentificationEntity`).
    pub(super) fn identification_entity(&self, id: &NxtEntityId) -> IdentificationEntity {
        let p = self.party(id);
        let field = |f: fn(&Party) -> &Option<String>| p.and_then(|p| f(p).clone());
        IdentificationEntity {
            name: p.map(|p| p.name.clone()),
            nxt_entity_id: Some(id.as_str().to_owned()),
            duns: field(|p| &p.duns),
            eori: field(|p| &p.eori),
            vat: field(|p| &p.vat),
            scac: field(|p| &p.scac),
            apcs: field(|p| &p.apcs_code),
            external_id: None,
            is_alternative_system: None,
            cpu_roles: Vec::new(),
        }
    }

    pub(super) fn stay_body(&self, stay: &Stay) -> ContainerBody {
        ContainerBody {
            port_lo_code: stay.locode.as_str().to_owned(),
            equipment_number: stay.equipment.as_str().to_owned(),
            terminal_code: stay.terminal_code.as_ref().map(|t| t.as_str().to_owned()),
            bill_of_lading_numbers: stay.bill_of_lading_numbers.to_vec(),
            stay_number: stay.stay_number.as_deref().map(str::to_owned),
        }
    }

    /// A release right as notification bodies show it (rendered by the log on read).
    pub(super) fn right_view(&self, stay: &Stay, r: &ReleaseRight) -> RightView {
        RightView {
            carrier: r.carrier.clone(),
            terminal_code: r.terminal_code.clone(),
            locode: stay.locode,
            equipment: stay.equipment,
            bill_of_lading_numbers: r.bill_of_lading_numbers.clone(),
            release_identification: r.release_identification.clone(),
            release_id: r.release_id,
            released_at: r.released_at,
            expires_at: r.expires_at,
            release_from: r.shipping_agent.clone(),
            release_to: r.chain.last().map(|s| s.party.clone()),
            holder: r.holder().clone(),
            status: r.status(),
            pickup: r.pickup.as_ref().map(|p| p.party.clone()),
        }
    }

    /// The release detail (`TerminalReleaseRightDetailResponse`) of a stay: its active release
    /// right, else its last one.
    pub fn detail_body(&self, stay: &Stay) -> ReleaseDetail {
        self.detail_of(
            stay,
            stay.active_rights().next().or(stay.release_rights.last()),
        )
    }

    /// `GET /release-rights?releaseId=` ("Get Release Right Details as Terminal Operator"): the
    /// detail of one release right of an active stay, for the terminal operator it names.
    /// `NotAllowed` when the caller is not that terminal; `InvalidState` when no active stay
    /// holds the right.
    pub fn release_right_detail(
        &self,
        caller: &NxtEntityId,
        id: ReleaseId,
    ) -> Result<ReleaseDetail, SimError> {
        let caller = self.caller(caller)?;
        let none = || SimError::InvalidState(format!("no release right with releaseId {}", id.0));
        let (stay, right) = self.stays.right(id).ok_or_else(none)?;
        if caller.terminal_code.as_ref() != Some(&right.terminal_code) {
            return Err(SimError::NotAllowed(format!(
                "release right {} is assigned to terminal {}, not to {}",
                id.0, right.terminal_code, caller.name
            )));
        }
        Ok(self.detail_of(stay, Some(right)))
    }

    pub(super) fn detail_of(&self, stay: &Stay, right: Option<&ReleaseRight>) -> ReleaseDetail {
        let lights = stay
            .lights
            .views()
            .into_iter()
            .map(|l| GreenLightShortInfo {
                green_light_name: l.name.as_str().to_owned(),
                green_light_value: l.value.to_owned(),
                color: l.color,
                label: None,
                date_last_updated: None,
            })
            .collect();
        let terminal_name = stay
            .terminal_code
            .as_ref()
            .and_then(|t| self.terminal(t))
            .map(|p| p.name.clone());
        ReleaseDetail {
            release_id: right.map(|r| r.release_id.0),
            equipment_number: stay.equipment.as_str().to_owned(),
            release_identification: right
                .and_then(|r| r.release_identification.as_deref())
                .map(str::to_owned),
            bill_of_lading_numbers: Some(right.map_or_else(
                || stay.bill_of_lading_numbers.join(","),
                |r| r.bill_of_lading_numbers.join(","),
            )),
            release_order_reference: None,
            empty_return_reference: None,
            terminal_name,
            terminal_code: stay.terminal_code.as_ref().map(|t| t.as_str().to_owned()),
            port_lo_code: Some(stay.locode.as_str().to_owned()),
            lights,
            status: Some(stay.lights.status().as_str().to_owned()),
            release_date_time_utc: right.map(|r| r.released_at),
            expiration_date_time_utc: right.map(|r| r.expires_at),
            shipping_agent_name: right
                .and_then(|r| self.party(&r.shipping_agent))
                .map(|p| p.name.clone()),
            encrypted_alfapass_number: None,
            transport_operator: right.map(|r| self.identification_entity(r.holder())),
            means_of_transport: Some(
                right
                    .and_then(|r| r.pickup.as_ref())
                    .map_or(ModeOfTransport::Unknown, |p| p.party.mode_of_transport()),
            ),
            public_reference_id: None,
            external_reference_id: None,
        }
    }
}

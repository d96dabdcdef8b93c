//! The world: parties, container stays, the notification log and the virtual clock, changed only
//! through [`World::apply`].

use crate::command::{
    Action, Command, Identification, Outcome, PickupAction, PickupTarget, ReleaseAction,
    ReleaseRightCommand, RightSelector, SimError, TerminalEventCommand,
};
use crate::ids::{
    AlfapassNumber, EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode,
    UnLocode,
};
use crate::lights::{
    CustomsValue, GateOperationValue, LightName, TerminalOperationValue, TerminalReleaseValue,
};
use crate::notification::{Notification, NotificationEvent, NotificationLog, NotificationType};
use crate::party::{Fixture, FixtureError, IdentificationType, Party, Role, TransportMode};
use crate::stay::{
    FullEmpty, HistoryEntry, PickupParty, PickupRight, ReleaseRight, RightState, Stakeholder,
    StakeholderState, Stay, StayKey, TerminalAction, TerminalEvent,
};
use chrono::{DateTime, Duration, Utc};
use cpu_contract::{
    ContainerBody, GateOutBody, GreenLightShortInfo, IdentificationEntity, LightChangedBody,
    LightSubject, ModeOfTransport, NotValidatedBody, NotificationBody, NotifiedParty,
    PickupRightBody, RegisteredBody, ReleaseDetail, ReleaseRightActionBody, ReleaseRightBody,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

mod preload;
pub use preload::PreloadStay;

/// Numbers the sources leave open; all configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldConfig {
    /// Validity of a commercial release without an expiration date (60 days).
    pub release_validity: Duration,
    /// How long a stay stays visible after gate out (14 days).
    pub archive_after: Duration,
    /// How long notifications are kept and can be polled (168 h).
    pub notification_retention: Duration,
    /// Apply the deprecated rule "empty container -> customs NOTAPPLICABLE" on discharge.
    pub empty_sets_customs_not_applicable: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            release_validity: Duration::days(60),
            archive_after: Duration::days(14),
            notification_retention: Duration::hours(168),
            empty_sets_customs_not_applicable: true,
        }
    }
}

/// The virtual clock: real time plus an offset, or frozen (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Wall clock plus an offset moved by `AdvanceClock`.
    Real {
        /// Accumulated advance.
        offset: Duration,
    },
    /// Stands still except when advanced.
    Frozen(DateTime<Utc>),
}

impl Clock {
    /// Now, on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Real { offset } => later(Utc::now(), *offset),
            Clock::Frozen(t) => *t,
        }
    }
    /// Move forward by `by`, unless that would pass [`LATEST`] (then nothing changes).
    fn advance(&mut self, by: Duration) -> Result<(), SimError> {
        let too_far = || SimError::InvalidField {
            field: "seconds",
            message: format!("the clock cannot go past {LATEST}"),
        };
        match self.now().checked_add_signed(by) {
            Some(t) if t <= LATEST => {}
            _ => return Err(too_far()),
        }
        match self {
            Clock::Real { offset } => *offset = offset.checked_add(&by).ok_or_else(too_far)?,
            Clock::Frozen(t) => *t = t.checked_add_signed(by).ok_or_else(too_far)?,
        }
        Ok(())
    }
}

pub use cpu_contract::time::{time_problem, EARLIEST, LATEST};

/// [`time_problem`] as the error of a command field.
pub fn check_time(field: &'static str, t: DateTime<Utc>) -> Result<(), SimError> {
    match time_problem(t) {
        Some(message) => Err(SimError::InvalidField { field, message }),
        None => Ok(()),
    }
}

/// `t + d`, saturating at chrono's bounds instead of panicking.
pub(crate) fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t - d`, saturating.
pub(crate) fn earlier(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Expire(StayKey, ReleaseId),
    Archive(StayKey),
}

/// Result of a truck (Alfapass) or barge/rail pickup validation for one container.
#[derive(Debug, Clone, PartialEq)]
pub struct PickupValidation {
    /// Container.
    pub equipment: String,
    /// Bills of lading as requested.
    pub bill_of_lading_numbers: Vec<String>,
    /// May this party pick it up now?
    pub is_valid: bool,
    /// Why not (empty when valid).
    pub error_messages: Vec<String>,
    /// Overall status, or UNKNOWN.
    pub status: String,
    /// The lights (empty for an unknown container).
    pub lights: Vec<crate::lights::LightView>,
    /// The release right matched.
    pub release_id: Option<ReleaseId>,
}

/// Result of a truck release right (ownership) validation.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnershipValidation {
    /// Holds the right?
    pub is_valid: bool,
    /// Reasons (several when several checks fail).
    pub error_messages: Vec<String>,
    /// The matched right.
    pub release_id: Option<ReleaseId>,
}

/// Registry search filters (ANDed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryFilter {
    /// EORI.
    pub eori: Option<String>,
    /// DUNS.
    pub duns: Option<String>,
    /// VAT.
    pub vat: Option<String>,
    /// NxtEntityId.
    pub nxt_entity_id: Option<String>,
    /// Partial, case-insensitive name.
    pub entity_name: Option<String>,
    /// APCS code.
    pub apcs_code: Option<String>,
}

impl RegistryFilter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        [
            &self.eori,
            &self.duns,
            &self.vat,
            &self.nxt_entity_id,
            &self.entity_name,
            &self.apcs_code,
        ]
        .iter()
        .all(|f| f.as_deref().is_none_or(|s| s.trim().is_empty()))
    }
}

/// One CPu world.
#[derive(Debug)]
pub struct World {
    config: WorldConfig,
    clock: Clock,
    parties: Vec<Party>,
    by_entity: HashMap<NxtEntityId, usize>,
    by_terminal: HashMap<TerminalCode, usize>,
    by_alfapass: HashMap<AlfapassNumber, usize>,
    stays: HashMap<StayKey, Stay>,
    /// The stay of every release right of an active stay.
    by_release: HashMap<ReleaseId, StayKey>,
    archived: Vec<Stay>,
    timers: BTreeMap<(DateTime<Utc>, u64), Timer>,
    timer_seq: u64,
    notifications: NotificationLog,
    /// Terminal events released from the waiting room by a commercial release, applied after the
    /// release's own notifications.
    attach_queue: Vec<(StayKey, TerminalEvent)>,
    /// Notifications of timers that fired at the start of a refused command (real clock): they
    /// lead the next outcome, so a caller delivering outcomes loses none.
    carried: Vec<Notification>,
}

/// What a change emits before it is committed: (receivers, type, event, body, release id, errors).
struct Pending {
    receivers: Vec<NxtEntityId>,
    kind: NotificationType,
    event: NotificationEvent,
    body: NotificationBody,
    release_id: Option<ReleaseId>,
}

impl World {
    /// A world with the given parties.
    pub fn new(fixture: Fixture, config: WorldConfig, clock: Clock) -> Result<Self, FixtureError> {
        fixture.validate()?;
        let mut w = World {
            config,
            clock,
            parties: Vec::new(),
            by_entity: HashMap::new(),
            by_terminal: HashMap::new(),
            by_alfapass: HashMap::new(),
            stays: HashMap::new(),
            by_release: HashMap::new(),
            archived: Vec::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            notifications: NotificationLog::default(),
            attach_queue: Vec::new(),
            carried: Vec::new(),
        };
        for (i, p) in fixture.parties.into_iter().enumerate() {
            w.by_entity.insert(p.nxt_entity_id.clone(), i);
            if let Some(t) = &p.terminal_code {
                w.by_terminal.insert(t.clone(), i);
            }
            for a in &p.alfapass_numbers {
                w.by_alfapass.insert(a.clone(), i);
            }
            w.parties.push(p);
        }
        Ok(w)
    }

    /// The configuration.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// Now, on the world's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// All parties.
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    /// A party by entity id.
    pub fn party(&self, id: &NxtEntityId) -> Option<&Party> {
        self.by_entity.get(id).map(|&i| &self.parties[i])
    }

    /// The party identified by `kind` + `code`.
    pub fn find_party(&self, kind: IdentificationType, code: &str) -> Option<&Party> {
        if matches!(
            kind,
            IdentificationType::NxtEntityId | IdentificationType::ExternalId
        ) {
            return NxtEntityId::parse(code).ok().and_then(|id| self.party(&id));
        }
        self.parties.iter().find(|p| p.matches(kind, code))
    }

    /// The terminal operator with this terminal code.
    pub fn terminal(&self, code: &TerminalCode) -> Option<&Party> {
        self.by_terminal.get(code).map(|&i| &self.parties[i])
    }

    /// The active stay of a container.
    pub fn stay(&self, locode: UnLocode, equipment: EquipmentNumber) -> Option<&Stay> {
        self.stays.get(&(locode, equipment))
    }

    /// Archived stays of a container, oldest first.
    pub fn archived_stays(
        &self,
        locode: UnLocode,
        equipment: EquipmentNumber,
    ) -> impl Iterator<Item = &Stay> {
        self.archived
            .iter()
            .filter(move |s| s.locode == locode && s.equipment == equipment)
    }

    /// Number of active stays.
    pub fn stay_count(&self) -> usize {
        self.stays.len()
    }

    /// When the earliest pending timer (expiry, archive) falls due, if any. A host on the real
    /// clock applies [`Command::Tick`] once that time has come, so timers fire on time even
    /// when no command arrives.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.timers.first_key_value().map(|((at, _), _)| *at)
    }

    /// The notification log.
    pub fn notifications(&self) -> &NotificationLog {
        &self.notifications
    }

    /// The single entry point for every change. On error the command has changed nothing; only
    /// timers that fell due on the real clock before it have fired (time passed regardless), and
    /// their notifications lead the next successful outcome.
    pub fn apply(&mut self, command: Command) -> Result<Outcome, SimError> {
        match command {
            Command::AdvanceClock { seconds } => {
                if seconds < 0 {
                    return Err(SimError::ClockBackwards);
                }
                let by = Duration::try_seconds(seconds).ok_or(SimError::InvalidField {
                    field: "seconds",
                    message: "too large".into(),
                })?;
                self.clock.advance(by)?;
                Ok(Outcome {
                    public_reference_id: None,
                    notifications: self.fire_due(),
                })
            }
            Command::Tick => Ok(Outcome {
                public_reference_id: None,
                notifications: self.fire_due(),
            }),
            Command::Act {
                caller,
                locode,
                equipment,
                external_reference_id,
                action,
            } => {
                let mut notifications = self.fire_due();
                let reference = PublicReferenceId::new();
                let pending = match self.act(
                    &caller,
                    (locode, equipment),
                    reference,
                    external_reference_id.clone(),
                    &action,
                ) {
                    Ok(p) => p,
                    Err(e) => {
                        self.carried = notifications;
                        return Err(e);
                    }
                };
                let now = self.now();
                notifications.extend(self.emit(
                    pending,
                    Some(&caller),
                    reference,
                    external_reference_id,
                    Some(equipment),
                    now,
                ));
                for (key, ev) in std::mem::take(&mut self.attach_queue) {
                    // Attached events answer under their own public reference id.
                    let (terminal, ev_ref, ev_ext) = (
                        ev.terminal.clone(),
                        ev.public_reference_id,
                        ev.external_reference_id.clone(),
                    );
                    let p = self.apply_terminal_event(key, ev);
                    notifications.extend(self.emit(
                        p,
                        Some(&terminal),
                        ev_ref,
                        ev_ext,
                        Some(key.1),
                        now,
                    ));
                }
                Ok(Outcome {
                    public_reference_id: Some(reference),
                    notifications,
                })
            }
        }
    }

    fn caller(&self, caller: &NxtEntityId) -> Result<&Party, SimError> {
        self.party(caller)
            .ok_or_else(|| SimError::UnknownCaller(caller.as_str().to_owned()))
    }

    fn resolve(&self, field: &'static str, id: &Identification) -> Result<&Party, SimError> {
        self.find_party(id.identification_type, &id.identification_code)
            .ok_or_else(|| SimError::UnknownParty {
                field,
                kind: id.identification_type,
                code: id.identification_code.clone(),
            })
    }

    /// Validate and perform an action; returns the notifications to emit. Checks come first, so an
    /// error leaves the world unchanged.
    fn act(
        &mut self,
        caller_id: &NxtEntityId,
        key: StayKey,
        reference: PublicReferenceId,
        external: Option<Arc<str>>,
        action: &Action,
    ) -> Result<Vec<Pending>, SimError> {
        let caller = self.caller(caller_id)?.clone();
        match action {
            Action::Terminal(ev) => check_time("timestamp", ev.occurred_at)?,
            Action::ReleaseRight(cmd) => {
                for (field, t) in [
                    ("releaseDateTimeUtc", cmd.release_at),
                    ("expirationDateTimeUtc", cmd.expires_at),
                    ("validFrom", cmd.valid_from),
                ] {
                    t.map(|t| check_time(field, t)).transpose()?;
                }
            }
            _ => {}
        }
        match action {
            Action::Terminal(ev) => self.terminal_event(&caller, key, reference, external, ev),
            Action::ReleaseRight(cmd) => self.release_right(&caller, key, reference, cmd),
            Action::PickupRight {
                action,
                selector,
                target,
            } => self.pickup_right(&caller, key, reference, *action, selector, target.as_ref()),
            Action::RequestReleaseDetail => self.release_detail(&caller, key),
            Action::SetCustoms(value) => {
                if caller.role != Role::Customs {
                    return Err(SimError::NotAllowed(
                        "only customs can set the customs light".into(),
                    ));
                }
                let now = self.now();
                let stay = self
                    .stays
                    .entry(key)
                    .or_insert_with(|| Stay::new(key.0, key.1));
                ensure_open(stay)?;
                let old = stay.lights.customs;
                stay.lights.customs = *value;
                stay.history.push(HistoryEntry {
                    at: now,
                    actor: Some(caller.nxt_entity_id.clone()),
                    action: format!("Customs {value}"),
                    public_reference_id: reference,
                });
                let stay = &self.stays[&key];
                Ok(vec![self.light_changed(
                    stay,
                    LightName::Customs,
                    old.as_str(),
                    value.as_str(),
                    NotificationEvent::ReleaseLightChanged,
                )])
            }
        }
    }

    fn terminal_event(
        &mut self,
        caller: &Party,
        key: StayKey,
        reference: PublicReferenceId,
        external: Option<Arc<str>>,
        ev: &TerminalEventCommand,
    ) -> Result<Vec<Pending>, SimError> {
        if caller.role != Role::TerminalOperator {
            return Err(SimError::NotAllowed(format!(
                "{} is not a terminal operator",
                caller.name
            )));
        }
        if caller.terminal_code.as_ref() != Some(&ev.terminal_code) {
            return Err(SimError::NotAllowed(format!(
                "terminalCode {} does not belong to {}",
                ev.terminal_code, caller.name
            )));
        }
        if let Some(stay) = self.stays.get(&key) {
            ensure_open(stay)?;
            // Terminal scoping: a container belongs to the terminal its active release right
            // names, else to the terminal that first reported it.
            let at = stay
                .active_rights()
                .last()
                .map(|r| &r.terminal_code)
                .or(stay.terminal_code.as_ref());
            if let Some(at) = at.filter(|t| *t != &ev.terminal_code) {
                return Err(SimError::NotAllowed(format!(
                    "container {} is at terminal {at}, not at {}'s terminal {}",
                    key.1, caller.name, ev.terminal_code
                )));
            }
            if stay.gated_out_at.is_some() {
                return Err(SimError::InvalidState(format!(
                    "container already gated out: the stay is final (archived {} days after gate out); {} is refused",
                    self.config.archive_after.num_days(),
                    ev.action.as_str()
                )));
            }
        }
        let event = TerminalEvent {
            action: ev.action,
            terminal: caller.nxt_entity_id.clone(),
            terminal_code: ev.terminal_code.clone(),
            occurred_at: ev.occurred_at,
            import: ev.import,
            full_empty: ev.full_empty,
            mode_of_transport: ev.mode_of_transport,
            bill_of_lading_numbers: ev.bill_of_lading_numbers.clone(),
            stay_number: ev.stay_number.clone(),
            public_reference_id: reference,
            external_reference_id: external,
        };
        let stay = self
            .stays
            .entry(key)
            .or_insert_with(|| Stay::new(key.0, key.1));
        if stay.terminal_code.is_none() {
            stay.terminal_code = Some(ev.terminal_code.clone());
        }
        if ev.stay_number.is_some() {
            stay.stay_number.clone_from(&ev.stay_number);
        }
        for bl in &ev.bill_of_lading_numbers {
            if !stay.bill_of_lading_numbers.contains(bl) {
                stay.bill_of_lading_numbers.push(bl.clone());
            }
        }
        if !stay.has_commercial_release() {
            stay.waiting.push(event);
            let body = NotificationBody::Registered(RegisteredBody {
                equipment_number: key.1.as_str().to_owned(),
                port_lo_code: key.0.as_str().to_owned(),
                terminal_code: ev.terminal_code.as_str().to_owned(),
                operation_type: ev.action.as_str().to_owned(),
                status: "WaitingForCommercialRelease".to_owned(),
                message:
                    "Registered; it attaches to the container when the commercial release arrives"
                        .to_owned(),
            });
            return Ok(vec![Pending {
                receivers: vec![caller.nxt_entity_id.clone()],
                kind: NotificationType::TerminalEvent,
                event: NotificationEvent::ReleaseLightRegistered,
                body,
                release_id: None,
            }]);
        }
        Ok(self.apply_terminal_event(key, event))
    }

    /// Apply a terminal event to a stay with a commercial release.
    fn apply_terminal_event(&mut self, key: StayKey, ev: TerminalEvent) -> Vec<Pending> {
        let now = self.now();
        let Some(stay) = self.stays.get_mut(&key) else {
            return Vec::new();
        };
        let before = stay.lights;
        let mut out = Vec::new();
        match ev.action {
            TerminalAction::Discharge => {
                stay.lights.terminal_operation = TerminalOperationValue::Discharged;
                if self.config.empty_sets_customs_not_applicable
                    && ev.full_empty == Some(FullEmpty::Empty)
                {
                    stay.lights.customs = CustomsValue::NotApplicable;
                }
            }
            TerminalAction::GateIn => {
                stay.lights.terminal_operation = TerminalOperationValue::GateIn;
                if ev.import {
                    stay.lights.customs = CustomsValue::PortEqualisation;
                }
            }
            TerminalAction::GateOut => {
                stay.lights.gate_operation = GateOperationValue::GateOutReceived;
                stay.gated_out_at = Some(now);
                stay.gate_out_mode = ev.mode_of_transport;
            }
            TerminalAction::Release => {
                stay.lights.terminal_release = TerminalReleaseValue::Released
            }
            TerminalAction::Scanning => {
                stay.lights.terminal_release = TerminalReleaseValue::Scanning
            }
            TerminalAction::Block => stay.lights.terminal_release = TerminalReleaseValue::Blocked,
        }
        stay.history.push(HistoryEntry {
            at: now,
            actor: Some(ev.terminal.clone()),
            action: format!("{} {}", terminal_label(ev.action), ev.action.as_str()),
            public_reference_id: ev.public_reference_id,
        });
        let stay = &self.stays[&key];
        let after = stay.lights;
        let status_before = before.status();
        for name in LightName::ALL {
            let (old, _) = before.get(name);
            let (new, _) = after.get(name);
            let is_subject = matches!(
                (name, ev.action),
                (
                    LightName::TerminalRelease,
                    TerminalAction::Release | TerminalAction::Scanning | TerminalAction::Block
                ) | (
                    LightName::TerminalOperation,
                    TerminalAction::Discharge | TerminalAction::GateIn
                )
            );
            if old == new && !is_subject {
                continue;
            }
            let event = match (name, ev.action) {
                (LightName::TerminalRelease, TerminalAction::Release) => {
                    NotificationEvent::TerminalRelease
                }
                (LightName::TerminalRelease, TerminalAction::Scanning) => {
                    NotificationEvent::TerminalScan
                }
                (LightName::TerminalRelease, TerminalAction::Block) => {
                    NotificationEvent::TerminalBlocked
                }
                _ => NotificationEvent::ReleaseLightChanged,
            };
            if name == LightName::GateOperation {
                continue;
            }
            out.push(self.light_changed(stay, name, old, new, event));
        }
        if ev.action == TerminalAction::GateOut {
            let mut receivers = vec![ev.terminal.clone()];
            receivers.extend(stay.interested_parties());
            dedup(&mut receivers);
            let body = NotificationBody::GateOut(GateOutBody {
                container: self.stay_body(stay),
                mode_of_transport: ev.mode_of_transport,
                status_at_gate_out: status_before.as_str().to_owned(),
                terminal_overrule: (!status_before.is_pickable()).then(|| {
                    format!(
                        "gate out while the container was {}: the terminal overruled CPu",
                        status_before.as_str()
                    )
                }),
            });
            out.push(Pending {
                receivers,
                kind: NotificationType::TerminalEvent,
                event: NotificationEvent::GateOut,
                body,
                release_id: stay.active_rights().next().map(|r| r.release_id),
            });
            let at = later(now, self.config.archive_after);
            self.schedule(at, Timer::Archive(key));
        }
        out
    }

    fn find_right_index(stay: &Stay, selector: &RightSelector) -> Result<usize, SimError> {
        let candidates: Vec<usize> = stay
            .release_rights
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == RightState::Active)
            .filter(|(_, r)| selector.release_id.is_none_or(|id| id == r.release_id))
            .filter(|(_, r)| {
                selector
                    .release_identification
                    .as_deref()
                    .is_none_or(|ri| r.release_identification.as_deref() == Some(ri))
            })
            .map(|(i, _)| i)
            .collect();
        match candidates.as_slice() {
            [i] => Ok(*i),
            [] => Err(SimError::InvalidState(format!(
                "no active release right for container {}{}",
                stay.equipment,
                if selector.release_id.is_some() || selector.release_identification.is_some() {
                    " matching releaseId/releaseIdentification"
                } else {
                    ""
                }
            ))),
            _ => Err(SimError::InvalidState(format!(
                "container {} has {} active release rights: give releaseId or releaseIdentification",
                stay.equipment,
                candidates.len()
            ))),
        }
    }

    #[allow(clippy::too_many_lines)]
    fn release_right(
        &mut self,
        caller: &Party,
        key: StayKey,
        reference: PublicReferenceId,
        cmd: &ReleaseRightCommand,
    ) -> Result<Vec<Pending>, SimError> {
        let now = self.now();
        let me = caller.nxt_entity_id.clone();
        let agent_only = matches!(
            cmd.action,
            ReleaseAction::Release
                | ReleaseAction::Update
                | ReleaseAction::Block
                | ReleaseAction::Unblock
                | ReleaseAction::Delete
        );
        if agent_only && caller.role != Role::ShippingAgent {
            return Err(SimError::NotAllowed(format!(
                "actionType {} is for shipping agents; {} is a {:?}",
                cmd.action.as_str(),
                caller.name,
                caller.role
            )));
        }
        if !matches!(
            caller.role,
            Role::ShippingAgent | Role::ReleaseParty | Role::TransportOperator
        ) {
            return Err(SimError::NotAllowed(format!(
                "a {:?} cannot act on release rights",
                caller.role
            )));
        }
        let release_to = match &cmd.release_to {
            Some(id) => {
                let p = self.resolve("releaseTo", id)?;
                if !matches!(p.role, Role::ReleaseParty | Role::TransportOperator) {
                    return Err(SimError::InvalidField {
                        field: "releaseTo",
                        message: format!(
                            "{} is a {:?}; a release right goes to a release party or transport operator",
                            p.name, p.role
                        ),
                    });
                }
                if p.nxt_entity_id == me {
                    return Err(SimError::InvalidField {
                        field: "releaseTo",
                        message: "cannot transfer a release right to yourself".into(),
                    });
                }
                Some(p.nxt_entity_id.clone())
            }
            None => None,
        };
        let carrier = match &cmd.carrier {
            Some(id) => Some(self.resolve("carrier", id)?.nxt_entity_id.clone()),
            None => None,
        };
        if let Some(stay) = self.stays.get(&key) {
            ensure_open(stay)?;
            if stay.gated_out_at.is_some() {
                return Err(SimError::InvalidState(format!(
                    "container {} has left the terminal; its release rights are final",
                    key.1
                )));
            }
        }
        let mut pendings = Vec::new();
        let old_light;
        let release_id;
        let event;
        let mut receivers: Vec<NxtEntityId> = vec![me.clone()];
        match cmd.action {
            ReleaseAction::Release => {
                let terminal_code = cmd.terminal_code.clone().ok_or(SimError::InvalidField {
                    field: "terminalCode",
                    message: "is required to release a container".into(),
                })?;
                if self.terminal(&terminal_code).is_none() {
                    return Err(SimError::InvalidField {
                        field: "terminalCode",
                        message: format!("no terminal with code {terminal_code}"),
                    });
                }
                if let (Some(ri), Some(stay)) =
                    (&cmd.selector.release_identification, self.stays.get(&key))
                {
                    if stay
                        .active_rights()
                        .any(|r| r.release_identification.as_deref() == Some(ri.as_str()))
                    {
                        return Err(SimError::InvalidState(format!(
                            "an active release right '{ri}' already exists: use Update"
                        )));
                    }
                }
                let released_at = cmd.release_at.unwrap_or(now);
                let expires_at = match cmd.expires_at {
                    Some(e) => e,
                    None => released_at
                        .checked_add_signed(self.config.release_validity)
                        .filter(|e| *e <= LATEST)
                        .ok_or_else(|| SimError::InvalidField {
                            field: "releaseDateTimeUtc",
                            message: format!(
                                "the release would expire {} days later, after {LATEST}",
                                self.config.release_validity.num_days()
                            ),
                        })?,
                };
                if expires_at <= released_at {
                    return Err(SimError::InvalidField {
                        field: "expirationDateTimeUtc",
                        message: "must be after releaseDateTimeUtc".into(),
                    });
                }
                // A right born expired would show an OK light until the next command fires its
                // timer (and Update already refuses a past expiry).
                if expires_at <= now {
                    return Err(SimError::InvalidField {
                        field: "expirationDateTimeUtc",
                        message: format!(
                            "the release would expire at {expires_at}, which is not in the future"
                        ),
                    });
                }
                let id = ReleaseId(uuid::Uuid::new_v4());
                let right = ReleaseRight {
                    release_id: id,
                    release_identification: cmd.selector.release_identification.clone(),
                    shipping_agent: me.clone(),
                    terminal_code: terminal_code.clone(),
                    bill_of_lading_numbers: cmd.bill_of_lading_numbers.clone(),
                    carrier,
                    released_at,
                    valid_from: cmd.valid_from.unwrap_or(released_at),
                    expires_at,
                    chain: release_to
                        .iter()
                        .map(|p| Stakeholder {
                            party: p.clone(),
                            state: StakeholderState::Pending,
                            since: now,
                        })
                        .collect(),
                    blocked: false,
                    state: RightState::Active,
                    pickup: None,
                };
                let stay = self
                    .stays
                    .entry(key)
                    .or_insert_with(|| Stay::new(key.0, key.1));
                old_light = stay.lights.commercial_release;
                if stay.terminal_code.is_none() {
                    stay.terminal_code = Some(terminal_code);
                }
                stay.release_rights.push(right);
                self.by_release.insert(id, key);
                self.schedule(expires_at, Timer::Expire(key, id));
                release_id = id;
                event = NotificationEvent::Release;
                receivers.extend(release_to);
            }
            _ => {
                let stay = self
                    .stays
                    .get(&key)
                    .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
                let idx = Self::find_right_index(stay, &cmd.selector)?;
                let right = &stay.release_rights[idx];
                old_light = stay.lights.commercial_release;
                release_id = right.release_id;
                let is_agent = right.shipping_agent == me;
                let holder = right.holder().clone();
                let pending = right.pending().cloned();
                let mut reschedule = None;
                // Decide first; mutate after every check passed.
                let change: Box<dyn FnOnce(&mut ReleaseRight)> = match cmd.action {
                    ReleaseAction::Release => unreachable!(),
                    ReleaseAction::Update => {
                        if !is_agent {
                            return Err(not_yours(cmd.action));
                        }
                        if let Some(t) = &cmd.terminal_code {
                            if self.terminal(t).is_none() {
                                return Err(SimError::InvalidField {
                                    field: "terminalCode",
                                    message: format!("no terminal with code {t}"),
                                });
                            }
                        }
                        let new_expiry = cmd.expires_at;
                        if let Some(e) = new_expiry {
                            if e <= now {
                                return Err(SimError::InvalidField {
                                    field: "expirationDateTimeUtc",
                                    message: "must be in the future".into(),
                                });
                            }
                        }
                        if release_to.is_some() && !right.chain.is_empty() {
                            return Err(SimError::InvalidState(
                                "releaseTo can only be set while the agent still holds the right; revoke first".into(),
                            ));
                        }
                        reschedule = new_expiry;
                        receivers.extend(release_to.clone());
                        let cmd = cmd.clone();
                        let release_to = release_to.clone();
                        event = NotificationEvent::Update;
                        Box::new(move |r: &mut ReleaseRight| {
                            if let Some(t) = cmd.terminal_code {
                                r.terminal_code = t;
                            }
                            if !cmd.bill_of_lading_numbers.is_empty() {
                                r.bill_of_lading_numbers = cmd.bill_of_lading_numbers;
                            }
                            if let Some(e) = cmd.expires_at {
                                r.expires_at = e;
                            }
                            if let Some(v) = cmd.valid_from {
                                r.valid_from = v;
                            }
                            if let Some(p) = release_to {
                                r.chain.push(Stakeholder {
                                    party: p,
                                    state: StakeholderState::Pending,
                                    since: now,
                                });
                            }
                        })
                    }
                    ReleaseAction::Block | ReleaseAction::Unblock => {
                        if !is_agent {
                            return Err(not_yours(cmd.action));
                        }
                        let block = cmd.action == ReleaseAction::Block;
                        if right.blocked == block {
                            return Err(SimError::InvalidState(format!(
                                "release right is {} blocked",
                                if block { "already" } else { "not" }
                            )));
                        }
                        event = if block {
                            NotificationEvent::Block
                        } else {
                            NotificationEvent::Unblock
                        };
                        Box::new(move |r: &mut ReleaseRight| r.blocked = block)
                    }
                    ReleaseAction::Delete => {
                        if !is_agent {
                            return Err(not_yours(cmd.action));
                        }
                        event = NotificationEvent::Delete;
                        Box::new(|r: &mut ReleaseRight| {
                            r.state = RightState::Deleted;
                            r.pickup = None;
                        })
                    }
                    ReleaseAction::Revoke => {
                        if is_agent {
                            if right.chain.is_empty() {
                                return Err(SimError::InvalidState(
                                    "nothing to revoke: the release right has not been handed to anyone".into(),
                                ));
                            }
                            event = NotificationEvent::Revoke;
                            Box::new(|r: &mut ReleaseRight| {
                                r.chain.clear();
                                r.pickup = None;
                            })
                        } else if holder == me {
                            if pending.is_none() {
                                return Err(SimError::InvalidState(
                                    "nothing to revoke: no transfer is pending".into(),
                                ));
                            }
                            event = NotificationEvent::RevokedByPreviousParty;
                            Box::new(|r: &mut ReleaseRight| {
                                r.chain.pop();
                            })
                        } else if right.chain.iter().any(|s| s.party == me) {
                            return Err(SimError::InvalidState(
                                "the transfer was already accepted by the next party: it can no longer be revoked".into(),
                            ));
                        } else {
                            return Err(not_yours(cmd.action));
                        }
                    }
                    ReleaseAction::Transfer => {
                        if holder != me {
                            return Err(not_yours(cmd.action));
                        }
                        if pending.is_some() {
                            return Err(SimError::InvalidState(
                                "a transfer is already pending: revoke it first".into(),
                            ));
                        }
                        let Some(to) = release_to.clone() else {
                            return Err(SimError::InvalidField {
                                field: "releaseTo",
                                message: "is required to transfer".into(),
                            });
                        };
                        if right.chain.iter().any(|s| s.party == to) {
                            return Err(SimError::InvalidField {
                                field: "releaseTo",
                                message: "that party already is in the chain of this release right"
                                    .into(),
                            });
                        }
                        receivers.push(to.clone());
                        event = NotificationEvent::Transferred;
                        Box::new(move |r: &mut ReleaseRight| {
                            r.pickup = None;
                            r.chain.push(Stakeholder {
                                party: to,
                                state: StakeholderState::Pending,
                                since: now,
                            });
                        })
                    }
                    ReleaseAction::Accept | ReleaseAction::Decline => {
                        if pending.as_ref() != Some(&me) {
                            return Err(if right.chain.iter().any(|s| s.party == me) {
                                SimError::InvalidState(format!(
                                    "no transfer is pending for you: cannot {}",
                                    cmd.action.as_str()
                                ))
                            } else {
                                not_yours(cmd.action)
                            });
                        }
                        receivers.push(holder.clone());
                        if cmd.action == ReleaseAction::Accept {
                            event = NotificationEvent::AcceptedByNextParty;
                            Box::new(move |r: &mut ReleaseRight| {
                                if let Some(s) = r.chain.last_mut() {
                                    s.state = StakeholderState::Accepted;
                                    s.since = now;
                                }
                            })
                        } else {
                            event = NotificationEvent::DeclinedByNextParty;
                            Box::new(|r: &mut ReleaseRight| {
                                r.chain.pop();
                            })
                        }
                    }
                };
                receivers.extend(right.parties().into_iter().cloned());
                let stay = self
                    .stays
                    .get_mut(&key)
                    .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
                change(&mut stay.release_rights[idx]);
                if let Some(at) = reschedule {
                    self.schedule(at, Timer::Expire(key, release_id));
                }
            }
        }
        // Commit: history, commercial light, waiting terminal events.
        let stay = self
            .stays
            .get_mut(&key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        stay.history.push(HistoryEntry {
            at: now,
            actor: Some(me.clone()),
            action: format!("ReleaseRight {}", cmd.action.as_str()),
            public_reference_id: reference,
        });
        stay.lights.commercial_release = stay.commercial_release_value();
        let new_light = stay.lights.commercial_release;
        let waiting = if stay.has_commercial_release() {
            std::mem::take(&mut stay.waiting)
        } else {
            Vec::new()
        };
        let stay = &self.stays[&key];
        let right = stay
            .release_rights
            .iter()
            .find(|r| r.release_id == release_id);
        if let Some(right) = right {
            receivers.extend(right.parties().into_iter().cloned());
            if let Some(t) = self.terminal(&right.terminal_code) {
                receivers.push(t.nxt_entity_id.clone());
            }
        }
        dedup(&mut receivers);
        let body = match right {
            Some(r) => NotificationBody::ReleaseRightAction(ReleaseRightActionBody {
                right: self.right_body(stay, r),
                reason_for_action: cmd.reason.clone(),
                action_type: cmd.action,
                sender: self.party_block(&me),
            }),
            None => NotificationBody::Other(serde_json::Value::Null),
        };
        pendings.push(Pending {
            receivers,
            kind: NotificationType::ReleaseRight,
            event,
            body,
            release_id: Some(release_id),
        });
        if old_light != new_light {
            pendings.push(self.light_changed(
                stay,
                LightName::CommercialRelease,
                old_light.as_str(),
                new_light.as_str(),
                NotificationEvent::ReleaseLightChanged,
            ));
        }
        self.attach_queue
            .extend(waiting.into_iter().map(|ev| (key, ev)));
        Ok(pendings)
    }

    fn pickup_right(
        &mut self,
        caller: &Party,
        key: StayKey,
        reference: PublicReferenceId,
        action: PickupAction,
        selector: &RightSelector,
        target: Option<&PickupTarget>,
    ) -> Result<Vec<Pending>, SimError> {
        let now = self.now();
        if caller.role != Role::TransportOperator {
            return Err(SimError::NotAllowed(format!(
                "pickup rights are assigned by transport operators; {} is a {:?}",
                caller.name, caller.role
            )));
        }
        let stay = self
            .stays
            .get(&key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        ensure_open(stay)?;
        if stay.gated_out_at.is_some() {
            return Err(SimError::InvalidState(
                "container has left the terminal".into(),
            ));
        }
        let idx = Self::find_right_index(stay, selector)?;
        let right = &stay.release_rights[idx];
        if right.holder() != &caller.nxt_entity_id {
            return Err(SimError::NotAllowed(
                "the release right is not assigned to you (accept the transfer first)".into(),
            ));
        }
        if right.blocked {
            return Err(SimError::InvalidState(
                "the release right is blocked".into(),
            ));
        }
        let new_pickup = match (action, target) {
            (PickupAction::Revoke, _) => {
                if right.pickup.is_none() {
                    return Err(SimError::InvalidState("no pickup right to revoke".into()));
                }
                None
            }
            (PickupAction::Assign | PickupAction::Update, None) => {
                return Err(SimError::InvalidField {
                    field: "pickupParty",
                    message: "is required to assign a pickup right".into(),
                })
            }
            (PickupAction::Update, Some(_)) if right.pickup.is_none() => {
                return Err(SimError::InvalidState(
                    "no pickup right assigned yet: use Assign".into(),
                ))
            }
            (PickupAction::Assign, Some(_)) if right.pickup.is_some() => {
                return Err(SimError::InvalidState(
                    "a pickup right is already assigned: use Update or Revoke".into(),
                ))
            }
            (_, Some(PickupTarget::Truck(alfapass))) => {
                if caller.transport_mode != Some(TransportMode::Truck) {
                    return Err(SimError::NotAllowed(format!(
                        "{} is not a truck operator",
                        caller.name
                    )));
                }
                if !self.by_alfapass.contains_key(alfapass) {
                    return Err(SimError::InvalidField {
                        field: "pickupParty.identificationCode",
                        message: format!("Alfapass {alfapass} is not valid"),
                    });
                }
                Some(PickupParty::Truck {
                    alfapass_number: alfapass.clone(),
                })
            }
            (_, Some(PickupTarget::Barge(id) | PickupTarget::Rail(id))) => {
                let mode = if matches!(target, Some(PickupTarget::Barge(_))) {
                    TransportMode::Barge
                } else {
                    TransportMode::Rail
                };
                let p = self.resolve("pickupParty", id)?;
                if p.transport_mode != Some(mode) {
                    return Err(SimError::InvalidField {
                        field: "pickupParty",
                        message: format!("{} is not a {mode:?} operator", p.name),
                    });
                }
                let id = p.nxt_entity_id.clone();
                Some(match mode {
                    TransportMode::Barge => PickupParty::Barge { nxt_entity_id: id },
                    _ => PickupParty::Rail { nxt_entity_id: id },
                })
            }
        };
        let release_id = right.release_id;
        let terminal = self
            .terminal(&right.terminal_code)
            .map(|t| t.nxt_entity_id.clone());
        let stay = self
            .stays
            .get_mut(&key)
            .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
        stay.release_rights[idx].pickup = new_pickup.map(|party| PickupRight {
            party,
            assigned_by: caller.nxt_entity_id.clone(),
            assigned_at: now,
        });
        stay.history.push(HistoryEntry {
            at: now,
            actor: Some(caller.nxt_entity_id.clone()),
            action: format!("PickupRight {action:?}"),
            public_reference_id: reference,
        });
        let stay = &self.stays[&key];
        let right = &stay.release_rights[idx];
        let mut receivers: Vec<NxtEntityId> = right.parties().into_iter().cloned().collect();
        receivers.extend(terminal);
        dedup(&mut receivers);
        let body = NotificationBody::PickupRight(PickupRightBody {
            right: self.right_body(stay, right),
            action_type: action,
        });
        Ok(vec![Pending {
            receivers,
            kind: NotificationType::ReleaseRight,
            event: if action == PickupAction::Revoke {
                NotificationEvent::DigitalKeyRevoked
            } else {
                NotificationEvent::DigitalKeyCreated
            },
            body,
            release_id: Some(release_id),
        }])
    }

    fn release_detail(&mut self, caller: &Party, key: StayKey) -> Result<Vec<Pending>, SimError> {
        let me = caller.nxt_entity_id.clone();
        let Some(stay) = self.stays.get(&key) else {
            return Ok(vec![Pending {
                receivers: vec![me],
                kind: NotificationType::ReleaseRight,
                event: NotificationEvent::NotValidated,
                body: NotificationBody::NotValidated(NotValidatedBody {
                    equipment_number: key.1.as_str().to_owned(),
                    port_lo_code: key.0.as_str().to_owned(),
                    errors: vec![format!("No release right found for container {}", key.1)],
                }),
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
        let body = NotificationBody::ReleaseDetail(self.detail_body(stay));
        Ok(vec![Pending {
            receivers: vec![me],
            kind: NotificationType::ReleaseRight,
            event: NotificationEvent::GetReleaseDetail,
            body,
            release_id: stay.active_rights().next().map(|r| r.release_id),
        }])
    }

    // ----- notifications -----

    fn light_changed(
        &self,
        stay: &Stay,
        name: LightName,
        old: &str,
        new: &str,
        event: NotificationEvent,
    ) -> Pending {
        let mut receivers = Vec::new();
        if let Some(t) = stay.terminal_code.as_ref().and_then(|t| self.terminal(t)) {
            receivers.push(t.nxt_entity_id.clone());
        }
        receivers.extend(stay.interested_parties());
        let right = stay.active_rights().next().or(stay.release_rights.last());
        let body = NotificationBody::LightChanged(LightChangedBody {
            subject: match right {
                Some(r) => LightSubject::Right(Box::new(self.right_body(stay, r))),
                None => LightSubject::Container(self.stay_body(stay)),
            },
            green_light_name: name.as_str().to_owned(),
            original_value: old.to_owned(),
            new_value: new.to_owned(),
            status: stay.lights.status().as_str().to_owned(),
        });
        Pending {
            receivers,
            kind: NotificationType::ReleaseLight,
            event,
            body,
            release_id: right.map(|r| r.release_id),
        }
    }

    fn party_block(&self, id: &NxtEntityId) -> NotifiedParty {
        let p = self.party(id);
        let field = |f: fn(&Party) -> &Option<String>| p.and_then(|p| f(p).clone());
        NotifiedParty {
            nxt_entity_id: id.as_str().to_owned(),
            name: p.map(|p| p.name.clone()),
            eori: field(|p| &p.eori),
            tin: field(|p| &p.tin),
            apcs: field(|p| &p.apcs_code),
            duns: field(|p| &p.duns),
            external_id: None,
        }
    }

    /// The company a release detail names (NxtPort `IdentificationEntity`).
    fn identification_entity(&self, id: &NxtEntityId) -> IdentificationEntity {
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

    fn stay_body(&self, stay: &Stay) -> ContainerBody {
        ContainerBody {
            port_lo_code: stay.locode.as_str().to_owned(),
            equipment_number: stay.equipment.as_str().to_owned(),
            terminal_code: stay.terminal_code.as_ref().map(|t| t.as_str().to_owned()),
            bill_of_lading_numbers: stay.bill_of_lading_numbers.clone(),
            stay_number: stay.stay_number.clone(),
        }
    }

    fn right_body(&self, stay: &Stay, r: &ReleaseRight) -> ReleaseRightBody {
        ReleaseRightBody {
            carrier: r.carrier.as_ref().map(|c| self.party_block(c)),
            terminal_code: r.terminal_code.as_str().to_owned(),
            port_lo_code: stay.locode.as_str().to_owned(),
            equipment_number: stay.equipment.as_str().to_owned(),
            bill_of_lading_numbers: r.bill_of_lading_numbers.clone(),
            release_identification: r.release_identification.clone(),
            release_id: r.release_id.0,
            release_date_time_utc: r.released_at,
            expiration_date_time_utc: r.expires_at,
            release_from: self.party_block(&r.shipping_agent),
            release_to: r.chain.last().map(|s| self.party_block(&s.party)),
            current_holder: self.party_block(r.holder()),
            release_right_status: r.status(),
            means_of_transport: r.pickup.as_ref().map(|p| p.party.party_type()),
            alfapass_number_mask: r.pickup.as_ref().and_then(|p| match &p.party {
                PickupParty::Truck { alfapass_number } => Some(mask(alfapass_number.as_str())),
                PickupParty::Barge { .. } | PickupParty::Rail { .. } => None,
            }),
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
        let stay = self
            .by_release
            .get(&id)
            .and_then(|k| self.stays.get(k))
            .ok_or_else(none)?;
        let right = stay
            .release_rights
            .iter()
            .find(|r| r.release_id == id)
            .ok_or_else(none)?;
        if caller.terminal_code.as_ref() != Some(&right.terminal_code) {
            return Err(SimError::NotAllowed(format!(
                "release right {} is assigned to terminal {}, not to {}",
                id.0, right.terminal_code, caller.name
            )));
        }
        Ok(self.detail_of(stay, Some(right)))
    }

    fn detail_of(&self, stay: &Stay, right: Option<&ReleaseRight>) -> ReleaseDetail {
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
            release_identification: right.and_then(|r| r.release_identification.clone()),
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

    fn emit(
        &mut self,
        pending: Vec<Pending>,
        sender: Option<&NxtEntityId>,
        reference: PublicReferenceId,
        external: Option<Arc<str>>,
        equipment: Option<EquipmentNumber>,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        for mut p in pending {
            // The caller of an accepted call always gets its notifications (seed: "any response
            // will be provided through a notification with corresponding public reference id").
            if let Some(s) = sender.filter(|s| !p.receivers.contains(s)) {
                p.receivers.push(s.clone());
            }
            let body = Arc::new(p.body);
            for receiver in p.receivers {
                let n = Notification {
                    seq: self.notifications.next_seq(),
                    stored_on: now,
                    receiver,
                    sender: sender.cloned(),
                    public_reference_id: reference,
                    external_reference_id: external.clone(),
                    kind: p.kind,
                    event: p.event,
                    equipment,
                    release_id: p.release_id,
                    body: Arc::clone(&body),
                    errors: Vec::new(),
                };
                self.notifications.push(n.clone());
                out.push(n);
            }
        }
        out
    }

    // ----- the clock -----

    fn schedule(&mut self, at: DateTime<Utc>, timer: Timer) {
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), timer);
    }

    /// Notifications carried from a refused command, then the timers due now.
    fn fire_due(&mut self) -> Vec<Notification> {
        let mut out = std::mem::take(&mut self.carried);
        out.extend(self.fire_timers());
        out
    }

    fn fire_timers(&mut self) -> Vec<Notification> {
        let now = self.now();
        let mut out = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), timer) = entry.remove_entry();
            match timer {
                Timer::Expire(key, id) => out.extend(self.expire(key, id, at)),
                Timer::Archive(key) => out.extend(self.archive(key, at)),
            }
        }
        self.notifications
            .prune(earlier(now, self.config.notification_retention));
        out
    }

    fn expire(&mut self, key: StayKey, id: ReleaseId, at: DateTime<Utc>) -> Vec<Notification> {
        let Some(stay) = self.stays.get_mut(&key) else {
            return Vec::new();
        };
        if stay.gated_out_at.is_some() {
            return Vec::new();
        }
        let Some(right) = stay
            .release_rights
            .iter_mut()
            .find(|r| r.release_id == id && r.state == RightState::Active && r.expires_at <= at)
        else {
            return Vec::new();
        };
        right.state = RightState::Expired;
        right.pickup = None;
        let reference = PublicReferenceId::new();
        stay.history.push(HistoryEntry {
            at,
            actor: None,
            action: "ReleaseRight Expired".into(),
            public_reference_id: reference,
        });
        let old = stay.lights.commercial_release;
        stay.lights.commercial_release = stay.commercial_release_value();
        let new = stay.lights.commercial_release;
        let stay = &self.stays[&key];
        let Some(right) = stay.release_rights.iter().find(|r| r.release_id == id) else {
            return Vec::new();
        };
        let mut receivers: Vec<NxtEntityId> = right.parties().into_iter().cloned().collect();
        if let Some(t) = self.terminal(&right.terminal_code) {
            receivers.push(t.nxt_entity_id.clone());
        }
        dedup(&mut receivers);
        let mut pending = vec![Pending {
            receivers,
            kind: NotificationType::ReleaseRight,
            event: NotificationEvent::ExpiredReleaseRights,
            body: NotificationBody::ReleaseRight(self.right_body(stay, right)),
            release_id: Some(id),
        }];
        if old != new {
            pending.push(self.light_changed(
                stay,
                LightName::CommercialRelease,
                old.as_str(),
                new.as_str(),
                NotificationEvent::ReleaseLightChanged,
            ));
        }
        self.emit(pending, None, reference, None, Some(key.1), at)
    }

    fn archive(&mut self, key: StayKey, at: DateTime<Utc>) -> Vec<Notification> {
        // The timer names a container, not a stay: after a repeated gate out an older timer may
        // find a later gate out (not yet due) or the container's next stay (never gated out).
        let due = self.stays.get(&key).is_some_and(|s| {
            s.gated_out_at
                .is_some_and(|g| later(g, self.config.archive_after) <= at)
        });
        if !due {
            return Vec::new();
        }
        let Some(mut stay) = self.stays.remove(&key) else {
            return Vec::new();
        };
        stay.archived_at = Some(at);
        for r in &stay.release_rights {
            self.by_release.remove(&r.release_id);
        }
        for r in &mut stay.release_rights {
            if r.state == RightState::Active {
                r.state = RightState::Archived;
            }
        }
        let receivers: Vec<NxtEntityId> = stay
            .release_rights
            .iter()
            .map(|r| r.shipping_agent.clone())
            .collect::<Vec<_>>();
        let release_id = stay.release_rights.last().map(|r| r.release_id);
        let body = self.stay_body(&stay);
        self.archived.push(stay);
        let mut receivers = receivers;
        dedup(&mut receivers);
        self.emit(
            vec![Pending {
                receivers,
                kind: NotificationType::ReleaseRight,
                event: NotificationEvent::InactiveReleaseRights,
                body: NotificationBody::Container(body),
                release_id,
            }],
            None,
            PublicReferenceId::new(),
            None,
            Some(key.1),
            at,
        )
    }
}

fn terminal_label(a: TerminalAction) -> &'static str {
    match a {
        TerminalAction::Discharge | TerminalAction::GateIn | TerminalAction::GateOut => "Ingestion",
        _ => "TerminalRelease",
    }
}

fn ensure_open(stay: &Stay) -> Result<(), SimError> {
    if stay.archived_at.is_some() {
        return Err(SimError::InvalidState("container stay is archived".into()));
    }
    Ok(())
}

fn not_yours(action: ReleaseAction) -> SimError {
    SimError::NotAllowed(format!(
        "the release right is not assigned to you: cannot {}",
        action.as_str()
    ))
}

fn dedup(v: &mut Vec<NxtEntityId>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

fn mask(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i + 2 >= n { c } else { '*' })
        .collect()
}

impl World {
    /// Every active stay, in no particular order (read-only; the sandbox pages list them).
    pub fn stays(&self) -> impl Iterator<Item = &Stay> {
        self.stays.values()
    }
}

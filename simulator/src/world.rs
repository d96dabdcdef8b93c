//! The world: parties, container stays, the notification log and the virtual clock, changed only
//! through [`World::apply`].

use crate::command::{Action, Command, Identification, Outcome, PickupTarget, SimError};
use crate::ids::{
    AlfapassNumber, EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode,
    UnLocode,
};
use crate::lights::LightName;
use crate::notification::StoredBody;
use crate::notification::{Notification, NotificationEvent, NotificationLog, NotificationType};
use crate::party::{Fixture, FixtureError, IdentificationType, Party, Role};
use crate::stay::{HistoryAction, HistoryEntry, HistoryRecord, Stay, StayKey, TerminalEvent};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

mod clock;
mod notify;
mod pickup;
mod preload;
mod release;
mod render;
mod stays;
mod terminal;

pub use clock::{check_time, time_problem, Clock, EARLIEST, LATEST};
pub(crate) use clock::{earlier, later};
use clock::{Due, Timer};
use notify::dedup;
pub use preload::PreloadStay;
use stays::Stays;

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
    /// The active stays, by key or by release id.
    stays: Stays,
    /// Archived stays, oldest archive first; each is kept for the notification retention after
    /// its archive (as its InactiveReleaseRights notification), then dropped.
    archived: VecDeque<Stay>,
    timers: BinaryHeap<Due>,
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
    body: StoredBody,
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
            stays: Stays::default(),
            archived: VecDeque::new(),
            timers: BinaryHeap::new(),
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
        w.notifications = NotificationLog::new(&w.parties);
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

    /// A party by its fixture key (`psa`, `agent`, ...), the short handle scenarios and the
    /// control API use; keys are unique within a world. A scan of the parties: for set-up and
    /// tests, not for a hot path.
    pub fn party_by_key(&self, key: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.key == key)
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
        self.stays.get((locode, equipment))
    }

    /// Archived stays of a container, oldest first: those archived within the notification
    /// retention (older ones are dropped).
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
        self.timers.peek().map(|d| d.at)
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
                mut action,
            } => {
                self.share_known_ids(&mut action);
                let mut notifications = self.fire_due();
                // The id is taken only once the command is accepted: refusals use no number.
                let reference = self.notifications.next_reference();
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
                self.notifications.take_reference();
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

    /// Replace the terminal code and Alfapass number of a command by the world's own copies
    /// when the world knows them: the stay, its rights and the log then share one allocation
    /// per value instead of keeping one per command (a million stays would hold millions).
    fn share_known_ids(&self, action: &mut Action) {
        let code = match action {
            Action::Terminal(ev) => Some(&mut ev.terminal_code),
            Action::ReleaseRight(cmd) => cmd.terminal_code.as_mut(),
            _ => None,
        };
        if let Some(code) = code {
            if let Some((known, _)) = self.by_terminal.get_key_value(&*code) {
                *code = known.clone();
            }
        }
        if let Action::PickupRight {
            target: Some(PickupTarget::Truck(badge)),
            ..
        } = action
        {
            if let Some((known, _)) = self.by_alfapass.get_key_value(&*badge) {
                *badge = known.clone();
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
                let line = self.history_line(
                    now,
                    Some(&caller.nxt_entity_id),
                    HistoryAction::Customs(*value),
                    reference,
                );
                let stay = self
                    .stays
                    .entry_or_insert_with(key, || Stay::new(key.0, key.1));
                ensure_open(stay)?;
                let old = stay.lights.customs;
                stay.lights.customs = *value;
                stay.history.push(line);
                let stay = self
                    .stays
                    .get(key)
                    .ok_or_else(|| SimError::UnknownContainer(key.1.as_str().to_owned()))?;
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
}

fn ensure_open(stay: &Stay) -> Result<(), SimError> {
    if stay.archived_at.is_some() {
        return Err(SimError::InvalidState("container stay is archived".into()));
    }
    Ok(())
}

impl World {
    /// A history line as a stay keeps it (`actor`: a party of the world; `None`: the clock).
    pub(crate) fn history_line(
        &self,
        at: DateTime<Utc>,
        actor: Option<&NxtEntityId>,
        action: HistoryAction,
        reference: PublicReferenceId,
    ) -> HistoryRecord {
        HistoryRecord {
            at,
            actor: actor
                .and_then(|a| self.by_entity.get(a))
                .and_then(|&i| u32::try_from(i).ok())
                .unwrap_or(HistoryRecord::CLOCK),
            reference: self.notifications.reference_bits(reference),
            action,
        }
    }

    /// A stay's history in full, oldest first.
    pub fn history(&self, stay: &Stay) -> Vec<HistoryEntry> {
        stay.history
            .iter()
            .map(|h| HistoryEntry {
                at: h.at,
                actor: usize::try_from(h.actor)
                    .ok()
                    .and_then(|i| self.parties.get(i))
                    .map(|p| p.nxt_entity_id.clone()),
                action: h.action,
                public_reference_id: self.notifications.reference_id(h.reference),
            })
            .collect()
    }

    /// Every active stay, in no particular order (read-only; the sandbox pages list them).
    pub fn stays(&self) -> impl Iterator<Item = &Stay> {
        self.stays.values()
    }
}

//! `World::apply` over arbitrary sequences of commands: every action of every party (and an
//! unknown one) on a few containers, with arbitrary timestamps (leap seconds, year 0, chrono's
//! extremes), arbitrary clock jumps, and the read paths in between. Nothing may panic, a refused
//! command must leave the log as it was, and the caller of every accepted call must be able to
//! read its notification by publicReferenceId.

#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, TimeZone, Utc};
use cpu_simulator::*;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Time {
    /// Seconds around the frozen start.
    Near(i32),
    /// Anything chrono can hold (or not: `None` is skipped).
    Raw(i64, u32),
}

#[derive(Debug, Arbitrary)]
enum Op {
    Terminal {
        caller: u8,
        container: u8,
        action: u8,
        terminal: u8,
        at: Time,
        import: bool,
        empty: Option<bool>,
        mode: Option<u8>,
        bls: u8,
    },
    Release {
        caller: u8,
        container: u8,
        action: u8,
        selector: u8,
        terminal: Option<u8>,
        release_to: Option<u8>,
        carrier: Option<u8>,
        release_at: Option<Time>,
        expires_at: Option<Time>,
        valid_from: Option<Time>,
    },
    Pickup {
        caller: u8,
        container: u8,
        action: u8,
        selector: u8,
        target: Option<(u8, u8)>,
    },
    Detail {
        caller: u8,
        container: u8,
    },
    Customs {
        caller: u8,
        container: u8,
        value: u8,
    },
    Advance(i64),
    AdvanceDays(u16),
    Tick,
    Read {
        caller: u8,
        container: u8,
        alfapass: u8,
        event: u8,
        day: Option<Time>,
    },
}

const KEYS: [&str; 9] = [
    "psa",
    "dpworld",
    "agent",
    "forwarder",
    "trucker",
    "trucker2",
    "barge",
    "rail",
    "customs",
];

struct Ctx {
    parties: Vec<NxtEntityId>,
    containers: Vec<EquipmentNumber>,
    terminals: Vec<TerminalCode>,
    alfapass: Vec<String>,
    t0: DateTime<Utc>,
}

impl Ctx {
    fn new() -> Ctx {
        let fixture = Fixture::default_world();
        let mut parties: Vec<NxtEntityId> = KEYS
            .iter()
            .filter_map(|k| fixture.parties.iter().find(|p| p.key == *k))
            .map(|p| p.nxt_entity_id.clone())
            .collect();
        parties.extend(NxtEntityId::parse("NXT99999999999").ok());
        Ctx {
            parties,
            containers: (0..4)
                .filter_map(|i| EquipmentNumber::from_serial("SIMU", i).ok())
                .collect(),
            terminals: ["869", "1700", "9999"]
                .iter()
                .filter_map(|t| TerminalCode::parse(t).ok())
                .collect(),
            alfapass: ["AP1000001", "AP1000002", "AP2000001", "AP9999999", ""]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            t0: Utc
                .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        }
    }

    fn party(&self, i: u8) -> NxtEntityId {
        self.parties[i as usize % self.parties.len()].clone()
    }

    fn container(&self, i: u8) -> EquipmentNumber {
        self.containers[i as usize % self.containers.len()]
    }

    fn terminal(&self, i: u8) -> TerminalCode {
        self.terminals[i as usize % self.terminals.len()].clone()
    }

    fn time(&self, t: &Time) -> Option<DateTime<Utc>> {
        match *t {
            Time::Near(s) => self
                .t0
                .checked_add_signed(chrono::TimeDelta::seconds(i64::from(s))),
            Time::Raw(secs, nanos) => DateTime::from_timestamp(secs, nanos),
        }
    }

    fn ident(&self, i: u8) -> Identification {
        Identification {
            identification_type: if i % 7 == 6 {
                IdentificationType::Eori
            } else {
                IdentificationType::NxtEntityId
            },
            identification_code: self.party(i).as_str().to_owned(),
        }
    }

    fn selector(&self, s: u8) -> RightSelector {
        RightSelector {
            release_id: None,
            release_identification: match s % 3 {
                0 => None,
                1 => Some("R1".into()),
                _ => Some("R2".into()),
            },
        }
    }

    fn act(&self, caller: u8, container: u8, action: Action) -> Command {
        Command::Act {
            caller: self.party(caller),
            locode: UnLocode::antwerp(),
            equipment: self.container(container),
            external_reference_id: None,
            action: Box::new(action),
        }
    }

    /// `None` when the op is a read or its timestamps do not exist in chrono.
    fn command(&self, op: &Op) -> Option<Command> {
        Some(match op {
            Op::Terminal {
                caller,
                container,
                action,
                terminal,
                at,
                import,
                empty,
                mode,
                bls,
            } => self.act(
                *caller,
                *container,
                Action::Terminal(TerminalEventCommand {
                    action: [
                        TerminalAction::Discharge,
                        TerminalAction::GateIn,
                        TerminalAction::GateOut,
                        TerminalAction::Release,
                        TerminalAction::Scanning,
                        TerminalAction::Block,
                    ][*action as usize % 6],
                    terminal_code: self.terminal(*terminal),
                    occurred_at: self.time(at)?,
                    import: *import,
                    full_empty: empty.map(|e| if e { FullEmpty::Empty } else { FullEmpty::Full }),
                    mode_of_transport: mode.map(|m| {
                        [
                            ModeOfTransport::Unknown,
                            ModeOfTransport::Truck,
                            ModeOfTransport::Barge,
                            ModeOfTransport::Rail,
                        ][m as usize % 4]
                    }),
                    bill_of_lading_numbers: (0..bls % 3).map(|i| format!("BL{i}")).collect(),
                    stay_number: None,
                }),
            ),
            Op::Release {
                caller,
                container,
                action,
                selector,
                terminal,
                release_to,
                carrier,
                release_at,
                expires_at,
                valid_from,
            } => {
                let mut c = ReleaseRightCommand::new(
                    ReleaseAction::ALL[*action as usize % ReleaseAction::ALL.len()],
                );
                c.selector = self.selector(*selector);
                c.terminal_code = terminal.map(|t| self.terminal(t));
                c.release_to = release_to.map(|p| self.ident(p));
                c.carrier = carrier.map(|p| self.ident(p));
                let time = |t: &Option<Time>| match t {
                    Some(t) => self.time(t).map(Some),
                    None => Some(None),
                };
                c.release_at = time(release_at)?;
                c.expires_at = time(expires_at)?;
                c.valid_from = time(valid_from)?;
                self.act(*caller, *container, Action::ReleaseRight(c))
            }
            Op::Pickup {
                caller,
                container,
                action,
                selector,
                target,
            } => self.act(
                *caller,
                *container,
                Action::PickupRight {
                    action: [
                        PickupAction::Assign,
                        PickupAction::Update,
                        PickupAction::Revoke,
                    ][*action as usize % 3],
                    selector: self.selector(*selector),
                    target: target.and_then(|(kind, who)| match kind % 3 {
                        0 => AlfapassNumber::parse(&self.alfapass[who as usize % 4])
                            .ok()
                            .map(PickupTarget::Truck),
                        1 => Some(PickupTarget::Barge(self.ident(who))),
                        _ => Some(PickupTarget::Rail(self.ident(who))),
                    }),
                },
            ),
            Op::Detail { caller, container } => {
                self.act(*caller, *container, Action::RequestReleaseDetail)
            }
            Op::Customs {
                caller,
                container,
                value,
            } => self.act(
                *caller,
                *container,
                Action::SetCustoms(CustomsValue::ALL[*value as usize % CustomsValue::ALL.len()]),
            ),
            Op::Advance(seconds) => Command::AdvanceClock { seconds: *seconds },
            Op::AdvanceDays(days) => Command::AdvanceClock {
                seconds: i64::from(*days) * 86_400,
            },
            Op::Tick => Command::Tick,
            Op::Read { .. } => return None,
        })
    }

    fn read(&self, w: &World, op: &Op) {
        let Op::Read {
            caller,
            container,
            alfapass,
            event,
            day,
        } = op
        else {
            return;
        };
        let (l, e) = (UnLocode::antwerp(), self.container(*container));
        let me = self.party(*caller);
        let _ = w.validate_truck_pickup(l, &self.alfapass[*alfapass as usize % 5], e, &[], None);
        let _ = w.validate_barge_rail_pickup(l, e, &[], None, None, &self.ident(*caller));
        if let Some(p) = w.party(&me) {
            let _ = w.validate_truck_ownership(p, l, me.as_str(), None, e);
        }
        if let Some(stay) = w.stay(l, e) {
            let _ = w.detail_body(stay);
        }
        let q = NotificationQuery {
            event: NotificationEvent::ALL
                .get(*event as usize % (NotificationEvent::ALL.len() + 1))
                .copied(),
            equipment: Some(e),
            stored_on: day
                .as_ref()
                .and_then(|d| self.time(d))
                .map(|t| t.date_naive()),
            ..Default::default()
        };
        let _ = w.query_notifications(&me, &q);
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let ctx = Ctx::new();
    let Ok(mut w) = World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Frozen(ctx.t0),
    ) else {
        return;
    };
    for op in ops.iter().take(64) {
        let Some(command) = ctx.command(op) else {
            ctx.read(&w, op);
            continue;
        };
        let caller = match &command {
            Command::Act { caller, .. } => Some(caller.clone()),
            _ => None,
        };
        let logged = w.notifications().next_seq();
        match w.apply(command) {
            Err(_) => assert_eq!(
                w.notifications().next_seq(),
                logged,
                "a refused command wrote notifications"
            ),
            Ok(outcome) => {
                if let (Some(caller), Some(reference)) = (caller, outcome.public_reference_id) {
                    let q = NotificationQuery {
                        public_reference_id: Some(reference),
                        ..Default::default()
                    };
                    assert!(
                        w.query_notifications(&caller, &q).is_ok(),
                        "the caller cannot read the notification of its accepted call"
                    );
                }
            }
        }
    }
});

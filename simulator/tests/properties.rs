//! Property tests: random command sequences (every `Action` variant, every party, a few
//! containers, large clock jumps) applied to a world on a frozen clock, with the world's
//! invariants checked after every step.
//!
//! The invariants are recomputed here from first principles (the light colour table of the seed
//! and the status rule), not by calling the code under test, so a regression in `Lights::status`
//! or in the colour table is caught. Case counts are bounded so the suite stays fast in debug.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use cpu_simulator::lights::LightView;
use cpu_simulator::stay::{RightState, StakeholderState};
use cpu_simulator::*;

// ----- the world under test -----

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
}

fn new_world() -> World {
    World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Frozen(t0()),
    )
    .unwrap()
}

/// Party keys of the default world, in a fixed order; index `UNKNOWN` is a caller no world knows.
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
const UNKNOWN: usize = KEYS.len();

fn party_id(i: usize) -> NxtEntityId {
    if i == UNKNOWN {
        return NxtEntityId::parse("NXT99999999999").unwrap();
    }
    Fixture::default_world()
        .parties
        .into_iter()
        .find(|p| p.key == KEYS[i])
        .unwrap()
        .nxt_entity_id
}

fn containers() -> [EquipmentNumber; 3] {
    [
        EquipmentNumber::parse("MSCU1234566").unwrap(),
        EquipmentNumber::parse("CSQU3054383").unwrap(),
        EquipmentNumber::from_serial("SIMU", 7).unwrap(),
    ]
}

// ----- strategies -----

/// A container index, the first one most often so that its stays go through whole lifecycles.
fn container() -> impl Strategy<Value = usize> {
    prop_oneof![6 => Just(0usize), 3 => Just(1usize), 1 => Just(2usize)]
}

/// A caller index, biased to the party that can plausibly perform `plausible`.
fn caller(plausible: &'static [usize]) -> impl Strategy<Value = usize> {
    prop_oneof![
        7 => proptest::sample::select(plausible),
        3 => 0..=UNKNOWN,
    ]
}

const TERMINALS: &[usize] = &[0, 1];
const AGENT: &[usize] = &[2];
const HOLDERS: &[usize] = &[3, 4, 5, 6, 7];
const OPERATORS: &[usize] = &[4, 5, 6, 7];
const CUSTOMS: &[usize] = &[8];

fn time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop_oneof![
        6 => Just(None),
        1 => proptest::sample::select(&[-70i64, -1, 0, 1, 30, 90][..])
            .prop_map(|d| Some(t0() + Duration::days(d))),
        // The ends: chrono's, the world's, and a leap second.
        1 => proptest::sample::select(vec![
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
            LATEST,
            EARLIEST,
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
        ]).prop_map(Some),
    ]
}

fn terminal_code() -> impl Strategy<Value = TerminalCode> {
    proptest::sample::select(&["869", "869", "1700", "9999"][..])
        .prop_map(|t| TerminalCode::parse(t).unwrap())
}

fn bls() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(vec!["BL1".to_owned(), "BL2".to_owned()], 0..=2)
}

/// A party reference, mostly a release party or transport operator by NxtEntityId (the valid
/// targets of a release right), sometimes anyone (including an unknown id) or an EORI.
fn identification() -> impl Strategy<Value = Identification> {
    prop_oneof![
        6 => proptest::sample::select(HOLDERS).prop_map(|i| Identification {
            identification_type: IdentificationType::NxtEntityId,
            identification_code: party_id(i).as_str().to_owned(),
        }),
        2 => (0..=UNKNOWN).prop_map(|i| Identification {
            identification_type: IdentificationType::NxtEntityId,
            identification_code: party_id(i).as_str().to_owned(),
        }),
        1 => proptest::sample::select(&["BE0300000001", "BE0400000001", "nope"][..]).prop_map(|c| {
            Identification {
                identification_type: IdentificationType::Eori,
                identification_code: c.to_owned(),
            }
        }),
    ]
}

fn selector() -> impl Strategy<Value = RightSelector> {
    proptest::option::weighted(0.3, proptest::sample::select(&["R1", "R2"][..])).prop_map(|r| {
        RightSelector {
            release_id: None,
            release_identification: r.map(str::to_owned),
        }
    })
}

fn terminal_action() -> impl Strategy<Value = Action> {
    (
        proptest::sample::select(
            &[
                TerminalAction::Discharge,
                TerminalAction::GateIn,
                TerminalAction::GateOut,
                TerminalAction::Release,
                TerminalAction::Scanning,
                TerminalAction::Block,
            ][..],
        ),
        terminal_code(),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(FullEmpty::Full), Just(FullEmpty::Empty)]),
        proptest::option::of(proptest::sample::select(
            &[
                ModeOfTransport::Unknown,
                ModeOfTransport::Truck,
                ModeOfTransport::Barge,
                ModeOfTransport::Rail,
            ][..],
        )),
        bls(),
        proptest::option::of(Just("STAY1".to_owned())),
    )
        .prop_map(
            |(action, terminal_code, import, full_empty, mode, bls, stay)| {
                Action::Terminal(TerminalEventCommand {
                    action,
                    terminal_code,
                    occurred_at: t0(),
                    import,
                    full_empty,
                    mode_of_transport: mode,
                    bill_of_lading_numbers: bls,
                    stay_number: stay,
                })
            },
        )
}

/// A release right command with random fields; `actions` weighs the action types.
fn release_command(
    actions: BoxedStrategy<ReleaseAction>,
    release_to: f64,
) -> impl Strategy<Value = Action> {
    (
        actions,
        selector(),
        proptest::option::weighted(0.9, terminal_code()),
        bls(),
        proptest::option::weighted(release_to, identification()),
        proptest::option::weighted(0.2, identification()),
        (time(), time(), time()),
        proptest::option::of(Just("because".to_owned())),
    )
        .prop_map(
            |(action, selector, terminal, bls, release_to, carrier, (rel, exp, from), reason)| {
                let mut c = ReleaseRightCommand::new(action);
                c.selector = selector;
                c.terminal_code = terminal;
                c.bill_of_lading_numbers = bls;
                c.release_to = release_to;
                c.carrier = carrier;
                c.release_at = rel;
                c.expires_at = exp;
                c.valid_from = from;
                c.reason = reason;
                Action::ReleaseRight(c)
            },
        )
}

/// What a shipping agent does, mostly releasing.
fn agent_action() -> impl Strategy<Value = Action> {
    release_command(
        prop_oneof![
            5 => Just(ReleaseAction::Release),
            1 => proptest::sample::select(ReleaseAction::ALL),
        ]
        .boxed(),
        0.7,
    )
}

/// What a release party or transport operator does: accept or decline without a `releaseTo`,
/// transfer with one; sometimes any action with any fields.
fn holder_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        5 => release_command(
            proptest::sample::select(&[
                ReleaseAction::Accept,
                ReleaseAction::Accept,
                ReleaseAction::Accept,
                ReleaseAction::Decline,
                ReleaseAction::Revoke,
            ][..])
            .boxed(),
            0.05,
        ),
        2 => release_command(Just(ReleaseAction::Transfer).boxed(), 0.95),
        1 => release_command(proptest::sample::select(ReleaseAction::ALL).boxed(), 0.5),
    ]
}

fn pickup_target() -> impl Strategy<Value = PickupTarget> {
    prop_oneof![
        3 => proptest::sample::select(&["AP1000001", "AP1000002", "AP2000001", "AP9999999"][..])
            .prop_map(|a| PickupTarget::Truck(AlfapassNumber::parse(a).unwrap())),
        1 => identification().prop_map(PickupTarget::Barge),
        1 => identification().prop_map(PickupTarget::Rail),
    ]
}

/// The pickup party an operator would name for itself: one of its drivers, or itself.
fn own_target(caller: usize) -> PickupTarget {
    let me = || Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: party_id(caller).as_str().to_owned(),
    };
    match KEYS[caller] {
        "trucker" => PickupTarget::Truck(AlfapassNumber::parse("AP1000002").unwrap()),
        "trucker2" => PickupTarget::Truck(AlfapassNumber::parse("AP2000001").unwrap()),
        "rail" => PickupTarget::Rail(me()),
        _ => PickupTarget::Barge(me()),
    }
}

/// A transport operator's pickup right command; the target mostly fits the caller.
fn pickup_command() -> BoxedStrategy<Command> {
    (
        caller(OPERATORS),
        container(),
        proptest::sample::select(
            &[
                PickupAction::Assign,
                PickupAction::Assign,
                PickupAction::Update,
                PickupAction::Revoke,
            ][..],
        ),
        selector(),
        prop_oneof![
            6 => Just(None::<Option<PickupTarget>>),
            3 => pickup_target().prop_map(|t| Some(Some(t))),
            1 => Just(Some(None::<PickupTarget>)),
        ],
    )
        .prop_map(|(c, e, action, selector, target)| {
            let target = match target {
                None if c < UNKNOWN => Some(own_target(c)),
                None => None,
                Some(t) => t,
            };
            Command::Act {
                caller: party_id(c),
                locode: UnLocode::antwerp(),
                equipment: containers()[e],
                external_reference_id: None,
                action: Box::new(Action::PickupRight {
                    action,
                    selector,
                    target,
                }),
            }
        })
        .boxed()
}

fn act(callers: &'static [usize], action: BoxedStrategy<Action>) -> BoxedStrategy<Command> {
    (caller(callers), container(), action)
        .prop_map(|(c, e, action)| Command::Act {
            caller: party_id(c),
            locode: UnLocode::antwerp(),
            equipment: containers()[e],
            external_reference_id: None,
            action: Box::new(action),
        })
        .boxed()
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        4 => act(TERMINALS, terminal_action().boxed()),
        3 => act(AGENT, agent_action().boxed()),
        4 => act(HOLDERS, holder_action().boxed()),
        3 => pickup_command(),
        1 => act(HOLDERS, Just(Action::RequestReleaseDetail).boxed()),
        2 => act(
            CUSTOMS,
            proptest::sample::select(CustomsValue::ALL).prop_map(Action::SetCustoms).boxed()
        ),
        2 => proptest::sample::select(
            &[0i64, 3_600, 86_400, 86_400, 8 * 86_400, 13 * 86_400, 15 * 86_400, 61 * 86_400][..]
        )
        .prop_map(|seconds| Command::AdvanceClock { seconds }),
        1 => Just(Command::AdvanceClock { seconds: -1 }),
        1 => proptest::sample::select(&[i64::MAX, i64::MAX / 1000, 300_000 * 365 * 86_400][..])
            .prop_map(|seconds| Command::AdvanceClock { seconds }),
        1 => Just(Command::Tick),
    ]
}

// ----- an independent model of the lights -----

/// Colour of a light value, from the seed's tables (not from `LightColor` of the crate).
fn color_of(light: LightName, value: &str) -> &'static str {
    match (light, value) {
        (_, "UNKNOWN") | (LightName::Customs, "NOTRELEASED") => "Grey",
        (LightName::CommercialRelease, "OK")
        | (LightName::Customs, "RELEASED")
        | (LightName::TerminalOperation, "DISCHARGED" | "GATEIN")
        | (LightName::TerminalRelease, "RELEASED")
        | (LightName::GateOperation, "GATEOUTRECEIVED") => "Green",
        (LightName::CommercialRelease, "NOK" | "BLOCKED" | "EXPIRED")
        | (LightName::Customs, "DOCUMENTARYCONTROL")
        | (LightName::TerminalRelease, "BLOCKED") => "Red",
        (LightName::Customs, "SELECTEDFORSCAN" | "FAVV" | "TRANSHIPMENT" | "PORTEQUALISATION")
        | (LightName::TerminalRelease, "SCANNING") => "Yellow",
        (LightName::Customs, "NOTAPPLICABLE") => "Orange",
        (l, v) => panic!("light {l} has a value the seed does not know: {v}"),
    }
}

/// The overall status, recomputed: any red -> BLOCKED; any required light (all but
/// GateOperation) grey -> NOTRELEASED; a scan (customs or terminal) -> SELECTEDFORSCAN; then the
/// customs condition; else RELEASED.
fn expected_status(views: &[LightView]) -> &'static str {
    let value = |n: LightName| views.iter().find(|v| v.name == n).unwrap().value;
    if views.iter().any(|v| color_of(v.name, v.value) == "Red") {
        return "BLOCKED";
    }
    if views
        .iter()
        .any(|v| v.name != LightName::GateOperation && color_of(v.name, v.value) == "Grey")
    {
        return "NOTRELEASED";
    }
    let customs = value(LightName::Customs);
    if customs == "SELECTEDFORSCAN" || value(LightName::TerminalRelease) == "SCANNING" {
        return "SELECTEDFORSCAN";
    }
    match customs {
        "FAVV" | "TRANSHIPMENT" | "PORTEQUALISATION" => customs,
        _ => "RELEASED",
    }
}

// ----- snapshots and the invariant checker -----

/// What an erroring command must leave untouched.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    now: DateTime<Utc>,
    stays: Vec<Option<Stay>>,
    archived: Vec<Vec<Stay>>,
    notification_count: usize,
    next_seq: u64,
}

fn snapshot(w: &World) -> Snapshot {
    let l = UnLocode::antwerp();
    Snapshot {
        now: w.now(),
        stays: containers()
            .iter()
            .map(|&e| w.stay(l, e).cloned())
            .collect(),
        archived: containers()
            .iter()
            .map(|&e| w.archived_stays(l, e).cloned().collect())
            .collect(),
        notification_count: w.notifications().len(),
        next_seq: w.notifications().next_seq(),
    }
}

/// State carried across the steps of one sequence.
#[derive(Default)]
struct Tracker {
    /// Release rights seen in a final state (Expired, Deleted, Archived).
    dead: HashSet<ReleaseId>,
    /// Release ids of archived stays.
    archived_rights: HashSet<ReleaseId>,
    last_seq: Option<u64>,
}

macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($fmt)+)));
        }
    };
}

fn check_stay(
    stay: &Stay,
    tr: &Tracker,
    known: &HashSet<NxtEntityId>,
) -> Result<(), TestCaseError> {
    let eq = stay.equipment;
    let views = stay.lights.views();
    for v in &views {
        check!(
            v.color.as_str() == color_of(v.name, v.value),
            "{eq}: light {} value {} has colour {:?}",
            v.name,
            v.value,
            v.color
        );
    }
    check!(
        stay.lights.status().as_str() == expected_status(&views),
        "{eq}: status {} disagrees with the lights {views:?}",
        stay.lights.status()
    );
    for r in &stay.release_rights {
        check!(
            known.contains(&r.shipping_agent),
            "{eq}: unknown agent {}",
            r.shipping_agent
        );
        check!(
            !r.chain.iter().any(|s| s.party == r.shipping_agent),
            "{eq}: the chain of {} contains the agent: {:?}",
            r.release_id,
            r.chain
        );
        let parties: HashSet<&NxtEntityId> = r.chain.iter().map(|s| &s.party).collect();
        check!(
            parties.len() == r.chain.len(),
            "{eq}: a party appears twice in the chain of {}: {:?}",
            r.release_id,
            r.chain
        );
        let pending: Vec<usize> = r
            .chain
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == StakeholderState::Pending)
            .map(|(i, _)| i)
            .collect();
        check!(
            pending.is_empty() || pending == [r.chain.len() - 1],
            "{eq}: pending stakeholders at {pending:?} in a chain of {}",
            r.chain.len()
        );
        check!(
            !(r.state == RightState::Active && tr.dead.contains(&r.release_id)),
            "{eq}: right {} became active again",
            r.release_id
        );
    }
    Ok(())
}

fn is_right_action(c: &Command) -> bool {
    matches!(c, Command::Act { action, .. }
        if matches!(**action, Action::ReleaseRight(_) | Action::PickupRight { .. }))
}

fn command_key(c: &Command) -> Option<EquipmentNumber> {
    match c {
        Command::Act { equipment, .. } => Some(*equipment),
        _ => None,
    }
}

fn step(w: &mut World, tr: &mut Tracker, c: Command) -> Result<(), TestCaseError> {
    let known: HashSet<NxtEntityId> = w
        .parties()
        .iter()
        .map(|p| p.nxt_entity_id.clone())
        .collect();
    let before = snapshot(w);
    let gated_before: HashMap<EquipmentNumber, Stay> = containers()
        .iter()
        .zip(&before.stays)
        .filter_map(|(&e, s)| {
            s.clone()
                .filter(|s| s.gated_out_at.is_some())
                .map(|s| (e, s))
        })
        .collect();
    let archived_before = tr.archived_rights.clone();

    let result = w.apply(c.clone());
    let after = snapshot(w);

    match &result {
        Err(e) => check!(
            after == before,
            "{c:?} failed with {e:?} but changed the world:\nbefore {before:#?}\nafter {after:#?}"
        ),
        Ok(o) => {
            // The caller of an accepted call reads its notification by publicReferenceId.
            if let (Command::Act { caller, .. }, Some(reference)) = (&c, o.public_reference_id) {
                let q = NotificationQuery {
                    public_reference_id: Some(reference),
                    ..Default::default()
                };
                check!(
                    w.query_notifications(caller, &q).is_ok(),
                    "{c:?}: the caller cannot read the notification of its own call"
                );
            }
            // Terminal scoping: a terminal event is accepted only from the container's terminal.
            if let Command::Act {
                action, equipment, ..
            } = &c
            {
                if let Action::Terminal(ev) = &**action {
                    let at = before.stays
                        [containers().iter().position(|e| e == equipment).unwrap()]
                    .as_ref()
                    .and_then(|s| {
                        s.active_rights()
                            .last()
                            .map(|r| r.terminal_code.clone())
                            .or(s.terminal_code.clone())
                    });
                    check!(
                        at.is_none_or(|t| t == ev.terminal_code),
                        "{c:?}: a terminal event of another terminal was accepted"
                    );
                }
            }
            check!(
                (after.next_seq - before.next_seq) as usize == o.notifications.len(),
                "{c:?}: the log grew by {} but the outcome carries {} notifications",
                after.next_seq - before.next_seq,
                o.notifications.len()
            );
            for n in &o.notifications {
                check!(
                    known.contains(&n.receiver),
                    "notification to unknown receiver {}",
                    n.receiver
                );
                check!(
                    tr.last_seq.is_none_or(|s| n.seq > s),
                    "seq {} after {:?}",
                    n.seq,
                    tr.last_seq
                );
                tr.last_seq = Some(n.seq);
                check!(
                    n.release_id.is_none_or(|r| !archived_before.contains(&r)),
                    "{c:?}: notification {:?} refers to release right {:?} of an archived stay",
                    n.event,
                    n.release_id
                );
            }
        }
    }

    // After gate out, release-right and pickup actions fail and the rights do not change.
    if let Some(e) = command_key(&c) {
        if gated_before.contains_key(&e) && is_right_action(&c) {
            check!(
                result.is_err(),
                "{c:?} succeeded on a container that has gated out"
            );
        }
    }
    let l = UnLocode::antwerp();
    for (e, old) in &gated_before {
        if let Some(s) = w.stay(l, *e) {
            check!(
                s.release_rights == old.release_rights,
                "{e}: release rights changed after gate out"
            );
        }
    }

    // Every active stay.
    let now = w.now();
    for (i, e) in containers().iter().enumerate() {
        if let Some(s) = w.stay(l, *e) {
            check!(s.archived_at.is_none(), "{e}: active stay has archived_at");
            check!(
                s.lights.commercial_release == s.commercial_release_value(),
                "{e}: CommercialRelease light {} but the rights say {}",
                s.lights.commercial_release,
                s.commercial_release_value()
            );
            check_stay(s, tr, &known)?;
            if result.is_ok() && s.gated_out_at.is_none() {
                for r in s.active_rights() {
                    check!(
                        r.expires_at > now,
                        "{e}: right {} is active at {now} but expired at {}",
                        r.release_id,
                        r.expires_at
                    );
                }
            }
        }
        // Archived stays never change; each was gated out 14 days before. The oldest are
        // dropped once archived longer than the notification retention ago, and only those.
        let old = &before.archived[i];
        let new = &after.archived[i];
        let retained = now - w.config().notification_retention;
        let dropped = old
            .iter()
            .take_while(|s| s.archived_at.is_some_and(|a| a < retained))
            .count();
        let kept = &old[dropped..];
        check!(
            new.len() >= kept.len() && new[..kept.len()] == kept[..],
            "{e}: an archived stay changed"
        );
        check!(
            new.iter()
                .all(|s| s.archived_at.is_some_and(|a| a >= retained)),
            "{e}: an archived stay kept past the retention"
        );
        for s in new {
            check!(
                s.gated_out_at.is_some_and(|g| s
                    .archived_at
                    .is_some_and(|a| a >= g + w.config().archive_after)),
                "{e}: archived without a gate out 14 days before: gated out {:?}, archived {:?}",
                s.gated_out_at,
                s.archived_at
            );
            check!(
                s.active_rights().next().is_none(),
                "{e}: archived stay with an active right"
            );
            check_stay(s, tr, &known)?;
            tr.archived_rights
                .extend(s.release_rights.iter().map(|r| r.release_id));
        }
    }
    // Remember final rights.
    for e in containers() {
        for s in w.stay(l, e).into_iter().chain(w.archived_stays(l, e)) {
            tr.dead.extend(
                s.release_rights
                    .iter()
                    .filter(|r| r.state != RightState::Active)
                    .map(|r| r.release_id),
            );
        }
    }

    // The log: increasing seq, known receivers, nothing older than the retention.
    let cutoff = now - w.config().notification_retention;
    let mut prev: Option<u64> = None;
    for n in w.notifications().iter() {
        check!(prev.is_none_or(|p| n.seq > p), "log seq not increasing");
        prev = Some(n.seq);
        check!(known.contains(&n.receiver), "unknown receiver in the log");
        if result.is_ok() {
            check!(
                n.stored_on >= cutoff,
                "notification kept past the retention"
            );
        }
    }
    // The log's indexes (receiver, container and public reference id chains) find exactly what
    // a scan of the log finds, rendered alike.
    let log = w.notifications();
    let all: Vec<Notification> = log.iter().collect();
    let mut references: Vec<PublicReferenceId> =
        all.iter().map(|n| n.public_reference_id).collect();
    references.dedup();
    for r in &known {
        let scan = |keep: &dyn Fn(&Notification) -> bool| -> Vec<Notification> {
            all.iter()
                .filter(|n| &n.receiver == r && keep(n))
                .cloned()
                .collect()
        };
        check!(
            log.for_receiver(r) == scan(&|_| true),
            "the receiver chain of {r} disagrees with the log"
        );
        for e in containers() {
            let q = NotificationQuery {
                equipment: Some(e),
                ..Default::default()
            };
            check!(
                log.query(r, &q).unwrap_or_default() == scan(&|n| n.equipment == Some(e)),
                "the container chain of {e} disagrees with the log for {r}"
            );
        }
        for &p in &references {
            let q = NotificationQuery {
                public_reference_id: Some(p),
                ..Default::default()
            };
            let mine = scan(&|n| n.public_reference_id == p);
            match log.query(r, &q) {
                Ok(found) => check!(found == mine, "the reference chain of {p} disagrees"),
                Err(QueryError::NotYours) => check!(mine.is_empty(), "{p}: 403 with notifications"),
                Err(QueryError::NoneMatch) => check!(false, "{p}: 405 for a stored reference"),
            }
        }
    }
    Ok(())
}

fn run(commands: Vec<Command>) -> Result<(), TestCaseError> {
    let mut w = new_world();
    let mut tr = Tracker::default();
    for c in commands {
        step(&mut w, &mut tr, c)?;
    }
    Ok(())
}

/// Cases per run: about 1 s in debug.
const CASES: u32 = 192;

/// A run of commands on one container that mostly succeeds: release to a holder, accept, maybe
/// a transfer and accept, assign a pickup, then a few of the lights. Mixed into the random
/// sequences so that they reach deep states (accepted transfers, pickups, unblocks).
fn lifecycle() -> impl Strategy<Value = Vec<Command>> {
    (
        container(),
        proptest::sample::select(OPERATORS),
        proptest::option::of(proptest::sample::select(HOLDERS)),
        proptest::option::weighted(0.3, proptest::sample::select(&["R1", "R2"][..])),
        proptest::bool::weighted(0.3),
        proptest::sample::subsequence(
            vec![
                Some(Action::SetCustoms(CustomsValue::Released)),
                Some(Action::SetCustoms(CustomsValue::Transhipment)),
                Some(psa(TerminalAction::Discharge)),
                Some(psa(TerminalAction::Release)),
                Some(Action::ReleaseRight(ReleaseRightCommand::new(
                    ReleaseAction::Block,
                ))),
                Some(Action::ReleaseRight(ReleaseRightCommand::new(
                    ReleaseAction::Unblock,
                ))),
                Some(Action::PickupRight {
                    action: PickupAction::Update,
                    selector: RightSelector::default(),
                    target: Some(PickupTarget::Truck(
                        AlfapassNumber::parse("AP1000001").unwrap(),
                    )),
                }),
                Some(Action::PickupRight {
                    action: PickupAction::Revoke,
                    selector: RightSelector::default(),
                    target: None,
                }),
                Some(Action::ReleaseRight(ReleaseRightCommand::new(
                    ReleaseAction::Revoke,
                ))),
                Some(Action::ReleaseRight(ReleaseRightCommand::new(
                    ReleaseAction::Delete,
                ))),
                // Gate out, a day (None), and a repeated gate out.
                Some(psa(TerminalAction::GateOut)),
                None,
                Some(psa(TerminalAction::GateOut)),
            ],
            0..=13,
        ),
    )
        .prop_map(|(e, owner, first, ri, decline, tail)| {
            let sel = RightSelector {
                release_id: None,
                release_identification: ri.map(str::to_owned),
            };
            let on = |who: usize, action: Action| Command::Act {
                caller: party_id(who),
                locode: UnLocode::antwerp(),
                equipment: containers()[e],
                external_reference_id: None,
                action: Box::new(action),
            };
            let to = |who: usize| Identification {
                identification_type: IdentificationType::NxtEntityId,
                identification_code: party_id(who).as_str().to_owned(),
            };
            let rr = |action: ReleaseAction, release_to: Option<usize>| {
                let mut c = ReleaseRightCommand::new(action);
                c.selector = sel.clone();
                c.terminal_code = Some(TerminalCode::parse("869").unwrap());
                c.release_to = release_to.map(to);
                Action::ReleaseRight(c)
            };
            let first = first.filter(|&f| f != owner);
            let to_first = first.unwrap_or(owner);
            let mut out = vec![on(2, rr(ReleaseAction::Release, Some(to_first)))];
            if decline {
                // Declined, then named again by the agent.
                out.push(on(to_first, rr(ReleaseAction::Decline, None)));
                out.push(on(2, rr(ReleaseAction::Update, Some(to_first))));
            }
            if let Some(f) = first {
                out.push(on(f, rr(ReleaseAction::Accept, None)));
                out.push(on(f, rr(ReleaseAction::Transfer, Some(owner))));
            }
            out.push(on(owner, rr(ReleaseAction::Accept, None)));
            out.push(on(
                owner,
                Action::PickupRight {
                    action: PickupAction::Assign,
                    selector: sel.clone(),
                    target: Some(own_target(owner)),
                },
            ));
            for a in tail {
                let Some(a) = a else {
                    out.push(Command::AdvanceClock { seconds: 86_400 });
                    continue;
                };
                let who = match &a {
                    Action::SetCustoms(_) => 8,
                    Action::Terminal(_) => 0,
                    Action::ReleaseRight(_) => 2,
                    _ => owner,
                };
                let a = match a {
                    Action::ReleaseRight(mut c) => {
                        c.selector = sel.clone();
                        Action::ReleaseRight(c)
                    }
                    Action::PickupRight { action, target, .. } => Action::PickupRight {
                        action,
                        selector: sel.clone(),
                        target: target.map(|_| own_target(owner)),
                    },
                    a => a,
                };
                out.push(on(who, a));
            }
            out
        })
}

fn sequence() -> impl Strategy<Value = Vec<Command>> {
    proptest::collection::vec(
        prop_oneof![
            12 => command().prop_map(|c| vec![c]),
            1 => lifecycle(),
        ],
        1..60,
    )
    .prop_map(|chunks| chunks.into_iter().flatten().collect())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_over_random_commands(commands in sequence()) {
        run(commands)?;
    }
}

/// Label of a command for the coverage count.
fn label(c: &Command) -> String {
    match c {
        Command::AdvanceClock { .. } => "AdvanceClock".into(),
        Command::Tick => "Tick".into(),
        Command::Act { action, .. } => match &**action {
            Action::Terminal(t) => format!("Terminal {:?}", t.action),
            Action::ReleaseRight(r) => format!("ReleaseRight {:?}", r.action),
            Action::PickupRight { action, .. } => format!("PickupRight {action:?}"),
            Action::RequestReleaseDetail => "RequestReleaseDetail".into(),
            Action::SetCustoms(_) => "SetCustoms".into(),
        },
    }
}

/// The generator must reach the states the invariants are about; otherwise the properties above
/// pass vacuously. Counts what the same strategy produces on a deterministic runner;
/// `PROP_STATS=1` prints the counts, `PROP_ERRORS=1` adds the reasons of refused commands.
#[test]
fn generator_reaches_every_state() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let strategy = sequence();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let l = UnLocode::antwerp();
    for _ in 0..CASES {
        let commands = strategy.new_tree(&mut runner).unwrap().current();
        let mut w = new_world();
        for c in commands {
            let r = w.apply(c.clone());
            let ok = r.is_ok();
            if std::env::var_os("PROP_ERRORS").is_some() {
                if let Err(e) = &r {
                    let msg: String = e
                        .to_string()
                        .chars()
                        .filter(|c| !c.is_ascii_digit())
                        .take(60)
                        .collect();
                    *seen
                        .entry(format!("error {} {msg}", label(&c)))
                        .or_default() += 1;
                }
            }
            *seen
                .entry(format!(
                    "{} {}",
                    if ok { "ok" } else { "refused" },
                    label(&c)
                ))
                .or_default() += 1;
            for e in containers() {
                if let Some(s) = w.stay(l, e) {
                    *seen
                        .entry(format!("status {}", s.lights.status()))
                        .or_default() += 1;
                    for r in &s.release_rights {
                        *seen.entry(format!("right {}", r.status())).or_default() += 1;
                        if r.pickup.is_some() {
                            *seen.entry("right with pickup".into()).or_default() += 1;
                        }
                    }
                    if s.history
                        .iter()
                        .filter(|h| h.action.to_string().ends_with("GateOut"))
                        .count()
                        > 1
                    {
                        *seen.entry("gated out twice".into()).or_default() += 1;
                    }
                    if w.archived_stays(l, e).next().is_some() {
                        *seen.entry("stay after an archived one".into()).or_default() += 1;
                    }
                }
                for s in w.archived_stays(l, e) {
                    for r in &s.release_rights {
                        *seen
                            .entry(format!("archived right {}", r.status()))
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    if std::env::var_os("PROP_STATS").is_some() {
        for (k, v) in &seen {
            eprintln!("{v:>7}  {k}");
        }
    }
    let mut missing: Vec<String> = Vec::new();
    let mut want = |k: String| {
        if !seen.contains_key(&k) {
            missing.push(k);
        }
    };
    for s in OverallStatus::ALL {
        want(format!("status {s}"));
    }
    for r in [
        "Assigned", "Pending", "Accepted", "Blocked", "Deleted", "Expired",
    ] {
        want(format!("right {r}"));
    }
    want("archived right Archived".into());
    want("right with pickup".into());
    want("stay after an archived one".into());
    want("gated out twice".into());
    for a in ReleaseAction::ALL {
        want(format!("ok ReleaseRight {a:?}"));
    }
    for a in ["Assign", "Update", "Revoke"] {
        want(format!("ok PickupRight {a}"));
    }
    for a in [
        "Discharge",
        "GateIn",
        "GateOut",
        "Release",
        "Scanning",
        "Block",
    ] {
        want(format!("ok Terminal {a}"));
    }
    want("ok RequestReleaseDetail".into());
    want("ok SetCustoms".into());
    want("refused AdvanceClock".into());
    assert!(
        missing.is_empty(),
        "the generator never reached {missing:?}"
    );
}

// ----- regressions found by the properties, as directed cases -----

fn act_on(w: &mut World, who: usize, e: usize, action: Action) -> Result<Outcome, SimError> {
    w.apply(Command::Act {
        caller: party_id(who),
        locode: UnLocode::antwerp(),
        equipment: containers()[e],
        external_reference_id: None,
        action: Box::new(action),
    })
}

fn psa(action: TerminalAction) -> Action {
    Action::Terminal(TerminalEventCommand {
        action,
        terminal_code: TerminalCode::parse("869").unwrap(),
        occurred_at: t0(),
        import: false,
        full_empty: None,
        mode_of_transport: None,
        bill_of_lading_numbers: vec![],
        stay_number: None,
    })
}

fn release(expires_at: Option<DateTime<Utc>>) -> Action {
    let mut c = ReleaseRightCommand::new(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.expires_at = expires_at;
    Action::ReleaseRight(c)
}

/// A release whose expiry is already past was accepted as an active right with an OK light.
#[test]
fn release_expiring_in_the_past_is_refused() {
    let mut w = new_world();
    let mut c = ReleaseRightCommand::new(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_at = Some(t0() - Duration::days(70));
    let before = snapshot(&w);
    let e = act_on(&mut w, 2, 0, Action::ReleaseRight(c)).unwrap_err();
    assert!(
        matches!(
            e,
            SimError::InvalidField {
                field: "expirationDateTimeUtc",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(snapshot(&w), before);
}

/// A second gate out scheduled a second archive timer, which archived the container's next stay
/// (never gated out) when it fired. A second gate out is now refused; the archive guard stays.
#[test]
fn second_gate_out_does_not_archive_the_next_stay() {
    let mut w = new_world();
    let l = UnLocode::antwerp();
    let e = containers()[0];
    act_on(&mut w, 2, 0, release(None)).unwrap();
    act_on(&mut w, 0, 0, psa(TerminalAction::GateOut)).unwrap();
    w.apply(Command::AdvanceClock { seconds: 86_400 }).unwrap();
    let before = snapshot(&w);
    assert!(matches!(
        act_on(&mut w, 0, 0, psa(TerminalAction::GateOut)),
        Err(SimError::InvalidState(_))
    ));
    assert_eq!(snapshot(&w), before);
    w.apply(Command::AdvanceClock {
        seconds: 13 * 86_400,
    })
    .unwrap();
    // Whether the container is archived now or a day later, a new release must not lead to a
    // stay that is archived without its own gate out.
    let _ = act_on(&mut w, 2, 0, release(None));
    w.apply(Command::AdvanceClock {
        seconds: 2 * 86_400,
    })
    .unwrap();
    for s in w.archived_stays(l, e) {
        assert!(
            s.gated_out_at.is_some(),
            "a stay was archived without a gate out: {s:?}"
        );
    }
    assert_eq!(w.archived_stays(l, e).count(), 1);
}

/// On the real clock, a timer can fall due between two commands. When the next command is
/// refused, the timer still fires (time passed): the refused command changes nothing else, and
/// the notifications the timer caused lead the next outcome instead of being lost.
#[test]
fn refused_command_does_not_swallow_due_timers() {
    let mut w = World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Real {
            offset: Duration::zero(),
        },
    )
    .unwrap();
    let soon = w.now() + Duration::milliseconds(30);
    act_on(&mut w, 2, 0, release(Some(soon))).unwrap();
    // The real clock passes the due time while no command runs (polled, bounded; this test is
    // about the real clock, so it cannot use a frozen one).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while w.now() <= soon {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not pass {soon}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let seq = w.notifications().next_seq();
    // The forwarder may not block: refused.
    let refused = act_on(
        &mut w,
        3,
        0,
        Action::ReleaseRight(ReleaseRightCommand::new(ReleaseAction::Block)),
    );
    assert!(
        matches!(refused, Err(SimError::NotAllowed(_))),
        "{refused:?}"
    );
    let stay = w.stay(UnLocode::antwerp(), containers()[0]).unwrap();
    assert_eq!(stay.lights.commercial_release.as_str(), "EXPIRED");
    assert!(
        stay.history
            .iter()
            .all(|h| !h.action.to_string().contains("Block")),
        "the refused command left a trace"
    );
    let o = w.apply(Command::Tick).unwrap();
    let got: Vec<u64> = o.notifications.iter().map(|n| n.seq).collect();
    let logged: Vec<u64> = (seq..w.notifications().next_seq()).collect();
    assert_eq!(
        got, logged,
        "every notification since the release is in an outcome"
    );
    assert!(o
        .notifications
        .iter()
        .any(|n| n.event == NotificationEvent::ExpiredReleaseRights));
}

//! The strategies: random commands of every `Action` variant from every party (and an unknown
//! caller) on a few containers, large clock jumps, and whole lifecycles mixed in so that the
//! sequences reach deep states.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use cpu_simulator::*;

use crate::common::{t0, terminal};
use crate::{containers, party_id, KEYS, UNKNOWN};

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

/// A random command sequence: mostly single commands, with a whole lifecycle now and then.
pub fn sequence() -> impl Strategy<Value = Vec<Command>> {
    proptest::collection::vec(
        prop_oneof![
            12 => command().prop_map(|c| vec![c]),
            1 => lifecycle(),
        ],
        1..60,
    )
    .prop_map(|chunks| chunks.into_iter().flatten().collect())
}

/// An event of PSA's terminal (869) at `t0`.
pub fn psa(action: TerminalAction) -> Action {
    terminal(action, "869")
}

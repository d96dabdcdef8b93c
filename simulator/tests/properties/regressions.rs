//! Regressions found by the properties, kept as directed cases.

use chrono::{DateTime, Duration, Utc};

use cpu_simulator::*;

use crate::common::{t0, world};
use crate::invariants::snapshot;
use crate::strategies::psa;
use crate::{containers, party_id};

fn act_on(w: &mut World, who: usize, e: usize, action: Action) -> Result<Outcome, SimError> {
    w.apply(Command::Act {
        caller: party_id(who),
        locode: UnLocode::antwerp(),
        equipment: containers()[e],
        external_reference_id: None,
        action: Box::new(action),
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
    let mut w = world();
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
    let mut w = world();
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

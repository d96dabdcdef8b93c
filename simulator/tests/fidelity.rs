//! Issue 11 in the core: terminal scoping, the caller's own notification, checked time
//! arithmetic (no panic from any timestamp or clock jump), the release right by id, and the
//! earliest due timer the tick task waits for.

use chrono::{DateTime, Duration, TimeZone, Utc};

use cpu_simulator::*;

mod common;
use common::{eq, id, t0, terminal, world};

fn act(w: &mut World, who: &str, action: Action) -> Result<Outcome, SimError> {
    common::act_as(w, who, eq(), None, action)
}

fn release(w: &World, at: Option<DateTime<Utc>>) -> Action {
    let mut c = ReleaseRightCommand::new(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: id(w, "trucker").as_str().into(),
    });
    c.release_at = at;
    Action::ReleaseRight(c)
}

fn reads_own(w: &World, who: &str, o: &Outcome) -> bool {
    let q = NotificationQuery {
        public_reference_id: o.public_reference_id,
        ..Default::default()
    };
    w.query_notifications(&id(w, who), &q).is_ok()
}

#[test]
fn another_terminal_cannot_touch_a_container_released_at_psa() {
    let mut w = world();
    let r = release(&w, None);
    act(&mut w, "agent", r).unwrap();
    let before = w.stay(UnLocode::antwerp(), eq()).cloned();
    let logged = w.notifications().next_seq();
    for a in [
        TerminalAction::Block,
        TerminalAction::Discharge,
        TerminalAction::Release,
        TerminalAction::GateOut,
    ] {
        // With its own terminal code: the container is not at its terminal.
        let e = act(&mut w, "dpworld", terminal(a, "1700")).unwrap_err();
        assert!(
            matches!(&e, SimError::NotAllowed(m) if m.contains("869")),
            "{a:?}: {e:?}"
        );
        // With PSA's terminal code: not its own code.
        let e = act(&mut w, "dpworld", terminal(a, "869")).unwrap_err();
        assert!(matches!(e, SimError::NotAllowed(_)), "{a:?}: {e:?}");
    }
    assert_eq!(w.stay(UnLocode::antwerp(), eq()).cloned(), before);
    assert_eq!(w.notifications().next_seq(), logged);
    // PSA may.
    let o = act(&mut w, "psa", terminal(TerminalAction::Block, "869")).unwrap();
    assert!(reads_own(&w, "psa", &o));
    assert_eq!(status_of(&w), OverallStatus::Blocked);
}

#[test]
fn the_first_terminal_to_report_a_container_owns_it_until_a_release_names_another() {
    let mut w = world();
    act(
        &mut w,
        "dpworld",
        terminal(TerminalAction::Discharge, "1700"),
    )
    .unwrap();
    assert!(matches!(
        act(&mut w, "psa", terminal(TerminalAction::Discharge, "869")),
        Err(SimError::NotAllowed(_))
    ));
    // The agent releases it at PSA (869): from now on PSA's container.
    let r = release(&w, None);
    act(&mut w, "agent", r).unwrap();
    act(&mut w, "psa", terminal(TerminalAction::Release, "869")).unwrap();
    assert!(matches!(
        act(&mut w, "dpworld", terminal(TerminalAction::Release, "1700")),
        Err(SimError::NotAllowed(_))
    ));
}

fn status_of(w: &World) -> OverallStatus {
    w.stay(UnLocode::antwerp(), eq()).unwrap().lights.status()
}

#[test]
fn the_caller_of_every_accepted_call_reads_its_own_notification() {
    let mut w = world();
    let r = release(&w, None);
    let o = act(&mut w, "agent", r).unwrap();
    assert!(reads_own(&w, "agent", &o));
    // Customs is no receiver of a light change, but it made this one.
    let o = act(
        &mut w,
        "customs",
        Action::SetCustoms(CustomsValue::Released),
    )
    .unwrap();
    assert!(reads_own(&w, "customs", &o));
    let o = act(&mut w, "psa", terminal(TerminalAction::Discharge, "869")).unwrap();
    assert!(reads_own(&w, "psa", &o));
    let o = act(
        &mut w,
        "trucker",
        Action::ReleaseRight(ReleaseRightCommand::new(ReleaseAction::Accept)),
    )
    .unwrap();
    assert!(reads_own(&w, "trucker", &o));
}

#[test]
fn the_panic_input_is_a_field_error() {
    // `"releaseDateTimeUtc": "+262142-12-31T00:00:00"`: chrono holds it, + 60 days does not.
    let mut w = world();
    let far = Utc.with_ymd_and_hms(262_142, 12, 31, 0, 0, 0).unwrap();
    let r = release(&w, Some(far));
    let e = act(&mut w, "agent", r).unwrap_err();
    assert!(
        matches!(
            e,
            SimError::InvalidField {
                field: "releaseDateTimeUtc",
                ..
            }
        ),
        "{e:?}"
    );
    // At chrono's very end, and at the end of what the world accepts.
    for at in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC, LATEST] {
        let r = release(&w, Some(at));
        assert!(act(&mut w, "agent", r).is_err(), "{at}");
    }
    assert!(w.stay(UnLocode::antwerp(), eq()).is_none());
    // A leap second and a year before 1970 are refused too.
    let leap = DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap();
    for (at, what) in [
        (leap, "leap second"),
        (EARLIEST - Duration::seconds(1), "1969"),
    ] {
        let e = act(
            &mut w,
            "psa",
            Action::Terminal(TerminalEventCommand {
                occurred_at: at,
                ..match terminal(TerminalAction::Discharge, "869") {
                    Action::Terminal(t) => t,
                    _ => unreachable!(),
                }
            }),
        )
        .unwrap_err();
        assert!(matches!(e, SimError::InvalidField { .. }), "{what}: {e:?}");
    }
}

#[test]
fn huge_clock_jumps_are_refused_without_a_panic() {
    let mut w = world();
    for seconds in [i64::MAX, i64::MAX / 1000, 400_000 * 365 * 86_400] {
        assert!(
            w.apply(Command::AdvanceClock { seconds }).is_err(),
            "{seconds}"
        );
        assert_eq!(w.now(), t0());
    }
    // Up to the last instant the world accepts, and not one second more.
    let to_end = (LATEST - t0()).num_seconds();
    w.apply(Command::AdvanceClock { seconds: to_end }).unwrap();
    assert!(w.apply(Command::AdvanceClock { seconds: 1 }).is_err());
    // The world still works at its end: a release whose default expiry would pass 9999.
    let r = release(&w, None);
    assert!(matches!(
        act(&mut w, "agent", r),
        Err(SimError::InvalidField { .. })
    ));
    // On the real clock too.
    let mut real = World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Real {
            offset: Duration::zero(),
        },
    )
    .unwrap();
    assert!(real
        .apply(Command::AdvanceClock { seconds: i64::MAX })
        .is_err());
    assert!(real.apply(Command::Tick).is_ok());
}

#[test]
fn release_right_by_id_is_for_the_terminal_it_names() {
    let mut w = world();
    let r = release(&w, None);
    let o = act(&mut w, "agent", r).unwrap();
    let rid = o.notifications[0].release_id.unwrap();
    let d = w.release_right_detail(&id(&w, "psa"), rid).unwrap();
    assert_eq!(d.release_id, Some(rid.0));
    assert_eq!(d.terminal_code.as_deref(), Some("869"));
    assert_eq!(d.equipment_number, "MSCU1234566");
    assert!(matches!(
        w.release_right_detail(&id(&w, "dpworld"), rid),
        Err(SimError::NotAllowed(_))
    ));
    assert!(matches!(
        w.release_right_detail(&id(&w, "psa"), ReleaseId(uuid::Uuid::nil())),
        Err(SimError::InvalidState(_))
    ));
}

#[test]
fn next_due_is_the_earliest_timer() {
    let mut w = world();
    assert_eq!(w.next_due(), None);
    let r = release(&w, None);
    act(&mut w, "agent", r).unwrap();
    assert_eq!(w.next_due(), Some(t0() + Duration::days(60)));
    act(&mut w, "psa", terminal(TerminalAction::GateOut, "869")).unwrap();
    assert_eq!(w.next_due(), Some(t0() + Duration::days(14)));
}

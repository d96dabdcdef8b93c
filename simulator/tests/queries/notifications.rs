//! The notification service: queries by event, container, public reference id and release id,
//! the stored-on day and time window, the 168-hour retention, and that a query needs a filter.

use chrono::NaiveTime;

use cpu_simulator::*;

use crate::common::t0;
use crate::fixture::*;

/// Two containers released to the trucker; returns the reference of the first release.
fn notifications_world() -> (Sim, PublicReferenceId) {
    let mut s = Sim::new();
    let mut c = rr(ReleaseAction::Release);
    c.terminal_code = Some(TerminalCode::parse("869").unwrap());
    c.release_to = Some(by_id(s.id("trucker").as_str()));
    let o = s.act("agent", eq(1), Action::ReleaseRight(c.clone()));
    s.w.apply(Command::AdvanceClock { seconds: 3_600 }).unwrap();
    s.act("agent", eq(2), Action::ReleaseRight(c));
    (s, o.public_reference_id.unwrap())
}

fn query(s: &Sim, who: &str, q: NotificationQuery) -> Result<Vec<Notification>, QueryError> {
    s.w.query_notifications(&s.id(who), &q)
}

#[test]
fn notifications_by_event_and_equipment() {
    let (mut s, _) = notifications_world();
    let all = query(
        &s,
        "trucker",
        NotificationQuery {
            event: Some(NotificationEvent::Release),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|n| n.receiver == s.id("trucker")));
    let one = query(
        &s,
        "trucker",
        NotificationQuery {
            event: Some(NotificationEvent::Release),
            equipment: Some(eq(2)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].equipment, Some(eq(2)));
    // The forwarder got nothing: 405 (NoneMatch).
    assert_eq!(
        query(
            &s,
            "forwarder",
            NotificationQuery {
                equipment: Some(eq(1)),
                ..Default::default()
            }
        ),
        Err(QueryError::NoneMatch)
    );
    // An event that did not happen.
    assert_eq!(
        query(
            &s,
            "trucker",
            NotificationQuery {
                event: Some(NotificationEvent::GateOut),
                ..Default::default()
            }
        ),
        Err(QueryError::NoneMatch)
    );
    // Oldest first, and each later one has a larger seq.
    s.act(
        "trucker",
        eq(1),
        Action::ReleaseRight(rr(ReleaseAction::Accept)),
    );
    let mine = query(
        &s,
        "trucker",
        NotificationQuery {
            equipment: Some(eq(1)),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(mine.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        mine.last().unwrap().event,
        NotificationEvent::AcceptedByNextParty
    );
}

#[test]
fn notifications_by_public_reference_id_are_private() {
    let (s, reference) = notifications_world();
    let q = NotificationQuery {
        public_reference_id: Some(reference),
        ..Default::default()
    };
    for who in ["agent", "trucker", "psa"] {
        let found = query(&s, who, q.clone()).unwrap();
        assert!(found.iter().all(|n| n.public_reference_id == reference));
    }
    // Sent to other companies only: 403.
    assert_eq!(query(&s, "barge", q.clone()), Err(QueryError::NotYours));
    // An id nobody knows: 405.
    let q = NotificationQuery {
        public_reference_id: Some(PublicReferenceId::new()),
        ..Default::default()
    };
    assert_eq!(query(&s, "agent", q), Err(QueryError::NoneMatch));
}

#[test]
fn notifications_by_release_id() {
    let (s, _) = notifications_world();
    let right = s.w.stay(antwerp(), eq(2)).unwrap().release_rights[0].release_id;
    let found = query(
        &s,
        "agent",
        NotificationQuery {
            release_id: Some(right),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!found.is_empty());
    assert!(found.iter().all(|n| n.release_id == Some(right)));
    assert!(found.iter().all(|n| n.equipment == Some(eq(2))));
}

#[test]
fn notifications_stored_on_and_time_window() {
    let (s, _) = notifications_world();
    let day = t0().date_naive();
    let at = |h: u32, m: u32| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let q = |window: Option<(NaiveTime, NaiveTime)>| NotificationQuery {
        event: Some(NotificationEvent::Release),
        stored_on: Some(day),
        window,
        ..Default::default()
    };
    assert_eq!(query(&s, "trucker", q(None)).unwrap().len(), 2);
    // The first release was stored at 08:00, the second at 09:00; bounds are inclusive.
    let early = query(&s, "trucker", q(Some((at(7, 30), at(8, 0))))).unwrap();
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].equipment, Some(eq(1)));
    let late = query(&s, "trucker", q(Some((at(8, 1), at(19, 25))))).unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].equipment, Some(eq(2)));
    assert_eq!(
        query(&s, "trucker", q(Some((at(10, 0), at(11, 0))))),
        Err(QueryError::NoneMatch)
    );
    // Another day.
    let other = NotificationQuery {
        stored_on: Some(day.pred_opt().unwrap()),
        ..Default::default()
    };
    assert_eq!(query(&s, "trucker", other), Err(QueryError::NoneMatch));
}

#[test]
fn notifications_retention_168_hours() {
    let (mut s, reference) = notifications_world();
    let q = NotificationQuery {
        public_reference_id: Some(reference),
        ..Default::default()
    };
    // The first release is 1 h old now; at exactly 168 h it is still there.
    s.w.apply(Command::AdvanceClock {
        seconds: 167 * 3_600,
    })
    .unwrap();
    assert!(query(&s, "trucker", q.clone()).is_ok());
    s.w.apply(Command::AdvanceClock { seconds: 1 }).unwrap();
    assert_eq!(
        query(&s, "trucker", q.clone()),
        Err(QueryError::NoneMatch),
        "older than 168 h"
    );
    // Past its retention the id is forgotten: 405, not 403, for other companies too.
    assert_eq!(query(&s, "barge", q), Err(QueryError::NoneMatch));
    // The second release (an hour younger) is still there.
    let q = NotificationQuery {
        equipment: Some(eq(2)),
        ..Default::default()
    };
    assert!(query(&s, "trucker", q).is_ok());
}

#[test]
fn notification_query_needs_a_filter() {
    assert!(NotificationQuery::default().is_empty());
    let window_only = NotificationQuery {
        window: Some((NaiveTime::MIN, NaiveTime::MIN)),
        ..Default::default()
    };
    assert!(window_only.is_empty(), "a window needs storedOn");
    assert!(!NotificationQuery {
        event: Some(NotificationEvent::Release),
        ..Default::default()
    }
    .is_empty());
}

//! The generator's coverage: the random sequences reach every state the invariants are about.

use proptest::prelude::*;

use cpu_simulator::*;

use crate::common::world;
use crate::strategies::sequence;
use crate::{containers, CASES};

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
        let mut w = world();
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

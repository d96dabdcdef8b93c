//! World scale: peak resident memory of a world whose stays were each built through
//! `World::apply` with a full import lifecycle, and the latency of a truck pickup validation and
//! of notification queries in a small world vs that world.
//!
//! Run (release, prints the figures):
//!     cargo bench -p cpu-simulator --bench world_scale
//! `-- --stays N` changes the large world's size (default 1,000,000). Without `--bench` (e.g.
//! `cargo test --benches`) it runs a quick smoke version (10,000 stays, few iterations).
//!
//! Every stay lives through the commands a real one gets, each through `World::apply` (so the
//! notifications, their indexes and the stay history are all there): discharge at PSA (869),
//! commercial release by the agent to `trucker`, acceptance, pickup right for a truck (Alfapass),
//! customs released, terminal release, gate out. That is 7 commands, 9 changes (in 8 calls) and
//! 26 notifications per stay. Two more sets live in both worlds and are what the latency figures read:
//! - 1,000 "hot" stays with the same lifecycle up to the terminal release (not gated out), the
//!   containers the validation cycles over (valid pickups);
//! - 5 containers released to `trucker2`, whose notifications the per-receiver queries read.
//!
//! A third validation figure picks random containers of the whole large world (cold caches).
//!
//! Memory: the process's peak (`VmHWM`, /proc/self/status) after the large world is built, and
//! the resident growth (`VmRSS`) it caused. Goal (issue 11): under 2 GiB at 1,000,000 stays.
//!
//! Measured (release, 2-core VM, 2026-12-01, eighth session), `-- --stays 1000000`: 1,001,005
//! stays and 26,023,115 notifications built in 38.3 s (5.5 us per command), VmHWM 1,913 MiB
//! (1,998 B per stay; 2,315 MiB before 8-byte receiver entries, 36-byte calls, shared
//! bill-of-lading lists, release ids that name their stay and the stays' hash table of boxes).
//! The goal is met. ns/op 2,005 vs 1,001,005 stays, one run: validation 877 vs 760; trucker2's
//! notifications by container 13,198 vs 14,162, by event 7,425 vs 10,406; a receiver with
//! notifications on every stay, by container 10,560 vs 13,494, by publicReferenceId 2,723 vs
//! 2,620; random container 473 vs 1,561. The validation ratio in five runs: 0.48 to 2.15 (the
//! small world alone 484 to 1,022 ns): the VM's noise, larger than any effect of the size. The
//! two worlds are measured in turn, round after round, so a slow spell hits both. Queries
//! render each body (party blocks included) when read.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use cpu_simulator::*;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn id(w: &World, key: &str) -> NxtEntityId {
    w.party_by_key(key)
        .map(|p| p.nxt_entity_id.clone())
        .expect("default world party")
}

/// Stays of the bulk: 1,000,000 serials per owner prefix, spread over several prefixes.
fn bulk(i: u32) -> EquipmentNumber {
    const OWNERS: [&str; 10] = [
        "AAAU", "BBBU", "CCCU", "DDDU", "EEEU", "FFFU", "GGGU", "HHHU", "IIIU", "JJJU",
    ];
    EquipmentNumber::from_serial(OWNERS[(i / 1_000_000) as usize % 10], i % 1_000_000)
        .expect("valid serial")
}

/// The 1,000 stays the validation reads (released, not gated out).
fn hot(i: u32) -> EquipmentNumber {
    EquipmentNumber::from_serial("HOTU", i).expect("valid serial")
}

/// The 5 containers of `trucker2`.
fn active(i: u32) -> EquipmentNumber {
    EquipmentNumber::from_serial("ACTU", i).expect("valid serial")
}

const HOT: u32 = 1_000;

/// The parties and fixed values every lifecycle uses.
struct Cast {
    psa: NxtEntityId,
    agent: NxtEntityId,
    customs: NxtEntityId,
    at: DateTime<Utc>,
}

impl Cast {
    fn of(w: &World) -> Self {
        Cast {
            psa: id(w, "psa"),
            agent: id(w, "agent"),
            customs: id(w, "customs"),
            at: w.now(),
        }
    }

    fn act(&self, w: &mut World, caller: &NxtEntityId, e: EquipmentNumber, action: Action) {
        w.apply(Command::Act {
            caller: caller.clone(),
            locode: UnLocode::antwerp(),
            equipment: e,
            external_reference_id: None,
            action: Box::new(action),
        })
        .unwrap_or_else(|err| panic!("lifecycle command on {e}: {err}"));
    }

    fn terminal(&self, action: TerminalAction) -> Action {
        Action::Terminal(TerminalEventCommand {
            action,
            terminal_code: TerminalCode::parse("869").expect("code"),
            occurred_at: self.at,
            import: true,
            full_empty: Some(FullEmpty::Full),
            mode_of_transport: None,
            bill_of_lading_numbers: vec!["BL1".to_owned()],
            stay_number: None,
        })
    }

    /// Discharge, release to `to`, acceptance, pickup right, customs, terminal release, and
    /// the gate out when `gate_out`.
    fn lifecycle(&self, w: &mut World, e: EquipmentNumber, to: &NxtEntityId, gate_out: bool) {
        self.act(w, &self.psa, e, self.terminal(TerminalAction::Discharge));
        let mut release = ReleaseRightCommand::new(ReleaseAction::Release);
        release.terminal_code = Some(TerminalCode::parse("869").expect("code"));
        release.bill_of_lading_numbers = vec!["BL1".to_owned()];
        release.release_to = Some(Identification {
            identification_type: IdentificationType::NxtEntityId,
            identification_code: to.as_str().to_owned(),
        });
        self.act(w, &self.agent, e, Action::ReleaseRight(release));
        self.act(
            w,
            to,
            e,
            Action::ReleaseRight(ReleaseRightCommand::new(ReleaseAction::Accept)),
        );
        self.act(
            w,
            to,
            e,
            Action::PickupRight {
                action: PickupAction::Assign,
                selector: RightSelector::default(),
                target: Some(PickupTarget::Truck(
                    AlfapassNumber::parse("AP1000001").expect("alfapass"),
                )),
            },
        );
        self.act(
            w,
            &self.customs,
            e,
            Action::SetCustoms(CustomsValue::Released),
        );
        self.act(w, &self.psa, e, self.terminal(TerminalAction::Release));
        if gate_out {
            self.act(w, &self.psa, e, self.terminal(TerminalAction::GateOut));
        }
    }
}

/// A world with `n` full lifecycles, the hot set and `trucker2`'s five containers.
fn build(n: u32) -> World {
    let mut w = World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Frozen(Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()),
    )
    .expect("default world");
    let cast = Cast::of(&w);
    let trucker = id(&w, "trucker");
    let trucker2 = id(&w, "trucker2");
    for i in 0..HOT {
        cast.lifecycle(&mut w, hot(i), &trucker, false);
    }
    for i in 0..5 {
        cast.lifecycle(&mut w, active(i), &trucker2, false);
    }
    for i in 0..n {
        cast.lifecycle(&mut w, bulk(i), &trucker, true);
    }
    w
}

/// Rounds of each figure; the two worlds are measured in turn, round after round, and each
/// figure is the best of its rounds (a slow spell of the machine then hits both worlds alike).
const ROUNDS: usize = 3;

/// Nanoseconds per call of `f` over `iters` calls.
fn ns_per_op(iters: u32, mut f: impl FnMut(u32)) -> f64 {
    let start = Instant::now();
    for i in 0..iters {
        f(i);
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

#[derive(Clone, Copy)]
struct Figures {
    validate: f64,
    notif_equipment: f64,
    notif_event: f64,
    busy_equipment: f64,
    busy_reference: f64,
}

impl Figures {
    /// The best (lowest) of each figure.
    fn best(self, o: Figures) -> Figures {
        Figures {
            validate: self.validate.min(o.validate),
            notif_equipment: self.notif_equipment.min(o.notif_equipment),
            notif_event: self.notif_event.min(o.notif_event),
            busy_equipment: self.busy_equipment.min(o.busy_equipment),
            busy_reference: self.busy_reference.min(o.busy_reference),
        }
    }
}

fn measure(w: &World, iters: u32) -> Figures {
    let l = UnLocode::antwerp();
    let validate = ns_per_op(iters, |i| {
        let v = w.validate_truck_pickup(l, "AP1000001", hot(i % HOT), &[], None);
        assert!(v.is_valid, "{:?}", v.error_messages);
        black_box(v);
    });
    let me = id(w, "trucker2");
    let by_equipment: Vec<NotificationQuery> = (0..5)
        .map(|i| NotificationQuery {
            equipment: Some(active(i)),
            ..Default::default()
        })
        .collect();
    let notif_equipment = ns_per_op(iters, |i| {
        let found = w
            .query_notifications(&me, &by_equipment[i as usize % 5])
            .expect("notifications");
        black_box(found.len());
    });
    let by_event = NotificationQuery {
        event: Some(NotificationEvent::Release),
        ..Default::default()
    };
    let notif_event = ns_per_op(iters, |_| {
        let found = w
            .query_notifications(&me, &by_event)
            .expect("notifications");
        assert_eq!(found.len(), 5);
        black_box(found.len());
    });
    // `trucker` receives notifications on every stay of the world: its queries by container
    // and by reference must not grow with it.
    let busy = id(w, "trucker");
    let hot_queries: Vec<NotificationQuery> = (0..HOT)
        .map(|i| NotificationQuery {
            equipment: Some(hot(i)),
            ..Default::default()
        })
        .collect();
    let busy_equipment = ns_per_op(iters, |i| {
        let found = w
            .query_notifications(&busy, &hot_queries[(i % HOT) as usize])
            .expect("notifications");
        black_box(found.len());
    });
    let references: Vec<NotificationQuery> = hot_queries
        .iter()
        .map(|q| {
            let n = w
                .query_notifications(&busy, q)
                .expect("notifications")
                .first()
                .map(|n| n.public_reference_id)
                .expect("one");
            NotificationQuery {
                public_reference_id: Some(n),
                ..Default::default()
            }
        })
        .collect();
    let busy_reference = ns_per_op(iters, |i| {
        let found = w
            .query_notifications(&busy, &references[(i % HOT) as usize])
            .expect("notifications");
        black_box(found.len());
    });
    Figures {
        validate,
        notif_equipment,
        notif_event,
        busy_equipment,
        busy_reference,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let stays: u32 = args
        .iter()
        .position(|a| a == "--stays")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 10_000 });
    let iters: u32 = if full { 200_000 } else { 2_000 };

    let small = build(1_000);
    let rss_before = status_kib("VmRSS:");
    let start = Instant::now();
    let large = build(stays);
    let load = start.elapsed();
    let rss_after = status_kib("VmRSS:");
    let commands = (u64::from(stays) * 7 + u64::from(HOT + 5) * 6) as f64;
    println!(
        "built {} stays through apply ({} notifications) in {:.1} s ({:.2} us/command): \
         VmHWM {:.1} MiB (process peak), VmRSS +{:.1} MiB ({:.0} B/stay)",
        large.stay_count(),
        large.notifications().len(),
        load.as_secs_f64(),
        load.as_secs_f64() * 1e6 / commands,
        mib(status_kib("VmHWM:")),
        mib(rss_after.saturating_sub(rss_before)),
        rss_after.saturating_sub(rss_before) as f64 * 1024.0
            / f64::from(stays.saturating_add(HOT + 5).max(1)),
    );
    let (mut a, mut b) = (measure(&small, iters), measure(&large, iters));
    for _ in 1..ROUNDS {
        a = a.best(measure(&small, iters));
        b = b.best(measure(&large, iters));
    }
    println!(
        "{:<50} {:>10} {:>10} {:>7}",
        "operation (ns/op)",
        small.stay_count(),
        large.stay_count(),
        "ratio"
    );
    for (what, x, y) in [
        ("truck pickup validation", a.validate, b.validate),
        (
            "notifications of trucker2 by equipmentNumber",
            a.notif_equipment,
            b.notif_equipment,
        ),
        (
            "notifications of trucker2 by event",
            a.notif_event,
            b.notif_event,
        ),
        (
            "notifications of trucker (every stay) by equipment",
            a.busy_equipment,
            b.busy_equipment,
        ),
        (
            "notifications of trucker by publicReferenceId",
            a.busy_reference,
            b.busy_reference,
        ),
    ] {
        println!("{what:<50} {x:>10.0} {y:>10.0} {:>7.2}", y / x);
    }
    // Cold: random containers of the whole large world.
    let l = UnLocode::antwerp();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let (mut cold, mut cold_small) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..ROUNDS {
        cold_small = cold_small.min(ns_per_op(iters, |i| {
            let e = bulk((u64::from(i).wrapping_mul(7919) % 1_000) as u32);
            black_box(small.validate_truck_pickup(l, "AP1000001", e, &[], None));
        }));
        cold = cold.min(ns_per_op(iters, |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let e = bulk((x % u64::from(stays.max(1))) as u32);
            black_box(large.validate_truck_pickup(l, "AP1000001", e, &[], None));
        }));
    }
    println!(
        "{:<50} {:>10.0} {:>10.0} {:>7.2}",
        "truck pickup validation, random container",
        cold_small,
        cold,
        cold / cold_small
    );
    if full {
        // The goal, checked where the figure is made.
        let peak = mib(status_kib("VmHWM:"));
        println!(
            "peak resident memory {peak:.0} MiB: {}",
            if peak < 2048.0 {
                "under 2 GiB"
            } else {
                "OVER 2 GiB"
            }
        );
    }
}

//! World scale: resident memory of a world with 1,000,000 container stays, and the latency of a
//! truck pickup validation and of a notification query in a 1,000-stay world vs that world.
//!
//! Run (release, prints the figures):
//!     cargo bench -p cpu-simulator --bench world_scale
//! `-- --stays N` changes the large world's size. Without `--bench` (e.g. `cargo test
//! --benches`) it runs a quick smoke version (10,000 stays, few iterations).
//!
//! Both worlds get the same real commands (through `World::apply`) on five containers for the
//! truck operator `trucker2`, so it has notifications on a few containers; the other stays come
//! from `World::preload` (released, no notifications). The validation cycles over the same
//! 1,000 preloaded containers in both worlds; a third figure validates random containers of the
//! whole large world (cold caches).
//!
//! Measured (release build, 2-core VM): 1,000,005 stays loaded in 1.9 s, VmRSS 848 MiB
//! (885 B/stay). ns/op 1,000 vs 1,000,000 stays: validation 210 vs 289 (1.38), notifications by
//! equipmentNumber 168 vs 169 (1.01), by event 186 vs 192 (1.03); validation of a random
//! container 429 vs 1221 (2.84: cache and TLB misses in an 850 MiB heap, not more work: every
//! query is a hash lookup or reads a per-receiver index).

use std::hint::black_box;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use cpu_simulator::stay::{ReleaseRight, Stay};
use cpu_simulator::*;

fn rss_kib(field: &str) -> u64 {
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
    w.parties()
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.nxt_entity_id.clone())
        .expect("default world party")
}

fn preloaded(i: u32) -> EquipmentNumber {
    // 1,000,000 serials per owner prefix: spread over several prefixes.
    const OWNERS: [&str; 10] = [
        "AAAU", "BBBU", "CCCU", "DDDU", "EEEU", "FFFU", "GGGU", "HHHU", "IIIU", "JJJU",
    ];
    EquipmentNumber::from_serial(OWNERS[(i / 1_000_000) as usize % 10], i % 1_000_000)
        .expect("valid serial")
}

fn active(i: u32) -> EquipmentNumber {
    EquipmentNumber::from_serial("ACTU", i).expect("valid serial")
}

/// A world with `n` preloaded stays and five containers moved by real commands.
fn build(n: u32) -> World {
    let mut w = World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Frozen(Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()),
    )
    .expect("default world");
    let template = PreloadStay {
        terminal_code: TerminalCode::parse("869").expect("code"),
        shipping_agent: id(&w, "agent"),
        holder: Some(id(&w, "trucker")),
        alfapass: Some(AlfapassNumber::parse("AP1000001").expect("alfapass")),
        bill_of_lading_numbers: vec!["BL1".to_owned()],
    };
    w.preload(UnLocode::antwerp(), &template, (0..n).map(preloaded))
        .expect("preload");
    let trucker2 = id(&w, "trucker2");
    for i in 0..5 {
        let e = active(i);
        let mut act = |who: &str, action: Action| {
            let caller = id(&w, who);
            w.apply(Command::Act {
                caller,
                locode: UnLocode::antwerp(),
                equipment: e,
                external_reference_id: None,
                action: Box::new(action),
            })
            .expect("lifecycle command");
        };
        let mut release = ReleaseRightCommand::new(ReleaseAction::Release);
        release.terminal_code = Some(TerminalCode::parse("869").expect("code"));
        release.release_to = Some(Identification {
            identification_type: IdentificationType::NxtEntityId,
            identification_code: trucker2.as_str().to_owned(),
        });
        act("agent", Action::ReleaseRight(release));
        act(
            "trucker2",
            Action::ReleaseRight(ReleaseRightCommand::new(ReleaseAction::Accept)),
        );
        act(
            "trucker2",
            Action::PickupRight {
                action: PickupAction::Assign,
                selector: RightSelector::default(),
                target: Some(PickupTarget::Truck(
                    AlfapassNumber::parse("AP2000001").expect("alfapass"),
                )),
            },
        );
        act("customs", Action::SetCustoms(CustomsValue::Released));
    }
    w
}

/// Nanoseconds per call of `f`, best of three rounds of `iters` calls.
fn ns_per_op(iters: u32, mut f: impl FnMut(u32)) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        for i in 0..iters {
            f(i);
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    best
}

struct Figures {
    validate: f64,
    notif_equipment: f64,
    notif_event: f64,
}

fn measure(w: &World, iters: u32) -> Figures {
    let l = UnLocode::antwerp();
    let hot: Vec<EquipmentNumber> = (0..1_000).map(preloaded).collect();
    let validate = ns_per_op(iters, |i| {
        let v = w.validate_truck_pickup(l, "AP1000001", hot[i as usize % hot.len()], &[], None);
        assert!(v.is_valid);
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
    Figures {
        validate,
        notif_equipment,
        notif_event,
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

    println!(
        "sizes: Stay {} B, ReleaseRight {} B, (StayKey, Stay) {} B",
        std::mem::size_of::<Stay>(),
        std::mem::size_of::<ReleaseRight>(),
        std::mem::size_of::<((UnLocode, EquipmentNumber), Stay)>()
    );
    let small = build(1_000);
    let rss_before = rss_kib("VmRSS:");
    let start = Instant::now();
    let large = build(stays);
    let load = start.elapsed();
    let rss_after = rss_kib("VmRSS:");
    println!(
        "loaded {} stays in {:.2} s: VmRSS {:.1} MiB (+{:.1} MiB, {:.0} B/stay), VmHWM {:.1} MiB",
        large.stay_count(),
        load.as_secs_f64(),
        mib(rss_after),
        mib(rss_after.saturating_sub(rss_before)),
        rss_after.saturating_sub(rss_before) as f64 * 1024.0 / f64::from(stays.max(1)),
        mib(rss_kib("VmHWM:")),
    );
    let a = measure(&small, iters);
    let b = measure(&large, iters);
    println!(
        "{:<44} {:>12} {:>12} {:>7}",
        "operation (ns/op)", "1,000", stays, "ratio"
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
    ] {
        println!("{what:<44} {x:>12.0} {y:>12.0} {:>7.2}", y / x);
    }
    // Cold: random containers of the whole large world.
    let l = UnLocode::antwerp();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let cold = ns_per_op(iters, |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let e = preloaded((x % u64::from(stays)) as u32);
        black_box(large.validate_truck_pickup(l, "AP1000001", e, &[], None));
    });
    let cold_small = ns_per_op(iters, |i| {
        let e = preloaded((u64::from(i).wrapping_mul(7919) % 1_000) as u32);
        black_box(small.validate_truck_pickup(l, "AP1000001", e, &[], None));
    });
    println!(
        "{:<44} {:>12.0} {:>12.0} {:>7.2}",
        "truck pickup validation, random container",
        cold_small,
        cold,
        cold / cold_small
    );
}

//! Property tests: random command sequences (every `Action` variant, every party, a few
//! containers, large clock jumps) applied to a world on a frozen clock, with the world's
//! invariants checked after every step.
//!
//! The invariants are recomputed here from first principles (the light colour table of the seed
//! and the status rule), not by calling the code under test, so a regression in `Lights::status`
//! or in the colour table is caught. Case counts are bounded so the suite stays fast in debug.

use proptest::prelude::*;

use cpu_simulator::*;

#[path = "../common/mod.rs"]
mod common;

mod coverage;
mod invariants;
mod model;
mod regressions;
mod strategies;

use strategies::sequence;

// ----- the world under test -----

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

/// The entity id of party `KEYS[i]`, or one no world knows for `UNKNOWN`.
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

/// The containers the sequences act on.
fn containers() -> [EquipmentNumber; 3] {
    [
        EquipmentNumber::parse("MSCU1234566").unwrap(),
        EquipmentNumber::parse("CSQU3054383").unwrap(),
        EquipmentNumber::from_serial("SIMU", 7).unwrap(),
    ]
}

/// Cases per run: about 20 s in debug on the 2-core CI machine.
const CASES: u32 = 192;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_over_random_commands(commands in sequence()) {
        invariants::run(commands)?;
    }
}

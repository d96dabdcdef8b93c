//! Helpers the simulator's integration test crates share: the default world on a frozen clock,
//! its parties by fixture key, and the commands most tests send. Each test crate includes this
//! module (`mod common;`, or `#[path = "../common/mod.rs"] mod common;` from a directory crate).

// Each test crate compiles its own copy and uses only some of these helpers.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};

use cpu_simulator::*;

/// The instant every test world starts at and stays at: 2026-11-22T08:00:00Z.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
}

/// The default world (`Fixture::default_world`), its clock frozen at [`t0`].
pub fn world() -> World {
    World::new(
        Fixture::default_world(),
        WorldConfig::default(),
        Clock::Frozen(t0()),
    )
    .unwrap()
}

/// The entity id of the party with fixture key `key` (`psa`, `agent`, ...); panics if the world
/// has no such party.
pub fn id(w: &World, key: &str) -> NxtEntityId {
    w.party_by_key(key)
        .unwrap_or_else(|| panic!("no party '{key}' in the world"))
        .nxt_entity_id
        .clone()
}

/// The container of the single-container tests, MSCU1234566.
pub fn eq() -> EquipmentNumber {
    EquipmentNumber::parse("MSCU1234566").unwrap()
}

/// The party with fixture key `who` acts on `equipment` at Antwerp, with the caller's
/// `External-Reference-Id` if given.
pub fn act_as(
    w: &mut World,
    who: &str,
    equipment: EquipmentNumber,
    external_reference_id: Option<&str>,
    action: Action,
) -> Result<Outcome, SimError> {
    let caller = id(w, who);
    w.apply(Command::Act {
        caller,
        locode: UnLocode::antwerp(),
        equipment,
        external_reference_id: external_reference_id.map(Into::into),
        action: Box::new(action),
    })
}

/// A terminal event of terminal `code`, occurred at [`t0`], with no other field set.
pub fn terminal(action: TerminalAction, code: &str) -> Action {
    Action::Terminal(TerminalEventCommand {
        action,
        terminal_code: TerminalCode::parse(code).unwrap(),
        occurred_at: t0(),
        import: false,
        full_empty: None,
        mode_of_transport: None,
        bill_of_lading_numbers: vec![],
        stay_number: None,
    })
}

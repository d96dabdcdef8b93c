//! The synchronous queries against every row of the seed's tables
//! (`cpu-terminal-operator-spec.txt`): truck pickup validation (v1), barge/rail pickup validation
//! (v2), validate Alfapass, validate truck release right (ownership), company registry and the
//! notification service. The worlds are built through `World::apply` only, as the parties would.

#[path = "../common/mod.rs"]
mod common;

mod alfapass;
mod barge_rail;
mod fixture;
mod notifications;
mod ownership;
mod registry;
mod truck;

//! What both sides of a terminal connection speak: the simulator's terminal emulations
//! (`crate::simulate::terminals`) and the Data Sources adapters (`crate::sources`).
//!
//! Neither side owns this module, so neither has to import the other: the emulations live with
//! the simulator, the adapters with Data Sources, and both read and write the same vocabulary.
//!
//! - [`event`]: the normalized container event (kinds, time kinds, documents) and its dedup key.
//! - [`edifact`]: the UN/EDIFACT COARRI/CODECO reader and writer.
//! - [`codes`]: each terminal's event codes, one table per terminal read both ways.
//! - [`tmining`]: T-Mining's webhook signature (the emulation signs, the intake verifies).
//!
//! ISO 6346 container numbers are parsed by the simulator core's `EquipmentNumber`, the one
//! implementation ([`event::parse_equipment_number`]).

pub mod codes;
pub mod edifact;
pub mod event;
pub mod tmining;

// Removed at merge: the `Terminal` catalogue moves to `crate::connection` (the `layers` helper);
// this re-export then points there and the `terminals -> sources` edge goes away.
pub use crate::sources::catalogue::Terminal;

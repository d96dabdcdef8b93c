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
//! - [`Terminal`]: the six terminals by name (their forms and labels are Data Sources'
//!   catalogue, `crate::sources::catalogue`).
//!
//! ISO 6346 container numbers are parsed by the simulator core's `EquipmentNumber`, the one
//! implementation ([`event::parse_equipment_number`]).

pub mod codes;
pub mod edifact;
pub mod event;
pub mod tmining;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One of the six supported terminals. The wire name (`psa`, `dpworld`, ...) is the `{terminal}`
/// path segment of the API and of the emulations.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Terminal {
    Psa,
    Dpworld,
    Mpet,
    Tmining,
    Ect,
    Nxtport,
}

impl Terminal {
    /// All terminals in catalogue order.
    pub const ALL: [Terminal; 6] = [
        Terminal::Psa,
        Terminal::Dpworld,
        Terminal::Mpet,
        Terminal::Tmining,
        Terminal::Ect,
        Terminal::Nxtport,
    ];

    /// Parse the wire name (`psa`, `dpworld`, ...). Case-insensitive, surrounding space ignored.
    pub fn parse(s: &str) -> Option<Terminal> {
        let s = s.trim();
        Terminal::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Psa => "psa",
            Terminal::Dpworld => "dpworld",
            Terminal::Mpet => "mpet",
            Terminal::Tmining => "tmining",
            Terminal::Ect => "ect",
            Terminal::Nxtport => "nxtport",
        }
    }
}

impl std::fmt::Display for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Data Sources: entity-level connections to six terminals, their emulations, adapters and sync.
//!
//! - [`catalogue`]: the six terminals as pure data (region, auth type, form fields).
//! - [`model`]: the normalized container event and its dedup key.
//! - [`emulate`]: offline emulations of the terminal APIs, mounted by the simulator.
//! - [`adapters`]: one HTTP adapter per terminal behind one trait.

pub mod adapters;
pub mod catalogue;
pub mod emulate;
pub mod model;

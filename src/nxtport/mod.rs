//! The NxtPort CPu contract, used on both sides of the wire.
//!
//! - [`types`]: request/response bodies (serde + utoipa), shared by the simulator's HTTP face
//!   and the gateway's client so they cannot drift.
//! - [`enums`]: NxtPort enums that accept their int value or their name ([`wire_enum`]).
//! - [`paths`]: route patterns, path builders and header names.

pub mod enums;
pub mod paths;
pub mod types;
pub mod wire_enum;

pub use paths::{EXTERNAL_REFERENCE_ID, SUBSCRIPTION_KEY_HEADER, SUBSCRIPTION_KEY_QUERY};
pub use types::*;

#[cfg(test)]
mod tests;

//! Gateway-side newtypes parsed at the edge. The CPu identifiers (ISO 6346 equipment numbers,
//! UN/LOCODEs, terminal codes, Alfapass numbers, NxtEntityIds) come from the simulator core
//! crate, so both faces validate them the same way.

pub use crate::api::query::UtcTimestamp;
pub use cpu_simulator::{AlfapassNumber, EquipmentNumber, NxtEntityId, TerminalCode, UnLocode};

crate::connection::text_type!(
    /// A vessel stay number (Port Authority).
    StayNumber, "stay number", 35, |c| c.is_ascii_alphanumeric() || c == '-' || c == '/'
);
crate::connection::text_type!(
    /// A bill of lading number.
    BillOfLading, "bill of lading number", 35, |c| c.is_ascii_alphanumeric() || c == '-' || c == '/'
);
crate::connection::text_type!(
    /// A free reference (release identification, party identification code).
    Reference, "reference", 100, |c| !c.is_control()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_texts() {
        assert_eq!(
            StayNumber::parse(" 2024-001 ").map(|s| s.as_str().to_owned()),
            Ok("2024-001".to_owned())
        );
        assert!(StayNumber::parse("").is_err());
        assert!(BillOfLading::parse(&"X".repeat(36)).is_err());
    }
}

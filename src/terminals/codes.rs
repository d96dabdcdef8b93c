//! Each emulated terminal's event codes: one table per terminal, read one way by the emulation
//! (kind -> code) and the other way by the Data Sources adapter (code -> kind), so the two cannot
//! disagree.

use super::event::EventKind;

/// The movement codes of one terminal's feed.
#[derive(Debug, Clone, Copy)]
pub struct Codes {
    /// The eight movement kinds and the terminal's code for each.
    movements: [(EventKind, &'static str); 8],
    /// What the feed writes for any other kind (the adapters skip it).
    status: &'static str,
}

impl Codes {
    /// The terminal's code of `kind`. The generated feeds hold only the eight movement kinds;
    /// the release statuses come from other channels (CPu, T-Mining, MPET lights) and get the
    /// terminal's generic status code.
    pub fn code(&self, kind: EventKind) -> &'static str {
        self.movements
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(self.status, |(_, c)| c)
    }

    /// The movement kind of a code, `None` for a code that is not a movement.
    pub fn kind(&self, code: &str) -> Option<EventKind> {
        self.movements
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(k, _)| *k)
    }
}

/// PSA E-Portal: upper-case words.
pub const PSA: Codes = Codes {
    movements: [
        (EventKind::VesselArrival, "VESSEL_ARRIVAL"),
        (EventKind::Discharge, "DISCHARGE"),
        (EventKind::GateIn, "GATE_IN"),
        (EventKind::GateOut, "GATE_OUT"),
        (EventKind::Load, "LOAD"),
        (EventKind::VesselDeparture, "VESSEL_DEPARTURE"),
        (EventKind::CustomsStatus, "CUSTOMS"),
        (EventKind::YardLocation, "YARD_MOVE"),
    ],
    status: "STATUS",
};

/// DP World E-Portal: two-letter movement codes.
pub const DPWORLD: Codes = Codes {
    movements: [
        (EventKind::VesselArrival, "VA"),
        (EventKind::Discharge, "DI"),
        (EventKind::GateIn, "GI"),
        (EventKind::GateOut, "GO"),
        (EventKind::Load, "LO"),
        (EventKind::VesselDeparture, "VD"),
        (EventKind::CustomsStatus, "CS"),
        (EventKind::YardLocation, "YM"),
    ],
    status: "ST",
};

/// MPET Connect: lower-case words.
pub const MPET: Codes = Codes {
    movements: [
        (EventKind::VesselArrival, "vessel-arrived"),
        (EventKind::Discharge, "discharged"),
        (EventKind::GateIn, "gate-in"),
        (EventKind::GateOut, "gate-out"),
        (EventKind::Load, "loaded"),
        (EventKind::VesselDeparture, "vessel-departed"),
        (EventKind::CustomsStatus, "customs"),
        (EventKind::YardLocation, "yard-move"),
    ],
    status: "status",
};

/// ECT MyTerminal: four-letter codes.
pub const ECT: Codes = Codes {
    movements: [
        (EventKind::VesselArrival, "ARRI"),
        (EventKind::Discharge, "DISC"),
        (EventKind::GateIn, "GTIN"),
        (EventKind::GateOut, "GTOT"),
        (EventKind::Load, "LOAD"),
        (EventKind::VesselDeparture, "DEPA"),
        (EventKind::CustomsStatus, "CUST"),
        (EventKind::YardLocation, "YARD"),
    ],
    status: "STAT",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_reads_back_and_skips_its_status_code() {
        for t in [PSA, DPWORLD, MPET, ECT] {
            for k in EventKind::ALL {
                let code = t.code(k);
                match t.kind(code) {
                    Some(back) => assert_eq!(back, k),
                    None => assert_eq!(code, t.status),
                }
            }
            assert_eq!(t.kind(t.status), None);
        }
    }
}

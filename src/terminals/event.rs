//! The normalized container event every adapter maps to, and its stable dedup key.
//!
//! Terminals speak different vocabularies (EDI-like codes, T-Mining release events, CPu light
//! notifications); the timeline speaks one. The dedup key depends only on what the terminal said
//! (source, its event id, container, kind, time), so fetching the same page twice stores nothing new.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use cpu_simulator::ids::EquipmentNumber;

use super::Terminal;

/// What happened to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    VesselArrival,
    Discharge,
    GateIn,
    GateOut,
    Load,
    VesselDeparture,
    CustomsStatus,
    YardLocation,
    /// Customs progress light (e.g. PARTIALLYCLEARED).
    CustomsProgress,
    /// Commercial release by the shipping agent (status: the light value, e.g. OK, BLOCKED, EXPIRED).
    CommercialRelease,
    /// Terminal release (status: e.g. RELEASED, BLOCKED, SCANNING).
    TerminalRelease,
    /// The release or the container is blocked (status: BLOCKED) or unblocked (UNBLOCKED).
    Blocked,
    /// Every light allows the pick-up (status: the overall value, e.g. GREEN, YELLOW, RED).
    PickupReady,
    /// Release-right bookkeeping (status: the action, e.g. TRANSFERRED, ACCEPTED, REVOKED).
    ReleaseRight,
    /// A terminal document was received (see the event's `documents`).
    Document,
    /// Assignment of a pick-up party / truck slot (MPET "assignment" light).
    Assignment,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::VesselArrival,
        EventKind::Discharge,
        EventKind::GateIn,
        EventKind::GateOut,
        EventKind::Load,
        EventKind::VesselDeparture,
        EventKind::CustomsStatus,
        EventKind::YardLocation,
        EventKind::CustomsProgress,
        EventKind::CommercialRelease,
        EventKind::TerminalRelease,
        EventKind::Blocked,
        EventKind::PickupReady,
        EventKind::ReleaseRight,
        EventKind::Document,
        EventKind::Assignment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::VesselArrival => "vessel_arrival",
            EventKind::Discharge => "discharge",
            EventKind::GateIn => "gate_in",
            EventKind::GateOut => "gate_out",
            EventKind::Load => "load",
            EventKind::VesselDeparture => "vessel_departure",
            EventKind::CustomsStatus => "customs_status",
            EventKind::YardLocation => "yard_location",
            EventKind::CustomsProgress => "customs_progress",
            EventKind::CommercialRelease => "commercial_release",
            EventKind::TerminalRelease => "terminal_release",
            EventKind::Blocked => "blocked",
            EventKind::PickupReady => "pickup_ready",
            EventKind::ReleaseRight => "release_right",
            EventKind::Document => "document",
            EventKind::Assignment => "assignment",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Whether the time of an event is when it happened, when it is expected, or when we saw a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeKind {
    /// The terminal says it happened then.
    #[default]
    Actual,
    /// Expected time (ETA, ETD, planned pick-up).
    Estimated,
    /// A state read from the terminal without a time of its own (T-Mining release object, MPET
    /// status lights): the time is when the gateway first saw it, and the dedup key leaves it out,
    /// so the same state read again is stored once.
    Observed,
}

impl TimeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeKind::Actual => "actual",
            TimeKind::Estimated => "estimated",
            TimeKind::Observed => "observed",
        }
    }
    pub fn parse(s: &str) -> Option<TimeKind> {
        [TimeKind::Actual, TimeKind::Estimated, TimeKind::Observed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Full or empty container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FullEmpty {
    Full,
    Empty,
}

impl FullEmpty {
    pub fn as_str(self) -> &'static str {
        match self {
            FullEmpty::Full => "full",
            FullEmpty::Empty => "empty",
        }
    }
    pub fn parse(s: &str) -> Option<FullEmpty> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" | "f" | "5" => Some(FullEmpty::Full),
            // T-Mining: "empty with residue" is still empty for the timeline
            "empty" | "e" | "4" | "empty with residue" => Some(FullEmpty::Empty),
            _ => None,
        }
    }
}

/// Kind of a terminal document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    BillOfLading,
    /// Room for customs forms (declaration numbers); no source sends them yet.
    CustomsForm,
}

/// A document reference carried by an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub kind: DocumentKind,
    pub number: String,
}

impl Document {
    pub fn bill_of_lading(number: impl Into<String>) -> Self {
        Document {
            kind: DocumentKind::BillOfLading,
            number: number.into(),
        }
    }
}

/// One container event in the common model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    pub source: Terminal,
    /// The terminal's own id of the event (or a derived one when it has none).
    pub source_event_id: String,
    pub equipment_number: String,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    /// Actual, estimated or observed time.
    pub time_kind: TimeKind,
    /// Position in the yard (block-row-tier, or the terminal's own notation).
    pub yard_position: Option<String>,
    /// Quay / terminal code (e.g. 869, 1700, K1742).
    pub quay: Option<String>,
    pub vessel: Option<String>,
    /// The value of the status the kind names (customs status, light value, release action).
    pub status: Option<String>,
    pub full_empty: Option<FullEmpty>,
    /// Bills of lading (and, later, customs forms) the event refers to.
    pub documents: Vec<Document>,
}

impl NormalizedEvent {
    /// An event with only the required parts; set the others with struct update syntax.
    pub fn new(
        source: Terminal,
        source_event_id: impl Into<String>,
        equipment_number: impl Into<String>,
        kind: EventKind,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        NormalizedEvent {
            source,
            source_event_id: source_event_id.into(),
            equipment_number: equipment_number.into(),
            kind,
            occurred_at,
            time_kind: TimeKind::Actual,
            yard_position: None,
            quay: None,
            vessel: None,
            status: None,
            full_empty: None,
            documents: Vec::new(),
        }
    }

    /// The single location column of older rows: yard position, else quay.
    pub fn location(&self) -> Option<&str> {
        self.yard_position.as_deref().or(self.quay.as_deref())
    }

    /// Stable key: the same terminal event always gives the same key. It starts with the event
    /// time (hex milliseconds) so that a feed read in time order inserts near the end of the
    /// unique index instead of at random pages (bulk syncs stay linear); the rest is a hash.
    /// An observed state has no time of its own: its key leaves the time out (prefix zero), so
    /// reading the same state again stores nothing new.
    pub fn dedup_key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.source.as_str(),
            self.source_event_id.as_str(),
            self.equipment_number.as_str(),
            self.kind.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        let ms = match self.time_kind {
            TimeKind::Observed => 0,
            TimeKind::Actual | TimeKind::Estimated => self.occurred_at.timestamp_millis(),
        };
        if self.time_kind == TimeKind::Estimated {
            h.update(b"estimated\0");
        }
        h.update(ms.to_be_bytes());
        format!("{:012x}{}", ms.max(0), hex::encode(&h.finalize()[..10]))
    }
}

/// Parse an ISO 6346 container number with the simulator core's [`EquipmentNumber`] (the one
/// implementation): trimmed, upper-cased, category U, J or Z, check digit verified.
pub fn parse_equipment_number(s: &str) -> Option<String> {
    EquipmentNumber::parse(s)
        .ok()
        .map(|e| e.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_known_containers() {
        assert_eq!(
            parse_equipment_number("CSQU3054383").as_deref(),
            Some("CSQU3054383")
        );
        assert_eq!(
            parse_equipment_number(" msku6011672 ").as_deref(),
            Some("MSKU6011672")
        );
        assert_eq!(parse_equipment_number("CSQU3054384"), None);
        assert_eq!(parse_equipment_number("CSQU305438"), None);
        assert_eq!(parse_equipment_number("1SQU3054383"), None);
        // ISO 6346 category letters are U, J and Z only (CSQX has the same check digit rule).
        assert_eq!(parse_equipment_number("CSQX3054383"), None);
    }

    #[test]
    fn dedup_key_is_stable_and_discriminating() {
        let e = NormalizedEvent::new(
            Terminal::Psa,
            "1",
            "CSQU3054383",
            EventKind::Discharge,
            DateTime::from_timestamp(1_700_000_000, 0).expect("ts"),
        );
        let mut other = e.clone();
        other.quay = Some("869".into());
        assert_eq!(e.dedup_key(), other.dedup_key());
        other.kind = EventKind::GateOut;
        assert_ne!(e.dedup_key(), other.dedup_key());
        assert_eq!(e.dedup_key().len(), 32);
        // An estimate and the actual time are two events.
        let mut eta = e.clone();
        eta.time_kind = TimeKind::Estimated;
        assert_ne!(e.dedup_key(), eta.dedup_key());
        // An observed state read at two times is one event.
        let mut seen = e.clone();
        seen.time_kind = TimeKind::Observed;
        let mut later = seen.clone();
        later.occurred_at = DateTime::from_timestamp(1_800_000_000, 0).expect("ts");
        assert_eq!(seen.dedup_key(), later.dedup_key());
        assert_eq!(seen.dedup_key().len(), 32);
    }
}

//! The normalized container event every adapter maps to, and its stable dedup key.
//!
//! Terminals speak different vocabularies (EDI-like codes, T-Mining release events, CPu light
//! notifications); the timeline speaks one. The dedup key depends only on what the terminal said
//! (source, its event id, container, kind, time), so fetching the same page twice stores nothing new.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::catalogue::Terminal;

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
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::VesselArrival,
        EventKind::Discharge,
        EventKind::GateIn,
        EventKind::GateOut,
        EventKind::Load,
        EventKind::VesselDeparture,
        EventKind::CustomsStatus,
        EventKind::YardLocation,
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
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
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
    /// Terminal code, quay or yard position.
    pub location: Option<String>,
    pub vessel: Option<String>,
    /// Customs status or light value, when the event carries one.
    pub status: Option<String>,
}

impl NormalizedEvent {
    /// Stable key: the same terminal event always gives the same key. It starts with the event
    /// time (hex milliseconds) so that a feed read in time order inserts near the end of the
    /// unique index instead of at random pages (bulk syncs stay linear); the rest is a hash.
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
        let ms = self.occurred_at.timestamp_millis();
        h.update(ms.to_be_bytes());
        format!("{:012x}{}", ms.max(0), hex::encode(&h.finalize()[..10]))
    }
}

/// ISO 6346 check digit of the first ten characters (owner code, category, serial).
pub fn iso6346_check_digit(first10: &str) -> Option<u32> {
    let b = first10.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, &c) in b.iter().enumerate() {
        let v = match c {
            b'A'..=b'Z' if i < 4 => letter_value(c),
            b'0'..=b'9' if i >= 4 => u32::from(c - b'0'),
            _ => return None,
        };
        sum += v << i;
    }
    Some(sum % 11 % 10)
}

fn letter_value(c: u8) -> u32 {
    // A=10, skipping multiples of 11 (11, 22, 33).
    let mut v = 10;
    let mut l = b'A';
    while l < c {
        v += 1;
        if v % 11 == 0 {
            v += 1;
        }
        l += 1;
    }
    v
}

/// Parse an ISO 6346 container number: trimmed, upper-cased, check digit verified.
pub fn parse_equipment_number(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_uppercase();
    if s.len() != 11 || !s.is_ascii() {
        return None;
    }
    let check = s.as_bytes()[10];
    let digit = iso6346_check_digit(&s[..10])?;
    (check.is_ascii_digit() && u32::from(check - b'0') == digit).then_some(s)
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
    }

    #[test]
    fn dedup_key_is_stable_and_discriminating() {
        let e = NormalizedEvent {
            source: Terminal::Psa,
            source_event_id: "1".into(),
            equipment_number: "CSQU3054383".into(),
            kind: EventKind::Discharge,
            occurred_at: DateTime::from_timestamp(1_700_000_000, 0).expect("ts"),
            location: None,
            vessel: None,
            status: None,
        };
        let mut other = e.clone();
        other.location = Some("869".into());
        assert_eq!(e.dedup_key(), other.dedup_key());
        other.kind = EventKind::GateOut;
        assert_ne!(e.dedup_key(), other.dedup_key());
        assert_eq!(e.dedup_key().len(), 32);
    }
}

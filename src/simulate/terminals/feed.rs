//! Deterministic, lazily generated container events: the data behind every emulated terminal feed.
//!
//! An account's feed is the sequence `event(terminal, seed, 0..count)`. Nothing is stored: event
//! `i` is computed from `(terminal, seed, i)` when a page asks for it, so a feed of 100,000 or
//! 10,000,000 events costs the same memory. Event `i` belongs to container slot `i / STEPS`; the
//! container number comes from `(seed, slot)` (two accounts with the same seed share containers,
//! which is how a merged timeline across terminals is demonstrated) and the container's events come
//! from `(terminal, container number)` alone, so the same container always gives the same events.

use chrono::{DateTime, Duration, Utc};

use crate::terminals::Terminal;
use cpu_simulator::ids::EquipmentNumber;

use crate::terminals::event::EventKind;

/// Events per container slot.
pub const STEPS: u64 = 6;

const IMPORT: [EventKind; 6] = [
    EventKind::VesselArrival,
    EventKind::Discharge,
    EventKind::YardLocation,
    EventKind::CustomsStatus,
    EventKind::YardLocation,
    EventKind::GateOut,
];
const EXPORT: [EventKind; 6] = [
    EventKind::GateIn,
    EventKind::YardLocation,
    EventKind::CustomsStatus,
    EventKind::YardLocation,
    EventKind::Load,
    EventKind::VesselDeparture,
];
const VESSELS: [&str; 6] = [
    "MSC ISABELLA",
    "MAERSK ESSEN",
    "CMA CGM JACQUES SAADE",
    "EVER GIVEN",
    "ONE APUS",
    "HMM ALGECIRAS",
];
const OWNERS: [&str; 8] = ["MSC", "MSK", "CMA", "EGH", "ONE", "HMM", "HLX", "COS"];

/// One generated event, before a terminal emulation renders it in its own vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Position in the account's feed (the cursor is the position after the last event read).
    pub index: u64,
    /// Stable id: a function of terminal, container and step only.
    pub id: String,
    pub equipment: String,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub vessel: &'static str,
    pub voyage: String,
    pub terminal_code: &'static str,
    pub yard_position: Option<String>,
    pub customs_status: Option<&'static str>,
}

/// SplitMix64 finaliser: a cheap, well-mixed, deterministic hash step.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn str_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The container number of slot `slot` of an account with seed `seed` (valid ISO 6346).
pub fn container(seed: u64, slot: u64) -> String {
    let h = mix(seed ^ mix(slot.wrapping_add(1)));
    let owner = OWNERS[(h % OWNERS.len() as u64) as usize];
    let serial = (h >> 8) % 1_000_000;
    let first10 = format!("{owner}U{serial:06}");
    // The simulator core's ISO 6346 check digit (the one implementation).
    let check = EquipmentNumber::check_digit(first10.as_bytes());
    format!("{first10}{check}")
}

/// The epoch of every feed (fixed so that feeds are reproducible).
fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default() // 2026-01-01T00:00:00Z
}

/// What a terminal knows about a container regardless of the account: a function of both names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub hash: u64,
    pub import: bool,
    pub terminal_code: &'static str,
    pub vessel: &'static str,
    pub voyage: String,
}

pub fn profile(terminal: Terminal, equipment: &str) -> Profile {
    let ch = mix(str_hash(equipment) ^ str_hash(terminal.as_str()));
    let import = ch & 1 == 0;
    let codes = terminal.info().terminal_codes;
    let terminal_code = if codes.is_empty() {
        "BEANR"
    } else {
        codes[((ch >> 1) % codes.len() as u64) as usize]
    };
    Profile {
        hash: ch,
        import,
        terminal_code,
        vessel: VESSELS[((ch >> 4) % VESSELS.len() as u64) as usize],
        voyage: format!("{:03}{}", (ch >> 8) % 1000, if import { 'N' } else { 'S' }),
    }
}

/// Event `index` of the feed of `(terminal, seed)`.
pub fn event(terminal: Terminal, seed: u64, index: u64) -> FeedEvent {
    let slot = index / STEPS;
    let step = (index % STEPS) as usize;
    let equipment = container(seed, slot);
    let Profile {
        hash: ch,
        import,
        terminal_code,
        vessel,
        voyage,
    } = profile(terminal, &equipment);
    let kind = if import { IMPORT[step] } else { EXPORT[step] };
    // Each container's life starts 7 minutes after the previous slot's; steps 2-4 h apart.
    let mut at = epoch() + Duration::minutes(7 * slot as i64);
    for s in 0..=step {
        if s > 0 {
            at += Duration::minutes(120 + (mix(ch ^ s as u64) % 120) as i64);
        }
    }
    let sh = mix(ch ^ (step as u64 + 17));
    let yard_position = (kind == EventKind::YardLocation).then(|| {
        format!(
            "{}{:02}-{:02}-{}",
            (b'A' + (sh % 8) as u8) as char,
            (sh >> 3) % 40,
            (sh >> 9) % 20,
            1 + (sh >> 14) % 5
        )
    });
    let customs_status = (kind == EventKind::CustomsStatus).then_some(match sh % 10 {
        0 => "SELECTEDFORSCAN",
        1 => "DOCUMENTARYCONTROL",
        _ => "RELEASED",
    });
    FeedEvent {
        index,
        id: format!("{:016x}", mix(ch ^ (step as u64 + 1))),
        equipment,
        kind,
        at,
        vessel,
        voyage,
        terminal_code,
        yard_position,
        customs_status,
    }
}

/// A page of the feed: events `since..min(since+limit, count)` and the next cursor.
pub fn page(
    terminal: Terminal,
    seed: u64,
    count: u64,
    since: u64,
    limit: u64,
) -> (Vec<FeedEvent>, u64) {
    let end = since.saturating_add(limit).min(count).max(since);
    (
        (since..end).map(|i| event(terminal, seed, i)).collect(),
        end,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminals::event::parse_equipment_number;

    #[test]
    fn deterministic_and_valid() {
        for i in 0..600 {
            let a = event(Terminal::Psa, 42, i);
            assert_eq!(a, event(Terminal::Psa, 42, i));
            assert!(
                parse_equipment_number(&a.equipment).is_some(),
                "{}",
                a.equipment
            );
        }
        // Same seed, other terminal: same containers, other ids.
        assert_eq!(
            event(Terminal::Psa, 42, 7).equipment,
            event(Terminal::Mpet, 42, 7).equipment
        );
        assert_ne!(
            event(Terminal::Psa, 42, 7).id,
            event(Terminal::Mpet, 42, 7).id
        );
        assert_ne!(container(1, 0), container(2, 0));
    }

    #[test]
    fn events_of_a_container_are_ordered_in_time() {
        for slot in 0..50 {
            let evs: Vec<_> = (0..STEPS)
                .map(|s| event(Terminal::Ect, 3, slot * STEPS + s))
                .collect();
            assert!(evs.windows(2).all(|w| w[0].at < w[1].at));
        }
    }

    #[test]
    fn paging_stops_at_the_end() {
        let (evs, next) = page(Terminal::Psa, 1, 10, 8, 5);
        assert_eq!(evs.len(), 2);
        assert_eq!(next, 10);
        let (evs, next) = page(Terminal::Psa, 1, 10, 12, 5);
        assert!(evs.is_empty());
        assert_eq!(next, 12);
    }
}

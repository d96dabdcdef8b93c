//! Gateway-side newtypes parsed at the edge. The CPu identifiers (ISO 6346 equipment numbers,
//! UN/LOCODEs, terminal codes, Alfapass numbers, NxtEntityIds) come from the simulator core
//! crate, so both faces validate them the same way.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use cpu_simulator::{AlfapassNumber, EquipmentNumber, NxtEntityId, TerminalCode, UnLocode};

/// A timestamp that must be given in UTC (`Z` or `+00:00`), RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcTimestamp(DateTime<Utc>);

impl UtcTimestamp {
    /// Parse; other offsets and naive times are refused so no one's local time slips through.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let not_rfc3339 =
            || format!("'{s}' is not an RFC 3339 timestamp, e.g. 2024-03-01T08:14:31.123Z");
        if !(s.len() > 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)) {
            return Err(not_rfc3339());
        }
        let parsed = DateTime::parse_from_rfc3339(s).map_err(|_| not_rfc3339())?;
        if parsed.offset().local_minus_utc() != 0 {
            return Err(format!("'{s}' must be in UTC (end with Z)"));
        }
        let at = parsed.with_timezone(&Utc);
        // Leap seconds and years outside 1970..=9999: the simulator core's rule.
        match cpu_simulator::time_problem(at) {
            Some(problem) => Err(format!("'{s}': {problem}")),
            None => Ok(Self(at)),
        }
    }

    /// The time.
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

impl Serialize for UtcTimestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> Deserialize<'de> for UtcTimestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct $name(String);

        impl $name {
            /// Parse (trimmed).
            pub fn parse(input: &str) -> Result<Self, String> {
                let s = input.trim();
                if s.is_empty() {
                    return Err(format!("{} must not be empty", $what));
                }
                if s.chars().count() > $max {
                    return Err(format!("{} must be at most {} characters", $what, $max));
                }
                let valid: fn(char) -> bool = $valid;
                if !s.chars().all(valid) {
                    return Err(format!("{} '{s}' contains characters that are not allowed", $what));
                }
                Ok(Self(s.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded_text!(
    /// A vessel stay number (Port Authority).
    StayNumber, "stay number", 35, |c| c.is_ascii_alphanumeric() || c == '-' || c == '/'
);
bounded_text!(
    /// A bill of lading number.
    BillOfLading, "bill of lading number", 35, |c| c.is_ascii_alphanumeric() || c == '-' || c == '/'
);
bounded_text!(
    /// A free reference (release identification, party identification code).
    Reference, "reference", 100, |c| !c.is_control()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_only() {
        assert!(UtcTimestamp::parse("2024-03-01T08:14:31.123Z").is_ok());
        assert!(UtcTimestamp::parse("2024-03-01T08:14:31+00:00").is_ok());
        let e = UtcTimestamp::parse("2024-03-01T08:14:31+02:00").expect_err("offset");
        assert!(e.contains("UTC"), "{e}");
        assert!(UtcTimestamp::parse("2024-03-01T08:14:31").is_err());
        assert!(UtcTimestamp::parse("yesterday").is_err());
        for bad in [
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "+2024-03-01T08:14:31Z",
            "-0001-03-01T08:14:31Z",
            "+262142-12-31T00:00:00Z",
        ] {
            assert!(UtcTimestamp::parse(bad).is_err(), "{bad} must be refused");
        }
        assert!(UtcTimestamp::parse("9999-12-31T23:59:59.999Z").is_ok());
        assert!(UtcTimestamp::parse("1970-01-01T00:00:00Z").is_ok());
    }

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

//! Timestamps on the wire: the instants CPu can represent ([`EARLIEST`]..=[`LATEST`], no leap
//! second) and the lenient UTC reading/writing every body uses ([`lenient_utc`]).

use chrono::{DateTime, Utc};

/// The earliest instant a body may carry (1970-01-01T00:00:00Z).
pub const EARLIEST: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

/// The latest instant a body may carry and the simulator's clock may reach
/// (9999-12-31T23:59:59.999Z): every timestamp written then has four digits of year, as RFC 3339
/// wants.
pub const LATEST: DateTime<Utc> = match DateTime::from_timestamp_millis(253_402_300_799_999) {
    Some(t) => t,
    None => DateTime::<Utc>::MAX_UTC,
};

/// What is wrong with a timestamp, if anything: outside [`EARLIEST`]..=[`LATEST`], or a leap
/// second (chrono's `:60`, which CPu's .NET backend cannot represent).
pub fn time_problem(t: DateTime<Utc>) -> Option<String> {
    if t.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Some("a leap second (:60) is not accepted".into());
    }
    if t < EARLIEST || t > LATEST {
        return Some("the year must be between 1970 and 9999".into());
    }
    None
}

/// Lenient UTC timestamps: RFC 3339 with any offset, or a naive `YYYY-MM-DDTHH:MM:SS[.f]`
/// taken as UTC. Serialized as RFC 3339 with `Z` and the fraction as given.
pub mod lenient_utc {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Parse one timestamp.
    /// Signed or more-than-four-digit years, leap seconds and years outside 1970..=9999 are
    /// refused ([`time_problem`]).
    pub fn parse(value: &str) -> Result<DateTime<Utc>, String> {
        let value = value.trim();
        let invalid = || {
            format!("invalid timestamp `{value}`: expected ISO 8601 in UTC, e.g. 2023-12-20T08:14:31.123Z")
        };
        // Four-digit year, then `-`: chrono's `%Y` would also take `+262142` or `-0001`.
        if !(value.len() > 4
            && value.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && value.as_bytes()[4] == b'-')
        {
            return Err(invalid());
        }
        let at = match DateTime::parse_from_rfc3339(value) {
            Ok(at) => at.with_timezone(&Utc),
            Err(_) => NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|naive| naive.and_utc())
                .map_err(|_| invalid())?,
        };
        match super::time_problem(at) {
            Some(problem) => Err(format!("invalid timestamp `{value}`: {problem}")),
            None => Ok(at),
        }
    }

    /// Format one timestamp: RFC 3339, `Z`, the fraction with trailing zeros trimmed (so
    /// `.123Z` stays `.123Z` and .NET's 7-digit `.1234567Z` stays as it is).
    pub fn format(at: &DateTime<Utc>) -> String {
        let base = at.format("%Y-%m-%dT%H:%M:%S").to_string();
        let nanos = at.timestamp_subsec_nanos();
        if nanos == 0 {
            return format!("{base}Z");
        }
        let fraction = format!("{nanos:09}");
        format!("{base}.{}Z", fraction.trim_end_matches('0'))
    }

    /// serde `serialize_with`.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(at))
    }

    /// serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse(&raw).map_err(serde::de::Error::custom)
    }

    /// .NET's round-trip format (`o`): always seven fraction digits (ticks of 100 ns), as CPu
    /// writes a notification's `timestamp`. Read leniently like the rest.
    pub mod ticks {
        use chrono::{DateTime, Utc};
        use serde::{Deserializer, Serializer};

        /// Format one timestamp, e.g. `2023-12-20T08:14:31.1230000Z`.
        pub fn format(at: &DateTime<Utc>) -> String {
            format!(
                "{}{:07}Z",
                at.format("%Y-%m-%dT%H:%M:%S."),
                at.timestamp_subsec_nanos() / 100
            )
        }

        /// serde `serialize_with`.
        pub fn serialize<S: Serializer>(
            at: &DateTime<Utc>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&format(at))
        }

        /// serde `deserialize_with`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<DateTime<Utc>, D::Error> {
            super::deserialize(deserializer)
        }
    }

    /// The same for `Option<DateTime<Utc>>` (use with `#[serde(default)]`).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        /// serde `serialize_with`.
        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// serde `deserialize_with`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                Some(raw) => super::parse(&raw)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}

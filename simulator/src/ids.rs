//! Newtypes parsed at the edge: once a value has one of these types it is valid.
//!
//! Each has a private field, a `parse` constructor returning a [`ParseError`] that names the problem,
//! and `as_str`. Fixed-size identifiers are stored inline (`Copy`) because a world may hold a million
//! container stays.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct ParseError {
    /// What was being parsed (e.g. "equipment number").
    pub what: &'static str,
    /// Human message naming the problem.
    pub message: String,
}

fn err(what: &'static str, message: impl Into<String>) -> ParseError {
    ParseError {
        what,
        message: message.into(),
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $t {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }
    };
}

/// An ISO 6346 container number: owner code (3 letters), category (U, J or Z), 6-digit serial and a
/// check digit, e.g. `MSCU1234566`. Parsing trims and upper-cases; a wrong check digit is rejected.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EquipmentNumber([u8; 11]);

impl EquipmentNumber {
    /// Parse and verify the check digit.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "equipment number";
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 11 {
            return Err(err(
                WHAT,
                format!("'{input}' must be 11 characters (4 letters, 6 digits, 1 check digit)"),
            ));
        }
        if !b[..4].iter().all(u8::is_ascii_uppercase) {
            return Err(err(WHAT, format!("'{input}' must start with 4 letters")));
        }
        if !matches!(b[3], b'U' | b'J' | b'Z') {
            return Err(err(
                WHAT,
                format!(
                    "'{input}' has category '{}'; ISO 6346 allows U, J or Z",
                    b[3] as char
                ),
            ));
        }
        if !b[4..].iter().all(u8::is_ascii_digit) {
            return Err(err(WHAT, format!("'{input}' must end with 7 digits")));
        }
        let expected = Self::check_digit(&b[..10]);
        let got = b[10] - b'0';
        if expected != got {
            return Err(err(
                WHAT,
                format!("'{input}' has check digit {got}, ISO 6346 requires {expected}"),
            ));
        }
        let mut out = [0u8; 11];
        out.copy_from_slice(b);
        Ok(Self(out))
    }

    /// The ISO 6346 check digit of the first ten characters.
    pub fn check_digit(first_ten: &[u8]) -> u8 {
        fn value(c: u8) -> u32 {
            if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                // A=10, skipping multiples of 11 (11, 22, 33).
                let mut v = 10;
                let mut ch = b'A';
                while ch < c {
                    v += 1;
                    if v % 11 == 0 {
                        v += 1;
                    }
                    ch += 1;
                }
                v
            }
        }
        let sum: u32 = first_ten
            .iter()
            .enumerate()
            .map(|(i, &c)| value(c) << i)
            .sum();
        ((sum % 11) % 10) as u8
    }

    /// Build a valid number from an owner prefix (4 letters ending in U) and a serial.
    pub fn from_serial(owner: &str, serial: u32) -> Result<Self, ParseError> {
        let ten = format!("{owner}{:06}", serial % 1_000_000);
        let digit = Self::check_digit(ten.as_bytes());
        Self::parse(&format!("{ten}{digit}"))
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The number packed in 36 bits (below [`Self::PACKED_LIMIT`]): owner letters, category
    /// and serial; the check digit follows from them. Compact stores keep this instead of the
    /// 11 bytes.
    pub fn packed(self) -> u64 {
        let b = self.0;
        let owner = b[..3]
            .iter()
            .fold(0u64, |acc, c| acc * 26 + u64::from(c - b'A'));
        let category = match b[3] {
            b'U' => 0,
            b'J' => 1,
            _ => 2,
        };
        let serial = b[4..10]
            .iter()
            .fold(0u64, |acc, c| acc * 10 + u64::from(c - b'0'));
        (owner * 3 + category) * 1_000_000 + serial
    }

    /// Every packed number is below this (26^3 owners x 3 categories x 10^6 serials < 2^36).
    pub const PACKED_LIMIT: u64 = 26 * 26 * 26 * 3 * 1_000_000;

    /// The number [`Self::packed`] gave, or `None` for a value it cannot give.
    pub fn from_packed(v: u64) -> Option<Self> {
        if v >= Self::PACKED_LIMIT {
            return None;
        }
        let (prefix, mut serial) = (v / 1_000_000, v % 1_000_000);
        let (mut owner, category) = (prefix / 3, prefix % 3);
        let mut out = [0u8; 11];
        for i in (0..3).rev() {
            // Below 26: a letter (truncation intended).
            out[i] = b'A' + (owner % 26) as u8;
            owner /= 26;
        }
        out[3] = [b'U', b'J', b'Z'][usize::try_from(category).ok()?];
        for i in (4..10).rev() {
            out[i] = b'0' + (serial % 10) as u8;
            serial /= 10;
        }
        out[10] = b'0' + Self::check_digit(&out[..10]);
        Some(Self(out))
    }
}
serde_via_str!(EquipmentNumber);
// Packed numbers fit their 36 bits.
const _: () = assert!(EquipmentNumber::PACKED_LIMIT <= 1 << 36);
impl fmt::Debug for EquipmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EquipmentNumber({})", self.as_str())
    }
}

/// A UN/LOCODE: 2-letter country + 3 letters or digits 2-9 (e.g. `BEANR`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnLocode([u8; 5]);

impl UnLocode {
    /// Parse (trimmed, upper-cased).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = b.len() == 5
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || (b'2'..=b'9').contains(c));
        if !ok {
            return Err(err(
                "UN/LOCODE",
                format!(
                    "'{input}' is not a UN/LOCODE (2-letter country + 3 characters, e.g. BEANR)"
                ),
            ));
        }
        let mut out = [0u8; 5];
        out.copy_from_slice(b);
        Ok(Self(out))
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
    /// Antwerp.
    pub fn antwerp() -> Self {
        Self(*b"BEANR")
    }

    /// The code packed in 25 bits (below [`Self::PACKED_LIMIT`]).
    pub fn packed(self) -> u32 {
        let b = self.0;
        let country = b[..2]
            .iter()
            .fold(0u32, |acc, c| acc * 26 + u32::from(c - b'A'));
        b[2..].iter().fold(country, |acc, &c| {
            acc * 34
                + if c.is_ascii_uppercase() {
                    u32::from(c - b'A')
                } else {
                    26 + u32::from(c - b'2')
                }
        })
    }

    /// Every packed code is below this (26^2 countries x 34^3 places < 2^25).
    pub const PACKED_LIMIT: u32 = 26 * 26 * 34 * 34 * 34;

    /// The code [`Self::packed`] gave, or `None` for a value it cannot give.
    pub fn from_packed(mut v: u32) -> Option<Self> {
        if v >= Self::PACKED_LIMIT {
            return None;
        }
        let mut out = [0u8; 5];
        for i in (2..5).rev() {
            // Below 34 (truncation intended).
            let c = (v % 34) as u8;
            out[i] = if c < 26 { b'A' + c } else { b'2' + c - 26 };
            v /= 34;
        }
        for i in (0..2).rev() {
            out[i] = b'A' + (v % 26) as u8;
            v /= 26;
        }
        Some(Self(out))
    }
}
serde_via_str!(UnLocode);
// Packed codes fit their 25 bits.
const _: () = assert!(UnLocode::PACKED_LIMIT <= 1 << 25);
impl fmt::Debug for UnLocode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnLocode({})", self.as_str())
    }
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        // `Arc`, not `Box`: a stay repeats the same few ids (agent, holder, terminal) in its
        // rights, so clones must not allocate when a world holds a million stays.
        pub struct $name(std::sync::Arc<str>);
        impl $name {
            /// Parse (trimmed); rejects empty, over-long or ill-formed values.
            pub fn parse(input: &str) -> Result<Self, ParseError> {
                let s = input.trim();
                if s.is_empty() {
                    return Err(err($what, "must not be empty"));
                }
                if s.len() > $max {
                    return Err(err($what, format!("must be at most {} characters", $max)));
                }
                let valid: fn(char) -> bool = $valid;
                if !s.chars().all(valid) {
                    return Err(err($what, format!("'{s}' contains characters that are not allowed")));
                }
                Ok(Self(s.into()))
            }
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        serde_via_str!($name);
    };
}

text_id!(
    /// A terminal code as given to NxtPort at onboarding (e.g. `869`, `1700`, `0100`).
    TerminalCode, "terminal code", 16, |c| c.is_ascii_alphanumeric()
);
text_id!(
    /// An Alfapass number (the driver's port access badge).
    AlfapassNumber, "Alfapass number", 20, |c| c.is_ascii_alphanumeric()
);
text_id!(
    /// A NxtPort entity id, e.g. `NXT22125864695`.
    NxtEntityId, "NxtEntityId", 40, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_'
);

/// The GUID NxtPort returns for every asynchronous call; notifications carry it back.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PublicReferenceId(pub uuid::Uuid);

impl PublicReferenceId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}
impl Default for PublicReferenceId {
    fn default() -> Self {
        Self::new()
    }
}
impl fmt::Display for PublicReferenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of a release right (`releaseId` in CPu).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReleaseId(pub uuid::Uuid);

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso6346_known_numbers() {
        // Published examples with their check digits.
        for ok in ["CSQU3054383", "MSCU1234566", " cSqU3054383 "] {
            assert!(EquipmentNumber::parse(ok).is_ok(), "{ok} should be valid");
        }
        let e = EquipmentNumber::parse("CSQU3054384").unwrap_err();
        assert!(e.message.contains("check digit 4"), "{e}");
        assert!(e.message.contains("requires 3"), "{e}");
        assert!(EquipmentNumber::parse("CSQ3054383").is_err());
        assert!(EquipmentNumber::parse("CSQX3054383").is_err());
        assert!(EquipmentNumber::parse("CSQU30543A3").is_err());
    }

    #[test]
    fn from_serial_is_valid() {
        for s in [0, 1, 42, 999_999] {
            let e = EquipmentNumber::from_serial("SIMU", s).unwrap();
            assert_eq!(EquipmentNumber::parse(e.as_str()).unwrap(), e);
        }
    }

    #[test]
    fn packed_numbers_and_codes_round_trip() {
        const {
            assert!(EquipmentNumber::PACKED_LIMIT <= 1 << 36);
            assert!(UnLocode::PACKED_LIMIT <= 1 << 25);
        }
        for e in ["CSQU3054383", "MSCU1234566"] {
            let e = EquipmentNumber::parse(e).unwrap_or_else(|err| panic!("{e}: {err}"));
            let v = e.packed();
            assert!(v < EquipmentNumber::PACKED_LIMIT, "{e:?} {v}");
            assert_eq!(EquipmentNumber::from_packed(v), Some(e));
        }
        assert_eq!(
            EquipmentNumber::from_packed(EquipmentNumber::PACKED_LIMIT),
            None
        );
        for (owner, s) in [("AAAU", 0), ("HOTU", 1), ("ZZZZ", 999_999), ("QRSJ", 42)] {
            let e = EquipmentNumber::from_serial(owner, s).unwrap();
            assert_eq!(EquipmentNumber::from_packed(e.packed()), Some(e));
        }
        for l in ["BEANR", "NLRTM", "AA222", "ZZZZ9", "US9ZA"] {
            let l = UnLocode::parse(l).unwrap();
            let v = l.packed();
            assert!(v < UnLocode::PACKED_LIMIT, "{l:?} {v}");
            assert_eq!(UnLocode::from_packed(v), Some(l));
        }
        assert_eq!(UnLocode::from_packed(UnLocode::PACKED_LIMIT), None);
    }

    #[test]
    fn locode() {
        assert_eq!(UnLocode::parse("beanr").unwrap().as_str(), "BEANR");
        assert!(UnLocode::parse("NLRTM").is_ok());
        assert!(UnLocode::parse("BEAN").is_err());
        assert!(UnLocode::parse("B1ANR").is_err());
        assert!(UnLocode::parse("BEAN1").is_err());
    }

    #[test]
    fn text_ids() {
        assert_eq!(TerminalCode::parse(" 869 ").unwrap().as_str(), "869");
        assert!(TerminalCode::parse("").is_err());
        assert!(TerminalCode::parse("86 9").is_err());
        assert!(AlfapassNumber::parse(&"1".repeat(21)).is_err());
    }

    #[test]
    fn serde_round_trip() {
        let e: EquipmentNumber = serde_json::from_str("\"MSCU1234566\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"MSCU1234566\"");
        assert!(serde_json::from_str::<EquipmentNumber>("\"MSCU1234565\"").is_err());
    }
}

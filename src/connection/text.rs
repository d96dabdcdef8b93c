//! Bounded text fields, parsed (trimmed) at the edge: one shape, [`text_type!`], for the
//! connection's fields here and the gateway's request fields (`gateway::domain`).

/// Trim `input` and check it: not empty, at most `max` characters, every one `valid`. The
/// message names the field as `what`.
pub fn bounded(
    input: &str,
    what: &str,
    max: usize,
    valid: fn(char) -> bool,
) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if s.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters"));
    }
    if !s.chars().all(valid) {
        return Err(format!(
            "{what} '{s}' contains characters that are not allowed"
        ));
    }
    Ok(s.to_owned())
}

/// A newtype over a bounded text: `parse` (via [`bounded`]), `as_str`, and serde as a string
/// that is parsed on the way in.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct $name(String);

        impl $name {
            /// Parse (trimmed).
            pub fn parse(input: &str) -> Result<Self, String> {
                $crate::connection::bounded(input, $what, $max, $valid).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_type;

text_type!(
    /// An identifier or user name of a connection (client id, username).
    Identifier, "value", 200, |c| !c.is_control()
);
text_type!(
    /// A NxtPort ingestion id (a GUID in NxtPort's examples; any safe token is accepted).
    IngestionId, "ingestion id", 64, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_'
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_texts() {
        assert_eq!(
            IngestionId::parse(" ab-1 ").map(|s| s.as_str().to_owned()),
            Ok("ab-1".to_owned())
        );
        assert!(IngestionId::parse("a b").is_err());
        assert!(IngestionId::parse("").is_err());
        assert!(Identifier::parse(&"x".repeat(201)).is_err());
        assert!(Identifier::parse("ops@terminal.example").is_ok());
    }
}

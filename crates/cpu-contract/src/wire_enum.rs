//! `wire_enum!`: NxtPort enums that accept the int value or the name on input.
//!
//! NxtPort's ASP.NET API binds enums from either their integer value (`"modeOfTransport": 1`)
//! or their name, case-insensitively (`"truck"`, `"Truck"`); the seed tells integrators to
//! "use int value". One macro generates every such enum so that they all behave the same:
//!
//! - serialized as the wire name (e.g. `"Truck"`);
//! - deserialized from the int (JSON number, or a numeric string such as `"1"`, the way
//!   .NET's `Enum.TryParse` does) or from the name in any letter case;
//! - an unknown value is a serde error naming the type and every allowed value, so the
//!   simulator's 400 and the gateway's error tell the caller what would have been accepted;
//! - `utoipa::ToSchema` documents the names, with a description listing the int values.
//!
//! Variants without an int (`Alfapass`, `full`/`empty`) accept only their name.
//!
//! Why a macro and not `strum`: every variant carries both its wire name and its int, and the
//! deserializer must take either (number, numeric string, name in any case) with one error text
//! listing both; strum's `EnumString` reads names only, so it would still need a second table
//! of ints next to it. One declaration here is the only table.

/// Generate a wire enum. Syntax per variant: `Variant = "WireName" (int)?`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal $( ($code:literal) )? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The name this value is serialized as.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire ),+ }
            }

            /// The int value NxtPort accepts for it, if it has one.
            pub const fn code(self) -> Option<i64> {
                match self { $( $name::$variant => $crate::wire_enum::wire_enum!(@code $($code)?) ),+ }
            }

            /// Look a value up by its int value.
            pub fn from_code(code: i64) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == Some(code))
            }

            /// Look a value up by its name (any letter case) or its int value written as a string.
            pub fn from_name(name: &str) -> Option<Self> {
                let trimmed = name.trim();
                if let Ok(code) = trimmed.parse::<i64>() {
                    return Self::from_code(code);
                }
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(trimmed))
            }

            /// Human list of the accepted values, used in error messages and the schema.
            pub fn allowed() -> String {
                $crate::wire_enum::allowed_list(
                    Self::ALL.iter().map(|v| (v.as_str(), v.code())),
                )
            }

            fn unknown(value: &dyn ::std::fmt::Display) -> $crate::wire_enum::UnknownValue {
                $crate::wire_enum::UnknownValue {
                    type_name: stringify!($name),
                    value: value.to_string(),
                    allowed: Self::allowed(),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::wire_enum::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_name(s).ok_or_else(|| Self::unknown(&s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "{}: {}", stringify!($name), $name::allowed())
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v).ok_or_else(|| E::custom($name::unknown(&v)))
                    }
                    fn visit_i64<E: ::serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        $name::from_code(v).ok_or_else(|| E::custom($name::unknown(&v)))
                    }
                    fn visit_u64<E: ::serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        i64::try_from(v)
                            .ok()
                            .and_then($name::from_code)
                            .ok_or_else(|| E::custom($name::unknown(&v)))
                    }
                }
                deserializer.deserialize_any(Visitor)
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::wire_enum::string_enum_schema(
                    Self::ALL.iter().map(|v| (v.as_str(), v.code())),
                )
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::ToSchema for $name {}

        impl $crate::wire_enum::WireEnum for $name {
            const TYPE_NAME: &'static str = stringify!($name);
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn code(self) -> Option<i64> {
                $name::code(self)
            }
        }
    };
    (@code) => { None };
    (@code $code:literal) => { Some($code) };
}

/// What every wire enum offers, for generic code (tests, schema listings, error texts).
pub trait WireEnum: Copy + Eq + std::fmt::Debug + 'static {
    /// The Rust (and schema) name of the enum.
    const TYPE_NAME: &'static str;
    /// Every variant.
    fn all() -> &'static [Self];
    /// The wire name.
    fn as_str(self) -> &'static str;
    /// The int value, if any.
    fn code(self) -> Option<i64>;
}

/// Error for a value that is neither a known name nor a known int. Its message names the type
/// and lists what is allowed, e.g. ``unknown ModeOfTransport `plane`; allowed: 0 (Unknown), ...``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {type_name} `{value}`; allowed: {allowed}")]
pub struct UnknownValue {
    /// The enum's name.
    pub type_name: &'static str,
    /// The value that was given.
    pub value: String,
    /// The accepted values, as text.
    pub allowed: String,
}

/// `0 (Unknown), 1 (Truck), Alfapass` from `(name, code)` pairs.
pub fn allowed_list<'a>(values: impl Iterator<Item = (&'a str, Option<i64>)>) -> String {
    values
        .map(|(name, code)| match code {
            Some(code) => format!("{code} ({name})"),
            None => name.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(feature = "openapi")]
/// The OpenAPI schema of a wire enum: a string enum of the names, with the ints in the description.
pub fn string_enum_schema<'a>(
    values: impl Iterator<Item = (&'a str, Option<i64>)> + Clone,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let has_codes = values.clone().any(|(_, code)| code.is_some());
    let description = if has_codes {
        format!(
            "Serialized as the name. Accepted on input: the name (any letter case) or the int value: {}.",
            allowed_list(values.clone())
        )
    } else {
        "Serialized as the name. Accepted on input: the name, in any letter case.".to_owned()
    };
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(values.map(|(name, _)| name.to_owned())))
        .description(Some(description))
        .into()
}

pub(crate) use wire_enum;

//! The `/v1` edge's parsers, shared by the gateway's routes and Data Sources: JSON bodies
//! ([`parse_json`]), query strings ([`parse_query`], [`parse_limit`]) and UTC timestamps
//! ([`UtcTimestamp`]). Every refusal is an [`ApiError`] naming the field or parameter.

use actix_web::HttpRequest;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ApiError;

/// Parse `bytes` as `T`, mapping errors to the envelope (the field path and message come from
/// [`crate::http_edge::json_failure`], shared with the simulator).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::http_edge::parse_json_body(bytes).map_err(|f| match f.field {
        _ if f.syntax => ApiError::MalformedJson(format!("body is not valid JSON: {}", f.message)),
        Some(field) => ApiError::InvalidField {
            message: format!("{field}: {}", f.message),
            field,
        },
        None => ApiError::MalformedJson(format!("body has the wrong shape: {}", f.message)),
    })
}

/// Parse the query string into `T` (all fields `Option<String>`; unknown names are an error
/// naming the parameter).
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::MalformedJson(format!("query string is malformed: {e}")))?;
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if map
            .insert(k.clone(), serde_json::Value::String(v))
            .is_some()
        {
            return Err(ApiError::field(&k, format!("{k} is given more than once")));
        }
    }
    let bytes = serde_json::Value::Object(map).to_string();
    parse_json(bytes.as_bytes()).map_err(|e| match e {
        ApiError::MalformedJson(m) => ApiError::MalformedJson(m),
        ApiError::InvalidField { field, message } => ApiError::InvalidField {
            message: message.replace("unknown field", "unknown query parameter"),
            field,
        },
        other => other,
    })
}

/// `limit`: 1..=1000, default 100.
pub fn parse_limit(v: Option<&str>) -> Result<i64, ApiError> {
    match v {
        None => Ok(100),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                "limit",
                "limit must be a number from 1 to 1000",
            )),
        },
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are only deserialized")]
    struct Item {
        equipment_number: cpu_simulator::EquipmentNumber,
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are only deserialized")]
    struct Outer {
        items: Vec<Item>,
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Outer>(body.as_bytes()).expect_err("must fail")
    }

    #[test]
    fn field_paths_are_named() {
        match err(
            r#"{"items":[{"equipmentNumber":"MSCU1234566","count":1},{"equipmentNumber":"MSCU1234565","count":1}]}"#,
        ) {
            ApiError::InvalidField { field, message } => {
                assert_eq!(field, "items[1].equipmentNumber");
                assert!(message.contains("check digit"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match err(r#"{"items":[{"equipmentNumber":"MSCU1234566","count":"x"}]}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "items[0].count"),
            other => panic!("{other:?}"),
        }
        match err(r#"{"items":[{"equipmentNumber":"MSCU1234566"}]}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "items[0].count"),
            other => panic!("{other:?}"),
        }
        match err(r#"{}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "items"),
            other => panic!("{other:?}"),
        }
        match err(r#"{"items":[], "extra": 1}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "extra"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_its_own_code() {
        assert!(matches!(err(r#"{"items": [}"#), ApiError::MalformedJson(_)));
        assert!(matches!(err(r#"{"items": "#), ApiError::MalformedJson(_)));
    }

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
}

//! Pieces of the request edge shared by both servers (the simulator and the gateway): which
//! methods a path allows (from the server's own OpenAPI document, so a documented route is
//! covered without a second list), serde messages without Rust type names, and the one mapping of
//! a JSON body that does not parse to (field path, human message); the CSRF protection
//! ([`csrf`]) and the re-display of a refused form ([`forms`]) of both servers' HTML pages.

use actix_web::dev::ResourceDef;
use std::sync::OnceLock;

pub mod csrf;
pub mod forms;

/// Content-Security-Policy of the HTML pages both servers serve (console and sandbox): same
/// origin only, no inline script, no framing.
pub const PAGE_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Route patterns of an OpenAPI document and the methods each allows.
#[derive(Debug)]
pub struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    /// The table of a document.
    pub fn of(doc: &utoipa::openapi::OpenApi) -> RouteTable {
        RouteTable(
            doc.paths
                .paths
                .iter()
                .map(|(path, item)| {
                    let methods = [
                        ("GET", item.get.is_some()),
                        ("PUT", item.put.is_some()),
                        ("POST", item.post.is_some()),
                        ("DELETE", item.delete.is_some()),
                        ("PATCH", item.patch.is_some()),
                    ]
                    .into_iter()
                    .filter_map(|(m, has)| has.then_some(m))
                    .collect();
                    (ResourceDef::new(path.as_str()), methods)
                })
                .collect(),
        )
    }

    /// The methods `path` allows, sorted (empty: no such route).
    pub fn allowed(&self, path: &str) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A serde message without Rust type names (`expected struct DischargeInput` says nothing to a
/// caller) and without actix's prefixes.
pub fn clean_serde_message(msg: &str) -> String {
    let msg = msg
        .trim_start_matches("Query deserialize error: ")
        .trim_start_matches("Json deserialize error: ")
        .trim_start_matches("Path deserialize error: ");
    static TYPE_NAMES: OnceLock<regex::Regex> = OnceLock::new();
    let re = TYPE_NAMES.get_or_init(|| {
        regex::Regex::new(r"\b(tuple struct|unit struct|struct|enum) [A-Za-z_][A-Za-z0-9_:<>]*")
            .expect("valid regex")
    });
    re.replace_all(msg, |c: &regex::Captures<'_>| match &c[1] {
        "enum" => "one of the documented values".to_owned(),
        _ => "a JSON object".to_owned(),
    })
    .into_owned()
}

/// Why a JSON body did not parse into the handler's type, for both servers to word in their own
/// envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonFailure {
    /// The body is not JSON at all (a syntax error, or it ends early).
    pub syntax: bool,
    /// The JSON path of the offending field (`releases[0].equipmentNumber`); `None` when the body
    /// as a whole is wrong (not JSON, or the wrong shape at its root).
    pub field: Option<String>,
    /// serde's message without Rust type names and without the line/column suffix.
    pub message: String,
}

/// Parse `body` as `T`; a failure says which field and why.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, JsonFailure> {
    // Fast path; only a failure pays for tracking the JSON path of the bad field.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(json_failure)
}

/// The one mapping of a serde_path_to_error failure to (field path, message). serde reports a
/// missing field at its parent and carries the name only in its message (serde's own
/// `missing field `x``); this is the only place that reads it.
pub fn json_failure(e: serde_path_to_error::Error<serde_json::Error>) -> JsonFailure {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let raw = inner.to_string();
    let raw = match (inner.line(), raw.rfind(" at line ")) {
        (1.., Some(i)) => &raw[..i],
        _ => raw.as_str(),
    };
    let message = clean_serde_message(raw);
    if inner.is_syntax() || inner.is_eof() {
        return JsonFailure {
            syntax: true,
            field: None,
            message,
        };
    }
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .filter(|f| !f.is_empty());
    let root = path == "." || path.is_empty();
    // serde also reads a struct from an array: `[0]` then means "the body is an array".
    let field = match (root, named) {
        (false, None) if path.starts_with('[') => None,
        (true, Some(f)) => Some(f.to_owned()),
        (false, Some(f)) => Some(format!("{path}.{f}")),
        (true, None) => None,
        (false, None) => Some(path),
    };
    JsonFailure {
        syntax: false,
        field,
        message,
    }
}

/// Whether a refusal already speaks for itself: a JSON body, or an HTML page (the console and
/// sandbox render their own form errors). Anything else (a framework `text/plain` answer, an
/// empty body) is rewritten into the server's JSON envelope.
pub fn refusal_has_own_body(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_rust_type_names() {
        assert_eq!(
            clean_serde_message("invalid type: sequence, expected struct DischargeInput"),
            "invalid type: sequence, expected a JSON object"
        );
        assert_eq!(
            clean_serde_message("Query deserialize error: invalid digit found in string"),
            "invalid digit found in string"
        );
        assert!(!clean_serde_message("expected enum ActionType").contains("ActionType"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Line {
        equipment: String,
        count: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Body {
        lines: Vec<Line>,
    }

    fn fail(body: &str) -> JsonFailure {
        match parse_json_body::<Body>(body.as_bytes()) {
            Ok(b) => panic!("{body} parsed: {b:?}"),
            Err(f) => f,
        }
    }

    #[test]
    fn json_failures_name_the_field() {
        let f = fail(r#"{"lines": [{"equipment": "A", "count": "x"}]}"#);
        assert_eq!(f.field.as_deref(), Some("lines[0].count"));
        assert!(!f.syntax);
        assert!(!f.message.contains(" at line "), "{}", f.message);
        // A missing field is reported at its parent: the name is added. An unknown one is named.
        let f = fail(r#"{"lines": [{"equipment": "A"}]}"#);
        assert_eq!(f.field.as_deref(), Some("lines[0].count"));
        assert_eq!(fail(r#"{}"#).field.as_deref(), Some("lines"));
        assert_eq!(
            fail(r#"{"lines": [], "extra": 1}"#).field.as_deref(),
            Some("extra")
        );
        // The wrong shape at the root, and no JSON at all: the body as a whole.
        let f = fail("[1]");
        assert_eq!((f.syntax, f.field), (false, None));
        let f = fail("\"lines\"");
        assert_eq!((f.syntax, f.field), (false, None));
        assert!(f.message.contains("a JSON object"), "{}", f.message);
        let f = fail(r#"{"lines": "#);
        assert_eq!((f.syntax, f.field), (true, None));
    }
}

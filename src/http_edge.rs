//! Pieces of the request edge shared by both servers (the simulator and the gateway): which
//! methods a path allows (from the server's own OpenAPI document, so a documented route is
//! covered without a second list), and serde messages without Rust type names.

use actix_web::dev::ResourceDef;
use std::sync::OnceLock;

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
}

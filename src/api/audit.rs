//! The audit views' query (`GET /v1/audit`, `GET /v1/data-sources/audit`): the same
//! parameters, the same refusals (400 naming the parameter), the same `Link` header, for the
//! gateway's route and Data Sources alike.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::query::{parse_limit, parse_query, UtcTimestamp};
use crate::store::audit::{ActionFilter, ActorFilter, AuditPage, AuditQuery};

/// Query of the audit views (filters ANDed; all optional).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// One action (`credentials.read`), or every action of a family (`credentials.*`).
    #[param(
        pattern = r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*(\.\*)?$",
        example = "credentials.*"
    )]
    pub action: Option<String>,
    /// A token id, the entity a token belongs to (e.g. support's), or `system` (the gateway
    /// itself and its CLI).
    #[param(pattern = r"^[A-Za-z0-9_.:-]{1,100}$", example = "system")]
    pub actor: Option<String>,
    /// `true`: only support's acts for this entity; `false`: only the entity's own.
    #[param(value_type = Option<bool>)]
    pub impersonation: Option<String>,
    /// From this time (RFC 3339 UTC, inclusive).
    #[param(value_type = Option<String>, format = DateTime, example = "2024-03-01T00:00:00Z")]
    pub from: Option<String>,
    /// Before this time (RFC 3339 UTC, exclusive).
    #[param(value_type = Option<String>, format = DateTime, example = "2024-03-02T00:00:00Z")]
    pub to: Option<String>,
    /// Where the previous page ended (from the `Link: <...>; rel="next"` header).
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Page size (1-1000, default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

fn action_filter(v: &str) -> Result<ActionFilter, ApiError> {
    let bad = || {
        ApiError::field(
            "action",
            "action must be an action name like credentials.read, or a family like credentials.*",
        )
    };
    let v = v.trim();
    let (name, prefix) = match v.strip_suffix(".*") {
        Some(p) => (p, true),
        None => (v, false),
    };
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    match (valid, prefix) {
        (false, _) => Err(bad()),
        (true, true) => Ok(ActionFilter::Prefix(format!("{name}."))),
        (true, false) => Ok(ActionFilter::Exact(name.to_owned())),
    }
}

fn actor_filter(v: &str) -> Result<ActorFilter, ApiError> {
    let v = v.trim();
    if v == "system" {
        return Ok(ActorFilter::System);
    }
    if v.is_empty()
        || v.len() > 100
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
    {
        return Err(ApiError::field(
            "actor",
            "actor must be a token id, an entity id or 'system'",
        ));
    }
    Ok(ActorFilter::Id(v.to_owned()))
}

fn time(field: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        UtcTimestamp::parse(&s)
            .map(|t| t.get().timestamp_millis())
            .map_err(|m| ApiError::field(field, format!("{field}: {m}")))
    })
    .transpose()
}

/// Parse the audit query of `req` for `entity_id` (400 naming the parameter on any error).
pub fn query_of(req: &HttpRequest, entity_id: &str) -> Result<AuditQuery, ApiError> {
    let p: AuditParams = parse_query(req)?;
    let mut q = AuditQuery::new(entity_id, parse_limit(p.limit.as_deref())?);
    q.action = p.action.as_deref().map(action_filter).transpose()?;
    q.actor = p.actor.as_deref().map(actor_filter).transpose()?;
    q.impersonation = p
        .impersonation
        .map(|v| match v.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::field(
                "impersonation",
                "impersonation must be true or false",
            )),
        })
        .transpose()?;
    q.from = time("from", p.from)?;
    q.to = time("to", p.to)?;
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if to <= from {
            return Err(ApiError::field("to", "to must be later than from"));
        }
    }
    q.before = p
        .cursor
        .map(|c| match c.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ApiError::field(
                "cursor",
                "cursor must be the value given in the previous page's Link header",
            )),
        })
        .transpose()?;
    Ok(q)
}

/// The page as a JSON array, with `Link: <path?...&cursor=N>; rel="next"` when there is more.
pub fn respond(req: &HttpRequest, page: AuditPage) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if let Some(next) = page.next_before {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        pairs.retain(|(k, _)| k != "cursor");
        pairs.push(("cursor".to_owned(), next.to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        res.insert_header((
            header::LINK,
            format!("<{}?{query}>; rel=\"next\"", req.path()),
        ));
    }
    res.json(page.entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_filters() {
        assert_eq!(
            action_filter("credentials.read").ok(),
            Some(ActionFilter::Exact("credentials.read".into()))
        );
        assert_eq!(
            action_filter("credentials.*").ok(),
            Some(ActionFilter::Prefix("credentials.".into()))
        );
        for bad in [
            "",
            "*",
            ".*",
            "Credentials",
            "a..b",
            "a.",
            "a%",
            "a b",
            "a.*.*",
        ] {
            assert!(action_filter(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn actor_filters() {
        assert_eq!(actor_filter("system").ok(), Some(ActorFilter::System));
        assert!(actor_filter("2f0c-ab").is_ok());
        assert!(actor_filter("a b").is_err());
        assert!(actor_filter(&"x".repeat(101)).is_err());
    }
}

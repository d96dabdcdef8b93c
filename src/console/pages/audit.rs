//! The audit log of the acting entity, newest first and paged, with the filters of
//! `GET /v1/audit` (action or family, actor, impersonation, time): the page's query is parsed by
//! the API's own function ([`query_of`]), so both accept and refuse the same input, and a
//! refusal is shown next to its filter ([`FormState`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{internal, nav, render, see_other, Result};
use crate::api::audit::query_of;
use crate::console::extract::SignedIn;
use crate::console::views::{self, Nav};
use crate::gateway::error::ApiError;
use crate::gateway::state::GatewayState;
use crate::http_edge::forms::FormState;
use crate::store::AuditLog;

/// The filter inputs (named as the API's parameters).
const INPUTS: [&str; 5] = ["action", "actor", "impersonation", "from", "to"];

struct AuditRow {
    when: String,
    action: String,
    target: String,
    outcome: String,
    by: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    /// The filters as typed, and a refusal next to its filter.
    form: FormState,
    entries: Vec<AuditRow>,
    /// The next (older) page, the filters kept.
    older: Option<String>,
    /// Back to the newest entries (on a later page).
    newest: Option<String>,
}

fn url(pairs: &[(String, String)]) -> String {
    match serde_urlencoded::to_string(pairs).unwrap_or_default() {
        q if q.is_empty() => "/console/audit".to_owned(),
        q => format!("/console/audit?{q}"),
    }
}

/// `GET /console/audit?action=&actor=&impersonation=&from=&to=&cursor=`.
#[tracing::instrument(skip_all)]
pub async fn audit(
    req: HttpRequest,
    signed: SignedIn,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    // A GET form sends its empty inputs too, which the API reads as given (and invalid): the
    // same URL without them.
    if pairs.iter().any(|(_, v)| v.trim().is_empty()) {
        let kept: Vec<_> = pairs
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        return Ok(see_other(&url(&kept)));
    }
    let s = signed.session;
    let mut page = AuditPage {
        nav: nav(&gw, &s, "audit").await?,
        form: FormState::new("filters", pairs.iter().cloned().collect()),
        entries: Vec::new(),
        older: None,
        newest: None,
    };
    let q = match query_of(&req, &s.acting_entity_id) {
        Ok(q) => q,
        Err(e) => {
            let (field, message) = match e {
                ApiError::InvalidField { field, message } => (Some(field), message),
                other => (None, other.to_string()),
            };
            page.form = page.form.refused(field.as_deref(), &INPUTS, message);
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    let found = AuditLog::page(&gw.store, &q).await.map_err(internal)?;
    let filters: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "cursor").collect();
    if q.before.is_some() {
        page.newest = Some(url(&filters));
    }
    if let Some(next) = found.next_before {
        let mut older = filters.clone();
        older.push(("cursor".to_owned(), next.to_string()));
        page.older = Some(url(&older));
    }
    page.entries = found
        .entries
        .into_iter()
        .map(|a| AuditRow {
            when: views::when(a.at),
            by: match (&a.actor_token_id, a.impersonation) {
                (Some(t), true) => format!("support token {t}"),
                (Some(t), false) => format!("token {t}"),
                (None, _) => "system".into(),
            },
            action: a.action,
            target: a.target,
            outcome: a.outcome,
            detail: a.detail.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    render(StatusCode::OK, &page)
}

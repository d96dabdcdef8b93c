//! The console's handlers, one file per page. Each starts from a checked request
//! ([`super::extract`]: signed in, CSRF, editor role, target), calls a service or the store,
//! and renders a template. A 4xx re-displays the form with the field's message; a success
//! redirects (303) so a reload never posts twice.

pub mod audit;
pub mod containers;
pub mod data_sources;
pub mod history;
pub mod notifications;
pub mod operations;
pub mod sign_in;

pub use audit::audit;
pub use containers::containers;
pub use data_sources::{connect, data_sources, disconnect, test, FRAGMENT_HEADER};
pub use history::{history, sync};
pub use notifications::notifications;
pub use operations::{cancel_operation, operations, retry_operation};
pub use sign_in::{act_for, home, login, login_page, logout};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use super::session::Session;
use super::views::Nav;
use super::{Console, ConsoleError};
use crate::gateway::state::GatewayState;
use crate::store::Role;

type Result<T> = std::result::Result<T, ConsoleError>;

fn render(status: StatusCode, t: &impl Template) -> Result<HttpResponse> {
    let html = t
        .render()
        .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn internal(e: impl Into<anyhow::Error>) -> ConsoleError {
    ConsoleError::Internal(e.into())
}

fn cookie<'a>(console: &Console, name: &'a str, value: String, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(console.secure_cookies)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// `?done=` after a redirect: which notice to show.
#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

fn notice_text(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "saved" => Some("Credentials saved. The status badge shows the verification."),
        "disconnected" => Some("Terminal disconnected. Its history stays."),
        "sync" => Some("Sync started."),
        "retried" => Some("Operation queued again."),
        "cancelled" => Some("Operation cancelled: it will not be sent."),
        _ => None,
    }
}

async fn nav(gw: &GatewayState, s: &Session, active: &'static str) -> Result<Nav> {
    let entity_name = gw
        .store
        .entity(&s.acting_entity_id)
        .await
        .map_err(internal)?
        .map(|e| e.name)
        .unwrap_or_else(|| s.acting_entity_id.clone());
    let entities = if s.role == Role::Support {
        gw.store
            .entities()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|e| {
                let selected = e.id == s.acting_entity_id;
                (e.id, e.name, selected)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Nav {
        active,
        entity_name,
        role: s.role.as_str(),
        csrf: s.csrf.clone(),
        can_write: s.can_write(),
        entities,
        impersonating: s.impersonating(),
    })
}

/// Trimmed, at most 100 characters, `None` when blank.
fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(100).collect())
}

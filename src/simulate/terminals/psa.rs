//! PSA E-Portal emulation: form login that sets a session cookie, then a container-event feed.
//!
//! `POST /emulations/psa/eportal/login` (form `username`, `password`) -> 200 + `Set-Cookie:
//! EPORTAL_SESSION=...`; `GET /emulations/psa/eportal/api/container-events?since=&limit=` with that
//! cookie -> `{events: [...], nextSince, more}`. Event types are upper-case codes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::faults::Phase;
use super::feed::{self, FeedEvent};
use super::{error, invalid_credentials, EmulationsState, FeedQuery};
use crate::terminals::codes;
use crate::terminals::Terminal;

const T: Terminal = Terminal::Psa;
pub const COOKIE: &str = "EPORTAL_SESSION";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PsaEvent {
    event_id: String,
    container_number: String,
    event_type: &'static str,
    event_time: String,
    quay: &'static str,
    vessel_name: &'static str,
    voyage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    yard_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customs_status: Option<&'static str>,
}

fn render(e: FeedEvent) -> PsaEvent {
    PsaEvent {
        event_id: e.id,
        container_number: e.equipment,
        event_type: codes::PSA.code(e.kind),
        event_time: e.at.to_rfc3339(),
        quay: e.terminal_code,
        vessel_name: e.vessel,
        voyage: e.voyage,
        yard_position: e.yard_position,
        customs_status: e.customs_status,
    }
}

/// Log in to the E-Portal; the session is a cookie.
#[utoipa::path(post, path = "/emulations/psa/eportal/login", tag = "emulations",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "session cookie set"), (status = 401), (status = 403), (status = 423), (status = 503)))]
pub async fn login(state: web::Data<EmulationsState>, form: web::Form<LoginForm>) -> HttpResponse {
    if let Err(r) = state.gate(T, Phase::Auth, Some(&form.username)).await {
        return r;
    }
    match state.login(T, &form.username, &form.password) {
        Some(a) => {
            let token = state.open_session(T, &a.identifier);
            HttpResponse::Ok()
                .insert_header(("Set-Cookie", format!("{COOKIE}={token}; Path=/; HttpOnly")))
                .json(serde_json::json!({ "result": "ok", "user": a.identifier }))
        }
        None => invalid_credentials(),
    }
}

/// Container events of the logged-in account, paged by `since`.
#[utoipa::path(get, path = "/emulations/psa/eportal/api/container-events", tag = "emulations",
    params(FeedQuery),
    responses((status = 200, description = "{events, nextSince, more}"), (status = 401), (status = 403), (status = 503)))]
pub async fn events(
    state: web::Data<EmulationsState>,
    req: HttpRequest,
    q: web::Query<FeedQuery>,
) -> HttpResponse {
    let account = req
        .cookie(COOKIE)
        .and_then(|c| state.session_account(T, c.value()));
    let Some(account) = account else {
        return error(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "Not logged in or session expired.",
        );
    };
    if let Err(r) = state.gate(T, Phase::Data, Some(&account.identifier)).await {
        return r;
    }
    let (since, limit) = match q.parse() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (evs, next) = feed::page(T, account.seed, account.events, since, limit);
    state.served(T, evs.len());
    let events: Vec<_> = evs.into_iter().map(render).collect();
    HttpResponse::Ok().json(serde_json::json!({
        "events": events,
        "nextSince": next.to_string(),
        "more": next < account.events,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/emulations/psa/eportal/login").route(web::post().to(login)))
        .service(
            web::resource("/emulations/psa/eportal/api/container-events")
                .route(web::get().to(events)),
        );
}

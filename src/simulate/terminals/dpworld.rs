//! DP World E-Portal emulation: JSON session login, then a movement feed read with `X-Session-Id`.
//!
//! `POST /emulations/dpworld/api/v1/sessions` `{username, password}` -> 201 `{sessionId, expiresIn}`;
//! `GET /emulations/dpworld/api/v1/container-events?since=&limit=` -> `{data: [...], cursor: {next, hasMore}}`.
//! Movements use two-letter codes (VA, DI, YM, CS, GO, GI, LO, VD).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::faults::Phase;
use super::feed::{self, FeedEvent};
use super::{error, invalid_credentials, EmulationsState, FeedQuery};
use crate::terminals::codes;
use crate::terminals::Terminal;

const T: Terminal = Terminal::Dpworld;
pub const SESSION_HEADER: &str = "X-Session-Id";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SessionRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Vessel {
    name: &'static str,
    voyage: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DpwEvent {
    id: String,
    equipment_id: String,
    movement_code: &'static str,
    timestamp_utc: String,
    terminal: &'static str,
    vessel: Vessel,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customs: Option<&'static str>,
}

fn render(e: FeedEvent) -> DpwEvent {
    DpwEvent {
        id: e.id,
        equipment_id: e.equipment,
        movement_code: codes::DPWORLD.code(e.kind),
        timestamp_utc: e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        terminal: e.terminal_code,
        vessel: Vessel {
            name: e.vessel,
            voyage: e.voyage,
        },
        position: e.yard_position,
        customs: e.customs_status,
    }
}

/// Open a session.
#[utoipa::path(post, path = "/emulations/dpworld/api/v1/sessions", tag = "emulations",
    request_body = SessionRequest,
    responses((status = 201, description = "{sessionId, expiresIn}"), (status = 401), (status = 403), (status = 423), (status = 503)))]
pub async fn session(
    state: web::Data<EmulationsState>,
    body: web::Json<SessionRequest>,
) -> HttpResponse {
    if let Err(r) = state.gate(T, Phase::Auth, Some(&body.username)).await {
        return r;
    }
    match state.login(T, &body.username, &body.password) {
        Some(a) => {
            let id = state.open_session(T, &a.identifier);
            HttpResponse::Created().json(serde_json::json!({ "sessionId": id, "expiresIn": 1800 }))
        }
        None => invalid_credentials(),
    }
}

/// Movements of the session's account, paged by `since`.
#[utoipa::path(get, path = "/emulations/dpworld/api/v1/container-events", tag = "emulations",
    params(FeedQuery),
    responses((status = 200, description = "{data, cursor: {next, hasMore}}"), (status = 401), (status = 403), (status = 503)))]
pub async fn events(
    state: web::Data<EmulationsState>,
    req: HttpRequest,
    q: web::Query<FeedQuery>,
) -> HttpResponse {
    let account = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| state.session_account(T, s));
    let Some(account) = account else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_session",
            "Missing or expired session.",
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
    let data: Vec<_> = evs.into_iter().map(render).collect();
    HttpResponse::Ok().json(serde_json::json!({
        "data": data,
        "cursor": { "next": next.to_string(), "hasMore": next < account.events },
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/emulations/dpworld/api/v1/sessions").route(web::post().to(session)),
    )
    .service(
        web::resource("/emulations/dpworld/api/v1/container-events").route(web::get().to(events)),
    );
}

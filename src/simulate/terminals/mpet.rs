//! MPET Connect emulation: every request carries `X-Application-Uuid` and `X-Api-Token`.
//!
//! `GET /emulations/mpet/api/v1/me` -> `{applicationUuid}` (verification);
//! `GET /emulations/mpet/api/v1/container-events?since=&limit=` -> `{items: [...], next, hasMore}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::faults::Phase;
use super::feed::{self, FeedEvent};
use super::{error, Account, EmulationsState, FeedQuery};
use crate::terminals::codes;
use crate::terminals::Terminal;

const T: Terminal = Terminal::Mpet;
pub const UUID_HEADER: &str = "X-Application-Uuid";
pub const TOKEN_HEADER: &str = "X-Api-Token";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MpetEvent {
    id: String,
    container_number: String,
    movement: &'static str,
    occurred_at: String,
    quay: &'static str,
    vessel_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    yard_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customs_status: Option<&'static str>,
    /// The six status lights MPET Connect shows per container, as they stand after this event.
    status_lights: StatusLights,
}

/// MPET Connect's per-container status lights (names are ours: MPET publishes only the labels
/// "on terminal, terminal release, commercial release, customs, assignment, pickup ready").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusLights {
    on_terminal: bool,
    terminal_release: bool,
    commercial_release: bool,
    customs: bool,
    assignment: bool,
    pickup_ready: bool,
}

/// The lights after event `e` of the feed with `seed`: an import container is on the terminal
/// from discharge to gate out, commercially released from the start, cleared by customs at its
/// customs step when that says RELEASED, assigned a slot at its last yard move; pickup ready when
/// all hold. An export container only shows "on terminal".
fn lights(e: &FeedEvent, seed: u64) -> StatusLights {
    let step = e.index % feed::STEPS;
    let import = feed::profile(T, &e.equipment).import;
    let base = e.index - step;
    let on_terminal = if import {
        (1..=4).contains(&step)
    } else {
        step <= 3
    };
    let customs =
        import && step >= 3 && feed::event(T, seed, base + 3).customs_status == Some("RELEASED");
    let commercial_release = import;
    let terminal_release = on_terminal && customs;
    let assignment = import && step >= 4;
    StatusLights {
        on_terminal,
        terminal_release,
        commercial_release,
        customs,
        assignment,
        pickup_ready: on_terminal && terminal_release && commercial_release && assignment,
    }
}

fn render(e: FeedEvent, seed: u64) -> MpetEvent {
    MpetEvent {
        status_lights: lights(&e, seed),
        id: e.id,
        container_number: e.equipment,
        movement: codes::MPET.code(e.kind),
        occurred_at: e.at.to_rfc3339(),
        quay: e.terminal_code,
        vessel_name: e.vessel,
        yard_location: e.yard_position,
        customs_status: e.customs_status,
    }
}

/// Header authentication: faults of the auth phase apply to every request.
async fn authenticate(state: &EmulationsState, req: &HttpRequest) -> Result<Account, HttpResponse> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (uuid, token) = (header(UUID_HEADER), header(TOKEN_HEADER));
    if uuid.is_empty() || token.is_empty() {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "X-Application-Uuid and X-Api-Token are required.",
        ));
    }
    state.gate(T, Phase::Auth, Some(&uuid)).await?;
    state.login(T, &uuid, &token).ok_or_else(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Unknown application UUID or token.",
        )
    })
}

/// The application the headers authenticate.
#[utoipa::path(get, path = "/emulations/mpet/api/v1/me", tag = "emulations",
    responses((status = 200, description = "{applicationUuid}"), (status = 401), (status = 403), (status = 423), (status = 503)))]
pub async fn me(state: web::Data<EmulationsState>, req: HttpRequest) -> HttpResponse {
    match authenticate(&state, &req).await {
        Ok(a) => HttpResponse::Ok().json(serde_json::json!({ "applicationUuid": a.identifier })),
        Err(r) => r,
    }
}

/// Container events of the application, paged by `since`.
#[utoipa::path(get, path = "/emulations/mpet/api/v1/container-events", tag = "emulations",
    params(FeedQuery),
    responses((status = 200, description = "{items, next, hasMore}"), (status = 401), (status = 403), (status = 503)))]
pub async fn events(
    state: web::Data<EmulationsState>,
    req: HttpRequest,
    q: web::Query<FeedQuery>,
) -> HttpResponse {
    let account = match authenticate(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (since, limit) = match q.parse() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (evs, next) = feed::page(T, account.seed, account.events, since, limit);
    state.served(T, evs.len());
    let items: Vec<_> = evs.into_iter().map(|e| render(e, account.seed)).collect();
    HttpResponse::Ok().json(serde_json::json!({ "items": items, "next": next.to_string(), "hasMore": next < account.events }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/emulations/mpet/api/v1/me").route(web::get().to(me)))
        .service(
            web::resource("/emulations/mpet/api/v1/container-events").route(web::get().to(events)),
        );
}

//! ECT MyTerminal emulation: OAuth 2.0 client credentials + an APIM subscription key.
//!
//! `POST /emulations/ect/oauth/token` (form `grant_type=client_credentials`, `client_id`,
//! `client_secret`, optional `scope=containers.read containers.extended`) -> `{access_token,
//! token_type, expires_in, scope}`; the `containers.extended` scope is granted only when ECT has
//! approved extended permissions for the account (RFC 6749 3.3: the server may narrow the scope).
//! `GET /emulations/ect/myterminal/api/v1/container-events?since=&limit=` with `Authorization:
//! Bearer` and `Ocp-Apim-Subscription-Key` -> `{value: [...], nextSince, hasMore, permissionLevel}`.
//! With basic permissions only discharge, load, gate in and gate out are returned, without vessel,
//! yard or customs details.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::faults::Phase;
use super::feed::{self, FeedEvent};
use super::{error, EmulationsState, FeedQuery};
use crate::terminals::codes;
use crate::terminals::event::EventKind;
use crate::terminals::Terminal;

const T: Terminal = Terminal::Ect;
pub const SUBSCRIPTION_HEADER: &str = "Ocp-Apim-Subscription-Key";
pub const SCOPE_BASIC: &str = "containers.read";
pub const SCOPE_EXTENDED: &str = "containers.extended";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    pub grant_type: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EctEvent {
    event_id: String,
    container_number: String,
    event_code: &'static str,
    event_date_time: String,
    terminal: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vessel_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    yard_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customs_status: Option<&'static str>,
}

fn basic_kind(k: EventKind) -> bool {
    matches!(
        k,
        EventKind::Discharge | EventKind::Load | EventKind::GateIn | EventKind::GateOut
    )
}

fn render(e: FeedEvent, extended: bool) -> EctEvent {
    EctEvent {
        event_id: e.id,
        container_number: e.equipment,
        event_code: codes::ECT.code(e.kind),
        event_date_time: e.at.to_rfc3339(),
        terminal: e.terminal_code,
        vessel_name: extended.then_some(e.vessel),
        yard_location: if extended { e.yard_position } else { None },
        customs_status: if extended { e.customs_status } else { None },
    }
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .json(serde_json::json!({ "error": code, "error_description": description }))
}

/// OAuth 2.0 token endpoint (client credentials).
#[utoipa::path(post, path = "/emulations/ect/oauth/token", tag = "emulations",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "{access_token, token_type, expires_in, scope}"), (status = 400), (status = 401), (status = 403), (status = 423), (status = 503)))]
pub async fn token(state: web::Data<EmulationsState>, form: web::Form<TokenForm>) -> HttpResponse {
    if form.grant_type != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    if let Err(r) = state.gate(T, Phase::Auth, Some(&form.client_id)).await {
        return r;
    }
    let Some(account) = state.login(T, &form.client_id, &form.client_secret) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    };
    let wants_extended = form
        .scope
        .as_deref()
        .is_some_and(|s| s.split_whitespace().any(|x| x == SCOPE_EXTENDED));
    let scope = if wants_extended && account.extended_approved {
        format!("{SCOPE_BASIC} {SCOPE_EXTENDED}")
    } else {
        SCOPE_BASIC.to_string()
    };
    // The token remembers the scope: encode it in the session key.
    let token = state.open_session(T, &account.identifier);
    let token = if scope.contains(SCOPE_EXTENDED) {
        format!("x{token}")
    } else {
        format!("b{token}")
    };
    HttpResponse::Ok().json(serde_json::json!({
        "access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": scope,
    }))
}

/// Container events, reduced without approved extended permissions.
#[utoipa::path(get, path = "/emulations/ect/myterminal/api/v1/container-events", tag = "emulations",
    params(FeedQuery),
    responses((status = 200, description = "{value, nextSince, hasMore, permissionLevel}"), (status = 401), (status = 403), (status = 503)))]
pub async fn events(
    state: web::Data<EmulationsState>,
    req: HttpRequest,
    q: web::Query<FeedQuery>,
) -> HttpResponse {
    let bearer = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.strip_prefix("Bearer "))
        .unwrap_or("");
    let (extended, session) = match bearer.split_at_checked(1) {
        Some(("x", rest)) => (true, rest),
        Some(("b", rest)) => (false, rest),
        _ => (false, ""),
    };
    let Some(account) = state.session_account(T, session) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Missing, invalid or expired access token.",
        );
    };
    let key = req
        .headers()
        .get(SUBSCRIPTION_HEADER)
        .and_then(|v| v.to_str().ok());
    if key.is_none() || key != account.subscription_key.as_deref() {
        return HttpResponse::Unauthorized().json(serde_json::json!({
            "statusCode": 401,
            "error": "invalid_subscription_key",
            "message": "Access denied due to missing or invalid subscription key.",
        }));
    }
    if let Err(r) = state.gate(T, Phase::Data, Some(&account.identifier)).await {
        return r;
    }
    let (since, limit) = match q.parse() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (evs, next) = feed::page(T, account.seed, account.events, since, limit);
    let value: Vec<_> = evs
        .into_iter()
        .filter(|e| extended || basic_kind(e.kind))
        .map(|e| render(e, extended))
        .collect();
    state.served(T, value.len());
    HttpResponse::Ok().json(serde_json::json!({
        "value": value,
        "nextSince": next.to_string(),
        "hasMore": next < account.events,
        "permissionLevel": if extended { "extended" } else { "basic" },
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/emulations/ect/oauth/token").route(web::post().to(token)))
        .service(
            web::resource("/emulations/ect/myterminal/api/v1/container-events")
                .route(web::get().to(events)),
        );
}

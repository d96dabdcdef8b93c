//! T-Mining Secure Container Release (SCR) emulation, after its public developer documentation:
//! a JWT obtained by login is sent as `Authorization: Bearer <JWT>`; releases are identified by a
//! blockchain-style `address` (0x...); changes arrive as webhook-style `onRelease` events
//! `{release, event, organization, vat}` with events `transfer, update, block, unblock, delete,
//! revoke, greenlights`, after which the client GETs the release.
//!
//! Instead of pushing webhooks the emulation exposes the same events as a feed paged by cursor
//! (`GET /emulations/tmining/tmining/api/v1/events?since=&limit=`), each enriched with the
//! container number and, for `greenlights`, the changed lights (lower-case names and values, as
//! T-Mining documents them). `GET .../releases/{address}` returns the release object.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::faults::Phase;
use super::feed::{self, FeedEvent};
use super::{error, invalid_credentials, EmulationsState, FeedQuery};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{parse_equipment_number, EventKind};

const T: Terminal = Terminal::Tmining;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScrEvent {
    id: String,
    /// transfer | update | block | unblock | delete | revoke | greenlights
    event: &'static str,
    release: String,
    organization: &'static str,
    vat: &'static str,
    timestamp: String,
    container_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    greenlights: Option<serde_json::Value>,
}

/// The release address of a container: its number in hex, padded with a hash to 40 hex digits.
pub fn release_address(equipment: &str) -> String {
    let mut hex = hex::encode(equipment.as_bytes());
    let pad = hex::encode(Sha256::digest(equipment.as_bytes()));
    hex.push_str(&pad[..40usize.saturating_sub(hex.len())]);
    format!("0x{hex}")
}

fn equipment_of(address: &str) -> Option<String> {
    let hex = address.strip_prefix("0x")?;
    let raw = hex::decode(hex.get(..22)?).ok()?;
    parse_equipment_number(std::str::from_utf8(&raw).ok()?)
}

fn render(e: FeedEvent) -> ScrEvent {
    let (event, greenlights) = match e.kind {
        EventKind::Discharge => (
            "greenlights",
            Some(serde_json::json!({ "terminaloperation": "discharged" })),
        ),
        EventKind::CustomsStatus => (
            "greenlights",
            Some(
                serde_json::json!({ "customs": e.customs_status.unwrap_or("RELEASED").to_ascii_lowercase() }),
            ),
        ),
        EventKind::GateOut => (
            "greenlights",
            Some(serde_json::json!({ "gateoperation": "gateoutreceived" })),
        ),
        EventKind::VesselArrival => ("transfer", None),
        EventKind::YardLocation
        | EventKind::GateIn
        | EventKind::Load
        | EventKind::VesselDeparture => ("update", None),
    };
    ScrEvent {
        id: e.id,
        event,
        release: release_address(&e.equipment),
        organization: "Emulated Forwarding NV",
        vat: "BE0123456789",
        timestamp: e.at.to_rfc3339(),
        container_number: e.equipment,
        greenlights,
    }
}

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A JWT-shaped token: header and claims are real; the signature is an emulation (SHA-256 over a
/// per-token random value), and the emulation checks the token against its session table.
fn jwt(subject: &str, session: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let header = b64(&serde_json::json!({ "alg": "HS256", "typ": "JWT" }));
    let claims =
        b64(&serde_json::json!({ "sub": subject, "sid": session, "iat": now, "exp": now + 3600 }));
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(format!("{header}.{claims}.{session}")));
    format!("{header}.{claims}.{sig}")
}

fn session_of(token: &str) -> Option<String> {
    let claims = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    v.get("sid")?.as_str().map(str::to_string)
}

/// Log in; answers a JWT to send as bearer token.
#[utoipa::path(post, path = "/emulations/tmining/tmining/api/v1/auth/login", tag = "emulations",
    request_body = LoginRequest,
    responses((status = 200, description = "{token, expiresIn}"), (status = 401), (status = 403), (status = 423), (status = 503)))]
pub async fn login(
    state: web::Data<EmulationsState>,
    body: web::Json<LoginRequest>,
) -> HttpResponse {
    if let Err(r) = state.gate(T, Phase::Auth, Some(&body.username)).await {
        return r;
    }
    match state.login(T, &body.username, &body.password) {
        Some(a) => {
            let sid = state.open_session(T, &a.identifier);
            HttpResponse::Ok()
                .json(serde_json::json!({ "token": jwt(&a.identifier, &sid), "expiresIn": 3600 }))
        }
        None => invalid_credentials(),
    }
}

fn bearer_account(state: &EmulationsState, req: &HttpRequest) -> Option<super::Account> {
    let token = req
        .headers()
        .get("Authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    state.session_account(T, &session_of(token)?)
}

/// Release events (the `onRelease` webhook payloads), paged by cursor.
#[utoipa::path(get, path = "/emulations/tmining/tmining/api/v1/events", tag = "emulations",
    params(FeedQuery),
    responses((status = 200, description = "{data, cursor, hasMore}"), (status = 401), (status = 403), (status = 503)))]
pub async fn events(
    state: web::Data<EmulationsState>,
    req: HttpRequest,
    q: web::Query<FeedQuery>,
) -> HttpResponse {
    let Some(account) = bearer_account(&state, &req) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "JWT missing, invalid or expired.",
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
    HttpResponse::Ok().json(serde_json::json!({ "data": data, "cursor": next.to_string(), "hasMore": next < account.events }))
}

/// One release (the data to fetch after an `onRelease` event).
#[utoipa::path(get, path = "/emulations/tmining/tmining/api/v1/releases/{address}", tag = "emulations",
    params(("address" = String, Path, description = "release address (0x...)")),
    responses((status = 200, description = "release object"), (status = 401), (status = 404)))]
pub async fn release(
    state: web::Data<EmulationsState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let Some(account) = bearer_account(&state, &req) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "JWT missing, invalid or expired.",
        );
    };
    if let Err(r) = state.gate(T, Phase::Data, Some(&account.identifier)).await {
        return r;
    }
    let Some(equipment) = equipment_of(&path) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No release with this address.",
        );
    };
    let p = feed::profile(T, &equipment);
    HttpResponse::Ok().json(serde_json::json!({
        "address": path.as_str(),
        "deleted": false,
        "blocked": false,
        "release_data": {
            "billOfLading": {
                "blNumber": format!("EMUBL{:08}", p.hash % 100_000_000),
                "portOfLoading": "CNSHA",
                "portOfDestination": "BEANR",
                "vessel": p.vessel,
                "voyageNumber": p.voyage,
            },
            "container": {
                "containerNumber": equipment,
                "pickupLoCode": "BEANR",
                "loadStatus": "full",
                "moveType": if p.import { "import" } else { "export" },
            },
        },
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/emulations/tmining/tmining/api/v1/auth/login").route(web::post().to(login)),
    )
    .service(
        web::resource("/emulations/tmining/tmining/api/v1/events").route(web::get().to(events)),
    )
    .service(
        web::resource("/emulations/tmining/tmining/api/v1/releases/{address}")
            .route(web::get().to(release)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_address_round_trips() {
        let a = release_address("CSQU3054383");
        assert_eq!(a.len(), 42);
        assert_eq!(equipment_of(&a).as_deref(), Some("CSQU3054383"));
        assert_eq!(equipment_of("0x00"), None);
    }
}

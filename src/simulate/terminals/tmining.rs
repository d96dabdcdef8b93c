//! T-Mining Secure Container Release (SCR) emulation, after its public developer documentation:
//! a JWT obtained by login is sent as `Authorization: Bearer <JWT>`; releases are identified by a
//! blockchain-style `address` (0x...); a change is announced by an `onRelease` webhook whose body
//! is exactly `{release, event, organization, vat}` (events `TRANSFER`, `UPDATE`, `GREENLIGHTS`,
//! ... upper case as in T-Mining's example), after which the client GETs the release object
//! (`release_data.billOfLading`, `release_data.container`, `greenLights`, `address`, `deleted`,
//! `blocked`, `gateOut`).
//!
//! Releases follow an account's generated feed: feed event `i` moves its container's release
//! (discharge, customs, gate out change the green lights). `POST /emulations/tmining/webhooks`
//! sends the webhooks of a range of feed events to a receiver (signed with the receiver's secret);
//! `GET .../releases?since=&limit=` lists release objects (the adapter's gap-filling fallback;
//! the listing endpoint is ours, T-Mining's is not in the retrievable documentation).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::faults::Phase;
use super::feed;
use super::{error, invalid_credentials, EmulationsState, FeedQuery};
use crate::terminals::event::{parse_equipment_number, EventKind};
use crate::terminals::Terminal;

const T: Terminal = Terminal::Tmining;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
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

const ORGANIZATION: &str = "0x78f13e5253a30f0EE079f5DDE281B3F1efe70B94";
const VAT: &str = "BE0123456789";

/// The release object of the container of feed event `index` as it stands after that event, and
/// the `onRelease` event that announces the change (upper case, as in T-Mining's example).
pub fn release_at(seed: u64, index: u64) -> (String, &'static str, serde_json::Value) {
    let e = feed::event(T, seed, index);
    let step = index % feed::STEPS;
    let base = index - step;
    let p = feed::profile(T, &e.equipment);
    let mut customs = "notreleased".to_string();
    let mut terminal_operation = "unknown";
    let mut terminal_ready = "unknown";
    let mut gate = "unknown";
    let mut gate_out: Option<String> = None;
    let mut event = "UPDATE";
    for s in 0..=step {
        let ev = feed::event(T, seed, base + s);
        let before = (customs.clone(), terminal_operation, terminal_ready, gate);
        match ev.kind {
            EventKind::Discharge => terminal_operation = "discharged",
            EventKind::CustomsStatus => {
                customs = ev.customs_status.unwrap_or("RELEASED").to_ascii_lowercase()
            }
            EventKind::GateOut => {
                gate = "gateoutreceived";
                gate_out = Some(ev.at.to_rfc3339());
            }
            _ => {}
        }
        if customs == "released" && terminal_operation == "discharged" && gate == "unknown" {
            terminal_ready = "released";
        }
        if s == step {
            event = if s == 0 {
                "TRANSFER"
            } else if before != (customs.clone(), terminal_operation, terminal_ready, gate) {
                "GREENLIGHTS"
            } else {
                "UPDATE"
            };
        }
    }
    // The total light "in line with CPu": green when all four hold, yellow when only customs is
    // orange (scan, transhipment, port equalisation, FASFC), red otherwise.
    let others = terminal_operation == "discharged" && terminal_ready == "released";
    let total = match customs.as_str() {
        "released" if others => "green",
        "selectedforscan" | "transhipment" | "portequalisation" | "favv"
            if terminal_operation == "discharged" =>
        {
            "yellow"
        }
        _ => "red",
    };
    let address = release_address(&e.equipment);
    let valid_from = feed::event(T, seed, base).at;
    let object = serde_json::json!({
        "release_data": {
            "billOfLading": {
                "blNumber": format!("EMUBL{:08}", p.hash % 100_000_000),
                "portOfLoading": "CNSHA",
                "portOfDestination": "BEANR",
                "vessel": p.vessel,
                "agent": "EMULATED AGENT",
                "stayNumber": format!("{:05}", p.hash % 100_000),
                "voyageNumber": p.voyage,
                "lineCode": "EMU",
            },
            "container": {
                "containerNumber": e.equipment,
                "containerStatus": if gate_out.is_some() { "picked_up" } else { "released" },
                "pickupLocation": p.terminal_code,
                "pickupLoCode": "BEANR",
                "validFrom": valid_from.to_rfc3339(),
                "validUntil": (valid_from + chrono::Duration::days(60)).to_rfc3339(),
                "isoTypeCode": "45G1",
                "loadStatus": "full",
                "moveType": if p.import { "import" } else { "export" },
            },
        },
        "greenLights": {
            "commercialrelease": "ok",
            "customs": customs,
            "customsprogress": if customs == "released" { "partiallycleared" } else { "unknown" },
            "terminaloperation": terminal_operation,
            "terminalready": terminal_ready,
            "gateoperation": gate,
            "total": total,
        },
        "address": address,
        "deleted": false,
        "blocked": customs == "documentarycontrol",
        "gateOut": gate_out,
    });
    (address, event, object)
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

/// The organisation's releases, paged by cursor (the gap-filling fallback of the adapter): one
/// release object per feed event, as it stood after that event.
#[utoipa::path(get, path = "/emulations/tmining/tmining/api/v1/releases", tag = "emulations",
    params(FeedQuery),
    responses((status = 200, description = "{data: [release], cursor, hasMore}"), (status = 401), (status = 403), (status = 429), (status = 503)))]
pub async fn releases(
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
    let end = since.saturating_add(limit).min(account.events).max(since);
    let data: Vec<_> = (since..end)
        .map(|i| {
            let (address, _, object) = release_at(account.seed, i);
            state.remember_release(&address, i, object.clone());
            object
        })
        .collect();
    state.served(T, data.len());
    HttpResponse::Ok().json(serde_json::json!({ "data": data, "cursor": end.to_string(), "hasMore": end < account.events }))
}

/// Body of `POST /emulations/tmining/webhooks`: send the `onRelease` webhooks of an account's
/// feed events `from..from+count` to `url`, each after updating its release.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookBurst {
    pub url: String,
    pub secret: String,
    /// The account whose feed drives the releases (default: the demo account).
    pub account: Option<String>,
    #[serde(default)]
    pub from: u64,
    pub count: u64,
    /// `signature` (default: `X-Scr-Signature` HMAC) or `bearer` (`Authorization: Bearer <secret>`).
    pub auth: Option<String>,
    /// Deliveries in flight (default 16, at most 64).
    pub concurrency: Option<usize>,
}

/// What a burst did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BurstResult {
    pub sent: u64,
    /// Answers by HTTP status (0: no answer).
    pub statuses: std::collections::BTreeMap<u16, u64>,
    pub elapsed_ms: u64,
}

/// Send `onRelease` webhooks (test tooling; loopback receivers only make sense here).
#[utoipa::path(post, path = "/emulations/tmining/webhooks", tag = "emulations",
    request_body = WebhookBurst,
    responses((status = 200, body = BurstResult), (status = 400), (status = 404)))]
pub async fn send_webhooks(
    state: web::Data<EmulationsState>,
    body: web::Json<WebhookBurst>,
) -> HttpResponse {
    use futures::StreamExt;
    let b = body.into_inner();
    if b.count > 100_000 {
        return error(
            StatusCode::BAD_REQUEST,
            "too_many",
            "count is at most 100000",
        );
    }
    let account = match &b.account {
        Some(id) => state
            .accounts(T)
            .into_iter()
            .find(|a| a.identifier.eq_ignore_ascii_case(id)),
        None => state.accounts(T).into_iter().next(),
    };
    let Some(account) = account else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such account");
    };
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "no HTTP client",
            )
        }
    };
    let bearer = b.auth.as_deref() == Some("bearer");
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(b.from..b.from.saturating_add(b.count))
        .map(|i| {
            let (address, event, object) = release_at(account.seed, i);
            state.remember_release(&address, i, object);
            let payload = serde_json::json!({ "release": address, "event": event, "organization": ORGANIZATION, "vat": VAT }).to_string();
            let mut req = client.post(&b.url).header("content-type", "application/json");
            req = if bearer {
                req.header("authorization", format!("Bearer {}", b.secret))
            } else {
                let t = chrono::Utc::now().timestamp();
                req.header(
                    crate::terminals::tmining::SIGNATURE_HEADER,
                    crate::terminals::tmining::sign(&b.secret, t, payload.as_bytes()),
                )
            };
            async move {
                match req.body(payload).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(b.concurrency.unwrap_or(16).clamp(1, 64))
        .collect()
        .await;
    let mut by_status = std::collections::BTreeMap::new();
    for s in &statuses {
        *by_status.entry(*s).or_insert(0u64) += 1;
    }
    HttpResponse::Ok().json(BurstResult {
        sent: statuses.len() as u64,
        statuses: by_status,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
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
    match state.release(&path) {
        Some(object) if equipment_of(&path).is_some() => HttpResponse::Ok().json(object),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No release with this address.",
        ),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/emulations/tmining/tmining/api/v1/auth/login").route(web::post().to(login)),
    )
    .service(
        web::resource("/emulations/tmining/tmining/api/v1/releases").route(web::get().to(releases)),
    )
    .service(web::resource("/emulations/tmining/webhooks").route(web::post().to(send_webhooks)))
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

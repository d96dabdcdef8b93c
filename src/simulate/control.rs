//! The `/simulator/v1` control API: what CPu has no API for (demo credentials, customs, the clock,
//! container state, webhooks, faults, journals, isolated worlds, reset).

use super::cpu::notifications::detail;
use super::edge::{equipment, locode, read_json};
use super::error::ApiError;
use super::state::{CallRecord, Delivery, Fault, SimState, Webhook, WorldHandle, DEFAULT_WORLD};
use actix_web::{web, HttpRequest, HttpResponse};
use cpu_simulator::{
    Action, Command, CustomsValue, NxtEntityId, Party, Role, TransportMode, World,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

type Result<T> = std::result::Result<T, ApiError>;

/// Header naming the world of a control call.
pub const WORLD_HEADER: &str = "X-Sim-World";

fn world_of(req: &HttpRequest, state: &SimState) -> Result<Arc<WorldHandle>> {
    let id = req
        .headers()
        .get(WORLD_HEADER)
        .and_then(|v| v.to_str().ok())
        .map_or(DEFAULT_WORLD, str::trim);
    state.world(id)
}

/// A party with its demo credentials.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartyView {
    /// Handle for scenarios (`psa`, `agent`, ...).
    pub key: String,
    /// Role.
    #[schema(value_type = String, example = "TerminalOperator")]
    pub role: Role,
    /// Transport operators: Truck, Barge or Rail.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub transport_mode: Option<TransportMode>,
    /// NxtPort entity id.
    pub nxt_entity_id: String,
    /// Company name.
    pub name: String,
    /// OAuth username.
    pub username: String,
    /// OAuth password.
    pub password: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API key.
    pub subscription_key: String,
    /// Terminal operators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_code: Option<String>,
    /// Terminal operators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingestion_id: Option<String>,
    /// Truck operators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alfapass_numbers: Vec<String>,
    /// EORI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// VAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat: Option<String>,
    /// DUNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duns: Option<String>,
    /// APCS code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apcs_code: Option<String>,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        let c = &p.credentials;
        PartyView {
            key: p.key.clone(),
            role: p.role,
            transport_mode: p.transport_mode,
            nxt_entity_id: p.nxt_entity_id.as_str().to_owned(),
            name: p.name.clone(),
            username: c.username.clone(),
            password: c.password.clone(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            subscription_key: c.subscription_key.clone(),
            terminal_code: p.terminal_code.as_ref().map(|t| t.as_str().to_owned()),
            ingestion_id: p.ingestion_id.map(|i| i.to_string()),
            alfapass_numbers: p
                .alfapass_numbers
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            eori: p.eori.clone(),
            vat: p.vat.clone(),
            duns: p.duns.clone(),
            apcs_code: p.apcs_code.clone(),
        }
    }
}

fn parties_of(world: &WorldHandle) -> Vec<PartyView> {
    world.read().parties().iter().map(PartyView::from).collect()
}

/// The world's parties with their demo credentials.
#[utoipa::path(get, path = "/simulator/v1/parties", tag = "Simulator control",
    params(("X-Sim-World" = Option<String>, Header, description = "World id (default world otherwise)")),
    responses((status = 200, body = [PartyView]), (status = 404, description = "Unknown world")))]
pub async fn parties(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    Ok(HttpResponse::Ok().json(parties_of(&w)))
}

/// A new isolated world.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorldCreated {
    /// Send as `X-Sim-World` on control calls.
    pub world_id: String,
    /// Its parties and their credentials (valid in this world only).
    pub parties: Vec<PartyView>,
}

/// Create a fresh world with its own parties and credentials. With no body it holds the
/// simulator's parties; a body `{"parties": [...]}` (the fixture format) declares them instead.
/// Credentials are always generated anew.
#[utoipa::path(post, path = "/simulator/v1/worlds", tag = "Simulator control",
    request_body(content = Object, description = "Optional fixture: {\"parties\": [...]}"),
    responses((status = 201, body = WorldCreated), (status = 400, description = "Invalid fixture or too many worlds")))]
pub async fn create_world(state: web::Data<SimState>, body: web::Bytes) -> Result<HttpResponse> {
    if body.len() > state.config.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(state.config.max_body_bytes));
    }
    /// The optional body: `{}` or no `parties` means the simulator's own parties.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewWorld {
        #[serde(default)]
        parties: Vec<Party>,
    }
    let fixture = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let w: NewWorld = super::edge::parse_json(&body)?;
        (!w.parties.is_empty()).then_some(cpu_simulator::Fixture { parties: w.parties })
    };
    let w = state.create_world(fixture)?;
    Ok(HttpResponse::Created().json(WorldCreated {
        world_id: w.id().to_owned(),
        parties: parties_of(&w),
    }))
}

/// Delete a world and its credentials.
#[utoipa::path(delete, path = "/simulator/v1/worlds/{worldId}", tag = "Simulator control",
    params(("worldId" = String, Path, description = "World id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Unknown world")))]
pub async fn delete_world(
    state: web::Data<SimState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    state.delete_world(&path)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reset a world to its start (same credentials).
#[utoipa::path(post, path = "/simulator/v1/reset", tag = "Simulator control",
    responses((status = 204, description = "Reset")))]
pub async fn reset(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    state.reset_world(&w)?;
    Ok(HttpResponse::NoContent().finish())
}

/// What customs says.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomsBody {
    /// Any Customs light value: NOTRELEASED, RELEASED, SELECTEDFORSCAN, FAVV, TRANSHIPMENT,
    /// PORTEQUALISATION, DOCUMENTARYCONTROL, NOTAPPLICABLE.
    #[schema(value_type = String, example = "RELEASED")]
    pub status: CustomsValue,
}

/// Answer of a write in the control API.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlAccepted {
    /// Reference carried by the notifications it caused.
    pub public_reference_id: Option<String>,
    /// Number of notifications caused.
    pub notifications: usize,
}

/// Set the customs status of a container (as customs / CCRM).
#[utoipa::path(put, path = "/simulator/v1/{locode}/containers/{equipment}/customs", tag = "Simulator control",
    request_body = CustomsBody, params(("locode" = String, Path, description = "UN/LOCODE"), ("equipment" = String, Path, description = "Container number")),
    responses((status = 200, body = ControlAccepted), (status = 400, description = "Bad input")))]
pub async fn customs(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let (l, e) = (locode(&path.0)?, equipment(&path.1)?);
    let body: CustomsBody = read_json(&req, payload, state.config.max_body_bytes).await?;
    let customs = w
        .read()
        .parties()
        .iter()
        .find(|p| p.role == Role::Customs)
        .map(|p| p.nxt_entity_id.clone())
        .ok_or_else(|| ApiError::NotFound("this world has no customs party".into()))?;
    let outcome = w.apply(Command::Act {
        caller: customs,
        locode: l,
        equipment: e,
        external_reference_id: None,
        action: Box::new(Action::SetCustoms(body.status)),
    })?;
    let n = outcome.notifications.len();
    super::webhooks::enqueue(&state, &w, outcome.notifications);
    Ok(HttpResponse::Ok().json(ControlAccepted {
        public_reference_id: outcome.public_reference_id.map(|r| r.to_string()),
        notifications: n,
    }))
}

/// Move the clock by this many seconds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    /// Seconds, 0 or more.
    pub seconds: i64,
}

/// The world's clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// Now, on the world's virtual clock.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Advance the virtual clock; expiries and archives that fall due fire.
#[utoipa::path(post, path = "/simulator/v1/clock/advance", tag = "Simulator control",
    request_body = AdvanceBody, responses((status = 200, body = ClockView), (status = 400, description = "Negative or malformed")))]
pub async fn advance(
    req: HttpRequest,
    state: web::Data<SimState>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let body: AdvanceBody = read_json(&req, payload, state.config.max_body_bytes).await?;
    if body.seconds < 0 || body.seconds > 10 * 365 * 86_400 {
        return Err(ApiError::field("seconds", "must be between 0 and 10 years"));
    }
    let (outcome, now) = w.apply_then(
        Command::AdvanceClock {
            seconds: body.seconds,
        },
        World::now,
    )?;
    super::webhooks::enqueue(&state, &w, outcome.notifications);
    Ok(HttpResponse::Ok().json(ClockView { now }))
}

/// Now on the world's clock.
#[utoipa::path(get, path = "/simulator/v1/clock", tag = "Simulator control",
    responses((status = 200, body = ClockView)))]
pub async fn clock(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let now = w.read().now();
    Ok(HttpResponse::Ok().json(ClockView { now }))
}

/// A container's full state: lights, derived status, release and pickup rights, history.
#[utoipa::path(get, path = "/simulator/v1/{locode}/containers/{equipment}", tag = "Simulator control",
    params(("locode" = String, Path, description = "UN/LOCODE"), ("equipment" = String, Path, description = "Container number")),
    responses((status = 200, description = "Container state", body = Object), (status = 404, description = "Never seen")))]
pub async fn container(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let (l, e) = (locode(&path.0)?, equipment(&path.1)?);
    let notifications = w.apply(Command::Tick)?.notifications;
    super::webhooks::enqueue(&state, &w, notifications);
    let world = w.read();
    let (stay, archived) = match world.stay(l, e) {
        Some(s) => (s, false),
        None => match world.archived_stays(l, e).last() {
            Some(s) => (s, true),
            None => {
                return Err(ApiError::NotFound(format!(
                    "container {e} is unknown in {l}"
                )))
            }
        },
    };
    let lights: Vec<serde_json::Value> = stay
        .lights
        .views()
        .iter()
        .map(|v| serde_json::json!({"name": v.name.as_str(), "value": v.value, "color": v.color.as_str()}))
        .collect();
    let body = serde_json::json!({
        "equipmentNumber": e.as_str(),
        "portLoCode": l.as_str(),
        "terminalCode": stay.terminal_code.as_ref().map(|t| t.as_str()),
        "lights": lights,
        "status": stay.lights.status().as_str(),
        "archived": archived,
        "gatedOutAt": stay.gated_out_at,
        "archivedAt": stay.archived_at,
        "releaseRights": stay.release_rights.iter().map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("status".into(), r.status().as_str().into());
                m.insert("holder".into(), r.holder().as_str().into());
            }
            v
        }).collect::<Vec<_>>(),
        "pickupRights": stay.release_rights.iter().filter_map(|r| r.pickup.as_ref()).collect::<Vec<_>>(),
        "waitingTerminalEvents": &stay.waiting,
        "billOfLadingNumbers": &stay.bill_of_lading_numbers,
        "history": world.history(stay),
    });
    Ok(HttpResponse::Ok().json(body))
}

fn party_id(w: &WorldHandle, id: &str) -> Result<NxtEntityId> {
    let world = w.read();
    world
        .parties()
        .iter()
        .find(|p| p.nxt_entity_id.as_str().eq_ignore_ascii_case(id.trim()) || p.key == id.trim())
        .map(|p| p.nxt_entity_id.clone())
        .ok_or_else(|| ApiError::NotFound(format!("no party '{id}' in this world")))
}

/// Register a webhook for a party (replaces its list with this one).
#[utoipa::path(put, path = "/simulator/v1/parties/{party}/webhooks", tag = "Simulator control",
    request_body = Webhook, params(("party" = String, Path, description = "NxtEntityId or key")),
    responses((status = 200, body = [Webhook]), (status = 400, description = "Bad URL"), (status = 404, description = "Unknown party")))]
pub async fn put_webhook(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let id = party_id(&w, &path)?;
    let hook: Webhook = read_json(&req, payload, state.config.max_body_bytes).await?;
    let url = reqwest::Url::parse(&hook.url).map_err(|e| ApiError::field("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::field("url", "must be http or https"));
    }
    w.set_webhooks(id.clone(), vec![hook.clone()]);
    Ok(HttpResponse::Ok().json(redacted(vec![hook])))
}

/// The webhooks of a party.
#[utoipa::path(get, path = "/simulator/v1/parties/{party}/webhooks", tag = "Simulator control",
    params(("party" = String, Path, description = "NxtEntityId or key")), responses((status = 200, body = [Webhook])))]
pub async fn get_webhooks(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let id = party_id(&w, &path)?;
    let hooks = w.webhooks_of(&id);
    Ok(HttpResponse::Ok().json(redacted(hooks)))
}

/// Webhooks as the control API shows them: the secrets a registration carries (header values,
/// `token`/`secret`/`key` query parameters) are never handed back (issue 11: anyone could read
/// the sim-mode gateway's webhook secret and forge notifications with it).
pub fn redacted(hooks: Vec<super::state::Webhook>) -> Vec<super::state::Webhook> {
    hooks
        .into_iter()
        .map(|mut h| {
            for v in h.headers.values_mut() {
                *v = "[REDACTED]".into();
            }
            if let Ok(mut url) = reqwest::Url::parse(&h.url) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| {
                        let secret = ["token", "secret", "key", "code", "sig"]
                            .iter()
                            .any(|s| k.to_ascii_lowercase().contains(s));
                        let v = if secret {
                            "[REDACTED]".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                if !pairs.is_empty() {
                    url.query_pairs_mut().clear().extend_pairs(pairs);
                    h.url = url.to_string();
                }
            }
            h
        })
        .collect()
}

/// Remove the webhooks of a party.
#[utoipa::path(delete, path = "/simulator/v1/parties/{party}/webhooks", tag = "Simulator control",
    params(("party" = String, Path, description = "NxtEntityId or key")), responses((status = 204, description = "Removed")))]
pub async fn delete_webhooks(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let id = party_id(&w, &path)?;
    w.remove_webhooks(&id);
    Ok(HttpResponse::NoContent().finish())
}

/// Every notification a party received (retention applies), as `NotificationDetail`.
#[utoipa::path(get, path = "/simulator/v1/parties/{party}/notifications", tag = "Simulator control",
    params(("party" = String, Path, description = "NxtEntityId or key")), responses((status = 200, body = [Object])))]
pub async fn party_notifications(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let id = party_id(&w, &path)?;
    let world = w.read();
    let list: Vec<cpu_contract::NotificationDetail> = world
        .notifications()
        .for_receiver(&id)
        .iter()
        .map(detail)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// The webhook delivery journal of the world.
#[utoipa::path(get, path = "/simulator/v1/webhook-deliveries", tag = "Simulator control",
    responses((status = 200, body = [Delivery])))]
pub async fn deliveries(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let list: Vec<Delivery> = w.deliveries();
    Ok(HttpResponse::Ok().json(list))
}

/// The NxtPort-surface call journal of the world.
#[utoipa::path(get, path = "/simulator/v1/calls", tag = "Simulator control",
    responses((status = 200, body = [CallRecord])))]
pub async fn calls(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let list: Vec<CallRecord> = w.calls();
    Ok(HttpResponse::Ok().json(list))
}

/// Inject a fault.
#[utoipa::path(post, path = "/simulator/v1/faults", tag = "Simulator control",
    request_body = Fault, responses((status = 201, body = [Fault]), (status = 400, description = "Bad fault")))]
pub async fn add_fault(
    req: HttpRequest,
    state: web::Data<SimState>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let f: Fault = read_json(&req, payload, state.config.max_body_bytes).await?;
    if let Some((field, problem)) = f.problem() {
        return Err(ApiError::field(field, problem));
    }
    let faults = w.add_fault(f);
    Ok(HttpResponse::Created().json(faults))
}

/// The active faults.
#[utoipa::path(get, path = "/simulator/v1/faults", tag = "Simulator control", responses((status = 200, body = [Fault])))]
pub async fn list_faults(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    let faults = w.faults();
    Ok(HttpResponse::Ok().json(faults))
}

/// Remove all faults.
#[utoipa::path(delete, path = "/simulator/v1/faults", tag = "Simulator control", responses((status = 204, description = "Cleared")))]
pub async fn clear_faults(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world_of(&req, &state)?;
    w.clear_faults();
    Ok(HttpResponse::NoContent().finish())
}

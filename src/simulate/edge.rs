//! The edge of every NxtPort call: credentials, budget, injected faults, body parsing.

use super::error::ApiError;
use super::state::{SimState, WorldHandle};
use actix_web::{web, HttpMessage, HttpRequest};
use cpu_contract::{EXTERNAL_REFERENCE_ID, SUBSCRIPTION_KEY_HEADER, SUBSCRIPTION_KEY_QUERY};
use cpu_simulator::{EquipmentNumber, Party, UnLocode};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// An authenticated NxtPort call.
#[derive(Debug, Clone)]
pub struct CpuCall {
    /// The caller's world.
    pub world: Arc<WorldHandle>,
    /// The calling party.
    pub party: Arc<Party>,
    /// `External-Reference-Id`, echoed.
    pub external_reference_id: Option<String>,
}

/// Stored in request extensions so the call journal can name the caller.
#[derive(Debug, Clone)]
pub struct JournalTag {
    /// World.
    pub world: Arc<WorldHandle>,
    /// The calling party.
    pub party: Arc<Party>,
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let h = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn subscription_key(req: &HttpRequest) -> Option<String> {
    if let Some(k) = req
        .headers()
        .get(SUBSCRIPTION_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return Some(k.trim().to_owned());
    }
    let query = req.query_string();
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(SUBSCRIPTION_KEY_QUERY))
        .map(|(_, v)| v)
}

/// Authenticate a call like NxtPort: bearer token (not expired on the world's clock) and, when
/// `require_key`, a subscription key of the same company. Then the key's budget, then faults.
pub async fn authenticate(
    req: &HttpRequest,
    state: &SimState,
    require_key: bool,
) -> Result<CpuCall, ApiError> {
    let key = subscription_key(req);
    if require_key && key.is_none() {
        return Err(ApiError::Unauthorized(
            "Access denied due to missing subscription key. Make sure to include the subscription key when making requests to an API.".into(),
        ));
    }
    let token = bearer(req).ok_or_else(|| {
        ApiError::Unauthorized("Missing authorization token (Authorization: Bearer)".into())
    })?;
    let info = state
        .tokens
        .get(token)
        .map(|t| t.clone())
        .ok_or_else(|| ApiError::Unauthorized("Invalid or unknown bearer token".into()))?;
    let world = info.world;
    // The world's clock: token expiry and the key's rate-limit window both run on it.
    let now = world.read().now();
    if info.expires_at <= now {
        return Err(ApiError::Unauthorized(
            "The bearer token has expired".into(),
        ));
    }
    let rate_key = match &key {
        Some(k) => {
            let same_company = state
                .keys
                .get(k)
                .map(|p| p.world == world.id() && p.party == info.party.nxt_entity_id)
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.".into(),
                    )
                })?;
            if !same_company {
                return Err(ApiError::Unauthorized(
                    "The subscription key does not belong to the company of the bearer token"
                        .into(),
                ));
            }
            k.clone()
        }
        None => info.party.credentials.subscription_key.clone(),
    };
    let party = info.party;
    req.extensions_mut().insert(JournalTag {
        world: Arc::clone(&world),
        party: Arc::clone(&party),
    });
    state.check_rate(&rate_key, now)?;
    if let Some(effect) = world.take_fault(req.method().as_str(), req.path()) {
        if let Some(latency) = effect.latency {
            tokio::time::sleep(latency).await;
        }
        if effect.drop {
            return Err(ApiError::Dropped);
        }
        match effect.status {
            Some(429) => return Err(ApiError::TooManyRequests(1)),
            Some(s) if s >= 400 => return Err(ApiError::Internal(s)),
            _ => {}
        }
    }
    let external_reference_id = req
        .headers()
        .get(EXTERNAL_REFERENCE_ID)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    Ok(CpuCall {
        world,
        party,
        external_reference_id,
    })
}

/// Read a JSON body of at most `limit` bytes; malformed JSON, wrong types and missing fields are a
/// 400 naming the field.
pub async fn read_json<T: DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<T, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = web::BytesMut::with_capacity(declared);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            field: None,
            detail: format!("could not read the request body: {e}"),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    parse_json(&body)
}

/// Parse JSON with a 400 that names the problem and the field (its JSON path).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field(
            "$",
            "A non-empty request body is required.",
        ));
    }
    crate::http_edge::parse_json_body(body).map_err(|f| {
        // Not JSON at all, or the wrong shape at its root: the body as a whole (`$`).
        let field = f
            .field
            .filter(|_| !f.syntax)
            .unwrap_or_else(|| "$".to_owned());
        ApiError::field(
            field,
            format!("The JSON value could not be converted: {}", f.message),
        )
    })
}

/// Parse the `{locode}` path segment.
pub fn locode(s: &str) -> Result<UnLocode, ApiError> {
    UnLocode::parse(s).map_err(|e| ApiError::field("portLoCode", e.to_string()))
}

/// Parse an equipment number (ISO 6346 with check digit).
pub fn equipment(s: &str) -> Result<EquipmentNumber, ApiError> {
    EquipmentNumber::parse(s).map_err(|e| ApiError::field("equipmentNumber", e.to_string()))
}

/// When a body repeats a path value, both must agree.
pub fn same(field: &str, body: Option<&str>, path: &str) -> Result<(), ApiError> {
    match body.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) if !b.eq_ignore_ascii_case(path) => Err(ApiError::field(
            field,
            format!("'{b}' does not match '{path}' in the URL"),
        )),
        _ => Ok(()),
    }
}

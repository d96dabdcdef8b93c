//! What left the shown world: the webhook deliveries (receiver, event, container, attempts,
//! outcome), the webhooks each party registered, and the latest calls on the NxtPort surface.
//! Webhook secrets (header values, secret query parameters) are redacted exactly as the control
//! API redacts them.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::chrome::{render, world, Chrome, Result};
use crate::simulate::control::redacted;
use crate::simulate::state::{SimState, Webhook};

/// Most rows of each journal the page shows (newest first).
const ROWS: usize = 200;

pub struct DeliveryRow {
    at: String,
    receiver: String,
    url: String,
    event: String,
    equipment: String,
    attempts: u32,
    last_status: String,
    outcome: String,
    error: String,
}

pub struct HookRow {
    party: String,
    url: String,
    headers: String,
}

pub struct CallRow {
    at: String,
    method: String,
    path: String,
    status: u16,
    party: String,
}

#[derive(Template)]
#[template(path = "sandbox/deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    error: Option<String>,
    deliveries: Vec<DeliveryRow>,
    hooks: Vec<HookRow>,
    calls: Vec<CallRow>,
}

/// A URL as the page shows it (secret query parameters redacted).
fn shown_url(url: &str) -> String {
    redacted(vec![Webhook {
        url: url.to_owned(),
        headers: HashMap::new(),
    }])
    .pop()
    .map(|h| h.url)
    .unwrap_or_default()
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `GET /sandbox/deliveries`.
#[tracing::instrument(skip_all)]
pub async fn deliveries(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    let name = |id: &str| {
        w.parties()
            .find(|p| p.nxt_entity_id.as_str() == id || p.key == id)
            .map(|p| format!("{} ({})", p.name, p.key))
            .unwrap_or_else(|| id.to_owned())
    };
    let deliveries = w
        .deliveries()
        .iter()
        .rev()
        .take(ROWS)
        .map(|d| DeliveryRow {
            at: time(d.at),
            receiver: name(&d.receiver),
            url: shown_url(&d.url),
            event: d.event.clone(),
            equipment: d.equipment_number.clone().unwrap_or_default(),
            attempts: d.attempts,
            last_status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            outcome: d.outcome.clone(),
            error: d.error.clone().unwrap_or_default(),
        })
        .collect();
    let mut hooks: Vec<HookRow> = w
        .all_webhooks()
        .into_iter()
        .flat_map(|(party, list)| {
            redacted(list.clone()).into_iter().map(move |h| {
                let mut headers: Vec<String> =
                    h.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                headers.sort();
                (party.clone(), h.url, headers.join(", "))
            })
        })
        .map(|(party, url, headers)| HookRow {
            party: name(party.as_str()),
            url,
            headers,
        })
        .collect();
    hooks.sort_by(|a, b| a.party.cmp(&b.party));
    let calls = w
        .calls()
        .iter()
        .rev()
        .take(ROWS)
        .map(|c| CallRow {
            at: time(c.at),
            method: c.method.clone(),
            path: c.path.clone(),
            status: c.status,
            party: c.party.clone().unwrap_or_default(),
        })
        .collect();
    render(
        StatusCode::OK,
        &DeliveriesPage {
            chrome: Chrome::new(&req, &state, &w, "deliveries"),
            error: None,
            deliveries,
            hooks,
            calls,
        },
    )
}

//! A container's merged timeline from every connected terminal, drawn as a picture (SVG)
//! with the same events as a table.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::data_sources::sources_internal;
use super::{nav, render, Result};
use crate::console::extract::SignedIn;
use crate::console::views::{self, Nav};
use crate::sources::catalogue::Terminal;
use crate::sources::model::parse_equipment_number;
use crate::sources::Sources;

struct LaneView {
    name: &'static str,
    y: i64,
}

struct EventView {
    x: i64,
    y: i64,
    kind: &'static str,
    label: String,
    short: String,
    when: String,
    source: &'static str,
    location: String,
    vessel: String,
    status: String,
}

#[derive(Template)]
#[template(path = "console/containers.html")]
struct ContainersPage {
    nav: Nav,
    equipment: String,
    searched: bool,
    error: Option<String>,
    events: Vec<EventView>,
    lanes: Vec<LaneView>,
    width: i64,
    height: i64,
    left: i64,
    right: i64,
    first: String,
    last: String,
}

#[derive(Deserialize)]
pub struct EquipmentQuery {
    equipment: Option<String>,
}

/// `GET /console/containers?equipment=`: the merged timeline as a picture and a table.
#[tracing::instrument(skip_all)]
pub async fn containers(
    signed: SignedIn,
    gw: web::Data<crate::gateway::state::GatewayState>,
    sources: web::Data<Sources>,
    q: web::Query<EquipmentQuery>,
) -> Result<HttpResponse> {
    let s = signed.session;
    let raw = q.equipment.as_deref().map(str::trim).unwrap_or_default();
    let mut page = ContainersPage {
        nav: nav(&gw, &s, "containers").await?,
        equipment: raw.chars().take(20).collect(),
        searched: !raw.is_empty(),
        error: None,
        events: Vec::new(),
        lanes: Vec::new(),
        width: 900,
        height: 0,
        left: 110,
        right: 880,
        first: String::new(),
        last: String::new(),
    };
    if raw.is_empty() {
        return render(StatusCode::OK, &page);
    }
    let Some(equipment) = parse_equipment_number(raw) else {
        page.error = Some(
            "Not an ISO 6346 container number (4 letters, 6 digits and the check digit).".into(),
        );
        return render(StatusCode::BAD_REQUEST, &page);
    };
    page.equipment = equipment.clone();
    let events = sources
        .timeline(&s.acting_entity_id, &equipment)
        .await
        .map_err(sources_internal)?;
    let mut sources_seen: Vec<Terminal> = Vec::new();
    for e in &events {
        if !sources_seen.contains(&e.source) {
            sources_seen.push(e.source);
        }
    }
    page.lanes = sources_seen
        .iter()
        .enumerate()
        .map(|(i, t)| LaneView {
            name: t.info().name,
            y: 40 + 50 * i as i64,
        })
        .collect();
    page.height = 40 + 50 * sources_seen.len() as i64 + 10;
    if let (Some(a), Some(b)) = (events.first(), events.last()) {
        page.first = views::when(a.occurred_at);
        page.last = views::when(b.occurred_at);
        let t0 = a.occurred_at.timestamp();
        let span = (b.occurred_at.timestamp() - t0).max(1);
        let n = events.len().max(2) as i64 - 1;
        page.events = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let lane = sources_seen
                    .iter()
                    .position(|t| *t == e.source)
                    .unwrap_or(0);
                // Half by time, half by order: events close in time stay readable.
                let by_time = (e.occurred_at.timestamp() - t0) * (page.right - page.left) / span;
                let by_order = i as i64 * (page.right - page.left) / n;
                let kind = e.kind.as_str();
                let label = kind.replace('_', " ");
                EventView {
                    x: page.left + (by_time + by_order) / 2,
                    y: 40 + 50 * lane as i64,
                    kind,
                    short: label
                        .split(' ')
                        .map(|w| w.chars().next().unwrap_or(' '))
                        .collect::<String>()
                        .to_uppercase(),
                    label,
                    when: views::when(e.occurred_at),
                    source: e.source.info().name,
                    location: e.location.clone().unwrap_or_default(),
                    vessel: e.vessel.clone().unwrap_or_default(),
                    status: e.status.clone().unwrap_or_default(),
                }
            })
            .collect();
    }
    render(StatusCode::OK, &page)
}

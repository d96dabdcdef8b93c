//! Notifications received for the acting entity, with the seed's filters (event, container,
//! public reference, release id, the day stored and a time window on it). The filters are
//! validated by the same function as `GET /v1/notifications`, so the page and the API accept
//! and refuse the same input.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{internal, nav, non_empty, render, Result};
use crate::console::extract::SignedIn;
use crate::console::views::{self, Nav};
use crate::gateway::error::ApiError;
use crate::gateway::routes::notifications::{filter_of, NotificationsParams};
use crate::gateway::state::GatewayState;
use cpu_contract::NotificationEvent;

/// Most rows the page shows.
const LIMIT: i64 = 500;

struct NotificationRow {
    stored: String,
    event: String,
    kind: String,
    equipment: String,
    reference: String,
    release: String,
    source: String,
}

/// One filter input: its value as typed and its message after a 400.
#[derive(Default)]
struct Filter {
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    nav: Nav,
    events: Vec<&'static str>,
    event: Filter,
    equipment: Filter,
    reference: Filter,
    release: Filter,
    stored_on: Filter,
    from: Filter,
    to: Filter,
    /// A message no single field explains.
    error: Option<String>,
    limit: i64,
    notifications: Vec<NotificationRow>,
}

/// `?event=&equipment=&reference=&release=&storedOn=&from=&to=`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsQuery {
    event: Option<String>,
    equipment: Option<String>,
    reference: Option<String>,
    release: Option<String>,
    stored_on: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /console/notifications`.
#[tracing::instrument(skip_all)]
pub async fn notifications(
    signed: SignedIn,
    gw: web::Data<GatewayState>,
    q: web::Query<NotificationsQuery>,
) -> Result<HttpResponse> {
    let s = signed.session;
    let q = q.into_inner();
    let params = NotificationsParams {
        notification_event: non_empty(&q.event),
        equipment_number: non_empty(&q.equipment),
        public_reference_id: non_empty(&q.reference),
        release_id: non_empty(&q.release),
        stored_on: non_empty(&q.stored_on),
        time_window_from: non_empty(&q.from),
        time_window_to: non_empty(&q.to),
        limit: None,
    };
    let filter = |v: &Option<String>| Filter {
        value: non_empty(v).unwrap_or_default(),
        error: None,
    };
    let mut page = NotificationsPage {
        nav: nav(&gw, &s, "notifications").await?,
        events: NotificationEvent::ALL.iter().map(|e| e.as_str()).collect(),
        event: filter(&q.event),
        equipment: filter(&q.equipment),
        reference: filter(&q.reference),
        release: filter(&q.release),
        stored_on: filter(&q.stored_on),
        from: filter(&q.from),
        to: filter(&q.to),
        error: None,
        limit: LIMIT,
        notifications: Vec::new(),
    };
    let mut filter = match filter_of(params) {
        Ok(f) => f,
        Err(ApiError::InvalidField { field, message }) => {
            let slot = match field.as_str() {
                "notificationEvent" => Some(&mut page.event),
                "equipmentNumber" => Some(&mut page.equipment),
                "publicReferenceId" => Some(&mut page.reference),
                "releaseId" => Some(&mut page.release),
                "storedOn" => Some(&mut page.stored_on),
                "timeWindowFrom" => Some(&mut page.from),
                "timeWindowTo" => Some(&mut page.to),
                _ => None,
            };
            match slot {
                Some(f) => f.error = Some(message),
                None => page.error = Some(message),
            }
            return render(StatusCode::BAD_REQUEST, &page);
        }
        Err(e) => {
            page.error = Some(e.to_string());
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    filter.limit = LIMIT;
    page.notifications = gw
        .store
        .notifications(&s.acting_entity_id, &filter)
        .await
        .map_err(internal)?
        .into_iter()
        .rev()
        .map(|n| NotificationRow {
            stored: views::when(n.stored_on),
            event: n.event.unwrap_or_default(),
            kind: n.type_.unwrap_or_default(),
            equipment: n.equipment_number.unwrap_or_default(),
            reference: n.public_reference_id.unwrap_or_default(),
            release: n.release_id.unwrap_or_default(),
            source: n.source,
        })
        .collect();
    render(StatusCode::OK, &page)
}

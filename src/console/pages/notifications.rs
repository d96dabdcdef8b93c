//! Notifications received for the acting entity, newest first and paged (older / newer), with
//! the seed's filters (event, container, public reference, release id, the day stored and a
//! time window on it) kept across pages. The filters are validated by the same function as
//! `GET /v1/notifications`, so the page and the API accept and refuse the same input; a
//! refusal is shown next to its filter ([`FormState`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{internal, nav, non_empty, render, Result};
use crate::console::extract::SignedIn;
use crate::console::views::{self, Nav};
use crate::gateway::error::ApiError;
use crate::gateway::routes::notifications::{filter_of, NotificationsParams};
use crate::gateway::state::GatewayState;
use crate::http_edge::forms::{input_for, FormState};
use crate::store::notifications::{PageFrom, StoredNotification};
use cpu_contract::NotificationEvent;

/// Rows per page.
const PAGE: i64 = 50;

/// The filter inputs of the page (their names in the URL).
const INPUTS: [&str; 7] = [
    "event",
    "equipment",
    "reference",
    "release",
    "storedOn",
    "from",
    "to",
];

/// The API's parameter names and the page's inputs.
const API_FIELDS: [(&str, &str); 7] = [
    ("notificationEvent", "event"),
    ("equipmentNumber", "equipment"),
    ("publicReferenceId", "reference"),
    ("releaseId", "release"),
    ("storedOn", "storedOn"),
    ("timeWindowFrom", "from"),
    ("timeWindowTo", "to"),
];

struct NotificationRow {
    stored: String,
    event: String,
    kind: String,
    equipment: String,
    reference: String,
    release: String,
    source: String,
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    nav: Nav,
    events: Vec<&'static str>,
    /// The filters as typed, and a refusal next to its filter.
    form: FormState,
    page_size: i64,
    notifications: Vec<NotificationRow>,
    /// Links to the older and the newer page (the filters kept), when there are.
    older: Option<String>,
    newer: Option<String>,
}

/// A page link: `?before=` / `?after=` the (stored, id) of a row, as `millis.id`.
fn cursor_of(n: &StoredNotification) -> String {
    format!("{}.{}", n.stored_on.timestamp_millis(), n.id)
}

fn parse_cursor(v: &str) -> Option<(i64, String)> {
    let (at, id) = v.trim().split_once('.')?;
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    Some((at.parse().ok()?, id.to_owned())).filter(|_| valid_id)
}

/// `/console/notifications?` + the filters given + the page cursor.
fn link(pairs: &[(String, String)], cursor: (&str, String)) -> String {
    let mut kept: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, v)| INPUTS.contains(&k.as_str()) && !v.trim().is_empty())
        .cloned()
        .collect();
    kept.push((cursor.0.to_owned(), cursor.1));
    format!(
        "/console/notifications?{}",
        serde_urlencoded::to_string(&kept).unwrap_or_default()
    )
}

/// `GET /console/notifications?event=&equipment=&reference=&release=&storedOn=&from=&to=`
/// (and `before=` or `after=` a row, for the next pages).
#[tracing::instrument(skip_all)]
pub async fn notifications(
    req: HttpRequest,
    signed: SignedIn,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    let s = signed.session;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let get = |name: &str| -> Option<String> {
        let v = pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        non_empty(&v)
    };
    let params = NotificationsParams {
        notification_event: get("event"),
        equipment_number: get("equipment"),
        public_reference_id: get("reference"),
        release_id: get("release"),
        stored_on: get("storedOn"),
        time_window_from: get("from"),
        time_window_to: get("to"),
        limit: None,
    };
    let mut page = NotificationsPage {
        nav: nav(&gw, &s, "notifications").await?,
        events: NotificationEvent::ALL.iter().map(|e| e.as_str()).collect(),
        form: FormState::new("filters", pairs.iter().cloned().collect()),
        page_size: PAGE,
        notifications: Vec::new(),
        older: None,
        newer: None,
    };
    let refuse = |mut page: NotificationsPage, field: Option<&str>, message: String| {
        page.form = page.form.refused(field, &INPUTS, message);
        render(StatusCode::BAD_REQUEST, &page)
    };
    let mut filter = match filter_of(params) {
        Ok(f) => f,
        Err(ApiError::InvalidField { field, message }) => {
            return refuse(page, input_for(&field, &API_FIELDS), message)
        }
        Err(e) => return refuse(page, None, e.to_string()),
    };
    filter.limit = PAGE;
    let from = match (get("before"), get("after")) {
        (None, None) => None,
        (Some(c), None) => parse_cursor(&c).map(|(at, id)| PageFrom::Older(at, id)),
        (None, Some(c)) => parse_cursor(&c).map(|(at, id)| PageFrom::Newer(at, id)),
        (Some(_), Some(_)) => None,
    };
    let paged = get("before").is_some() || get("after").is_some();
    if paged && from.is_none() {
        let message = "This page link is not valid; the list starts again from the newest.";
        return refuse(page, None, message.to_owned());
    }
    let (rows, more) = gw
        .store
        .notifications_page(&s.acting_entity_id, &filter, from.as_ref())
        .await
        .map_err(internal)?;
    // Older: more beyond when read backwards, or always when this page came from a newer link.
    let (has_older, has_newer) = match from {
        None => (more, false),
        Some(PageFrom::Older(..)) => (more, true),
        Some(PageFrom::Newer(..)) => (true, more),
    };
    if let (true, Some(last)) = (has_older, rows.last()) {
        page.older = Some(link(&pairs, ("before", cursor_of(last))));
    }
    if let (true, Some(first)) = (has_newer, rows.first()) {
        page.newer = Some(link(&pairs, ("after", cursor_of(first))));
    }
    page.notifications = rows
        .into_iter()
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

//! MPET Connect adapter: `X-Application-Uuid` + `X-Api-Token` on every call.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{
    check, json, time, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{EventKind, NormalizedEvent, TimeKind};
use crate::terminals::codes;

pub(super) struct Mpet {
    pub(super) h: Http,
    pub(super) base: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    items: Vec<Event>,
    next: String,
    has_more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    id: String,
    container_number: String,
    movement: String,
    occurred_at: String,
    quay: Option<String>,
    vessel_name: Option<String>,
    yard_location: Option<String>,
    customs_status: Option<String>,
    #[serde(default)]
    status_lights: Option<StatusLights>,
}

/// MPET Connect's six status lights.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusLights {
    on_terminal: bool,
    terminal_release: bool,
    commercial_release: bool,
    customs: bool,
    assignment: bool,
    pickup_ready: bool,
}

/// The movement, then one observed event per status light (GREEN or RED): a light's change is
/// stored once, the same state read again is not.
fn map(e: Event) -> Vec<NormalizedEvent> {
    let Some(at) = time(&e.occurred_at) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(k) = codes::MPET.kind(&e.movement) {
        out.push(NormalizedEvent {
            yard_position: e.yard_location.clone(),
            quay: e.quay.clone(),
            vessel: e.vessel_name.clone(),
            status: e.customs_status.clone(),
            ..NormalizedEvent::new(
                Terminal::Mpet,
                e.id.clone(),
                e.container_number.clone(),
                k,
                at,
            )
        });
    }
    if let Some(l) = &e.status_lights {
        for (name, kind, on) in [
            ("onTerminal", EventKind::YardLocation, l.on_terminal),
            (
                "terminalRelease",
                EventKind::TerminalRelease,
                l.terminal_release,
            ),
            (
                "commercialRelease",
                EventKind::CommercialRelease,
                l.commercial_release,
            ),
            ("customs", EventKind::CustomsStatus, l.customs),
            ("assignment", EventKind::Assignment, l.assignment),
            ("pickupReady", EventKind::PickupReady, l.pickup_ready),
        ] {
            let value = if on { "GREEN" } else { "RED" };
            out.push(NormalizedEvent {
                time_kind: TimeKind::Observed,
                quay: e.quay.clone(),
                status: Some(value.to_string()),
                ..NormalizedEvent::new(
                    Terminal::Mpet,
                    format!("light:{name}={value}"),
                    e.container_number.clone(),
                    kind,
                    at,
                )
            });
        }
    }
    out
}

impl SourceAdapter for Mpet {
    fn terminal(&self) -> Terminal {
        Terminal::Mpet
    }

    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>> {
        async move {
            let session = Session::default()
                .with_header("x-application-uuid", creds.text("uuid"))?
                .with_header("x-api-token", creds.secret("token"))?;
            let resp = self
                .h
                .client
                .get(format!("{}/api/v1/me", self.base))
                .headers(session.headers.clone())
                .send()
                .await
                .map_err(transport)?;
            check(resp).await?;
            Ok(session)
        }
        .boxed()
    }

    fn fetch<'a>(
        &'a self,
        session: &'a Session,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, SourceError>> {
        async move {
            let resp = self
                .h
                .client
                .get(format!("{}/api/v1/container-events", self.base))
                .headers(session.headers.clone())
                .query(&[
                    ("since", cursor.unwrap_or("0")),
                    ("limit", &self.h.page_size.to_string()),
                ])
                .send()
                .await
                .map_err(transport)?;
            let feed: Feed = json(check(resp).await?).await?;
            let mut events = Vec::new();
            let mut skipped = 0;
            for item in feed.items {
                let evs = map(item);
                if evs.is_empty() {
                    skipped += 1;
                }
                events.extend(evs);
            }
            Ok(Page {
                skipped,
                events,
                next_cursor: Some(feed.next),
                has_more: feed.has_more,
            })
        }
        .boxed()
    }
}

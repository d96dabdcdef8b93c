//! MPET Connect adapter: `X-Application-Uuid` + `X-Api-Token` on every call.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{
    check, json, time, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{EventKind, NormalizedEvent};

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
}

fn kind(m: &str) -> Option<EventKind> {
    Some(match m {
        "vessel-arrived" => EventKind::VesselArrival,
        "discharged" => EventKind::Discharge,
        "gate-in" => EventKind::GateIn,
        "gate-out" => EventKind::GateOut,
        "loaded" => EventKind::Load,
        "vessel-departed" => EventKind::VesselDeparture,
        "customs" => EventKind::CustomsStatus,
        "yard-move" => EventKind::YardLocation,
        _ => return None,
    })
}

fn map(e: Event) -> Option<NormalizedEvent> {
    Some(NormalizedEvent {
        source: Terminal::Mpet,
        kind: kind(&e.movement)?,
        occurred_at: time(&e.occurred_at)?,
        source_event_id: e.id,
        equipment_number: e.container_number,
        location: e.yard_location.or(e.quay),
        vessel: e.vessel_name,
        status: e.customs_status,
    })
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
            let total = feed.items.len();
            let events: Vec<_> = feed.items.into_iter().filter_map(map).collect();
            Ok(Page {
                skipped: total - events.len(),
                events,
                next_cursor: Some(feed.next),
                has_more: feed.has_more,
            })
        }
        .boxed()
    }
}

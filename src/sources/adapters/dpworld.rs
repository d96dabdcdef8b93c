//! DP World E-Portal adapter: JSON session login, `X-Session-Id` header, movement feed.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{
    check, json, time, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::NormalizedEvent;
use crate::terminals::codes;

pub(super) struct DpWorld {
    pub(super) h: Http,
    pub(super) base: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAnswer {
    session_id: String,
}

#[derive(Deserialize)]
struct Feed {
    data: Vec<Event>,
    cursor: Cursor,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    next: String,
    has_more: bool,
}

#[derive(Deserialize)]
struct Vessel {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    id: String,
    equipment_id: String,
    movement_code: String,
    timestamp_utc: String,
    terminal: Option<String>,
    vessel: Option<Vessel>,
    position: Option<String>,
    customs: Option<String>,
}

fn map(e: Event) -> Option<NormalizedEvent> {
    Some(NormalizedEvent {
        yard_position: e.position,
        quay: e.terminal,
        vessel: e.vessel.and_then(|v| v.name),
        status: e.customs,
        ..NormalizedEvent::new(
            Terminal::Dpworld,
            e.id,
            e.equipment_id,
            codes::DPWORLD.kind(&e.movement_code)?,
            time(&e.timestamp_utc)?,
        )
    })
}

impl SourceAdapter for DpWorld {
    fn terminal(&self) -> Terminal {
        Terminal::Dpworld
    }

    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>> {
        async move {
            let resp = self
                .h
                .client
                .post(format!("{}/api/v1/sessions", self.base))
                .json(&serde_json::json!({ "username": creds.text("username"), "password": creds.secret("password") }))
                .send()
                .await
                .map_err(transport)?;
            let s: SessionAnswer = json(check(resp).await?).await?;
            Session::default().with_header("x-session-id", &s.session_id)
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
            let total = feed.data.len();
            let events: Vec<_> = feed.data.into_iter().filter_map(map).collect();
            Ok(Page {
                skipped: total - events.len(),
                events,
                next_cursor: Some(feed.cursor.next),
                has_more: feed.cursor.has_more,
            })
        }
        .boxed()
    }
}

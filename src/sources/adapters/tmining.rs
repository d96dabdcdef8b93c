//! T-Mining SCR adapter: JWT login, bearer token, release events paged by cursor.
//!
//! Only `greenlights` events map to the model: `terminaloperation=discharged` -> discharge,
//! `customs=<value>` -> customs status, `gateoperation=gateoutreceived` -> gate out. Release
//! bookkeeping events (`transfer`, `update`, `block`, ...) are counted as skipped.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{
    check, json, time, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{EventKind, NormalizedEvent};

pub(super) struct TMining {
    pub(super) h: Http,
    pub(super) base: String,
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    data: Vec<Event>,
    cursor: String,
    has_more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    id: String,
    event: String,
    timestamp: String,
    container_number: String,
    #[serde(default)]
    greenlights: Option<serde_json::Map<String, serde_json::Value>>,
}

fn map(e: Event) -> Option<NormalizedEvent> {
    if e.event != "greenlights" {
        return None;
    }
    let lights = e.greenlights?;
    let light = |n: &str| {
        lights
            .get(n)
            .and_then(|v| v.as_str())
            .map(str::to_ascii_lowercase)
    };
    let (kind, status) = if light("terminaloperation").as_deref() == Some("discharged") {
        (EventKind::Discharge, None)
    } else if light("gateoperation").as_deref() == Some("gateoutreceived") {
        (EventKind::GateOut, None)
    } else if let Some(c) = light("customs") {
        (EventKind::CustomsStatus, Some(c.to_ascii_uppercase()))
    } else {
        return None;
    };
    Some(NormalizedEvent {
        source: Terminal::Tmining,
        occurred_at: time(&e.timestamp)?,
        source_event_id: e.id,
        equipment_number: e.container_number,
        kind,
        location: None,
        vessel: None,
        status,
    })
}

impl SourceAdapter for TMining {
    fn terminal(&self) -> Terminal {
        Terminal::Tmining
    }

    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>> {
        async move {
            let resp = self
                .h
                .client
                .post(format!("{}/tmining/api/v1/auth/login", self.base))
                .json(&serde_json::json!({ "username": creds.text("username"), "password": creds.secret("password") }))
                .send()
                .await
                .map_err(transport)?;
            let l: Login = json(check(resp).await?).await?;
            Session::default().with_header("authorization", &format!("Bearer {}", l.token))
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
                .get(format!("{}/tmining/api/v1/events", self.base))
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
                next_cursor: Some(feed.cursor),
                has_more: feed.has_more,
            })
        }
        .boxed()
    }
}

//! PSA E-Portal adapter: form login, session cookie, `container-events` feed.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{
    check, json, time, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::NormalizedEvent;
use crate::terminals::codes;

pub(super) struct Psa {
    pub(super) h: Http,
    pub(super) base: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    events: Vec<Event>,
    next_since: String,
    more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_id: String,
    container_number: String,
    event_type: String,
    event_time: String,
    quay: Option<String>,
    vessel_name: Option<String>,
    yard_position: Option<String>,
    customs_status: Option<String>,
}

fn map(e: Event) -> Option<NormalizedEvent> {
    let kind = codes::PSA.kind(&e.event_type)?;
    Some(NormalizedEvent {
        yard_position: e.yard_position,
        quay: e.quay,
        vessel: e.vessel_name,
        status: e.customs_status,
        ..NormalizedEvent::new(
            Terminal::Psa,
            e.event_id,
            e.container_number,
            kind,
            time(&e.event_time)?,
        )
    })
}

impl SourceAdapter for Psa {
    fn terminal(&self) -> Terminal {
        Terminal::Psa
    }

    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>> {
        async move {
            let resp = self
                .h
                .client
                .post(format!("{}/eportal/login", self.base))
                .form(&[
                    ("username", creds.text("username")),
                    ("password", creds.secret("password")),
                ])
                .send()
                .await
                .map_err(transport)?;
            let resp = check(resp).await?;
            let cookie = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| {
                    c.split(';')
                        .next()
                        .filter(|kv| kv.starts_with("EPORTAL_SESSION="))
                })
                .map(str::to_string)
                .ok_or_else(|| {
                    SourceError::Protocol("login answered without a session cookie".into())
                })?;
            Session::default().with_header("cookie", &cookie)
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
                .get(format!("{}/eportal/api/container-events", self.base))
                .headers(session.headers.clone())
                .query(&[
                    ("since", cursor.unwrap_or("0")),
                    ("limit", &self.h.page_size.to_string()),
                ])
                .send()
                .await
                .map_err(transport)?;
            let feed: Feed = json(check(resp).await?).await?;
            let total = feed.events.len();
            let events: Vec<_> = feed.events.into_iter().filter_map(map).collect();
            Ok(Page {
                skipped: total - events.len(),
                events,
                next_cursor: Some(feed.next_since),
                has_more: feed.more,
            })
        }
        .boxed()
    }
}

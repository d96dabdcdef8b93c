//! ECT MyTerminal adapter: OAuth 2.0 client credentials, bearer token + `Ocp-Apim-Subscription-Key`.
//!
//! With the "extended permissions" box checked the adapter asks for the `containers.extended`
//! scope; a token granted without it means ECT has not approved extended access: the sync goes on
//! with basic data and the connection shows a [`Limitation`].

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{
    check, json, time, transport, Credentials, Http, Limitation, Page, Session, SourceAdapter,
    SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::NormalizedEvent;
use crate::terminals::codes;

const SCOPE_BASIC: &str = "containers.read";
const SCOPE_EXTENDED: &str = "containers.extended";

pub(super) struct Ect {
    pub(super) h: Http,
    pub(super) base: String,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    value: Vec<Event>,
    next_since: String,
    has_more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_id: String,
    container_number: String,
    event_code: String,
    event_date_time: String,
    terminal: Option<String>,
    vessel_name: Option<String>,
    yard_location: Option<String>,
    customs_status: Option<String>,
}

fn map(e: Event) -> Option<NormalizedEvent> {
    Some(NormalizedEvent {
        yard_position: e.yard_location,
        quay: e.terminal,
        vessel: e.vessel_name,
        status: e.customs_status,
        ..NormalizedEvent::new(
            Terminal::Ect,
            e.event_id,
            e.container_number,
            codes::ECT.kind(&e.event_code)?,
            time(&e.event_date_time)?,
        )
    })
}

impl SourceAdapter for Ect {
    fn terminal(&self) -> Terminal {
        Terminal::Ect
    }

    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>> {
        async move {
            let extended = creds.flag("extendedPermissions");
            let scope = if extended { format!("{SCOPE_BASIC} {SCOPE_EXTENDED}") } else { SCOPE_BASIC.to_string() };
            let resp = self
                .h
                .client
                .post(format!("{}/oauth/token", self.base))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", creds.text("clientId")),
                    ("client_secret", creds.secret("clientSecret")),
                    ("scope", &scope),
                ])
                .send()
                .await
                .map_err(transport)?;
            let t: Token = json(check(resp).await?).await?;
            let mut session = Session::default()
                .with_header("authorization", &format!("Bearer {}", t.access_token))?
                .with_header("ocp-apim-subscription-key", creds.secret("subscriptionKey"))?;
            if extended && !t.scope.split_whitespace().any(|s| s == SCOPE_EXTENDED) {
                session.limitation = Some(Limitation {
                    code: "extended_permissions_not_approved".into(),
                    message: "ECT has not approved extended permissions for this account: only basic events (discharge, load, gate in/out) are synchronized. Ask ECT support to approve extended API access.".into(),
                });
            }
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
                .get(format!("{}/myterminal/api/v1/container-events", self.base))
                .headers(session.headers.clone())
                .query(&[
                    ("since", cursor.unwrap_or("0")),
                    ("limit", &self.h.page_size.to_string()),
                ])
                .send()
                .await
                .map_err(transport)?;
            let feed: Feed = json(check(resp).await?).await?;
            let total = feed.value.len();
            let events: Vec<_> = feed.value.into_iter().filter_map(map).collect();
            Ok(Page {
                skipped: total - events.len(),
                events,
                next_cursor: Some(feed.next_since),
                has_more: feed.has_more,
            })
        }
        .boxed()
    }
}

//! NxtPort CPu adapter: reads the entity's CPu notifications and maps light changes and terminal
//! events to the model.
//!
//! Authentication is the CPu one (OAuth password grant + subscription key, the same credentials
//! as the gateway's NxtPort connection). The cursor is the `storedOn` time of the newest
//! notification read; the next call asks `timeWindowFrom=<cursor>` (inclusive, so nothing stored
//! in the same millisecond is missed; the overlap is removed by the dedup key).
//!
//! Mapping: `ReleaseLight` with light `Customs` -> customs status (new value), `TerminalOperation`
//! `DISCHARGED` / `GATEIN` -> discharge / gate in, `GateOperation` `GATEOUTRECEIVED` -> gate out;
//! `TerminalEvent` -> discharge, gate in or gate out by its operation type; event `GateOut` ->
//! gate out. Everything else (release-right bookkeeping) is skipped.

use chrono::SecondsFormat;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::{check, json, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError};
use crate::nxtport::{paths, NotificationDetail, NotificationEvent, NotificationType};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{EventKind, NormalizedEvent};

pub(super) struct NxtPort {
    pub(super) h: Http,
    pub(super) base: String,
    pub(super) token_url: String,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

fn body_str<'a>(body: &'a serde_json::Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| body.get(*k).and_then(|v| v.as_str()))
}

/// Map one notification; `None` when it is not a container event of the model.
pub(crate) fn map(d: &NotificationDetail) -> Option<NormalizedEvent> {
    let n = d.notification().ok();
    let body = n.as_ref().map(|n| n.body.clone()).unwrap_or_default();
    let at = n.as_ref().map(|n| n.timestamp).unwrap_or(d.stored_on);
    let norm = |s: &str| s.to_ascii_uppercase().replace(['_', ' ', '-'], "");
    let (kind, status, tag) = match (d.type_, d.event) {
        (_, NotificationEvent::GateOut) => (EventKind::GateOut, None, "GateOut".to_string()),
        (NotificationType::ReleaseLight, _) => {
            let name = body_str(&body, &["greenLightName", "name"])?;
            let value = body_str(&body, &["newValue", "value"])?;
            let kind = match (norm(name).as_str(), norm(value).as_str()) {
                ("CUSTOMS", _) => EventKind::CustomsStatus,
                ("TERMINALOPERATION", "DISCHARGED") => EventKind::Discharge,
                ("TERMINALOPERATION", "GATEIN") => EventKind::GateIn,
                ("GATEOPERATION", "GATEOUTRECEIVED") => EventKind::GateOut,
                _ => return None,
            };
            let status = (kind == EventKind::CustomsStatus).then(|| value.to_ascii_uppercase());
            (kind, status, format!("{name}={value}"))
        }
        (NotificationType::TerminalEvent, _) => {
            let op = body_str(&body, &["operationType", "eventType", "operation"]).unwrap_or("");
            let kind = match norm(op).as_str() {
                "DISCHARGE" => EventKind::Discharge,
                "GATEIN" => EventKind::GateIn,
                "GATEOUT" => EventKind::GateOut,
                _ => return None,
            };
            (kind, None, op.to_string())
        }
        (NotificationType::ReleaseRight, _) => return None,
    };
    Some(NormalizedEvent {
        source: Terminal::Nxtport,
        source_event_id: format!("{}:{:?}:{tag}", d.public_reference_id, d.event),
        equipment_number: d.equipment_number.clone(),
        kind,
        occurred_at: at,
        location: body_str(&body, &["terminalCode"]).map(str::to_string),
        vessel: None,
        status,
    })
}

impl SourceAdapter for NxtPort {
    fn terminal(&self) -> Terminal {
        Terminal::Nxtport
    }

    fn authenticate<'a>(
        &'a self,
        creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Session, SourceError>> {
        async move {
            let resp = self
                .h
                .client
                .post(&self.token_url)
                .form(&[
                    ("grant_type", "password"),
                    ("username", creds.text("username")),
                    ("password", creds.secret("password")),
                    ("client_id", creds.text("clientId")),
                    ("client_secret", creds.secret("clientSecret")),
                ])
                .send()
                .await
                .map_err(transport)?;
            let t: Token = json(check(resp).await?).await?;
            Session::default()
                .with_header("authorization", &format!("Bearer {}", t.access_token))?
                .with_header("ocp-apim-subscription-key", creds.secret("apiKey"))
        }
        .boxed()
    }

    fn fetch<'a>(
        &'a self,
        session: &'a Session,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, SourceError>> {
        async move {
            let mut req = self
                .h
                .client
                .get(format!("{}{}", self.base, paths::NOTIFICATIONS))
                .headers(session.headers.clone());
            // "0" is the verification probe / the start: no lower bound.
            if let Some(from) = cursor.filter(|c| *c != "0") {
                req = req.query(&[("timeWindowFrom", from)]);
            }
            let resp = req.send().await.map_err(transport)?;
            let list: Vec<NotificationDetail> = json(check(resp).await?).await?;
            let newest = list.iter().map(|d| d.stored_on).max();
            let events: Vec<_> = list.iter().filter_map(map).collect();
            Ok(Page {
                skipped: list.len() - events.len(),
                events,
                next_cursor: newest
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                    .or(cursor.map(str::to_string)),
                has_more: false,
            })
        }
        .boxed()
    }
}

//! NxtPort CPu adapter: reads the entity's CPu notifications and maps light changes and terminal
//! events to the model.
//!
//! Authentication is the CPu one (OAuth password grant + subscription key, the same credentials
//! as the gateway's NxtPort connection). NxtPort filters notifications by day (`storedOn`), so a
//! sync reads day by day from the cursor (the newest `storedOn` read) to today; notifications at
//! or after the cursor are kept (the overlap is removed by the dedup key).
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
            let now = chrono::Utc::now();
            // NxtPort filters notifications by day (`storedOn`); it keeps them 168 h. The cursor is
            // the newest `storedOn` read (or the start of the next day to read); "0" (the
            // verification probe) and no cursor start 7 days back.
            let from = cursor
                .filter(|c| *c != "0")
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(|| now - chrono::Duration::days(7))
                .min(now);
            let day = from.date_naive();
            let resp = self
                .h
                .client
                .get(format!("{}{}", self.base, paths::NOTIFICATIONS))
                .headers(session.headers.clone())
                .query(&[("storedOn", day.format("%Y-%m-%d").to_string())])
                .send()
                .await
                .map_err(transport)?;
            // NxtPort answers an empty result as 405 ProblemDetails "no matching notifications found".
            let list: Vec<NotificationDetail> = if resp.status().as_u16() == 405 {
                let body = resp.bytes().await.map_err(transport)?;
                let detail = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v.get("detail")
                            .and_then(|d| d.as_str())
                            .map(str::to_ascii_lowercase)
                    })
                    .unwrap_or_default();
                if !detail.contains("no matching") {
                    return Err(SourceError::Protocol("HTTP 405".into()));
                }
                Vec::new()
            } else {
                json(check(resp).await?).await?
            };
            let list: Vec<_> = list.into_iter().filter(|d| d.stored_on >= from).collect();
            let events: Vec<_> = list.iter().filter_map(map).collect();
            let newest = list.iter().map(|d| d.stored_on).max();
            let today = now.date_naive();
            let (next, has_more) = if day < today {
                let next_day = day
                    .succ_opt()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
                    .unwrap_or(now);
                (next_day, true)
            } else {
                (newest.unwrap_or(from).max(from), false)
            };
            Ok(Page {
                skipped: list.len() - events.len(),
                events,
                next_cursor: Some(next.to_rfc3339_opts(SecondsFormat::Millis, true)),
                has_more,
            })
        }
        .boxed()
    }
}

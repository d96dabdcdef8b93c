//! T-Mining SCR adapter, as T-Mining documents it: push, then fetch. An `onRelease` webhook
//! (`{release, event, organization, vat}`, received by the gateway, see `sources::intake`) says
//! *that* a release changed; the adapter then GETs the release object and maps its current state
//! (bill of lading, container, validity, `blocked`, `deleted`, `gateOut`, green lights) to events.
//! The periodic sync pages through the organisation's releases (same objects) to fill gaps.
//!
//! The release object carries no time per light, so its events are *observed* states: shown at
//! the time first seen, deduplicated without the time (reading the same state twice stores
//! nothing). Mapping of the green lights (names and values as T-Mining documents them, compared
//! case-insensitively): `commercialrelease` -> commercial_release, `customs` -> customs_status,
//! `customsprogress` -> customs_progress, `terminaloperation=discharged` -> discharge,
//! `terminalready` -> terminal_release, `gateoperation=gateoutreceived` -> gate_out,
//! `total` -> pickup_ready; `blocked: true` -> blocked, `deleted: true` -> commercial_release
//! DELETED, `gateOut` (a time) -> gate_out at that time; `validUntil` -> an estimated
//! commercial_release EXPIRES event; `blNumber` -> bill-of-lading document; `loadStatus` ->
//! full/empty; `pickupLocation` -> quay.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use serde_json::Value;

use super::{
    check, json, time, transport, Credentials, Http, Page, Session, SourceAdapter, SourceError,
};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{
    parse_equipment_number, Document, EventKind, FullEmpty, NormalizedEvent, TimeKind,
};

pub(super) struct TMining {
    pub(super) h: Http,
    pub(super) base: String,
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

/// A page of the organisation's releases (the gap-filling fallback).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReleasePage {
    data: Vec<Value>,
    cursor: String,
    has_more: bool,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// A light value: a string, or an object with `value` / `status`.
fn light_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_ascii_lowercase()),
        Value::Object(o) => o
            .get("value")
            .or_else(|| o.get("status"))
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// Map a release object to events; `None` when it names no valid container (counted as skipped).
pub(crate) fn map_release(
    release: &Value,
    seen_at: chrono::DateTime<chrono::Utc>,
) -> Option<Vec<NormalizedEvent>> {
    let data = release.get("release_data").unwrap_or(&Value::Null);
    let equipment = parse_equipment_number(text(data, &["container", "containerNumber"])?)?;
    let address = text(release, &["address"]).unwrap_or("unknown");
    let documents: Vec<Document> = text(data, &["billOfLading", "blNumber"])
        .map(|bl| vec![Document::bill_of_lading(bl)])
        .unwrap_or_default();
    let base = NormalizedEvent {
        time_kind: TimeKind::Observed,
        quay: text(data, &["container", "pickupLocation"]).map(str::to_string),
        vessel: text(data, &["billOfLading", "vessel"]).map(str::to_string),
        full_empty: text(data, &["container", "loadStatus"]).and_then(FullEmpty::parse),
        documents,
        ..NormalizedEvent::new(
            Terminal::Tmining,
            String::new(),
            equipment,
            EventKind::CommercialRelease,
            seen_at,
        )
    };
    let ev = |tag: String, kind: EventKind, status: Option<String>| NormalizedEvent {
        source_event_id: format!("{address}:{tag}"),
        kind,
        status,
        ..base.clone()
    };
    let mut out = Vec::new();
    let lights = release
        .get("greenLights")
        .or_else(|| data.get("greenLights"))
        .and_then(Value::as_object);
    if let Some(lights) = lights {
        for (name, v) in lights {
            let Some(value) = light_value(v) else {
                continue;
            };
            let upper = Some(value.to_ascii_uppercase());
            let tag = format!("{}={value}", name.to_ascii_lowercase());
            let e = match (name.to_ascii_lowercase().as_str(), value.as_str()) {
                ("commercialrelease", _) => ev(tag, EventKind::CommercialRelease, upper),
                ("customs", _) => ev(tag, EventKind::CustomsStatus, upper),
                ("customsprogress", _) => ev(tag, EventKind::CustomsProgress, upper),
                ("terminaloperation", "discharged") => ev(tag, EventKind::Discharge, None),
                ("terminalready", _) => ev(tag, EventKind::TerminalRelease, upper),
                ("gateoperation", "gateoutreceived") => ev(tag, EventKind::GateOut, None),
                ("total", _) => ev(tag, EventKind::PickupReady, upper),
                _ => continue,
            };
            out.push(e);
        }
    }
    if release.get("blocked").and_then(Value::as_bool) == Some(true) {
        out.push(ev(
            "blocked".into(),
            EventKind::Blocked,
            Some("BLOCKED".into()),
        ));
    }
    if release.get("deleted").and_then(Value::as_bool) == Some(true) {
        out.push(ev(
            "deleted".into(),
            EventKind::CommercialRelease,
            Some("DELETED".into()),
        ));
    }
    match release.get("gateOut") {
        Some(Value::String(s)) => {
            if let Some(at) = time(s) {
                out.push(NormalizedEvent {
                    time_kind: TimeKind::Actual,
                    occurred_at: at,
                    ..ev("gateOut".into(), EventKind::GateOut, None)
                });
            }
        }
        Some(Value::Bool(true)) => out.push(ev("gateOut".into(), EventKind::GateOut, None)),
        _ => {}
    }
    if let Some(until) = text(data, &["container", "validUntil"]).and_then(time) {
        out.push(NormalizedEvent {
            time_kind: TimeKind::Estimated,
            occurred_at: until,
            ..ev(
                "validUntil".into(),
                EventKind::CommercialRelease,
                Some("EXPIRES".into()),
            )
        });
    }
    Some(out)
}

impl TMining {
    async fn get(&self, session: &Session, url: String) -> Result<reqwest::Response, SourceError> {
        self.h
            .client
            .get(url)
            .headers(session.headers.clone())
            .send()
            .await
            .map_err(transport)
    }
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
            let url = reqwest::Url::parse_with_params(
                &format!("{}/tmining/api/v1/releases", self.base),
                &[
                    ("since", cursor.unwrap_or("0")),
                    ("limit", &self.h.page_size.to_string()),
                ],
            )
            .map_err(|_| SourceError::Protocol("invalid base URL".into()))?;
            let resp = self.get(session, url.to_string()).await?;
            let page: ReleasePage = json(check(resp).await?).await?;
            let now = chrono::Utc::now();
            let mut events = Vec::new();
            let mut skipped = 0;
            for r in &page.data {
                match map_release(r, now) {
                    Some(evs) => events.extend(evs),
                    None => skipped += 1,
                }
            }
            Ok(Page {
                skipped,
                events,
                next_cursor: Some(page.cursor),
                has_more: page.has_more,
            })
        }
        .boxed()
    }

    fn fetch_release<'a>(
        &'a self,
        session: &'a Session,
        release: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<NormalizedEvent>>, SourceError>> {
        async move {
            let resp = self
                .get(
                    session,
                    format!("{}/tmining/api/v1/releases/{release}", self.base),
                )
                .await?;
            if resp.status().as_u16() == 404 {
                return Ok(None);
            }
            let v: Value = json(check(resp).await?).await?;
            Ok(map_release(&v, chrono::Utc::now()))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The release object of T-Mining's "fetch latest data after receiving event notification"
    /// example, with a valid container number and the documented green lights.
    pub(crate) fn documented_release() -> Value {
        serde_json::json!({
            "release_data": {
                "billOfLading": {"blNumber": "RELEASE-API-TEST-1612", "portOfLoading": "BEANR", "portOfDestination": "BEANR",
                    "vessel": "AAA", "agent": "BBB", "stayNumber": "00001", "lloydsNumber": "0002", "voyageNumber": "0003", "lineCode": "ABC"},
                "container": {"containerNumber": "CSQU3054383", "containerStatus": "released", "pickupLocation": "ECTDCD",
                    "turnInLocation": "terminal_locode", "turnInReference": "aref", "termsAndConditions": "base64 encoded data",
                    "validFrom": "2017-01-05T14:00:00.000Z", "validUntil": "2025-01-05T14:00:00.000Z", "isoTypeCode": "45G1",
                    "loadStatus": "full", "moveType": "import"}
            },
            "greenLights": {"commercialrelease": "ok", "customs": "released", "customsprogress": "unknown",
                "terminaloperation": "discharged", "terminalready": "released", "gateoperation": "unknown", "total": "green"},
            "address": "0x24Fc2D465AaAbf47DA7284920A7B5c3b368EC1D9",
            "deleted": false,
            "blocked": false,
            "gateOut": null,
            "encryptedPin": "18570bfece"
        })
    }

    #[test]
    fn the_documented_release_object_maps_every_light() {
        let now = chrono::Utc::now();
        let evs = map_release(&documented_release(), now).expect("maps");
        let kinds: Vec<_> = evs
            .iter()
            .map(|e| (e.kind, e.status.as_deref(), e.time_kind))
            .collect();
        for want in [
            (EventKind::CommercialRelease, Some("OK"), TimeKind::Observed),
            (
                EventKind::CustomsStatus,
                Some("RELEASED"),
                TimeKind::Observed,
            ),
            (
                EventKind::CustomsProgress,
                Some("UNKNOWN"),
                TimeKind::Observed,
            ),
            (EventKind::Discharge, None, TimeKind::Observed),
            (
                EventKind::TerminalRelease,
                Some("RELEASED"),
                TimeKind::Observed,
            ),
            (EventKind::PickupReady, Some("GREEN"), TimeKind::Observed),
            (
                EventKind::CommercialRelease,
                Some("EXPIRES"),
                TimeKind::Estimated,
            ),
        ] {
            assert!(kinds.contains(&want), "{want:?} in {kinds:?}");
        }
        // gateoperation=unknown is no gate out; blocked=false is no block.
        assert!(!kinds
            .iter()
            .any(|k| k.0 == EventKind::GateOut || k.0 == EventKind::Blocked));
        let e = &evs[0];
        assert_eq!(
            e.documents,
            vec![Document::bill_of_lading("RELEASE-API-TEST-1612")]
        );
        assert_eq!(e.full_empty, Some(FullEmpty::Full));
        assert_eq!(e.quay.as_deref(), Some("ECTDCD"));
        // The same state read later is the same events.
        let later =
            map_release(&documented_release(), now + chrono::Duration::hours(3)).expect("maps");
        let keys = |v: &[NormalizedEvent]| v.iter().map(|e| e.dedup_key()).collect::<Vec<_>>();
        assert_eq!(keys(&evs), keys(&later));
        // Upper-case values and blocked / gate out.
        let mut r = documented_release();
        r["blocked"] = Value::Bool(true);
        r["gateOut"] = Value::String("2026-03-02T10:00:00Z".into());
        r["greenLights"]["gateoperation"] = Value::String("GATEOUTRECEIVED".into());
        let evs = map_release(&r, now).expect("maps");
        assert!(evs.iter().any(|e| e.kind == EventKind::Blocked));
        assert_eq!(
            evs.iter().filter(|e| e.kind == EventKind::GateOut).count(),
            2
        );
        // The documentation's own example number (12 characters) is no ISO 6346 number.
        r["release_data"]["container"]["containerNumber"] = Value::String("CSQU32345690".into());
        assert!(map_release(&r, now).is_none());
    }
}

//! NxtPort CPu adapter: reads the entity's CPu notifications and maps light changes and terminal
//! events to the model.
//!
//! Every call goes through the gateway's own NxtPort client ([`NxtPortClients`]): the same
//! credentials as the gateway's NxtPort connection give the same client, so a sync draws from
//! the subscription key's one budget (in-process or Redis, background priority: a truck at the
//! gate goes first), shares the token cache (password grant with `offline_access`, refresh
//! grants, a 401 drops the token and tries once more) and the one retry policy.
//!
//! NxtPort filters notifications by day (`storedOn`), so a
//! sync reads day by day from the cursor (the newest `storedOn` read) to today; notifications at
//! or after the cursor are kept (the overlap is removed by the dedup key).
//!
//! Notifications are read with the contract's types (`cpu_contract`: the envelope, and the body
//! by its event, [`NotificationBody`]), so a field changed in the contract reaches this mapping
//! through the compiler. Mapping (every light and every ReleaseRight notification; light names
//! and values compared case-insensitively, `_`/`-`/space ignored):
//!
//! | notification | event kind | status |
//! |---|---|---|
//! | `ReleaseLight` Customs | customs_status | the new value |
//! | `ReleaseLight` CustomsProgress | customs_progress | the new value |
//! | `ReleaseLight` CommercialRelease | commercial_release | the new value (OK, NOK, BLOCKED, EXPIRED, ...) |
//! | `ReleaseLight` TerminalRelease / TerminalReady | terminal_release | the new value |
//! | `ReleaseLight` TerminalOperation DISCHARGED / GATEIN | discharge / gate_in | - |
//! | `ReleaseLight` GateOperation GATEOUTRECEIVED, event `GateOut` | gate_out | - |
//! | `ReleaseLight` Overall / Total / CombinedGreenLight | pickup_ready | the new value |
//! | `TerminalEvent` | discharge / gate_in / gate_out by its operation type | - |
//! | `ReleaseRight` Release / Update / Delete / ExpiredReleaseRights | commercial_release | RELEASED / UPDATED / DELETED / EXPIRED |
//! | `ReleaseRight` Block, TerminalBlocked / Unblock | blocked | BLOCKED / UNBLOCKED |
//! | `ReleaseRight` TerminalRelease / TerminalScan | terminal_release | RELEASED / SCANNING |
//! | `ReleaseRight` Transferred, AcceptedByNextParty, DeclinedByNextParty, Revoke, RevokedByPreviousParty, PickedUpByParty, InactiveReleaseRights | release_right | TRANSFERRED, ACCEPTED, DECLINED, REVOKED, REVOKED_BY_PREVIOUS_PARTY, PICKED_UP, INACTIVE |
//!
//! Every event carries the body's `billOfLadingNumbers` as bill-of-lading documents and its
//! `terminalCode` as quay (where the body's shape has them: [`place`]). Answers to our own requests (NotValidated, ThrownException, Get*,
//! DigitalKey*, AlfapassPickUpValidation) are not container events and are counted as skipped.

use chrono::SecondsFormat;
use futures::future::BoxFuture;
use futures::FutureExt;
use secrecy::SecretString;

use super::{classify, Credentials, Page, Session, SourceAdapter, SourceError};
use crate::nxtport::{CallOptions, NxtPortClients, NxtPortCredentials, NxtPortError};
use crate::sources::catalogue::Terminal;
use crate::sources::model::{Document, EventKind, NormalizedEvent};
use cpu_contract::{
    ContainerBody, LightChangedBody, LightSubject, NotificationBody, NotificationDetail,
    NotificationEvent, NotificationType, NotificationsQuery, RegisteredBody, ReleaseRightBody,
};

pub(super) struct NxtPort {
    /// The process's NxtPort clients (the gateway's, when Data Sources runs in a gateway).
    pub(super) clients: NxtPortClients,
    pub(super) base: String,
    pub(super) token_url: String,
}

/// What a failed NxtPort call means for the connection (the same classification as the other
/// terminals' answers: status, `Retry-After`, body).
fn source_error(e: &NxtPortError) -> SourceError {
    match e {
        NxtPortError::Status {
            status,
            body,
            retry_after,
            ..
        } => classify(*status, body.as_bytes(), retry_after.map(|d| d.as_secs())),
        NxtPortError::Token {
            status,
            error,
            description,
        } => {
            let body = serde_json::json!({"error": error, "error_description": description});
            classify(*status, body.to_string().as_bytes(), None)
        }
        NxtPortError::Transport { timeout: true, .. } => SourceError::Timeout,
        NxtPortError::Transport { .. } => SourceError::Unreachable,
        NxtPortError::RetriesExhausted { last, .. } => source_error(last),
        // The shared budget (Redis) does not answer: nothing was sent; the next sync retries.
        NxtPortError::Budget(_) => SourceError::Unavailable { status: 503 },
        // The key's budget is spent for now: as NxtPort's own 429.
        NxtPortError::BudgetSpent(_) => SourceError::Unavailable { status: 429 },
        NxtPortError::Decode { .. } => SourceError::Protocol("malformed body".into()),
        NxtPortError::InvalidRequest(_) | NxtPortError::Config(_) => {
            SourceError::Protocol("the NxtPort client could not be set up".into())
        }
    }
}

/// Where a body says the container is: the terminal code (the event's quay) and the bills of
/// lading. Exhaustive over the contract's body shapes, and the bodies it reads are destructured
/// without `..`: a new shape or a new field of a shape read here stops the build until this
/// mapping says what it makes of it (`field: _` when nothing).
fn place(body: &NotificationBody) -> (Option<&str>, Vec<Document>) {
    fn documents<S: AsRef<str>>(numbers: &[S]) -> Vec<Document> {
        let mut out: Vec<Document> = Vec::new();
        for n in numbers.iter().map(|n| n.as_ref().trim()) {
            if !n.is_empty() && !out.iter().any(|d| d.number == n) {
                out.push(Document::bill_of_lading(n));
            }
        }
        out
    }
    fn right(r: &ReleaseRightBody) -> (Option<&str>, Vec<Document>) {
        let ReleaseRightBody {
            terminal_code,
            bill_of_lading_numbers,
            carrier: _,
            port_lo_code: _,
            equipment_number: _,
            release_identification: _,
            release_id: _,
            release_date_time_utc: _,
            expiration_date_time_utc: _,
            release_from: _,
            release_to: _,
            current_holder: _,
            release_right_status: _,
            means_of_transport: _,
            alfapass_number_mask: _,
        } = r;
        (Some(terminal_code), documents(bill_of_lading_numbers))
    }
    fn container(c: &ContainerBody) -> (Option<&str>, Vec<Document>) {
        let ContainerBody {
            terminal_code,
            bill_of_lading_numbers,
            port_lo_code: _,
            equipment_number: _,
            stay_number: _,
        } = c;
        (terminal_code.as_deref(), documents(bill_of_lading_numbers))
    }
    match body {
        NotificationBody::ReleaseDetail(d) => {
            // A comma-separated string in the release detail.
            let numbers: Vec<&str> = d
                .bill_of_lading_numbers
                .as_deref()
                .unwrap_or_default()
                .split([',', ';'])
                .collect();
            (d.terminal_code.as_deref(), documents(&numbers))
        }
        NotificationBody::ReleaseRightAction(b) => right(&b.right),
        NotificationBody::PickupRight(b) => right(&b.right),
        NotificationBody::ReleaseRight(r) => right(r),
        NotificationBody::LightChanged(b) => match &b.subject {
            LightSubject::Right(r) => right(r),
            LightSubject::Container(c) => container(c),
        },
        NotificationBody::GateOut(b) => container(&b.container),
        NotificationBody::Container(c) => container(c),
        NotificationBody::Registered(b) => (Some(&b.terminal_code), Vec::new()),
        NotificationBody::NotValidated(_) | NotificationBody::Other(_) => (None, Vec::new()),
    }
}

fn norm(s: &str) -> String {
    s.to_ascii_uppercase().replace(['_', ' ', '-'], "")
}

/// Kind and status of a ReleaseRight notification, by its event.
fn release_right(event: NotificationEvent) -> Option<(EventKind, &'static str)> {
    use NotificationEvent as E;
    Some(match event {
        E::Release => (EventKind::CommercialRelease, "RELEASED"),
        E::Update => (EventKind::CommercialRelease, "UPDATED"),
        E::Delete => (EventKind::CommercialRelease, "DELETED"),
        E::ExpiredReleaseRights => (EventKind::CommercialRelease, "EXPIRED"),
        E::Block | E::TerminalBlocked => (EventKind::Blocked, "BLOCKED"),
        E::Unblock => (EventKind::Blocked, "UNBLOCKED"),
        E::TerminalRelease => (EventKind::TerminalRelease, "RELEASED"),
        E::TerminalScan => (EventKind::TerminalRelease, "SCANNING"),
        E::Transferred => (EventKind::ReleaseRight, "TRANSFERRED"),
        E::AcceptedByNextParty => (EventKind::ReleaseRight, "ACCEPTED"),
        E::DeclinedByNextParty => (EventKind::ReleaseRight, "DECLINED"),
        E::Revoke => (EventKind::ReleaseRight, "REVOKED"),
        E::RevokedByPreviousParty => (EventKind::ReleaseRight, "REVOKED_BY_PREVIOUS_PARTY"),
        E::PickedUpByParty => (EventKind::ReleaseRight, "PICKED_UP"),
        E::InactiveReleaseRights => (EventKind::ReleaseRight, "INACTIVE"),
        E::GateOut => (EventKind::GateOut, ""),
        E::Unknown
        | E::NotValidated
        | E::ThrownException
        | E::GetPagedContainers
        | E::GetAllReleaseLights
        | E::GetCombinedGreenLight
        | E::DigitalKeyCreated
        | E::DigitalKeyRevoked
        | E::GetReleaseDetail
        | E::ReleaseLightChanged
        | E::ReleaseLightRegistered
        | E::AlfapassPickUpValidation => return None,
    })
}

/// Map one notification; `None` when it is not a container event of the model.
///
/// The envelope and its body are read into the contract's types (`cpu_contract`), as the NxtPort
/// client reads them: a light change needs its [`LightChangedBody`], a terminal event its
/// [`RegisteredBody`]; a release-right notification is told by its event alone (a body of
/// another shape leaves the event without quay and documents).
pub(crate) fn map(d: &NotificationDetail) -> Option<NormalizedEvent> {
    let n = d.notification().ok();
    let body = n
        .as_ref()
        .and_then(|n| n.typed_body().ok())
        .unwrap_or(NotificationBody::Other(serde_json::Value::Null));
    let at = n.as_ref().map(|n| n.timestamp).unwrap_or(d.stored_on);
    let (kind, status, tag) = match (d.type_, d.event) {
        (_, NotificationEvent::GateOut) => (EventKind::GateOut, None, "GateOut".to_string()),
        (NotificationType::ReleaseLight, _) => {
            let NotificationBody::LightChanged(LightChangedBody {
                green_light_name: name,
                new_value: value,
                subject: _,
                original_value: _,
                status: _,
            }) = &body
            else {
                return None;
            };
            let upper = value.to_ascii_uppercase();
            let (kind, status) = match (norm(name).as_str(), norm(value).as_str()) {
                ("CUSTOMS", _) => (EventKind::CustomsStatus, Some(upper)),
                ("CUSTOMSPROGRESS", _) => (EventKind::CustomsProgress, Some(upper)),
                ("COMMERCIALRELEASE", _) => (EventKind::CommercialRelease, Some(upper)),
                ("TERMINALRELEASE" | "TERMINALREADY", _) => {
                    (EventKind::TerminalRelease, Some(upper))
                }
                ("TERMINALOPERATION", "DISCHARGED") => (EventKind::Discharge, None),
                ("TERMINALOPERATION", "GATEIN") => (EventKind::GateIn, None),
                ("GATEOPERATION", "GATEOUTRECEIVED") => (EventKind::GateOut, None),
                ("OVERALL" | "TOTAL" | "COMBINEDGREENLIGHT", _) => {
                    (EventKind::PickupReady, Some(upper))
                }
                _ => return None,
            };
            (kind, status, format!("{name}={value}"))
        }
        (NotificationType::TerminalEvent, _) => {
            let NotificationBody::Registered(RegisteredBody {
                operation_type: op,
                equipment_number: _,
                port_lo_code: _,
                terminal_code: _,
                status: _,
                message: _,
            }) = &body
            else {
                return None;
            };
            let kind = match norm(op).as_str() {
                "DISCHARGE" => EventKind::Discharge,
                "GATEIN" => EventKind::GateIn,
                "GATEOUT" => EventKind::GateOut,
                _ => return None,
            };
            (kind, None, op.to_string())
        }
        (NotificationType::ReleaseRight, event) => {
            let (kind, status) = release_right(event)?;
            (
                kind,
                (!status.is_empty()).then(|| status.to_string()),
                format!("{event:?}"),
            )
        }
    };
    let (quay, documents) = place(&body);
    Some(NormalizedEvent {
        quay: quay.map(str::to_string),
        status,
        documents,
        ..NormalizedEvent::new(
            Terminal::Nxtport,
            format!("{}:{:?}:{tag}", d.public_reference_id, d.event),
            d.equipment_number.clone(),
            kind,
            at,
        )
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
            let secret = |name: &str| SecretString::from(creds.secret(name).to_owned());
            let credentials = NxtPortCredentials {
                client_id: creds.text("clientId").to_owned(),
                client_secret: secret("clientSecret"),
                username: creds.text("username").to_owned(),
                password: secret("password"),
                subscription_key: secret("apiKey"),
            };
            let client = self
                .clients
                .client(&self.base, &self.token_url, credentials)
                .map_err(|e| source_error(&e))?;
            // The token comes from the client's cache (shared with the gateway's calls).
            client.sign_in().await.map_err(|e| source_error(&e))?;
            Ok(Session {
                nxtport: Some(client),
                ..Session::default()
            })
        }
        .boxed()
    }

    fn fetch<'a>(
        &'a self,
        session: &'a Session,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, SourceError>> {
        async move {
            let client = session
                .nxtport
                .as_ref()
                .ok_or_else(|| SourceError::Protocol("no NxtPort session".into()))?;
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
            let query = NotificationsQuery {
                stored_on: Some(day.format("%Y-%m-%d").to_string()),
                ..NotificationsQuery::default()
            };
            // NxtPort answers an empty result as 405 ProblemDetails: the client reads it as an
            // empty list.
            let list: Vec<NotificationDetail> = client
                .notifications(&query, &CallOptions::default())
                .await
                .map_err(|e| source_error(&e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored notification around an envelope in NxtPort's documented shape.
    fn detail(type_: &str, event: &str, body: serde_json::Value) -> NotificationDetail {
        let envelope = serde_json::json!({
            "assetId": "00000000-0000-0001-0000-000000000037",
            "id": "CSQU3054383",
            "publicReferenceId": "4d1c8f62-4f0e-4c8f-9a55-2f0f2d1f8a11",
            "externalReferenceId": "ERI+CommercialRelease+772",
            "receiverId": "NXT22125864695",
            "senderId": null,
            "timestamp": "2026-03-01T10:00:00.0000000Z",
            "type": type_,
            "event": event,
            "errors": [],
            "warnings": [],
            "body": body,
        });
        serde_json::from_value(serde_json::json!({
            "nxtEntityId": "NXT22125864695",
            "equipmentNumber": "CSQU3054383",
            "publicReferenceId": "4d1c8f62-4f0e-4c8f-9a55-2f0f2d1f8a11",
            "storedOn": "2026-03-01T10:00:01Z",
            "message": envelope.to_string(),
            "type": type_,
            "event": event,
        }))
        .expect("detail")
    }

    /// The documented "Commercial Release Light switches to GREEN" example body.
    fn light(name: &str, value: &str) -> serde_json::Value {
        serde_json::json!({
            "carrier": {"nxtEntityId": "NXT1", "name": "Carrier", "eori": null, "tin": null, "apcs": null, "duns": null, "externalId": null},
            "terminalCode": "0100",
            "portLoCode": "BEANR",
            "equipmentNumber": "CSQU3054383",
            "billOfLadingNumbers": ["BL-0001", "BL-0002"],
            "releaseIdentification": "CSQU3054383",
            "greenLightName": name,
            "originalValue": "UNKNOWN",
            "newValue": value,
            "meansOfTransport": null,
            "releaseId": "8d6c1f70-1d3e-4a8e-b3c9-3b8a7c2e9f01",
            "releaseDateTimeUtc": "2026-03-01T09:00:00Z",
            "expirationDateTimeUtc": "2026-04-30T09:00:00Z"
        })
    }

    #[test]
    fn every_light_maps_with_its_value_bills_of_lading_and_quay() {
        let cases = [
            (
                "CommercialRelease",
                "OK",
                EventKind::CommercialRelease,
                Some("OK"),
            ),
            (
                "Customs",
                "SELECTEDFORSCAN",
                EventKind::CustomsStatus,
                Some("SELECTEDFORSCAN"),
            ),
            (
                "CustomsProgress",
                "PARTIALLYCLEARED",
                EventKind::CustomsProgress,
                Some("PARTIALLYCLEARED"),
            ),
            (
                "TerminalRelease",
                "RELEASED",
                EventKind::TerminalRelease,
                Some("RELEASED"),
            ),
            (
                "TerminalOperation",
                "DISCHARGED",
                EventKind::Discharge,
                None,
            ),
            ("TerminalOperation", "GATEIN", EventKind::GateIn, None),
            ("GateOperation", "GATEOUTRECEIVED", EventKind::GateOut, None),
        ];
        for (name, value, kind, status) in cases {
            let e = map(&detail(
                "ReleaseLight",
                "ReleaseLightChanged",
                light(name, value),
            ))
            .unwrap_or_else(|| panic!("{name}={value} maps"));
            assert_eq!(e.kind, kind, "{name}");
            assert_eq!(e.status.as_deref(), status, "{name}");
            assert_eq!(e.quay.as_deref(), Some("0100"));
            assert_eq!(
                e.documents,
                vec![
                    Document::bill_of_lading("BL-0001"),
                    Document::bill_of_lading("BL-0002")
                ]
            );
            assert_eq!(e.occurred_at.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        }
        // A light change without the light's name is not an event (the contract's body needs it).
        let mut nameless = light("Customs", "OK");
        nameless
            .as_object_mut()
            .expect("an object")
            .remove("greenLightName");
        assert!(map(&detail("ReleaseLight", "ReleaseLightChanged", nameless)).is_none());
        // A terminal operation that is not a move is not an event.
        assert!(map(&detail(
            "ReleaseLight",
            "ReleaseLightChanged",
            light("TerminalOperation", "UNKNOWN")
        ))
        .is_none());
    }

    fn party(id: &str) -> cpu_contract::NotifiedParty {
        cpu_contract::NotifiedParty {
            nxt_entity_id: id.to_owned(),
            name: None,
            eori: None,
            tin: None,
            apcs: None,
            duns: None,
            external_id: None,
        }
    }

    /// A release right at terminal 1700 with one bill of lading.
    fn right() -> ReleaseRightBody {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        ReleaseRightBody {
            carrier: None,
            terminal_code: "1700".to_owned(),
            port_lo_code: "BEANR".to_owned(),
            equipment_number: "CSQU3054383".to_owned(),
            bill_of_lading_numbers: vec!["BL-9".to_owned()],
            release_identification: None,
            release_id: uuid::Uuid::nil(),
            release_date_time_utc: at,
            expiration_date_time_utc: at,
            release_from: party("NXT1"),
            release_to: None,
            current_holder: party("NXT2"),
            release_right_status: cpu_contract::ReleaseRightStatus::Assigned,
            means_of_transport: None,
            alfapass_number_mask: None,
        }
    }

    /// The body the contract gives `event`, about [`right`].
    fn right_body(event: &str) -> serde_json::Value {
        let event: NotificationEvent =
            serde_json::from_value(serde_json::json!(event)).expect("an event");
        let body = match cpu_contract::BodyKind::of(event) {
            cpu_contract::BodyKind::ReleaseRightAction => {
                NotificationBody::ReleaseRightAction(cpu_contract::ReleaseRightActionBody {
                    right: right(),
                    reason_for_action: None,
                    action_type: cpu_contract::ActionType::Transfer,
                    sender: party("NXT1"),
                })
            }
            cpu_contract::BodyKind::ReleaseRight => NotificationBody::ReleaseRight(right()),
            cpu_contract::BodyKind::LightChanged => {
                NotificationBody::LightChanged(cpu_contract::LightChangedBody {
                    subject: LightSubject::Right(Box::new(right())),
                    green_light_name: "TerminalRelease".to_owned(),
                    original_value: "UNKNOWN".to_owned(),
                    new_value: "RELEASED".to_owned(),
                    status: "RELEASED".to_owned(),
                })
            }
            cpu_contract::BodyKind::NotValidated => {
                NotificationBody::NotValidated(cpu_contract::NotValidatedBody {
                    equipment_number: "CSQU3054383".to_owned(),
                    port_lo_code: "BEANR".to_owned(),
                    errors: vec!["no such release".to_owned()],
                })
            }
            other => panic!("no test body for {other:?}"),
        };
        serde_json::to_value(body).expect("body")
    }

    #[test]
    fn release_right_notifications_map_to_release_statuses() {
        let cases = [
            ("Release", EventKind::CommercialRelease, "RELEASED"),
            ("Block", EventKind::Blocked, "BLOCKED"),
            ("Unblock", EventKind::Blocked, "UNBLOCKED"),
            ("TerminalBlocked", EventKind::Blocked, "BLOCKED"),
            ("TerminalRelease", EventKind::TerminalRelease, "RELEASED"),
            ("TerminalScan", EventKind::TerminalRelease, "SCANNING"),
            ("Transferred", EventKind::ReleaseRight, "TRANSFERRED"),
            ("AcceptedByNextParty", EventKind::ReleaseRight, "ACCEPTED"),
            (
                "ExpiredReleaseRights",
                EventKind::CommercialRelease,
                "EXPIRED",
            ),
        ];
        for (event, kind, status) in cases {
            let e = map(&detail("ReleaseRight", event, right_body(event))).expect(event);
            assert_eq!(
                (e.kind, e.status.as_deref()),
                (kind, Some(status)),
                "{event}"
            );
            assert_eq!(e.documents, vec![Document::bill_of_lading("BL-9")]);
            assert_eq!(e.quay.as_deref(), Some("1700"), "{event}");
        }
        assert!(map(&detail(
            "ReleaseRight",
            "NotValidated",
            right_body("NotValidated")
        ))
        .is_none());
        // A body of a shape the contract does not know: the event alone tells the release
        // status; no quay, no documents.
        let odd = serde_json::json!({"terminalCode": "1700", "billOfLadingNumbers": ["BL-9"]});
        let e = map(&detail("ReleaseRight", "Block", odd)).expect("block");
        assert_eq!(
            (e.kind, e.status.as_deref()),
            (EventKind::Blocked, Some("BLOCKED"))
        );
        assert_eq!((e.quay, e.documents), (None, Vec::new()));
        // Two notifications of one call are two events (the event is part of the id).
        let a = map(&detail("ReleaseRight", "Block", right_body("Block"))).expect("a");
        let b = map(&detail("ReleaseRight", "Unblock", right_body("Unblock"))).expect("b");
        assert_ne!(a.dedup_key(), b.dedup_key());
    }
}

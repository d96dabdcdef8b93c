//! Notification intake besides the webhook: a polling fallback and retention pruning.
//!
//! The webhook is the fast path. Polling fills gaps (a webhook lost, the gateway down while
//! NxtPort delivered): every `notifications.poll_interval_secs`, for each entity with a
//! connection, it asks `GET /certified-pickup/v1/notifications` for the days covered by
//! `poll_lookback_secs`, and for each operation `sent` for a while without its notification it
//! asks by `publicReferenceId`. Everything is stored through the same idempotent insert, so a
//! notification seen by both paths is stored once. Polls are background-priority calls and
//! count against the NxtPort budget like any other.

use super::state::GatewayState;
use crate::nxtport::CallOptions;
use crate::store::notifications::NewNotification;
use crate::store::now_millis;
use crate::store::outbox::AwaitingNotification;
use chrono::{Duration as ChronoDuration, Utc};
use cpu_contract::{Notification, NotificationDetail, NotificationsQuery, CPU_ASSET_ID};
use std::sync::Arc;
use std::time::Duration;

/// Most gap polls per round (each is one NxtPort call).
const GAP_POLLS_PER_ROUND: i64 = 20;

/// The body of an envelope rebuilt from a stored notification whose `message` is not one.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RebuiltBody<'a> {
    release_id: Option<uuid::Uuid>,
    message: &'a str,
}

/// The envelope of a polled notification (its `message`), or one rebuilt from the detail as the
/// contract's [`Notification`] (the body keeps the release id and the message as it came).
pub fn envelope_of(detail: &NotificationDetail) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(&detail.message) {
        Ok(v) if v.is_object() => v,
        _ => {
            let rebuilt = Notification {
                asset_id: CPU_ASSET_ID.to_owned(),
                id: detail.equipment_number.clone(),
                public_reference_id: detail.public_reference_id.clone(),
                external_reference_id: detail.external_reference_id.clone(),
                receiver_id: detail.nxt_entity_id.clone(),
                sender_id: None,
                timestamp: detail.stored_on,
                type_: detail.type_,
                event: detail.event,
                errors: Vec::new(),
                warnings: Vec::new(),
                body: RebuiltBody {
                    release_id: detail.release_id,
                    message: &detail.message,
                },
            };
            // Strings, enums and a time only: serializing cannot fail (Null if it ever did).
            serde_json::to_value(rebuilt).unwrap_or_default()
        }
    }
}

async fn store_polled(state: &GatewayState, entity_id: &str, details: Vec<NotificationDetail>) {
    let (mut new, mut dup) = (0u64, 0u64);
    for d in &details {
        let n = NewNotification {
            entity_id: entity_id.to_owned(),
            source: "poll",
            envelope: envelope_of(d),
        };
        match state.store.insert_notification(&n).await {
            Ok(Some(_)) => new += 1,
            Ok(None) => dup += 1,
            Err(e) => tracing::error!(error = %e, "storing a polled notification failed"),
        }
    }
    let m = &state.metrics.notifications;
    m.with_label_values(&["poll", "new"]).inc_by(new);
    m.with_label_values(&["poll", "duplicate"]).inc_by(dup);
    if new > 0 {
        tracing::info!(entity = %entity_id, new, "polling filled notification gaps");
    }
}

async fn entities_with_connection(state: &GatewayState) -> Vec<String> {
    state
        .vault
        .entities_with(crate::connection::NXTPORT_KIND)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "listing connections failed");
            Vec::new()
        })
}

/// One polling round: day polls per entity, then gap polls for stale `sent` operations.
pub async fn poll_once(state: &GatewayState) {
    let now = Utc::now();
    let lookback = ChronoDuration::seconds(state.settings.notifications.poll_lookback_secs as i64);
    let mut days = vec![(now - lookback).date_naive()];
    if days[0] != now.date_naive() {
        days.push(now.date_naive());
    }
    for entity_id in entities_with_connection(state).await {
        let link = match state.upstreams.link(&entity_id).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(entity = %entity_id, error = %e, "no client for polling");
                continue;
            }
        };
        for day in &days {
            let query = NotificationsQuery {
                stored_on: Some(day.format("%Y-%m-%d").to_string()),
                ..Default::default()
            };
            match link
                .client
                .notifications(&query, &CallOptions::default())
                .await
            {
                Ok(details) => store_polled(state, &entity_id, details).await,
                Err(e) => {
                    tracing::warn!(entity = %entity_id, error = %e, "notification poll failed")
                }
            }
        }
    }
    // Gap polls: operations sent a while ago and still waiting for their notification.
    let sent_before =
        now_millis() - (state.settings.notifications.gap_poll_after_secs as i64) * 1000;
    let stale = state
        .store
        .sent_awaiting_notification(sent_before, GAP_POLLS_PER_ROUND)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "listing operations awaiting notifications failed");
            Vec::new()
        });
    for AwaitingNotification {
        entity_id,
        public_reference_id: reference,
    } in stale
    {
        let Ok(link) = state.upstreams.link(&entity_id).await else {
            continue;
        };
        let query = NotificationsQuery {
            public_reference_id: Some(reference),
            ..Default::default()
        };
        match link
            .client
            .notifications(&query, &CallOptions::default())
            .await
        {
            Ok(details) => store_polled(state, &entity_id, details).await,
            Err(e) => tracing::warn!(entity = %entity_id, error = %e, "gap poll failed"),
        }
    }
}

/// Poll forever (no-op when polling is disabled).
pub async fn run_poller(state: Arc<GatewayState>) {
    let secs = state.settings.notifications.poll_interval_secs;
    if secs == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        poll_once(&state).await;
    }
}

/// Prune notifications older than the retention, forever.
pub async fn run_pruner(state: Arc<GatewayState>) {
    let retention_ms = (state.settings.notifications.retention_hours as i64) * 3_600_000;
    let every = Duration::from_secs(state.settings.notifications.prune_interval_secs.max(1));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match state
            .store
            .prune_notifications(now_millis() - retention_ms)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "pruned notifications past retention"),
            Err(e) => tracing::error!(error = %e, "pruning notifications failed"),
        }
        if let Ok(depth) = state.store.outbox_depth().await {
            state.metrics.outbox_depth.set(depth);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpu_contract::{NotificationEvent, NotificationType};

    fn detail(message: &str) -> NotificationDetail {
        NotificationDetail {
            nxt_entity_id: "NXT-1".into(),
            equipment_number: "MSCU1234565".into(),
            public_reference_id: "ref-1".into(),
            external_reference_id: None,
            stored_on: chrono::DateTime::from_timestamp(1_714_557_600, 0).unwrap_or_default(),
            message: message.into(),
            type_: NotificationType::ReleaseRight,
            event: NotificationEvent::Release,
            release_id: None,
        }
    }

    #[test]
    fn a_message_that_is_an_envelope_is_kept_as_it_came() {
        let d = detail(r#"{"publicReferenceId":"ref-1","extra":1}"#);
        assert_eq!(envelope_of(&d)["extra"], 1);
    }

    #[test]
    fn another_message_is_rebuilt_as_a_contract_envelope() {
        let env = envelope_of(&detail("not json"));
        let n: Notification = serde_json::from_value(env.clone()).expect("a contract envelope");
        assert_eq!(n.public_reference_id, "ref-1");
        assert_eq!(n.event, NotificationEvent::Release);
        assert_eq!(n.body["message"], "not json");
        assert!(env.get("externalReferenceId").is_none());
    }
}

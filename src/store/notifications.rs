//! Notifications received from NxtPort (webhook or polling), stored once per entity.
//!
//! The dedup key is the SHA-256 of the notification envelope in canonical JSON (keys sorted):
//! the webhook body and the polling endpoint's `message` are the same envelope, so a
//! notification seen both ways is stored once. Kept at least the configured retention
//! (168 h by default), then pruned.

use super::{millis_to_utc, now_millis, Store, StoreError};
use cpu_contract::{NotificationBody, NotificationEvent, NotificationType};
use serde::{Deserialize, Serialize};
use serde_with::DefaultOnError;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A notification to store.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// Receiving entity (ours).
    pub entity_id: String,
    /// `webhook` or `poll`.
    pub source: &'static str,
    /// The envelope as received.
    pub envelope: serde_json::Value,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredNotification {
    /// Gateway id.
    pub id: String,
    /// Reference of the call that caused it.
    pub public_reference_id: Option<String>,
    /// Echo of the `External-Reference-Id` (our operation id for our own writes).
    pub external_reference_id: Option<String>,
    /// Notification event.
    pub event: Option<String>,
    /// Notification type.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Container number.
    pub equipment_number: Option<String>,
    /// Release right id.
    pub release_id: Option<String>,
    /// When NxtPort stored it (envelope `timestamp`).
    pub stored_on: chrono::DateTime<chrono::Utc>,
    /// When the gateway received it.
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// `webhook` or `poll`.
    pub source: String,
    /// The envelope as NxtPort sent it.
    #[schema(value_type = Object)]
    pub notification: serde_json::Value,
}

/// Where a page of notifications starts: the (`stored_on` in unix ms, id) of a row shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageFrom {
    /// The rows older than this one, newest first.
    Older(i64, String),
    /// The rows newer than this one (the page before), still shown newest first.
    Newer(i64, String),
}

/// Filters of the notification list (ANDed), already validated.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// Event name.
    pub event: Option<String>,
    /// Container number.
    pub equipment_number: Option<String>,
    /// Public reference id.
    pub public_reference_id: Option<String>,
    /// Release id.
    pub release_id: Option<String>,
    /// Stored at or after (unix ms).
    pub from: Option<i64>,
    /// Stored at or before (unix ms).
    pub to: Option<i64>,
    /// Max rows.
    pub limit: i64,
}

fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The dedup key of an envelope.
pub fn dedup_key(envelope: &serde_json::Value) -> String {
    // serde_json writes object keys in map order; `canonical` rebuilt them sorted.
    let text = canonical(envelope).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What the store indexes of an envelope, read with the contract's types. Every field is
/// optional and a field that does not parse is left empty (`DefaultOnError`): a webhook may bring
/// a partial envelope, which is stored as it came with what could be read of it.
#[serde_with::serde_as]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeIndex {
    /// The container number (CPu's `id`).
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    id: Option<String>,
    /// Older senders name it `equipmentNumber`.
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    equipment_number: Option<String>,
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    public_reference_id: Option<String>,
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    external_reference_id: Option<String>,
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    timestamp: Option<String>,
    #[serde_as(as = "DefaultOnError")]
    #[serde(default, rename = "type")]
    type_: Option<NotificationType>,
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    event: Option<NotificationEvent>,
    #[serde_as(as = "DefaultOnError")]
    #[serde(default)]
    release_id: Option<uuid::Uuid>,
    #[serde(default)]
    body: serde_json::Value,
}

impl EnvelopeIndex {
    fn of(envelope: &serde_json::Value) -> Self {
        // Only a non-object fails as a whole; every field is already lenient.
        EnvelopeIndex::deserialize(envelope).unwrap_or_default()
    }

    /// The release right: from the body, read in the shape of the event (a body of another
    /// shape is read as it came), else the envelope's own `releaseId`.
    fn release_id(&self) -> Option<String> {
        let body = match self.event {
            Some(event) => NotificationBody::from_event(event, self.body.clone())
                .unwrap_or_else(|_| NotificationBody::Other(self.body.clone())),
            None => NotificationBody::Other(self.body.clone()),
        };
        body.release_id()
            .or(self.release_id)
            .map(|id| id.to_string())
    }
}

/// Whether a stored event says NxtPort refused the call asynchronously (NotValidated,
/// ThrownException).
pub(crate) fn is_rejection(event: Option<&str>) -> bool {
    matches!(
        event.and_then(NotificationEvent::from_name),
        Some(NotificationEvent::NotValidated | NotificationEvent::ThrownException)
    )
}

fn from_row(r: &AnyRow) -> Result<StoredNotification, StoreError> {
    let raw: String = r.try_get("raw")?;
    Ok(StoredNotification {
        id: r.try_get("id")?,
        public_reference_id: r.try_get("public_reference_id")?,
        external_reference_id: r.try_get("external_reference_id")?,
        event: r.try_get("event")?,
        type_: r.try_get("type")?,
        equipment_number: r.try_get("equipment_number")?,
        release_id: r.try_get("release_id")?,
        stored_on: millis_to_utc(r.try_get("stored_on")?),
        received_at: millis_to_utc(r.try_get("received_at")?),
        source: r.try_get("source")?,
        notification: serde_json::from_str(&raw)
            .map_err(|e| StoreError::Corrupt(format!("notification: {e}")))?,
    })
}

const COLUMNS: &str = "id, public_reference_id, external_reference_id, event, type, \
    equipment_number, release_id, stored_on, received_at, source, raw";

impl Store {
    /// Store a notification unless already stored; correlate it with its operation.
    /// Returns the new id, or `None` for a duplicate.
    pub async fn insert_notification(
        &self,
        n: &NewNotification,
    ) -> Result<Option<String>, StoreError> {
        let env = &n.envelope;
        let index = EnvelopeIndex::of(env);
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_millis();
        let stored_on = index
            .timestamp
            .as_deref()
            .and_then(|t| cpu_contract::lenient_utc::parse(t).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or(now);
        let public_ref = index.public_reference_id.clone();
        let release_id = index.release_id();
        // Stored and correlated in one transaction (one commit: SQLite's single writer is
        // shared with intake; a crash cannot split the two).
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query(
            "INSERT INTO notifications (id, entity_id, dedup_key, public_reference_id, \
             external_reference_id, event, type, equipment_number, release_id, stored_on, \
             received_at, source, raw) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (entity_id, dedup_key) DO NOTHING",
        )
        .bind(id.clone())
        .bind(n.entity_id.clone())
        .bind(dedup_key(env))
        .bind(public_ref.clone())
        .bind(index.external_reference_id)
        .bind(index.event.map(|e| e.as_str().to_owned()))
        .bind(index.type_.map(|t| t.as_str().to_owned()))
        .bind(index.id.or(index.equipment_number))
        .bind(release_id)
        .bind(stored_on)
        .bind(now)
        .bind(n.source)
        .bind(env.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            tx.commit().await?;
            return Ok(None);
        }
        if let Some(p) = public_ref {
            super::outbox::correlate_in(&mut tx, &p).await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    /// One notification of an entity.
    pub async fn notification(
        &self,
        entity_id: &str,
        id: &str,
    ) -> Result<Option<StoredNotification>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE id = $1 AND entity_id = $2"
        ))
        .bind(id.to_owned())
        .bind(entity_id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Notifications of an entity matching `filter`, oldest first.
    pub async fn notifications(
        &self,
        entity_id: &str,
        filter: &NotificationFilter,
    ) -> Result<Vec<StoredNotification>, StoreError> {
        self.select_notifications(entity_id, filter, None).await
    }

    /// One page of the notifications of an entity matching `filter`, newest first: at most
    /// `filter.limit` rows older than the cursor ([`PageFrom::Older`]; the newest rows when
    /// there is none), or the rows just newer than it ([`PageFrom::Newer`]). The flag says
    /// whether more rows lie beyond the page in the direction it was read.
    pub async fn notifications_page(
        &self,
        entity_id: &str,
        filter: &NotificationFilter,
        from: Option<&PageFrom>,
    ) -> Result<(Vec<StoredNotification>, bool), StoreError> {
        let mut f = filter.clone();
        f.limit = filter.limit.saturating_add(1);
        let from = from
            .cloned()
            .unwrap_or(PageFrom::Older(i64::MAX, String::new()));
        let mut rows = self
            .select_notifications(entity_id, &f, Some(&from))
            .await?;
        let more = rows.len() as i64 > filter.limit;
        rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
        if matches!(from, PageFrom::Newer(..)) {
            rows.reverse();
        }
        Ok((rows, more))
    }

    async fn select_notifications(
        &self,
        entity_id: &str,
        filter: &NotificationFilter,
        page: Option<&PageFrom>,
    ) -> Result<Vec<StoredNotification>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM notifications WHERE entity_id = $1");
        let mut texts: Vec<String> = vec![entity_id.to_owned()];
        let mut push_text = |sql: &mut String, col: &str, v: &Option<String>| {
            if let Some(v) = v {
                texts.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", texts.len()));
            }
        };
        push_text(&mut sql, "event", &filter.event);
        push_text(&mut sql, "equipment_number", &filter.equipment_number);
        push_text(&mut sql, "public_reference_id", &filter.public_reference_id);
        push_text(&mut sql, "release_id", &filter.release_id);
        let mut next = texts.len();
        let mut ints: Vec<i64> = Vec::new();
        if let Some(from) = filter.from {
            next += 1;
            ints.push(from);
            sql.push_str(&format!(" AND stored_on >= ${next}"));
        }
        if let Some(to) = filter.to {
            next += 1;
            ints.push(to);
            sql.push_str(&format!(" AND stored_on <= ${next}"));
        }
        // Keyset paging on (stored_on, id); each parameter bound once, in order.
        let (order, key) = match page {
            None => ("ASC", None),
            Some(PageFrom::Older(at, id)) => ("DESC", Some(("<", *at, id.clone()))),
            Some(PageFrom::Newer(at, id)) => ("ASC", Some((">", *at, id.clone()))),
        };
        if let Some((op, _, _)) = &key {
            sql.push_str(&format!(
                " AND (stored_on {op} ${} OR (stored_on = ${} AND id {op} ${}))",
                next + 1,
                next + 2,
                next + 3
            ));
            next += 3;
        }
        next += 1;
        sql.push_str(&format!(
            " ORDER BY stored_on {order}, id {order} LIMIT ${next}"
        ));
        let mut q = sqlx::query(&sql);
        for t in texts {
            q = q.bind(t);
        }
        for i in ints {
            q = q.bind(i);
        }
        if let Some((_, at, id)) = key {
            q = q.bind(at).bind(at).bind(id);
        }
        let rows = q.bind(filter.limit).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// Delete notifications received before `before` (unix ms). Returns how many.
    pub async fn prune_notifications(&self, before: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM notifications WHERE received_at < $1 AND stored_on < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::{NewOperation, OperationKind, OperationStatus};
    use crate::store::test_support::sqlite_store;
    use serde_json::json;

    fn envelope(public_ref: &str, event: &str, ts: &str) -> serde_json::Value {
        json!({
            "assetId": "00000000-0000-0001-0000-000000000037",
            "id": "MSCU1234565",
            "publicReferenceId": public_ref,
            "externalReferenceId": "op-1",
            "receiverId": "NXT1",
            "senderId": null,
            "timestamp": ts,
            "type": "ReleaseLight",
            "event": event,
            "errors": [],
            "warnings": [],
            "body": {"releaseId": "3f1c0b4e-8d0a-4d55-9a43-0f1f5c6b2a11", "b": 1, "a": 2}
        })
    }

    #[test]
    fn dedup_key_ignores_key_order() {
        let a = json!({"a": 1, "b": {"x": 1, "y": [1, {"q": 1, "p": 2}]}});
        let b = json!({"b": {"y": [1, {"p": 2, "q": 1}], "x": 1}, "a": 1});
        assert_eq!(dedup_key(&a), dedup_key(&b));
        assert_ne!(dedup_key(&a), dedup_key(&json!({"a": 2})));
    }

    #[tokio::test]
    async fn pages_go_newest_first_and_back() {
        let (store, _dir) = sqlite_store().await;
        let (e, _) = store.ensure_entity("e").await.expect("e");
        // Five at distinct times and two at the same time (ordered by id), one other event.
        for (r, ts) in [
            ("r1", "2024-05-01T10:00:00Z"),
            ("r2", "2024-05-01T11:00:00Z"),
            ("r3", "2024-05-01T12:00:00Z"),
            ("r4", "2024-05-01T12:00:00Z"),
            ("r5", "2024-05-01T13:00:00Z"),
        ] {
            let n = NewNotification {
                entity_id: e.id.clone(),
                source: "webhook",
                envelope: envelope(r, "GateOut", ts),
            };
            store.insert_notification(&n).await.expect("insert");
        }
        let other = NewNotification {
            entity_id: e.id.clone(),
            source: "webhook",
            envelope: envelope("x", "GateIn", "2024-05-01T14:00:00Z"),
        };
        store.insert_notification(&other).await.expect("insert");
        let filter = NotificationFilter {
            event: Some("GateOut".into()),
            limit: 2,
            ..NotificationFilter::default()
        };
        let refs = |rows: &[StoredNotification]| -> Vec<String> {
            rows.iter()
                .map(|n| n.public_reference_id.clone().unwrap_or_default())
                .collect()
        };
        let key = |n: &StoredNotification| (n.stored_on.timestamp_millis(), n.id.clone());
        let (first, more) = store
            .notifications_page(&e.id, &filter, None)
            .await
            .expect("page 1");
        assert!(more);
        assert_eq!(refs(&first)[0], "r5", "the newest first");
        let (at, id) = key(&first[1]);
        let (second, more) = store
            .notifications_page(&e.id, &filter, Some(&PageFrom::Older(at, id)))
            .await
            .expect("page 2");
        assert!(more);
        let (at, id) = key(&second[1]);
        let (third, more) = store
            .notifications_page(&e.id, &filter, Some(&PageFrom::Older(at, id)))
            .await
            .expect("page 3");
        assert!(!more, "the last page");
        let mut all = [refs(&first), refs(&second), refs(&third)].concat();
        assert_eq!(all.len(), 5, "each row once: {all:?}");
        assert_eq!(all.last().map(String::as_str), Some("r1"));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 5, "no row twice");
        // Back from the third page: the second again, newest first.
        let (at, id) = key(&third[0]);
        let (back, more) = store
            .notifications_page(&e.id, &filter, Some(&PageFrom::Newer(at, id)))
            .await
            .expect("back");
        assert!(more, "the first page lies beyond");
        assert_eq!(refs(&back), refs(&second));
    }

    #[tokio::test]
    async fn stored_once_filtered_correlated_and_pruned() {
        let (store, _dir) = sqlite_store().await;
        let (e, _) = store.ensure_entity("e").await.expect("e");
        let (other, _) = store.ensure_entity("other").await.expect("other");
        let op = NewOperation {
            id: uuid::Uuid::new_v4(),
            entity_id: e.id.clone(),
            kind: OperationKind::TerminalRelease,
            container_key: "MSCU1234565".into(),
            payload: json!({}),
        };
        store.enqueue(&op).await.expect("enqueue");
        let claimed = store
            .claim_due("w", now_millis(), now_millis() + 30_000, 1)
            .await
            .expect("claim");
        // The notification arrives before the 202 was recorded (webhook race).
        let env = envelope("ref-1", "TerminalRelease", "2024-05-01T10:00:00.0000000Z");
        let n = NewNotification {
            entity_id: e.id.clone(),
            source: "webhook",
            envelope: env.clone(),
        };
        let first = store.insert_notification(&n).await.expect("insert");
        assert!(first.is_some());
        let again = NewNotification {
            source: "poll",
            ..n.clone()
        };
        assert_eq!(store.insert_notification(&again).await.expect("dup"), None);
        // The same envelope for another entity is its own row.
        let theirs = NewNotification {
            entity_id: other.id.clone(),
            ..n.clone()
        };
        assert!(store
            .insert_notification(&theirs)
            .await
            .expect("other")
            .is_some());
        store
            .mark_sent(&claimed[0].id, "w", claimed[0].attempts, "ref-1")
            .await
            .expect("sent");
        let got = store
            .operation(&e.id, &claimed[0].id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(got.status, OperationStatus::Completed);
        assert_eq!(got.notification_id, first);

        let all = NotificationFilter {
            limit: 100,
            ..Default::default()
        };
        let list = store.notifications(&e.id, &all).await.expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].release_id.as_deref(),
            Some("3f1c0b4e-8d0a-4d55-9a43-0f1f5c6b2a11")
        );
        assert_eq!(list[0].stored_on.to_rfc3339(), "2024-05-01T10:00:00+00:00");
        let by_event = NotificationFilter {
            event: Some("GateOut".into()),
            ..all.clone()
        };
        assert!(store
            .notifications(&e.id, &by_event)
            .await
            .expect("list")
            .is_empty());
        let by_window = NotificationFilter {
            from: Some(list[0].stored_on.timestamp_millis()),
            to: Some(list[0].stored_on.timestamp_millis()),
            equipment_number: Some("MSCU1234565".into()),
            ..all.clone()
        };
        assert_eq!(
            store
                .notifications(&e.id, &by_window)
                .await
                .expect("list")
                .len(),
            1
        );

        assert_eq!(
            store
                .prune_notifications(now_millis() - 60_000)
                .await
                .expect("prune"),
            0
        );
        assert_eq!(
            store
                .prune_notifications(now_millis() + 1)
                .await
                .expect("prune"),
            2
        );
    }

    #[tokio::test]
    async fn async_rejection_fails_the_operation() {
        let (store, _dir) = sqlite_store().await;
        let (e, _) = store.ensure_entity("e").await.expect("e");
        let op = NewOperation {
            id: uuid::Uuid::new_v4(),
            entity_id: e.id.clone(),
            kind: OperationKind::GateOut,
            container_key: "MSCU1234565".into(),
            payload: json!({}),
        };
        store.enqueue(&op).await.expect("enqueue");
        let claimed = store
            .claim_due("w", now_millis(), now_millis() + 30_000, 1)
            .await
            .expect("claim");
        store
            .mark_sent(&claimed[0].id, "w", claimed[0].attempts, "ref-9")
            .await
            .expect("sent");
        let mut env = envelope("ref-9", "NotValidated", "2024-05-01T10:00:00Z");
        env["errors"] = json!(["container unknown"]);
        store
            .insert_notification(&NewNotification {
                entity_id: e.id.clone(),
                source: "webhook",
                envelope: env,
            })
            .await
            .expect("insert");
        let got = store
            .operation(&e.id, &claimed[0].id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(got.status, OperationStatus::Failed);
        assert!(got
            .error
            .as_deref()
            .unwrap_or("")
            .contains("container unknown"));
    }
}

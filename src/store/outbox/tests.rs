//! Tests of the outbox (claims, leases, fencing, transitions, correlation) on SQLite and
//! PostgreSQL.

use super::*;
use crate::store::test_support::sqlite_store;
use crate::store::{now_millis, Store};

fn op(entity: &str, container: &str, n: u32) -> NewOperation {
    NewOperation {
        id: uuid::Uuid::new_v4(),
        entity_id: entity.to_owned(),
        kind: OperationKind::Discharge,
        container_key: container.to_owned(),
        payload: serde_json::json!({ "n": n }),
    }
}

#[tokio::test]
async fn claims_one_per_container_in_order() {
    let (store, _dir) = sqlite_store().await;
    let (e, _) = store.ensure_entity("e").await.expect("e");
    let ops = vec![
        op(&e.id, "A", 1),
        op(&e.id, "A", 2),
        op(&e.id, "B", 3),
        op(&e.id, "A", 4),
    ];
    store.enqueue_batch(&ops).await.expect("enqueue");
    assert_eq!(store.outbox_depth().await.expect("depth"), 4);
    let now = now_millis();
    let first = store
        .claim_due(W, now, now + LEASE, 10)
        .await
        .expect("claim");
    let ns: Vec<_> = first.iter().map(|o| o.payload["n"].as_i64()).collect();
    assert_eq!(ns, vec![Some(1), Some(3)]);
    // Nothing more while A#1 is in flight.
    assert!(store
        .claim_due(W, now, now + LEASE, 10)
        .await
        .expect("claim")
        .is_empty());
    // A#1 fails transiently: it stays first, A#2 still waits.
    store
        .mark_retry(&first[0].id, W, first[0].attempts, "503", now + 60_000)
        .await
        .expect("retry");
    assert!(store
        .claim_due(W, now, now + LEASE, 10)
        .await
        .expect("claim")
        .is_empty());
    let again = store
        .claim_due(W, now + 60_000, now + LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].attempts, 2);
    store
        .mark_sent(&again[0].id, W, again[0].attempts, "ref-1")
        .await
        .expect("sent");
    let next = store
        .claim_due(W, now + 60_000, now + LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].payload["n"].as_i64(), Some(2));
    // A failed operation holds its container until it is retried or cancelled.
    assert!(store
        .mark_failed(&next[0].id, W, next[0].attempts, "400")
        .await
        .expect("failed"));
    let t = now + 60_000;
    assert!(store
        .claim_due(W, t, t + LEASE, 10)
        .await
        .expect("claim")
        .is_empty());
    let waiting = store
        .operations(&e.id, Some("A"), 10)
        .await
        .expect("list")
        .into_iter()
        .find(|o| o.payload["n"].as_i64() == Some(4))
        .expect("A#4");
    assert_eq!(
        store.blocked_by(&waiting).await.expect("blocked"),
        Some(next[0].id.clone())
    );
    assert_eq!(
        store
            .retry_operation(&e.id, &next[0].id)
            .await
            .expect("retry"),
        Some(true)
    );
    let retried = store.claim_due(W, t, t + LEASE, 10).await.expect("claim");
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, next[0].id);
    assert_eq!(retried[0].attempts, 1);
    assert!(store
        .mark_failed(&retried[0].id, W, retried[0].attempts, "400 again")
        .await
        .expect("failed"));
    // Retry only applies to failed operations; cancel frees the container.
    assert_eq!(
        store
            .retry_operation(&e.id, &waiting.id)
            .await
            .expect("retry"),
        Some(false)
    );
    assert_eq!(
        store
            .cancel_operation(&e.id, &next[0].id)
            .await
            .expect("cancel"),
        Some(true)
    );
    assert_eq!(
        store
            .cancel_operation(&e.id, "no-such-id")
            .await
            .expect("cancel"),
        None
    );
    let last = store.claim_due(W, t, t + LEASE, 10).await.expect("claim");
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].payload["n"].as_i64(), Some(4));
    assert_eq!(
        store
            .cancel_operation(&e.id, &last[0].id)
            .await
            .expect("cancel"),
        Some(false),
        "an operation in flight cannot be cancelled"
    );
}

/// Replica `W` and another, `X`; leases of 30 s.
const W: &str = "replica-w";
const X: &str = "replica-x";
const LEASE: i64 = 30_000;

/// Only expired leases are taken back; only the holder records an outcome.
pub(crate) async fn leases_protect_live_claims(store: &Store) {
    let (e, _) = store.ensure_entity("e").await.expect("e");
    store.enqueue(&op(&e.id, "A", 1)).await.expect("enqueue");
    store.enqueue(&op(&e.id, "B", 2)).await.expect("enqueue");
    let now = now_millis();
    let mine = store
        .claim_due(W, now, now + LEASE, 1)
        .await
        .expect("claim");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].lease_owner.as_deref(), Some(W));
    // Another replica starts: W's lease is live, nothing is taken back.
    assert_eq!(store.reclaim_expired(now).await.expect("reclaim"), 0);
    let theirs = store
        .claim_due(X, now, now + LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(theirs.len(), 1, "X gets B only");
    assert_ne!(theirs[0].id, mine[0].id);
    // W renews; later X's lease expires (X died) and W takes B back.
    let later = now + LEASE + 1;
    assert_eq!(
        store.renew_leases(W, later + LEASE).await.expect("renew"),
        1
    );
    assert_eq!(store.reclaim_expired(later).await.expect("reclaim"), 1);
    // X comes back from a pause: its outcome no longer counts.
    assert!(!store
        .mark_sent(&theirs[0].id, X, theirs[0].attempts, "ref-x")
        .await
        .expect("sent"));
    let again = store
        .claim_due(W, later, later + LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, theirs[0].id);
    assert_eq!(again[0].attempts, 2);
    assert!(store
        .mark_sent(&again[0].id, W, again[0].attempts, "ref-b")
        .await
        .expect("sent"));
    assert!(store
        .mark_sent(&mine[0].id, W, mine[0].attempts, "ref-a")
        .await
        .expect("sent"));
}

/// The duplicate of a starved replica: W claims, is starved past its lease (the clock is
/// injected: every call takes `now`), the operation is taken back and claimed again, even
/// by W itself. The first claim's generation can neither confirm a send nor record an
/// outcome; the live claim can. A claim confirmed right before its send is not taken back
/// while that send may run, and the housekeeping's renewal does not shorten it.
pub(crate) async fn fencing_stops_a_starved_claimer(store: &Store) {
    let (e, _) = store.ensure_entity("e").await.expect("e");
    store.enqueue(&op(&e.id, "A", 1)).await.expect("enqueue");
    let t0 = now_millis();
    let first = store.claim_due(W, t0, t0 + LEASE, 1).await.expect("claim");
    assert_eq!(first.len(), 1);
    let stale = &first[0];
    // W waits for the budget longer than its lease, unrenewed; the lease is taken back
    // and claimed again (here by W itself: the owner alone cannot tell the claims apart).
    let t1 = t0 + LEASE + 1;
    assert_eq!(store.reclaim_expired(t1).await.expect("reclaim"), 1);
    let second = store.claim_due(W, t1, t1 + LEASE, 1).await.expect("claim");
    assert_eq!(second.len(), 1);
    let live = &second[0];
    assert_eq!(live.id, stale.id);
    assert_eq!(live.attempts, stale.attempts + 1, "a new generation");
    // The stale claimer reaches its send: it may not send, nor record anything.
    assert!(!store
        .confirm_lease(&stale.id, W, stale.attempts, t1 + LEASE)
        .await
        .expect("confirm"));
    assert!(!store
        .mark_sent(&stale.id, W, stale.attempts, "ref-stale")
        .await
        .expect("sent"));
    assert!(!store
        .mark_retry(&stale.id, W, stale.attempts, "late", t1)
        .await
        .expect("retry"));
    assert!(!store
        .mark_failed(&stale.id, W, stale.attempts, "late")
        .await
        .expect("failed"));
    // The live claim confirms before its send: its lease now outlasts the send (here
    // 3 leases); the renewal (1 lease) does not shorten it, so at t1 + 2 leases nobody
    // takes it back.
    assert!(store
        .confirm_lease(&live.id, W, live.attempts, t1 + 3 * LEASE)
        .await
        .expect("confirm"));
    assert_eq!(store.renew_leases(W, t1 + LEASE).await.expect("renew"), 1);
    assert_eq!(
        store
            .reclaim_expired(t1 + 2 * LEASE)
            .await
            .expect("reclaim"),
        0
    );
    assert!(store
        .claim_due(X, t1 + 2 * LEASE, t1 + 3 * LEASE, 1)
        .await
        .expect("claim")
        .is_empty());
    assert!(store
        .mark_sent(&live.id, W, live.attempts, "ref-live")
        .await
        .expect("sent"));
    let done = store
        .operation(&e.id, &live.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(done.public_reference_id.as_deref(), Some("ref-live"));
}

#[tokio::test]
async fn fencing_stops_a_starved_claimer_on_sqlite_and_postgres() {
    let (store, _dir) = sqlite_store().await;
    fencing_stops_a_starved_claimer(&store).await;
    let Some(store) = crate::store::test_support::postgres_store().await else {
        eprintln!("SKIPPED fencing_stops_a_starved_claimer on PostgreSQL: CPU_GATEWAY_SKIP_PG=1");
        return;
    };
    fencing_stops_a_starved_claimer(&store).await;
    crate::store::test_support::drop_schema(&store).await;
}

/// Entities with enough in flight are skipped; the others are still served.
pub(crate) async fn busy_entities_are_skipped(store: &Store) {
    let (a, _) = store.ensure_entity("a").await.expect("a");
    let (b, _) = store.ensure_entity("b").await.expect("b");
    let ops = vec![op(&a.id, "A1", 1), op(&a.id, "A2", 2), op(&b.id, "B1", 3)];
    store.enqueue_batch(&ops).await.expect("enqueue");
    let now = now_millis();
    let got = store
        .claim_due_except(W, now, now + LEASE, 10, std::slice::from_ref(&a.id))
        .await
        .expect("claim");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].entity_id, b.id);
    let got = store
        .claim_due_except(W, now, now + LEASE, 1, &[])
        .await
        .expect("claim");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].entity_id, a.id);
}

#[tokio::test]
async fn busy_entities_are_skipped_on_sqlite_and_postgres() {
    let (store, _dir) = sqlite_store().await;
    busy_entities_are_skipped(&store).await;
    let Some(store) = crate::store::test_support::postgres_store().await else {
        eprintln!("SKIPPED busy_entities_are_skipped on PostgreSQL: CPU_GATEWAY_SKIP_PG=1");
        return;
    };
    busy_entities_are_skipped(&store).await;
    crate::store::test_support::drop_schema(&store).await;
}

#[tokio::test]
async fn leases_protect_live_claims_on_sqlite() {
    let (store, _dir) = sqlite_store().await;
    leases_protect_live_claims(&store).await;
}

#[tokio::test]
async fn leases_protect_live_claims_on_postgres() {
    let Some(store) = crate::store::test_support::postgres_store().await else {
        eprintln!("SKIPPED leases_protect_live_claims_on_postgres: CPU_GATEWAY_SKIP_PG=1");
        return;
    };
    leases_protect_live_claims(&store).await;
    crate::store::test_support::drop_schema(&store).await;
}

/// Two replicas claiming at once on PostgreSQL take disjoint rows, one per container.
#[tokio::test]
async fn concurrent_claims_on_postgres_are_disjoint_and_ordered() {
    let Some(store) = crate::store::test_support::postgres_store().await else {
        eprintln!("SKIPPED concurrent_claims_on_postgres: CPU_GATEWAY_SKIP_PG=1");
        return;
    };
    let (e, _) = store.ensure_entity("e").await.expect("e");
    let ops: Vec<_> = (0..60)
        .map(|n| op(&e.id, &format!("C{}", n % 20), n))
        .collect();
    store.enqueue_batch(&ops).await.expect("enqueue");
    let mut seen = std::collections::HashSet::new();
    let mut order: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for _round in 0..3 {
        let now = now_millis();
        let (a, b) = tokio::join!(
            store.claim_due(W, now, now + LEASE, 15),
            store.claim_due(X, now, now + LEASE, 15)
        );
        let (a, b) = (a.expect("a"), b.expect("b"));
        let mut containers = std::collections::HashSet::new();
        for (owner, o) in a.iter().map(|o| (W, o)).chain(b.iter().map(|o| (X, o))) {
            assert!(seen.insert(o.id.clone()), "claimed twice: {}", o.id);
            assert!(
                containers.insert(o.container_key.clone()),
                "two of one container"
            );
            order
                .entry(o.container_key.clone())
                .or_default()
                .push(o.seq);
            assert!(store
                .mark_sent(&o.id, owner, o.attempts, &o.id)
                .await
                .expect("sent"));
        }
        assert_eq!(containers.len(), 20);
    }
    assert_eq!(seen.len(), 60);
    assert!(order
        .values()
        .all(|seqs| seqs.windows(2).all(|w| w[0] < w[1])));
    crate::store::test_support::drop_schema(&store).await;
}

#[tokio::test]
async fn a_stored_notification_is_correlated_again_after_a_crash() {
    let (store, _dir) = sqlite_store().await;
    let (e, _) = store.ensure_entity("e").await.expect("e");
    store.enqueue(&op(&e.id, "A", 1)).await.expect("enqueue");
    let now = now_millis();
    let c = store
        .claim_due(W, now, now + LEASE, 1)
        .await
        .expect("claim");
    // A crash between storing the notification and correlating it: simulate by marking
    // sent by hand (no correlation) after the notification is stored.
    sqlx::query(
        "INSERT INTO notifications (id, entity_id, dedup_key, public_reference_id, event,              stored_on, received_at, source, raw) VALUES ('n1', $1, 'd1', 'ref-1', 'Release', 0, 0, 'poll', '{}')",
    )
    .bind(e.id.clone())
    .execute(store.pool())
    .await
    .expect("notification");
    sqlx::query(
        "UPDATE operations SET status = 'sent', public_reference_id = 'ref-1' WHERE id = $1",
    )
    .bind(c[0].id.clone())
    .execute(store.pool())
    .await
    .expect("sent");
    assert_eq!(store.correlate_stored().await.expect("sweep"), 1);
    assert_eq!(store.correlate_stored().await.expect("sweep"), 0);
    let got = store
        .operation(&e.id, &c[0].id)
        .await
        .expect("get")
        .expect("op");
    assert_eq!(got.status, OperationStatus::Completed);
}

#[tokio::test]
async fn entity_scoping_of_reads() {
    let (store, _dir) = sqlite_store().await;
    let (a, _) = store.ensure_entity("a").await.expect("a");
    let (b, _) = store.ensure_entity("b").await.expect("b");
    let o = op(&a.id, "A", 1);
    store.enqueue(&o).await.expect("enqueue");
    assert!(store
        .operation(&a.id, &o.id.to_string())
        .await
        .expect("get")
        .is_some());
    assert!(store
        .operation(&b.id, &o.id.to_string())
        .await
        .expect("get")
        .is_none());
}

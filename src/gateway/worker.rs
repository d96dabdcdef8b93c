//! The delivery worker: sends queued operations to NxtPort. Several replicas may run it on
//! one database.
//!
//! - Claims due operations in `seq` order under a lease in this replica's name (see
//!   [`crate::store::outbox`]): at most one per container, none behind an earlier operation of
//!   its container that is queued, in flight or failed.
//! - A companion task renews this replica's leases every third of `delivery.lease_secs`, takes
//!   back operations whose lease expired (a replica that died, e.g. kill -9, or lost the
//!   database) and correlates `sent` operations whose notification is already stored.
//! - Many tenants: at most `delivery.per_entity_concurrency` operations of one entity are in
//!   flight at one replica (its other operations are not claimed meanwhile), so a slow, failing
//!   or budget-bound entity leaves slots to the others; each key has its own budget.
//! - Sends each with the entity's [`NxtPortClient`](crate::nxtport::NxtPortClient) as a
//!   background-priority call, `External-Reference-Id` = operation id. The client retries
//!   transient failures itself (backoff, jitter, Retry-After, token refresh on 401).
//! - What an error means comes from [`crate::nxtport::classify`]: 202 -> `sent`; a CPu
//!   refusal -> `failed` at once with NxtPort's message; anything transient, a refused
//!   credential or an unreachable shared budget -> back to `queued` with exponential backoff;
//!   after `delivery.max_attempts` -> `failed`.
//! - Fencing: right before each HTTP send (after the budget slot and the token, so after any
//!   wait) the worker makes sure its claim still holds: while the send, cut off by the request
//!   timeout, ends well inside the lease the claim itself wrote (measured on the monotonic clock
//!   from before the claim), nobody can have taken it back (only expired leases are taken back;
//!   renewals never shorten one), so it sends at once; later (a long budget wait) it confirms
//!   its claim in the database — same owner, same generation (`attempts` at the claim) — and
//!   extends the lease to now + `nxtport.timeout_ms` + `delivery.lease_secs`; a claim that was
//!   taken back is withdrawn unsent. Outcomes are recorded with the same
//!   generation. A later claimer can therefore only send after the previous generation's last
//!   confirmed lease ran out, and every send of that generation started right after its
//!   confirmation and is cut off by the request timeout well before then.
//! - Delivery is at-least-once: an operation whose replica died after sending is sent again
//!   with the same `External-Reference-Id` (see docs/ASSUMPTIONS.md, "Gateway").

use super::state::GatewayState;
use super::upstream::LinkError;
use crate::nxtport::classify::{classify as meaning, Answer};
use crate::nxtport::RetryPolicy;
use crate::nxtport::{CallOptions, NxtPortError, SendGuard};
use crate::store::now_millis;
use crate::store::outbox::{Operation, OperationKind};
use cpu_contract::{IngestionRequest, TerminalReleaseRequest};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What became of one delivery attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted with this publicReferenceId.
    Sent(String),
    /// Try again later.
    Retry(String),
    /// Try again, not before NxtPort's `Retry-After`.
    RetryAfter(String, Duration),
    /// Give up.
    Failed(String),
}

/// This replica's name in the outbox's leases: `configured` (or `$HOSTNAME`, or `gateway`)
/// plus a random suffix, so it is unique per process start.
pub fn replica_id(configured: Option<&str>) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let name = configured
        .filter(|c| !c.trim().is_empty())
        .unwrap_or(if host.is_empty() { "gateway" } else { &host });
    let name: String = name.chars().take(60).collect();
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!("{name}-{}", &short[..8])
}

/// Run the worker until the runtime stops.
pub async fn run(state: Arc<GatewayState>) {
    let owner: Arc<str> = Arc::from(replica_id(state.settings.replica_id.as_deref()));
    let lease = Duration::from_secs(state.settings.delivery.lease_secs);
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    tracing::info!(replica = %owner, "delivery worker started");
    housekeeping(&state, &owner, lease_ms).await;
    {
        let (state, owner) = (Arc::clone(&state), Arc::clone(&owner));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                housekeeping(&state, &owner, lease_ms).await;
            }
        });
    }
    let slots = Arc::new(Semaphore::new(state.settings.delivery.concurrency));
    let per_entity = state.settings.delivery.per_entity_concurrency;
    let in_flight: Arc<parking_lot::Mutex<HashMap<String, usize>>> = Arc::default();
    let idle = Duration::from_millis(state.settings.delivery.poll_interval_ms);
    loop {
        // At most `per_entity` per claim and per entity in flight: one budget-bound entity
        // cannot take every slot.
        let free = slots.available_permits().min(per_entity);
        let busy: Vec<String> = in_flight
            .lock()
            .iter()
            .filter(|(_, n)| **n >= per_entity)
            .map(|(e, _)| e.clone())
            .collect();
        // Taken before the lease is computed: the claim's lease ends no earlier than
        // `claimed_at + lease` on this process's monotonic clock.
        let claimed_at = Instant::now();
        let claimed = if free == 0 {
            Vec::new()
        } else {
            let now = now_millis();
            match state
                .store
                .claim_due_except(&owner, now, now + lease_ms, free as i64, &busy)
                .await
            {
                Ok(ops) => ops,
                Err(e) => {
                    tracing::error!(error = %e, "claiming operations failed");
                    tokio::time::sleep(idle).await;
                    continue;
                }
            }
        };
        let got_work = !claimed.is_empty();
        for op in claimed {
            let permit = match Arc::clone(&slots).acquire_owned().await {
                Ok(p) => p,
                Err(_) => return,
            };
            let (state, owner) = (Arc::clone(&state), Arc::clone(&owner));
            let entity = op.entity_id.clone();
            *in_flight.lock().entry(entity.clone()).or_default() += 1;
            let in_flight = Arc::clone(&in_flight);
            tokio::spawn(async move {
                deliver(&state, &owner, op, claimed_at).await;
                {
                    let mut map = in_flight.lock();
                    if let Some(n) = map.get_mut(&entity) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            map.remove(&entity);
                        }
                    }
                }
                drop(permit);
                // A finished operation may unblock the next one of its container.
                state.wake_worker.notify_one();
            });
        }
        if !got_work {
            let _ = tokio::time::timeout(idle, state.wake_worker.notified()).await;
        }
    }
}

/// Renew this replica's leases, take back expired ones, repair correlations.
async fn housekeeping(state: &GatewayState, owner: &str, lease_ms: i64) {
    let now = now_millis();
    if let Err(e) = state.store.renew_leases(owner, now + lease_ms).await {
        tracing::error!(error = %e, "could not renew the outbox leases");
    }
    match state.store.reclaim_expired(now).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(
                operations = n,
                "took back operations whose lease expired (their replica stopped; at-least-once delivery)"
            );
            state.wake_worker.notify_one();
        }
        Err(e) => tracing::error!(error = %e, "could not take back expired leases"),
    }
    match state.store.correlate_stored().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            operations = n,
            "correlated sent operations with stored notifications"
        ),
        Err(e) => tracing::error!(error = %e, "could not correlate stored notifications"),
    }
}

/// Deliver one claimed operation and record the outcome (only while `owner` holds its lease).
/// `claimed_at`: an instant taken before the claim's lease was computed.
pub async fn deliver(state: &GatewayState, owner: &str, op: Operation, claimed_at: Instant) {
    let outcome = attempt(state, owner, &op, claimed_at).await;
    let generation = op.attempts;
    let max = i64::from(state.settings.delivery.max_attempts);
    let result = match &outcome {
        Outcome::Sent(reference) => {
            let latency = (now_millis() - op.created_at).max(0) as f64 / 1000.0;
            state
                .metrics
                .delivery_latency
                .with_label_values(&[op.kind.as_str()])
                .observe(latency);
            state.metrics.outbox_depth.dec();
            tracing::info!(operation = %op.id, public_reference_id = %reference, "operation sent");
            state
                .store
                .mark_sent(&op.id, owner, generation, reference)
                .await
        }
        Outcome::Retry(error) | Outcome::RetryAfter(error, _) if op.attempts >= max => {
            state.metrics.outbox_depth.dec();
            tracing::warn!(operation = %op.id, attempts = op.attempts, %error, "operation failed after its last attempt");
            state
                .store
                .mark_failed(
                    &op.id,
                    owner,
                    generation,
                    &format!("gave up after {} attempts: {error}", op.attempts),
                )
                .await
        }
        Outcome::Retry(error) | Outcome::RetryAfter(error, _) => {
            let after = match &outcome {
                Outcome::RetryAfter(_, after) => Some(*after),
                _ => None,
            };
            let delay = backoff(
                op.attempts,
                state.settings.delivery.backoff_base_ms,
                state.settings.delivery.backoff_max_ms,
                after,
            );
            tracing::info!(operation = %op.id, attempts = op.attempts, retry_in_ms = delay, %error, "operation will be retried");
            state
                .store
                .mark_retry(
                    &op.id,
                    owner,
                    generation,
                    error,
                    now_millis() + delay as i64,
                )
                .await
        }
        Outcome::Failed(error) => {
            state.metrics.outbox_depth.dec();
            tracing::warn!(operation = %op.id, %error, "operation rejected");
            state
                .store
                .mark_failed(&op.id, owner, generation, error)
                .await
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            operation = %op.id,
            "the lease of this operation expired before its outcome was recorded; another replica took it over"
        ),
        // The row stays `sending`; its lease expires and a replica takes it back.
        Err(e) => {
            tracing::error!(operation = %op.id, error = %e, "could not record the delivery outcome")
        }
    }
}

/// The delay before delivery attempt `attempt + 1`: the one retry policy of the NxtPort client
/// ([`RetryPolicy`]: exponential backoff with full jitter, NxtPort's `Retry-After` honoured up to
/// `max_ms`), here with the delivery worker's base and cap.
pub fn backoff(attempt: i64, base_ms: u64, max_ms: u64, retry_after: Option<Duration>) -> u64 {
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_millis(base_ms),
        max_delay: Duration::from_millis(max_ms),
        max_retry_after: Duration::from_millis(max_ms),
    };
    let retry = u32::try_from(attempt.max(1)).unwrap_or(u32::MAX);
    u64::try_from(policy.delay(retry, retry_after).as_millis())
        .unwrap_or(max_ms)
        .max(1)
}

fn endpoint(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::TerminalRelease => "terminal-release",
        OperationKind::Discharge | OperationKind::GateIn | OperationKind::GateOut => "ingestion",
    }
}

/// What a client error means for the outbox (see [`crate::nxtport::classify`]).
pub fn classify(e: &NxtPortError) -> Outcome {
    match meaning(e) {
        Answer::Refused { status, message } => Outcome::Failed(format!(
            "NxtPort rejected the operation ({status}): {message}"
        )),
        Answer::Broken => match e {
            NxtPortError::Decode { .. } => Outcome::Failed(format!(
                "NxtPort accepted the call but its answer could not be read: {e}"
            )),
            _ => Outcome::Failed(e.to_string()),
        },
        Answer::Credentials => {
            Outcome::Retry(format!("NxtPort refused the entity's credentials: {e}"))
        }
        Answer::BudgetUnavailable | Answer::BudgetSpent => {
            Outcome::Retry(format!("waiting for the budget: {e}"))
        }
        Answer::Transient {
            retry_after: Some(after),
        } => Outcome::RetryAfter(e.to_string(), after),
        Answer::Transient { retry_after: None } => Outcome::Retry(e.to_string()),
    }
}

/// Whether a send starting now ends (request timeout included) before the claim's own lease
/// (`lease` from `claimed_at`) runs out, with `margin` to spare: then no one else can hold the
/// claim while it runs, and the database need not be asked.
fn inside_claim_lease(claimed_at: Instant, lease: Duration, timeout: Duration) -> bool {
    let margin = (lease / 10).max(Duration::from_secs(1));
    claimed_at.elapsed() + timeout + margin <= lease
}

/// Right before each send: a claim whose own lease outlasts the send goes ahead; an older one
/// confirms its claim (owner and generation) and extends its lease; a claim that was taken back
/// withdraws the call.
fn lease_guard(
    state: &GatewayState,
    owner: &str,
    op: &Operation,
    claimed_at: Instant,
) -> SendGuard {
    let store = state.store.clone();
    let claim_lease = Duration::from_secs(state.settings.delivery.lease_secs);
    let timeout = Duration::from_millis(state.settings.nxtport.timeout_ms);
    // The send that follows is cut off by the request timeout: the lease outlives it by a
    // whole lease.
    let lease_ms = state
        .settings
        .delivery
        .lease_secs
        .saturating_mul(1000)
        .saturating_add(state.settings.nxtport.timeout_ms);
    let lease_ms = i64::try_from(lease_ms).unwrap_or(i64::MAX);
    let (id, owner, generation) = (op.id.clone(), owner.to_owned(), op.attempts);
    SendGuard(Arc::new(move || {
        let (store, id, owner) = (store.clone(), id.clone(), owner.clone());
        Box::pin(async move {
            if inside_claim_lease(claimed_at, claim_lease, timeout) {
                return Ok(());
            }
            match store
                .confirm_lease(&id, &owner, generation, now_millis() + lease_ms)
                .await
            {
                Ok(true) => Ok(()),
                Ok(false) => Err("the lease of this operation was taken over".to_owned()),
                Err(e) => Err(format!("could not confirm the lease: {e}")),
            }
        })
    }))
}

async fn attempt(
    state: &GatewayState,
    owner: &str,
    op: &Operation,
    claimed_at: Instant,
) -> Outcome {
    let link = match state.upstreams.link(&op.entity_id).await {
        Ok(link) => link,
        Err(LinkError::Missing) => {
            return Outcome::Retry("no NxtPort connection configured for the entity".into())
        }
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let options = CallOptions::with_reference(op.id.clone())
        .guarded(lease_guard(state, owner, op, claimed_at));
    let result = match op.kind {
        OperationKind::TerminalRelease => {
            let body: TerminalReleaseRequest = match serde_json::from_value(op.payload.clone()) {
                Ok(b) => b,
                Err(e) => return Outcome::Failed(format!("stored request unreadable: {e}")),
            };
            link.client
                .terminal_release(&body.port_lo_code, &body.equipment_number, &body, &options)
                .await
        }
        OperationKind::Discharge | OperationKind::GateIn | OperationKind::GateOut => {
            let body: IngestionRequest = match serde_json::from_value(op.payload.clone()) {
                Ok(b) => b,
                Err(e) => return Outcome::Failed(format!("stored request unreadable: {e}")),
            };
            link.client
                .ingestion(link.conn.ingestion_id.as_str(), &body, &options)
                .await
        }
    };
    let status = match &result {
        Ok(_) => "202".to_owned(),
        Err(e) => e
            .status()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "error".into()),
    };
    state
        .metrics
        .upstream_status
        .with_label_values(&[endpoint(op.kind), &status])
        .inc();
    match result {
        Ok(accepted) => Outcome::Sent(accepted.public_reference_id),
        Err(e) => classify(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpu_contract::ProblemDetails;
    use reqwest::Method;

    fn status(code: u16) -> NxtPortError {
        NxtPortError::Status {
            method: Method::POST,
            path: "/x".into(),
            status: code,
            problem: Some(ProblemDetails::new(code, "Bad", "equipmentNumber is wrong").into()),
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn classification_follows_the_issue() {
        assert!(
            matches!(classify(&status(400)), Outcome::Failed(m) if m.contains("equipmentNumber is wrong"))
        );
        assert!(matches!(classify(&status(404)), Outcome::Failed(_)));
        // A 401 that names a CPu condition (not the token) is a refusal.
        assert!(
            matches!(classify(&status(401)), Outcome::Failed(m) if m.contains("equipmentNumber is wrong"))
        );
        assert!(matches!(classify(&status(429)), Outcome::Retry(_)));
        let mut limited = status(429);
        if let NxtPortError::Status { retry_after, .. } = &mut limited {
            *retry_after = Some(Duration::from_secs(2));
        }
        assert!(matches!(
            classify(&limited),
            Outcome::RetryAfter(_, d) if d == Duration::from_secs(2)
        ));
        assert!(matches!(classify(&status(503)), Outcome::Retry(_)));
        let exhausted = NxtPortError::RetriesExhausted {
            attempts: 5,
            last: Box::new(status(500)),
        };
        assert!(matches!(classify(&exhausted), Outcome::Retry(_)));
        let transport = NxtPortError::Transport {
            method: Method::POST,
            path: "/x".into(),
            message: "refused".into(),
            timeout: false,
        };
        assert!(matches!(classify(&transport), Outcome::Retry(_)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            let first = backoff(1, 1000, 300_000, None);
            assert!((1..=1000).contains(&first), "{first}");
            let tenth = backoff(10, 1000, 300_000, None);
            assert!((1..=300_000).contains(&tenth), "{tenth}");
            assert!(backoff(60, 1000, 300_000, None) <= 300_000);
        }
        // Full jitter spreads retries over the whole range.
        let tenths: Vec<u64> = (0..200).map(|_| backoff(10, 1000, 300_000, None)).collect();
        assert!(tenths.iter().any(|d| *d > 200_000) && tenths.iter().any(|d| *d < 100_000));
        // NxtPort's Retry-After wins, capped at the maximum.
        assert_eq!(
            backoff(1, 1000, 300_000, Some(Duration::from_secs(7))),
            7_000
        );
        assert_eq!(
            backoff(1, 1000, 300_000, Some(Duration::from_secs(9_999))),
            300_000
        );
    }

    /// On tokio's paused clock: a claim sends without asking the database only while the send,
    /// cut off by its timeout, ends inside the claim's own lease with a margin (here 30 s
    /// lease, 15 s timeout, 3 s margin: for 12 s after the claim); then it must confirm.
    #[tokio::test(start_paused = true)]
    async fn a_claim_skips_the_confirmation_only_while_its_own_lease_outlasts_the_send() {
        let (lease, timeout) = (Duration::from_secs(30), Duration::from_secs(15));
        let claimed_at = Instant::now();
        assert!(inside_claim_lease(claimed_at, lease, timeout));
        tokio::time::advance(Duration::from_secs(12)).await;
        assert!(inside_claim_lease(claimed_at, lease, timeout));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!inside_claim_lease(claimed_at, lease, timeout));
        // A timeout as long as the lease: always confirmed.
        assert!(!inside_claim_lease(Instant::now(), lease, lease));
    }
}

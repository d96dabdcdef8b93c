//! The delivery worker: sends queued operations to NxtPort.
//!
//! - Claims due operations in `seq` order, at most one per container at a time (the claim query
//!   skips an operation while an earlier one of its container is queued or in flight).
//! - Sends each with the entity's [`NxtPortClient`](crate::nxtport::NxtPortClient) as a
//!   background-priority call, `External-Reference-Id` = operation id. The client retries
//!   transient failures itself (backoff, jitter, Retry-After, token refresh on 401).
//! - 202 -> `sent` with the publicReferenceId. A 4xx other than 401/408/429 -> `failed` with
//!   NxtPort's explanation. Anything transient (5xx, 429, timeouts, refused credentials, no
//!   connection yet) -> back to `queued` with exponential backoff; after
//!   `delivery.max_attempts` -> `failed`.
//! - On start, operations a dead process left in flight are re-queued: delivery is
//!   at-least-once (see docs/ASSUMPTIONS.md, "Gateway").

use super::state::GatewayState;
use super::upstream::{rejection_detail, LinkError};
use crate::nxtport::{CallOptions, IngestionRequest, NxtPortError, TerminalReleaseRequest};
use crate::store::now_millis;
use crate::store::outbox::{Operation, OperationKind};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// What became of one delivery attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted with this publicReferenceId.
    Sent(String),
    /// Try again later.
    Retry(String),
    /// Give up.
    Failed(String),
}

/// Run the worker until the runtime stops.
pub async fn run(state: Arc<GatewayState>) {
    match state.store.requeue_in_flight().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            operations = n,
            "re-queued operations left in flight by a previous process (at-least-once delivery)"
        ),
        Err(e) => tracing::error!(error = %e, "could not re-queue in-flight operations"),
    }
    let slots = Arc::new(Semaphore::new(state.settings.delivery.concurrency));
    let idle = Duration::from_millis(state.settings.delivery.poll_interval_ms);
    loop {
        let free = slots.available_permits();
        let claimed = if free == 0 {
            Vec::new()
        } else {
            match state.store.claim_due(now_millis(), free as i64).await {
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
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                deliver(&state, op).await;
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

/// Deliver one claimed operation and record the outcome.
pub async fn deliver(state: &GatewayState, op: Operation) {
    let outcome = attempt(state, &op).await;
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
            state.store.mark_sent(&op.id, reference).await
        }
        Outcome::Retry(error) if op.attempts >= max => {
            state.metrics.outbox_depth.dec();
            tracing::warn!(operation = %op.id, attempts = op.attempts, %error, "operation failed after its last attempt");
            state
                .store
                .mark_failed(
                    &op.id,
                    &format!("gave up after {} attempts: {error}", op.attempts),
                )
                .await
        }
        Outcome::Retry(error) => {
            let delay = backoff(
                op.attempts,
                state.settings.delivery.backoff_base_ms,
                state.settings.delivery.backoff_max_ms,
            );
            tracing::info!(operation = %op.id, attempts = op.attempts, retry_in_ms = delay, %error, "operation will be retried");
            state
                .store
                .mark_retry(&op.id, error, now_millis() + delay as i64)
                .await
        }
        Outcome::Failed(error) => {
            state.metrics.outbox_depth.dec();
            tracing::warn!(operation = %op.id, %error, "operation rejected");
            state.store.mark_failed(&op.id, error).await
        }
    };
    if let Err(e) = result {
        // The row stays `sending`; the next start re-queues it.
        tracing::error!(operation = %op.id, error = %e, "could not record the delivery outcome");
    }
}

/// Exponential backoff with full jitter: uniform(base/2, min(max, base * 2^(n-1))).
pub fn backoff(attempt: i64, base_ms: u64, max_ms: u64) -> u64 {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let cap = base_ms.saturating_mul(1u64 << exp).min(max_ms).max(1);
    let floor = (base_ms / 2).min(cap);
    rand::thread_rng().gen_range(floor..=cap)
}

fn endpoint(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::TerminalRelease => "terminal-release",
        OperationKind::Discharge | OperationKind::GateIn | OperationKind::GateOut => "ingestion",
    }
}

/// Classify a client error for the outbox.
pub fn classify(e: &NxtPortError) -> Outcome {
    match e {
        NxtPortError::Token { .. } => {
            Outcome::Retry(format!("NxtPort refused the entity's credentials: {e}"))
        }
        NxtPortError::Status { status: 401, .. } => {
            Outcome::Retry(format!("NxtPort refused the entity's token: {e}"))
        }
        NxtPortError::RetriesExhausted { last, .. } => match classify(last) {
            Outcome::Failed(m) => Outcome::Failed(m),
            _ => Outcome::Retry(e.to_string()),
        },
        NxtPortError::Status { status, .. } if !e.is_transient() => Outcome::Failed(format!(
            "NxtPort rejected the operation ({status}): {}",
            rejection_detail(e)
        )),
        NxtPortError::Decode { .. } => Outcome::Failed(format!(
            "NxtPort accepted the call but its answer could not be read: {e}"
        )),
        NxtPortError::InvalidRequest(_) | NxtPortError::Config(_) => Outcome::Failed(e.to_string()),
        _ => Outcome::Retry(e.to_string()),
    }
}

async fn attempt(state: &GatewayState, op: &Operation) -> Outcome {
    let link = match state.upstreams.link(&op.entity_id).await {
        Ok(link) => link,
        Err(LinkError::Missing) => {
            return Outcome::Retry("no NxtPort connection configured for the entity".into())
        }
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let options = CallOptions::with_reference(op.id.clone());
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
                .ingestion(&link.conn.ingestion_id, &body, &options)
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
    use crate::nxtport::ProblemDetails;
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
        assert!(matches!(classify(&status(401)), Outcome::Retry(_)));
        assert!(matches!(classify(&status(429)), Outcome::Retry(_)));
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
            let first = backoff(1, 1000, 300_000);
            assert!((500..=1000).contains(&first), "{first}");
            let tenth = backoff(10, 1000, 300_000);
            assert!((500..=300_000).contains(&tenth), "{tenth}");
            assert!(backoff(60, 1000, 300_000) <= 300_000);
        }
    }
}

//! Webhook delivery: every notification is POSTed to the receiver's registered webhooks, with
//! retries and exponential backoff, and each attempt series lands in the world's delivery journal.

use super::state::{Delivery, SimState, WorldHandle};
use cpu_simulator::Notification;
use std::sync::Arc;
use std::time::Duration;

/// Queue notifications for delivery (only those whose receiver has a webhook).
pub fn enqueue(state: &SimState, world: &Arc<WorldHandle>, notifications: Vec<Notification>) {
    for n in notifications {
        if world.has_webhook(&n.receiver) {
            // The receiver only goes away at shutdown; losing deliveries then is fine.
            let _ = state.deliveries.send((Arc::clone(world), n));
        }
    }
}

/// Deliver queued notifications until the queue closes.
pub async fn run(
    state: Arc<SimState>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(Arc<WorldHandle>, Notification)>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built; deliveries disabled");
            return;
        }
    };
    while let Some((world, n)) = rx.recv().await {
        let hooks = world.webhooks_of(&n.receiver);
        for hook in hooks {
            let client = client.clone();
            let world = Arc::clone(&world);
            let payload = n.envelope();
            let attempts = state.config.webhook_attempts.max(1);
            let (event, reference, equipment, receiver) = (
                n.event.as_str().to_owned(),
                n.public_reference_id.to_string(),
                n.equipment.map(|e| e.as_str().to_owned()),
                n.receiver.as_str().to_owned(),
            );
            tokio::spawn(async move {
                let mut delivery = Delivery {
                    receiver,
                    url: hook.url.clone(),
                    event,
                    public_reference_id: reference,
                    equipment_number: equipment,
                    attempts: 0,
                    last_status: None,
                    outcome: "retrying".into(),
                    error: None,
                    at: chrono::Utc::now(),
                };
                for attempt in 1..=attempts {
                    delivery.attempts = attempt;
                    let mut req = client.post(&hook.url).json(&payload);
                    for (k, v) in &hook.headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    match req.send().await {
                        Ok(resp) if resp.status().is_success() => {
                            delivery.last_status = Some(resp.status().as_u16());
                            delivery.outcome = "delivered".into();
                            delivery.error = None;
                            break;
                        }
                        Ok(resp) => {
                            delivery.last_status = Some(resp.status().as_u16());
                            delivery.error = Some(format!("HTTP {}", resp.status()));
                        }
                        Err(e) => delivery.error = Some(e.without_url().to_string()),
                    }
                    if attempt < attempts {
                        tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt - 1)))
                            .await;
                    } else {
                        delivery.outcome = "failed".into();
                    }
                }
                delivery.at = chrono::Utc::now();
                world.record_delivery(delivery);
            });
        }
    }
}

//! Group commit for the outbox: concurrent requests share one transaction (one fsync).
//!
//! Each accepted write is sent to one writer task with a reply channel; the task takes
//! everything waiting (up to [`MAX_BATCH`]), inserts it in one transaction and answers every
//! sender after the commit. A request is answered 202 only after its row is durable; a failed
//! commit fails every request of that batch (none of them was stored). Channel order is
//! insertion order, so a caller's sequential writes keep their order.

use crate::store::outbox::NewOperation;
use crate::store::Store;
use tokio::sync::{mpsc, oneshot};

/// Most operations committed together.
pub const MAX_BATCH: usize = 256;

type Job = (NewOperation, oneshot::Sender<Result<(), String>>);

/// Handle on the writer task (cheap to clone).
#[derive(Clone, Debug)]
pub struct OutboxWriter {
    tx: mpsc::Sender<Job>,
}

impl OutboxWriter {
    /// Start the writer task on the current runtime.
    pub fn spawn(store: Store) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                let (ops, replies): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
                let result = store.enqueue_batch(&ops).await.map_err(|e| e.to_string());
                for reply in replies {
                    let _ = reply.send(result.clone());
                }
            }
        });
        Self { tx }
    }

    /// Durably store one operation (returns after the commit).
    pub async fn enqueue(&self, op: NewOperation) -> anyhow::Result<()> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send((op, reply))
            .await
            .map_err(|_| anyhow::anyhow!("outbox writer stopped"))?;
        done.await
            .map_err(|_| anyhow::anyhow!("outbox writer stopped"))?
            .map_err(|e| anyhow::anyhow!("outbox write failed: {e}"))
    }
}

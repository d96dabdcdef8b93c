//! Claims and leases: a replica claims due operations under a lease, confirms its claim
//! (fenced by generation) right before each send, renews its leases, and takes back only
//! expired ones.

use super::{from_row, Operation, COLUMNS};
use crate::store::{changed, Backend, Store, StoreError};

impl Store {
    /// Claim due operations (oldest first) for `owner` until `lease_until`; at most one per
    /// container, and none whose container has an earlier operation still `queued`, `sending`
    /// or `failed` (a failed operation holds its container until it is retried or cancelled).
    ///
    /// One statement: on PostgreSQL the candidates are locked with `FOR UPDATE SKIP LOCKED`, so
    /// replicas claiming at the same time take disjoint rows and never wait for each other; a
    /// candidate whose predecessor another replica is claiming right now is not due (the
    /// predecessor is still `queued` in this statement's snapshot). SQLite has one writer.
    pub async fn claim_due(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<Operation>, StoreError> {
        self.claim_due_except(owner, now, lease_until, limit, &[])
            .await
    }

    /// [`Self::claim_due`], skipping the operations of `busy` entities (those that already
    /// have as many calls in flight at this replica as they may), so one slow or budget-bound
    /// entity does not take every delivery slot.
    pub async fn claim_due_except(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        busy: &[String],
    ) -> Result<Vec<Operation>, StoreError> {
        let skip = if busy.is_empty() {
            String::new()
        } else {
            let params: Vec<String> = (0..busy.len()).map(|i| format!("${}", i + 4)).collect();
            format!("AND o.entity_id NOT IN ({}) ", params.join(", "))
        };
        let limit_param = format!("${}", busy.len() + 4);
        let due = format!(
            "SELECT o.seq AS picked_seq FROM operations o WHERE o.status = 'queued' \
               AND o.next_attempt_at <= $3 {skip}AND NOT EXISTS (SELECT 1 FROM operations p \
                 WHERE p.entity_id = o.entity_id AND p.container_key = o.container_key \
                 AND p.seq < o.seq AND p.status IN ('queued', 'sending', 'failed')) \
               ORDER BY o.seq LIMIT {limit_param}"
        );
        let set = "SET status = 'sending', attempts = attempts + 1, lease_owner = $1, \
               lease_until = $2, updated_at = $3";
        // PostgreSQL: the locked candidates in a CTE (evaluated once; an `IN (subquery ...
        // LIMIT n FOR UPDATE SKIP LOCKED)` may be re-run per row and claim more than n).
        let sql = match self.backend() {
            Backend::Postgres => format!(
                "WITH picked AS ({due} FOR UPDATE OF o SKIP LOCKED) \
                 UPDATE operations {set} FROM picked \
                 WHERE operations.seq = picked.picked_seq AND operations.status = 'queued' \
                 RETURNING {COLUMNS}"
            ),
            Backend::Sqlite => format!(
                "UPDATE operations {set} WHERE status = 'queued' \
                 AND seq IN (SELECT picked_seq FROM ({due})) RETURNING {COLUMNS}"
            ),
        };
        let mut query = sqlx::query(&sql)
            .bind(owner.to_owned())
            .bind(lease_until)
            .bind(now);
        for entity in busy {
            query = query.bind(entity.clone());
        }
        let rows = query.bind(limit).fetch_all(self.pool()).await?;
        let mut claimed = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|o| o.seq);
        Ok(claimed)
    }

    /// Extend every lease `owner` holds (called while its calls are in flight); never shortens
    /// one (a lease confirmed for a send may run longer).
    pub async fn renew_leases(&self, owner: &str, lease_until: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE operations SET lease_until = CASE WHEN lease_until > $1 THEN lease_until \
             ELSE $1 END WHERE lease_owner = $2 AND status = 'sending'",
        )
        .bind(lease_until)
        .bind(owner.to_owned())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Right before sending: the claim of generation `generation` (the operation's `attempts`
    /// when it was claimed) is still `owner`'s; its lease now runs until `lease_until`.
    /// `false`: the lease expired and was taken back (maybe claimed again): do not send.
    pub async fn confirm_lease(
        &self,
        id: &str,
        owner: &str,
        generation: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE operations SET lease_until = $1 \
             WHERE id = $2 AND status = 'sending' AND lease_owner = $3 AND attempts = $4",
        )
        .bind(lease_until)
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .bind(generation)
        .execute(self.pool())
        .await?;
        Ok(changed(&r))
    }

    /// Put back in the queue the operations whose lease expired (their replica died or lost
    /// the database): only those, never a live replica's. They may have reached NxtPort:
    /// delivery is at-least-once.
    pub async fn reclaim_expired(&self, now: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE operations SET status = 'queued', lease_owner = NULL, lease_until = NULL, \
             updated_at = $1 WHERE status = 'sending' AND (lease_until IS NULL OR lease_until < $1)",
        )
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// The earliest time a queued operation becomes due (for the worker's sleep).
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM operations WHERE status = 'queued'",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(at)
    }
}

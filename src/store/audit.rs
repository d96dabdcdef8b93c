//! Audit log: who did what, for which entity, when, with what outcome. Never a secret: callers
//! pass field *names* in `detail`, not values.

use super::{now_millis, Store, StoreError};
use serde::Serialize;
use sqlx::{Any, Row};

/// Who acts, and for which entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The API token used (`None` for the CLI or the gateway itself).
    pub token_id: Option<String>,
    /// The entity the token belongs to.
    pub actor_entity_id: Option<String>,
    /// The entity acted for (whose data is read or changed).
    pub entity_id: String,
    /// `true` when a support token acts for another entity.
    pub impersonation: bool,
}

impl Actor {
    /// The gateway itself or its CLI, acting for `entity_id`.
    pub fn system(entity_id: impl Into<String>) -> Self {
        Self {
            token_id: None,
            actor_entity_id: None,
            entity_id: entity_id.into(),
            impersonation: false,
        }
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// Verb, e.g. `credentials.put`, `connection.read`.
    pub action: &'a str,
    /// What was acted on, e.g. `nxtport` or an operation id.
    pub target: &'a str,
    /// `ok`, `denied`, `invalid`, `error`.
    pub outcome: &'a str,
    /// Extra non-secret facts (field names changed, status codes).
    pub detail: Option<serde_json::Value>,
}

/// A stored audit entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Entry id.
    pub id: String,
    /// When (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Token used, if any.
    pub actor_token_id: Option<String>,
    /// Entity of that token.
    pub actor_entity_id: Option<String>,
    /// Entity acted for.
    pub entity_id: Option<String>,
    /// Support acting for another entity.
    pub impersonation: bool,
    /// Verb.
    pub action: String,
    /// Object.
    pub target: String,
    /// Outcome.
    pub outcome: String,
    /// Non-secret detail.
    pub detail: Option<serde_json::Value>,
}

/// Audit log operations.
pub struct AuditLog;

impl AuditLog {
    /// Append an entry using any executor (pool or open transaction).
    pub async fn record_with<'e, E>(
        exec: E,
        actor: &Actor,
        record: &AuditRecord<'_>,
    ) -> Result<(), StoreError>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let detail = record.detail.as_ref().map(|d| d.to_string());
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_token_id, actor_entity_id, entity_id, \
             impersonation, action, target, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now_millis())
        .bind(actor.token_id.clone())
        .bind(actor.actor_entity_id.clone())
        .bind(actor.entity_id.clone())
        .bind(i64::from(actor.impersonation))
        .bind(record.action.to_owned())
        .bind(record.target.to_owned())
        .bind(record.outcome.to_owned())
        .bind(detail)
        .execute(exec)
        .await?;
        Ok(())
    }

    /// Append an entry in its own statement. A repeated read (an action of [`COLLAPSED`]) by
    /// the same token with the same outcome, right after the same read of the entity and
    /// within [`COLLAPSE_WINDOW_MS`] of it, is counted in that entry instead (`detail.repeats`,
    /// `detail.lastAt`), so polling a connection does not push every other entry out of view.
    pub async fn record(
        store: &Store,
        actor: &Actor,
        record: &AuditRecord<'_>,
    ) -> Result<(), StoreError> {
        if record.detail.is_none()
            && COLLAPSED.contains(&record.action)
            && Self::collapse(store, actor, record).await?
        {
            return Ok(());
        }
        Self::record_with(store.pool(), actor, record).await
    }

    /// Count a repeated read in the entity's latest entry when it is the same read. `false`
    /// when it is not (or another writer changed it meanwhile): the caller inserts a row.
    async fn collapse(
        store: &Store,
        actor: &Actor,
        record: &AuditRecord<'_>,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let latest = sqlx::query(
            "SELECT seq, at, actor_token_id, actor_entity_id, impersonation, action, target, \
             outcome, detail FROM audit_log WHERE entity_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(actor.entity_id.clone())
        .fetch_optional(store.pool())
        .await?;
        let Some(row) = latest else {
            return Ok(false);
        };
        let same = row.try_get::<Option<String>, _>("actor_token_id")? == actor.token_id
            && row.try_get::<Option<String>, _>("actor_entity_id")? == actor.actor_entity_id
            && (row.try_get::<i64, _>("impersonation")? != 0) == actor.impersonation
            && row.try_get::<String, _>("action")? == record.action
            && row.try_get::<String, _>("target")? == record.target
            && row.try_get::<String, _>("outcome")? == record.outcome
            && now.saturating_sub(row.try_get::<i64, _>("at")?) < COLLAPSE_WINDOW_MS;
        if !same {
            return Ok(false);
        }
        let seq: i64 = row.try_get("seq")?;
        let old: Option<String> = row.try_get("detail")?;
        let repeats = match &old {
            None => 1,
            Some(d) => match serde_json::from_str::<serde_json::Value>(d)
                .ok()
                .and_then(|v| v.get("repeats").and_then(serde_json::Value::as_i64))
            {
                Some(n) => n,
                // A detail this code did not write: not a collapsed read.
                None => return Ok(false),
            },
        };
        let new = serde_json::json!({
            "repeats": repeats.saturating_add(1),
            "lastAt": super::millis_to_utc(now),
        })
        .to_string();
        // Compare-and-set on the detail: two readers at once never lose a count.
        let done = match old {
            None => {
                sqlx::query("UPDATE audit_log SET detail = $1 WHERE seq = $2 AND detail IS NULL")
                    .bind(new)
                    .bind(seq)
                    .execute(store.pool())
                    .await?
            }
            Some(old) => {
                sqlx::query("UPDATE audit_log SET detail = $1 WHERE seq = $2 AND detail = $3")
                    .bind(new)
                    .bind(seq)
                    .bind(old)
                    .execute(store.pool())
                    .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    /// Latest entries for an entity, newest first.
    pub async fn list(
        store: &Store,
        entity_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(Self::page(store, &AuditQuery::new(entity_id, limit))
            .await?
            .entries)
    }

    /// One page of an entity's entries, newest first, filtered in the database (so a filter
    /// never hides entries beyond a fixed window).
    pub async fn page(store: &Store, q: &AuditQuery) -> Result<AuditPage, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE entity_id = $1");
        let mut texts: Vec<String> = vec![q.entity_id.clone()];
        let mut push = |sql: &mut String, clause: &str, v: String| {
            texts.push(v);
            sql.push_str(&clause.replace("$N", &format!("${}", texts.len())));
        };
        match &q.action {
            Some(ActionFilter::Exact(a)) => push(&mut sql, " AND action = $N", a.clone()),
            Some(ActionFilter::Prefix(p)) => {
                push(
                    &mut sql,
                    " AND action LIKE $N",
                    format!("{}%", like_escape(p)),
                );
                sql.push_str(" ESCAPE '\\'");
            }
            None => {}
        }
        if q.data_sources_only {
            sql.push_str(" AND (action LIKE 'datasource.%' OR target LIKE 'datasource:%')");
        }
        match &q.actor {
            Some(ActorFilter::System) => sql.push_str(" AND actor_token_id IS NULL"),
            Some(ActorFilter::Id(id)) => {
                texts.push(id.clone());
                let n = texts.len();
                sql.push_str(&format!(
                    " AND (actor_token_id = ${n} OR actor_entity_id = ${n})"
                ));
            }
            None => {}
        }
        let mut next = texts.len();
        let mut ints: Vec<i64> = Vec::new();
        for (clause, v) in [
            (" AND at >= $N", q.from),
            (" AND at < $N", q.to),
            (" AND seq < $N", q.before),
            (" AND impersonation = $N", q.impersonation.map(i64::from)),
        ] {
            if let Some(v) = v {
                next += 1;
                ints.push(v);
                sql.push_str(&clause.replace("$N", &format!("${next}")));
            }
        }
        next += 1;
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${next}"));
        let mut query = sqlx::query(&sql);
        for t in texts {
            query = query.bind(t);
        }
        for i in ints {
            query = query.bind(i);
        }
        // One more than asked: whether there is a next page.
        let limit = q.limit.max(1);
        let rows = query
            .bind(limit.saturating_add(1))
            .fetch_all(store.pool())
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut last_seq = None;
        for r in rows
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            last_seq = Some(r.try_get::<i64, _>("seq")?);
            entries.push(entry_of(r)?);
        }
        let next_before = (i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit)
            .then_some(last_seq)
            .flatten();
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}

/// Actions counted in one entry when repeated (see [`AuditLog::record`]).
pub const COLLAPSED: &[&str] = &["credentials.read"];

/// How long repeated reads are counted in the same entry (1 hour).
pub const COLLAPSE_WINDOW_MS: i64 = 3_600_000;

const COLUMNS: &str = "seq, id, at, actor_token_id, actor_entity_id, entity_id, impersonation, \
                       action, target, outcome, detail";

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn entry_of(r: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
    let detail: Option<String> = r.try_get("detail")?;
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: super::millis_to_utc(r.try_get("at")?),
        actor_token_id: r.try_get("actor_token_id")?,
        actor_entity_id: r.try_get("actor_entity_id")?,
        entity_id: r.try_get("entity_id")?,
        impersonation: r.try_get::<i64, _>("impersonation")? != 0,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        outcome: r.try_get("outcome")?,
        detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
    })
}

/// Which actions an [`AuditQuery`] keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionFilter {
    /// This action only (`credentials.read`).
    Exact(String),
    /// Every action starting with this (`credentials.` from `credentials.*`).
    Prefix(String),
}

/// Whose acts an [`AuditQuery`] keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    /// The gateway itself or its CLI (no token).
    System,
    /// A token id, or the entity owning the token (e.g. support's entity).
    Id(String),
}

/// A page request over an entity's audit log (filters ANDed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The entity whose log is read (acts *for* it, support's included).
    pub entity_id: String,
    /// Action filter.
    pub action: Option<ActionFilter>,
    /// Actor filter.
    pub actor: Option<ActorFilter>,
    /// Only impersonated acts (`true`) or only the entity's own (`false`).
    pub impersonation: Option<bool>,
    /// From this time (unix ms, inclusive).
    pub from: Option<i64>,
    /// Before this time (unix ms, exclusive).
    pub to: Option<i64>,
    /// Only Data Sources entries (`datasource.*` actions or `datasource:` targets).
    pub data_sources_only: bool,
    /// Cursor: entries older than this position (from [`AuditPage::next_before`]).
    pub before: Option<i64>,
    /// Page size (at least 1).
    pub limit: i64,
}

impl AuditQuery {
    /// The latest `limit` entries of an entity, unfiltered.
    pub fn new(entity_id: impl Into<String>, limit: i64) -> Self {
        Self {
            entity_id: entity_id.into(),
            action: None,
            actor: None,
            impersonation: None,
            from: None,
            to: None,
            data_sources_only: false,
            before: None,
            limit,
        }
    }
}

/// One page of entries, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Cursor of the next (older) page, `None` on the last page.
    pub next_before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::sqlite_store;

    fn token(id: &str, entity: &str, impersonation: bool) -> Actor {
        Actor {
            token_id: Some(id.to_owned()),
            actor_entity_id: Some(if impersonation { "support-co" } else { entity }.to_owned()),
            entity_id: entity.to_owned(),
            impersonation,
        }
    }

    fn rec(action: &str) -> AuditRecord<'_> {
        AuditRecord {
            action,
            target: "nxtport",
            outcome: "ok",
            detail: None,
        }
    }

    fn actions(p: &AuditPage) -> Vec<&str> {
        p.entries.iter().map(|e| e.action.as_str()).collect()
    }

    #[tokio::test]
    async fn repeated_reads_are_one_entry_with_a_count() {
        let (store, _dir) = sqlite_store().await;
        let viewer = token("t-viewer", "e1", false);
        AuditLog::record(&store, &viewer, &rec("datasource.connect"))
            .await
            .expect("record");
        for _ in 0..400 {
            AuditLog::record(&store, &viewer, &rec("credentials.read"))
                .await
                .expect("record");
        }
        let page = AuditLog::page(&store, &AuditQuery::new("e1", 100))
            .await
            .expect("page");
        assert_eq!(actions(&page), ["credentials.read", "datasource.connect"]);
        let detail = page.entries[0].detail.as_ref().expect("detail");
        assert_eq!(detail["repeats"], 400, "{detail}");
        assert!(detail["lastAt"].is_string(), "{detail}");
        // Another token's read, or a read after another act, starts a new entry.
        AuditLog::record(
            &store,
            &token("t-other", "e1", false),
            &rec("credentials.read"),
        )
        .await
        .expect("record");
        AuditLog::record(&store, &viewer, &rec("credentials.read"))
            .await
            .expect("record");
        let page = AuditLog::page(&store, &AuditQuery::new("e1", 100))
            .await
            .expect("page");
        assert_eq!(page.entries.len(), 4);
        assert!(page.entries[0].detail.is_none());
        // Other actions are never collapsed.
        for _ in 0..3 {
            AuditLog::record(&store, &viewer, &rec("credentials.update"))
                .await
                .expect("record");
        }
        let page = AuditLog::page(&store, &AuditQuery::new("e1", 100))
            .await
            .expect("page");
        assert_eq!(page.entries.len(), 7);
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_without_gaps_or_repeats() {
        let (store, _dir) = sqlite_store().await;
        let a = token("t1", "e1", false);
        for i in 0..25 {
            let action = format!("operation.{i}");
            AuditLog::record(&store, &a, &rec(&action))
                .await
                .expect("record");
        }
        let mut q = AuditQuery::new("e1", 10);
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = AuditLog::page(&store, &q).await.expect("page");
            pages += 1;
            seen.extend(page.entries.iter().map(|e| e.action.clone()));
            match page.next_before {
                Some(c) => q.before = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let expected: Vec<String> = (0..25).rev().map(|i| format!("operation.{i}")).collect();
        assert_eq!(seen, expected);
        // An exact last page has no cursor.
        let page = AuditLog::page(&store, &AuditQuery::new("e1", 25))
            .await
            .expect("page");
        assert_eq!((page.entries.len(), page.next_before), (25, None));
    }

    #[tokio::test]
    async fn filters_apply_before_the_limit_sqlite() {
        let (store, _dir) = sqlite_store().await;
        filters_apply_before_the_limit(store).await;
    }

    #[tokio::test]
    async fn filters_apply_before_the_limit_postgres() {
        if let Some(store) = crate::store::test_support::postgres_store().await {
            filters_apply_before_the_limit(store).await;
        }
    }

    async fn filters_apply_before_the_limit(store: Store) {
        let own = token("t-own", "e1", false);
        let support = token("t-support", "e1", true);
        AuditLog::record(&store, &own, &rec("datasource.connect"))
            .await
            .expect("record");
        AuditLog::record(&store, &support, &rec("impersonate"))
            .await
            .expect("record");
        AuditLog::record(&store, &support, &rec("credentials.update"))
            .await
            .expect("record");
        AuditLog::record(&store, &Actor::system("e1"), &rec("credentials.rotate"))
            .await
            .expect("record");
        // Many entries of other kinds after the Data Sources one.
        for i in 0..50 {
            let action = format!("operation.retry{i}");
            AuditLog::record(&store, &own, &rec(&action))
                .await
                .expect("record");
        }
        AuditLog::record(&store, &token("t-x", "e2", false), &rec("datasource.sync"))
            .await
            .expect("record");
        let run = |q: AuditQuery| {
            let store = store.clone();
            async move { AuditLog::page(&store, &q).await.expect("page") }
        };
        let base = || AuditQuery::new("e1", 5);
        let p = run(AuditQuery {
            data_sources_only: true,
            ..base()
        })
        .await;
        assert_eq!(actions(&p), ["datasource.connect"]);
        let p = run(AuditQuery {
            action: Some(ActionFilter::Prefix("credentials.".into())),
            ..base()
        })
        .await;
        assert_eq!(actions(&p), ["credentials.rotate", "credentials.update"]);
        let p = run(AuditQuery {
            action: Some(ActionFilter::Exact("impersonate".into())),
            ..base()
        })
        .await;
        assert_eq!(actions(&p), ["impersonate"]);
        // `_` is not a wildcard in a prefix.
        let p = run(AuditQuery {
            action: Some(ActionFilter::Prefix("operation_".into())),
            ..base()
        })
        .await;
        assert!(p.entries.is_empty());
        // Support's acts for the entity: by its token, its entity, or as impersonation.
        for actor in [
            ActorFilter::Id("t-support".into()),
            ActorFilter::Id("support-co".into()),
        ] {
            let p = run(AuditQuery {
                actor: Some(actor),
                ..base()
            })
            .await;
            assert_eq!(actions(&p), ["credentials.update", "impersonate"]);
        }
        let p = run(AuditQuery {
            impersonation: Some(true),
            ..base()
        })
        .await;
        assert_eq!(actions(&p), ["credentials.update", "impersonate"]);
        let p = run(AuditQuery {
            actor: Some(ActorFilter::System),
            ..base()
        })
        .await;
        assert_eq!(actions(&p), ["credentials.rotate"]);
        // Time: from inclusive, to exclusive.
        sqlx::query("UPDATE audit_log SET at = 1000 WHERE action = 'impersonate'")
            .execute(store.pool())
            .await
            .expect("backdate");
        let p = run(AuditQuery {
            from: Some(1000),
            to: Some(1001),
            ..base()
        })
        .await;
        assert_eq!(actions(&p), ["impersonate"]);
        let p = run(AuditQuery {
            to: Some(1000),
            ..base()
        })
        .await;
        assert!(p.entries.is_empty());
    }
}

//! The Data Sources operations, independent of HTTP: validate, save to the vault, verify in the
//! background, test without saving, disconnect, sync on demand, and the read views. Every
//! operation that a caller triggers is audited (actor, impersonation, entity, terminal, action,
//! outcome); no audit detail, log line or error ever holds a secret value.
//!
//! - [`error`]: what an operation fails with (mapped to the `/v1` envelope by the API).
//! - [`form`]: a credentials body checked against the terminal's form.
//! - the views it answers (terminal cards, test results) are in [`super::views`].

mod error;
mod form;

pub use super::views::{ConnectionState, DataSource, DataSourceList, RegionGroup, TestResult};
pub use error::{parse_terminal, SourcesError};

use super::adapters::Credentials;
use super::catalogue::{catalogue, Terminal};
use super::views::{state_of, SyncRun, TimelineEvent};
use super::{sync, vault_kind, Sources};
use crate::api::ErrorCode;
use crate::connection::NxtPortConnection;
use crate::store::audit::{AuditPage, AuditQuery};
use crate::store::sources::{Outcome, Saved};
use crate::store::vault::SecretMerge;
use crate::store::{now_millis, Actor, AuditLog, AuditRecord};
use form::parse_body;

fn record<'a>(
    action: &'a str,
    target: &'a str,
    outcome: &'a str,
    detail: Option<serde_json::Value>,
) -> AuditRecord<'a> {
    AuditRecord {
        action,
        target,
        outcome,
        detail,
    }
}

impl Sources {
    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        t: Terminal,
        outcome: &str,
        detail: Option<serde_json::Value>,
    ) {
        let target = vault_kind(t);
        if let Err(e) = AuditLog::record(
            &self.store,
            actor,
            &record(action, &target, outcome, detail),
        )
        .await
        {
            tracing::error!(error = %e, action, "cannot write audit entry");
        }
    }

    async fn audit_err(&self, actor: &Actor, action: &str, t: Terminal, e: &SourcesError) {
        let outcome = match e {
            SourcesError::Internal(_) => "error",
            SourcesError::Conflict(_) => "denied",
            _ => "invalid",
        };
        let field = match e {
            SourcesError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        self.audit(
            actor,
            action,
            t,
            outcome,
            Some(serde_json::json!({ "code": e.code(), "field": field })),
        )
        .await;
    }

    /// Catalogue + state for one entity: one indexed query.
    pub async fn list(&self, entity_id: &str) -> Result<DataSourceList, SourcesError> {
        let rows = self.store.sources().list_connections(entity_id).await?;
        let mut groups: Vec<RegionGroup> = Vec::with_capacity(3);
        for info in catalogue() {
            let row = rows.iter().find(|r| r.terminal == info.terminal);
            let ds = DataSource {
                terminal: info.terminal,
                name: info.name,
                region: info.region,
                auth_type: info.auth_type,
                description: info.description,
                fields: info.auth_type.fields(),
                sync_interval_secs: self.settings.interval(info.terminal).as_secs(),
                state: state_of(row),
            };
            match groups.iter_mut().find(|g| g.region == info.region) {
                Some(g) => g.data_sources.push(ds),
                None => groups.push(RegionGroup {
                    region: info.region,
                    data_sources: vec![ds],
                }),
            }
        }
        Ok(DataSourceList {
            entity_id: entity_id.to_string(),
            groups,
        })
    }

    /// One terminal card.
    pub async fn get(&self, entity_id: &str, t: Terminal) -> Result<DataSource, SourcesError> {
        let list = self.list(entity_id).await?;
        list.groups
            .into_iter()
            .flat_map(|g| g.data_sources)
            .find(|d| d.terminal == t)
            .ok_or(SourcesError::UnknownTerminal(t.to_string()))
    }

    /// Save or replace the credentials, then verify them in the background.
    pub async fn put(
        &self,
        actor: &Actor,
        t: Terminal,
        body: &serde_json::Value,
    ) -> Result<DataSource, SourcesError> {
        match self.put_inner(actor, t, body).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.audit_err(actor, "datasource.connect", t, &e).await;
                Err(e)
            }
        }
    }

    async fn put_inner(
        &self,
        actor: &Actor,
        t: Terminal,
        body: &serde_json::Value,
    ) -> Result<DataSource, SourcesError> {
        let entity_id = actor.entity_id.as_str();
        let kind = vault_kind(t);
        let existing = self.vault.get_public(entity_id, &kind).await?;
        let stored: Vec<String> = existing
            .as_ref()
            .map(|c| c.secret_fields_set.clone())
            .unwrap_or_default();
        // NxtPort CPu shares the gateway's connection: fields left out keep the connection's
        // values (so `{}` connects the data source with the gateway's CPu credentials), and
        // the gateway's own fields (ingestion id, terminal code, port) are kept.
        let shared_public = match (t, &existing) {
            (Terminal::Nxtport, Some(c)) => c.public_fields.as_object().cloned(),
            _ => None,
        };
        let filled;
        let body = match (&shared_public, body.as_object()) {
            (Some(public), Some(obj)) => {
                let mut merged = obj.clone();
                for (k, v) in public {
                    if t.info().auth_type.fields().iter().any(|f| f.name == k) {
                        merged.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                filled = serde_json::Value::Object(merged);
                &filled
            }
            _ => body,
        };
        let mut parsed = parse_body(t, body, &stored, self.settings.max_field_len)?;
        if let Some(public) = shared_public {
            for (k, v) in public {
                parsed.public.entry(k).or_insert(v);
            }
        }
        if t == Terminal::Nxtport {
            // The gateway delivers terminal events with this record: complete, or refused.
            let conn = NxtPortConnection::from_public(&serde_json::Value::Object(std::mem::take(
                &mut parsed.public,
            )))
            .map_err(|e| SourcesError::invalid(ErrorCode::InvalidField, e.field, e.message))?;
            if let serde_json::Value::Object(public) = conn.to_public() {
                parsed.public = public;
            }
        }
        if self
            .store
            .sources()
            .identifier_taken_elsewhere(entity_id, t, &parsed.identifier)
            .await?
        {
            return Err(SourcesError::Conflict(format!(
                "These {} credentials are already connected under another entity. Each entity needs its own terminal account.",
                t.info().name
            )));
        }
        let secret_names: Vec<String> = parsed.secrets.keys().cloned().collect();
        self.vault
            .put(
                actor,
                &kind,
                serde_json::Value::Object(parsed.public),
                parsed.secrets,
                SecretMerge::KeepMissing,
            )
            .await?;
        let saved = match self
            .store
            .sources()
            .save_connection(entity_id, t, &parsed.identifier)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                // A concurrent save of the same account under another entity won the unique index.
                if existing.is_none() {
                    let _ = self.vault.delete(actor, &kind).await;
                }
                if self
                    .store
                    .sources()
                    .identifier_taken_elsewhere(entity_id, t, &parsed.identifier)
                    .await
                    .unwrap_or(false)
                {
                    return Err(SourcesError::Conflict(format!(
                        "These {} credentials are already connected under another entity.",
                        t.info().name
                    )));
                }
                return Err(e.into());
            }
        };
        if t == Terminal::Nxtport {
            self.nxtport_changed(entity_id);
        }
        let (action, generation) = match saved {
            Saved::Created { generation } => ("datasource.connect", generation),
            Saved::Updated { generation } => ("datasource.update", generation),
        };
        self.audit(actor, action, t, "ok", Some(serde_json::json!({ "identifier": parsed.identifier, "secretFieldsChanged": secret_names })))
            .await;
        let this = self.clone();
        let entity = entity_id.to_string();
        tokio::spawn(async move { this.verify(&entity, t, generation).await });
        self.get(entity_id, t).await
    }

    /// Background verification of saved credentials (generation-guarded).
    pub(crate) async fn verify(&self, entity_id: &str, t: Terminal, generation: i64) {
        let outcome = match sync::load_credentials(self, entity_id, t).await {
            Ok(Some(creds)) => match self.adapters.verify(t, &creds).await {
                Ok(limitation) => Outcome::Connected {
                    warning: limitation.map(|l| (l.code, l.message)),
                },
                Err(e) => Outcome::Error {
                    code: e.code().into(),
                    message: e.user_message(t),
                },
            },
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, terminal = %t, "verification could not load credentials");
                Outcome::Error {
                    code: "internal_error".into(),
                    message: "Internal error while verifying; save the credentials again.".into(),
                }
            }
        };
        let code = match &outcome {
            Outcome::Connected { .. } => None,
            Outcome::Error { code, .. } => Some(code.clone()),
        };
        match self
            .store
            .sources()
            .record_verification(entity_id, t, generation, &outcome, now_millis())
            .await
        {
            Ok(true) => {
                let outcome_text = if code.is_none() { "ok" } else { "error" };
                self.audit(
                    &Actor::system(entity_id),
                    "datasource.verify",
                    t,
                    outcome_text,
                    Some(serde_json::json!({ "code": code })),
                )
                .await;
            }
            Ok(false) => {} // credentials changed meanwhile: the newer verification decides
            Err(e) => tracing::error!(error = %e, terminal = %t, "cannot record verification"),
        }
    }

    /// Check credentials against the terminal without saving anything. Omitted secrets are taken
    /// from the stored connection, if any.
    pub async fn test(
        &self,
        actor: &Actor,
        t: Terminal,
        body: &serde_json::Value,
    ) -> Result<TestResult, SourcesError> {
        let result = self.test_inner(actor, t, body).await;
        match &result {
            Ok(r) => {
                self.audit(
                    actor,
                    "datasource.test",
                    t,
                    if r.ok { "ok" } else { "error" },
                    Some(serde_json::json!({ "code": r.code })),
                )
                .await
            }
            Err(e) => self.audit_err(actor, "datasource.test", t, e).await,
        }
        result
    }

    async fn test_inner(
        &self,
        actor: &Actor,
        t: Terminal,
        body: &serde_json::Value,
    ) -> Result<TestResult, SourcesError> {
        let entity_id = actor.entity_id.as_str();
        let stored = self.vault.decrypt(entity_id, &vault_kind(t)).await?;
        let stored_names: Vec<String> = stored
            .as_ref()
            .map(|(_, s)| s.keys().cloned().collect())
            .unwrap_or_default();
        let parsed = parse_body(t, body, &stored_names, self.settings.max_field_len)?;
        let mut secrets = stored.map(|(_, s)| s).unwrap_or_default();
        secrets.extend(parsed.secrets);
        let creds = Credentials {
            public: parsed.public.into_iter().collect(),
            secrets,
        };
        Ok(match self.adapters.verify(t, &creds).await {
            Ok(warning) => TestResult {
                ok: true,
                code: None,
                message: format!("{} accepted the credentials.", t.info().name),
                warning,
            },
            Err(e) => TestResult {
                ok: false,
                code: Some(e.code().to_string()),
                message: e.user_message(t),
                warning: None,
            },
        })
    }

    /// Disconnect: credentials deleted, sync stops, events and sync history stay.
    pub async fn delete(&self, actor: &Actor, t: Terminal) -> Result<(), SourcesError> {
        let entity_id = actor.entity_id.as_str();
        let existed = self.store.sources().delete_connection(entity_id, t).await?;
        // The NxtPort CPu credentials are the gateway's connection: disconnecting the data source
        // stops its sync but leaves the gateway's connection in place.
        let had_creds = match t {
            Terminal::Nxtport => false,
            _ => self.vault.delete(actor, &vault_kind(t)).await?,
        };
        // The webhook receiver goes with the connection (its id was in the deleted row).
        if super::intake::WEBHOOK_TERMINALS.contains(&t) {
            self.vault
                .delete(actor, &super::intake::webhook_vault_kind(t))
                .await?;
            self.webhook_secrets
                .lock()
                .retain(|_, h| !h.belongs_to(entity_id, t));
        }
        if !existed && !had_creds {
            let e = SourcesError::NotConnected(t.info().name);
            self.audit_err(actor, "datasource.disconnect", t, &e).await;
            return Err(e);
        }
        self.audit(actor, "datasource.disconnect", t, "ok", None)
            .await;
        Ok(())
    }

    /// Sync now. With `wait`, returns the finished run; otherwise the run is started and returned
    /// as `running`.
    pub async fn sync_now(
        &self,
        actor: &Actor,
        t: Terminal,
        wait: bool,
    ) -> Result<SyncRun, SourcesError> {
        let entity_id = actor.entity_id.clone();
        let run = sync::begin_sync(self, &entity_id, t, "manual").await;
        let handle = match run {
            Ok(h) => h,
            Err(sync::SyncError::AlreadyRunning) => {
                let e = SourcesError::SyncRunning(t.info().name);
                self.audit_err(actor, "datasource.sync", t, &e).await;
                return Err(e);
            }
            Err(sync::SyncError::NotConnected) => {
                let e = SourcesError::NotConnected(t.info().name);
                self.audit_err(actor, "datasource.sync", t, &e).await;
                return Err(e);
            }
            Err(e) => return Err(SourcesError::Internal(Box::new(e))),
        };
        self.audit(
            actor,
            "datasource.sync",
            t,
            "ok",
            Some(serde_json::json!({ "syncId": handle.sync_id })),
        )
        .await;
        let sync_id = handle.sync_id.clone();
        let this = self.clone();
        let task = tokio::spawn(async move {
            let _ = sync::finish(&this, handle).await;
        });
        if wait {
            let _ = task.await;
        }
        let runs = self.store.sources().sync_runs(&entity_id, t, 50).await?;
        runs.into_iter()
            .find(|r| r.id == sync_id)
            .map(SyncRun::from)
            .ok_or_else(|| SourcesError::Internal("sync run vanished".into()))
    }

    /// Sync history of one terminal, newest first (kept after a disconnect).
    pub async fn syncs(
        &self,
        entity_id: &str,
        t: Terminal,
        limit: i64,
    ) -> Result<Vec<SyncRun>, SourcesError> {
        Ok(self
            .store
            .sources()
            .sync_runs(entity_id, t, limit.clamp(1, 500))
            .await?
            .into_iter()
            .map(SyncRun::from)
            .collect())
    }

    /// One page of the entity's Data Sources audit entries, newest first (the query's other
    /// filters apply too, in the database).
    pub async fn audit_page(&self, mut q: AuditQuery) -> Result<AuditPage, SourcesError> {
        q.data_sources_only = true;
        Ok(AuditLog::page(&self.store, &q).await?)
    }

    /// The merged timeline of one container across this entity's sources.
    pub async fn timeline(
        &self,
        entity_id: &str,
        equipment: &str,
    ) -> Result<Vec<TimelineEvent>, SourcesError> {
        Ok(self
            .store
            .sources()
            .container_events(entity_id, equipment, 1000)
            .await?
            .into_iter()
            .map(TimelineEvent::from)
            .collect())
    }
}

//! The Data Sources operations, independent of HTTP: validate, save to the vault, verify in the
//! background, test without saving, disconnect, sync on demand, and the read views. Every
//! operation that a caller triggers is audited (actor, impersonation, entity, terminal, action,
//! outcome); no audit detail, log line or error ever holds a secret value.

use secrecy::SecretString;
use serde::Serialize;
use utoipa::ToSchema;

use super::adapters::{Credentials, Limitation};
use super::catalogue::{catalogue, AuthType, FieldType, FormField, Region, Terminal};
use super::repo::{self, ConnectionRow, Outcome, Saved};
use super::views::{SyncRun, TimelineEvent};
use super::{sync, vault_kind, Sources};
use crate::api::ErrorCode;
use crate::connection::NxtPortConnection;
use crate::store::vault::{SecretMerge, VaultError};
use crate::store::{
    millis_to_utc, now_millis, Actor, AuditEntry, AuditLog, AuditRecord, SecretFields, StoreError,
};

/// What went wrong, for the HTTP face to map (never holds a secret).
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("unknown terminal '{0}' (expected psa, dpworld, mpet, tmining, ect or nxtport)")]
    UnknownTerminal(String),
    #[error("{message}")]
    Invalid {
        code: ErrorCode,
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0} is not connected for this entity")]
    NotConnected(&'static str),
    #[error("a sync of {0} is already running")]
    SyncRunning(&'static str),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for SourcesError {
    fn from(e: StoreError) -> Self {
        SourcesError::Internal(Box::new(e))
    }
}
impl From<VaultError> for SourcesError {
    fn from(e: VaultError) -> Self {
        SourcesError::Internal(Box::new(e))
    }
}

impl SourcesError {
    /// Stable machine code (the `/v1` envelope's).
    pub fn code(&self) -> ErrorCode {
        match self {
            SourcesError::UnknownTerminal(_) => ErrorCode::UnknownTerminal,
            SourcesError::Invalid { code, .. } => *code,
            SourcesError::Conflict(_) => ErrorCode::CredentialsInUse,
            SourcesError::NotConnected(_) => ErrorCode::NotConnected,
            SourcesError::SyncRunning(_) => ErrorCode::SyncRunning,
            SourcesError::Internal(_) => ErrorCode::Internal,
        }
    }
    fn invalid(code: ErrorCode, field: &str, message: String) -> Self {
        SourcesError::Invalid {
            code,
            field: Some(field.to_string()),
            message,
        }
    }
}

/// Parse the `{terminal}` path segment.
pub fn parse_terminal(s: &str) -> Result<Terminal, SourcesError> {
    Terminal::parse(s).ok_or_else(|| SourcesError::UnknownTerminal(s.chars().take(40).collect()))
}

/// The connection state shown on a terminal card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectionState {
    NotConnected,
    #[serde(rename_all = "camelCase")]
    Verifying {
        identifier: String,
        connected_at: chrono::DateTime<chrono::Utc>,
    },
    #[serde(rename_all = "camelCase")]
    Connected {
        identifier: String,
        connected_at: chrono::DateTime<chrono::Utc>,
        last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
        /// A limitation that does not stop the sync (ECT without approved extended permissions).
        warning: Option<Limitation>,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        identifier: String,
        connected_at: chrono::DateTime<chrono::Utc>,
        /// invalid_credentials | api_access_not_activated | quota_exceeded | rate_limited |
        /// terminal_unavailable | terminal_timeout | terminal_unreachable | unexpected_response | internal_error
        code: String,
        /// What to do about it.
        message: String,
    },
}

fn state_of(c: Option<&ConnectionRow>) -> ConnectionState {
    let Some(c) = c else {
        return ConnectionState::NotConnected;
    };
    let identifier = c.identifier.clone();
    let connected_at = millis_to_utc(c.connected_at);
    match c.state.as_str() {
        "connected" => ConnectionState::Connected {
            identifier,
            connected_at,
            last_sync_at: c.last_sync_at.map(millis_to_utc),
            warning: c.warning_code.clone().map(|code| Limitation {
                code,
                message: c.warning_message.clone().unwrap_or_default(),
            }),
        },
        "error" => ConnectionState::Error {
            identifier,
            connected_at,
            code: c.error_code.clone().unwrap_or_default(),
            message: c.error_message.clone().unwrap_or_default(),
        },
        _ => ConnectionState::Verifying {
            identifier,
            connected_at,
        },
    }
}

/// One terminal card: catalogue data + this entity's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub terminal: Terminal,
    pub name: &'static str,
    pub region: Region,
    pub auth_type: AuthType,
    pub description: &'static str,
    pub fields: &'static [FormField],
    /// Seconds between background syncs.
    pub sync_interval_secs: u64,
    pub state: ConnectionState,
}

/// Terminals of one region.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionGroup {
    pub region: Region,
    pub data_sources: Vec<DataSource>,
}

/// `GET /v1/data-sources`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceList {
    pub entity_id: String,
    pub groups: Vec<RegionGroup>,
}

/// Result of `POST /v1/data-sources/{terminal}/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub ok: bool,
    pub code: Option<String>,
    pub message: String,
    pub warning: Option<Limitation>,
}

/// Credentials parsed from a request body.
struct Parsed {
    identifier: String,
    public: serde_json::Map<String, serde_json::Value>,
    secrets: SecretFields,
}

/// Validate a body against the terminal's form: only its fields, right types, trimmed, bounded,
/// required ones present and not blank. Secrets named in `stored` may be omitted (kept).
fn parse_body(
    t: Terminal,
    body: &serde_json::Value,
    stored: &[String],
    max_len: usize,
) -> Result<Parsed, SourcesError> {
    let Some(obj) = body.as_object() else {
        return Err(SourcesError::Invalid {
            code: ErrorCode::InvalidBody,
            field: None,
            message: "the body must be a JSON object".into(),
        });
    };
    let fields = t.auth_type().fields();
    if let Some(unknown) = obj
        .keys()
        .find(|k| !fields.iter().any(|f| f.name == k.as_str()))
    {
        let allowed: Vec<_> = fields.iter().map(|f| f.name).collect();
        return Err(SourcesError::invalid(
            ErrorCode::UnknownField,
            unknown,
            format!(
                "'{}' is not a field of {} ({}); expected {}",
                unknown.chars().take(40).collect::<String>(),
                t.info().name,
                serde_json::to_value(t.auth_type())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                allowed.join(", ")
            ),
        ));
    }
    let mut public = serde_json::Map::new();
    let mut secrets = SecretFields::new();
    for f in fields {
        let v = obj.get(f.name).filter(|v| !v.is_null());
        match f.field_type {
            FieldType::Boolean => match v {
                None => {
                    public.insert(f.name.into(), false.into());
                }
                Some(serde_json::Value::Bool(b)) => {
                    public.insert(f.name.into(), (*b).into());
                }
                Some(_) => {
                    return Err(SourcesError::invalid(
                        ErrorCode::InvalidType,
                        f.name,
                        format!("{} must be true or false", f.name),
                    ))
                }
            },
            FieldType::String => {
                let s = match v {
                    None => None,
                    Some(serde_json::Value::String(s)) => Some(s.trim().to_string()),
                    Some(_) => {
                        return Err(SourcesError::invalid(
                            ErrorCode::InvalidType,
                            f.name,
                            format!("{} must be a string", f.name),
                        ))
                    }
                };
                if let Some(s) = &s {
                    if s.chars().count() > max_len {
                        return Err(SourcesError::invalid(
                            ErrorCode::TooLong,
                            f.name,
                            format!("{} is longer than {max_len} characters", f.name),
                        ));
                    }
                    if s.is_empty() && f.required {
                        return Err(SourcesError::invalid(
                            ErrorCode::Blank,
                            f.name,
                            format!("{} must not be blank", f.label),
                        ));
                    }
                    if s.chars().any(char::is_control) {
                        return Err(SourcesError::invalid(
                            ErrorCode::InvalidCharacters,
                            f.name,
                            format!("{} contains control characters", f.name),
                        ));
                    }
                }
                match (s, f.secret) {
                    (Some(s), true) => {
                        secrets.insert(f.name.into(), SecretString::from(s));
                    }
                    (Some(s), false) => {
                        public.insert(f.name.into(), s.into());
                    }
                    (None, true) if f.required && !stored.iter().any(|n| n == f.name) => {
                        return Err(SourcesError::invalid(
                            ErrorCode::Required,
                            f.name,
                            format!("{} is required", f.label),
                        ));
                    }
                    (None, false) if f.required => {
                        return Err(SourcesError::invalid(
                            ErrorCode::Required,
                            f.name,
                            format!("{} is required", f.label),
                        ));
                    }
                    (None, _) => {}
                }
            }
        }
    }
    let id_field = t.auth_type().identifier_field();
    let identifier = public
        .get(id_field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if t.auth_type() == AuthType::UuidToken && uuid::Uuid::parse_str(&identifier).is_err() {
        return Err(SourcesError::invalid(
            ErrorCode::InvalidUuid,
            id_field,
            "Application UUID must be a UUID (8-4-4-4-12 hex digits)".into(),
        ));
    }
    Ok(Parsed {
        identifier,
        public,
        secrets,
    })
}

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
        let rows = repo::list_connections(&self.store, entity_id).await?;
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
        if repo::identifier_taken_elsewhere(&self.store, entity_id, t, &parsed.identifier).await? {
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
        let saved = match repo::save_connection(&self.store, entity_id, t, &parsed.identifier).await
        {
            Ok(s) => s,
            Err(e) => {
                // A concurrent save of the same account under another entity won the unique index.
                if existing.is_none() {
                    let _ = self.vault.delete(actor, &kind).await;
                }
                if repo::identifier_taken_elsewhere(&self.store, entity_id, t, &parsed.identifier)
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
        match repo::record_verification(
            &self.store,
            entity_id,
            t,
            generation,
            &outcome,
            now_millis(),
        )
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
        let existed = repo::delete_connection(&self.store, entity_id, t).await?;
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
        let runs = repo::sync_runs(&self.store, &entity_id, t, 50).await?;
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
        Ok(
            repo::sync_runs(&self.store, entity_id, t, limit.clamp(1, 500))
                .await?
                .into_iter()
                .map(SyncRun::from)
                .collect(),
        )
    }

    /// The entity's Data Sources audit entries, newest first.
    pub async fn audit_entries(
        &self,
        entity_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, SourcesError> {
        let all = AuditLog::list(&self.store, entity_id, limit.clamp(1, 1000) * 4).await?;
        Ok(all
            .into_iter()
            .filter(|e| e.target.starts_with("datasource:") || e.action.starts_with("datasource."))
            .take(usize::try_from(limit.clamp(1, 1000)).unwrap_or(100))
            .collect())
    }

    /// The merged timeline of one container across this entity's sources.
    pub async fn timeline(
        &self,
        entity_id: &str,
        equipment: &str,
    ) -> Result<Vec<TimelineEvent>, SourcesError> {
        Ok(
            repo::container_events(&self.store, entity_id, equipment, 1000)
                .await?
                .into_iter()
                .map(TimelineEvent::from)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err_code(r: Result<Parsed, SourcesError>) -> (&'static str, Option<String>) {
        match r {
            Err(SourcesError::Invalid { code, field, .. }) => (code.as_str(), field),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn body_validation() {
        let ok = parse_body(
            Terminal::Psa,
            &json!({"username": "  bob ", "password": " pw "}),
            &[],
            256,
        )
        .expect("valid");
        assert_eq!(ok.identifier, "bob");
        assert_eq!(ok.secrets.len(), 1);
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "bob"}),
                &[],
                256
            )),
            ("required", Some("password".into()))
        );
        // On update an omitted secret is fine, a blank one is not.
        assert!(parse_body(
            Terminal::Psa,
            &json!({"username": "bob"}),
            &["password".into()],
            256
        )
        .is_ok());
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "bob", "password": "  "}),
                &[],
                256
            ))
            .0,
            "blank"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "bob", "password": "x", "uuid": "u"}),
                &[],
                256
            ))
            .0,
            "unknown_field"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": 5, "password": "x"}),
                &[],
                256
            ))
            .0,
            "invalid_type"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "b".repeat(300), "password": "x"}),
                &[],
                256
            ))
            .0,
            "too_long"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Mpet,
                &json!({"uuid": "nope", "token": "x"}),
                &[],
                256
            ))
            .0,
            "invalid_uuid"
        );
        assert_eq!(
            err_code(parse_body(Terminal::Psa, &json!([1]), &[], 256)).0,
            "invalid_body"
        );
        let ect = parse_body(Terminal::Ect, &json!({"clientId": "c", "clientSecret": "s", "subscriptionKey": "k", "extendedPermissions": true}), &[], 256)
            .expect("ect");
        assert_eq!(ect.public.get("extendedPermissions"), Some(&json!(true)));
        assert_eq!(ect.secrets.len(), 2);
    }
}

//! `PUT/GET/DELETE /v1/connections/nxtport`: the entity's CPu connection.
//!
//! Secrets (client secret, password, API key) are write-only: stored encrypted in the vault and
//! answered only as the list of names that are set. On update a secret left out keeps its
//! stored value. Every operation is audited.

use super::super::domain::{TerminalCode, UnLocode};
use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::{Caller, ValidJson};
use super::super::state::GatewayState;
use crate::connection::{secret, Identifier, IngestionId, NxtPortConnection, NXTPORT_KIND};
use crate::store::vault::{SecretMerge, StoredCredential};
use crate::store::{AuditRecord, SecretFields};
use actix_web::{web, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `PUT /v1/connections/nxtport`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionInput {
    /// OAuth client id (per application, from NxtPort support).
    #[schema(value_type = String, example = "dockflow-gateway")]
    pub client_id: Identifier,
    /// OAuth client secret (write-only; leave out on update to keep it).
    #[schema(value_type = Option<String>, write_only)]
    pub client_secret: Option<SecretString>,
    /// NxtPort user (e-mail of the subscribed user).
    #[schema(value_type = String, example = "ops@terminal.example")]
    pub username: Identifier,
    /// Password of that user (write-only).
    #[schema(value_type = Option<String>, write_only)]
    pub password: Option<SecretString>,
    /// API (subscription) key of the entity (write-only).
    #[schema(value_type = Option<String>, write_only)]
    pub api_key: Option<SecretString>,
    /// Ingestion id for terminal events (environment specific).
    #[schema(value_type = String, example = "6f1f0c1e-2b0a-4c1e-9b8e-1f2a3b4c5d6e")]
    pub ingestion_id: IngestionId,
    /// The terminal's own code as given to NxtPort.
    #[schema(value_type = String, example = "869")]
    pub terminal_code: TerminalCode,
    /// UN/LOCODE of the operational port.
    #[schema(value_type = String, example = "BEANR")]
    pub port_lo_code: UnLocode,
}

/// The non-secret view of the connection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// OAuth client id.
    pub client_id: String,
    /// NxtPort user.
    pub username: String,
    /// Ingestion id.
    pub ingestion_id: String,
    /// Terminal code.
    pub terminal_code: String,
    /// Port UN/LOCODE.
    pub port_lo_code: String,
    /// Names of the secrets that are stored (never their values).
    pub secrets_set: Vec<String>,
    /// First save.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last save.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The view of a stored connection. A record saved before connections were checked for
/// completeness may lack fields: they read as empty here (and every use of the connection
/// answers 409 `connection_incomplete` until it is saved again).
fn view(c: &StoredCredential) -> ConnectionView {
    let text = |name: &str| {
        c.public_fields
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    ConnectionView {
        client_id: text("clientId"),
        username: text("username"),
        ingestion_id: text("ingestionId"),
        terminal_code: text("terminalCode"),
        port_lo_code: text("portLoCode"),
        secrets_set: c.secret_fields_set.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Save or replace the entity's CPu connection.
#[utoipa::path(
    put,
    path = "/v1/connections/nxtport",
    tag = "connections",
    request_body = ConnectionInput,
    responses(
        (status = 200, description = "Saved; secrets are not returned", body = ConnectionView),
        (status = 400, description = "Invalid field", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 403, description = "Role may not change connections", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn put_connection(
    caller: Caller,
    state: web::Data<GatewayState>,
    ValidJson(input): ValidJson<ConnectionInput>,
) -> Result<HttpResponse, ApiError> {
    if let Err(e) = caller.require_write() {
        state
            .vault
            .audit(
                &caller.actor(),
                &AuditRecord {
                    action: "credentials.update",
                    target: NXTPORT_KIND,
                    outcome: "denied",
                    detail: None,
                },
            )
            .await?;
        return Err(e);
    }
    let existing = state
        .vault
        .get_public(&caller.entity_id, NXTPORT_KIND)
        .await?;
    let mut secrets = SecretFields::new();
    for (name, value) in [
        (secret::CLIENT_SECRET, input.client_secret),
        (secret::PASSWORD, input.password),
        (secret::API_KEY, input.api_key),
    ] {
        match value {
            Some(v) if v.expose_secret().trim().is_empty() => {
                return Err(ApiError::field(name, format!("{name} must not be empty")));
            }
            Some(v) if v.expose_secret().len() > 1000 => {
                return Err(ApiError::field(
                    name,
                    format!("{name} must be at most 1000 characters"),
                ));
            }
            Some(v) => {
                secrets.insert(name.to_owned(), v);
            }
            None if existing
                .as_ref()
                .is_some_and(|c| c.secret_fields_set.iter().any(|s| s == name)) => {}
            None => {
                return Err(ApiError::field(
                    name,
                    format!("{name} is required when the connection is created"),
                ));
            }
        }
    }
    let public = NxtPortConnection {
        client_id: input.client_id,
        username: input.username,
        ingestion_id: input.ingestion_id,
        terminal_code: input.terminal_code,
        port_lo_code: input.port_lo_code,
    }
    .to_public();
    let stored = state
        .vault
        .put(
            &caller.actor(),
            NXTPORT_KIND,
            public,
            secrets,
            SecretMerge::KeepMissing,
        )
        .await?;
    state.upstreams.forget(&caller.entity_id);
    Ok(HttpResponse::Ok().json(view(&stored)))
}

/// The entity's CPu connection (non-secret fields only).
#[utoipa::path(
    get,
    path = "/v1/connections/nxtport",
    tag = "connections",
    responses(
        (status = 200, description = "The connection", body = ConnectionView),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 404, description = "No connection yet", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn get_connection(
    caller: Caller,
    state: web::Data<GatewayState>,
) -> Result<HttpResponse, ApiError> {
    let found = state
        .vault
        .get_public(&caller.entity_id, NXTPORT_KIND)
        .await?;
    state
        .vault
        .audit(
            &caller.actor(),
            &AuditRecord {
                action: "credentials.read",
                target: NXTPORT_KIND,
                outcome: if found.is_some() { "ok" } else { "not_found" },
                detail: None,
            },
        )
        .await?;
    let found = found.ok_or(ApiError::NotFound("connection"))?;
    Ok(HttpResponse::Ok().json(view(&found)))
}

/// Remove the entity's CPu connection (queued operations wait until a new one is saved).
#[utoipa::path(
    delete,
    path = "/v1/connections/nxtport",
    tag = "connections",
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 403, description = "Role may not change connections", body = ErrorEnvelope),
        (status = 404, description = "No connection", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn delete_connection(
    caller: Caller,
    state: web::Data<GatewayState>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let deleted = state.vault.delete(&caller.actor(), NXTPORT_KIND).await?;
    state.upstreams.forget(&caller.entity_id);
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("connection"))
    }
}

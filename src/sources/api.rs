//! The Data Sources HTTP face: `/v1/data-sources/...` and `/v1/containers/{equipment}/events`.
//!
//! Thin handlers: the production [`Caller`] extractor authenticates (token, quota,
//! impersonation audit; see [`crate::api`]), then they parse the path and body, call
//! [`Sources`] and map the result. Errors use the `/v1` envelope `{"error": {"code", "message",
//! "field"?}}` with its one code enum. Mount with [`configure`] on an application that has
//! registered `web::Data<Sources>` and `web::Data<Authenticator>` (the gateway's does).
//!
//! [`Authenticator`]: crate::api::Authenticator

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::intake::{WebhookAuth, WebhookError, WebhookSetup, MAX_EDIFACT_BYTES};
use super::model::parse_equipment_number;
use super::service::{
    parse_terminal, ConnectionState, DataSource, DataSourceList, RegionGroup, SourcesError,
    TestResult,
};
use super::views::{Quarantined, ReportedContainer, SyncRun, TimelineEvent};
use super::Sources;
use crate::api::audit::{self as audit_route, AuditParams};
use crate::api::{ApiError, Caller, ErrorBody, ErrorCode, ErrorEnvelope};
use crate::store::AuditEntry;

/// Largest accepted credentials body.
pub const MAX_BODY: usize = 16 * 1024;

/// Errors of this face.
#[derive(Debug, thiserror::Error)]
pub enum SourcesApiError {
    /// Authentication / authorization failures, answered exactly like the rest of the gateway.
    #[error(transparent)]
    Gateway(#[from] ApiError),
    #[error(transparent)]
    Sources(#[from] SourcesError),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    InvalidEquipment(String),
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// An EDIFACT file refused as a whole (recorded in the sync history).
    #[error("{0}")]
    Refused(String),
}

impl SourcesApiError {
    fn body(&self) -> ErrorEnvelope {
        let (code, field) = match self {
            Self::Gateway(e) => return e.envelope(),
            Self::Sources(SourcesError::Invalid { code, field, .. }) => (*code, field.clone()),
            Self::Sources(e) => (e.code(), None),
            Self::MalformedJson(_) => (ErrorCode::MalformedJson, None),
            Self::TooLarge(_) => (ErrorCode::PayloadTooLarge, None),
            Self::InvalidEquipment(_) => (ErrorCode::InvalidField, Some("equipment".into())),
            Self::Webhook(WebhookError::UnknownWebhook) => (ErrorCode::UnknownWebhook, None),
            Self::Webhook(WebhookError::Refused { code, .. }) => (*code, None),
            Self::Webhook(WebhookError::Internal(e)) => (e.code(), None),
            Self::Refused(_) => (ErrorCode::InvalidSyntax, None),
        };
        let message = match self {
            Self::Sources(SourcesError::Internal(_))
            | Self::Webhook(WebhookError::Internal(SourcesError::Internal(_))) => {
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        ErrorEnvelope {
            error: ErrorBody {
                code,
                message,
                field,
            },
        }
    }
}

impl ResponseError for SourcesApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Gateway(e) => e.status_code(),
            Self::Sources(e) => match e {
                SourcesError::UnknownTerminal(_) => StatusCode::NOT_FOUND,
                SourcesError::Invalid { .. } => StatusCode::BAD_REQUEST,
                SourcesError::Conflict(_) => StatusCode::CONFLICT,
                SourcesError::NotConnected(_) => StatusCode::NOT_FOUND,
                SourcesError::SyncRunning(_) => StatusCode::CONFLICT,
                SourcesError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidEquipment(_) => StatusCode::BAD_REQUEST,
            Self::Webhook(WebhookError::UnknownWebhook) => StatusCode::NOT_FOUND,
            Self::Webhook(WebhookError::Refused { status, .. }) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            Self::Webhook(WebhookError::Internal(e)) => {
                Self::Sources(SourcesError::Internal(e.to_string().into())).status_code()
            }
            Self::Refused(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Gateway(e) = self {
            return e.error_response();
        }
        if let Self::Sources(SourcesError::Internal(e))
        | Self::Webhook(WebhookError::Internal(SourcesError::Internal(e))) = self
        {
            tracing::error!(error = %e, "data sources internal error");
        }
        HttpResponse::build(self.status_code()).json(self.body())
    }
}

type Result<T> = std::result::Result<T, SourcesApiError>;

/// Fail with 403 unless the caller's role may change data.
fn require_write(c: &Caller) -> Result<()> {
    c.require_write().map_err(SourcesApiError::from)
}

fn parse_json(body: &web::Bytes) -> Result<serde_json::Value> {
    if body.len() > MAX_BODY {
        return Err(SourcesApiError::TooLarge(MAX_BODY));
    }
    serde_json::from_slice(body).map_err(|e| {
        SourcesApiError::MalformedJson(format!("line {} column {}", e.line(), e.column()))
    })
}

/// Path parameter `{terminal}`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TerminalPath {
    /// psa | dpworld | mpet | tmining | ect | nxtport
    pub terminal: String,
}

/// Catalogue of the six terminals with this entity's connection state, grouped by region.
#[utoipa::path(get, path = "/v1/data-sources", tag = "data-sources",
    responses((status = 200, body = DataSourceList), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all)]
pub async fn list(caller: Caller, s: web::Data<Sources>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(s.list(&caller.entity_id).await?))
}

/// One terminal card.
#[utoipa::path(get, path = "/v1/data-sources/{terminal}", tag = "data-sources", params(TerminalPath),
    responses((status = 200, body = DataSource), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn get_one(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
) -> Result<HttpResponse> {
    let t = parse_terminal(&path.terminal)?;
    Ok(HttpResponse::Ok().json(s.get(&caller.entity_id, t).await?))
}

/// Credentials body: the fields of the terminal's auth type (see `fields` in the catalogue).
/// Secret fields are write-only; on update an omitted secret keeps its stored value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsBody {
    pub username: Option<String>,
    pub password: Option<String>,
    pub uuid: Option<String>,
    pub token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub subscription_key: Option<String>,
    pub extended_permissions: Option<bool>,
    pub api_key: Option<String>,
    /// NxtPort CPu: ingestion id for terminal events.
    pub ingestion_id: Option<String>,
    /// NxtPort CPu: the terminal's own code as given to NxtPort.
    pub terminal_code: Option<String>,
    /// NxtPort CPu: UN/LOCODE of the operational port (default BEANR).
    pub port_lo_code: Option<String>,
}

/// Save or replace the credentials; verification follows in the background (state `verifying`,
/// then `connected` or `error`).
#[utoipa::path(put, path = "/v1/data-sources/{terminal}", tag = "data-sources", params(TerminalPath),
    request_body = CredentialsBody,
    responses((status = 200, body = DataSource), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn put(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    require_write(&caller)?;
    let t = parse_terminal(&path.terminal)?;
    let body = parse_json(&body)?;
    let saved = s.put(&caller.actor(), t, &body).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Disconnect: sync stops, credentials are deleted, history stays.
#[utoipa::path(delete, path = "/v1/data-sources/{terminal}", tag = "data-sources", params(TerminalPath),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn delete(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
) -> Result<HttpResponse> {
    require_write(&caller)?;
    let t = parse_terminal(&path.terminal)?;
    s.delete(&caller.actor(), t).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Check credentials against the terminal without saving them.
#[utoipa::path(post, path = "/v1/data-sources/{terminal}/test", tag = "data-sources", params(TerminalPath),
    request_body = CredentialsBody,
    responses((status = 200, body = TestResult), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn test(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    require_write(&caller)?;
    let t = parse_terminal(&path.terminal)?;
    let body = parse_json(&body)?;
    Ok(HttpResponse::Ok().json(s.test(&caller.actor(), t, &body).await?))
}

/// `?wait=true` answers when the sync has finished.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SyncQuery {
    /// Wait for the end of the sync (default false: answer 202 at once).
    pub wait: Option<bool>,
}

/// Sync now.
#[utoipa::path(post, path = "/v1/data-sources/{terminal}/sync", tag = "data-sources", params(TerminalPath, SyncQuery),
    responses((status = 200, body = SyncRun, description = "finished (wait=true)"), (status = 202, body = SyncRun, description = "started"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "a sync is already running")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn sync(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    q: web::Query<SyncQuery>,
) -> Result<HttpResponse> {
    require_write(&caller)?;
    let t = parse_terminal(&path.terminal)?;
    let wait = q.wait.unwrap_or(false);
    let run = s.sync_now(&caller.actor(), t, wait).await?;
    Ok(if wait {
        HttpResponse::Ok().json(run)
    } else {
        HttpResponse::Accepted().json(run)
    })
}

/// `?limit=` of list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LimitQuery {
    /// How many entries (default 50, 1-500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page size given by the caller: `default` when absent, else within `1..=max` or a 400
/// naming the parameter (never silently clamped).
fn page_size(limit: Option<i64>, default: i64, max: i64) -> Result<i64> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(SourcesError::Invalid {
            code: ErrorCode::InvalidField,
            field: Some("limit".into()),
            message: format!("limit must be a number from 1 to {max}"),
        }
        .into()),
    }
}

/// Sync history of one terminal, newest first (kept after a disconnect).
#[utoipa::path(get, path = "/v1/data-sources/{terminal}/syncs", tag = "data-sources", params(TerminalPath, LimitQuery),
    responses((status = 200, body = [SyncRun]), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn syncs(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    q: web::Query<LimitQuery>,
) -> Result<HttpResponse> {
    let t = parse_terminal(&path.terminal)?;
    Ok(HttpResponse::Ok().json(
        s.syncs(&caller.entity_id, t, page_size(q.limit, 50, 500)?)
            .await?,
    ))
}

/// The entity's Data Sources audit entries, newest first, paged and filtered like
/// `GET /v1/audit` (support's acts for the entity included).
#[utoipa::path(get, path = "/v1/data-sources/audit", tag = "data-sources", params(AuditParams),
    responses((status = 200, body = [AuditEntry], description = "One page, newest first; `Link: <...>; rel=\"next\"` when there are older entries",
            headers(("Link" = String, description = "The next page (RFC 8288), when there is one"))),
        (status = 400, body = ErrorEnvelope, description = "A parameter is invalid (named in `field`)"),
        (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all)]
pub async fn audit(
    req: HttpRequest,
    caller: Caller,
    s: web::Data<Sources>,
) -> Result<HttpResponse> {
    let q = audit_route::query_of(&req, &caller.entity_id)?;
    Ok(audit_route::respond(&req, s.audit_page(q).await?))
}

/// Set up the connection's webhook receiver (T-Mining) and issue a new secret, shown once.
/// Configure the answer's `path` (behind the gateway's public URL) and secret at the terminal.
#[utoipa::path(post, path = "/v1/data-sources/{terminal}/webhook", tag = "data-sources", params(TerminalPath),
    responses((status = 200, body = WebhookSetup), (status = 400, body = ErrorEnvelope, description = "no_webhooks: the terminal sends none"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn setup_webhook(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
) -> Result<HttpResponse> {
    require_write(&caller)?;
    let t = parse_terminal(&path.terminal)?;
    Ok(HttpResponse::Ok().json(s.setup_webhook(&caller.actor(), t).await?))
}

/// Path parameters of the webhook receiver.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WebhookPath {
    /// tmining
    pub terminal: String,
    /// The id issued by `POST /v1/data-sources/{terminal}/webhook`.
    pub webhook_id: String,
}

/// The documented T-Mining `onRelease` body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OnReleaseBody {
    /// The release address (0x...).
    pub release: String,
    /// transfer | update | block | unblock | delete | revoke | greenlights (any case).
    pub event: String,
    /// The organisation address for which the event is reported.
    pub organization: String,
    /// Its VAT number.
    pub vat: String,
}

/// Webhook receiver (called by the terminal, not with a gateway token): authenticated by
/// `Authorization: Bearer <secret>` or `X-Scr-Signature: t=<unix>,v1=<hex HMAC-SHA256>` over
/// `"<t>.<body>"`; queued and answered 202, then the release is fetched in the background.
#[utoipa::path(post, path = "/v1/data-sources/{terminal}/webhook/{webhook_id}", tag = "data-sources", params(WebhookPath),
    request_body = OnReleaseBody,
    responses((status = 202, description = "queued"), (status = 400, body = ErrorEnvelope, description = "invalid_webhook_body, unknown_event"),
        (status = 401, body = ErrorEnvelope, description = "missing_signature, invalid_signature, stale_signature"),
        (status = 404, body = ErrorEnvelope, description = "unknown_webhook"), (status = 413, body = ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn receive_webhook(
    req: HttpRequest,
    s: web::Data<Sources>,
    path: web::Path<WebhookPath>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let t = parse_terminal(&path.terminal)?;
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let auth = WebhookAuth {
        authorization: header("authorization"),
        signature: header(super::intake::SIGNATURE_HEADER),
    };
    s.receive_webhook(
        t,
        &path.webhook_id,
        auth,
        &body,
        chrono::Utc::now().timestamp(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "queued" })))
}

/// Deliver a UN/EDIFACT interchange (COARRI, CODECO) for a connection: good messages are
/// stored, bad ones quarantined with their reason; the run is in the sync history
/// (`trigger: edifact`). A body that is not EDIFACT at all is refused (400, also recorded).
#[utoipa::path(post, path = "/v1/data-sources/{terminal}/edifact", tag = "data-sources", params(TerminalPath),
    request_body(content = String, content_type = "text/plain", description = "UNA/UNB ... UNH..UNT ... UNZ"),
    responses((status = 200, body = SyncRun, description = "read: status succeeded or partial (some messages quarantined)"),
        (status = 400, body = ErrorEnvelope, description = "no_edifact, invalid_syntax"), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn edifact(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    require_write(&caller)?;
    let t = parse_terminal(&path.terminal)?;
    let run = s.intake_edifact(&caller.actor(), t, &body).await?;
    if run.status == "refused" {
        return Err(SourcesApiError::Refused(
            run.error_message.unwrap_or_default(),
        ));
    }
    Ok(HttpResponse::Ok().json(run))
}

/// Messages an intake refused, newest first, verbatim with their reason.
#[utoipa::path(get, path = "/v1/data-sources/{terminal}/quarantine", tag = "data-sources", params(TerminalPath, LimitQuery),
    responses((status = 200, body = [Quarantined]), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn quarantine(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    q: web::Query<LimitQuery>,
) -> Result<HttpResponse> {
    let t = parse_terminal(&path.terminal)?;
    Ok(HttpResponse::Ok().json(
        s.quarantine(&caller.entity_id, t, page_size(q.limit, 50, 500)?)
            .await?,
    ))
}

/// `?after=&limit=` of the container list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ContainersQuery {
    /// Equipment number to start after (the last one of the previous page).
    #[param(pattern = "^[A-Za-z0-9]{1,20}$", example = "MSCU1234566")]
    pub after: Option<String>,
    /// How many containers (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The containers a terminal reported for this entity, by equipment number, each with its
/// number of events and latest event.
#[utoipa::path(get, path = "/v1/data-sources/{terminal}/containers", tag = "data-sources", params(TerminalPath, ContainersQuery),
    responses((status = 200, body = [ReportedContainer]), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(terminal = %path.terminal))]
pub async fn containers(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<TerminalPath>,
    q: web::Query<ContainersQuery>,
) -> Result<HttpResponse> {
    let t = parse_terminal(&path.terminal)?;
    let after = q
        .after
        .as_deref()
        .map(|a| {
            let a = a.trim();
            if (1..=20).contains(&a.len()) && a.chars().all(|c| c.is_ascii_alphanumeric()) {
                Ok(a.to_ascii_uppercase())
            } else {
                Err(SourcesError::Invalid {
                    code: ErrorCode::InvalidField,
                    field: Some("after".into()),
                    message: "after must be the last equipment number of the previous page".into(),
                })
            }
        })
        .transpose()?;
    let limit = page_size(q.limit, 100, 1000)?;
    Ok(HttpResponse::Ok().json(
        s.reported_containers(&caller.entity_id, t, after.as_deref(), limit)
            .await?,
    ))
}

/// Merged timeline of a container.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerTimeline {
    pub equipment_number: String,
    pub events: Vec<TimelineEvent>,
}

/// Path parameter `{equipment}`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EquipmentPath {
    /// ISO 6346 container number (check digit verified).
    pub equipment: String,
}

/// The merged timeline of one container across this entity's data sources, oldest first.
#[utoipa::path(get, path = "/v1/containers/{equipment}/events", tag = "data-sources", params(EquipmentPath),
    responses((status = 200, body = ContainerTimeline), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(equipment = %path.equipment))]
pub async fn container_events(
    caller: Caller,
    s: web::Data<Sources>,
    path: web::Path<EquipmentPath>,
) -> Result<HttpResponse> {
    let equipment = parse_equipment_number(&path.equipment).ok_or_else(|| {
        SourcesApiError::InvalidEquipment(format!(
            "equipment: '{}' is not an ISO 6346 container number (4 letters, 6 digits, check digit)",
            path.equipment.chars().take(20).collect::<String>()
        ))
    })?;
    let events = s.timeline(&caller.entity_id, &equipment).await?;
    Ok(HttpResponse::Ok().json(ContainerTimeline {
        equipment_number: equipment,
        events,
    }))
}

/// Mount the routes. `web::Data<Sources>` and `web::Data<Authenticator>` must be registered on
/// the app (see [`configure_with`]).
///
/// [`Authenticator`]: crate::api::Authenticator
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY * 4))
        .service(web::resource("/v1/data-sources").route(web::get().to(list)))
        .service(web::resource("/v1/data-sources/audit").route(web::get().to(audit)))
        .service(
            web::resource("/v1/data-sources/{terminal}")
                .route(web::get().to(get_one))
                .route(web::put().to(put))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/v1/data-sources/{terminal}/test").route(web::post().to(test)))
        .service(web::resource("/v1/data-sources/{terminal}/sync").route(web::post().to(sync)))
        .service(web::resource("/v1/data-sources/{terminal}/syncs").route(web::get().to(syncs)))
        .service(
            web::resource("/v1/data-sources/{terminal}/webhook")
                .route(web::post().to(setup_webhook)),
        )
        .service(
            web::resource("/v1/data-sources/{terminal}/webhook/{webhook_id}")
                .route(web::post().to(receive_webhook)),
        )
        .service(
            web::resource("/v1/data-sources/{terminal}/edifact")
                .app_data(web::PayloadConfig::new(MAX_EDIFACT_BYTES))
                .route(web::post().to(edifact)),
        )
        .service(
            web::resource("/v1/data-sources/{terminal}/quarantine")
                .route(web::get().to(quarantine)),
        )
        .service(
            web::resource("/v1/data-sources/{terminal}/containers")
                .route(web::get().to(containers)),
        )
        .service(
            web::resource("/v1/containers/{equipment}/events")
                .route(web::get().to(container_events)),
        );
}

/// [`configure`] plus the `web::Data<Sources>` it needs.
pub fn configure_with(sources: Sources) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(sources.clone()));
        configure(cfg);
    }
}

/// OpenAPI of Data Sources, to merge into the gateway's document.
#[derive(OpenApi)]
#[openapi(
    paths(list, audit, get_one, put, delete, test, sync, syncs, setup_webhook, receive_webhook, edifact, quarantine,
        containers, container_events),
    components(schemas(
        DataSourceList, RegionGroup, DataSource, ConnectionState, TestResult, SyncRun, TimelineEvent,
        ContainerTimeline, CredentialsBody, crate::sources::adapters::Limitation, WebhookSetup, OnReleaseBody,
        Quarantined, ReportedContainer, crate::sources::model::TimeKind, crate::sources::model::FullEmpty,
        crate::sources::model::Document, crate::sources::model::DocumentKind,
        crate::sources::catalogue::Terminal, crate::sources::catalogue::Region, crate::sources::catalogue::AuthType,
        crate::sources::catalogue::FormField, crate::sources::catalogue::FieldType, crate::sources::model::EventKind,
        AuditEntry, ErrorEnvelope, ErrorBody, ErrorCode
    )),
    tags((name = "data-sources", description = "Terminal connections (Data Sources), sync and container timelines"))
)]
pub struct SourcesApiDoc;

//! `POST /v1/webhooks/nxtport/{entityId}`: NxtPort (or the simulator) delivers notifications.
//!
//! Authenticated by the entity's webhook secret (`whk_...`), given as `Authorization: Bearer`
//! or as the `token` query parameter (NxtPort's channel config supports static headers; some
//! senders only support a URL). The body is one notification envelope or an array of them.
//! Storing is idempotent, so NxtPort's retries and the polling fallback never duplicate.

use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::{bearer, ValidJson};
use super::super::state::GatewayState;
use crate::store::notifications::NewNotification;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Answer of the webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceipt {
    /// Notifications stored now.
    pub stored: usize,
    /// Notifications already stored before (ignored).
    pub duplicates: usize,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The entity whose webhook secret the request presented (checked before the body is read).
pub struct WebhookAuth(pub String);

impl actix_web::FromRequest for WebhookAuth {
    type Error = ApiError;
    type Future = futures::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<GatewayState>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("gateway state missing")))?;
            let entity_id = req
                .match_info()
                .get("entity_id")
                .map(str::to_owned)
                .ok_or(ApiError::Unauthorized)?;
            let query_token = serde_urlencoded::from_str::<TokenQuery>(req.query_string())
                .ok()
                .and_then(|q| q.token);
            let presented = bearer(&req)
                .map(str::to_owned)
                .or(query_token)
                .ok_or(ApiError::Unauthorized)?;
            if state
                .store
                .verify_webhook_secret(&entity_id, &presented)
                .await?
            {
                Ok(Self(entity_id))
            } else {
                Err(ApiError::Unauthorized)
            }
        })
    }
}

/// Store notifications delivered by NxtPort.
#[utoipa::path(
    post,
    path = "/v1/webhooks/nxtport/{entity_id}",
    tag = "notifications",
    params(
        ("entity_id" = String, Path, description = "The gateway entity the webhook belongs to"),
        ("token" = Option<String>, Query, description = "Webhook secret, when it cannot be sent as a bearer token")
    ),
    request_body(content = Object, description = "A CPu notification envelope, or an array of them"),
    responses(
        (status = 200, description = "Stored (idempotent)", body = WebhookReceipt),
        (status = 400, description = "Not a notification", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong webhook secret", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(entity = %auth.0))]
pub async fn receive(
    auth: WebhookAuth,
    state: web::Data<GatewayState>,
    ValidJson(body): ValidJson<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let entity_id = auth.0;
    let items = match body {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    for (i, item) in items.iter().enumerate() {
        let ok = item.is_object() && item.get("publicReferenceId").is_some_and(|v| v.is_string());
        if !ok {
            return Err(ApiError::field(
                format!("[{i}].publicReferenceId"),
                "each notification must be an object with a publicReferenceId",
            ));
        }
    }
    let mut receipt = WebhookReceipt {
        stored: 0,
        duplicates: 0,
    };
    for envelope in items {
        let inserted = state
            .store
            .insert_notification(&NewNotification {
                entity_id: entity_id.clone(),
                source: "webhook",
                envelope,
            })
            .await?;
        if inserted.is_some() {
            receipt.stored += 1;
        } else {
            receipt.duplicates += 1;
        }
    }
    let m = &state.metrics.notifications;
    m.with_label_values(&["webhook", "new"])
        .inc_by(receipt.stored as u64);
    m.with_label_values(&["webhook", "duplicate"])
        .inc_by(receipt.duplicates as u64);
    Ok(HttpResponse::Ok().json(receipt))
}

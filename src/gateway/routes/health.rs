//! `/health` (process up), `/ready` (database reachable), `/metrics` (Prometheus).

use super::super::error::{ApiError, ErrorEnvelope};
use super::super::state::GatewayState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Health answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// sim | uat | prd.
    pub mode: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operability",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn health(state: web::Data<GatewayState>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        mode: state.settings.mode.as_str().into(),
    })
}

/// Readiness: the database answers and, when the budget is shared, Redis too (without it no
/// NxtPort call can go out). The 503's message says which one is missing.
#[utoipa::path(get, path = "/ready", tag = "operability",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database or shared budget (Redis) unreachable", body = ErrorEnvelope)
    ))]
pub async fn ready(state: web::Data<GatewayState>) -> Result<HttpResponse, ApiError> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness check failed: database");
        return Err(ApiError::NotReadyBecause("the database is unreachable"));
    }
    if let Some(shared) = state.upstreams.budgets().shared() {
        if let Err(e) = shared.ping().await {
            tracing::warn!(error = %e, "readiness check failed: shared budget");
            return Err(ApiError::NotReadyBecause(
                "the shared NxtPort budget (Redis) is unreachable; no NxtPort call can be made",
            ));
        }
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".into(),
        mode: state.settings.mode.as_str().into(),
    }))
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "operability",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<GatewayState>) -> HttpResponse {
    if let Ok(depth) = state.store.outbox_depth().await {
        state.metrics.outbox_depth.set(depth);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

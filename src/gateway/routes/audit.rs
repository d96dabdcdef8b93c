//! `GET /v1/audit`: the caller's entity's audit log, newest first, paged and filterable
//! (action, actor, impersonation, time). Support's acts for the entity (impersonation) are
//! recorded under the entity and shown here with the support token and its entity.
//!
//! The query parsing and the paged answer ([`crate::api::audit`]) are shared with
//! `GET /v1/data-sources/audit`.

use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::Caller;
use super::super::state::GatewayState;
pub use crate::api::audit::{query_of, respond, AuditParams};
use crate::store::AuditLog;
use actix_web::{web, HttpRequest, HttpResponse};

/// The entity's audit log, newest first: every act for it (support's impersonated ones
/// included, `impersonation: true`). Repeated connection reads are one entry with
/// `detail.repeats`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "One page, newest first; `Link: <...>; rel=\"next\"` when there are older entries",
            body = Vec<crate::store::AuditEntry>,
            headers(("Link" = String, description = "The next page (RFC 8288), when there is one"))),
        (status = 400, description = "A parameter is invalid (named in `field`)", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn list_audit(
    caller: Caller,
    state: web::Data<GatewayState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query_of(&req, &caller.entity_id)?;
    let page = AuditLog::page(&state.store, &q).await?;
    Ok(respond(&req, page))
}

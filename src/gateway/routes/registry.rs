//! `GET /v1/companies` (NxtPort company registry) and `GET /v1/release-details/{equipment}`.

use super::super::domain::{BillOfLading, EquipmentNumber, Reference, UnLocode};
use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::Caller;
use super::super::state::GatewayState;
use super::super::upstream::api_error;
use super::validations::observe;
use crate::nxtport::CallOptions;
use crate::store::notifications::{NotificationFilter, StoredNotification};
use actix_web::{web, HttpRequest, HttpResponse};
use cpu_contract::{EntitySearchQuery, PhoneBookResponse, ReleaseDetailQuery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Query of `GET /v1/companies` (at least one filter; ANDed).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompaniesParams {
    /// EORI number.
    pub eori: Option<String>,
    /// DUNS number.
    pub duns: Option<String>,
    /// VAT number.
    pub vat: Option<String>,
    /// NxtEntityId.
    pub nxt_entity_id: Option<String>,
    /// (Part of) the company name.
    pub entity_name: Option<String>,
    /// APCS code.
    pub apcs_code: Option<String>,
    /// Page from 1 (default 1).
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Page size 1-100 (default 25).
    #[param(value_type = Option<u32>)]
    pub page_size: Option<String>,
}

fn text(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    v.map(|s| {
        Reference::parse(&s)
            .map(|r| r.as_str().to_owned())
            .map_err(|m| ApiError::field(field, format!("{field}: {m}")))
    })
    .transpose()
}

fn number(field: &str, v: Option<String>, max: u32) -> Result<Option<u32>, ApiError> {
    v.map(|s| match s.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::field(
            field,
            format!("{field} must be a number from 1 to {max}"),
        )),
    })
    .transpose()
}

/// Search NxtPort's company registry.
#[utoipa::path(
    get,
    path = "/v1/companies",
    tag = "validations",
    params(CompaniesParams),
    responses(
        (status = 200, description = "Matching companies", body = PhoneBookResponse),
        (status = 400, description = "No or bad filter", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 503, description = "NxtPort unavailable", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn companies(
    caller: Caller,
    state: web::Data<GatewayState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p: CompaniesParams = super::parse_query(&req)?;
    let query = EntitySearchQuery {
        eori: text("eori", p.eori)?,
        duns: text("duns", p.duns)?,
        vat: text("vat", p.vat)?,
        nxt_entity_id: text("nxtEntityId", p.nxt_entity_id)?,
        entity_name: text("entityName", p.entity_name)?,
        apcs_code: text("apcsCode", p.apcs_code)?,
        page: number("page", p.page, 100_000)?,
        page_size: number("pageSize", p.page_size, 100)?,
    };
    if query.eori.is_none()
        && query.duns.is_none()
        && query.vat.is_none()
        && query.nxt_entity_id.is_none()
        && query.entity_name.is_none()
        && query.apcs_code.is_none()
    {
        return Err(ApiError::field(
            "entityName",
            "give at least one filter: eori, duns, vat, nxtEntityId, entityName or apcsCode",
        ));
    }
    let link = state.upstreams.link(&caller.entity_id).await?;
    let result = link
        .client
        .search_entities(&query, &CallOptions::default())
        .await;
    observe(&state, "entities", &result);
    Ok(HttpResponse::Ok().json(result.map_err(api_error)?))
}

/// Query of `GET /v1/release-details/{equipment}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReleaseDetailParams {
    /// Overrides the connection's port LoCode.
    pub port_lo_code: Option<String>,
    /// Bills of lading, comma separated.
    pub bill_of_lading_numbers: Option<String>,
    /// The agent's release reference.
    pub release_identification: Option<String>,
    /// Wait for the `GetReleaseDetail` notification until this many milliseconds (0-10000) after
    /// the request arrived, the NxtPort call included: the answer never takes longer, unless the
    /// NxtPort call itself does.
    #[param(value_type = Option<u32>)]
    pub wait_ms: Option<String>,
}

/// Answer of `GET /v1/release-details/{equipment}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDetailAnswer {
    /// NxtPort's reference; the detail arrives as a notification carrying it.
    pub public_reference_id: String,
    /// The `GetReleaseDetail` notification, when it arrived within `waitMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<StoredNotification>,
}

/// Ask NxtPort for a container's release detail (lights, parties).
#[utoipa::path(
    get,
    path = "/v1/release-details/{equipment}",
    tag = "validations",
    params(("equipment" = String, Path, description = "Container number (ISO 6346)"), ReleaseDetailParams),
    responses(
        (status = 200, description = "The detail arrived within waitMs", body = ReleaseDetailAnswer),
        (status = 202, description = "Requested; poll /v1/notifications?publicReferenceId=...", body = ReleaseDetailAnswer),
        (status = 400, description = "Invalid input", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope),
        (status = 409, description = "No NxtPort connection", body = ErrorEnvelope),
        (status = 422, description = "NxtPort rejected the request", body = ErrorEnvelope),
        (status = 503, description = "NxtPort unavailable", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn release_detail(
    caller: Caller,
    state: web::Data<GatewayState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let arrived = std::time::Instant::now();
    let equipment =
        EquipmentNumber::parse(&path).map_err(|e| ApiError::field("equipment", e.to_string()))?;
    let p: ReleaseDetailParams = super::parse_query(&req)?;
    let port = p
        .port_lo_code
        .map(|l| {
            UnLocode::parse(&l)
                .map(|l| l.as_str().to_owned())
                .map_err(|e| ApiError::field("portLoCode", e.to_string()))
        })
        .transpose()?;
    let bills = p
        .bill_of_lading_numbers
        .map(|b| {
            b.split(',')
                .map(|x| {
                    BillOfLading::parse(x)
                        .map(|x| x.as_str().to_owned())
                        .map_err(|m| ApiError::field("billOfLadingNumbers", m))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join(","))
        })
        .transpose()?;
    let wait_ms = number("waitMs", p.wait_ms.filter(|w| w.trim() != "0"), 10_000)?.unwrap_or(0);
    let query = ReleaseDetailQuery {
        bill_of_lading_numbers: bills,
        release_identification: text("releaseIdentification", p.release_identification)?,
    };
    let link = state.upstreams.link(&caller.entity_id).await?;
    let port = port.unwrap_or_else(|| link.conn.port_lo_code.as_str().to_owned());
    let result = link
        .client
        .request_release_detail(&port, equipment.as_str(), &query, &CallOptions::default())
        .await;
    observe(&state, "release-detail", &result);
    let accepted = result.map_err(api_error)?;
    let filter = NotificationFilter {
        public_reference_id: Some(accepted.public_reference_id.clone()),
        limit: 1,
        ..Default::default()
    };
    // waitMs counts from the request's arrival: a slow NxtPort call shortens the wait.
    let deadline = arrived + std::time::Duration::from_millis(wait_ms.into());
    loop {
        let found = state
            .store
            .notifications(&caller.entity_id, &filter)
            .await?;
        if let Some(n) = found.into_iter().next() {
            return Ok(HttpResponse::Ok().json(ReleaseDetailAnswer {
                public_reference_id: accepted.public_reference_id,
                notification: Some(n),
            }));
        }
        if std::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(HttpResponse::Accepted().json(ReleaseDetailAnswer {
        public_reference_id: accepted.public_reference_id,
        notification: None,
    }))
}

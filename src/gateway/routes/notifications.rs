//! `GET /v1/notifications`: notifications received for the caller's entity, with the seed's
//! filters (notificationEvent, equipmentNumber, publicReferenceId, releaseId, storedOn,
//! timeWindowFrom/timeWindowTo).

use super::super::domain::EquipmentNumber;
use super::super::error::{ApiError, ErrorEnvelope};
use super::super::extract::Caller;
use super::super::state::GatewayState;
use crate::store::notifications::{NotificationFilter, StoredNotification};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveTime};
use cpu_contract::NotificationEvent;
use serde::Deserialize;

/// Query of `GET /v1/notifications` (filters ANDed; all optional).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationsParams {
    /// Notification event, e.g. `TerminalRelease`, `GateOut`, `ReleaseLightChanged`.
    pub notification_event: Option<String>,
    /// Container number.
    pub equipment_number: Option<String>,
    /// The GUID NxtPort answered a call with.
    pub public_reference_id: Option<String>,
    /// Release right id.
    pub release_id: Option<String>,
    /// Day (`2024-03-01`) or timestamp whose UTC day is meant.
    pub stored_on: Option<String>,
    /// Start of a window on the `storedOn` day, `HH:MM` (needs `timeWindowTo`).
    pub time_window_from: Option<String>,
    /// End of that window, `HH:MM`.
    pub time_window_to: Option<String>,
    /// Max results (1-1000, default 100).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

fn parse_uuid(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    v.map(|s| {
        uuid::Uuid::parse_str(s.trim())
            .map(|u| u.to_string())
            .map_err(|_| ApiError::field(field, format!("{field} must be a GUID")))
    })
    .transpose()
}

fn parse_time(field: &str, v: &str) -> Result<NaiveTime, ApiError> {
    NaiveTime::parse_from_str(v.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(v.trim(), "%H:%M:%S"))
        .map_err(|_| ApiError::field(field, format!("{field} must be a time like 07:30")))
}

/// Turn the query into a validated filter.
pub fn filter_of(p: NotificationsParams) -> Result<NotificationFilter, ApiError> {
    let event = p
        .notification_event
        .map(|e| {
            NotificationEvent::from_name(&e)
                .map(|ev| ev.as_str().to_owned())
                .ok_or_else(|| {
                    ApiError::field(
                        "notificationEvent",
                        format!("notificationEvent: unknown event '{e}'"),
                    )
                })
        })
        .transpose()?;
    let equipment_number = p
        .equipment_number
        .map(|e| {
            EquipmentNumber::parse(&e)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| ApiError::field("equipmentNumber", e.to_string()))
        })
        .transpose()?;
    let day = p
        .stored_on
        .map(|s| {
            let s = s.trim().to_owned();
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .ok()
                .or_else(|| {
                    cpu_contract::lenient_utc::parse(&s)
                        .ok()
                        .map(|t| t.date_naive())
                })
                .ok_or_else(|| {
                    ApiError::field(
                        "storedOn",
                        "storedOn must be a date (2024-03-01) or timestamp",
                    )
                })
        })
        .transpose()?;
    let window = match (p.time_window_from, p.time_window_to) {
        (None, None) => None,
        (Some(f), Some(t)) => {
            let from = parse_time("timeWindowFrom", &f)?;
            let to = parse_time("timeWindowTo", &t)?;
            if to < from {
                return Err(ApiError::field(
                    "timeWindowTo",
                    "timeWindowTo may not be earlier than timeWindowFrom",
                ));
            }
            Some((from, to))
        }
        (Some(_), None) => {
            return Err(ApiError::field(
                "timeWindowTo",
                "timeWindowFrom and timeWindowTo must be used together",
            ))
        }
        (None, Some(_)) => {
            return Err(ApiError::field(
                "timeWindowFrom",
                "timeWindowFrom and timeWindowTo must be used together",
            ))
        }
    };
    let (from, to) = match (day, window) {
        (None, Some(_)) => {
            return Err(ApiError::field(
                "storedOn",
                "a time window needs storedOn (the day it applies to)",
            ))
        }
        (None, None) => (None, None),
        (Some(d), None) => (
            Some(d.and_time(NaiveTime::MIN).and_utc().timestamp_millis()),
            Some(d.and_time(NaiveTime::MIN).and_utc().timestamp_millis() + 86_400_000 - 1),
        ),
        (Some(d), Some((f, t))) => (
            Some(d.and_time(f).and_utc().timestamp_millis()),
            // Inclusive to the end of the `to` minute.
            Some(d.and_time(t).and_utc().timestamp_millis() + 59_999),
        ),
    };
    Ok(NotificationFilter {
        event,
        equipment_number,
        public_reference_id: parse_uuid("publicReferenceId", p.public_reference_id)?,
        release_id: parse_uuid("releaseId", p.release_id)?,
        from,
        to,
        limit: super::parse_limit(p.limit.as_deref())?,
    })
}

/// Notifications received for the caller's entity, oldest first.
#[utoipa::path(
    get,
    path = "/v1/notifications",
    tag = "notifications",
    params(NotificationsParams),
    responses(
        (status = 200, description = "Matching notifications", body = Vec<StoredNotification>),
        (status = 400, description = "Bad filter", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token", body = ErrorEnvelope)
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(entity = %caller.entity_id))]
pub async fn list_notifications(
    caller: Caller,
    state: web::Data<GatewayState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: NotificationsParams = super::parse_query(&req)?;
    let filter = filter_of(params)?;
    let list = state
        .store
        .notifications(&caller.entity_id, &filter)
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> NotificationsParams {
        let q = serde_urlencoded::to_string(pairs).expect("encode");
        serde_urlencoded::from_str(&q).expect("decode")
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn filters_validate_and_name_the_field() {
        let f = filter_of(params(&[
            ("notificationEvent", "terminalrelease"),
            ("storedOn", "2024-03-01"),
            ("timeWindowFrom", "07:30"),
            ("timeWindowTo", "19:25"),
        ]))
        .expect("valid");
        assert_eq!(f.event.as_deref(), Some("TerminalRelease"));
        assert_eq!(f.from, Some(1_709_278_200_000));
        assert_eq!(f.to, Some(1_709_321_100_000 + 59_999));
        for (pairs, field) in [
            (vec![("notificationEvent", "Nope")], "notificationEvent"),
            (vec![("equipmentNumber", "MSCU1234565")], "equipmentNumber"),
            (vec![("publicReferenceId", "x")], "publicReferenceId"),
            (vec![("storedOn", "yesterday")], "storedOn"),
            (vec![("timeWindowFrom", "07:30")], "timeWindowTo"),
            (
                vec![
                    ("storedOn", "2024-03-01"),
                    ("timeWindowFrom", "09:00"),
                    ("timeWindowTo", "08:00"),
                ],
                "timeWindowTo",
            ),
            (
                vec![("timeWindowFrom", "07:00"), ("timeWindowTo", "08:00")],
                "storedOn",
            ),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "many")], "limit"),
        ] {
            assert_eq!(
                field_of(filter_of(params(&pairs)).expect_err("must fail")),
                field
            );
        }
    }
}

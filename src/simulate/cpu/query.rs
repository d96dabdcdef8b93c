//! Query-string parsing of `GET /notifications`.

use super::*;

/// The core's query from the query string of `GET /notifications`: every filter parsed, the time
/// window only within `storedOn`, at least one filter.
pub(super) fn notification_query(raw: &str) -> Result<NotificationQuery> {
    let q: NotificationsQuery = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::InvalidInput(format!("invalid query: {e}")))?;
    let mut query = NotificationQuery {
        event: q.notification_event,
        ..Default::default()
    };
    if let Some(e) = &q.equipment_number {
        query.equipment = Some(
            sim::EquipmentNumber::parse(e)
                .map_err(|err| ApiError::InvalidInput(format!("equipmentNumber: {err}")))?,
        );
    }
    if let Some(p) = &q.public_reference_id {
        query.public_reference_id = Some(sim::PublicReferenceId(
            uuid::Uuid::parse_str(p.trim())
                .map_err(|_| ApiError::InvalidInput("publicReferenceId: must be a GUID".into()))?,
        ));
    }
    if let Some(r) = &q.release_id {
        query.release_id = Some(sim::ReleaseId(
            uuid::Uuid::parse_str(r.trim())
                .map_err(|_| ApiError::InvalidInput("releaseId: must be a GUID".into()))?,
        ));
    }
    if let Some(s) = &q.stored_on {
        let s = s.trim();
        let date =
            NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").map_err(|_| {
                ApiError::InvalidInput(format!("storedOn: '{s}' is not an ISO date or timestamp"))
            })?;
        query.stored_on = Some(date);
    }
    match (&q.time_window_from, &q.time_window_to) {
        (None, None) => {}
        (Some(from), Some(to)) => {
            if query.stored_on.is_none() {
                return Err(ApiError::InvalidInput(
                    "timeWindowFrom/timeWindowTo filter within the date given in storedOn: storedOn is required".into(),
                ));
            }
            let (from, to) = (
                parse_time("timeWindowFrom", from)?,
                parse_time("timeWindowTo", to)?,
            );
            if to < from {
                return Err(ApiError::InvalidInput(
                    "timeWindowTo may not be earlier than timeWindowFrom".into(),
                ));
            }
            query.window = Some((from, to));
        }
        _ => {
            return Err(ApiError::InvalidInput(
                "timeWindowFrom and timeWindowTo must be used together".into(),
            ))
        }
    }
    if query.is_empty() {
        return Err(ApiError::InvalidInput(
            "at least one query parameter is required".into(),
        ));
    }
    Ok(query)
}

fn parse_time(field: &str, s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .map_err(|_| ApiError::InvalidInput(format!("{field}: '{s}' is not a time like 07:30")))
}

//! Polling the notifications sent to the caller's company.

use super::query::notification_query;
use super::*;

/// Notifications sent to your company (168 h), filtered (at least one filter; ANDed).
#[utoipa::path(get, path = "/certified-pickup/v1/notifications", tag = "CPu generic",
    params(NotificationsQuery),
    responses((status = 200, body = [NotificationDetail]), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails, description = "The notification was not sent to your company"), (status = 405, body = ProblemDetails, description = "No matching notifications found, or invalid input"), (status = 429, description = "Too many requests")))]
pub async fn notifications(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let query = notification_query(req.query_string())?;
    let world = call.world.read();
    let found = world.query_notifications(&call.party.nxt_entity_id, &query)?;
    let details: Vec<NotificationDetail> = found.iter().map(detail).collect();
    drop(world);
    Ok(ok_json(&call, &details))
}

/// A stored notification as `NotificationDetail`.
pub fn detail(n: &sim::Notification) -> NotificationDetail {
    NotificationDetail {
        nxt_entity_id: n.receiver.as_str().to_owned(),
        equipment_number: n
            .equipment
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        public_reference_id: n.public_reference_id.to_string(),
        external_reference_id: n.external_reference_id.as_deref().map(str::to_owned),
        stored_on: n.stored_on,
        // Serializing a tree of strings, numbers and plain structs cannot fail.
        message: serde_json::to_string(&n.envelope()).unwrap_or_default(),
        type_: n.kind,
        event: n.event,
        release_id: n.release_id.map(|r| r.0),
    }
}

//! Operations (queued / sent / completed / failed / cancelled) with status and container
//! filters, and the operator's Retry (failed) and Cancel (queued or failed) buttons. The
//! buttons call the same service as `POST /v1/operations/{id}/retry|cancel`
//! ([`crate::gateway::operator`]): one place changes the state and writes the audit row.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{internal, nav, non_empty, notice_text, render, see_other, Result};
use crate::console::extract::{ActingEditor, OperationId, SignedIn};
use crate::console::session::Session;
use crate::console::views::{self, Nav};
use crate::console::ConsoleError;
use crate::gateway::operator::{self, ActError, OperatorAction};
use crate::gateway::routes::operations::PublicStatus;
use crate::gateway::state::GatewayState;
use crate::sources::model::parse_equipment_number;
use crate::store::outbox::OperationStatus;

struct OperationRow {
    id: String,
    accepted: String,
    kind: &'static str,
    equipment: String,
    status: &'static str,
    attempts: i64,
    reference: String,
    error: String,
    can_retry: bool,
    can_cancel: bool,
}

#[derive(Template)]
#[template(path = "console/operations.html")]
struct OperationsPage {
    nav: Nav,
    statuses: Vec<(&'static str, &'static str, bool)>,
    status: String,
    equipment: String,
    error: Option<String>,
    notice: Option<&'static str>,
    operations: Vec<OperationRow>,
}

/// `?status=&equipment=&done=`.
#[derive(Debug, Default, Deserialize)]
pub struct OperationsQuery {
    status: Option<String>,
    equipment: Option<String>,
    done: Option<String>,
}

fn status_name(s: PublicStatus) -> &'static str {
    match s {
        PublicStatus::Queued => "queued",
        PublicStatus::Sent => "sent",
        PublicStatus::Completed => "completed",
        PublicStatus::Failed => "failed",
        PublicStatus::Cancelled => "cancelled",
    }
}

const STATUSES: [(&str, &str); 6] = [
    ("", "All"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("completed", "Completed"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
];

async fn operations_page(
    gw: &GatewayState,
    s: &Session,
    q: &OperationsQuery,
    status: StatusCode,
    refusal: Option<String>,
) -> Result<HttpResponse> {
    let wanted = q.status.as_deref().unwrap_or("").trim();
    let statuses: Vec<_> = STATUSES
        .into_iter()
        .map(|(v, l)| (v, l, v == wanted))
        .collect();
    let raw = non_empty(&q.equipment).unwrap_or_default();
    let mut error = None;
    let equipment = if raw.is_empty() {
        None
    } else {
        match parse_equipment_number(&raw) {
            Some(e) => Some(e),
            None => {
                error = Some("Not an ISO 6346 container number.".to_owned());
                None
            }
        }
    };
    if !statuses.iter().any(|s| s.2) {
        error = Some("Unknown status; pick one from the list.".into());
    }
    let ops = if error.is_some() {
        Vec::new()
    } else {
        gw.store
            .operations(&s.acting_entity_id, equipment.as_deref(), 500)
            .await
            .map_err(internal)?
    };
    let operations = ops
        .into_iter()
        .map(|o| (PublicStatus::from(o.status), o))
        .filter(|(st, _)| wanted.is_empty() || status_name(*st) == wanted)
        .map(|(st, o)| OperationRow {
            can_retry: st == PublicStatus::Failed,
            // In flight (`sending`) shows as queued but cannot be cancelled.
            can_cancel: matches!(o.status, OperationStatus::Queued | OperationStatus::Failed),
            id: o.id.clone(),
            accepted: views::when(o.created_utc()),
            kind: o.kind.as_str(),
            equipment: o.container_key,
            status: status_name(st),
            attempts: o.attempts,
            reference: o.public_reference_id.unwrap_or_default(),
            error: o.error.unwrap_or_default(),
        })
        .collect();
    let status = match (&error, status) {
        (Some(_), StatusCode::OK) => StatusCode::BAD_REQUEST,
        (_, s) => s,
    };
    render(
        status,
        &OperationsPage {
            nav: nav(gw, s, "operations").await?,
            statuses,
            status: wanted.chars().take(20).collect(),
            equipment: raw.chars().take(20).collect(),
            error: refusal.or(error),
            notice: notice_text(q.done.as_deref()),
            operations,
        },
    )
}

/// `GET /console/operations?status=&equipment=`.
#[tracing::instrument(skip_all)]
pub async fn operations(
    signed: SignedIn,
    gw: web::Data<GatewayState>,
    q: web::Query<OperationsQuery>,
) -> Result<HttpResponse> {
    operations_page(&gw, &signed.session, &q, StatusCode::OK, None).await
}

/// The list the form came from (its filters ride along as hidden fields).
fn back_to(form: &crate::console::extract::FormFields, done: &str) -> String {
    let mut pairs: Vec<(&str, String)> = ["status", "equipment"]
        .into_iter()
        .filter_map(|key| {
            let v = form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())?;
            Some((key, v.chars().take(20).collect()))
        })
        .collect();
    pairs.push(("done", done.to_owned()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("/console/operations?{query}")
}

async fn act(
    editor: ActingEditor<OperationId>,
    gw: &GatewayState,
    action: OperatorAction,
) -> Result<HttpResponse> {
    let s = &editor.session;
    let done = match action {
        OperatorAction::Retry => "retried",
        OperatorAction::Cancel => "cancelled",
    };
    match operator::act(gw, &s.actor(), s.role, &editor.target.0, action).await {
        Ok(_) => Ok(see_other(&back_to(&editor.form, done))),
        Err(e) => {
            let status = match e {
                ActError::BadId | ActError::NotFound => {
                    return Err(ConsoleError::NotFound("operation"))
                }
                ActError::ReadOnly(_) => return Err(ConsoleError::Forbidden(e.to_string())),
                ActError::Store(e) => return Err(internal(e)),
                ActError::WrongState(_) => StatusCode::CONFLICT,
            };
            let q = OperationsQuery {
                status: editor.form.get("status").cloned(),
                equipment: editor.form.get("equipment").cloned(),
                done: None,
            };
            let message = format!("Nothing was changed: {e}.");
            operations_page(gw, s, &q, status, Some(message)).await
        }
    }
}

/// `POST /console/operations/{id}/retry`: send a failed operation again.
#[tracing::instrument(skip_all)]
pub async fn retry_operation(
    editor: ActingEditor<OperationId>,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    act(editor, &gw, OperatorAction::Retry).await
}

/// `POST /console/operations/{id}/cancel`: never send a queued or failed operation.
#[tracing::instrument(skip_all)]
pub async fn cancel_operation(
    editor: ActingEditor<OperationId>,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    act(editor, &gw, OperatorAction::Cancel).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_an_act_the_list_keeps_its_filters() {
        let form: crate::console::extract::FormFields = [
            ("csrf", "secret"),
            ("status", "failed"),
            ("equipment", " MSCU1234566 "),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            back_to(&form, "retried"),
            "/console/operations?status=failed&equipment=MSCU1234566&done=retried"
        );
        assert_eq!(
            back_to(&Default::default(), "cancelled"),
            "/console/operations?done=cancelled",
            "no CSRF secret or empty filter in the URL"
        );
    }
}

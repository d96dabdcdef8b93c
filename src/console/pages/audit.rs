//! The audit log of the acting entity (the latest 200 entries, newest first; the store has no
//! paging yet).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{internal, nav, render, Result};
use crate::console::extract::SignedIn;
use crate::console::views::{self, Nav};
use crate::gateway::state::GatewayState;
use crate::store::AuditLog;

struct AuditRow {
    when: String,
    action: String,
    target: String,
    outcome: String,
    by: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<AuditRow>,
}

/// `GET /console/audit`.
#[tracing::instrument(skip_all)]
pub async fn audit(signed: SignedIn, gw: web::Data<GatewayState>) -> Result<HttpResponse> {
    let s = signed.session;
    let entries = AuditLog::list(&gw.store, &s.acting_entity_id, 200)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|a| AuditRow {
            when: views::when(a.at),
            by: match (&a.actor_token_id, a.impersonation) {
                (Some(t), true) => format!("support token {t}"),
                (Some(t), false) => format!("token {t}"),
                (None, _) => "system".into(),
            },
            action: a.action,
            target: a.target,
            outcome: a.outcome,
            detail: a.detail.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    render(
        StatusCode::OK,
        &AuditPage {
            nav: nav(&gw, &s, "audit").await?,
            entries,
        },
    )
}

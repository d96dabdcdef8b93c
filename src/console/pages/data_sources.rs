//! The Data Sources page: terminal cards by region, the Connect modal (save, Test connection)
//! and the Disconnect confirmation.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{internal, nav, notice_text, render, see_other, NoticeQuery, Result};
use crate::console::extract::{ActingEditor, SignedIn};
use crate::console::session::Session;
use crate::console::views::{self, CardView, GroupView, Nav, Redisplay, TestView};
use crate::console::ConsoleError;
use crate::gateway::state::GatewayState;
use crate::sources::catalogue::Terminal;
use crate::sources::service::SourcesError;
use crate::sources::{vault_kind, Sources};

/// Header the page script sets when it wants only the test result, not a whole page.
pub const FRAGMENT_HEADER: &str = "X-Console-Fragment";

#[derive(Template)]
#[template(path = "console/data_sources.html")]
struct DataSourcesPage {
    nav: Nav,
    groups: Vec<GroupView>,
    notice: Option<&'static str>,
    polling: bool,
}

#[derive(Template)]
#[template(path = "console/test_result.html")]
struct TestFragment {
    ok: bool,
    message: String,
}

pub(super) async fn data_sources_page(
    gw: &GatewayState,
    sources: &Sources,
    s: &Session,
    status: StatusCode,
    notice: Option<&'static str>,
    again: Option<&Redisplay>,
) -> Result<HttpResponse> {
    let entity = s.acting_entity_id.as_str();
    let list = sources.list(entity).await.map_err(sources_internal)?;
    let mut publics = HashMap::new();
    for ds in list.groups.iter().flat_map(|g| &g.data_sources) {
        if matches!(
            ds.state,
            crate::sources::service::ConnectionState::NotConnected
        ) {
            continue;
        }
        if let Some(serde_json::Value::Object(m)) = gw
            .vault
            .public_fields(entity, &vault_kind(ds.terminal))
            .await
            .map_err(internal)?
        {
            publics.insert(ds.terminal.as_str(), m);
        }
    }
    let groups = views::groups(&list, &publics, again);
    let polling = groups
        .iter()
        .flat_map(|g| &g.cards)
        .any(|c: &CardView| c.status == "verifying");
    render(
        status,
        &DataSourcesPage {
            nav: nav(gw, s, "data-sources").await?,
            groups,
            notice,
            polling,
        },
    )
}

pub(super) fn sources_internal(e: SourcesError) -> ConsoleError {
    ConsoleError::Internal(anyhow::anyhow!("data sources: {e}"))
}

/// `GET /console/data-sources`.
#[tracing::instrument(skip_all)]
pub async fn data_sources(
    signed: SignedIn,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse> {
    data_sources_page(
        &gw,
        &sources,
        &signed.session,
        StatusCode::OK,
        notice_text(q.done.as_deref()),
        None,
    )
    .await
}

/// What a 4xx of the service becomes on the page: status, field, message.
pub(super) fn refused(e: SourcesError) -> Result<(StatusCode, Option<String>, String)> {
    match e {
        SourcesError::Invalid { field, message, .. } => {
            Ok((StatusCode::BAD_REQUEST, field, message))
        }
        SourcesError::Conflict(m) => Ok((StatusCode::CONFLICT, None, m)),
        e @ (SourcesError::NotConnected(_) | SourcesError::SyncRunning(_)) => {
            Ok((StatusCode::CONFLICT, None, e.to_string()))
        }
        SourcesError::UnknownTerminal(_) => Err(ConsoleError::NotFound("terminal")),
        e @ SourcesError::Internal(_) => Err(sources_internal(e)),
    }
}

/// `POST /console/data-sources/{terminal}/connect`: save (create or update).
#[tracing::instrument(skip_all)]
pub async fn connect(
    editor: ActingEditor<Terminal>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
) -> Result<HttpResponse> {
    let ActingEditor {
        session: s,
        form,
        target: t,
    } = editor;
    let body = views::credentials_body(t.auth_type(), &form);
    match sources.put(&s.actor(), t, &body).await {
        Ok(_) => {
            if t == Terminal::Nxtport {
                gw.upstreams.forget(&s.acting_entity_id);
            }
            Ok(see_other("/console/data-sources?done=saved"))
        }
        Err(e) => {
            let (status, field, message) = refused(e)?;
            let again = Redisplay {
                terminal: t.as_str(),
                values: views::public_values(t.auth_type(), &form),
                field,
                message: Some(message),
                test: None,
            };
            data_sources_page(&gw, &sources, &s, status, None, Some(&again)).await
        }
    }
}

/// `POST /console/data-sources/{terminal}/test`: check against the terminal, save nothing.
#[tracing::instrument(skip_all)]
pub async fn test(
    req: HttpRequest,
    editor: ActingEditor<Terminal>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
) -> Result<HttpResponse> {
    let ActingEditor {
        session: s,
        form,
        target: t,
    } = editor;
    let body = views::credentials_body(t.auth_type(), &form);
    let (status, field, test) = match sources.test(&s.actor(), t, &body).await {
        Ok(r) => {
            let mut message = r.message;
            if let Some(w) = r.warning {
                message = format!("{message} {}", w.message);
            }
            (StatusCode::OK, None, TestView { ok: r.ok, message })
        }
        Err(e) => {
            let (status, field, message) = refused(e)?;
            (status, field, TestView { ok: false, message })
        }
    };
    if req.headers().contains_key(FRAGMENT_HEADER) {
        return render(
            status,
            &TestFragment {
                ok: test.ok,
                message: test.message,
            },
        );
    }
    let again = Redisplay {
        terminal: t.as_str(),
        values: views::public_values(t.auth_type(), &form),
        message: field.is_some().then(|| test.message.clone()),
        field,
        test: Some(test),
    };
    data_sources_page(&gw, &sources, &s, status, None, Some(&again)).await
}

/// `POST /console/data-sources/{terminal}/disconnect` (after the confirmation dialog).
#[tracing::instrument(skip_all)]
pub async fn disconnect(
    editor: ActingEditor<Terminal>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
) -> Result<HttpResponse> {
    let ActingEditor {
        session: s,
        target: t,
        ..
    } = editor;
    match sources.delete(&s.actor(), t).await {
        Ok(()) => Ok(see_other("/console/data-sources?done=disconnected")),
        Err(e) => {
            let (status, _, message) = refused(e)?;
            let again = Redisplay {
                terminal: t.as_str(),
                message: Some(message),
                ..Redisplay::default()
            };
            data_sources_page(&gw, &sources, &s, status, None, Some(&again)).await
        }
    }
}

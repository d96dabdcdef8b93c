//! A terminal's sync history and Sync now.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::data_sources::{refused, sources_internal};
use super::{nav, notice_text, render, see_other, NoticeQuery, Result};
use crate::console::extract::{ActingEditor, SignedIn, Target};
use crate::console::session::Session;
use crate::console::views::{self, Nav};
use crate::console::ConsoleError;
use crate::gateway::state::GatewayState;
use crate::sources::catalogue::Terminal;
use crate::sources::Sources;

struct RunView {
    started: String,
    trigger: String,
    status: String,
    fetched: i64,
    stored: i64,
    error: String,
}

#[derive(Template)]
#[template(path = "console/history.html")]
struct HistoryPage {
    nav: Nav,
    terminal: &'static str,
    name: &'static str,
    status: &'static str,
    status_label: &'static str,
    identifier: Option<String>,
    connected: bool,
    notice: Option<String>,
    runs: Vec<RunView>,
    running: bool,
}

async fn history_page(
    gw: &GatewayState,
    sources: &Sources,
    s: &Session,
    t: Terminal,
    status: StatusCode,
    notice: Option<String>,
) -> Result<HttpResponse> {
    let entity = s.acting_entity_id.as_str();
    let ds = sources.get(entity, t).await.map_err(sources_internal)?;
    let runs: Vec<RunView> = sources
        .syncs(entity, t, 50)
        .await
        .map_err(sources_internal)?
        .into_iter()
        .map(|r| RunView {
            started: views::when(r.started_at),
            trigger: r.trigger,
            status: r.status,
            fetched: r.fetched,
            stored: r.stored,
            error: r.error_message.or(r.error_code).unwrap_or_default(),
        })
        .collect();
    let list = crate::sources::service::DataSourceList {
        entity_id: entity.to_owned(),
        groups: vec![crate::sources::service::RegionGroup {
            region: ds.region,
            data_sources: vec![ds],
        }],
    };
    let card = views::groups(&list, &HashMap::new(), None)
        .into_iter()
        .flat_map(|g| g.cards)
        .next()
        .ok_or(ConsoleError::NotFound("terminal"))?;
    render(
        status,
        &HistoryPage {
            nav: nav(gw, s, "data-sources").await?,
            terminal: t.as_str(),
            name: card.name,
            status: card.status,
            status_label: card.status_label,
            identifier: card.identifier,
            connected: card.connected,
            notice,
            running: runs.iter().any(|r| r.status == "running"),
            runs,
        },
    )
}

/// `GET /console/data-sources/{terminal}`: sync history and Sync now.
#[tracing::instrument(skip_all)]
pub async fn history(
    signed: SignedIn,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse> {
    let s = signed.session;
    let t = Terminal::parse(&path).ok_or(ConsoleError::NotFound(Terminal::WHAT))?;
    let notice = notice_text(q.done.as_deref()).map(str::to_owned);
    history_page(&gw, &sources, &s, t, StatusCode::OK, notice).await
}

/// `POST /console/data-sources/{terminal}/sync`: Sync now.
#[tracing::instrument(skip_all)]
pub async fn sync(
    editor: ActingEditor<Terminal>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
) -> Result<HttpResponse> {
    let ActingEditor {
        session: s,
        form: _,
        target: t,
    } = editor;
    match sources.sync_now(&s.actor(), t, false).await {
        Ok(_) => Ok(see_other(&format!(
            "/console/data-sources/{}?done=sync",
            t.as_str()
        ))),
        Err(e) => {
            let (status, _, message) = refused(e)?;
            history_page(&gw, &sources, &s, t, status, Some(message)).await
        }
    }
}

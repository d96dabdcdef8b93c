//! The console's handlers: extract the session, check CSRF on every POST, call the Data
//! Sources service or the store, render a template. A 4xx re-displays the form with the field's
//! message; a success redirects (303) so a reload never posts twice.

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{random_token, same_secret, Session, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::views::{self, CardView, GroupView, Nav, Redisplay, TestView};
use super::{Console, ConsoleError};
use crate::gateway::routes::operations::PublicStatus;
use crate::gateway::state::GatewayState;
use crate::sources::catalogue::Terminal;
use crate::sources::model::parse_equipment_number;
use crate::sources::service::{parse_terminal, SourcesError};
use crate::sources::{vault_kind, Sources};
use crate::store::{AuditLog, AuditRecord, Role};

type Result<T> = std::result::Result<T, ConsoleError>;
type Form = web::Form<HashMap<String, String>>;

/// Header the page script sets when it wants only the test result, not a whole page.
pub const FRAGMENT_HEADER: &str = "X-Console-Fragment";

fn render(status: StatusCode, t: &impl Template) -> Result<HttpResponse> {
    let html = t
        .render()
        .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn cookie<'a>(console: &Console, name: &'a str, value: String, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(console.secure_cookies)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// The signed-in session behind the request; a revoked token ends its sessions.
pub async fn session(
    req: &HttpRequest,
    console: &Console,
    gw: &GatewayState,
) -> Result<(String, Session)> {
    let value = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(ConsoleError::SignedOut)?;
    let s = console
        .sessions
        .get(&value)
        .ok_or(ConsoleError::SignedOut)?;
    let active = gw
        .store
        .tokens(&s.token_entity_id)
        .await
        .map_err(|e| ConsoleError::Internal(e.into()))?
        .into_iter()
        .any(|t| t.id == s.token_id && t.revoked_at.is_none());
    if !active {
        console.sessions.close(&value);
        return Err(ConsoleError::SignedOut);
    }
    Ok((value, s))
}

fn check_csrf(s: &Session, form: &HashMap<String, String>) -> Result<()> {
    match form.get("csrf") {
        Some(v) if same_secret(&s.csrf, v) => Ok(()),
        _ => Err(ConsoleError::Csrf),
    }
}

fn require_write(s: &Session) -> Result<()> {
    if s.can_write() {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "Your token is read-only (viewer); an editor can change connections.".into(),
        ))
    }
}

async fn nav(gw: &GatewayState, s: &Session, active: &'static str) -> Result<Nav> {
    let internal = |e: crate::store::StoreError| ConsoleError::Internal(e.into());
    let entity_name = gw
        .store
        .entity(&s.acting_entity_id)
        .await
        .map_err(internal)?
        .map(|e| e.name)
        .unwrap_or_else(|| s.acting_entity_id.clone());
    let entities = if s.role == Role::Support {
        gw.store
            .entities()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|e| {
                let selected = e.id == s.acting_entity_id;
                (e.id, e.name, selected)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Nav {
        active,
        entity_name,
        role: s.role.as_str(),
        csrf: s.csrf.clone(),
        can_write: s.can_write(),
        entities,
        impersonating: s.impersonating(),
    })
}

fn terminal(path: &str) -> Result<Terminal> {
    parse_terminal(path).map_err(|_| ConsoleError::NotFound("terminal"))
}

// ---------------------------------------------------------------------------------------------
// Sign in / out

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

fn login_form(
    console: &Console,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse> {
    let csrf = random_token();
    let mut res = render(
        status,
        &LoginPage {
            csrf: csrf.clone(),
            error,
        },
    )?;
    res.add_cookie(&cookie(console, LOGIN_CSRF_COOKIE, csrf, 3600))
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    Ok(res)
}

/// `GET /console/login`.
#[tracing::instrument(skip_all)]
pub async fn login_page(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    if session(&req, &console, &gw).await.is_ok() {
        return Ok(see_other("/console/data-sources"));
    }
    login_form(&console, StatusCode::OK, None)
}

/// `POST /console/login`: the token is exchanged for a session; it is never echoed or logged.
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    form: Form,
) -> Result<HttpResponse> {
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    let posted = form.get("csrf").map(String::as_str).unwrap_or_default();
    if !expected.is_some_and(|e| same_secret(&e, posted)) {
        return login_form(
            &console,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired or came from elsewhere; please try again.".into()),
        );
    }
    let token = form.get("token").map(|t| t.trim()).unwrap_or_default();
    if token.is_empty() {
        return login_form(
            &console,
            StatusCode::BAD_REQUEST,
            Some("Enter a gateway token.".into()),
        );
    }
    let info = gw
        .auth
        .authenticate_token(token)
        .await
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    let Some(info) = info else {
        return login_form(
            &console,
            StatusCode::UNAUTHORIZED,
            Some("This token is unknown or revoked.".into()),
        );
    };
    let value = console.sessions.open(&info);
    let actor = crate::store::Actor {
        token_id: Some(info.id.clone()),
        actor_entity_id: Some(info.entity_id.clone()),
        entity_id: info.entity_id.clone(),
        impersonation: false,
    };
    AuditLog::record(
        &gw.store,
        &actor,
        &AuditRecord {
            action: "console.sign_in",
            target: "console",
            outcome: "ok",
            detail: Some(serde_json::json!({"role": info.role.as_str()})),
        },
    )
    .await
    .map_err(|e| ConsoleError::Internal(e.into()))?;
    let ttl = i64::try_from(console.sessions.ttl().as_secs()).unwrap_or(i64::MAX);
    let mut res = see_other("/console/data-sources");
    res.add_cookie(&cookie(&console, SESSION_COOKIE, value, ttl))
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    res.add_removal_cookie(&cookie(&console, LOGIN_CSRF_COOKIE, String::new(), 0))
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    Ok(res)
}

/// `POST /console/logout`.
#[tracing::instrument(skip_all)]
pub async fn logout(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    form: Form,
) -> Result<HttpResponse> {
    let (value, s) = session(&req, &console, &gw).await?;
    check_csrf(&s, &form)?;
    console.sessions.close(&value);
    let mut res = see_other("/console/login");
    res.add_removal_cookie(&cookie(&console, SESSION_COOKIE, String::new(), 0))
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    Ok(res)
}

/// `POST /console/act-for`: support picks the entity to act for (audited).
#[tracing::instrument(skip_all)]
pub async fn act_for(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    form: Form,
) -> Result<HttpResponse> {
    let (value, s) = session(&req, &console, &gw).await?;
    check_csrf(&s, &form)?;
    if s.role != Role::Support {
        return Err(ConsoleError::Forbidden(
            "Only support may act for another entity.".into(),
        ));
    }
    let wanted = form.get("entity").map(|v| v.trim()).unwrap_or_default();
    let entity = gw
        .store
        .entity(wanted)
        .await
        .map_err(|e| ConsoleError::Internal(e.into()))?
        .ok_or(ConsoleError::NotFound("entity"))?;
    console.sessions.set_acting(&value, &entity.id);
    let mut actor = s.actor();
    actor.entity_id = entity.id.clone();
    actor.impersonation = entity.id != s.token_entity_id;
    AuditLog::record(
        &gw.store,
        &actor,
        &AuditRecord {
            action: "console.act_for",
            target: &entity.id,
            outcome: "ok",
            detail: None,
        },
    )
    .await
    .map_err(|e| ConsoleError::Internal(e.into()))?;
    Ok(see_other("/console/data-sources"))
}

/// `GET /` and `GET /console`.
#[tracing::instrument(skip_all)]
pub async fn home() -> HttpResponse {
    see_other("/console/data-sources")
}

// ---------------------------------------------------------------------------------------------
// Data Sources

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

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

fn notice_text(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "saved" => Some("Credentials saved. The status badge shows the verification."),
        "disconnected" => Some("Terminal disconnected. Its history stays."),
        "sync" => Some("Sync started."),
        _ => None,
    }
}

async fn data_sources_page(
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
            .map_err(|e| ConsoleError::Internal(e.into()))?
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

fn sources_internal(e: SourcesError) -> ConsoleError {
    ConsoleError::Internal(anyhow::anyhow!("data sources: {e}"))
}

/// `GET /console/data-sources`.
#[tracing::instrument(skip_all)]
pub async fn data_sources(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    data_sources_page(
        &gw,
        &sources,
        &s,
        StatusCode::OK,
        notice_text(q.done.as_deref()),
        None,
    )
    .await
}

/// What a 4xx of the service becomes on the page: status, field, message.
fn refused(e: SourcesError) -> Result<(StatusCode, Option<String>, String)> {
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
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    check_csrf(&s, &form)?;
    require_write(&s)?;
    let t = terminal(&path)?;
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
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    check_csrf(&s, &form)?;
    require_write(&s)?;
    let t = terminal(&path)?;
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
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    check_csrf(&s, &form)?;
    require_write(&s)?;
    let t = terminal(&path)?;
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

/// `POST /console/data-sources/{terminal}/sync`: Sync now.
#[tracing::instrument(skip_all)]
pub async fn sync(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    check_csrf(&s, &form)?;
    require_write(&s)?;
    let t = terminal(&path)?;
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
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    let t = terminal(&path)?;
    let notice = notice_text(q.done.as_deref()).map(str::to_owned);
    history_page(&gw, &sources, &s, t, StatusCode::OK, notice).await
}

// ---------------------------------------------------------------------------------------------
// Containers, operations, notifications, audit

struct LaneView {
    name: &'static str,
    y: i64,
}

struct EventView {
    x: i64,
    y: i64,
    kind: &'static str,
    label: String,
    short: String,
    when: String,
    source: &'static str,
    location: String,
    vessel: String,
    status: String,
}

#[derive(Template)]
#[template(path = "console/containers.html")]
struct ContainersPage {
    nav: Nav,
    equipment: String,
    searched: bool,
    error: Option<String>,
    events: Vec<EventView>,
    lanes: Vec<LaneView>,
    width: i64,
    height: i64,
    left: i64,
    right: i64,
    first: String,
    last: String,
}

#[derive(Deserialize)]
pub struct EquipmentQuery {
    equipment: Option<String>,
}

/// `GET /console/containers?equipment=`: the merged timeline as a picture and a table.
#[tracing::instrument(skip_all)]
pub async fn containers(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    sources: web::Data<Sources>,
    q: web::Query<EquipmentQuery>,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    let raw = q.equipment.as_deref().map(str::trim).unwrap_or_default();
    let mut page = ContainersPage {
        nav: nav(&gw, &s, "containers").await?,
        equipment: raw.chars().take(20).collect(),
        searched: !raw.is_empty(),
        error: None,
        events: Vec::new(),
        lanes: Vec::new(),
        width: 900,
        height: 0,
        left: 110,
        right: 880,
        first: String::new(),
        last: String::new(),
    };
    if raw.is_empty() {
        return render(StatusCode::OK, &page);
    }
    let Some(equipment) = parse_equipment_number(raw) else {
        page.error = Some(
            "Not an ISO 6346 container number (4 letters, 6 digits and the check digit).".into(),
        );
        return render(StatusCode::BAD_REQUEST, &page);
    };
    page.equipment = equipment.clone();
    let events = sources
        .timeline(&s.acting_entity_id, &equipment)
        .await
        .map_err(sources_internal)?;
    let mut sources_seen: Vec<Terminal> = Vec::new();
    for e in &events {
        if !sources_seen.contains(&e.source) {
            sources_seen.push(e.source);
        }
    }
    page.lanes = sources_seen
        .iter()
        .enumerate()
        .map(|(i, t)| LaneView {
            name: t.info().name,
            y: 40 + 50 * i as i64,
        })
        .collect();
    page.height = 40 + 50 * sources_seen.len() as i64 + 10;
    if let (Some(a), Some(b)) = (events.first(), events.last()) {
        page.first = views::when(a.occurred_at);
        page.last = views::when(b.occurred_at);
        let t0 = a.occurred_at.timestamp();
        let span = (b.occurred_at.timestamp() - t0).max(1);
        let n = events.len().max(2) as i64 - 1;
        page.events = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let lane = sources_seen
                    .iter()
                    .position(|t| *t == e.source)
                    .unwrap_or(0);
                // Half by time, half by order: events close in time stay readable.
                let by_time = (e.occurred_at.timestamp() - t0) * (page.right - page.left) / span;
                let by_order = i as i64 * (page.right - page.left) / n;
                let kind = e.kind.as_str();
                let label = kind.replace('_', " ");
                EventView {
                    x: page.left + (by_time + by_order) / 2,
                    y: 40 + 50 * lane as i64,
                    kind,
                    short: label
                        .split(' ')
                        .map(|w| w.chars().next().unwrap_or(' '))
                        .collect::<String>()
                        .to_uppercase(),
                    label,
                    when: views::when(e.occurred_at),
                    source: e.source.info().name,
                    location: e.location.clone().unwrap_or_default(),
                    vessel: e.vessel.clone().unwrap_or_default(),
                    status: e.status.clone().unwrap_or_default(),
                }
            })
            .collect();
    }
    render(StatusCode::OK, &page)
}

struct OperationRow {
    accepted: String,
    kind: &'static str,
    equipment: String,
    status: &'static str,
    attempts: i64,
    reference: String,
    error: String,
}

#[derive(Template)]
#[template(path = "console/operations.html")]
struct OperationsPage {
    nav: Nav,
    statuses: Vec<(&'static str, &'static str, bool)>,
    equipment: String,
    error: Option<String>,
    operations: Vec<OperationRow>,
}

#[derive(Deserialize)]
pub struct OperationsQuery {
    status: Option<String>,
    equipment: Option<String>,
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

/// `GET /console/operations?status=&equipment=`.
#[tracing::instrument(skip_all)]
pub async fn operations(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    q: web::Query<OperationsQuery>,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    let wanted = q.status.as_deref().unwrap_or("").trim();
    let statuses = [
        ("", "All"),
        ("queued", "Queued"),
        ("sent", "Sent"),
        ("completed", "Completed"),
        ("failed", "Failed"),
        ("cancelled", "Cancelled"),
    ]
    .into_iter()
    .map(|(v, l)| (v, l, v == wanted))
    .collect::<Vec<_>>();
    let raw = q.equipment.as_deref().map(str::trim).unwrap_or_default();
    let mut error = None;
    let equipment = if raw.is_empty() {
        None
    } else {
        match parse_equipment_number(raw) {
            Some(e) => Some(e),
            None => {
                error = Some("Not an ISO 6346 container number.".to_owned());
                None
            }
        }
    };
    let ops = if error.is_some() || !statuses.iter().any(|s| s.2) {
        if !statuses.iter().any(|s| s.2) {
            error = Some("Unknown status; pick one from the list.".into());
        }
        Vec::new()
    } else {
        gw.store
            .operations(&s.acting_entity_id, equipment.as_deref(), 500)
            .await
            .map_err(|e| ConsoleError::Internal(e.into()))?
    };
    let operations = ops
        .into_iter()
        .map(|o| (PublicStatus::from(o.status), o))
        .filter(|(st, _)| wanted.is_empty() || status_name(*st) == wanted)
        .map(|(st, o)| OperationRow {
            accepted: views::when(o.created_utc()),
            kind: o.kind.as_str(),
            equipment: o.container_key,
            status: status_name(st),
            attempts: o.attempts,
            reference: o.public_reference_id.unwrap_or_default(),
            error: o.error.unwrap_or_default(),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(
        status,
        &OperationsPage {
            nav: nav(&gw, &s, "operations").await?,
            statuses,
            equipment: raw.chars().take(20).collect(),
            error,
            operations,
        },
    )
}

struct NotificationRow {
    stored: String,
    event: String,
    kind: String,
    equipment: String,
    reference: String,
    source: String,
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    nav: Nav,
    event: String,
    equipment: String,
    reference: String,
    error: Option<String>,
    limit: i64,
    notifications: Vec<NotificationRow>,
}

#[derive(Deserialize)]
pub struct NotificationsQuery {
    event: Option<String>,
    equipment: Option<String>,
    reference: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(100).collect())
}

/// `GET /console/notifications?event=&equipment=&reference=`.
#[tracing::instrument(skip_all)]
pub async fn notifications(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
    q: web::Query<NotificationsQuery>,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    let limit = 500;
    let mut error = None;
    let equipment = match non_empty(&q.equipment) {
        Some(raw) => match parse_equipment_number(&raw) {
            Some(e) => Some(e),
            None => {
                error = Some("Not an ISO 6346 container number.".to_owned());
                None
            }
        },
        None => None,
    };
    let filter = crate::store::notifications::NotificationFilter {
        event: non_empty(&q.event),
        equipment_number: equipment,
        public_reference_id: non_empty(&q.reference),
        limit,
        ..Default::default()
    };
    let rows = if error.is_some() {
        Vec::new()
    } else {
        gw.store
            .notifications(&s.acting_entity_id, &filter)
            .await
            .map_err(|e| ConsoleError::Internal(e.into()))?
    };
    let notifications = rows
        .into_iter()
        .rev()
        .map(|n| NotificationRow {
            stored: views::when(n.stored_on),
            event: n.event.unwrap_or_default(),
            kind: n.type_.unwrap_or_default(),
            equipment: n.equipment_number.unwrap_or_default(),
            reference: n.public_reference_id.unwrap_or_default(),
            source: n.source,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(
        status,
        &NotificationsPage {
            nav: nav(&gw, &s, "notifications").await?,
            event: non_empty(&q.event).unwrap_or_default(),
            equipment: non_empty(&q.equipment).unwrap_or_default(),
            reference: non_empty(&q.reference).unwrap_or_default(),
            error,
            limit,
            notifications,
        },
    )
}

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
pub async fn audit(
    req: HttpRequest,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    let (_, s) = session(&req, &console, &gw).await?;
    let entries = AuditLog::list(&gw.store, &s.acting_entity_id, 200)
        .await
        .map_err(|e| ConsoleError::Internal(e.into()))?
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

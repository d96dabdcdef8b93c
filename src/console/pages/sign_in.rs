//! Sign in (a gateway token exchanged for a session cookie), sign out, and support's choice of
//! the entity to act for.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{cookie, internal, render, see_other, Result};
use crate::console::extract::{Posted, SignedIn};
use crate::console::session::{LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::console::{Console, ConsoleError};
use crate::gateway::state::GatewayState;
use crate::http_edge::csrf::{self, DoubleSubmit};
use crate::store::{AuditLog, AuditRecord, Role};

type Form = web::Form<crate::console::extract::FormFields>;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

/// The sign-in form's double-submit cookie (no session yet to hold a secret).
fn login_csrf(console: &Console) -> DoubleSubmit {
    DoubleSubmit {
        cookie: LOGIN_CSRF_COOKIE,
        path: "/console",
        max_age_secs: Some(3600),
        secure: console.secure_cookies,
    }
}

fn login_form(
    console: &Console,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse> {
    let csrf = csrf::random_token();
    let mut res = render(
        status,
        &LoginPage {
            csrf: csrf.clone(),
            error,
        },
    )?;
    res.add_cookie(&login_csrf(console).cookie_of(csrf))
        .map_err(internal)?;
    Ok(res)
}

/// `GET /console/login`.
#[tracing::instrument(skip_all)]
pub async fn login_page(
    signed: Option<SignedIn>,
    console: web::Data<Console>,
) -> Result<HttpResponse> {
    if signed.is_some() {
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
    if !login_csrf(&console).check(&req, form.get(csrf::FIELD).map(String::as_str)) {
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
    let info = gw.auth.authenticate_token(token).await.map_err(internal)?;
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
    .map_err(internal)?;
    let ttl = i64::try_from(console.sessions.ttl().as_secs()).unwrap_or(i64::MAX);
    let mut res = see_other("/console/data-sources");
    res.add_cookie(&cookie(&console, SESSION_COOKIE, value, ttl))
        .map_err(internal)?;
    res.add_cookie(&login_csrf(&console).removal())
        .map_err(internal)?;
    Ok(res)
}

/// `POST /console/logout`.
#[tracing::instrument(skip_all)]
pub async fn logout(posted: Posted, console: web::Data<Console>) -> Result<HttpResponse> {
    console.sessions.close(&posted.signed.cookie);
    let mut res = see_other("/console/login");
    res.add_removal_cookie(&cookie(&console, SESSION_COOKIE, String::new(), 0))
        .map_err(internal)?;
    Ok(res)
}

/// `POST /console/act-for`: support picks the entity to act for (audited).
#[tracing::instrument(skip_all)]
pub async fn act_for(
    posted: Posted,
    console: web::Data<Console>,
    gw: web::Data<GatewayState>,
) -> Result<HttpResponse> {
    let Posted {
        signed: SignedIn { cookie, session: s },
        form,
    } = posted;
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
        .map_err(internal)?
        .ok_or(ConsoleError::NotFound("entity"))?;
    console.sessions.set_acting(&cookie, &entity.id);
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
    .map_err(internal)?;
    Ok(see_other("/console/data-sources"))
}

/// `GET /` and `GET /console`.
#[tracing::instrument(skip_all)]
pub async fn home() -> HttpResponse {
    see_other("/console/data-sources")
}

//! The gateway's web console (`/console`): server-rendered pages over the same services as the
//! `/v1` API, with every asset embedded in the binary (no CDN, no Node build step).
//!
//! - [`session`]: a gateway token is exchanged for an HttpOnly, SameSite=Strict, expiring session
//!   cookie; every form carries the session's CSRF secret.
//! - [`extract`]: the checked request a handler starts from (signed in; a form with this
//!   session's CSRF secret; an editor acting on a terminal or an operation).
//! - [`views`]: what the templates show, built from the service types in one place.
//! - [`pages`]: thin handlers, one file per page: call the Data Sources service, the
//!   operator service or the store, render.
//!
//! Templates are askama: they are compiled and type-checked with the crate (a missing field is a
//! build error, not a blank page at run time) and escape every value as HTML by default.
//! The little script the pages need (dialogs, "Test connection" in the background, polling
//! while a terminal is being verified) is `assets/console.js`; a Content-Security-Policy allows
//! only this origin's scripts and styles.

pub mod extract;
pub mod pages;
pub mod session;
pub mod views;

use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse, ResponseError};
use askama::Template;

pub use session::Sessions;

/// Security headers of every console page (the sandbox's too).
pub use crate::http_edge::PAGE_CSP as CSP;

/// The console's state, built once (outside `HttpServer::new`).
#[derive(Debug)]
pub struct Console {
    /// Signed-in browsers.
    pub sessions: Sessions,
    /// Mark cookies `Secure` (the gateway's public URL is https).
    pub secure_cookies: bool,
}

impl Console {
    /// A console whose sessions live [`session::DEFAULT_TTL`].
    pub fn new(public_url: &str) -> Self {
        Self {
            sessions: Sessions::new(session::DEFAULT_TTL),
            secure_cookies: public_url.starts_with("https://"),
        }
    }
}

/// Why a console request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No valid session: go to the sign-in page.
    #[error("not signed in")]
    SignedOut,
    /// A form without this session's CSRF secret: nothing was changed.
    #[error("the form was not sent from this console session")]
    Csrf,
    /// A body that is not a form (wrong type, too large): nothing was changed.
    #[error("the form could not be read")]
    BadForm,
    /// The role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown terminal or entity.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Anything else (logged; the page says nothing more).
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignedOut => StatusCode::SEE_OTHER,
            ConsoleError::Csrf | ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::BadForm => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            ConsoleError::SignedOut => {
                return HttpResponse::SeeOther()
                    .insert_header((actix_web::http::header::LOCATION, "/console/login"))
                    .finish()
            }
            ConsoleError::Csrf => (
                "Form refused",
                "This form was not sent from your console session (it expired, or another site sent it). Nothing was changed; reload the page and try again.".to_owned(),
            ),
            ConsoleError::BadForm => (
                "Form refused",
                "The form could not be read (too large, or not a form). Nothing was changed.".to_owned(),
            ),
            ConsoleError::Forbidden(m) => ("Not allowed", m.clone()),
            ConsoleError::NotFound(what) => ("Not found", format!("There is no such {what}.")),
            ConsoleError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "console internal error");
                ("Something went wrong", "The console could not complete this request; it has been logged.".to_owned())
            }
        };
        let html = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| "error".to_owned());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(html)
    }
}

const CONSOLE_CSS: &str = include_str!("../../assets/console.css");
const CONSOLE_JS: &str = include_str!("../../assets/console.js");

async fn asset(path: web::Path<String>) -> HttpResponse {
    let (body, kind) = match path.as_str() {
        "console.css" => (CONSOLE_CSS, "text/css; charset=utf-8"),
        "console.js" => (CONSOLE_JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}

/// Mount `/` (redirect) and `/console/...`. Needs `web::Data<GatewayState>` on the app; the
/// console and the Data Sources service are registered here.
pub fn configure(
    console: web::Data<Console>,
    sources: crate::sources::Sources,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let sources = web::Data::new(sources);
    move |cfg: &mut web::ServiceConfig| {
        use pages as p;
        cfg.route("/", web::get().to(p::home)).service(
            web::scope("/console")
                .app_data(console.clone())
                .app_data(sources.clone())
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .wrap(
                    DefaultHeaders::new()
                        .add(("Content-Security-Policy", CSP))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("Cache-Control", "no-store")),
                )
                .route("", web::get().to(p::home))
                .route("/", web::get().to(p::home))
                .route("/assets/{name}", web::get().to(asset))
                .route("/login", web::get().to(p::login_page))
                .route("/login", web::post().to(p::login))
                .route("/logout", web::post().to(p::logout))
                .route("/act-for", web::post().to(p::act_for))
                .route("/data-sources", web::get().to(p::data_sources))
                .route("/data-sources/{terminal}", web::get().to(p::history))
                .route(
                    "/data-sources/{terminal}/connect",
                    web::post().to(p::connect),
                )
                .route("/data-sources/{terminal}/test", web::post().to(p::test))
                .route(
                    "/data-sources/{terminal}/disconnect",
                    web::post().to(p::disconnect),
                )
                .route("/data-sources/{terminal}/sync", web::post().to(p::sync))
                .route("/containers", web::get().to(p::containers))
                .route("/operations", web::get().to(p::operations))
                .route("/operations/{id}/retry", web::post().to(p::retry_operation))
                .route(
                    "/operations/{id}/cancel",
                    web::post().to(p::cancel_operation),
                )
                .route("/notifications", web::get().to(p::notifications))
                .route("/audit", web::get().to(p::audit)),
        );
    }
}

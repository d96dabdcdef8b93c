//! What every sandbox page shares: the error type, rendering, the checks on forms (same site,
//! the CSRF double-submit token: [`SandboxForm`]), the world the browser picked (a cookie; the
//! default world otherwise), and the header ([`Chrome`]: clock, world picker, navigation, the
//! form token, and the version the page script polls).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use futures::future::LocalBoxFuture;

use crate::http_edge::csrf::{self, DoubleSubmit};
use crate::simulate::state::{SimState, WorldHandle, DEFAULT_WORLD};

/// Cookie naming the world the sandbox shows.
pub const WORLD_COOKIE: &str = "cpu_sandbox_world";

/// The sandbox forms' CSRF token: a double-submit cookie (the simulator has no sessions), set
/// on the first page a browser opens and carried back by every form.
pub const CSRF: DoubleSubmit = DoubleSubmit {
    cookie: "cpu_sandbox_csrf",
    path: "/",
    max_age_secs: None,
    secure: false,
};

/// Why a sandbox request failed; a refused action re-displays the page with the message.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    NotFound(String),
    #[error("cross-site form refused")]
    CrossSite,
    /// A form without this browser's CSRF token (or with another one): nothing changed.
    #[error("form refused")]
    Csrf,
    /// A body that is not a form.
    #[error("the form could not be read")]
    BadForm,
    #[error("internal error")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "sandbox/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl actix_web::ResponseError for SandboxError {
    fn status_code(&self) -> StatusCode {
        match self {
            SandboxError::NotFound(_) => StatusCode::NOT_FOUND,
            SandboxError::CrossSite | SandboxError::Csrf => StatusCode::FORBIDDEN,
            SandboxError::BadForm => StatusCode::BAD_REQUEST,
            SandboxError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        if let SandboxError::Internal(e) = self {
            tracing::error!(error = %e, "sandbox internal error");
        }
        let (title, message) = match self {
            SandboxError::NotFound(m) => ("Not found", m.as_str()),
            SandboxError::CrossSite => (
                "Form refused",
                "This form was sent from another site. Nothing was changed.",
            ),
            SandboxError::Csrf => (
                "Form refused",
                "This form was not sent from a sandbox page of this browser (its form token is missing or wrong). Nothing was changed; reload the page and try again.",
            ),
            SandboxError::BadForm => (
                "Form refused",
                "The form could not be read (too large, or not a form). Nothing was changed.",
            ),
            SandboxError::Internal(_) => (
                "Something went wrong",
                "The sandbox could not complete this request; it has been logged.",
            ),
        };
        let html = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| message.to_owned());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(html)
    }
}

/// The token this request's page gives its forms (set by [`issue_csrf`]).
#[derive(Clone)]
struct IssuedCsrf(String);

/// Middleware of the sandbox pages: a browser without a (well-formed) token cookie gets one.
pub async fn issue_csrf(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> std::result::Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let fresh = match CSRF.current(req.request()) {
        Some(_) => None,
        None => {
            let token = csrf::random_token();
            req.extensions_mut().insert(IssuedCsrf(token.clone()));
            Some(token)
        }
    };
    let mut res = next.call(req).await?;
    if let Some(token) = fresh {
        res.response_mut().add_cookie(&CSRF.cookie_of(token))?;
    }
    Ok(res)
}

/// The token the forms of this request's page carry.
pub fn csrf_token(req: &HttpRequest) -> String {
    req.extensions()
        .get::<IssuedCsrf>()
        .map(|t| t.0.clone())
        .or_else(|| CSRF.current(req))
        .unwrap_or_default()
}

/// The fields of a sandbox form, sent from this site with this browser's CSRF token
/// (otherwise 403 and nothing changes).
#[derive(Debug)]
pub struct SandboxForm(pub HashMap<String, String>);

impl std::ops::Deref for SandboxForm {
    type Target = HashMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for SandboxForm {
    type Error = SandboxError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<HashMap<String, String>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            same_site(&req)?;
            let form = form.await.map_err(|_| SandboxError::BadForm)?.into_inner();
            if !CSRF.check(&req, form.get(csrf::FIELD).map(String::as_str)) {
                return Err(SandboxError::Csrf);
            }
            Ok(SandboxForm(form))
        })
    }
}

/// Result of a sandbox handler.
pub type Result<T> = std::result::Result<T, SandboxError>;

/// Render a page.
pub fn render(status: StatusCode, t: &impl Template) -> Result<HttpResponse> {
    let html = t
        .render()
        .map_err(|e| SandboxError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// 303 to `location` (after a form, so a reload never posts twice).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Refuse forms a browser marks as sent from another site.
fn same_site(req: &HttpRequest) -> Result<()> {
    match req
        .headers()
        .get("Sec-Fetch-Site")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err(SandboxError::CrossSite),
    }
}

/// The world this browser picked (a deleted one falls back to the default world).
pub fn world(req: &HttpRequest, state: &SimState) -> Result<Arc<WorldHandle>> {
    req.cookie(WORLD_COOKIE)
        .and_then(|c| state.world(c.value()).ok())
        .map_or_else(
            || {
                state
                    .world(DEFAULT_WORLD)
                    .map_err(|_| SandboxError::NotFound("default world".into()))
            },
            Ok,
        )
}

/// The cookie that makes the browser show `id` (`None`: forget the choice).
pub fn world_cookie(id: Option<&str>) -> Cookie<'static> {
    let mut c = Cookie::build(WORLD_COOKIE, id.unwrap_or_default().to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    if id.is_none() {
        c.make_removal();
    }
    c
}

/// What changes whenever the world or its journals change (notifications, stays, clock
/// minute, faults, webhook deliveries, calls); the page script reloads when it does.
pub fn version_of(w: &WorldHandle) -> String {
    let (seq, stays, minute) = {
        let world = w.read();
        (
            world.notifications().next_seq(),
            world.stay_count(),
            world.now().timestamp() / 60,
        )
    };
    let (faults, deliveries, calls) = w.journal_lengths();
    format!(
        "{}-{seq}-{stays}-{minute}-{faults}-{deliveries}-{calls}",
        w.id()
    )
}

/// Most worlds the picker lists (plus the current one).
const MAX_LISTED_WORLDS: usize = 50;

/// One world in the picker.
pub struct WorldChoice {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

/// The header of every sandbox page.
pub struct Chrome {
    /// Page version (the script polls `/sandbox/version` and reloads when it differs).
    pub version: String,
    /// Now on the world's clock.
    pub now: String,
    /// Which navigation entry is current.
    pub active: &'static str,
    /// The world shown.
    pub world_id: String,
    /// Is it the default world (which cannot be deleted)?
    pub default_world: bool,
    /// Every world, the default first.
    pub worlds: Vec<WorldChoice>,
    /// The CSRF token every form of the page carries.
    pub csrf: String,
}

impl Chrome {
    /// The header for world `w`.
    pub fn new(
        req: &HttpRequest,
        state: &SimState,
        w: &WorldHandle,
        active: &'static str,
    ) -> Chrome {
        let mut worlds: Vec<WorldChoice> = state
            .all_worlds()
            .into_iter()
            .map(|h| WorldChoice {
                label: if h.id() == DEFAULT_WORLD {
                    "default".to_owned()
                } else {
                    format!("world {}", &h.id()[..h.id().len().min(8)])
                },
                selected: h.id() == w.id(),
                id: h.id().to_owned(),
            })
            .collect();
        worlds.sort_by(|a, b| (a.id != DEFAULT_WORLD, &a.id).cmp(&(b.id != DEFAULT_WORLD, &b.id)));
        // Scenario runs may create thousands of worlds: list the first ones and the current.
        let mut i = 0;
        worlds.retain(|c| {
            i += 1;
            i <= MAX_LISTED_WORLDS || c.selected
        });
        Chrome {
            version: version_of(w),
            now: w.read().now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            active,
            world_id: w.id().to_owned(),
            default_world: w.id() == DEFAULT_WORLD,
            worlds,
            csrf: csrf_token(req),
        }
    }
}

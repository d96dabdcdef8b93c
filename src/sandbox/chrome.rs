//! What every sandbox page shares: the error type, rendering, the same-site check on forms,
//! the world the browser picked (a cookie; the default world otherwise), and the header
//! ([`Chrome`]: clock, world picker, navigation, and the version the page script polls).

use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::simulate::state::{SimState, WorldHandle, DEFAULT_WORLD};

/// Cookie naming the world the sandbox shows.
pub const WORLD_COOKIE: &str = "cpu_sandbox_world";

/// Why a sandbox request failed; a refused action re-displays the page with the message.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    NotFound(String),
    #[error("cross-site form refused")]
    CrossSite,
    #[error("internal error")]
    Internal(String),
}

impl actix_web::ResponseError for SandboxError {
    fn status_code(&self) -> StatusCode {
        match self {
            SandboxError::NotFound(_) => StatusCode::NOT_FOUND,
            SandboxError::CrossSite => StatusCode::FORBIDDEN,
            SandboxError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        if let SandboxError::Internal(e) = self {
            tracing::error!(error = %e, "sandbox internal error");
        }
        let msg = match self {
            SandboxError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(msg)
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
pub fn same_site(req: &HttpRequest) -> Result<()> {
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
}

impl Chrome {
    /// The header for world `w`.
    pub fn new(state: &SimState, w: &WorldHandle, active: &'static str) -> Chrome {
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
        }
    }
}

//! The simulator's sandbox pages (`/` and `/sandbox/...`): the parties with their demo
//! credentials, the containers with their five lights, a container page with its release-right
//! chain, pickup rights, history and notifications, and forms to act as any party, run the
//! gate's pickup validation and advance the clock ([`pages`]); a world picker ([`worlds`]),
//! fault injection ([`faults`]) and the webhook deliveries and calls ([`deliveries`]). Every change goes through the core's one
//! entry point (`World::apply`) and its notifications are queued for webhook delivery exactly as
//! the CPu routes do, so the sandbox and an API caller see the same world.
//!
//! The simulator is an unauthenticated local test tool (its control API is too); its forms
//! still refuse cross-site posts: each carries a CSRF token that must equal the browser's
//! double-submit cookie (SameSite=Strict, set by the first page; [`chrome::SandboxForm`]), and a
//! post a browser marks as cross-site (`Sec-Fetch-Site`) is refused too. A small script polls
//! `/sandbox/version` and reloads the page when the world or its journals changed (polling
//! rather than server-sent events: see docs/ASSUMPTIONS.md).

pub mod chrome;
pub mod deliveries;
pub mod faults;
pub mod pages;
pub mod worlds;

use actix_web::{web, HttpResponse};

const SANDBOX_CSS: &str = concat!(
    include_str!("../../assets/console.css"),
    include_str!("../../assets/sandbox.css")
);
const SANDBOX_JS: &str = include_str!("../../assets/sandbox.js");

async fn asset(path: web::Path<String>) -> HttpResponse {
    let (body, kind) = match path.as_str() {
        "sandbox.css" => (SANDBOX_CSS, "text/css; charset=utf-8"),
        "sandbox.js" => (SANDBOX_JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}

/// Mount `/` and `/sandbox/...` (needs `web::Data<SimState>` on the app) and `/docs`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use actix_web::middleware::from_fn;
    use actix_web::middleware::DefaultHeaders;
    use pages as p;
    let headers = || {
        DefaultHeaders::new()
            .add(("Content-Security-Policy", crate::http_edge::PAGE_CSP))
            .add(("X-Content-Type-Options", "nosniff"))
            .add(("Cache-Control", "no-store"))
    };
    cfg.configure(crate::docs_ui::configure("/openapi.json"))
        .service(
            web::resource("/")
                .wrap(from_fn(chrome::issue_csrf))
                .wrap(headers())
                .route(web::get().to(p::index)),
        )
        .service(
            web::scope("/sandbox")
                .wrap(from_fn(chrome::issue_csrf))
                .wrap(headers())
                .route("/assets/{name}", web::get().to(asset))
                .route("/version", web::get().to(p::version))
                .route(
                    "/containers/{locode}/{equipment}",
                    web::get().to(p::container),
                )
                .route("/act", web::post().to(p::act))
                .route("/validate", web::post().to(p::validate))
                .route("/clock", web::post().to(p::clock))
                .route("/world", web::post().to(worlds::pick))
                .route("/worlds", web::post().to(worlds::create))
                .route("/world/reset", web::post().to(worlds::reset))
                .route("/world/delete", web::post().to(worlds::delete))
                .route("/faults", web::get().to(faults::faults))
                .route("/faults", web::post().to(faults::add))
                .route("/faults/clear", web::post().to(faults::clear))
                .route("/deliveries", web::get().to(deliveries::deliveries)),
        );
}
